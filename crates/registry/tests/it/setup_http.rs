//! First-run setup over HTTP, on an installation as `qingshan serve` finds a new data directory: the start page
//! sends the administrator to /setup and tells everyone else in Chinese; the page and `POST /api/v1/district`
//! set the district once (admin only; problem+json naming the field; 409 for another district); the
//! organisation file is uploaded, previewed and confirmed.

use axum::body::Body;
use http::{Request, StatusCode, header};
use kernel::Role;
use webtest::{Session, TestApp};

use crate::setup::workbook;

fn form(session: &Session, path: &str, pairs: &[(&str, &str)]) -> Request<Body> {
    let mut all = vec![("_csrf", session.csrf.as_str())];
    all.extend_from_slice(pairs);
    Request::post(path)
        .header(header::COOKIE, &session.cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(serde_urlencoded::to_string(all).unwrap()))
        .unwrap()
}

fn page(session: &Session, path: &str) -> Request<Body> {
    Request::get(path)
        .header(header::COOKIE, &session.cookie)
        .body(Body::empty())
        .unwrap()
}

fn upload(session: &Session, file_name: &str, bytes: &[u8], kind: &str) -> Request<Body> {
    let boundary = "----qingshan-test-boundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n--{boundary}\r\n\
             Content-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Request::post(format!(
        "/registry/organisation/import?_csrf={}",
        session.csrf
    ))
    .header(header::COOKIE, &session.cookie)
    .header(
        header::CONTENT_TYPE,
        format!("multipart/form-data; boundary={boundary}"),
    )
    .body(Body::from(body))
    .unwrap()
}

fn has_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

testkit::db_test!(the_start_page_sends_the_administrator_to_setup, |db| {
    let app = TestApp::uninitialised(db.clone()).await;
    let admin = app.session(Role::Admin).await;
    let start = app.send(page(&admin, "/")).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    assert_eq!(start.headers[header::LOCATION], "/setup");

    for role in [Role::Leader, Role::Monitoring, Role::Public] {
        let session = app.session(role).await;
        let start = app.send(page(&session, "/")).await;
        assert_eq!(start.status, StatusCode::OK, "{role:?}");
        assert!(
            start.body.contains("系统尚未完成初始设置"),
            "{role:?}: {}",
            start.body
        );
        let setup = app.send(page(&session, "/setup")).await;
        assert_eq!(setup.status, StatusCode::FORBIDDEN, "{role:?}");
        assert!(setup.content_type().starts_with("text/html"));
        assert!(
            setup.body.contains("系统尚未完成初始设置"),
            "{}",
            setup.body
        );
        let post = app
            .send(form(
                &session,
                "/setup",
                &[("code", "120110"), ("name", "东丽区"), ("city", "天津市")],
            ))
            .await;
        assert_eq!(post.status, StatusCode::FORBIDDEN, "{role:?}");
        assert!(has_chinese(&post.body));
    }
    assert!(
        registry::service::the_district(&db)
            .await
            .unwrap()
            .is_none()
    );

    let form_page = app.send(page(&admin, "/setup")).await;
    assert_eq!(form_page.status, StatusCode::OK);
    assert!(
        form_page.body.contains("行政区划代码"),
        "{}",
        form_page.body
    );

    let bad = app
        .send(form(
            &admin,
            "/setup",
            &[("code", "1201"), ("name", "东丽区"), ("city", "天津市")],
        ))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("应为 6 位数字"), "{}", bad.body);
    assert!(bad.body.contains("value=\"1201\""), "the typed value stays");

    let good = app
        .send(form(
            &admin,
            "/setup",
            &[("code", "120110"), ("name", "东丽区"), ("city", "天津市")],
        ))
        .await;
    assert_eq!(good.status, StatusCode::SEE_OTHER, "{}", good.body);
    assert_eq!(good.headers[header::LOCATION], "/setup?done=created");
    let done = app.send(page(&admin, "/setup?done=created")).await;
    assert!(done.body.contains("辖区已设置"), "{}", done.body);
    assert!(done.body.contains("天津市东丽区"));
    assert!(
        !done.body.contains("name=\"code\""),
        "the district form is gone once set up"
    );
    assert!(done.body.contains("/registry/organisation/template.xlsx"));

    let again = app
        .send(form(
            &admin,
            "/setup",
            &[("code", "120110"), ("name", "东丽区"), ("city", "天津市")],
        ))
        .await;
    assert_eq!(again.headers[header::LOCATION], "/setup?done=unchanged");
    let other = app
        .send(form(
            &admin,
            "/setup",
            &[("code", "120111"), ("name", "西青区"), ("city", "天津市")],
        ))
        .await;
    assert_eq!(other.status, StatusCode::CONFLICT);
    assert!(
        other.body.contains("本系统已初始化为 天津市东丽区"),
        "{}",
        other.body
    );
    assert_eq!(
        registry::service::the_district(&db)
            .await
            .unwrap()
            .unwrap()
            .code,
        "120110"
    );

    let start = app.send(page(&admin, "/")).await;
    assert_eq!(start.status, StatusCode::OK, "the dashboard once set up");
    let leader = app.session(Role::Leader).await;
    let setup = app.send(page(&leader, "/setup")).await;
    assert_eq!(setup.status, StatusCode::FORBIDDEN);
    assert!(setup.body.contains("只能由系统管理员"), "{}", setup.body);
});

