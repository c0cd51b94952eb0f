//! The HTTP face of the platform. Assembles every area's routes into one router, authenticates each request
//! (session cookie for pages, bearer token for machines), checks CSRF on unsafe browser requests, serves the
//! static assets, the OpenAPI document and the overview page, and puts the browser security headers
//! ([`security`]: Content-Security-Policy, no framing) on every response.
//!
//! Areas never depend on this crate: they expose `routes()` and an `ApiDoc`, and this crate merges them.

mod assets;
mod dashboard;
mod home;
mod middleware;
pub mod openapi;
mod security;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use kernel::AppState;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

/// Largest request body accepted (evidence uploads have their own, larger limit in their area).
const BODY_LIMIT_BYTES: usize = 8 * 1024 * 1024;

/// The whole application as one router (no socket: tests call it in-process).
pub fn app(state: AppState) -> Router {
    let routes = Router::new()
        .merge(home::routes())
        .merge(dashboard::routes())
        .merge(stations::http::routes())
        .merge(accounts::http::routes())
        .merge(registry::http::routes())
        .merge(readings::http::routes())
        .merge(complaints::http::routes())
        .merge(alarms::http::routes())
        .merge(workcal::http::routes())
        .merge(ingest::http::routes())
        .merge(targets::http::routes())
        .merge(bulletins::http::routes())
        .merge(analysis::http::routes())
        .merge(openapi::routes())
        .fallback(middleware::not_found);
    routes
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::authenticate,
        ))
        .merge(assets::routes())
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT_BYTES))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        // Outermost, so that every response has them: assets, errors, and the body limit's own 413.
        .layer(axum::middleware::map_response(security::add_headers))
        .with_state(state)
}

/// Serves the application on `addr` until `shutdown` resolves.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = app(state.clone());
    let sweeper = tokio::spawn(housekeeping(state.clone()));
    let alarm_worker = tokio::spawn(alarm_worker(state));
    let result = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    sweeper.abort();
    alarm_worker.abort();
    result.map_err(|e| anyhow::anyhow!("HTTP server failed: {e}"))
}

/// Hourly housekeeping: removes expired sessions, escalates overdue complaints to the leaders (the statutory
/// clocks run whether or not anyone opens the statistics page), and sweeps real-time and minute readings past
/// their retention.
async fn housekeeping(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let now = kernel::time::now_ts();
        if let Err(e) = accounts::repo::delete_expired_sessions(&state.db, now).await {
            tracing::warn!("session sweep failed: {e}");
        }
        match complaints::service::escalate_overdue(
            &state.db,
            complaints::service::Caller::System("system"),
            now,
        )
        .await
        {
            Ok(ids) if !ids.is_empty() => {
                tracing::info!("escalated {} overdue complaints", ids.len())
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("complaint escalation failed: {e}"),
        }
        match readings::retention::sweep(&state.db, now).await {
            Ok(swept) if swept.rtd_rows + swept.minute_rows > 0 => tracing::info!(
                "retention sweep removed {} real-time and {} minute rows",
                swept.rtd_rows,
                swept.minute_rows
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("retention sweep failed: {e}"),
        }
    }
}

/// Every minute: the alarm worker judges the outlets whose last whole hour has not been judged yet (each
/// point once an hour; see `alarms::service::evaluate_due`).
async fn alarm_worker(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        match alarms::service::evaluate_due(&state.db, kernel::time::now_ts()).await {
            Ok(run) if run.raised + run.extended > 0 => tracing::info!(
                "alarm worker: {} points judged, {} alarms raised, {} extended",
                run.evaluated,
                run.raised,
                run.extended
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("alarm worker failed: {e:#}"),
        }
    }
}
