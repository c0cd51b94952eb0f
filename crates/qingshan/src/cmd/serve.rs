//! `qingshan serve`, `qingshan migrate` and `qingshan demo`: open the database, run the platform.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use kernel::state::AppConfig;
use kernel::{AppState, Backend, Db};

/// Where the data lives: a PostgreSQL URL, or (the default) an SQLite file in the data directory.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL: postgres://user@host/db, or sqlite://path/to/file.db. Default: an SQLite file
    /// qingshan.db in the data directory.
    #[arg(long, env = "QINGSHAN_DATABASE_URL", global = true)]
    pub database: Option<String>,
    /// Data directory (SQLite file, uploads).
    #[arg(long, env = "QINGSHAN_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,
}

impl DatabaseArgs {
    pub fn url(&self) -> String {
        self.database
            .clone()
            .unwrap_or_else(|| kernel::db::sqlite_url_for_dir(&self.data_dir))
    }

    /// Opens the database. SQLite is created and migrated on first use; PostgreSQL must have been migrated
    /// with `qingshan migrate` (servers do not change a shared schema on their own).
    pub async fn open(&self) -> anyhow::Result<Db> {
        let db = Db::connect(&self.url()).await?;
        match db.backend() {
            Backend::Sqlite => db.migrate().await?,
            Backend::Postgres => {
                let pending = db.pending_migrations().await?;
                if !pending.is_empty() {
                    anyhow::bail!(
                        "the PostgreSQL schema is not up to date ({} migration(s) pending): run `qingshan migrate --database {}` first",
                        pending.len(),
                        kernel::db::redact(&self.url())
                    );
                }
            }
        }
        Ok(db)
    }
}

