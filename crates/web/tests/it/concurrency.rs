//! Concurrent writers over every write path of the API, while another writer (as the HJ 212 gateway does)
//! holds the write lock again and again. On SQLite a transaction opened with a plain (deferred) `BEGIN` fails at
//! once with "database is locked" when it must upgrade to a write while another connection writes: 83 of 200
//! concurrent complaint intakes were 500s before every write went through `Db::begin_write`. Here no request may
//! end in a 5xx, and every write that should succeed does.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kernel::Role;
use serde_json::{Value, json};

use crate::app::TestApp;

/// Copies of each write that run at once.
const CONCURRENT: usize = 8;

/// A valid USCC in Dongli (division 120110) built from a number.
fn uscc(n: usize) -> String {
    registry::model::Uscc::with_check_char(&format!("91120110MB{n:07}"))
        .expect("valid prefix")
        .to_string()
}

struct Call {
    method: &'static str,
    path: String,
    body: Option<Value>,
    /// The status this write gets when nothing else is going on.
    expect: StatusCode,
}

fn call(method: &'static str, path: impl Into<String>, body: Value, expect: StatusCode) -> Call {
    Call {
        method,
        path: path.into(),
        body: Some(body),
        expect,
    }
}

async fn send(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, String) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    let reply = app.send(request).await;
    (reply.status, reply.body)
}

async fn created_id(app: &TestApp, token: &str, path: &str, body: Value) -> i64 {
    let (status, body) = send(app, token, "POST", path, Some(&body)).await;
    assert!(status.is_success(), "{path}: {status} {body}");
    serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("{path}: no id in {body}"))
}

fn multipart_png() -> (String, Vec<u8>) {
    let boundary = "qingshan-concurrency-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.png\"\r\nContent-Type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR fake but signed");
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

