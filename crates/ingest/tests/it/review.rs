//! The quarantine review and the keys over HTTP through the whole application (`web::app`): roles allowed and
//! refused, bad input as problem+json, audit entries, the pages; on both backends.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kernel::{Db, Role};
use webtest::{Reply, TestApp};

use crate::support::*;

const QUIET: Duration = Duration::from_millis(700);
const WAIT: Duration = Duration::from_secs(10);

fn problem(reply: &Reply, status: StatusCode) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert!(
        reply.content_type().starts_with("application/problem+json"),
        "{}",
        reply.content_type()
    );
}

async fn entry_ids(app: &TestApp, token: &str) -> Vec<(i64, String)> {
    let reply = app
        .get_with_token("/api/v1/ingest/quarantine?per_page=50", token)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let mut ids: Vec<(i64, String)> = reply.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_i64().unwrap(),
                e["mn"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    ids.sort_by(|a, b| a.1.cmp(&b.1));
    ids
}

async fn audit_count(db: &Db, entity: &str) -> i64 {
    sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE entity = $1")
        .bind(entity)
        .fetch_one(db.pool())
        .await
        .unwrap()
}

async fn page(app: &TestApp, role: Role, path: &str) -> Reply {
    let session = app.session(role).await;
    app.page(&session, path).await
}

testkit::db_test!(quarantine_review_allowed_and_refused_by_role, |db| {
    let app = TestApp::new(db.clone()).await;
    let (_, point_id) = register(&db, "QSKNOWN1", "123456", "2017", "strict").await;
    let gateway = start(&db, ingest::Config::default()).await;
    let packets: Vec<Vec<u8>> = ["QSNEW0001", "QSNEW0002", "QSNEW0003"]
        .iter()
        .map(|mn| minute_packet(mn, "654321", "20260101120100000", "20260101120000", 5.0))
        .collect();
    assert!(exchange(gateway.addr, &packets, 1, QUIET).await.is_empty());
    gateway.stop().await;

    let monitor = app.token(Role::Monitoring).await;
    let enforcer = app.token(Role::Enforcement).await;
    let leader = app.token(Role::Leader).await;
    let ids = entry_ids(&app, &monitor).await;
    assert_eq!(
        ids.iter().map(|(_, mn)| mn.as_str()).collect::<Vec<_>>(),
        vec!["QSNEW0001", "QSNEW0002", "QSNEW0003"]
    );
    let (first, second, third) = (ids[0].0, ids[1].0, ids[2].0);

    // Reading the quarantine: monitoring and admin only; bad filters and unknown entries are problems.
    for token in [&enforcer, &leader] {
        problem(
            &app.get_with_token("/api/v1/ingest/quarantine", token).await,
            StatusCode::FORBIDDEN,
        );
    }
    let bad = app
        .get_with_token("/api/v1/ingest/quarantine?reason=nonsense", &monitor)
        .await;
    problem(&bad, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["field"], "reason");
    problem(
        &app.get_with_token("/api/v1/ingest/quarantine/999999", &monitor)
            .await,
        StatusCode::NOT_FOUND,
    );
    let one = app
        .get_with_token(&format!("/api/v1/ingest/quarantine/{second}"), &monitor)
        .await;
    assert_eq!(one.json()["reason"], "unknown_device");

    // Dismissing: a reason is required, the leader may not, twice is a conflict.
    let dismiss = format!("/api/v1/ingest/quarantine/{second}/dismiss");
    let empty = app
        .json_with_token("POST", &dismiss, &monitor, r#"{"reason":"  "}"#)
        .await;
    problem(&empty, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.json()["field"], "reason");
    let not_json = app
        .json_with_token("POST", &dismiss, &monitor, "reason=x")
        .await;
    assert!(not_json.status.is_client_error(), "{}", not_json.body);
    assert!(
        not_json
            .content_type()
            .starts_with("application/problem+json")
    );
    problem(
        &app.json_with_token("POST", &dismiss, &leader, r#"{"reason":"测试设备"}"#)
            .await,
        StatusCode::FORBIDDEN,
    );
    let done = app
        .json_with_token(
            "POST",
            &dismiss,
            &monitor,
            r#"{"reason":"厂家调试设备，非本区点位"}"#,
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.json()["review_outcome"], "dismissed");
    assert_eq!(done.json()["review_note"], "厂家调试设备，非本区点位");
    assert!(done.json()["reviewed_at"].is_i64());
    problem(
        &app.json_with_token("POST", &dismiss, &monitor, r#"{"reason":"again"}"#)
            .await,
        StatusCode::CONFLICT,
    );

    // Registering from an entry: through the registry's checks (here: the point must exist), MN prefilled.
    let register_path = format!("/api/v1/ingest/quarantine/{first}/register");
    let body = |point: i64| {
        format!(
            r#"{{"mn":"","password":"654321","protocol":"2017","crc_mode":"strict","point_id":{point}}}"#
        )
    };
    problem(
        &app.json_with_token("POST", &register_path, &enforcer, &body(point_id))
            .await,
        StatusCode::FORBIDDEN,
    );
    let no_point = app
        .json_with_token("POST", &register_path, &monitor, &body(999_999))
        .await;
    problem(&no_point, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_point.json()["field"], "point_id");
    let registered = app
        .json_with_token("POST", &register_path, &monitor, &body(point_id))
        .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.body
    );
    let reply = registered.json();
    assert_eq!(reply["device"]["mn"], "QSNEW0001");
    assert_eq!(reply["entry"]["review_outcome"], "registered");
    assert_eq!(
        reply["entry"]["registered_device_id"],
        reply["device"]["id"]
    );
    problem(
        &app.json_with_token("POST", &register_path, &monitor, &body(point_id))
            .await,
        StatusCode::CONFLICT,
    );
    assert_eq!(audit_count(&db, "hj212_quarantine").await, 2);
    assert_eq!(audit_count(&db, "device").await, 1);

    // The device resends its unacknowledged packet: now it is data.
    let gateway = start(&db, ingest::Config::default()).await;
    let replies = exchange(gateway.addr, &packets[..1], 1, WAIT).await;
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0].contains("CN=9014"));
    gateway.stop().await;

    // Pages: the list, an entry with its forms, a form dismissal, roles.
    let list = page(&app, Role::Monitoring, "/ingest/quarantine").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("QSNEW0003") && list.body.contains("未登记设备"));
    let entry = page(
        &app,
        Role::Monitoring,
        &format!("/ingest/quarantine/{third}"),
    )
    .await;
    assert_eq!(entry.status, StatusCode::OK);
    assert!(entry.body.contains("登记设备") && entry.body.contains("value=\"QSNEW0003\""));
    assert!(
        entry.body.contains("value=\"654321\""),
        "password prefilled"
    );
    assert!(
        entry.body.contains("a21026-Avg=5"),
        "the packet's values shown"
    );
    let devices = page(&app, Role::Monitoring, "/ingest/devices").await;
    assert_eq!(devices.status, StatusCode::OK);
    assert!(devices.body.contains("QSNEW0001") && devices.body.contains("离线"));
    assert!(
        devices.body.contains("href=\"/ingest/devices\""),
        "in the navigation"
    );
    let read_only = page(&app, Role::Enforcement, "/ingest/devices").await;
    assert_eq!(read_only.status, StatusCode::OK);
    assert!(
        !read_only.body.contains("/ingest/quarantine?"),
        "no review links"
    );
    assert_eq!(
        page(&app, Role::Enforcement, "/ingest/quarantine")
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        page(&app, Role::Petition, "/ingest/devices").await.status,
        StatusCode::FORBIDDEN
    );
    let session = app.session(Role::Monitoring).await;
    let form = |reason: &str| {
        Request::post(format!("/ingest/quarantine/{third}/dismiss"))
            .header(header::COOKIE, &session.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(
                serde_urlencoded::to_string([("_csrf", session.csrf.as_str()), ("reason", reason)])
                    .unwrap(),
            ))
            .unwrap()
    };
    let refused = app.send(form("")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("reason"));
    let dismissed = app.send(form("重复报文")).await;
    assert_eq!(
        dismissed.status,
        StatusCode::SEE_OTHER,
        "{}",
        dismissed.body
    );
    let after = app
        .get_with_token(&format!("/api/v1/ingest/quarantine/{third}"), &monitor)
        .await;
    assert_eq!(after.json()["review_outcome"], "dismissed");
});