/// The database handle with the master key that seals device keys (`kernel::secrets`: `QINGSHAN_MASTER_KEY`,
/// else `<data dir>/secrets/master.key`, created on first use).
pub fn with_master_key(db: Db, data_dir: &std::path::Path) -> anyhow::Result<Db> {
    let key = kernel::secrets::MasterKey::load_or_create(data_dir)?;
    Ok(db.with_master_key(key))
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Address of the web platform and API.
    #[arg(long, env = "QINGSHAN_HTTP", default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    /// Address of the HJ 212 gateway for monitoring devices.
    #[arg(long, env = "QINGSHAN_HJ212", default_value = "127.0.0.1:9212")]
    pub hj212: SocketAddr,
    /// Mark cookies Secure (when served behind HTTPS).
    #[arg(long, env = "QINGSHAN_SECURE_COOKIES")]
    pub secure_cookies: bool,
    #[command(flatten)]
    pub accounts: AccountsArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Connection limits (defaults and why: `ingest::Config`, `kernel::state::AppConfig`, docs/ingest.md).
#[derive(Debug, Clone, Default, Args)]
pub struct LimitArgs {
    /// HJ 212 connections held at once [default 12000, lowered to what the open-files limit leaves].
    #[arg(long, env = "QINGSHAN_HJ212_MAX_CONNECTIONS")]
    pub hj212_max_connections: Option<usize>,
    /// HJ 212 connections from one address (IPv6: one /64; loopback is not limited) [default 500].
    #[arg(long, env = "QINGSHAN_HJ212_MAX_CONNECTIONS_PER_IP")]
    pub hj212_max_connections_per_ip: Option<usize>,
    /// Seconds an HJ 212 connection may go without a valid frame before it is closed [default 600].
    #[arg(long, env = "QINGSHAN_HJ212_VALID_FRAME_TIMEOUT")]
    pub hj212_valid_frame_timeout: Option<u64>,
    /// HTTP connections served at once [default 512].
    #[arg(long, env = "QINGSHAN_HTTP_MAX_CONNECTIONS")]
    pub http_max_connections: Option<usize>,
    /// Seconds an HTTP client has to send a whole request head [default 30].
    #[arg(long, env = "QINGSHAN_HTTP_HEADER_TIMEOUT")]
    pub http_header_timeout: Option<u64>,
    /// Exports (workbooks, bulk CSV) built at once [default 2].
    #[arg(long, env = "QINGSHAN_EXPORT_CONCURRENCY")]
    pub export_concurrency: Option<usize>,
    /// Seconds an export waits for a free slot before it is answered 429 [default 10].
    #[arg(long, env = "QINGSHAN_EXPORT_WAIT")]
    pub export_wait: Option<u64>,
}

impl LimitArgs {
    /// The gateway's and the web server's settings with the limits given, the defaults for the rest.
    fn apply(&self, gateway: &mut ingest::Config, web: &mut AppConfig) {
        let seconds = std::time::Duration::from_secs;
        if let Some(n) = self.hj212_max_connections {
            gateway.max_connections = n;
        }
        if let Some(n) = self.hj212_max_connections_per_ip {
            gateway.max_connections_per_ip = n;
        }
        if let Some(s) = self.hj212_valid_frame_timeout {
            gateway.valid_frame_timeout = seconds(s);
        }
        if let Some(n) = self.http_max_connections {
            web.http_max_connections = n;
        }
        if let Some(s) = self.http_header_timeout {
            web.http_header_read_timeout = seconds(s);
        }
        if let Some(n) = self.export_concurrency {
            web.export_concurrency = n;
        }
        if let Some(s) = self.export_wait {
            web.export_wait_seconds = s;
        }
    }
}

/// Login, password hashing and API token settings (see `kernel::state::AppConfig` for why each default).
#[derive(Debug, Clone, Args)]
pub struct AccountsArgs {
    /// A reverse proxy (address or CIDR block) whose X-Forwarded-For names the client; repeat the option or
    /// separate with commas. Without one, X-Forwarded-For is ignored and the socket's peer is the client.
    #[arg(
        long = "trusted-proxy",
        env = "QINGSHAN_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<kernel::client::IpCidr>,
    /// Password hashes and verifications (argon2) at once; 0 = one per CPU.
    #[arg(long, env = "QINGSHAN_PASSWORD_HASH_CONCURRENCY", default_value_t = AppConfig::default().password_hash_concurrency)]
    pub password_hash_concurrency: usize,
    /// Longest wait (seconds) a client address is made to keep between failed logins.
    #[arg(long, env = "QINGSHAN_LOGIN_BACKOFF_MAX_SECONDS", default_value_t = AppConfig::default().login_client_backoff_max_seconds)]
    pub login_backoff_max_seconds: i64,
    #[command(flatten)]
    pub tokens: TokenLifetimeArgs,
}

impl AccountsArgs {
    pub fn apply(&self, config: AppConfig) -> AppConfig {
        AppConfig {
            trusted_proxies: self.trusted_proxies.clone(),
            password_hash_concurrency: self.password_hash_concurrency,
            login_client_backoff_max_seconds: self.login_backoff_max_seconds,
            ..self.tokens.apply(config)
        }
    }
}

/// How long API tokens live (`serve` and `token create` read the same settings).
#[derive(Debug, Clone, Args)]
pub struct TokenLifetimeArgs {
    /// Lifetime in days of an API token created without one.
    #[arg(long, env = "QINGSHAN_API_TOKEN_DAYS", global = true, default_value_t = AppConfig::default().api_token_default_days)]
    pub api_token_days: i64,
    /// The longest lifetime in days an API token may be given.
    #[arg(long, env = "QINGSHAN_API_TOKEN_MAX_DAYS", global = true, default_value_t = AppConfig::default().api_token_max_days)]
    pub api_token_max_days: i64,
}

impl TokenLifetimeArgs {
    pub fn apply(&self, config: AppConfig) -> AppConfig {
        AppConfig {
            api_token_default_days: self.api_token_days,
            api_token_max_days: self.api_token_max_days,
            ..config
        }
    }
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Data directory of the demo database (created on first start, reopened after).
    #[arg(long, default_value = "data/demo")]
    pub data_dir: PathBuf,
    /// Run the demo on this database instead (e.g. postgres://…; migrated and filled if empty).
    #[arg(long)]
    pub database: Option<String>,
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub http: SocketAddr,
    #[arg(long, default_value = "127.0.0.1:9212")]
    pub hj212: SocketAddr,
    /// Seed of the simulated district (the same seed always gives the same district).
    #[arg(long, default_value_t = demo::DEFAULT_SEED)]
    pub seed: u64,
}

pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("QINGSHAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub fn run_serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    runtime()?.block_on(async {
        let db = with_master_key(args.db.open().await?, &args.db.data_dir)?;
        let mut config = args.accounts.apply(AppConfig {
            secure_cookies: args.secure_cookies,
            data_dir: args.db.data_dir.clone(),
            ..AppConfig::default()
        });
        let mut gateway = ingest::Config::default();
        args.limits.apply(&mut gateway, &mut config);
        serve(db, config, gateway, args.http, args.hj212).await
    })
}

