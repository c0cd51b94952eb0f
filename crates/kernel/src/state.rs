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
    /// Password verifications allowed per username in the throttle window; the next attempt is refused (429)
    /// until the oldest failure leaves the window. Five: enough for typing mistakes, far too few for guessing.
    pub login_max_failures: u32,
    /// The throttle window (15 minutes, the usual lockout period).
    pub login_window_seconds: i64,
    /// The longest wait imposed on one client address. Beyond `login_max_failures` failures from one address
    /// in the window, each further attempt from it must wait 2, 4, 8, … seconds after its last failure, up to
    /// this. A backoff rather than a lockout: a whole office behind one NAT or proxy shares the address, and
    /// one person guessing must not shut the others out for the window (issue 12). One minute still limits
    /// password spraying across usernames to about 60 guesses an hour per address.
    pub login_client_backoff_max_seconds: i64,
    /// Session lifetime without activity.
    pub session_idle_seconds: i64,
    /// Exports (workbooks, bulk CSV) built at once across the server (`kernel::export`). Two keep a 2-core
    /// server's pages responsive while a month's data is exported; more wait, then get a 429.
    pub export_concurrency: usize,
    /// How long an export waits for a free slot before it is answered 429 with Retry-After.
    pub export_wait_seconds: u64,
    /// Reverse proxies whose `X-Forwarded-For` names the client (see [`crate::client`]). Empty: the socket's
    /// peer is the client, which is right only when no proxy is in front.
    pub trusted_proxies: Vec<crate::client::IpCidr>,
    /// Argon2 hashes and verifications at once (`0`: one per CPU). They run on blocking threads; the bound
    /// keeps a login burst from taking every core and 19 MiB per computation. Applied once per process.
    pub password_hash_concurrency: usize,
    /// Lifetime of an API token when its creator gives none: 90 days, so that a forgotten token stops
    /// working on its own within a quarter.
    pub api_token_default_days: i64,
    /// The longest lifetime a token may be given (a year: tokens are rotated at least yearly).
    pub api_token_max_days: i64,
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
            login_client_backoff_max_seconds: 60,
            session_idle_seconds: 8 * 3600,
            export_concurrency: 2,
            export_wait_seconds: 10,
            trusted_proxies: Vec::new(),
            password_hash_concurrency: 0,
            api_token_default_days: 90,
            api_token_max_days: 365,
            http_header_read_timeout: std::time::Duration::from_secs(30),
            http_max_connections: 512,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<AppConfig>,
    /// The export slots of this server (`kernel::export`), `config.export_concurrency` of them.
    pub exports: Arc<tokio::sync::Semaphore>,
    /// The main navigation of every area (`kernel::area::navigation`), set by `web::app`.
    pub navigation: Arc<[crate::area::NavItem]>,
    /// The accounts area's name lookup (`kernel::people`), set by `web::app`.
    pub people: Option<crate::people::Lookup>,
}

impl AppState {
    pub fn new(db: Db, config: AppConfig) -> Self {
        crate::password::set_concurrency(config.password_hash_concurrency);
        AppState {
            db,
            exports: Arc::new(tokio::sync::Semaphore::new(
                config.export_concurrency.max(1),
            )),
            config: Arc::new(config),
            navigation: Arc::from(Vec::new()),
            people: None,
        }
    }

    /// This state with `navigation` as the menu of every page.
    pub fn with_navigation(self, navigation: Vec<crate::area::NavItem>) -> Self {
        AppState {
            navigation: Arc::from(navigation),
            ..self
        }
    }

    /// This state with the accounts area's lookup of people's names (`kernel::people`).
    pub fn with_people(self, people: crate::people::Lookup) -> Self {
        AppState {
            people: Some(people),
            ..self
        }
    }
}
