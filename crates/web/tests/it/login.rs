//! Login hardening (issue 12, items 6 and 8): the throttle holds under concurrency, the client address comes
//! from X-Forwarded-For only behind a trusted proxy, a guessing address is slowed and not locked out, the
//! post-login destination stays on the site, the last administrator stays, tokens expire, passwords are
//! checked against the common ones.

use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kernel::Role;
use kernel::state::AppConfig;

use crate::app::{PASSWORD, TestApp};

fn location(reply: &webtest::Reply) -> &str {
    reply
        .headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn retry_after(reply: &webtest::Reply) -> i64 {
    reply
        .headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After on {}: {}", reply.status, reply.body))
}

/// Moves every recorded login failure `seconds` into the past: time passing, without waiting.
async fn age_failures(app: &TestApp, seconds: i64) {
    sqlx::query("UPDATE login_failures SET at = at - $1")
        .bind(seconds)
        .execute(app.state.db.pool())
        .await
        .unwrap();
}

fn proxied_config() -> AppConfig {
    AppConfig {
        trusted_proxies: kernel::client::parse_cidr_list("10.0.0.0/8").unwrap(),
        ..AppConfig::default()
    }
}

const PROXY: &str = "10.0.0.1:40000";

fn proxy() -> Option<SocketAddr> {
    Some(PROXY.parse().unwrap())
}

testkit::db_test!(
    concurrent_wrong_passwords_are_verified_at_most_the_limit,
    |db| {
        let app = TestApp::new(db).await;
        let limit = app.state.config.login_max_failures as usize;
        let mut burst = tokio::task::JoinSet::new();
        for _ in 0..40 {
            let router = app.router.clone();
            burst.spawn(async move {
                let request = webtest::login_request("leader", "wrong-password-0", "/");
                tower::ServiceExt::oneshot(router, request)
                    .await
                    .unwrap()
                    .status()
            });
        }
        let mut verified = 0;
        while let Some(status) = burst.join_next().await {
            match status.unwrap() {
                // 401: the password was verified and was wrong.
                StatusCode::UNAUTHORIZED => verified += 1,
                StatusCode::TOO_MANY_REQUESTS => {}
                other => panic!("unexpected {other}"),
            }
        }
        assert!(
            verified <= limit,
            "{verified} of 40 concurrent attempts were verified (limit {limit})"
        );
        // Sequential attempts reach the lock within the limit too, and then even the right password waits.
        for _ in 0..=limit {
            let reply = app.login("leader", "wrong-password-1").await;
            if reply.status == StatusCode::TOO_MANY_REQUESTS {
                break;
            }
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
            verified += 1;
        }
        assert!(verified <= limit, "{verified} verifications in all");
        let locked = app.login("leader", PASSWORD).await;
        assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(retry_after(&locked) > 0);
        assert!(locked.body.contains("登录失败次数过多"), "{}", locked.body);
    }
);

testkit::db_test!(forwarded_for_counts_only_from_a_trusted_proxy, |db| {
    let app = TestApp::with_config(db, proxied_config()).await;
    let admin = app.token(Role::Admin).await;
    // From an untrusted peer the header is the client's own claim, and ignored.
    let direct = "198.51.100.1:5555".parse().ok();
    let reply = app
        .login_from("leader", "wrong-password", "/", direct, Some("203.0.113.5"))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // From the trusted proxy: the right-most address it did not add itself.
    let reply = app
        .login_from(
            "monitoring",
            "wrong-password",
            "/",
            proxy(),
            Some("6.6.6.6, 203.0.113.7"),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let audit = app
        .get_with_token("/api/v1/audit?action=login_failed", &admin)
        .await
        .json();
    let summaries: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["summary"].as_str())
        .collect();
    assert!(
        summaries.contains(&"failed login from 198.51.100.1"),
        "{summaries:?}"
    );
    assert!(
        summaries.contains(&"failed login from 203.0.113.7"),
        "{summaries:?}"
    );
    // The successful login is recorded with the same address.
    let ok = app
        .login_from("leader", PASSWORD, "/", proxy(), Some("203.0.113.8"))
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    let logins = app
        .get_with_token("/api/v1/audit?action=login", &admin)
        .await
        .json();
    assert_eq!(logins["items"][0]["summary"], "login from 203.0.113.8");
});

testkit::db_test!(a_guessing_address_is_slowed_not_locked_out, |db| {
    let app = TestApp::with_config(db, proxied_config()).await;
    let cap = app.state.config.login_client_backoff_max_seconds;
    let attacker = Some("203.0.113.66");
    // A patient guesser behind the office's proxy: five wrong passwords for each of four users, waiting
    // out every Retry-After it is given (time is moved instead of waited for).
    let mut failures = 0;
    for user in ["leader", "monitoring", "enforcement", "petition"] {
        for _ in 0..5 {
            loop {
                let reply = app
                    .login_from(user, "wrong-password", "/", proxy(), attacker)
                    .await;
                if reply.status == StatusCode::UNAUTHORIZED {
                    failures += 1;
                    break;
                }
                assert_eq!(
                    reply.status,
                    StatusCode::TOO_MANY_REQUESTS,
                    "{}",
                    reply.body
                );
                let wait = retry_after(&reply);
                assert!(wait <= cap, "asked to wait {wait} s, more than {cap}");
                age_failures(&app, wait).await;
            }
        }
    }
    assert_eq!(failures, 20);
    // Someone else behind the same proxy is not affected at all.
    let colleague = app
        .login_from("admin", PASSWORD, "/", proxy(), Some("203.0.113.7"))
        .await;
    assert_eq!(
        colleague.status,
        StatusCode::SEE_OTHER,
        "{}",
        colleague.body
    );
    // Someone sharing the guesser's address (a NAT) waits at most the cap, not the 15-minute window …
    let shared = app
        .login_from("admin", PASSWORD, "/", proxy(), attacker)
        .await;
    assert_eq!(shared.status, StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&shared);
    assert!(wait <= cap, "asked to wait {wait} s");
    age_failures(&app, wait).await;
    let shared = app
        .login_from("admin", PASSWORD, "/", proxy(), attacker)
        .await;
    assert_eq!(shared.status, StatusCode::SEE_OTHER, "{}", shared.body);
    // … while each guessed username stays locked for the window, whoever asks.
    let locked = app
        .login_from("leader", PASSWORD, "/", proxy(), Some("203.0.113.7"))
        .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
});

testkit::db_test!(next_after_login_stays_on_the_site, |db| {
    let app = TestApp::new(db).await;
    for next in [
        "/\t/evil.example",
        "/%09/evil.example",
        "/\n/x",
        "/%0A/x",
        "/\r\nSet-Cookie: x=1",
        "//evil",
        "/\\evil",
        "/%5Cevil",
        "https://evil",
        "/%2F%2Fevil",
        "/%2f/evil",
        " /x",
        "/x y",
        "javascript:alert(1)",
        "",
        &format!("/{}", "a".repeat(5000)),
    ] {
        let reply = app.login_from("leader", PASSWORD, next, None, None).await;
        assert_eq!(
            reply.status,
            StatusCode::SEE_OTHER,
            "next={next:?}: {}",
            reply.body
        );
        assert_eq!(location(&reply), "/", "next={next:?}");
    }
    // A local destination is kept.
    for next in [
        "/alarms?status=open",
        "/registry/enterprises/3",
        "/analysis?q=%E4%B8%9C",
    ] {
        let reply = app.login_from("leader", PASSWORD, next, None, None).await;
        assert_eq!(location(&reply), next);
    }
    // The login page does not carry a bad destination into its form either.
    let page = app
        .send(
            Request::get("/login?next=%2F%09%2Fevil.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("evil.example"), "{}", page.body);
});

testkit::db_test!(the_last_active_administrator_stays, |db| {
    let app = TestApp::new(db).await;
    let admin = app.token(Role::Admin).await;
    let users = app.get_with_token("/api/v1/users", &admin).await.json();
    let admin_id = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "admin")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/users/{admin_id}");
    for change in [r#"{"active":false}"#, r#"{"role":"leader"}"#] {
        let reply = app.json_with_token("PUT", &path, &admin, change).await;
        assert_eq!(
            reply.status,
            StatusCode::CONFLICT,
            "{change}: {}",
            reply.body
        );
        assert_eq!(reply.content_type(), "application/problem+json");
        assert!(
            reply.body.contains("last active administrator"),
            "{}",
            reply.body
        );
    }
    // The page says so in Chinese.
    let session = app.session(Role::Admin).await;
    let page = app
        .send(
            Request::post(format!("/admin/users/{admin_id}"))
                .header(header::COOKIE, &session.cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("active=0&_csrf={}", session.csrf)))
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, StatusCode::CONFLICT);
    assert!(
        page.body.contains("至少要保留一名启用的系统管理员"),
        "{}",
        page.body
    );
    // Still an active administrator.
    let me = app.get_with_token("/api/v1/me", &admin).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.json()["role"], "admin");
    // With a second administrator, the first may step down.
    let second = app
        .json_with_token(
            "POST",
            "/api/v1/users",
            &admin,
            r#"{"username":"admin2","display_name":"副管理员","password":"long-enough-1","role":"admin"}"#,
        )
        .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.body);
    let reply = app
        .json_with_token("PUT", &path, &admin, r#"{"role":"leader"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
});