pub fn run_migrate(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    runtime()?.block_on(async {
        let db = Db::connect(&args.db.url()).await?;
        let pending = db.pending_migrations().await?;
        db.migrate().await?;
        println!(
            "schema up to date on {} ({} migration(s) applied now)",
            kernel::db::redact(&args.db.url()),
            pending.len()
        );
        Ok(ExitCode::SUCCESS)
    })
}

pub fn run_demo(args: DemoArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    runtime()?.block_on(async {
        let url = args
            .database
            .clone()
            .unwrap_or_else(|| kernel::db::sqlite_url_for_dir(&args.data_dir));
        let db = Db::connect(&url).await?;
        db.migrate().await?;
        let db = with_master_key(db, &args.data_dir)?;
        let progress = DemoProgress::new();
        let report = demo::ensure_with_progress(&db, args.seed, demo::History::UntilNow, &|step| {
            progress.report(step)
        })
        .await?;
        println!("{report}");
        // The demo's registered devices report live minute data to its own gateway.
        // The demo's HJ 212-2025 devices get a key (registered out of band, as the standard has it), so that
        // they send encrypted packets.
        ingest::devices::key_simulated_2025(&db).await?;
        let devices = ingest::devices::active_for_simulation(&db, 10_000).await?;
        println!(
            "{} simulated devices report to the HJ 212 gateway on {}",
            devices.len(),
            args.hj212
        );
        ingest::simulate::spawn_live(devices, args.hj212);
        let config = AppConfig {
            demo: true,
            data_dir: args.data_dir.clone(),
            ..AppConfig::default()
        };
        serve(db, config, ingest::Config::default(), args.http, args.hj212).await
    })
}

/// Shows the first start's progress in the terminal: a spinner per step on a terminal, a plain line per step
/// otherwise (a log file, CI).
struct DemoProgress {
    bar: std::sync::Mutex<Option<indicatif::ProgressBar>>,
    terminal: bool,
}

impl DemoProgress {
    fn new() -> DemoProgress {
        DemoProgress {
            bar: std::sync::Mutex::new(None),
            terminal: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        }
    }

    fn report(&self, progress: demo::Progress<'_>) {
        // A poisoned lock only means an earlier report panicked; the spinner is cosmetic.
        let mut bar = self
            .bar
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match progress {
            demo::Progress::Started { step, of, label } => {
                if step == 1 {
                    eprintln!(
                        "首次启动：正在生成模拟东丽区及其 2024 年至今的历史数据（release 版约 20 秒，debug 版约数分钟；以后启动直接打开）"
                    );
                }
                let message = format!("[{step}/{of}] {label}……");
                if self.terminal {
                    let spinner = indicatif::ProgressBar::new_spinner();
                    spinner.set_message(message);
                    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
                    *bar = Some(spinner);
                } else {
                    eprintln!("{message}");
                }
            }
            demo::Progress::Finished {
                step,
                of,
                label,
                seconds,
                ..
            } => {
                let message = format!("[{step}/{of}] {label}：完成，{seconds:.1} 秒");
                match bar.take() {
                    Some(spinner) => spinner.finish_with_message(message),
                    None => eprintln!("{message}"),
                }
            }
        }
    }
}

