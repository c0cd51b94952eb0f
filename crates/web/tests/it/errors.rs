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

/// Whether a text has Chinese in it (CJK ideographs).
fn has_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

// Issue 14: a browser page never answers raw JSON or an English-only error. Every kind of error a browser can
// meet — an unknown path, a record that is not there, a page of another role, a bad filter, a form without its
// CSRF token, a form body that does not parse, a NUL in a form, a body too large, a method a page does not take
// — is an HTML page with Chinese in it and a way back; the same errors asked by the API stay problem+json.
testkit::db_test!(every_error_page_is_chinese_html, |db| {
    let app = TestApp::new(db).await;
    let leader = app.session(Role::Leader).await;
    let admin = app.session(Role::Admin).await;
    let page = |method: &str, path: &str, cookie: &str| {
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::COOKIE, cookie)
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
    };
    let form = |path: &str, cookie: &str, body: &str| {
        Request::post(path)
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let huge = "x".repeat(9 * 1024 * 1024);
    let cases: Vec<(&str, Request<Body>, StatusCode)> = vec![
        (
            "an unknown path",
            page("GET", "/no/such/page", &leader.cookie)
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            "a record that is not there",
            page("GET", "/alarms/999999", &leader.cookie)
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            "a page of another role",
            page("GET", "/admin/users", &leader.cookie)
                .body(Body::empty())
                .unwrap(),
            StatusCode::FORBIDDEN,
        ),
        (
            "a bad filter",
            page("GET", "/alarms?month=11-2026", &leader.cookie)
                .body(Body::empty())
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "a bad path",
            page("GET", "/alarms/abc", &leader.cookie)
                .body(Body::empty())
                .unwrap(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "a form without its CSRF token",
            form(
                "/admin/users",
                &admin.cookie,
                "username=x&display_name=x&password=longenough1&role=public",
            ),
            StatusCode::FORBIDDEN,
        ),
        (
            "a form body that does not parse",
            form(
                "/alarms/1/action",
                &leader.cookie,
                &format!("_csrf={}&action=verify&version=abc", leader.csrf),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "a NUL in a form",
            form(
                "/admin/users",
                &admin.cookie,
                &format!("_csrf={}&username=a%00b", admin.csrf),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "a body too large",
            Request::post("/admin/users")
                .header(header::COOKIE, &admin.cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::CONTENT_LENGTH, huge.len().to_string())
                .body(Body::from(huge.clone()))
                .unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "a method a page does not take",
            page("GET", "/logout", &leader.cookie)
                .body(Body::empty())
                .unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (what, request, status) in cases {
        let reply = app.send(request).await;
        assert_eq!(reply.status, status, "{what}: {}", reply.body);
        assert!(
            reply.content_type().starts_with("text/html"),
            "{what}: answered {} {}",
            reply.content_type(),
            reply.body
        );
        assert!(has_chinese(&reply.body), "{what}: {}", reply.body);
        assert!(
            reply.body.contains("返回上一页") && reply.body.contains("返回首页"),
            "{what}: no way back: {}",
            reply.body
        );
        assert!(!reply.body.trim_start().starts_with('{'), "{what}");
    }
    // The permission refusal says who may not do what, in Chinese, on the page and in the API's detail alike.
    let refused = app
        .send(
            page("GET", "/admin/users", &leader.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(
        refused.body.contains("局领导无权查看用户"),
        "{}",
        refused.body
    );
    let token = app.token(Role::Leader).await;
    let api = app
        .json_with_token(
            "POST",
            "/api/v1/streets",
            &token,
            r#"{"code":"x1","name":"新街道"}"#,
        )
        .await;
    assert_eq!(api.status, StatusCode::FORBIDDEN, "{}", api.body);
    assert_eq!(api.content_type(), "application/problem+json");
    assert_eq!(api.json()["detail"], "局领导无权新建街道与部门");
    assert_eq!(
        api.json()["title"],
        "Forbidden",
        "the machine-readable title stays"
    );
    // The API's own errors stay problem+json, even for a client that also accepts HTML.
    let api_404 = app
        .send(
            Request::get("/api/v1/nothing-here")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(api_404.content_type(), "application/problem+json");
});
