//! The readings API in-process: push idempotency, roles, street scoping, series, coverage, export,
//! corrections and locks. A test layer stands in for the web crate's authentication and puts the principal
//! named by `x-test-role` / `x-test-street` into the request.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use kernel::state::AppConfig;
use kernel::{AppState, Db, Role};
use registry::model::PointKind;
use tower::ServiceExt;

use crate::support::{self, principal};

struct Api {
    router: axum::Router,
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn insert_principal(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut request = request;
    let headers = request.headers();
    let role = headers
        .get("x-test-role")
        .and_then(|v| v.to_str().ok())
        .and_then(Role::parse);
    let street = headers
        .get("x-test-street")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    if let Some(role) = role {
        request.extensions_mut().insert(principal(role, street));
    }
    next.run(request).await
}

impl Api {
    fn new(db: Db) -> Api {
        Api::with_state(AppState::new(db, AppConfig::default()))
    }

    fn with_state(state: AppState) -> Api {
        Api {
            router: readings::http::routes()
                .layer(axum::middleware::from_fn(insert_principal))
                .with_state(state),
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        role: Role,
        street: Option<i64>,
        body: Option<&str>,
        key: Option<&str>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("x-test-role", role.as_str());
        if let Some(street) = street {
            request = request.header("x-test-street", street.to_string());
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        let request = match body {
            Some(b) => request
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => request.body(Body::empty()),
        }
        .unwrap();
        let path = path.split('?').next().unwrap_or(path);
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), 64 << 20).await.unwrap();
        webtest::contract::assert_response(method, path, status.as_u16(), &headers, &bytes);
        if let Some(body) = body {
            let mut sent = axum::http::HeaderMap::new();
            sent.insert("content-type", "application/json".parse().unwrap());
            webtest::contract::assert_accepted_request(
                method,
                path,
                status.as_u16(),
                &sent,
                body.as_bytes(),
            );
        }
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

/// 2024-01-01 00:00 CST.
const DAY_START: i64 = 1_704_038_400;

async fn streets(db: &Db) -> (i64, i64) {
    sqlx::query("INSERT INTO district (code, name, city) VALUES ('120110', '东丽区', '天津市')")
        .execute(db.pool())
        .await
        .unwrap();
    let mut ids = Vec::new();
    for (code, name) in [("zgz", "张贵庄街道"), ("hm", "华明街道")] {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO streets (code, name, district_code, created_at) VALUES ($1, $2, '120110', 0) RETURNING id",
        )
        .bind(code)
        .bind(name)
        .fetch_one(db.pool())
        .await
        .unwrap();
        ids.push(id);
    }
    (ids[0], ids[1])
}

fn push_body(point: i64, hours: i64, value: f64) -> String {
    let readings: Vec<serde_json::Value> = (0..hours)
        .map(|h| {
            serde_json::json!({"point_id": point, "factor": "a34004", "ts": DAY_START + h * 3600,
                "period": "hour", "value": value + h as f64, "flag": "N"})
        })
        .collect();
    serde_json::json!({ "readings": readings }).to_string()
}

testkit::db_test!(push_is_idempotent_and_checked, |db| {
    let point = support::point(&db, "P1", PointKind::AirStation, None).await;
    let api = Api::new(db.clone());
    let body = push_body(point, 24, 10.0);
    let first = api
        .send(
            "POST",
            "/api/v1/readings",
            Role::Monitoring,
            None,
            Some(&body),
            Some("batch-1"),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.json()["values_written"], 24);
    assert_eq!(first.json()["rollups"], 1);
    let retry = api
        .send(
            "POST",
            "/api/v1/readings",
            Role::Monitoring,
            None,
            Some(&body),
            Some("batch-1"),
        )
        .await;
    assert_eq!(retry.status, StatusCode::OK);
    assert_eq!(retry.body, first.body, "a retry returns the first answer");
    assert_eq!(retry.headers.get("idempotent-replay").unwrap(), "true");
    let sources: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM reading_sources")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(sources, 1);
    // Without a key the same batch is still harmless: all unchanged.
    let again = api
        .send(
            "POST",
            "/api/v1/readings",
            Role::Monitoring,
            None,
            Some(&body),
            None,
        )
        .await;
    assert_eq!(
        (
            again.json()["values_written"].clone(),
            again.json()["values_unchanged"].clone()
        ),
        (0.into(), 24.into())
    );

    let denied = api
        .send(
            "POST",
            "/api/v1/readings",
            Role::Leader,
            None,
            Some(&body),
            None,
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let bad = serde_json::json!({"readings": [{"point_id": point, "factor": "PM 2.5", "ts": DAY_START, "period": "hour", "value": 1.0}]}).to_string();
    let reply = api
        .send(
            "POST",
            "/api/v1/readings",
            Role::Monitoring,
            None,
            Some(&bad),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json()["field"], "readings[0].factor");
    assert_eq!(
        reply.headers.get("content-type").unwrap(),
        "application/problem+json"
    );
    let unknown = serde_json::json!({"readings": [{"point_id": 9999, "factor": "a34004", "ts": DAY_START, "period": "hour", "value": 1.0}]}).to_string();
    let reply = api
        .send(
            "POST",
            "/api/v1/readings",
            Role::Monitoring,
            None,
            Some(&unknown),
            None,
        )
        .await;
    assert_eq!(reply.json()["field"], "readings[0].point_id");
    let period = serde_json::json!({"readings": [{"point_id": point, "factor": "a34004", "ts": DAY_START, "period": "week", "value": 1.0}]}).to_string();
    let reply = api
        .send(
            "POST",
            "/api/v1/readings",
            Role::Monitoring,
            None,
            Some(&period),
            None,
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.body
    );
});

testkit::db_test!(series_are_scoped_by_street_and_kind, |db| {
    let (zgz, hm) = streets(&db).await;
    let mine = support::point(&db, "A-ZGZ", PointKind::AirStation, Some(zgz)).await;
    let theirs = support::point(&db, "A-HM", PointKind::AirStation, Some(hm)).await;
    let outlet = support::point(&db, "O-ZGZ", PointKind::Outlet, Some(zgz)).await;
    let api = Api::new(db.clone());
    for p in [mine, theirs, outlet] {
        let r = api
            .send(
                "POST",
                "/api/v1/readings",
                Role::Monitoring,
                None,
                Some(&push_body(p, 24, 5.0)),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let path = |p: i64, period: &str| {
        format!(
            "/api/v1/points/{p}/series?factor=a34004&period={period}&from=2024-01-01&to=2024-01-02"
        )
    };
    let ok = api
        .send(
            "GET",
            &path(mine, "audited"),
            Role::StreetOfficer,
            Some(zgz),
            None,
            None,
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    let page = ok.json();
    assert_eq!(page["total"], 24);
    assert_eq!(page["items"][0]["time_cst"], "2024-01-01T00:00:00+08:00");
    assert_eq!(page["items"][0]["time_utc"], "2023-12-31T16:00:00Z");
    assert_eq!(page["items"][0]["value"], 5.0);
    let other = api
        .send(
            "GET",
            &path(theirs, "audited"),
            Role::StreetOfficer,
            Some(zgz),
            None,
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let public_outlet = api
        .send("GET", &path(outlet, "raw"), Role::Public, None, None, None)
        .await;
    assert_eq!(public_outlet.status, StatusCode::NOT_FOUND);
    let public_air = api
        .send("GET", &path(theirs, "day"), Role::Public, None, None, None)
        .await;
    assert_eq!(public_air.status, StatusCode::OK);
    let day = public_air.json();
    assert_eq!(day["items"][0]["n_valid"], 24);
    assert_eq!(day["items"][0]["value"], 5.0 + 23.0 / 2.0);
    let paged = api
        .send(
            "GET",
            &format!("{}&per_page=10&page=3", path(mine, "hour")),
            Role::Leader,
            None,
            None,
            None,
        )
        .await;
    assert_eq!(
        (
            paged.json()["total"].clone(),
            paged.json()["items"].as_array().unwrap().len()
        ),
        (24.into(), 4)
    );
    let bad = api
        .send(
            "GET",
            &format!("/api/v1/points/{mine}/series?factor=a34004&period=week"),
            Role::Leader,
            None,
            None,
            None,
        )
        .await;
    assert_eq!(
        (bad.status, bad.json()["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, "period".into())
    );
    let bad = api
        .send(
            "GET",
            &format!("/api/v1/points/{mine}/series?factor=a34004&from=yesterday"),
            Role::Leader,
            None,
            None,
            None,
        )
        .await;
    assert_eq!(bad.json()["field"], "from");

    // Latest values: the street officer sees the two points of the street, the public the two air stations.
    let latest = api
        .send(
            "GET",
            "/api/v1/readings/latest",
            Role::StreetOfficer,
            Some(zgz),
            None,
            None,
        )
        .await;
    let ids: Vec<i64> = latest
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["point_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![mine, outlet]);
    let latest = api
        .send(
            "GET",
            "/api/v1/readings/latest",
            Role::Public,
            None,
            None,
            None,
        )
        .await;
    let ids: Vec<i64> = latest
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["point_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![mine, theirs]);
    assert_eq!(latest.json()[0]["values"][0]["value"], 28.0);

    // Coverage of January 1-2: one day of 24 valid hours out of 48 expected.
    let cov = api
        .send(
            "GET",
            &format!("/api/v1/points/{mine}/coverage?from=2024-01-01&to=2024-01-03&factor=a34004"),
            Role::Leader,
            None,
            None,
            None,
        )
        .await;
    assert_eq!(cov.status, StatusCode::OK, "{}", cov.body);
    let f = &cov.json()["factors"][0];
    assert_eq!(
        (
            f["days_expected"].clone(),
            f["days_valid"].clone(),
            f["hours_valid"].clone()
        ),
        (2.into(), 1.into(), 24.into())
    );
    assert_eq!(f["coverage_percent"], 50.0);

    // Export of the month: the street officer gets only their street's points.
    let csv = api
        .send(
            "GET",
            "/api/v1/readings/export.csv?month=2024-01",
            Role::StreetOfficer,
            Some(zgz),
            None,
            None,
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(
        lines[0],
        "point,factor,time,period,value,flag,audited_value,valid,time_utc"
    );
    assert_eq!(lines.len(), 1 + 48);
    assert!(
        lines[1].starts_with("A-ZGZ,a34004,2024-01-01T00:00:00+08:00,hour,5,N,5,1,"),
        "{}",
        lines[1]
    );
    assert!(!csv.body.contains("A-HM"));
    let xlsx = api
        .send(
            "GET",
            &format!("/api/v1/readings/export.xlsx?month=2024-01&point={mine}"),
            Role::Leader,
            None,
            None,
            None,
        )
        .await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert!(xlsx.body.starts_with("PK"), "a zip container");
    assert!(
        xlsx.headers
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap()
            .contains(".xlsx")
    );
    let bad = api
        .send(
            "GET",
            "/api/v1/readings/export.csv?month=2024-1",
            Role::Leader,
            None,
            None,
            None,
        )
        .await;
    assert_eq!(bad.json()["field"], "month");
});

testkit::db_test!(corrections_and_locks_over_http, |db| {
    let point = support::point(&db, "P2", PointKind::AirStation, None).await;
    let api = Api::new(db.clone());
    api.send(
        "POST",
        "/api/v1/readings",
        Role::Monitoring,
        None,
        Some(&push_body(point, 24, 10.0)),
        None,
    )
    .await;
    let correction = serde_json::json!({"period": "hour", "ts": DAY_START, "factor": "a34004", "value": 100.0, "reason": "复核"}).to_string();
    let path = format!("/api/v1/points/{point}/corrections");
    let denied = api
        .send(
            "POST",
            &path,
            Role::Enforcement,
            None,
            Some(&correction),
            None,
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    let done = api
        .send(
            "POST",
            &path,
            Role::Monitoring,
            None,
            Some(&correction),
            None,
        )
        .await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.body);
    assert_eq!(done.json()["raw_value"], 10.0);
    let series = api
        .send("GET", &format!("/api/v1/points/{point}/series?factor=a34004&period=audited&from=2024-01-01&to=2024-01-02&per_page=1"), Role::Leader, None, None, None)
        .await;
    let item = &series.json()["items"][0];
    assert_eq!(
        (
            item["value"].clone(),
            item["raw_value"].clone(),
            item["corrected"].clone()
        ),
        (100.0.into(), 10.0.into(), true.into())
    );
    let raw = api
        .send("GET", &format!("/api/v1/points/{point}/series?factor=a34004&period=raw&from=2024-01-01&to=2024-01-02&per_page=1"), Role::Leader, None, None, None)
        .await;
    assert_eq!(raw.json()["items"][0]["value"], 10.0);
    let day = api
        .send("GET", &format!("/api/v1/points/{point}/series?factor=a34004&period=day&from=2024-01-01&to=2024-01-02"), Role::Leader, None, None, None)
        .await;
    let expected = (100.0 + (1..24).map(|h| 10.0 + h as f64).sum::<f64>()) / 24.0;
    assert!((day.json()["items"][0]["value"].as_f64().unwrap() - expected).abs() < 1e-9);

    let history = api
        .send(
            "GET",
            &format!("/api/v1/points/{point}/corrections?from=2024-01-01&to=2024-02-01"),
            Role::Leader,
            None,
            None,
            None,
        )
        .await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.body);
    let first = &history.json()[0];
    assert_eq!(
        (
            first["version"].clone(),
            first["value"].clone(),
            first["raw_value"].clone(),
            first["corrected_by"].clone()
        ),
        (1.into(), 100.0.into(), 10.0.into(), "monitoring".into())
    );
    let hidden = api
        .send(
            "GET",
            &format!("/api/v1/points/{point}/corrections"),
            Role::Public,
            None,
            None,
            None,
        )
        .await;
    assert_eq!(hidden.status, StatusCode::FORBIDDEN);
    let lock = serde_json::json!({"month": "2024-01", "action": "lock"}).to_string();
    let locked = api
        .send(
            "POST",
            "/api/v1/readings/locks",
            Role::Monitoring,
            None,
            Some(&lock),
            None,
        )
        .await;
    assert_eq!(locked.status, StatusCode::OK, "{}", locked.body);
    let refused = api
        .send(
            "POST",
            &path,
            Role::Monitoring,
            None,
            Some(&correction),
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    let reopen = serde_json::json!({"month": "2024-01", "action": "reopen"}).to_string();
    let no_reason = api
        .send(
            "POST",
            "/api/v1/readings/locks",
            Role::Monitoring,
            None,
            Some(&reopen),
            None,
        )
        .await;
    assert_eq!(no_reason.json()["field"], "reason");
    let denied = api
        .send(
            "POST",
            "/api/v1/readings/locks",
            Role::Leader,
            None,
            Some(&lock),
            None,
        )
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
});

/// The body of an export as bytes (workbooks are binary).
async fn export_bytes(
    api: &Api,
    path: &str,
    role: Role,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let request = Request::get(path)
        .header("x-test-role", role.as_str())
        .body(Body::empty())
        .unwrap();
    let response = api.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body(), 64 * 1024 * 1024)
        .await
        .unwrap()
        .to_vec();
    let path = path.split('?').next().unwrap_or(path);
    webtest::contract::assert_response("GET", path, status.as_u16(), &headers, &bytes);
    (status, headers, bytes)
}

// Four concurrent month workbooks, also by the public, took the server to 1.5 GB and stalled it: the CSV is now
// streamed, the workbook is written on a blocking thread in constant memory, exports take a slot of a few
// (429 when none frees up in time), and the public exports one point at a time.
testkit::db_test!(exports_are_bounded_streamed_and_equal, |db| {
    let a = support::point(&db, "A-EXP", PointKind::AirStation, None).await;
    let b = support::point(&db, "B-EXP", PointKind::AirStation, None).await;
    let config = AppConfig {
        export_concurrency: 1,
        export_wait_seconds: 0,
        ..AppConfig::default()
    };
    let state = AppState::new(db.clone(), config);
    let api = Api::with_state(state.clone());
    for (point, hours) in [(a, 48), (b, 30)] {
        let pushed = api
            .send(
                "POST",
                "/api/v1/readings",
                Role::Monitoring,
                None,
                Some(&push_body(point, hours, 10.0)),
                None,
            )
            .await;
        assert_eq!(pushed.status, StatusCode::OK, "{}", pushed.body);
    }

    // The public: one point, not the whole month.
    let (status, _, body) = export_bytes(
        &api,
        "/api/v1/readings/export.csv?month=2024-01",
        Role::Public,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (status, _, body) = export_bytes(
        &api,
        &format!("/api/v1/readings/export.csv?month=2024-01&point={a}"),
        Role::Public,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(String::from_utf8(body).unwrap().lines().count(), 1 + 48);

    // Staff: the whole month, streamed; the workbook holds the same values in the same order.
    let (status, headers, csv) = export_bytes(
        &api,
        "/api/v1/readings/export.csv?month=2024-01",
        Role::Leader,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers.get("cache-control").unwrap(), "private, no-store");
    let csv = String::from_utf8(csv).unwrap();
    let csv_rows: Vec<Vec<String>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    assert_eq!(csv_rows.len(), 48 + 30);
    let (status, _, xlsx) = export_bytes(
        &api,
        "/api/v1/readings/export.xlsx?month=2024-01",
        Role::Leader,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx)).unwrap();
    let sheet = book.worksheet_range("监测数据").unwrap();
    let xlsx_rows: Vec<Vec<String>> = sheet
        .rows()
        .skip(1)
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(xlsx_rows.len(), csv_rows.len());
    for (x, c) in xlsx_rows.iter().zip(&csv_rows) {
        // point, factor, CST time, period, raw value, flag, audited value
        assert_eq!(&x[..7], &c[..7], "workbook row {x:?} against CSV row {c:?}");
    }

    // Every slot taken: the next export is told to come back, with Retry-After.
    let held = state.exports.clone().acquire_owned().await.unwrap();
    for path in [
        "/api/v1/readings/export.csv?month=2024-01",
        "/api/v1/readings/export.xlsx?month=2024-01",
    ] {
        let (status, headers, _) = export_bytes(&api, path, Role::Leader).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{path}");
        assert!(headers.get("retry-after").is_some(), "{path}");
    }
    drop(held);
    let (status, _, _) = export_bytes(
        &api,
        "/api/v1/readings/export.csv?month=2024-01",
        Role::Leader,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
});
