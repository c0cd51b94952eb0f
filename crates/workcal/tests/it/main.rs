//! The working-day calendar as data: the seed equals the compiled years, entering a year over the API and
//! the pages (administrators only, validated, audited, versioned), on SQLite and PostgreSQL.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kernel::Role;
use kernel::calendar::{Calendar, YearStatus};
use webtest::TestApp;

testkit::db_test!(the_seeded_years_are_the_compiled_ones, |db| {
    let loaded = workcal::service::reload(&db).await.unwrap();
    let compiled = Calendar::new(Calendar::compiled().entered_years().cloned(), true);
    assert_eq!(loaded.fingerprint(), compiled.fingerprint());
    assert_eq!(
        loaded
            .entered_years()
            .map(|y| (y.year, y.working_days()))
            .collect::<Vec<_>>(),
        vec![(2023, 249), (2024, 251), (2025, 248), (2026, 248)]
    );
    // Names came along: 2024's Spring Festival make-up Sunday.
    let name: String =
        sqlx::query_scalar("SELECT name FROM working_calendar_days WHERE day = '2024-02-18'")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(name, "春节调休上班");
});

fn year_body(status: &str, notice: &str, version: Option<i64>) -> String {
    serde_json::json!({
        "status": status,
        "notice": notice,
        "notice_date": "2026-11-20",
        "days": [
            {"date": "2027-01-01", "kind": "rest", "name": "元旦"},
            {"date": "2027-02-05", "kind": "rest", "name": "春节"},
            {"date": "2027-02-08", "kind": "rest", "name": "春节"},
            {"date": "2027-02-20", "kind": "work", "name": "春节调休上班"}
        ],
        "version": version
    })
    .to_string()
}

testkit::db_test!(years_over_the_api, |db| {
    let app = TestApp::new(db).await;
    let admin = app.token(Role::Admin).await;
    let leader = app.token(Role::Leader).await;
    // Everyone in the bureau reads; 2027 is listed as provisional by rule.
    let list = app.get_with_token("/api/v1/calendar/years", &leader).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let years = list.json();
    let y2027 = years
        .as_array()
        .unwrap()
        .iter()
        .find(|y| y["year"] == 2027)
        .unwrap()
        .clone();
    assert_eq!(y2027["status"], "provisional");
    assert_eq!(y2027["origin"], "rule");
    // 2027 by rule: 元旦 (Fri) and 10-01 (Fri) off.
    assert_eq!(y2027["working_days"], 259);
    let got = app
        .get_with_token("/api/v1/calendar/years/2027", &leader)
        .await;
    assert_eq!(got.json()["days"].as_array().unwrap().len(), 2);
    let missing = app
        .get_with_token("/api/v1/calendar/years/2019", &leader)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing
            .content_type()
            .starts_with("application/problem+json")
    );
    // Only administrators write.
    let path = "/api/v1/calendar/years/2027";
    let body = year_body(
        "official",
        "国务院办公厅关于2027年部分节假日安排的通知（测试）",
        None,
    );
    let refused = app.json_with_token("PUT", path, &leader, &body).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Bad input is a 422 naming the field.
    for (bad, field) in [
        (year_body("official", "", None), "notice"),
        (year_body("final", "x", None), "body"),
        (
            year_body("provisional", "", None).replace("2027-02-20", "2027-02-22"),
            "days",
        ),
    ] {
        let reply = app.json_with_token("PUT", path, &admin, &bad).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.body
        );
        if field != "body" {
            assert_eq!(reply.json()["field"], field, "{}", reply.body);
        }
    }
    let created = app.json_with_token("PUT", path, &admin, &body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let year = created.json();
    assert_eq!(year["status"], "official");
    assert_eq!(year["origin"], "entered");
    // 261 weekdays less 01-01, 02-05 and 02-08, plus Saturday 02-20 (10-01 was not entered: it works).
    assert_eq!(year["working_days"], 259);
    assert_eq!(year["rest_weekdays"], 3);
    assert_eq!(year["version"], 1);
    // The cache was refreshed.
    let cal = workcal::service::calendar(&app.state.db).await.unwrap();
    assert_eq!(cal.status(2027), Some(YearStatus::Official));
    // Versioned updates.
    let stale = app
        .json_with_token("PUT", path, &admin, &year_body("official", "x", Some(7)))
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let updated = app
        .json_with_token("PUT", path, &admin, &year_body("provisional", "", Some(1)))
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.json()["version"], 2);
    // Both changes are audited with the days before and after.
    let audit = app
        .get_with_token("/api/v1/audit?entity=working_calendar_year", &admin)
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.body);
    assert!(audit.body.contains("工作日历 2027 年"), "{}", audit.body);
    let count: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE entity = 'working_calendar_year'",
    )
    .fetch_one(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(count, 2);
});