testkit::db_test!(api_tokens_expire_by_default, |db| {
    let app = TestApp::new(db).await;
    let token = app.token(Role::Monitoring).await;
    let issued = app
        .json_with_token("POST", "/api/v1/tokens", &token, r#"{"name":"站房推送"}"#)
        .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.body);
    let json = issued.json();
    let lifetime = json["expires_at"].as_i64().unwrap() - json["created_at"].as_i64().unwrap();
    assert_eq!(
        lifetime,
        app.state.config.api_token_default_days * 86_400,
        "{json}"
    );
    // A lifetime beyond the maximum is refused, naming the field.
    let long = app
        .json_with_token(
            "POST",
            "/api/v1/tokens",
            &token,
            r#"{"name":"永久","days":4000}"#,
        )
        .await;
    assert_eq!(
        long.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        long.body
    );
    assert_eq!(long.json()["field"], "days");
    // Expired, a token no longer authenticates.
    let second = json["token"].as_str().unwrap().to_string();
    sqlx::query("UPDATE api_tokens SET expires_at = $1 WHERE id = $2")
        .bind(kernel::time::now_ts() - 1)
        .bind(json["id"].as_i64().unwrap())
        .execute(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(
        app.get_with_token("/api/v1/me", &second).await.status,
        StatusCode::UNAUTHORIZED
    );
});

testkit::db_test!(common_passwords_are_refused, |db| {
    let app = TestApp::new(db).await;
    let admin = app.token(Role::Admin).await;
    for (username, password) in [
        ("newbie", "password123"),
        ("newbie", "woaini1314"),
        ("newbie", "newbie-2026"),
        ("newbie", "aaaaaaaaaa"),
        ("newbie", "12345678"),
    ] {
        let reply = app
            .json_with_token(
                "POST",
                "/api/v1/users",
                &admin,
                &format!(
                    r#"{{"username":"{username}","display_name":"新人","password":"{password}","role":"public"}}"#
                ),
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{password}: {}",
            reply.body
        );
        assert_eq!(reply.json()["field"], "password");
    }
    // Changing a password obeys the same policy, and the page says why in Chinese.
    let session = app.session(Role::Admin).await;
    let page = app
        .send(
            Request::post("/admin/users")
                .header(header::COOKIE, &session.cookie)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!(
                    "username=newbie&display_name=新人&password=iloveyou1&role=public&_csrf={}",
                    session.csrf
                )))
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("密码过于常见"), "{}", page.body);
    let reply = app
        .json_with_token(
            "PUT",
            "/api/v1/users/2",
            &admin,
            r#"{"password":"qwertyuiop"}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
});

