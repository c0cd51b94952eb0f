//! Bad input gets a problem+json 4xx naming the field; unknown paths a 404; nothing panics.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kernel::Role;

use crate::app::TestApp;

testkit::db_test!(bad_bodies_are_problems_naming_the_field, |db| {
    let app = TestApp::new(db).await;
    let admin = app.token(Role::Admin).await;
    let cases = [
        ("not json", StatusCode::BAD_REQUEST, None),
        (
            r#"{"display_name":"x","password":"longenough1","role":"public"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("username"),
        ),
        (
            r#"{"username":"a b","display_name":"x","password":"longenough1","role":"public"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("username"),
        ),
        (
            r#"{"username":"ok","display_name":"x","password":"short","role":"public"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("password"),
        ),
        (
            r#"{"username":"ok","display_name":"x","password":"longenough1","role":"king"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("role"),
        ),
        (
            r#"{"username":"ok","display_name":"x","password":"longenough1","role":"street_officer"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("street_id"),
        ),
        (
            r#"{"username":"ok","display_name":"x","password":"longenough1","role":"public","street_id":999}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("street_id"),
        ),
        (
            r#"{"username":"admin","display_name":"x","password":"longenough1","role":"public"}"#,
            StatusCode::CONFLICT,
            None,
        ),
    ];
    for (body, status, field) in cases {
        let reply = app
            .json_with_token("POST", "/api/v1/users", &admin, body)
            .await;
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert_eq!(reply.content_type(), "application/problem+json", "{body}");
        let problem = reply.json();
        assert_eq!(problem["status"], status.as_u16());
        if let Some(field) = field {
            assert_eq!(problem["field"], field, "{body}: {}", reply.body);
        }
    }
    let bad_path = app.get_with_token("/api/v1/users/abc", &admin).await;
    assert_eq!(bad_path.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_path.content_type(), "application/problem+json");
    let bad_query = app.get_with_token("/api/v1/audit?page=-1", &admin).await;
    assert_eq!(bad_query.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_query.json()["field"], "page");
});

testkit::db_test!(unknown_paths_and_anonymous_api_calls, |db| {
    let app = TestApp::new(db).await;
    let token = app.token(Role::Leader).await;
    let missing = app.get_with_token("/api/v1/nothing-here", &token).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.content_type(), "application/problem+json");
    let anonymous = app
        .send(Request::get("/api/v1/users").body(Body::empty()).unwrap())
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.content_type(), "application/problem+json");
    let page = app.get_with_token("/no/such/page", &token).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("未找到"));
});

testkit::db_test!(openapi_and_assets_are_served, |db| {
    let app = TestApp::new(db).await;
    let doc = app
        .send(
            Request::get("/api/v1/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(doc.status, StatusCode::OK);
    let doc = doc.json();
    assert!(doc["paths"]["/api/v1/users"]["post"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    for asset in [
        "/assets/app.css",
        "/assets/vendor/htmx.min.js",
        "/assets/vendor/echarts.min.js",
    ] {
        let reply = app
            .send(
                Request::get(asset)
                    .header(header::ACCEPT_ENCODING, "gzip")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{asset}");
        assert!(reply.headers.get(header::ETAG).is_some(), "{asset}");
    }
    let health = app
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        health.status,
        StatusCode::OK,
        "load balancers probe /healthz without logging in"
    );
    assert_eq!(health.body, "ok");
});

// A NUL (U+0000) in a query, a form or a JSON body gave 500 on PostgreSQL (its text type cannot hold it): it is
// a 422 naming the parameter on both backends, before any handler runs.
testkit::db_test!(nul_characters_are_refused_naming_the_field, |db| {
    let app = TestApp::new(db).await;
    let admin = app.token(Role::Admin).await;
    for (path, field) in [
        ("/api/v1/enterprises?q=a%00b", "q"),
        ("/api/v1/audit?q=%00", "q"),
        ("/api/v1/complaints?%00=1", "query"),
    ] {
        let reply = app.get_with_token(path, &admin).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            reply.body
        );
        assert_eq!(reply.content_type(), "application/problem+json", "{path}");
        assert_eq!(reply.json()["field"], field, "{path}");
    }
    let reply = app
        .json_with_token(
            "POST",
            "/api/v1/streets",
            &admin,
            r#"{"code":"x1","name":"新\u0000街道"}"#,
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
    assert_eq!(reply.json()["field"], "name");
    // Nothing was stored.
    let streets = app.get_with_token("/api/v1/streets", &admin).await;
    assert!(!streets.body.contains("x1"), "{}", streets.body);
    // The login form: a page answer, not a 500, and no session.
    for body in [
        "username=a%00b&password=x&next=%2F",
        "username=admin&password=%00&next=%2F",
    ] {
        let reply = app
            .send(
                Request::post("/login")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
        assert!(reply.headers.get(header::SET_COOKIE).is_none(), "{body}");
    }
    // The same text without the NUL is fine.
    let reply = app.get_with_token("/api/v1/enterprises?q=ab", &admin).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
});

// Found by the schema-driven fuzz step: a duty shift from i64::MIN overflowed the shift-length check (a panic in
// a debug build, a wrong answer in release). Extreme times are refused like any other bad shift.
testkit::db_test!(extreme_times_are_refused_not_overflowed, |db| {
    let app = TestApp::new(db).await;
    let admin = app.token(Role::Admin).await;
    for (starts, ends) in [(i64::MIN, 0), (0, i64::MAX), (i64::MIN, i64::MAX)] {
        let body = format!(
            r#"{{"duty_role":"leader","person_name":"张三","phone":"13800000000","starts_at":{starts},"ends_at":{ends}}}"#
        );
        let reply = app
            .json_with_token("POST", "/api/v1/complaints/duty", &admin, &body)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
        assert_eq!(reply.json()["field"], "ends_at", "{body}");
    }
});