testkit::db_test!(a_year_entered_on_the_page, |db| {
    let app = TestApp::new(db).await;
    let session = app.session(Role::Admin).await;
    let get = |path: &'static str| {
        let app = &app;
        let cookie = session.cookie.clone();
        async move {
            app.send(
                Request::get(path)
                    .header(header::COOKIE, cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
        }
    };
    let post = |form: Vec<(&'static str, &'static str)>| {
        let app = &app;
        let cookie = session.cookie.clone();
        let csrf = session.csrf.clone();
        async move {
            let mut pairs: Vec<(&str, String)> =
                form.into_iter().map(|(k, v)| (k, v.to_string())).collect();
            pairs.push(("_csrf", csrf));
            app.send(
                Request::post("/admin/calendar/2027")
                    .header(header::COOKIE, cookie)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(serde_urlencoded::to_string(&pairs).unwrap()))
                    .unwrap(),
            )
            .await
        }
    };
    let list = get("/admin/calendar").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("暂定（待国务院通知）"));
    assert!(list.body.contains("国办发明电〔2023〕7号"));
    let page = get("/admin/calendar/2027").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("按规则暂定"));
    assert!(
        page.body.contains("2027-01-01 元旦"),
        "the form starts from the rule's days"
    );
    // A bad line is named, and what was typed stays.
    let bad = post(vec![
        ("status", "official"),
        ("notice", "国务院办公厅关于2027年部分节假日安排的通知"),
        ("rest_days", "2027-02-08 春节\n2027-2-30 春节"),
        ("work_days", ""),
        ("version", ""),
    ])
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("第2行"), "{}", bad.body);
    assert!(bad.body.contains("2027-2-30 春节"));
    let saved = post(vec![
        ("status", "official"),
        ("notice", "国务院办公厅关于2027年部分节假日安排的通知"),
        ("notice_date", "2026-11-20"),
        ("rest_days", "2027-01-01 元旦\n2027-02-08 春节"),
        ("work_days", "2027-02-20 春节调休上班"),
        ("version", ""),
    ])
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = get("/admin/calendar/2027?saved=1").await;
    assert!(page.body.contains("已保存"));
    assert!(page.body.contains("正式（国务院通知）"));
    assert!(
        page.body
            .contains(r#"class="cal-work" title="春节调休上班""#)
    );
    // A year before the first stored one is not derived, but the administrator may enter it.
    let early = get("/admin/calendar/2022").await;
    assert_eq!(early.status, StatusCode::OK);
    assert!(early.body.contains("无数据（期限无法计算）"));
    assert!(early.body.contains("<textarea"));
    // Others read the page but get no form; the public not even that.
    let leader = app.session(Role::Leader).await;
    let read = app
        .send(
            Request::get("/admin/calendar/2027")
                .header(header::COOKIE, leader.cookie.clone())
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(!read.body.contains("<textarea"));
    let missing = app
        .send(
            Request::get("/admin/calendar/2022")
                .header(header::COOKIE, leader.cookie.clone())
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let public = app.session(Role::Public).await;
    let denied = app
        .send(
            Request::get("/admin/calendar")
                .header(header::COOKIE, public.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
});
