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
    /// Exports (workbooks, bulk CSV) built at once across the server (`kernel::export`). Two keep a 2-core
    /// server's pages responsive while a month's data is exported; more wait, then get a 429.
    pub export_concurrency: usize,
    /// How long an export waits for a free slot before it is answered 429 with Retry-After.
    pub export_wait_seconds: u64,
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
            export_concurrency: 2,
            export_wait_seconds: 10,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<AppConfig>,
    /// The export slots of this server (`kernel::export`), `config.export_concurrency` of them.
    pub exports: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub fn new(db: Db, config: AppConfig) -> Self {
        AppState {
            db,
            exports: Arc::new(tokio::sync::Semaphore::new(
                config.export_concurrency.max(1),
            )),
            config: Arc::new(config),
        }
    }
}
