//! Issued bulletins (签发): issuing stores the month's bulletin as a document; a later correction of the data
//! leaves it unchanged byte for byte while the draft computation moves on; the issuer sees that the data differ
//! and reissues a version 2, and version 1 stays reachable. Who may issue, and bad months.

use axum::body::Body;
use http::{Request, StatusCode, header};
use kernel::Role;
use kernel::time::{cst_day, cst_day_start, now_ts};
use readings::audit::NewCorrection;
use readings::model::Period;
use webtest::TestApp;

use crate::fixture::{self, date};
use crate::http::{pdf_text, raw};

const ISSUES: &str = "/api/v1/rankings/bulletin/issues";

/// Everything an issued month serves: the API's figures, the XLSX, the PDF (as bytes) and the page.
async fn served(app: &TestApp, token: &str, query: &str) -> [Vec<u8>; 4] {
    let mut parts = Vec::new();
    for path in [
        "/api/v1/rankings/bulletin",
        "/api/v1/rankings/bulletin.xlsx",
        "/api/v1/rankings/bulletin.pdf",
        "/rankings/bulletin",
    ] {
        let (status, _, bytes) = raw(app, &format!("{path}?{query}"), token).await;
        assert_eq!(status, StatusCode::OK, "{path}?{query}");
        parts.push(bytes);
    }
    parts.try_into().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

testkit::db_test!(issued_bulletins_are_documents, |db| {
    let app = TestApp::new(db.clone()).await;
    let f = fixture::build(&db).await;
    let monitor = app.token(Role::Monitoring).await;
    let leader = app.token(Role::Leader).await;
    let issue = |token: String, body: &'static str| {
        let app = &app;
        async move { app.json_with_token("POST", ISSUES, &token, body).await }
    };
    let march = r#"{"month":"2025-03"}"#;

    // Who may issue: the monitoring department and the administrator; the others read.
    for role in [
        Role::StreetOfficer,
        Role::Leader,
        Role::Enforcement,
        Role::Public,
    ] {
        let reply = issue(app.token(role).await, march).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{role:?}: {}",
            reply.body
        );
    }
    // Bad months are 422s naming the field; so is a month that is not over.
    let running = bulletins::model::Month::of(cst_day(now_ts())).key();
    for bad in [
        r#"{"month":"2025-13"}"#.to_string(),
        r#"{"month":"March"}"#.to_string(),
        format!(r#"{{"month":"{running}"}}"#),
    ] {
        let reply = app.json_with_token("POST", ISSUES, &monitor, &bad).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            reply.body
        );
        assert_eq!(reply.json()["field"], "month", "{bad}");
    }
    let reply = app
        .get_with_token(&format!("{ISSUES}?month=2025-3"), &leader)
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json()["field"], "month");

    // Not issued: the draft, computed, marked as such; only the issuer gets the button.
    let page = app
        .get_with_token("/rankings/bulletin?month=2025-03", &leader)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("草稿 · 未发布"), "{}", page.body);
    assert!(!page.body.contains("签发本月通报"));
    let page = app
        .get_with_token("/rankings/bulletin?month=2025-03", &monitor)
        .await;
    assert!(page.body.contains("签发本月通报"));
    let list = app
        .get_with_token(&format!("{ISSUES}?month=2025-03"), &monitor)
        .await
        .json();
    assert_eq!(list["versions"].as_array().unwrap().len(), 0);
    assert!(list["current_differs"].is_null());

    // Issue: version 1, the first number of the year of issue.
    let year = cst_day(now_ts()).format("%Y").to_string();
    let reply = issue(monitor.clone(), march).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let v1 = reply.json();
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["month"], "2025-03");
    assert_eq!(v1["number"], format!("东丽环通〔{year}〕1号"));
    assert_eq!(v1["issued_by"], TestApp::username(Role::Monitoring));
    let issued_on = v1["issued_on"].as_str().unwrap().to_string();
    assert_eq!(issued_on, cst_day(now_ts()).to_string());

    let first = served(&app, &leader, "month=2025-03").await;
    let figures: serde_json::Value = serde_json::from_slice(&first[0]).unwrap();
    assert_eq!(figures["ranking"]["month"], "2025-03");
    let b_row = |figures: &serde_json::Value| {
        figures["ranking"]["water"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["street_id"] == f.b)
            .unwrap()["now"]["cwqi"]
            .clone()
    };
    let cwqi_issued = b_row(&figures);
    assert!(cwqi_issued.is_number(), "{figures}");
    assert!(first[1].starts_with(b"PK"), "an XLSX is a zip");
    assert!(first[2].starts_with(b"%PDF-"));
    // Every form carries the number and the date: the PDF under its title, the workbook in each sheet's title.
    let number = format!("东丽环通〔{year}〕1号");
    let pdf = pdf_text(&first[2]);
    assert!(pdf.contains(&number), "{pdf}");
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(first[1].clone())).unwrap();
    let sheet_title = calamine::Reader::worksheet_range(&mut book, "空气排名")
        .unwrap()
        .get_value((0, 0))
        .unwrap()
        .to_string();
    assert!(sheet_title.contains(&number), "{sheet_title}");
    let page = text(&first[3]);
    assert!(page.contains("已发布"), "{page}");
    assert!(page.contains(&format!("东丽环通〔{year}〕1号")));
    assert!(page.contains(&issued_on));
    assert!(!page.contains("草稿"));
    // The issuer by name, with the username beside it.
    let issuer = format!(
        "签发人 测试{}（{}）",
        Role::Monitoring.label(),
        TestApp::username(Role::Monitoring)
    );
    assert!(page.contains(&issuer), "{page}");
    // The reader is not told about the data (no computation for them); the issuer is, and they agree now.
    assert!(!page.contains("当前数据"));
    let list = app
        .get_with_token(&format!("{ISSUES}?month=2025-03"), &leader)
        .await
        .json();
    assert!(list["current_differs"].is_null());
    assert_eq!(list["versions"][0]["number"], v1["number"]);
    let list = app
        .get_with_token(&format!("{ISSUES}?month=2025-03"), &monitor)
        .await
        .json();
    assert_eq!(list["current_differs"], false);

    // A correction through the readings service: 乙's section S3, COD of 5 March 2025 40 → 10 mg/L.
    let s3: i64 = sqlx::query_scalar("SELECT id FROM monitoring_points WHERE code = 'S3'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    let auditor = crate::principal(Role::Monitoring, None);
    readings::service::correct(
        &db,
        &auditor,
        s3,
        &NewCorrection {
            period: Period::Day,
            ts: cst_day_start(date(2025, 3, 5)),
            factor: "w01018".into(),
            value: Some(10.0),
            invalid: false,
            reason: "实验室复核".into(),
        },
    )
    .await
    .unwrap();
    let ranking = app
        .get_with_token("/api/v1/rankings?month=2025-03", &leader)
        .await
        .json();
    let fresh = ranking["water"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["street_id"] == f.b)
        .unwrap()["now"]["cwqi"]
        .clone();
    assert_ne!(fresh, cwqi_issued, "the correction changes the computation");

    // The issued bulletin is unchanged, byte for byte, in every form.
    let again = served(&app, &leader, "month=2025-03").await;
    for (i, (before, after)) in first.iter().zip(&again).enumerate() {
        assert!(before == after, "part {i} changed after a data correction");
    }
    // The issuer is told that the data differ and may reissue.
    let page = app
        .get_with_token("/rankings/bulletin?month=2025-03", &monitor)
        .await;
    assert!(
        page.body.contains("当前数据与已发布版本所依据的数据不一致"),
        "{}",
        page.body
    );
    assert!(page.body.contains("签发新版本"));
    let list = app
        .get_with_token(&format!("{ISSUES}?month=2025-03"), &monitor)
        .await
        .json();
    assert_eq!(list["current_differs"], true);

    // Reissue: version 2 with the next number; version 1 is kept and reachable.
    let reply = issue(monitor.clone(), march).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let v2 = reply.json();
    assert_eq!(v2["version"], 2);
    assert_eq!(v2["number"], format!("东丽环通〔{year}〕2号"));
    assert_ne!(v2["digest"], v1["digest"]);
    let newest = served(&app, &leader, "month=2025-03").await;
    let figures: serde_json::Value = serde_json::from_slice(&newest[0]).unwrap();
    assert_eq!(b_row(&figures), fresh);
    let page = text(&newest[3]);
    assert!(page.contains("第 2 版"));
    assert!(page.contains("month=2025-03&amp;version=1"), "{page}");
    let old = served(&app, &leader, "month=2025-03&version=1").await;
    for (i, (before, after)) in first.iter().zip(&old).take(3).enumerate() {
        assert!(
            before == after,
            "version 1, part {i} changed by the reissue"
        );
    }
    assert!(text(&old[3]).contains("此为历史版本"));
    let list = app
        .get_with_token(&format!("{ISSUES}?month=2025-03"), &monitor)
        .await
        .json();
    let versions: Vec<i64> = list["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [2, 1]);
    assert_eq!(list["current_differs"], false);
    let reply = app
        .get_with_token("/api/v1/rankings/bulletin?month=2025-03&version=3", &leader)
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    // Each issue is in the audit log.
    let audits: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE entity = 'bulletin' AND action = 'issue'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(audits, 2);
});

