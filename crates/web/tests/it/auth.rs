//! Login, sessions, CSRF, tokens, throttling, and the role matrix of the accounts resources.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kernel::Role;
use kernel::state::AppConfig;

use crate::app::{PASSWORD, TestApp};

testkit::db_test!(login_sets_a_session_and_pages_need_one, |db| {
    let app = TestApp::new(db).await;
    let anonymous = app
        .send(
            Request::get("/")
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(
        anonymous.headers.get(header::LOCATION).unwrap(),
        "/login?next=%2F"
    );

    let wrong = app.login("leader", "not-the-password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.body.contains("用户名或密码错误"));

    let session = app.session(Role::Leader).await;
    let home = app
        .send(
            Request::get("/")
                .header(header::COOKIE, &session.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("测试局领导"), "{}", home.body);
    assert!(home.body.contains("东丽区"));

    // Logout ends the session on the server, not only in the browser.
    let body = format!("_csrf={}", session.csrf);
    let out = app
        .send(
            Request::post("/logout")
                .header(header::COOKIE, &session.cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let after = app
        .send(
            Request::get("/api/v1/me")
                .header(header::COOKIE, &session.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
});

testkit::db_test!(passwords_are_stored_as_argon2id, |db| {
    let app = TestApp::new(db.clone()).await;
    let hashes: Vec<String> = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_all(db.pool())
        .await
        .unwrap();
    assert_eq!(hashes.len(), Role::ALL.len());
    for h in hashes {
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!h.contains(PASSWORD));
    }
    drop(app);
});

testkit::db_test!(unsafe_requests_with_a_session_need_the_csrf_token, |db| {
    let app = TestApp::new(db).await;
    let admin = app.session(Role::Admin).await;
    let form = "username=newbie&display_name=新人&password=longenough1&role=public";
    let without = app
        .send(
            Request::post("/admin/users")
                .header(header::COOKIE, &admin.cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(form))
                .unwrap(),
        )
        .await;
    assert_eq!(without.status, StatusCode::FORBIDDEN);
    let wrong = app
        .send(
            Request::post("/admin/users")
                .header(header::COOKIE, &admin.cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("{form}&_csrf=forged")))
                .unwrap(),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let with = app
        .send(
            Request::post("/admin/users")
                .header(header::COOKIE, &admin.cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("{form}&_csrf={}", admin.csrf)))
                .unwrap(),
        )
        .await;
    assert_eq!(with.status, StatusCode::OK, "{}", with.body);
    assert!(with.body.contains("已创建用户 newbie"));
    // JSON with the header works too.
    let json = app
        .send(
            Request::post("/api/v1/users")
                .header(header::COOKIE, &admin.cookie)
                .header("x-csrf-token", &admin.csrf)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"username":"json-user","display_name":"接口","password":"longenough1","role":"leader"}"#))
                .unwrap(),
        )
        .await;
    assert_eq!(json.status, StatusCode::CREATED, "{}", json.body);
});

testkit::db_test!(tokens_authenticate_machines, |db| {
    let app = TestApp::new(db).await;
    let token = app.token(Role::Monitoring).await;
    let me = app.get_with_token("/api/v1/me", &token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["role"], "monitoring");
    assert!(me.json()["csrf_token"].is_null());
    let bad = app.get_with_token("/api/v1/me", "qs_forged").await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.content_type(), "application/problem+json");
    // A token issued over the API is shown once and works; revoked, it stops working.
    let issued = app
        .json_with_token(
            "POST",
            "/api/v1/tokens",
            &token,
            r#"{"name":"站房推送","days":30}"#,
        )
        .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.body);
    let second = issued.json()["token"].as_str().unwrap().to_string();
    let id = issued.json()["id"].as_i64().unwrap();
    assert_eq!(
        app.get_with_token("/api/v1/me", &second).await.status,
        StatusCode::OK
    );
    let revoked = app
        .json_with_token("DELETE", &format!("/api/v1/tokens/{id}"), &token, "")
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_with_token("/api/v1/me", &second).await.status,
        StatusCode::UNAUTHORIZED
    );
});

testkit::db_test!(repeated_failures_are_throttled, |db| {
    let app = TestApp::new(db).await;
    for _ in 0..5 {
        assert_eq!(
            app.login("leader", "wrong-password").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    // Even the right password is refused while throttled.
    let throttled = app.login("leader", PASSWORD).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.body.contains("登录失败次数过多"));
    // Other users are not affected.
    assert_eq!(
        app.login("admin", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
});

testkit::db_test!(only_admins_reach_users_and_audit, |db| {
    let app = TestApp::new(db).await;
    for role in Role::ALL {
        let token = app.token(role).await;
        for path in ["/api/v1/users", "/api/v1/audit", "/api/v1/users/1"] {
            let reply = app.get_with_token(path, &token).await;
            let expected = if role == Role::Admin {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(
                reply.status, expected,
                "{role:?} GET {path}: {}",
                reply.body
            );
        }
        let create = app
            .json_with_token(
                "POST",
                "/api/v1/users",
                &token,
                &format!(r#"{{"username":"made-by-{}","display_name":"x","password":"longenough1","role":"public"}}"#, role.as_str()),
            )
            .await;
        let expected = if role == Role::Admin {
            StatusCode::CREATED
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(create.status, expected, "{role:?} POST /api/v1/users");
        let update = app
            .json_with_token(
                "PUT",
                "/api/v1/users/1",
                &token,
                r#"{"display_name":"改名"}"#,
            )
            .await;
        let expected = if role == Role::Admin {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(update.status, expected, "{role:?} PUT /api/v1/users/1");
        for page in ["/admin/users", "/admin/audit"] {
            let reply = app.get_with_token(page, &token).await;
            let expected = if role == Role::Admin {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(reply.status, expected, "{role:?} GET {page}");
        }
    }
});

testkit::db_test!(changes_are_audited_with_before_and_after, |db| {
    let app = TestApp::new(db).await;
    let admin = app.token(Role::Admin).await;
    let reply = app
        .json_with_token(
            "PUT",
            "/api/v1/users/2",
            &admin,
            r#"{"display_name":"新名字","role":"monitoring"}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let audit = app
        .get_with_token(
            "/api/v1/audit?entity=user&entity_id=2&action=update",
            &admin,
        )
        .await
        .json();
    let item = &audit["items"][0];
    assert_eq!(item["actor"], "admin");
    assert_eq!(item["before"]["role"], "leader");
    assert_eq!(item["after"]["role"], "monitoring");
    assert_eq!(item["after"]["display_name"], "新名字");
    // Logins are audited too, and searchable by text.
    app.login("leader", "wrong").await;
    let failed = app
        .get_with_token("/api/v1/audit?action=login_failed", &admin)
        .await
        .json();
    assert_eq!(failed["total"], 1);
    let page = app
        .get_with_token("/admin/audit?q=%E6%96%B0%E5%90%8D%E5%AD%97", &admin)
        .await;
    assert!(page.body.contains("新名字"));
});

testkit::db_test!(changing_a_role_ends_sessions, |db| {
    let app = TestApp::new(db).await;
    let leader = app.session(Role::Leader).await;
    let admin = app.token(Role::Admin).await;
    let leader_id = app
        .get_with_token("/api/v1/users", &admin)
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "leader")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    app.json_with_token(
        "PUT",
        &format!("/api/v1/users/{leader_id}"),
        &admin,
        r#"{"role":"public"}"#,
    )
    .await;
    let me = app
        .send(
            Request::get("/api/v1/me")
                .header(header::COOKIE, &leader.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
});

testkit::db_test!(the_demo_logs_the_first_visit_in, |db| {
    let config = AppConfig {
        demo: true,
        ..AppConfig::default()
    };
    let app = TestApp::with_config(db, config).await;
    let page = app
        .send(
            Request::get("/")
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.headers.get(header::SET_COOKIE).is_some());
    assert!(page.body.contains("演示数据"));
    // After logging out, the login page lists the demo accounts instead.
    let login = app
        .send(
            Request::get("/login")
                .header(header::COOKIE, "qs_demo_out=1")
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(login.body.contains("以此身份登录"));
    // The API is never auto-logged-in.
    let api = app
        .send(Request::get("/api/v1/me").body(Body::empty()).unwrap())
        .await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
});
