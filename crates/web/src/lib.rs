//! The HTTP face of the platform. Assembles every area's routes into one router, authenticates each request
//! (session cookie for pages, bearer token for machines), checks CSRF on unsafe browser requests, serves the
//! static assets, the OpenAPI document and the overview page, and puts the browser security headers
//! ([`security`]: Content-Security-Policy, no framing) on every response.
//!
//! Areas never depend on this crate: each describes itself (`kernel::area::Area`), and this crate builds the
//! router, the OpenAPI document and the menu from the list in `areas`. Their background jobs are started by
//! `qingshan serve`, not here.

mod assets;
mod dashboard;
mod home;
mod input;
mod kept_answers;
mod map;
mod middleware;
pub mod openapi;
mod security;

use std::time::Duration;

use axum::Router;
use kernel::AppState;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;

/// Largest request body accepted (evidence uploads have their own, larger limit in their area).
const BODY_LIMIT_BYTES: usize = 8 * 1024 * 1024;

/// The overview page's own menu entry (the rest comes from the areas).
const OVERVIEW_NAV: kernel::area::NavItem = kernel::area::NavItem {
    path: "/",
    label: "总览",
    resource: None,
    action: kernel::Action::Read,
    order: 0,
};

/// The whole application as one router (no socket: tests call it in-process): this crate's pages and every
/// area of [`areas::ALL`].
pub fn app(state: AppState) -> Router {
    let mut navigation = vec![OVERVIEW_NAV];
    navigation.extend(kernel::area::navigation(areas::ALL));
    let state = state
        .with_navigation(navigation)
        .with_people(accounts::service::display_names);
    let routes = areas::ALL
        .iter()
        .fold(
            Router::new()
                .merge(home::routes())
                .merge(dashboard::routes())
                .merge(map::routes()),
            |router, area| router.merge((area.routes)()),
        )
        .merge(openapi::routes())
        .fallback(middleware::not_found);
    routes
        // Inside authentication: an answer is kept per caller.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            kept_answers::serve,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::authenticate,
        ))
        .merge(assets::routes())
        .layer(axum::middleware::from_fn(input::refuse_nul))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT_BYTES))
        // A handler that panics (a bug: nothing may panic on input) answers a logged 500 problem instead of
        // dropping the connection without a word.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_response,
        ))
        // A browser page gets the Chinese error page, never problem+json (including the layers' own answers
        // above: the NUL and body-limit refusals, a panic).
        .layer(axum::middleware::from_fn(middleware::errors_as_pages))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
        // Outermost, so that every response has them: assets, errors, and the body limit's own 413.
        .layer(axum::middleware::map_response(security::add_headers))
        .with_state(state)
}

fn panic_response(cause: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let what = cause
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| cause.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    axum::response::IntoResponse::into_response(kernel::AppError::Internal(anyhow::anyhow!(
        "handler panicked: {what}"
    )))
}

/// Serves the application on `listener` until `shutdown` resolves (see [`serve_app`] for the limits). The
/// areas' jobs are not started here (`kernel::area::spawn_jobs`).
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let app = app(state.clone());
    let limits = HttpLimits {
        header_read_timeout: state.config.http_header_read_timeout,
        max_connections: state.config.http_max_connections,
    };
    serve_app(app, listener, limits, shutdown).await;
    Ok(())
}

/// The web server's connection limits (`AppConfig::http_header_read_timeout`, `http_max_connections`).
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
}

/// Time a shutdown gives requests in flight to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `app` over HTTP/1.1 on `listener` until `shutdown` resolves, then lets requests in flight finish (up
/// to [`SHUTDOWN_GRACE`]). Each request carries `ConnectInfo<SocketAddr>`. Not `axum::serve`, which has no
/// header-read timeout: a client sending its headers a byte at a time, or many idle ones, held connections
/// (and file descriptors) for ever. Here a connection is closed when a request head has not arrived whole
/// within `header_read_timeout`, and at most `max_connections` are served at once (the next waits in the
/// listening socket's queue).
pub async fn serve_app(
    app: Router,
    listener: tokio::net::TcpListener,
    limits: HttpLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let mut full_log = kernel::time::AtMostEvery::new(Duration::from_secs(10));
    tokio::pin!(shutdown);
    loop {
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if full_log.due() {
                    tracing::warn!(
                        "HTTP connection limit ({}) reached: new connections wait",
                        limits.max_connections
                    );
                }
                tokio::select! {
                    permit = slots.clone().acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                    _ = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!("HTTP accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = app.clone().map_request(
            move |mut request: axum::extract::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        );
        let connection = builder.serve_connection(
            TokioIo::new(stream),
            hyper_util::service::TowerToHyperService::new(service),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("HTTP connection from {peer}: {e}");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("HTTP requests still running after {SHUTDOWN_GRACE:?}: stopped");
    }
}
