//! Database access for both backends through one portable SQL dialect.
//!
//! Workflow data goes through `sqlx::AnyPool` with these rules, so that every query runs unchanged on SQLite
//! and PostgreSQL: placeholders are `$n`; timestamps are `i64` Unix seconds (UTC); flags are `BIGINT` 0/1
//! (the Any driver cannot decode a SQLite `BOOLEAN` column; see [`flag`]);
//! JSON is `TEXT`; every aggregate is `CAST` to `BIGINT` or `DOUBLE PRECISION` (PostgreSQL would otherwise
//! return `NUMERIC`, which `Any` cannot decode). Only this module and the readings store know which backend
//! is underneath.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyArguments, AnyPoolOptions};
use sqlx::{AnyPool, Arguments, AssertSqlSafe, Encode, Executor, Type};

/// Which engine a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            anyhow::bail!("unsupported database URL {url:?}: expected sqlite:… or postgres://…")
        }
    }
}

/// The connection pool every repository takes. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    /// Where writes go. On SQLite, one connection shared by every clone and by [`Db::connect_again`]: the
    /// database has one writer at a time anyway, and waiting for this pool is first come, first served,
    /// whereas writers on several connections retry on SQLite's busy handler, which is not fair, so under a
    /// steady stream of writes one of them could wait past the busy timeout and fail (measured: a few 500s
    /// per thousand writes beside a busy gateway). On PostgreSQL the same pool as `pool`.
    writer: AnyPool,
    /// False for a [`Db::connect_again`] that shares its parent's writer, which closing it leaves open.
    owns_writer: bool,
    backend: Backend,
    /// The working-day calendar loaded from this database (crate `workcal` fills and refreshes it), so that
    /// per-case deadline arithmetic does not query.
    calendar: CalendarCache,
    /// The URL it was opened with, for [`Db::connect_again`].
    url: std::sync::Arc<str>,
    /// Seals secrets stored in this database (see [`crate::secrets`]); `None`: they are stored in clear.
    master_key: Option<std::sync::Arc<crate::secrets::MasterKey>>,
    /// On PostgreSQL, a native pool (opened lazily: no connection until first used) for what the Any driver
    /// cannot do: `COPY FROM STDIN`, which the readings store's bulk writes use.
    postgres: Option<sqlx::PgPool>,
}

/// The in-memory copy of a database's working-day calendar, shared by every clone of a [`Db`].
pub type CalendarCache =
    std::sync::Arc<std::sync::RwLock<Option<std::sync::Arc<crate::calendar::Calendar>>>>;

/// SQLite page cache of the writer connection: 32 MiB instead of 2, because the gateway's batches touch a few
/// pages per device, and with thousands of devices the default cache re-read them on every batch.
const WRITER_CACHE_KIB: i64 = 32 * 1024;

/// SQLite page cache of each reader connection: 8 MiB. The readers' pages are also in the operating system's
/// file cache, which all connections share, whereas each connection's own cache holds a private copy: 32 MiB on
/// each of the 8 readers and the gateway's pool would let the caches alone take some 300 MB of resident memory
/// under load (BENCHMARKS.md "Under load"), for pages that a read from the OS cache returns in microseconds.
const READER_CACHE_KIB: i64 = 8 * 1024;

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