/// The `name=value` of a `Set-Cookie` of the reply named `name`, if it sets one.
fn set_cookie(reply: &webtest::Reply, name: &str) -> Option<String> {
    reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_string)
}

/// The login form's hidden `_csrf` value on a login page.
fn form_token(body: &str) -> String {
    body.split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no _csrf field on the login page: {body}"))
        .to_string()
}

fn login_post(cookies: &str, body: String, fetch_site: Option<&str>) -> Request<Body> {
    let mut request = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html");
    if !cookies.is_empty() {
        request = request.header(header::COOKIE, cookies);
    }
    if let Some(site) = fetch_site {
        request = request.header("sec-fetch-site", site);
    }
    request.body(Body::from(body)).unwrap()
}

// Issue 14: in the demo, a fresh browser opening /login was logged in as the leader by that very visit, its form
// had no CSRF token, and every login answered a raw JSON 403. Login works from any state now, and is still
// protected against login CSRF by its own token (OWASP: pre-session token for login forms) and Fetch Metadata.
testkit::db_test!(login_works_from_any_state_and_refuses_forged_forms, |db| {
    let config = AppConfig {
        demo: true,
        ..AppConfig::default()
    };
    let app = TestApp::with_config(db, config).await;
    let login_cookie = accounts::http::login_token_cookie(false);

    // A fresh browser: the login page does not log it in, and it carries the form's token in the form and in a
    // cookie.
    let page = app
        .send(
            Request::get("/login")
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        set_cookie(&page, "qs_session").is_none(),
        "opening /login logs nobody in"
    );
    let cookie = set_cookie(&page, login_cookie).expect("the login token's cookie");
    let token = form_token(&page.body);
    assert_eq!(cookie, format!("{login_cookie}={token}"));
    assert!(
        page.body.contains("以此身份登录"),
        "the demo accounts are listed"
    );
    let demo_buttons = page.body.matches(&format!("value=\"{token}\"")).count();
    assert!(
        demo_buttons > 5,
        "every demo-account button carries the token too"
    );

    let body = |username: &str, token: &str| {
        serde_urlencoded::to_string([
            ("_csrf", token),
            ("username", username),
            ("password", PASSWORD),
            ("next", "/alarms"),
        ])
        .unwrap()
    };
    let ok = app
        .send(login_post(
            &cookie,
            body("monitoring", &token),
            Some("same-origin"),
        ))
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(location(&ok), "/alarms");
    let first_session = set_cookie(&ok, "qs_session").expect("a session");

    // Already logged in (the demo's auto-login, or a login before): the login page says who, and logging in as
    // another user works and ends the first session.
    let signed_in = format!("{cookie}; {first_session}");
    let again = app
        .send(
            Request::get("/login")
                .header(header::COOKIE, &signed_in)
                .header(header::ACCEPT, "text/html")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(again.body.contains("已以"), "{}", again.body);
    assert_eq!(
        form_token(&again.body),
        token,
        "a second login tab shares the token"
    );
    let second = app
        .send(login_post(&signed_in, body("enforcement", &token), None))
        .await;
    assert_eq!(second.status, StatusCode::SEE_OTHER, "{}", second.body);
    let me = app
        .send(
            Request::get("/api/v1/me")
                .header(header::COOKIE, &first_session)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        me.status,
        StatusCode::UNAUTHORIZED,
        "the replaced session ended"
    );

    // An expired session's cookie is no obstacle either.
    let expired = format!("{cookie}; qs_session=no-such-session");
    let reply = app
        .send(login_post(
            &expired,
            body("petition", &token),
            Some("same-origin"),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);

    // Refused, with a fresh login page (HTML, Chinese, a new token) and no session: no token, a token that is not
    // the cookie's, no cookie (an attacker's page cannot read or set it), and a post from another site.
    for (what, cookies, token, site) in [
        ("no token", cookie.clone(), String::new(), None),
        (
            "a token not the cookie's",
            cookie.clone(),
            kernel::password::random_secret(),
            None,
        ),
        ("no cookie", String::new(), token.clone(), None),
        (
            "another site",
            cookie.clone(),
            token.clone(),
            Some("cross-site"),
        ),
        (
            "a sibling subdomain",
            cookie.clone(),
            token.clone(),
            Some("same-site"),
        ),
    ] {
        let reply = app
            .send(login_post(&cookies, body("admin", &token), site))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{what}: {}",
            reply.body
        );
        assert!(reply.content_type().starts_with("text/html"), "{what}");
        assert!(
            reply.body.contains("登录页面已过期"),
            "{what}: {}",
            reply.body
        );
        assert!(set_cookie(&reply, "qs_session").is_none(), "{what}");
        assert!(set_cookie(&reply, login_cookie).is_some(), "{what}");
    }
});

// A stale logout form (the user logged in again in another tab since) still logs out when the browser says it
// comes from our page; without that header the session's token is needed as for any form.
testkit::db_test!(a_stale_logout_from_our_page_still_logs_out, |db| {
    let app = TestApp::new(db).await;
    let session = app.session(Role::Leader).await;
    let logout = |site: Option<&str>| {
        let mut request = Request::post("/logout")
            .header(header::COOKIE, &session.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        request.body(Body::from("_csrf=stale")).unwrap()
    };
    let refused = app.send(logout(Some("cross-site"))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.content_type().starts_with("text/html"));
    assert!(refused.body.contains("安全校验未通过"), "{}", refused.body);
    let refused = app.send(logout(None)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let done = app.send(logout(Some("same-origin"))).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(location(&done), "/login");
});