testkit::db_test!(the_district_api_is_idempotent_and_refuses_another, |db| {
    let app = TestApp::uninitialised(db.clone()).await;
    let admin = app.token(Role::Admin).await;
    let leader = app.token(Role::Leader).await;
    let missing = app.get_with_token("/api/v1/district", &leader).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.content_type(), "application/problem+json");

    let body = r#"{"code":"120110","name":"东丽区","city":"天津市"}"#;
    let forbidden = app
        .json_with_token("POST", "/api/v1/district", &leader, body)
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert_eq!(forbidden.content_type(), "application/problem+json");

    for (bad, field) in [
        (
            r#"{"code":"12011","name":"东丽区","city":"天津市"}"#,
            "code",
        ),
        (
            r#"{"code":"120110","name":"Dongli","city":"天津市"}"#,
            "name",
        ),
        (r#"{"code":"120110","name":"东丽区"}"#, "city"),
    ] {
        let reply = app
            .json_with_token("POST", "/api/v1/district", &admin, bad)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            reply.body
        );
        assert_eq!(reply.content_type(), "application/problem+json");
        assert_eq!(reply.json()["field"], field, "{bad}: {}", reply.body);
    }

    let created = app
        .json_with_token("POST", "/api/v1/district", &admin, body)
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.json()["code"], "120110");
    let same = app
        .json_with_token("POST", "/api/v1/district", &admin, body)
        .await;
    assert_eq!(same.status, StatusCode::OK);
    let other = app
        .json_with_token(
            "POST",
            "/api/v1/district",
            &admin,
            r#"{"code":"120111","name":"西青区","city":"天津市"}"#,
        )
        .await;
    assert_eq!(other.status, StatusCode::CONFLICT);
    assert_eq!(other.content_type(), "application/problem+json");
    let read = app.get_with_token("/api/v1/district", &leader).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json()["name"], "东丽区");

    // Streets can be added one by one now (before, the API answered "no district is configured yet").
    let street = app
        .json_with_token(
            "POST",
            "/api/v1/streets",
            &admin,
            r#"{"code":"120110001000","name":"张贵庄街道"}"#,
        )
        .await;
    assert_eq!(street.status, StatusCode::CREATED, "{}", street.body);
});

testkit::db_test!(
    the_organisation_file_is_uploaded_previewed_and_confirmed,
    |db| {
        let app = TestApp::uninitialised(db.clone()).await;
        let admin = app.session(Role::Admin).await;
        app.send(form(
            &admin,
            "/setup",
            &[("code", "120110"), ("name", "东丽区"), ("city", "天津市")],
        ))
        .await;

        let template = app
            .send(page(&admin, "/registry/organisation/template.xlsx"))
            .await;
        assert_eq!(template.status, StatusCode::OK);
        assert!(
            template.headers[header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .contains("filename*=UTF-8''")
        );
        let csv = app
            .send(page(&admin, "/registry/organisation/template-streets.csv"))
            .await;
        assert!(
            csv.body.contains("名称,代码,中心经度,中心纬度"),
            "{}",
            csv.body
        );

        let bad = workbook(
            &[
                &["张贵庄街道", "120110001000", "", ""],
                &["华明街道", "12011000600", "", ""],
            ],
            &[&["城管委", "兄弟单位", "", ""]],
        );
        let preview = app.send(upload(&admin, "街道与部门.xlsx", &bad, "")).await;
        assert_eq!(
            preview.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            preview.body
        );
        assert!(
            preview.body.contains("没有导入任何数据"),
            "{}",
            preview.body
        );
        assert!(
            preview
                .body
                .contains("<td>街道</td><td>3</td><td>代码</td>"),
            "{}",
            preview.body
        );
        assert!(
            preview
                .body
                .contains("<td>部门</td><td>2</td><td>类别</td>"),
            "{}",
            preview.body
        );
        assert!(!preview.body.contains("确认导入"));
        assert!(registry::service::streets(&db).await.unwrap().is_empty());

        let good = workbook(
            &[
                &["张贵庄街道", "120110001000", "117.305", "39.103"],
                &["华明街道", "120110006000", "", ""],
            ],
            &[&["城市管理委员会", "外部门", "", "餐饮油烟"]],
        );
        let preview = app.send(upload(&admin, "街道与部门.xlsx", &good, "")).await;
        assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
        assert!(preview.body.contains("确认导入"), "{}", preview.body);
        assert!(
            registry::service::streets(&db).await.unwrap().is_empty(),
            "a preview writes nothing"
        );
        let digest = preview
            .body
            .split("name=\"digest\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_string();
        let confirmed = app
            .send(form(
                &admin,
                "/registry/organisation/import/confirm",
                &[
                    ("digest", &digest),
                    ("file_name", "街道与部门.xlsx"),
                    ("kind", ""),
                ],
            ))
            .await;
        assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
        assert!(
            confirmed.body.contains("已导入：街道新增 2"),
            "{}",
            confirmed.body
        );
        assert_eq!(registry::service::streets(&db).await.unwrap().len(), 2);
        assert_eq!(registry::service::departments(&db).await.unwrap().len(), 1);

        let again = app.send(upload(&admin, "街道与部门.xlsx", &good, "")).await;
        assert!(again.body.contains("无需导入"), "{}", again.body);
        assert!(!again.body.contains("确认导入"));

        let stale = app
            .send(form(
                &admin,
                "/registry/organisation/import/confirm",
                &[("digest", &digest)],
            ))
            .await;
        assert!(stale.body.contains("请重新上传"), "{}", stale.body);
        let forged = app
            .send(form(
                &admin,
                "/registry/organisation/import/confirm",
                &[("digest", "../../etc/passwd")],
            ))
            .await;
        assert_eq!(forged.status, StatusCode::UNPROCESSABLE_ENTITY);

        let leader = app.session(Role::Leader).await;
        let refused = app
            .send(upload(&leader, "街道与部门.xlsx", &good, ""))
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(has_chinese(&refused.body));
    }
);