impl Db {
    /// Connects to `url`. A SQLite file (and its directory) is created when missing.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let max_connections = match Backend::from_url(url)? {
            // One writer at a time anyway; a few readers beside it under WAL.
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        };
        Self::connect_with(url, max_connections, None).await
    }

    /// A second pool of at most `max_connections` on the same database (sharing the calendar cache), for a
    /// component that runs on a tokio runtime of its own, such as the HJ 212 gateway's writer thread. A
    /// connection belongs to the runtime that opened it (a PostgreSQL socket is registered with that
    /// runtime's I/O driver), so one pool shared by two runtimes would hand connections of the one to the other,
    /// which then wait on a driver that is busy or gone.
    pub async fn connect_again(&self, max_connections: u32) -> anyhow::Result<Db> {
        // A SQLite connection runs on a thread of its own and answers any runtime; one writer for the whole
        // process keeps the queue for the write lock fair between the gateway and the web server.
        let shared_writer = (self.backend == Backend::Sqlite).then(|| self.writer.clone());
        let mut again = Self::connect_with(&self.url, max_connections, shared_writer).await?;
        again.calendar = self.calendar.clone();
        again.master_key = self.master_key.clone();
        Ok(again)
    }

    async fn connect_with(
        original_url: &str,
        max_connections: u32,
        shared_writer: Option<AnyPool>,
    ) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(original_url)?;
        let url = match backend {
            Backend::Sqlite => sqlite_url_creating_file(original_url)?,
            Backend::Postgres => postgres_url_without_statement_cache(original_url),
        };
        let pool = Self::open_pool(&url, backend, max_connections, READER_CACHE_KIB).await?;
        let owns_writer = shared_writer.is_none();
        let writer = match (backend, shared_writer) {
            (Backend::Sqlite, Some(shared)) => shared,
            (Backend::Sqlite, None) => Self::open_pool(&url, backend, 1, WRITER_CACHE_KIB).await?,
            (Backend::Postgres, _) => pool.clone(),
        };
        let postgres = match backend {
            // The native driver binds real types (no NULL-as-f32 of the Any driver), so its statement cache
            // can stay on: the original URL, not `url`.
            Backend::Postgres => Some(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(max_connections.clamp(1, 4))
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_lazy(original_url)
                    .map_err(|e| {
                        anyhow::anyhow!("cannot open database {}: {e}", redact(original_url))
                    })?,
            ),
            Backend::Sqlite => None,
        };
        Ok(Db {
            pool,
            writer,
            owns_writer,
            backend,
            calendar: CalendarCache::default(),
            url: original_url.into(),
            master_key: None,
            postgres,
        })
    }

    async fn open_pool(
        url: &str,
        backend: Backend,
        max_connections: u32,
        cache_kib: i64,
    ) -> anyhow::Result<AnyPool> {
        let options = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30));
        let options = if backend == Backend::Sqlite {
            options.after_connect(move |conn, _meta| {
                Box::pin(async move {
                    // WAL lets pages read while the gateway writes; NORMAL is durable across process crashes
                    // under WAL (only an OS crash can lose the last transactions).
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    // Another process (an import beside the server) still queues on the busy handler.
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    // Multi-row upserts keep a statement journal; in memory it is not a file created and
                    // deleted per statement (seen in profiles of the gateway).
                    conn.execute("PRAGMA temp_store = MEMORY").await?;
                    // Page cache per connection, in KiB (negative cache_size): see WRITER_CACHE_KIB and
                    // READER_CACHE_KIB.
                    let pragma = format!("PRAGMA cache_size = -{cache_kib}");
                    conn.execute(AssertSqlSafe(pragma)).await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        options
            .connect(url)
            .await
            .map_err(|e| anyhow::anyhow!("cannot open database {}: {e}", redact(url)))
    }

    /// Applies the embedded schema migrations of this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        migrator
            .run(&self.pool)
            .await
            .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
        Ok(())
    }

    /// Starts a transaction that will write. On SQLite a plain `BEGIN` is deferred: the read lock it takes first
    /// must later be upgraded, and that upgrade fails at once with "database is locked" when another writer got
    /// there meanwhile (the busy timeout does not apply to it; measured: concurrent edits gave 500s).
    /// `BEGIN IMMEDIATE` takes the write lock up front, so writers queue on the busy timeout instead.
    /// PostgreSQL needs nothing of the kind.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.writer.begin().await,
        }
    }

    /// Versions of the embedded migrations not yet applied to this database.
    pub async fn pending_migrations(&self) -> anyhow::Result<Vec<i64>> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        };
        let applied: Vec<i64> = match sqlx::query_scalar::<_, i64>(
            "SELECT version FROM _sqlx_migrations WHERE success = TRUE",
        )
        .fetch_all(&self.pool)
        .await
        {
            Ok(v) => v,
            // No migration table yet: nothing applied.
            Err(sqlx::Error::Database(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(migrator
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect())
    }

    /// The database's URL: part of the keys of process-wide caches, which tests share between databases.
    pub fn url(&self) -> String {
        self.pool.connect_options().database_url.to_string()
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool a statement that writes outside [`Db::begin_write`] runs on (see the field `writer`). Never
    /// take it while holding a write transaction: on SQLite it is the same single connection.
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// The native PostgreSQL pool (`None` on SQLite), for `COPY` and nothing else: every other statement goes
    /// through [`Db::pool`] or [`Db::writer`] in the portable dialect.
    pub fn postgres(&self) -> Option<&sqlx::PgPool> {
        self.postgres.as_ref()
    }

    /// A write transaction on the native PostgreSQL pool ([`Db::postgres`]), for the statements the Any
    /// driver cannot send (COPY); `None` on SQLite, whose writes go through [`Db::begin_write`].
    pub async fn begin_postgres_write(
        &self,
    ) -> Result<Option<sqlx::Transaction<'static, sqlx::Postgres>>, sqlx::Error> {
        match &self.postgres {
            Some(pool) => pool.begin().await.map(Some),
            None => Ok(None),
        }
    }

    /// The cached working-day calendar of this database (see `workcal::service::calendar`).
    pub fn calendar_cache(&self) -> &CalendarCache {
        &self.calendar
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// This handle with the key that seals stored secrets (device keys).
    pub fn with_master_key(mut self, key: crate::secrets::MasterKey) -> Db {
        self.master_key = Some(std::sync::Arc::new(key));
        self
    }

    pub fn master_key(&self) -> Option<&crate::secrets::MasterKey> {
        self.master_key.as_deref()
    }

    /// Whether the database answers a trivial query (the health check).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
        if self.owns_writer {
            self.writer.close().await;
        }
        if let Some(postgres) = &self.postgres {
            postgres.close().await;
        }
    }
}

/// Hides the password of a database URL in messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn sqlite_url_creating_file(url: &str) -> anyhow::Result<String> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        anyhow::bail!("an in-memory SQLite database cannot be shared by a pool; give a file path");
    }
    if let Some(dir) = Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create directory {}: {e}", dir.display()))?;
    }
    let mode = if query.contains("mode=") {
        ""
    } else {
        "mode=rwc"
    };
    let sep = if query.is_empty() || mode.is_empty() {
        ""
    } else {
        "&"
    };
    Ok(format!("sqlite://{path}?{query}{sep}{mode}"))
}