/// Raises the soft limit of open files to the hard limit (the soft one is often 1,024, which 1,100 idle
/// gateway connections exhausted, starving the web server) and logs both; returns the soft limit in force.
fn raise_open_files_limit() -> Option<u64> {
    let (soft, hard) = match rlimit::getrlimit(rlimit::Resource::NOFILE) {
        Ok(limits) => limits,
        Err(e) => {
            tracing::warn!("open-files limit not read: {e}");
            return None;
        }
    };
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(raised) => {
            tracing::info!("open-files limit: soft {soft} raised to {raised} (hard {hard})");
            Some(raised)
        }
        Err(e) => {
            tracing::warn!("open-files limit stays at soft {soft} (hard {hard}): {e}");
            Some(soft)
        }
    }
}

/// The gateway's connection cap under the open-files limit, leaving the web server's connections and
/// [`ingest::gateway::FD_RESERVE_OTHER`] free; logged.
fn cap_gateway_connections(gateway: &mut ingest::Config, web: &AppConfig, fd_limit: Option<u64>) {
    let Some(fd_limit) = fd_limit else { return };
    let reserve = u64::try_from(web.http_max_connections)
        .unwrap_or(u64::MAX)
        .saturating_add(ingest::gateway::FD_RESERVE_OTHER);
    let cap = ingest::connection_cap(gateway.max_connections, fd_limit, reserve);
    if cap < gateway.max_connections {
        tracing::warn!(
            "HJ 212 gateway limited to {cap} connections (configured {}): the open-files limit {fd_limit} less \
             {reserve} kept for the web server ({} connections), the database and files; raise the hard limit \
             (LimitNOFILE=, ulimit -Hn) for more",
            gateway.max_connections,
            web.http_max_connections
        );
        gateway.max_connections = cap;
    }
    tracing::info!(
        "connection caps: HJ 212 gateway {}, web server {} (open-files limit {fd_limit})",
        gateway.max_connections,
        web.http_max_connections
    );
}

async fn serve(
    db: Db,
    config: AppConfig,
    mut gateway_config: ingest::Config,
    http: SocketAddr,
    hj212: SocketAddr,
) -> anyhow::Result<ExitCode> {
    cap_gateway_connections(&mut gateway_config, &config, raise_open_files_limit());
    // Each area's start-up step (e.g. the year's targets from the 2024 plan), before anyone can connect.
    kernel::area::run_on_start(&db, areas::ALL).await?;
    let state = AppState::new(db.clone(), config);
    let listener = tokio::net::TcpListener::bind(http)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {http}: {e}"))?;
    let gateway_listener = ingest::listen(hj212)
        .map_err(|e| anyhow::anyhow!("cannot listen on {hj212} (HJ 212 gateway): {e}"))?;
    tracing::info!("web platform on http://{http}, HJ 212 gateway on {hj212}");
    println!(
        "青山 Qingshan is running: open http://{http}, devices connect to {hj212} (Ctrl-C to stop)"
    );
    // One stop signal for both servers: Ctrl-C, or either of them ending (a failure stops the other too).
    let stop = std::sync::Arc::new(tokio::sync::watch::channel(false).0);
    let ctrl_c = {
        let stop = stop.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            stop.send_replace(true);
        })
    };
    let stopped = |stop: &tokio::sync::watch::Sender<bool>| {
        let mut rx = stop.subscribe();
        async move {
            let _ = rx.wait_for(|stopped| *stopped).await;
        }
    };
    // The areas' background jobs (session sweep, complaint escalation, retention, the alarm worker, …).
    let jobs = kernel::area::spawn_jobs(&state, areas::ALL);
    let web = async {
        let result = web::serve(state, listener, stopped(stop.as_ref())).await;
        stop.send_replace(true);
        result
    };
    let gateway = async {
        let result = ingest::run(
            db.clone(),
            gateway_listener,
            gateway_config,
            stopped(stop.as_ref()),
        )
        .await;
        stop.send_replace(true);
        result
    };
    let (web_result, gateway_result) = tokio::join!(web, gateway);
    for job in jobs {
        job.abort();
    }
    ctrl_c.abort();
    db.close().await;
    web_result?;
    gateway_result?;
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C, or SIGTERM (what service managers send to stop a server).
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}
