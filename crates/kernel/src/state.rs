//! What every handler can reach.

use std::path::PathBuf;
use std::sync::Arc;

use crate::db::Db;

#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Demo mode: the first visit is logged in as the demo leader, and the login page lists the demo users.
    pub demo: bool,
    /// Send cookies with `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    pub data_dir: PathBuf,
    /// Failed logins allowed per username (and 4× per client address) in the throttle window.
    pub login_max_failures: u32,
    pub login_window_seconds: i64,
    /// Session lifetime without activity.
    pub session_idle_seconds: i64,
    /// An HTTP connection that has not sent a whole request head within this time is closed — also an idle
    /// kept-alive one, the timer running while the next request is awaited. 30 s (hyper's own default): far
    /// more than a browser or a client on a slow mobile link needs for a few hundred bytes of headers, while a
    /// client sending its headers a byte at a time no longer holds a connection for ever.
    pub http_header_read_timeout: std::time::Duration,
    /// HTTP connections served at once; more wait in the listening socket's queue. 512: a bureau's users are
    /// tens to a few hundred, a browser opens up to six connections; and it is the web server's share of the
    /// open-files limit that the HJ 212 gateway's connection cap leaves free (`ingest::connection_cap`).
    pub http_max_connections: usize,
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            demo: false,
            secure_cookies: false,
            data_dir: PathBuf::from("data"),
            login_max_failures: 5,
            login_window_seconds: 15 * 60,
            session_idle_seconds: 8 * 3600,
            http_header_read_timeout: std::time::Duration::from_secs(30),
            http_max_connections: 512,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<AppConfig>,
}

impl AppState {
    pub fn new(db: Db, config: AppConfig) -> Self {
        AppState {
            db,
            config: Arc::new(config),
        }
    }
}