/// sqlx's Any driver encodes a NULL `f64` as a NULL `f32`; PostgreSQL prepares the statement with that type, and
/// the next use of the cached statement with a real `f64` fails ("incorrect binary data format in bind
/// parameter", measured: `crates/kernel/tests/schema.rs`). Without the statement cache every execution is
/// prepared with the types it actually binds. The cost is one parse per statement, small beside the round trip.
fn postgres_url_without_statement_cache(url: &str) -> String {
    if url.contains("statement-cache-capacity=") {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}statement-cache-capacity=0")
}

/// The SQLite URL of a file in a data directory.
pub fn sqlite_url_for_dir(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("qingshan.db").display())
}

/// Builds SQL with `$n` placeholders and its arguments together, for lists with optional filters.
/// (`sqlx::QueryBuilder<Any>` writes `?`, which PostgreSQL rejects.)
#[derive(Default)]
pub struct SqlBuilder {
    sql: String,
    args: AnyArguments,
    count: usize,
}

impl SqlBuilder {
    pub fn new(sql: &str) -> Self {
        SqlBuilder {
            sql: sql.to_string(),
            ..Default::default()
        }
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends `$n` and binds `value` to it.
    pub fn push_bind<T>(&mut self, value: T) -> &mut Self
    where
        T: for<'q> Encode<'q, sqlx::Any> + Type<sqlx::Any>,
    {
        self.count += 1;
        self.sql.push('$');
        self.sql.push_str(&self.count.to_string());
        // Encoding into the Any buffer only fails for types Any does not know, which `T: Type<Any>` excludes.
        let _ = self.args.add(value);
        self
    }

    /// Appends `{column} IN ($n, …)` with one bound id each; with no ids, a condition that is never true
    /// (`IN ()` is not SQL). For filtering by ids another area gave (e.g. the enterprises of a street).
    pub fn push_id_in(&mut self, column: &str, ids: &[i64]) -> &mut Self {
        if ids.is_empty() {
            return self.push("1 = 0");
        }
        self.push(column).push(" IN (");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push_bind(*id);
        }
        self.push(")")
    }

    pub fn sql(&self) -> &str {
        &self.sql
    }

    pub fn build(self) -> sqlx::query::Query<'static, sqlx::Any, AnyArguments> {
        sqlx::query_with(AssertSqlSafe(self.sql), self.args)
    }

    pub fn build_as<O>(self) -> sqlx::query::QueryAs<'static, sqlx::Any, O, AnyArguments>
    where
        O: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        sqlx::query_as_with(AssertSqlSafe(self.sql), self.args)
    }

    pub fn build_scalar<O>(self) -> sqlx::query::QueryScalar<'static, sqlx::Any, O, AnyArguments>
    where
        O: Type<sqlx::Any> + for<'r> sqlx::Decode<'r, sqlx::Any> + Send + Unpin,
    {
        sqlx::query_scalar_with(AssertSqlSafe(self.sql), self.args)
    }
}

