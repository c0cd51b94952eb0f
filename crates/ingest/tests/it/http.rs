//! The gateway's API in-process: a device's state after real packets, the quarantine list, roles and
//! problem+json errors. A test layer stands in for the web crate's authentication.

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use kernel::auth::AuthMethod;
use kernel::state::AppConfig;
use kernel::{AppState, Db, Principal, Role};
use tower::ServiceExt;

use crate::support::*;

async fn insert_principal(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let role = request
        .headers()
        .get("x-test-role")
        .and_then(|v| v.to_str().ok())
        .and_then(Role::parse);
    if let Some(role) = role {
        request.extensions_mut().insert(Principal {
            user_id: 1,
            username: role.as_str().into(),
            display_name: role.label().into(),
            role,
            street_id: None,
            department_id: None,
            method: AuthMethod::Token,
        });
    }
    next.run(request).await
}

async fn get(db: &Db, path: &str, role: Role) -> (StatusCode, String, serde_json::Value) {
    let router = ingest::http::routes()
        .layer(axum::middleware::from_fn(insert_principal))
        .with_state(AppState::new(db.clone(), AppConfig::default()));
    let response = router
        .oneshot(
            Request::builder()
                .uri(path)
                .header("x-test-role", role.as_str())
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let api_path = path.split('?').next().unwrap_or(path);
    webtest::contract::assert_response("GET", api_path, status.as_u16(), &headers, &body);
    (
        status,
        content_type,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

testkit::db_test!(device_state_and_quarantine_over_the_api, |db| {
    let (device_id, _) = register(&db, "QS-API-1", "123456", "2017", "strict").await;
    let gateway = start(&db, ingest::Config::default()).await;
    let good = minute_packet(
        "QS-API-1",
        "123456",
        "20260101120100000",
        "20260101120000",
        5.0,
    );
    let unknown = minute_packet(
        "QS-API-X",
        "123456",
        "20260101120100000",
        "20260101120000",
        5.0,
    );
    let replies = exchange(
        gateway.addr,
        &[good, unknown],
        1,
        std::time::Duration::from_secs(10),
    )
    .await;
    assert_eq!(replies.len(), 1);
    gateway.stop().await;

    let path = format!("/api/v1/devices/{device_id}/state");
    let (status, _, state) = get(&db, &path, Role::Monitoring).await;
    assert_eq!(status, StatusCode::OK, "{state}");
    assert_eq!(state["packets"], 1);
    assert_eq!(state["mn"], "QS-API-1");
    assert_eq!(state["online"], false);
    assert_eq!(state["last_data_time"], 1_767_240_000);

    let (status, _, page) = get(
        &db,
        "/api/v1/ingest/quarantine?reason=unknown_device",
        Role::Admin,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["mn"], "QS-API-X");
    assert!(
        page["items"][0]["packet"]
            .as_str()
            .unwrap()
            .starts_with("##")
    );

    let (status, content_type, problem) = get(&db, &path, Role::Enforcement).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(content_type, "application/problem+json", "{problem}");
    let (status, _, _) = get(&db, "/api/v1/ingest/quarantine", Role::Leader).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, content_type, _) = get(&db, "/api/v1/devices/999999/state", Role::Admin).await;
    assert_eq!(
        (status, content_type.as_str()),
        (StatusCode::NOT_FOUND, "application/problem+json")
    );
    let (status, _, problem) = get(
        &db,
        "/api/v1/ingest/quarantine?reason=nonsense",
        Role::Admin,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
});