testkit::db_test!(
    keys_are_set_by_operators_shown_by_fingerprint_and_audited,
    |db| {
        let app = TestApp::new(db.clone()).await;
        let (device_id, _) = register(&db, "QSKEYS01", "123456", "2025", "strict").await;
        let monitor = app.token(Role::Monitoring).await;
        let enforcer = app.token(Role::Enforcement).await;
        let admin = app.token(Role::Admin).await;
        let path = format!("/api/v1/devices/{device_id}/keys");
        let secret = "k3Y!x9Qa7Lm2Pz0W";
        let good = format!(r#"{{"key":"{secret}","sk_created_at":"20260101120000"}}"#);

        for (body, field) in [
            (r#"{"key":"0000000000000000"}"#, "key"),
            (r#"{"key":"short"}"#, "key"),
            (r#"{"key":"k3Y!x9Qa7Lm2Pz0;"}"#, "key"),
            (
                r#"{"key":"Rt5#uV8nB1cE6gH4","sk_created_at":"yesterday"}"#,
                "sk_created_at",
            ),
        ] {
            let reply = app.json_with_token("POST", &path, &monitor, body).await;
            problem(&reply, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(reply.json()["field"], field, "{body}");
        }
        problem(
            &app.json_with_token("POST", &path, &enforcer, &good).await,
            StatusCode::FORBIDDEN,
        );
        problem(
            &app.get_with_token(&path, &enforcer).await,
            StatusCode::FORBIDDEN,
        );
        problem(
            &app.json_with_token("POST", "/api/v1/devices/999999/keys", &monitor, &good)
                .await,
            StatusCode::NOT_FOUND,
        );

        let created = app.json_with_token("POST", &path, &monitor, &good).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        assert!(!created.body.contains(secret), "{}", created.body);
        assert_eq!(
            created.json()["fingerprint"],
            ingest::model::fingerprint(secret.as_bytes())
        );
        assert_eq!(created.json()["state"], "current");
        // 2026-01-01 12:00 CST.
        assert_eq!(created.json()["sk_created_at"], 1_767_240_000_i64);
        let replaced = app
            .json_with_token("POST", &path, &admin, r#"{"key":"Rt5#uV8nB1cE6gH4"}"#)
            .await;
        assert_eq!(replaced.status, StatusCode::CREATED, "{}", replaced.body);
        let reused = app.json_with_token("POST", &path, &monitor, &good).await;
        problem(&reused, StatusCode::UNPROCESSABLE_ENTITY);

        let listed = app.get_with_token(&path, &monitor).await;
        assert_eq!(listed.status, StatusCode::OK);
        assert!(!listed.body.contains(secret) && !listed.body.contains("Rt5#uV8nB1cE6gH4"));
        let states: Vec<String> = listed
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["state"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(states, vec!["current", "retired"]);
        assert!(listed.json()[1]["valid_to"].is_i64());

        assert_eq!(audit_count(&db, "hj212_key").await, 2);
        let leaked: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE summary LIKE $1 OR after_json LIKE $1 \
         OR before_json LIKE $1",
    )
    .bind(format!("%{secret}%"))
    .fetch_one(db.pool())
    .await
    .unwrap();
        assert_eq!(leaked, 0);

        // The API is described, with the schemas it refers to.
        let doc = app
            .get_with_token("/api/v1/openapi.json", &monitor)
            .await
            .json();
        for (path, method) in [
            ("/api/v1/devices/{id}/keys", "post"),
            ("/api/v1/ingest/quarantine/{id}/register", "post"),
            ("/api/v1/ingest/quarantine/{id}/dismiss", "post"),
            ("/api/v1/ingest/devices", "get"),
        ] {
            assert!(doc["paths"][path][method].is_object(), "{path}");
        }
        for schema in [
            "KeyInfo",
            "NewKey",
            "DeviceInput",
            "Registered",
            "DismissBody",
        ] {
            assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
        }

        // The gateway opens this device's packets with the registered key.
        let gateway = start(&db, ingest::Config::default()).await;
        let packet = encrypted_minute(
            "QSKEYS01",
            "123456",
            b"Rt5#uV8nB1cE6gH4",
            "20260101120100000",
            "20260101120000",
            4.0,
        );
        let replies = exchange(gateway.addr, &[packet], 1, WAIT).await;
        assert_eq!(replies.len(), 1, "{replies:?}");
        gateway.stop().await;
    }
);