/// Bound parameters per multi-row statement (SQLite allows 32,766, PostgreSQL 65,535).
pub const MAX_PARAMETERS: usize = 30_000;

/// Multi-row statements with placeholders each backend handles in linear time: SQLite looks named `$n`
/// parameters up in a list (quadratic in the statement's parameters: measured, 30,000 `$n` per statement
/// wrote 50,000 hourly rows in 85 s), so it gets anonymous `?`; PostgreSQL gets `$n`. Use it for bulk writes;
/// [`SqlBuilder`] for everything else.
pub struct BulkStatement {
    sql: String,
    args: AnyArguments,
    count: usize,
    positional: bool,
}

impl BulkStatement {
    pub fn new(backend: Backend, sql: &str) -> Self {
        BulkStatement {
            sql: sql.to_string(),
            args: AnyArguments::default(),
            count: 0,
            positional: backend == Backend::Sqlite,
        }
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder and binds `value` to it.
    pub fn bind<T>(&mut self, value: T) -> &mut Self
    where
        T: for<'q> Encode<'q, sqlx::Any> + Type<sqlx::Any>,
    {
        self.count += 1;
        if self.positional {
            self.sql.push('?');
        } else {
            self.sql.push('$');
            self.sql.push_str(&self.count.to_string());
        }
        // Encoding into the Any buffer only fails for types Any does not know, which the bound excludes.
        let _ = self.args.add(value);
        self
    }

    /// Parameters bound so far.
    pub fn parameters(&self) -> usize {
        self.count
    }

    pub fn build(self) -> sqlx::query::Query<'static, sqlx::Any, AnyArguments> {
        sqlx::query_with(AssertSqlSafe(self.sql), self.args)
    }

    pub async fn execute(self, conn: &mut sqlx::AnyConnection) -> Result<(), sqlx::Error> {
        self.build().execute(conn).await?;
        Ok(())
    }
}

/// A boolean as stored: `BIGINT` 0/1 on both backends.
pub fn flag(value: bool) -> i64 {
    i64::from(value)
}

/// Whether an error is a unique-constraint violation (on either backend).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.is_unique_violation()
                || db
                    .code()
                    .is_some_and(|c| c == "23505" || c == "2067" || c == "1555")
        }
        _ => false,
    }
}

/// Whether PostgreSQL refused a text value it cannot store: the NUL character (SQLSTATE 22021,
/// character_not_in_repertoire) or bytes that are not UTF-8 (22P05). SQLite stores either. The HTTP layer
/// refuses NUL before it gets here; this is the backstop that keeps such input a 422 and never a 500.
pub fn is_unstorable_text(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => db.code().is_some_and(|c| c == "22021" || c == "22P05"),
        _ => false,
    }
}

/// Whether an error is a foreign-key violation (on either backend).
pub fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => {
            db.is_foreign_key_violation() || db.code().is_some_and(|c| c == "23503" || c == "787")
        }
        _ => false,
    }
}

impl FromStr for Backend {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Backend::from_url(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_numbers_placeholders() {
        let mut b = SqlBuilder::new("SELECT * FROM t WHERE 1=1");
        b.push(" AND a = ").push_bind(1_i64);
        b.push(" AND b = ").push_bind("x".to_string());
        assert_eq!(b.sql(), "SELECT * FROM t WHERE 1=1 AND a = $1 AND b = $2");
    }

    #[test]
    fn redacts_password() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(redact("postgres://u@h:5432/db"), "postgres://u@h:5432/db");
    }

    #[test]
    fn postgres_urls_turn_the_statement_cache_off() {
        assert_eq!(
            postgres_url_without_statement_cache("postgres://u@h/db"),
            "postgres://u@h/db?statement-cache-capacity=0"
        );
        assert_eq!(
            postgres_url_without_statement_cache("postgres://u@h/db?options=x"),
            "postgres://u@h/db?options=x&statement-cache-capacity=0"
        );
    }

    #[test]
    fn sqlite_urls_create_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x/y.db");
        let url = sqlite_url_creating_file(&format!("sqlite://{}", path.display())).unwrap();
        assert!(url.ends_with("y.db?mode=rwc"));
        assert!(path.parent().unwrap().is_dir());
        assert!(sqlite_url_creating_file("sqlite::memory:").is_err());
    }
}
