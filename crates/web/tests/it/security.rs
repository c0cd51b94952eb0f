//! The browser security headers on every kind of response, and the templates' side of the
//! Content-Security-Policy: no inline script, no `on…=` handler, no `javascript:` URL (issue 12, stored XSS).

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kernel::Role;

use crate::app::TestApp;

/// The policy (crates/web/src/security.rs says why each directive): written out here so that a change to it
/// is a change to this test too.
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; \
    form-action 'self'; frame-ancestors 'none'";

/// The four headers with the values `web::security` promises.
fn assert_security_headers(what: &str, reply: &crate::app::Reply) {
    let get = |name: header::HeaderName| {
        reply
            .headers
            .get(&name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what} ({}): no {name} header", reply.status))
            .to_string()
    };
    let csp = get(header::CONTENT_SECURITY_POLICY);
    assert_eq!(csp, POLICY, "{what}");
    // What the policy must say whatever its exact text: only our script files, no framing.
    let directive = |name: &str| {
        csp.split(';')
            .map(str::trim)
            .find(|d| d.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{what}: no {name} in {csp}"))
            .to_string()
    };
    assert_eq!(directive("script-src"), "script-src 'self'", "{what}");
    assert_eq!(directive("object-src"), "object-src 'none'", "{what}");
    assert_eq!(
        directive("frame-ancestors"),
        "frame-ancestors 'none'",
        "{what}"
    );
    assert_eq!(get(header::X_FRAME_OPTIONS), "DENY", "{what}");
    assert_eq!(get(header::X_CONTENT_TYPE_OPTIONS), "nosniff", "{what}");
    assert_eq!(get(header::REFERRER_POLICY), "same-origin", "{what}");
}

fn get(path: &str) -> axum::http::request::Builder {
    Request::get(path)
}

testkit::db_test!(every_kind_of_response_carries_the_security_headers, |db| {
    let app = TestApp::new(db).await;
    let session = app.session(Role::Leader).await;
    let token = app.token(Role::Admin).await;
    let html = "text/html,application/xhtml+xml";

    let asset = app
        .send(get("/assets/app.js").body(Body::empty()).unwrap())
        .await;
    let etag = asset.headers.get(header::ETAG).cloned().unwrap();
    let huge = vec![b'x'; 9 * 1024 * 1024];
    let huge_length = huge.len().to_string();
    let cases: Vec<(&str, Request<Body>, StatusCode)> = vec![
        (
            "a page",
            get("/")
                .header(header::COOKIE, &session.cookie)
                .header(header::ACCEPT, html)
                .body(Body::empty())
                .unwrap(),
            StatusCode::OK,
        ),
        (
            "the login page",
            get("/login").body(Body::empty()).unwrap(),
            StatusCode::OK,
        ),
        (
            "a page's redirect to the login",
            get("/alarms")
                .header(header::ACCEPT, html)
                .body(Body::empty())
                .unwrap(),
            StatusCode::SEE_OTHER,
        ),
        (
            "the HTML 404 page",
            get("/no/such/page")
                .header(header::COOKIE, &session.cookie)
                .header(header::ACCEPT, html)
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            "an HTML error page (a record that is not there)",
            get("/stations/999999")
                .header(header::COOKIE, &session.cookie)
                .header(header::ACCEPT, html)
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            "API JSON",
            get("/api/v1/me")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
            StatusCode::OK,
        ),
        (
            "an API 401 problem",
            get("/api/v1/me").body(Body::empty()).unwrap(),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "an API 404 problem",
            get("/api/v1/enterprises/999999")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_FOUND,
        ),
        (
            "an API 422 problem",
            Request::post("/api/v1/streets")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(r#"{"code":"x","name":""}"#))
                .unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "a CSRF refusal",
            Request::post("/api/v1/streets")
                .header(header::COOKIE, &session.cookie)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap(),
            StatusCode::FORBIDDEN,
        ),
        (
            "the body limit's refusal",
            Request::post("/api/v1/streets")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CONTENT_LENGTH, huge_length)
                .body(Body::from(huge))
                .unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "the OpenAPI document",
            get("/api/v1/openapi.json").body(Body::empty()).unwrap(),
            StatusCode::OK,
        ),
        (
            "the health check",
            get("/healthz").body(Body::empty()).unwrap(),
            StatusCode::OK,
        ),
        (
            "our asset",
            get("/assets/app.js").body(Body::empty()).unwrap(),
            StatusCode::OK,
        ),
        (
            "an asset not modified",
            get("/assets/app.js")
                .header(header::IF_NONE_MATCH, etag)
                .body(Body::empty())
                .unwrap(),
            StatusCode::NOT_MODIFIED,
        ),
        (
            "a vendored asset",
            get("/assets/vendor/echarts.min.js")
                .body(Body::empty())
                .unwrap(),
            StatusCode::OK,
        ),
        (
            "a missing asset",
            get("/assets/nothing.js").body(Body::empty()).unwrap(),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (what, request, status) in cases {
        let reply = app.send(request).await;
        assert_eq!(reply.status, status, "{what}: {}", reply.body);
        assert_security_headers(what, &reply);
    }
    assert_security_headers("the asset fetched first", &asset);
});

// ------------------------------------------------------------------------------------------------------------
// The templates
// ------------------------------------------------------------------------------------------------------------

/// Every file under every crate's `templates/`.
fn template_files() -> Vec<PathBuf> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&crates)
        .unwrap()
        .map(|e| e.unwrap().path().join("templates"))
        .filter(|p| p.is_dir())
        .collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The tags of an HTML template (`<name …>` up to its `>`, with askama's `{{ }}` and `{% %}` inside a tag
/// skipped over, since they may hold a `>`), lowercased.
fn tags(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'<' && bytes.get(i + 1).is_some_and(|b| b.is_ascii_alphabetic()) {
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i] != b'>' {
                if bytes[i] == b'{' && matches!(bytes.get(i + 1), Some(b'{' | b'%' | b'#')) {
                    let close = match bytes[i + 1] {
                        b'{' => "}}",
                        b'%' => "%}",
                        _ => "#}",
                    };
                    i = text[i..].find(close).map_or(bytes.len(), |at| i + at + 2);
                } else {
                    i += 1;
                }
            }
            out.push(text[start..i.min(bytes.len())].to_lowercase());
        }
        i += 1;
    }
    out
}

/// What the policy would refuse, or what needs script from text, in one template's source.
fn violations(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let lower = text.to_lowercase();
    for tag in tags(text) {
        let name: String = tag[1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        if name == "script" {
            let data = tag.contains(r#"type="application/json""#);
            let file = tag.contains(r#"src="/assets/"#);
            if !data && !file {
                found.push(format!("inline script: {tag}>"));
            }
        }
        // An attribute named on… (onclick=, onsubmit=, …): an event handler is inline script.
        let chars: Vec<char> = tag.chars().collect();
        for at in 1..chars.len() {
            if chars[at - 1].is_whitespace() && chars[at] == 'o' && chars.get(at + 1) == Some(&'n')
            {
                let rest: String = chars[at + 2..].iter().collect();
                let letters = rest.chars().take_while(char::is_ascii_alphabetic).count();
                if letters > 0 && rest[letters..].trim_start().starts_with('=') {
                    found.push(format!("event handler attribute: {tag}>"));
                }
            }
        }
        // htmx's attributes that evaluate text as script.
        if tag.contains("hx-on") || tag.contains("hx-vars") || tag.contains("js:") {
            found.push(format!("htmx script attribute: {tag}>"));
        }
    }
    // A script element that is not a data block or a file must be empty: its body would run inline.
    let mut rest = lower.as_str();
    while let Some(open) = rest.find("<script") {
        let after = &rest[open..];
        let Some(end_of_tag) = after.find('>') else {
            break;
        };
        let tag = &after[..end_of_tag];
        let body_and_more = &after[end_of_tag + 1..];
        let body = &body_and_more[..body_and_more.find("</script>").unwrap_or(0)];
        if !tag.contains(r#"type="application/json""#) && !body.trim().is_empty() {
            found.push(format!("script element with a body: {tag}>"));
        }
        rest = body_and_more;
    }
    if lower.contains("javascript:") {
        found.push("a javascript: URL".to_string());
    }
    found
}

#[test]
fn the_checker_finds_what_the_policy_refuses() {
    let bad = [
        "<script>alert(1)</script>",
        r#"<script src="/assets/app.js">alert(1)</script>"#,
        r#"<script type="module">x()</script>"#,
        r#"<button onclick="go()">x</button>"#,
        r#"<form method="post" ONSUBMIT = "return confirm('x')">"#,
        r#"<select name="y" {% if a > b %}class="x"{% endif %} onchange="this.form.submit()">"#,
        r#"<a href="javascript:history.back()">back</a>"#,
        r#"<div hx-on:click="alert(1)"></div>"#,
        r#"<div hx-vals='js:{a: b()}'></div>"#,
    ];
    for text in bad {
        assert!(!violations(text).is_empty(), "not caught: {text}");
    }
    let good = [
        r#"<script src="/assets/app.js" defer></script>"#,
        r#"<script type="application/json" id="d">{"a":"<\/script>"}</script>"#,
        r#"<select name="year" data-autosubmit><option>2026</option></select>"#,
        r#"<p>Notes on x=1 and onion rings</p>"#,
        r#"<input name="online" value="{{ x }}">"#,
    ];
    for text in good {
        assert_eq!(violations(text), Vec::<String>::new(), "{text}");
    }
}

#[test]
fn no_template_has_inline_script_or_event_handlers() {
    let files = template_files();
    assert!(
        files.len() > 40,
        "the templates were not found: {} files",
        files.len()
    );
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for v in violations(&text) {
            problems.push(format!("{}: {v}", file.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "the Content-Security-Policy runs no inline script: move scripts into crates/web/assets/ (loaded with \
         <script src=\"/assets/…\" defer>), pass data as <script type=\"application/json\"> or data-* \
         attributes, and use app.js's data-* behaviours instead of on…= handlers:\n{}",
        problems.join("\n")
    );
}

#[test]
fn every_script_a_template_loads_is_an_asset() {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let mut missing = Vec::new();
    for file in template_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for tag in tags(&text) {
            if let Some(at) = tag.find(r#"src="/assets/"#) {
                let path = &tag[at + r#"src="/assets/"#.len()..];
                let path = &path[..path.find('"').unwrap_or(path.len())];
                if !assets.join(path).is_file() {
                    missing.push(format!("{}: /assets/{path}", file.display()));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "scripts not in crates/web/assets: {missing:?}"
    );
}