testkit::db_test!(concurrent_writers_never_fail_with_a_server_error, |db| {
    let app = Arc::new(TestApp::new(db).await);
    let admin = app.token(Role::Admin).await;
    let street = app.street_a;

    // What the writes refer to, made before the storm.
    let enterprise = created_id(
        &app,
        &admin,
        "/api/v1/enterprises",
        json!({"uscc": uscc(1), "name": "并发测试企业", "industry_code": "C3120", "industry_name": "炼钢",
               "street_id": street, "address": "东丽区测试路1号"}),
    )
    .await;
    let site = created_id(
        &app,
        &admin,
        &format!("/api/v1/enterprises/{enterprise}/sites"),
        json!({"name": "厂区", "address": "东丽区测试路1号", "street_id": street}),
    )
    .await;
    let outlet = created_id(
        &app,
        &admin,
        &format!("/api/v1/enterprises/{enterprise}/outlets"),
        json!({"code": "DA001", "name": "烧结机头", "kind": "main", "medium": "gas", "site_id": site,
               "online_monitored": true}),
    )
    .await;
    let point = created_id(
        &app,
        &admin,
        "/api/v1/points",
        json!({"code": "C-AIR", "name": "并发测试站", "kind": "air_station", "level": "micro",
               "street_id": street, "owner": "东丽区生态环境局"}),
    )
    .await;
    let department = created_id(
        &app,
        &admin,
        "/api/v1/departments",
        json!({"code": "c-dept", "name": "并发测试科", "kind": "bureau"}),
    )
    .await;
    let complaint_body = |n: usize| {
        json!({"channel": "hotline_12369", "category": "odour", "title": format!("并发投诉{n}"),
               "description": "夜间异味", "street_id": street, "reporter_name": "王五",
               "reporter_phone": "13800000000"})
    };
    let mut complaints = Vec::new();
    for n in 0..CONCURRENT {
        complaints
            .push(created_id(&app, &admin, "/api/v1/complaints", complaint_body(1000 + n)).await);
    }
    let day = 1_704_038_400; // 2024-01-01 00:00 CST
    // Hours for the corrections to correct (the pushes below write other hours).
    let hours: Vec<Value> = (0..CONCURRENT as i64)
        .map(|n| json!({"point_id": point, "factor": "a34004", "ts": day + 86_400 + n * 3600, "period": "hour",
                        "value": 35.0, "flag": "N"}))
        .collect();
    let (status, body) = send(
        &app,
        &admin,
        "POST",
        "/api/v1/readings",
        Some(&json!({"readings": hours})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Every write path, CONCURRENT copies of each, all at once.
    let mut calls: Vec<Call> = Vec::new();
    for (n, complaint) in complaints.iter().enumerate() {
        calls.push(call(
            "POST",
            "/api/v1/complaints",
            complaint_body(n),
            StatusCode::CREATED,
        ));
        calls.push(call(
            "POST",
            format!("/api/v1/complaints/{complaint}/actions"),
            json!({"action": "accept"}),
            StatusCode::OK,
        ));
        calls.push(call(
            "POST",
            "/api/v1/complaints/duty",
            json!({"duty_role": "officer", "person_name": format!("值班员{n}"), "phone": "13900000000",
                   "starts_at": day + n as i64 * 86_400, "ends_at": day + (n as i64 + 1) * 86_400}),
            StatusCode::CREATED,
        ));
        calls.push(call(
            "POST",
            "/api/v1/streets",
            json!({"code": format!("c{n}"), "name": format!("并发街道{n}")}),
            StatusCode::CREATED,
        ));
        calls.push(call(
            "PUT",
            format!("/api/v1/departments/{department}"),
            json!({"code": "c-dept", "name": format!("并发测试科{n}"), "kind": "bureau"}),
            StatusCode::OK,
        ));
        calls.push(call(
            "POST",
            "/api/v1/enterprises",
            json!({"uscc": uscc(100 + n), "name": format!("并发企业{n}"), "industry_code": "C3120",
                   "industry_name": "炼钢", "street_id": street, "address": "东丽区测试路2号"}),
            StatusCode::CREATED,
        ));
        calls.push(call(
            "POST",
            format!("/api/v1/enterprises/{enterprise}/identifiers"),
            json!({"program": "permit", "identifier": format!("91120110MA0000{n:03}001P")}),
            StatusCode::CREATED,
        ));
        calls.push(call(
            "POST",
            format!("/api/v1/enterprises/{enterprise}/sites"),
            json!({"name": format!("厂区{n}"), "address": "东丽区测试路1号"}),
            StatusCode::CREATED,
        ));
        calls.push(call(
            "POST",
            "/api/v1/points",
            json!({"code": format!("C-{n}"), "name": format!("并发微站{n}"), "kind": "air_station",
                   "level": "micro", "street_id": street, "owner": "东丽区生态环境局"}),
            StatusCode::CREATED,
        ));
        calls.push(call(
            "POST",
            "/api/v1/devices",
            json!({"mn": format!("8888888000{n:04}"), "password": "123456", "protocol": "2017",
                   "point_id": point, "model": "TEST-1"}),
            StatusCode::CREATED,
        ));
        calls.push(call(
            "POST",
            "/api/v1/readings",
            json!({"readings": [{"point_id": point, "factor": "a34004", "ts": day + n as i64 * 3600,
                                 "period": "hour", "value": 35.0, "flag": "N"}]}),
            StatusCode::OK,
        ));
        calls.push(call(
            "POST",
            format!("/api/v1/points/{point}/corrections"),
            json!({"period": "hour", "ts": day + 86_400 + n as i64 * 3600, "factor": "a34004", "value": 30.0,
                   "reason": "复核"}),
            StatusCode::CREATED,
        ));
        calls.push(call(
            "PUT",
            "/api/v1/readings/retention",
            json!({"rtd_days": 30 + n, "minute_days": 400}),
            StatusCode::OK,
        ));
        calls.push(call(
            "PUT",
            format!("/api/v1/alarms/outlets/{outlet}/permit"),
            json!({"outlet_id": outlet, "basis": format!("许可证{n}"), "reference_oxygen": 16.0,
                   "limits": [{"factor": "a21026", "averaging": "hour", "limit": 35.0}]}),
            StatusCode::OK,
        ));
        calls.push(call(
            "POST",
            "/api/v1/users",
            json!({"username": format!("c-user-{n}"), "display_name": "并发用户", "password": "Qs-concurrency-7391",
                   "role": "leader"}),
            StatusCode::CREATED,
        ));
        calls.push(call(
            "POST",
            "/api/v1/tokens",
            json!({"name": format!("并发令牌{n}"), "days": 30}),
            StatusCode::CREATED,
        ));
        calls.push(call(
            "POST",
            "/api/v1/targets",
            json!({"code": format!("concurrent_{n}"), "title": format!("并发目标{n}"), "owner": "监测科", "comparison": "le", "threshold": 39.0, "indicator": "reported",
                   "year": 2024}),
            StatusCode::CREATED,
        ));
    }

    // The gateway's part: write transactions one after another, each holding the lock for a moment.
    let stop = Arc::new(AtomicBool::new(false));
    let gateway = {
        let db = app.state.db.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut commits = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let mut tx = db.begin_write().await.expect("gateway write lock");
                kernel::audit::record(
                    &mut *tx,
                    &kernel::audit::AuditEntry::system("hj212-gateway", "store", "packet", commits)
                        .summary("simulated gateway batch"),
                )
                .await
                .expect("gateway write");
                tokio::time::sleep(std::time::Duration::from_millis(3)).await;
                tx.commit().await.expect("gateway commit");
                commits += 1;
            }
            commits
        })
    };

    let (upload_type, upload_body) = multipart_png();
    let mut tasks = Vec::new();
    for c in calls {
        let app = app.clone();
        let admin = admin.clone();
        tasks.push(tokio::spawn(async move {
            let (status, body) = send(&app, &admin, c.method, &c.path, c.body.as_ref()).await;
            (format!("{} {}", c.method, c.path), c.expect, status, body)
        }));
    }
    for &case in &complaints {
        let app = app.clone();
        let admin = admin.clone();
        let (upload_type, upload_body) = (upload_type.clone(), upload_body.clone());
        tasks.push(tokio::spawn(async move {
            let path = format!("/api/v1/complaints/{case}/evidence");
            let reply = app
                .send(
                    Request::post(&path)
                        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
                        .header(header::CONTENT_TYPE, upload_type)
                        .body(Body::from(upload_body))
                        .unwrap(),
                )
                .await;
            (
                format!("POST {path}"),
                StatusCode::CREATED,
                reply.status,
                reply.body,
            )
        }));
    }
    let mut failures = Vec::new();
    let total = tasks.len();
    for task in tasks {
        let (what, expect, status, body) = task.await.unwrap();
        if status != expect {
            failures.push(format!("{what}: {status} (expected {expect}) {body}"));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let commits = gateway.await.unwrap();
    assert!(commits > 0, "the simulated gateway wrote nothing");
    assert!(
        failures.is_empty(),
        "{} of {total} writes failed:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Every intake is stored: the CONCURRENT made before and the CONCURRENT made during the storm.
    let (status, body) = send(
        &app,
        &admin,
        "GET",
        "/api/v1/complaints?page_size=100",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(listed["total"], (2 * CONCURRENT) as u64, "{body}");
});
