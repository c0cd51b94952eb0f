//! Kept answers (`web::kept_answers`): an answer is served again only while nothing it shows has changed, and
//! only to the caller it was computed for.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use complaints::model::{Channel, NewComplaint};
use complaints::service::Caller;
use kernel::Role;
use readings::model::{DataFlag, Period, Reading};
use readings::store::{self, NewSource};
use registry::model::{PointKind, PointRegistration};

use crate::app::TestApp;

async fn file_case(app: &TestApp, street: i64, title: &str) {
    complaints::service::file_complaint(
        &app.state.db,
        Caller::System("test"),
        NewComplaint {
            channel: Channel::Hotline12369.as_str().into(),
            category: "odour".into(),
            title: title.into(),
            description: "每天晚上气味很大".into(),
            street_id: Some(street),
            received_at: Some(kernel::time::now_ts() - 3600),
            ..Default::default()
        },
        false,
    )
    .await
    .unwrap();
}

fn titles(reply: &webtest::Reply) -> Vec<String> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let mut titles: Vec<String> = reply.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap().to_string())
        .collect();
    titles.sort();
    titles
}

testkit::db_test!(
    a_kept_answer_follows_every_audited_change_and_stays_with_its_caller,
    |db| {
        let app = TestApp::new(db).await;
        let officer = app.token(Role::StreetOfficer).await;
        let petition = app.token(Role::Petition).await;
        file_case(&app, app.street_a, "甲街道的案件").await;
        file_case(&app, app.street_b, "乙街道的案件").await;

        // The same path, asked by callers of different scope one after the other, answers each its own.
        let own = app.get_with_token("/api/v1/complaints", &officer).await;
        let all = app.get_with_token("/api/v1/complaints", &petition).await;
        assert_eq!(titles(&own), ["甲街道的案件"]);
        assert_eq!(titles(&all), ["乙街道的案件", "甲街道的案件"]);
        let again = app.get_with_token("/api/v1/complaints", &officer).await;
        assert_eq!(again.body, own.body, "unchanged data: the same answer");

        // A new case (an audited change) shows at once, in the officer's list as in the office's.
        file_case(&app, app.street_a, "甲街道的新案件").await;
        let own = app.get_with_token("/api/v1/complaints", &officer).await;
        assert_eq!(titles(&own), ["甲街道的新案件", "甲街道的案件"]);
        let all = app.get_with_token("/api/v1/complaints", &petition).await;
        assert_eq!(titles(&all).len(), 3);

        // The query is part of the key.
        let filtered = app
            .get_with_token(
                &format!("/api/v1/complaints?street_id={}", app.street_b),
                &petition,
            )
            .await;
        assert_eq!(titles(&filtered), ["乙街道的案件"]);

        // A page is kept per session: it carries the session's CSRF token, never another's.
        let first = app.session(Role::Petition).await;
        let second = app.session(Role::Petition).await;
        let page_first = app.page(&first, "/complaints").await;
        let page_second = app.page(&second, "/complaints").await;
        assert_eq!(page_first.status, StatusCode::OK);
        assert!(page_first.body.contains(&first.csrf));
        assert!(
            page_second.body.contains(&second.csrf) && !page_second.body.contains(&first.csrf),
            "a page kept for one session was served to another"
        );

        // A registry change through the API (audited) shows in the registry's kept lists.
        let admin = app.token(Role::Admin).await;
        let before = app.get_with_token("/api/v1/streets", &admin).await;
        assert!(!before.body.contains("金钟街道"));
        let created = app
            .json_with_token(
                "POST",
                "/api/v1/streets",
                &admin,
                r#"{"code":"jz","name":"金钟街道"}"#,
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let after = app.get_with_token("/api/v1/streets", &admin).await;
        assert!(after.body.contains("金钟街道"), "{}", after.body);
    }
);

testkit::db_test!(a_kept_answer_follows_the_readings, |db| {
    let app = TestApp::new(db.clone()).await;
    let point = registry::service::register_point(
        &db,
        "test",
        &PointRegistration {
            code: "K1".into(),
            name: "保留测试站".into(),
            kind: PointKind::AirStation,
            level: "national".parse().unwrap(),
            street_id: Some(app.street_a),
            lon: Some(117.3),
            lat: Some(39.1),
            owner: "测试".into(),
            simulated: false,
        },
    )
    .await
    .unwrap()
    .id;
    let leader = app.token(Role::Leader).await;
    let before = app.get_with_token("/api/v1/stations", &leader).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);
    let hour = kernel::time::now_ts() / 3600 * 3600 - 3600;
    let source = store::create_source(
        &db,
        &NewSource {
            kind: "api",
            name: "kept answers test".into(),
            checksum: None,
            received_by: "test".into(),
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    store::write(
        &db,
        source,
        &[Reading {
            point_id: point,
            factor: "a34004".into(),
            ts: hour,
            period: Period::Hour,
            value: Some(123.0),
            flag: DataFlag::default(),
        }],
    )
    .await
    .unwrap();
    let after = app.get_with_token("/api/v1/stations", &leader).await;
    // Another caller's answer is computed afresh: the leader's kept one must equal it.
    let fresh = app
        .get_with_token("/api/v1/stations", &app.token(Role::Admin).await)
        .await;
    assert_eq!(
        after.body, fresh.body,
        "a reading written after the first answer must show in the next"
    );
    // A bearer request and a page of the same path are different answers (the page is HTML).
    let session = app.session(Role::Leader).await;
    let page = app
        .send(
            Request::get("/stations")
                .header(header::COOKIE, &session.cookie)
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(page.content_type().starts_with("text/html"));
});
