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