testkit::db_test!(the_issue_button_issues_with_the_set_number_format, |db| {
    let app = TestApp::new(db).await;
    let monitor = app.token(Role::Monitoring).await;
    // The number format is a setting: a bad one is refused naming the field.
    for bad in ["环通〔{year}〕号", "{seq}{seq}", "{seq}{month}"] {
        let body = format!(
            r#"{{"air_preset":"tianjin_2021","water_preset":"cwqi_status","number_format":"{bad}"}}"#
        );
        let reply = app
            .json_with_token("PUT", "/api/v1/rankings/settings", &monitor, &body)
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(reply.json()["field"], "number_format");
    }
    let reply = app
        .json_with_token(
            "PUT",
            "/api/v1/rankings/settings",
            &monitor,
            r#"{"air_preset":"tianjin_2021","water_preset":"cwqi_status","number_format":"东丽环报〔{year}〕第{seq}期"}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // Changing the weighting without naming a format keeps it.
    let reply = app
        .json_with_token(
            "PUT",
            "/api/v1/rankings/settings",
            &monitor,
            r#"{"air_preset":"tianjin_2021","water_preset":"cwqi_status"}"#,
        )
        .await;
    assert_eq!(reply.json()["number_format"], "东丽环报〔{year}〕第{seq}期");

    // The page's form: a street officer is refused, the monitoring department issues and is shown the result.
    let post = |role: Role| {
        let app = &app;
        async move {
            let session = app.session(role).await;
            app.send(
                Request::post("/rankings/bulletin/issue")
                    .header(header::COOKIE, session.cookie)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(format!("month=2025-02&_csrf={}", session.csrf)))
                    .unwrap(),
            )
            .await
        }
    };
    assert_eq!(
        post(Role::StreetOfficer).await.status,
        StatusCode::FORBIDDEN
    );
    let reply = post(Role::Monitoring).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(
        reply.headers[header::LOCATION],
        "/rankings/bulletin?month=2025-02"
    );
    let year = cst_day(now_ts()).format("%Y").to_string();
    let session = app.session(Role::Leader).await;
    let page = app.page(&session, "/rankings/bulletin?month=2025-02").await;
    assert!(
        page.body.contains(&format!("东丽环报〔{year}〕第1期")),
        "{}",
        page.body
    );
    assert!(page.body.contains("已发布"));
});
