//! The readings store: wide sparse rows on SQLite and PostgreSQL (see the migration's header).
//!
//! Writes never overwrite: a value already stored for (point, period, ts, factor) is kept, an equal value sent
//! again changes nothing, a different one is counted as a conflict. Every write returns the (point, CST day)
//! pairs it changed, so that exactly those roll-ups are recomputed.

use std::borrow::{Borrow, Cow};
use std::collections::{BTreeMap, BTreeSet, HashMap};

use kernel::db::SqlBuilder;
use kernel::{Backend, Db};
use serde::Serialize;
use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::factors::{self, CATALOGUE};
use crate::model::{Cell, DataFlag, Period, Reading};

pub(crate) use kernel::db::{BulkStatement, MAX_PARAMETERS};

mod postgres;

pub(crate) use postgres::replace_rollups as replace_rollups_postgres;

/// Rows per transaction: large enough to amortise the commit, small enough to keep a batch's memory modest.
const ROWS_PER_TRANSACTION: usize = 8_000;
/// Conflicts listed in a write's result (all are counted).
const CONFLICT_SAMPLES: usize = 100;

/// Writes are serialised inside the process: SQLite has one writer anyway, and on PostgreSQL it keeps the
/// read-compare-write of a batch free of lost updates between our own writers.
static WRITE_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One stored row: every cell of one point, period and instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub point_id: i64,
    pub period: Period,
    pub ts: i64,
    /// One slot per catalogued factor, in [`CATALOGUE`] order.
    pub cells: Vec<Option<Cell>>,
    /// Factors not in the catalogue, by code.
    pub extra: BTreeMap<String, Cell>,
}

impl Row {
    pub fn new(point_id: i64, period: Period, ts: i64) -> Row {
        Row {
            point_id,
            period,
            ts,
            cells: vec![None; CATALOGUE.len()],
            extra: BTreeMap::new(),
        }
    }

    /// Sets a factor's cell (catalogued or extra).
    pub fn set(&mut self, factor: &str, cell: Cell) {
        match factors::index_of(factor) {
            Some(i) => self.cells[i] = Some(cell),
            None => {
                self.extra.insert(factor.to_string(), cell);
            }
        }
    }

    pub fn get(&self, factor: &str) -> Option<Cell> {
        match factors::index_of(factor) {
            Some(i) => self.cells[i],
            None => self.extra.get(factor).copied(),
        }
    }

    /// Every present cell as (factor code, cell).
    pub fn iter(&self) -> impl Iterator<Item = (&str, Cell)> {
        CATALOGUE
            .iter()
            .zip(&self.cells)
            .filter_map(|(f, c)| c.filter(Cell::is_present).map(|c| (f.code, c)))
            .chain(
                self.extra
                    .iter()
                    .filter(|(_, c)| c.is_present())
                    .map(|(k, c)| (k.as_str(), *c)),
            )
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// `a34004=D;a21026=C`, or `None` when every flag is N.
    pub fn flags_text(&self) -> Option<String> {
        let text = self
            .iter()
            .filter(|(_, c)| !c.flag.is_normal())
            .map(|(code, c)| format!("{code}={}", c.flag.as_char()))
            .collect::<Vec<_>>()
            .join(";");
        (!text.is_empty()).then_some(text)
    }

    pub fn extra_json(&self) -> Option<String> {
        let present: serde_json::Map<String, serde_json::Value> = self
            .extra
            .iter()
            .filter(|(_, c)| c.is_present())
            .map(|(k, c)| (k.clone(), serde_json::json!(c.value)))
            .collect();
        (!present.is_empty()).then(|| serde_json::Value::Object(present).to_string())
    }
}

/// A (point, CST day) whose roll-ups must be recomputed. `day` is [`kernel::time::cst_day_number`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
pub struct DirtyDay {
    pub point_id: i64,
    pub day: i64,
}

/// A value that differs from the one already stored; the stored one was kept.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Conflict {
    pub point_id: i64,
    pub period: Period,
    pub ts: i64,
    pub factor: String,
    pub stored_value: Option<f64>,
    pub stored_flag: DataFlag,
    pub sent_value: Option<f64>,
    pub sent_flag: DataFlag,
}

/// What a write did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WriteOutcome {
    /// New rows (point, period, instant).
    pub rows_inserted: u64,
    /// Existing rows that received new factors.
    pub rows_updated: u64,
    /// Values (cells) stored by this write.
    pub values_written: u64,
    /// Values already stored with the same value and flag.
    pub values_unchanged: u64,
    /// Values that differ from the stored ones (kept; never silently rewritten).
    pub conflicts: u64,
    /// The first conflicts, for the report.
    pub conflict_samples: Vec<Conflict>,
    /// The (point, CST day) pairs whose roll-ups are stale.
    #[serde(skip)]
    pub dirty: BTreeSet<DirtyDay>,
    /// The (point, CST day) pairs in which a row met a stored one at its key (merged, unchanged or in
    /// conflict): there, what is stored is not simply the rows written.
    #[serde(skip)]
    pub met_stored: BTreeSet<DirtyDay>,
}

impl WriteOutcome {
    pub fn absorb(&mut self, other: WriteOutcome) {
        self.rows_inserted += other.rows_inserted;
        self.rows_updated += other.rows_updated;
        self.values_written += other.values_written;
        self.values_unchanged += other.values_unchanged;
        self.conflicts += other.conflicts;
        for c in other.conflict_samples {
            if self.conflict_samples.len() < CONFLICT_SAMPLES {
                self.conflict_samples.push(c);
            }
        }
        self.dirty.extend(other.dirty);
        self.met_stored.extend(other.met_stored);
    }
}

/// Where a batch of readings came from (`reading_sources`).
#[derive(Debug, Clone)]
pub struct NewSource {
    /// `file`, `packet`, `api` or `simulation`.
    pub kind: &'static str,
    pub name: String,
    pub checksum: Option<String>,
    pub received_by: String,
    pub idempotency_key: Option<String>,
}

/// The first source of `kind` named `name`, if one was recorded (a simulation writes once per seed).
pub async fn source_named(db: &Db, kind: &str, name: &str) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM reading_sources WHERE kind = $1 AND name = $2 ORDER BY id LIMIT 1",
    )
    .bind(kind)
    .bind(name)
    .fetch_optional(db.pool())
    .await
}

/// The first file source with this checksum, if the same file was imported before.
pub async fn file_source_with_checksum(
    db: &Db,
    checksum: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM reading_sources WHERE kind = 'file' AND checksum = $1 ORDER BY id LIMIT 1",
    )
    .bind(checksum)
    .fetch_optional(db.pool())
    .await
}

pub async fn create_source(db: &Db, source: &NewSource) -> Result<i64, sqlx::Error> {
    create_source_in(&mut *db.writer().acquire().await?, source).await
}

/// [`create_source`] on the caller's connection or transaction.
pub async fn create_source_in(
    conn: &mut sqlx::AnyConnection,
    source: &NewSource,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO reading_sources (kind, name, checksum, received_at, received_by, idempotency_key) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(source.kind)
    .bind(&source.name)
    .bind(&source.checksum)
    .bind(kernel::time::now_ts())
    .bind(&source.received_by)
    .bind(&source.idempotency_key)
    .fetch_one(conn)
    .await
}

/// The answer stored for a pushed request with this idempotency key: `None` when the key is new,
/// `Some(None)` when its request has not finished (or failed).
pub async fn stored_response(db: &Db, key: &str) -> Result<Option<Option<String>>, sqlx::Error> {
    sqlx::query_scalar("SELECT response_json FROM reading_sources WHERE idempotency_key = $1")
        .bind(key)
        .fetch_optional(db.pool())
        .await
}

/// Keeps a pushed request's answer with its source, for a retry with the same idempotency key.
pub async fn record_response(db: &Db, source_id: i64, json: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE reading_sources SET response_json = $1 WHERE id = $2")
        .bind(json)
        .bind(source_id)
        .execute(db.writer())
        .await?;
    Ok(())
}

/// Narrow readings → wide rows (a later reading of the same cell in the input wins over an earlier one).
pub fn rows_from_readings(readings: &[Reading]) -> Vec<Row> {
    let mut rows: BTreeMap<(i64, Period, i64), Row> = BTreeMap::new();
    for r in readings {
        rows.entry((r.point_id, r.period, r.ts))
            .or_insert_with(|| Row::new(r.point_id, r.period, r.ts))
            .set(
                &r.factor,
                Cell {
                    value: r.value,
                    flag: r.flag,
                },
            );
    }
    rows.into_values().collect()
}

/// Checks what the database cannot hold: non-finite values and factor codes that are not codes.
pub fn check_rows(rows: &[Row]) -> Result<(), String> {
    for row in rows {
        // A catalogued column's code is one by construction: only the extras' codes came from outside.
        for (code, _) in row.extra.iter().filter(|(_, c)| c.is_present()) {
            if !factors::is_plausible_code(code) {
                return Err(format!("factor {code:?} is not an HJ 212 factor code"));
            }
        }
        if let Some((code, _)) = row
            .iter()
            .find(|(_, c)| c.value.is_some_and(|v| !v.is_finite()))
        {
            return Err(format!(
                "point {}, {} at {}: value is not a finite number",
                row.point_id, code, row.ts
            ));
        }
    }
    Ok(())
}

/// The store's in-process write lock (see [`WRITE_LOCK`]), for a caller that writes rows inside its own
/// transaction with [`write_rows_in`]. Take it before the transaction begins: a writer holding SQLite's lock
/// while it waits for this one could wait for ever.
pub struct WriteLock(#[allow(dead_code)] tokio::sync::MutexGuard<'static, ()>);

pub async fn lock_writes() -> WriteLock {
    WriteLock(WRITE_LOCK.lock().await)
}

/// Checks the rows, sorts them by key and merges rows with the same key (the later cell winning).
fn prepare_rows(rows: &mut Vec<Row>) -> anyhow::Result<()> {
    check_rows(rows).map_err(anyhow::Error::msg)?;
    rows.sort_by_key(|r| (r.point_id, r.period, r.ts));
    rows.dedup_by(|later, earlier| {
        if (later.point_id, later.period, later.ts)
            == (earlier.point_id, earlier.period, earlier.ts)
        {
            for (code, cell) in later.iter().map(|(c, cell)| (c.to_string(), cell)) {
                earlier.set(&code, cell);
            }
            true
        } else {
            false
        }
    });
    Ok(())
}

/// Writes rows (merging with what is stored) with `source_id` as their source. Rows with the same key in the
/// input are merged, the later cell winning.
pub async fn write_rows(
    db: &Db,
    source_id: i64,
    mut rows: Vec<Row>,
) -> anyhow::Result<WriteOutcome> {
    write_rows_kept(db, source_id, &mut rows).await
}

/// [`write_rows`], leaving the rows with the caller as they were written: checked, sorted by key, rows with
/// the same key merged (the import rolls up from them).
pub async fn write_rows_kept(
    db: &Db,
    source_id: i64,
    rows: &mut Vec<Row>,
) -> anyhow::Result<WriteOutcome> {
    prepare_rows(rows)?;
    let rows = &rows[..];
    let _lock = lock_writes().await;
    if db.backend() == Backend::Postgres {
        ensure_partitions(&mut *db.pool().acquire().await?, rows).await?;
    }
    let mut outcome = WriteOutcome::default();
    if db.postgres().is_some() {
        for batch in rows.chunks(ROWS_PER_TRANSACTION) {
            let mut tx = db
                .begin_postgres_write()
                .await?
                .ok_or_else(|| anyhow::anyhow!("no native PostgreSQL pool"))?;
            outcome.absorb(postgres::write_batch(&mut tx, source_id, batch).await?);
            tx.commit().await?;
        }
        return Ok(outcome);
    }
    for batch in rows.chunks(ROWS_PER_TRANSACTION) {
        // Take the write lock up front: a read-then-write transaction could otherwise fail with
        // SQLITE_BUSY_SNAPSHOT when another process (an import beside the server) wrote in between.
        let mut tx = db.begin_write().await?;
        outcome.absorb(write_batch(&mut tx, db.backend(), source_id, batch).await?);
        tx.commit().await?;
    }
    Ok(outcome)
}

/// Writes rows as [`write_rows`] does, inside the caller's transaction (which the caller commits), so that
/// the readings and whatever else the caller stores become durable together.
pub async fn write_rows_in(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    _lock: &WriteLock,
    source_id: i64,
    mut rows: Vec<Row>,
) -> anyhow::Result<WriteOutcome> {
    prepare_rows(&mut rows)?;
    if backend == Backend::Postgres {
        ensure_partitions(conn, &rows).await?;
    }
    write_batch(conn, backend, source_id, &rows).await
}

/// Writes narrow readings.
pub async fn write(db: &Db, source_id: i64, readings: &[Reading]) -> anyhow::Result<WriteOutcome> {
    write_rows(db, source_id, rows_from_readings(readings)).await
}

/// Yearly partitions are `[Jan 1 00:00 UTC, next Jan 1)`; years outside this span stay in the DEFAULT one.
const PARTITION_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

fn utc_year(ts: i64) -> i32 {
    use chrono::Datelike;
    chrono::DateTime::from_timestamp(ts, 0).map_or(0, |t| t.year())
}

fn year_start(year: i32) -> i64 {
    chrono::NaiveDate::from_ymd_opt(year, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(0, |t| t.and_utc().timestamp())
}

/// Creates the yearly partitions the rows need (PostgreSQL), before anything is written to those years, so
/// that the DEFAULT partition never holds a row of a year that later gets a partition of its own.
async fn ensure_partitions(conn: &mut sqlx::AnyConnection, rows: &[Row]) -> anyhow::Result<()> {
    let years: BTreeSet<i32> = rows
        .iter()
        .map(|r| utc_year(r.ts))
        .filter(|y| PARTITION_YEARS.contains(y))
        .collect();
    for year in years {
        let name = format!("readings_y{year}");
        let exists: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relname = $1 AND n.nspname = current_schema()",
        )
        .bind(&name)
        .fetch_one(&mut *conn)
        .await?;
        if exists == 0 {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE TABLE IF NOT EXISTS {name} PARTITION OF readings FOR VALUES FROM ({}) TO ({})",
                year_start(year),
                year_start(year + 1)
            )))
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// The SELECT list of every stored column, in the order [`decode_row`] reads them.
fn select_list() -> String {
    let all: Vec<usize> = (0..CATALOGUE.len()).collect();
    select_list_of(&all)
}

/// The SELECT list with only these catalogue columns (by index), in the order [`decode_row_of`] reads them.
fn select_list_of(columns: &[usize]) -> String {
    let mut s = String::from("point_id, period, ts");
    for &i in columns {
        s.push_str(", ");
        s.push_str(CATALOGUE[i].column);
    }
    s.push_str(", flags, extra");
    s
}

fn parse_flags(text: Option<&str>) -> HashMap<&str, DataFlag> {
    text.unwrap_or("")
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .filter_map(|(code, flag)| Some((code, DataFlag::parse(flag)?)))
        .collect()
}

fn decode_row(row: &AnyRow) -> Result<Row, sqlx::Error> {
    let all: Vec<usize> = (0..CATALOGUE.len()).collect();
    decode_row_of(row, &all)
}

/// Decodes a row selected with [`select_list_of`]`(columns)`, from either driver (the Any one, or the native
/// PostgreSQL one of the COPY path).
fn decode_row_of<R: sqlx::Row>(row: &R, columns: &[usize]) -> Result<Row, sqlx::Error>
where
    usize: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let period_text: String = row.try_get(1)?;
    let period = Period::parse(&period_text).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: "period".into(),
        source: format!("unknown period {period_text:?}").into(),
    })?;
    let mut out = Row::new(row.try_get(0)?, period, row.try_get(2)?);
    let flags_text: Option<String> = row.try_get(3 + columns.len())?;
    let flags = parse_flags(flags_text.as_deref());
    for (k, &i) in columns.iter().enumerate() {
        let value: Option<f64> = row.try_get(3 + k)?;
        let flag = flags.get(CATALOGUE[i].code).copied().unwrap_or_default();
        let cell = Cell { value, flag };
        if cell.is_present() {
            out.cells[i] = Some(cell);
        }
    }
    // A flag without a value on a column that holds no value anywhere in the span.
    for (code, flag) in &flags {
        if let Some(i) = factors::index_of(code)
            && out.cells[i].is_none()
        {
            out.cells[i] = Some(Cell {
                value: None,
                flag: *flag,
            });
        }
    }
    let extra_text: Option<String> = row.try_get(4 + columns.len())?;
    if let Some(text) = extra_text
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&text)
    {
        for (code, value) in map {
            let flag = flags.get(code.as_str()).copied().unwrap_or_default();
            out.extra.insert(
                code,
                Cell {
                    value: value.as_f64(),
                    flag,
                },
            );
        }
    }
    Ok(out)
}

/// Writes sorted, merged rows in the open transaction. A (point, period) with many rows in the batch (a file,
/// a backlog) is read once over its span and merged cell by cell. A point with only a few rows (the gateway's
/// batches: one minute of each of thousands of devices) would cost a read each, so its rows go in first with
/// `ON CONFLICT DO NOTHING … RETURNING`, and only those that turn out to be stored already are read and merged.
/// (Insert-first for every row made a file's write 75 % slower: the returned keys are decoded row by row.)
async fn write_batch(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    source_id: i64,
    batch: &[Row],
) -> anyhow::Result<WriteOutcome> {
    let mut outcome = WriteOutcome::default();
    // Rows of (point, period) groups too small to be worth a read of their own are tried as new first; rows
    // with nothing present store nothing.
    let mut few: Vec<Row> = Vec::new();
    let mut existing: Vec<&Row> = Vec::new();
    for group in batch.chunk_by(|a, b| (a.point_id, a.period) == (b.point_id, b.period)) {
        let group = group.iter().filter(|r| !r.is_empty());
        if group.clone().count() < ROWS_WORTH_A_READ {
            few.extend(group.cloned());
        } else {
            existing.extend(group);
        }
    }
    let inserted = insert_new(conn, backend, source_id, &few).await?;
    for row in &few {
        if inserted.contains(&(row.point_id, row.period, row.ts)) {
            outcome.rows_inserted += 1;
            outcome.values_written += row.iter().count() as u64;
            outcome.dirty.insert(DirtyDay {
                point_id: row.point_id,
                day: kernel::time::cst_day_number(row.ts),
            });
        } else {
            existing.push(row);
        }
    }
    if existing.is_empty() {
        return Ok(outcome);
    }
    existing.sort_by_key(|r| (r.point_id, r.period, r.ts));
    // What is stored already, per (point, period) over the span of its rows.
    let mut stored = HashMap::new();
    let sql = format!(
        "SELECT {} FROM readings WHERE point_id = $1 AND period = $2 AND ts >= $3 AND ts <= $4",
        select_list()
    );
    for group in existing.chunk_by(|a, b| (a.point_id, a.period) == (b.point_id, b.period)) {
        let (first, last) = (group[0], group[group.len() - 1]);
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
            .bind(first.point_id)
            .bind(first.period.as_str())
            .bind(first.ts)
            .bind(last.ts)
            .fetch_all(&mut *conn)
            .await?;
        for row in &rows {
            let row = decode_row(row)?;
            stored.insert((row.point_id, row.period, row.ts), row);
        }
    }
    let (to_write, resends) = merge(&mut outcome, existing, stored);
    upsert(conn, backend, source_id, &to_write).await?;
    insert_resends(conn, backend, source_id, &resends).await?;
    Ok(outcome)
}

/// Merges rows into the stored ones (`stored`, by key; a key missing there is a new row): counts what is
/// written, unchanged or in conflict into `outcome` with the dirty days, and returns the rows to write (merged,
/// and only those that changed) and the conflicting values to keep as resends.
fn merge<'a>(
    outcome: &mut WriteOutcome,
    rows: Vec<&'a Row>,
    mut stored: HashMap<(i64, Period, i64), Row>,
) -> (Vec<Cow<'a, Row>>, Vec<Conflict>) {
    let mut to_write: Vec<Cow<'a, Row>> = Vec::with_capacity(rows.len());
    let mut resends: Vec<Conflict> = Vec::new();
    for new in rows {
        let key = (new.point_id, new.period, new.ts);
        let day = DirtyDay {
            point_id: new.point_id,
            day: kernel::time::cst_day_number(new.ts),
        };
        let Some(mut merged) = stored.remove(&key).filter(|r| !r.is_empty()) else {
            // Nothing stored at this key (the whole of a first import): the row is written as it came.
            let present = new.iter().count() as u64;
            if present > 0 {
                outcome.values_written += present;
                outcome.rows_inserted += 1;
                outcome.dirty.insert(day);
                to_write.push(Cow::Borrowed(new));
            }
            continue;
        };
        outcome.met_stored.insert(day);
        let mut changed = false;
        let mut compare =
            |old: Option<Cell>, cell: Cell, code: &str| match old.filter(Cell::is_present) {
                None => {
                    outcome.values_written += 1;
                    changed = true;
                    true
                }
                Some(old) if old.same_as(&cell) => {
                    outcome.values_unchanged += 1;
                    false
                }
                Some(old) => {
                    outcome.conflicts += 1;
                    let conflict = Conflict {
                        point_id: new.point_id,
                        period: new.period,
                        ts: new.ts,
                        factor: code.to_string(),
                        stored_value: old.value,
                        stored_flag: old.flag,
                        sent_value: cell.value,
                        sent_flag: cell.flag,
                    };
                    if outcome.conflict_samples.len() < CONFLICT_SAMPLES {
                        outcome.conflict_samples.push(conflict.clone());
                    }
                    resends.push(conflict);
                    false
                }
            };
        for (i, cell) in new.cells.iter().enumerate() {
            if let Some(cell) = cell.filter(Cell::is_present)
                && compare(merged.cells[i], cell, CATALOGUE[i].code)
            {
                merged.cells[i] = Some(cell);
            }
        }
        for (code, cell) in new.extra.iter().filter(|(_, c)| c.is_present()) {
            if compare(merged.extra.get(code).copied(), *cell, code) {
                merged.extra.insert(code.clone(), *cell);
            }
        }
        if changed {
            outcome.rows_updated += 1;
            outcome.dirty.insert(day);
            to_write.push(Cow::Owned(merged));
        }
    }
    (to_write, resends)
}

/// The columns some of the rows use, as catalogue indexes.
fn used_columns<R: Borrow<Row>>(rows: &[R]) -> Vec<usize> {
    (0..CATALOGUE.len())
        .filter(|&i| {
            rows.iter()
                .any(|r| r.borrow().cells[i].is_some_and(|c| c.is_present()))
        })
        .collect()
}

/// The `INSERT INTO readings (…) VALUES (…), …` part for these rows and used columns.
fn insert_statement<R: Borrow<Row>>(
    backend: Backend,
    source_id: i64,
    used: &[usize],
    rows: &[R],
) -> BulkStatement {
    let mut b = BulkStatement::new(backend, "INSERT INTO readings (point_id, period, ts");
    for &i in used {
        b.push(", ").push(CATALOGUE[i].column);
    }
    b.push(", flags, extra, source_id) VALUES ");
    for (n, row) in rows.iter().enumerate() {
        let row = row.borrow();
        b.push(if n == 0 { "(" } else { ", (" });
        b.bind(row.point_id)
            .push(", ")
            .bind(row.period.as_str().to_string())
            .push(", ")
            .bind(row.ts);
        for &i in used {
            b.push(", ").bind(row.cells[i].and_then(|c| c.value));
        }
        b.push(", ")
            .bind(row.flags_text())
            .push(", ")
            .bind(row.extra_json())
            .push(", ")
            .bind(source_id)
            .push(")");
    }
    b
}

/// A (point, period) with at least this many rows in a batch is read over its span instead of inserted first.
const ROWS_WORTH_A_READ: usize = 8;

/// Rows per multi-row statement at most, whatever the parameter limit allows: SQLite's statement preparation
/// grows with the statement's length, and a few hundred rows already amortise a statement's fixed costs.
const ROWS_PER_STATEMENT: usize = 500;

fn rows_per_statement(used: &[usize]) -> usize {
    (MAX_PARAMETERS / (6 + used.len())).clamp(1, ROWS_PER_STATEMENT)
}

/// Inserts the rows whose key is not stored yet; returns the keys it inserted.
async fn insert_new(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    source_id: i64,
    rows: &[Row],
) -> Result<std::collections::HashSet<(i64, Period, i64)>, sqlx::Error> {
    let mut inserted = std::collections::HashSet::with_capacity(rows.len());
    if rows.is_empty() {
        return Ok(inserted);
    }
    let used = used_columns(rows);
    for chunk in rows.chunks(rows_per_statement(&used)) {
        let mut b = insert_statement(backend, source_id, &used, chunk);
        b.push(" ON CONFLICT (point_id, period, ts) DO NOTHING RETURNING point_id, period, ts");
        for row in b.build().fetch_all(&mut *conn).await? {
            let period: String = row.try_get(1)?;
            let period = Period::parse(&period).ok_or_else(|| sqlx::Error::ColumnDecode {
                index: "period".into(),
                source: format!("unknown period {period:?}").into(),
            })?;
            inserted.insert((row.try_get(0)?, period, row.try_get(2)?));
        }
    }
    Ok(inserted)
}

/// Multi-row upserts of complete (merged) rows; only the columns some row uses are named.
async fn upsert<R: Borrow<Row>>(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    source_id: i64,
    rows: &[R],
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let used = used_columns(rows);
    for chunk in rows.chunks(rows_per_statement(&used)) {
        let mut b = insert_statement(backend, source_id, &used, chunk);
        b.push(" ON CONFLICT (point_id, period, ts) DO UPDATE SET flags = excluded.flags, extra = excluded.extra");
        for &i in &used {
            let c = CATALOGUE[i].column;
            // COALESCE: even a concurrent writer outside this process cannot replace a stored value.
            b.push(&format!(", {c} = COALESCE(readings.{c}, excluded.{c})"));
        }
        b.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Stored rows of one point in `[from, to)`, for the given periods, ordered by period then time.
pub async fn rows(
    db: &Db,
    point_id: i64,
    periods: &[Period],
    from: i64,
    to: i64,
) -> Result<Vec<Row>, sqlx::Error> {
    // Most columns of a point are empty (an air station never fills the water columns): find the used ones
    // first, in one aggregate, so that only those are fetched and decoded.
    let mut count_sql = String::from("SELECT CAST(COUNT(*) AS BIGINT)");
    for f in CATALOGUE {
        count_sql.push_str(&format!(", CAST(COUNT({}) AS BIGINT)", f.column));
    }
    count_sql
        .push_str(" FROM readings WHERE point_id = $1 AND period = $2 AND ts >= $3 AND ts < $4");
    let mut out = Vec::new();
    for period in periods {
        let counts = sqlx::query(sqlx::AssertSqlSafe(count_sql.clone()))
            .bind(point_id)
            .bind(period.as_str())
            .bind(from)
            .bind(to)
            .fetch_one(db.pool())
            .await?;
        let total: i64 = counts.try_get(0)?;
        if total == 0 {
            continue;
        }
        let mut used = Vec::new();
        for i in 0..CATALOGUE.len() {
            if counts.try_get::<i64, _>(1 + i)? > 0 {
                used.push(i);
            }
        }
        let sql = format!(
            "SELECT {} FROM readings WHERE point_id = $1 AND period = $2 AND ts >= $3 AND ts < $4 ORDER BY ts",
            select_list_of(&used)
        );
        let fetched = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(point_id)
            .bind(period.as_str())
            .bind(from)
            .bind(to)
            .fetch_all(db.pool())
            .await?;
        for row in &fetched {
            out.push(decode_row_of(row, &used)?);
        }
    }
    Ok(out)
}

/// How many minute and hour rows a point has stored per CST day in `[from, to)` (readings times are 2000–2099,
/// so the day is a plain integer division); days without rows are absent. An index-only count: the
/// per-column counts of `rows` cost as much as reading the rows.
pub async fn minute_and_hour_rows_per_day(
    db: &Db,
    point_id: i64,
    from: i64,
    to: i64,
) -> Result<HashMap<i64, i64>, sqlx::Error> {
    // kernel::time::cst_day_number in SQL: CST is UTC+8.
    let day = format!(
        "CAST((ts + {}) / {} AS BIGINT)",
        8 * 3600,
        kernel::time::DAY_SECONDS
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {day}, CAST(COUNT(*) AS BIGINT) FROM readings WHERE point_id = $1 \
         AND period IN ('minute', 'hour') AND ts >= $2 AND ts < $3 GROUP BY {day}"
    )))
    .bind(point_id)
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect()
}

/// One factor's cells of a point in `[from, to)`, ordered by time then period, one page, with the total.
/// Reads only that factor's column (and the flags), which is what keeps a point-year series fast.
#[allow(clippy::too_many_arguments)]
pub async fn factor_series(
    db: &Db,
    point_id: i64,
    factor: &str,
    periods: &[Period],
    from: i64,
    to: i64,
    limit: i64,
    offset: i64,
) -> Result<(Vec<(Period, i64, Cell)>, i64), sqlx::Error> {
    let catalogued = factors::by_code(factor);
    let build = |select: &str| {
        let mut b = SqlBuilder::new(select);
        b.push(" FROM readings WHERE point_id = ")
            .push_bind(point_id);
        b.push(" AND period IN (");
        for (i, p) in periods.iter().enumerate() {
            if i > 0 {
                b.push(", ");
            }
            b.push_bind(p.as_str().to_string());
        }
        b.push(") AND ts >= ").push_bind(from);
        b.push(" AND ts < ").push_bind(to);
        // The code is checked by the caller (is_plausible_code): no quote can reach the SQL.
        match catalogued {
            Some(f) => {
                b.push(&format!(" AND ({} IS NOT NULL OR flags LIKE ", f.column))
                    .push_bind(format!("%{factor}=%"))
                    .push(")");
            }
            None => {
                b.push(" AND extra LIKE ")
                    .push_bind(format!("%\"{factor}\"%"));
            }
        }
        b
    };
    let total: i64 = build("SELECT CAST(COUNT(*) AS BIGINT)")
        .build_scalar()
        .fetch_one(db.pool())
        .await?;
    let value_column = catalogued.map_or("extra", |f| f.column);
    let mut b = build(&format!("SELECT period, ts, {value_column}, flags"));
    b.push(" ORDER BY ts, period LIMIT ").push_bind(limit);
    b.push(" OFFSET ").push_bind(offset);
    let fetched = b.build().fetch_all(db.pool()).await?;
    let mut out = Vec::with_capacity(fetched.len());
    for row in &fetched {
        let period: String = row.try_get(0)?;
        let Some(period) = Period::parse(&period) else {
            continue;
        };
        let flags: Option<String> = row.try_get(3)?;
        let flag = parse_flags(flags.as_deref())
            .get(factor)
            .copied()
            .unwrap_or_default();
        let value = match catalogued {
            Some(_) => row.try_get::<Option<f64>, _>(2)?,
            None => row
                .try_get::<Option<String>, _>(2)?
                .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                .and_then(|json| json.get(factor).and_then(serde_json::Value::as_f64)),
        };
        out.push((period, row.try_get(1)?, Cell { value, flag }));
    }
    Ok((out, total))
}

/// Keeps resent values that differ from the stored ones (`reading_resends`), in the write's transaction.
async fn insert_resends(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    source_id: i64,
    resends: &[Conflict],
) -> Result<(), sqlx::Error> {
    let now = kernel::time::now_ts();
    for chunk in resends.chunks(ROWS_PER_STATEMENT) {
        let mut b = BulkStatement::new(
            backend,
            "INSERT INTO reading_resends (point_id, period, ts, factor, value, flag, source_id, received_at) VALUES ",
        );
        for (i, c) in chunk.iter().enumerate() {
            if i > 0 {
                b.push(", ");
            }
            b.push("(").bind(c.point_id);
            b.push(", ").bind(c.period.as_str().to_string());
            b.push(", ").bind(c.ts);
            b.push(", ").bind(c.factor.clone());
            b.push(", ").bind(c.sent_value);
            b.push(", ").bind(c.sent_flag.as_char().to_string());
            b.push(", ").bind(source_id);
            b.push(", ").bind(now);
            b.push(")");
        }
        b.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A value re-sent after another one was stored for the same cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Resend {
    pub period: Period,
    pub ts: i64,
    pub factor: String,
    pub value: Option<f64>,
    pub flag: DataFlag,
    pub received_at: i64,
}

/// The re-sent values of a point in `[from, to)`, oldest arrival first.
pub async fn resends(
    db: &Db,
    point_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<Resend>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT period, ts, factor, value, flag, received_at FROM reading_resends \
         WHERE point_id = $1 AND ts >= $2 AND ts < $3 ORDER BY received_at, ts",
    )
    .bind(point_id)
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let period: String = row.try_get("period")?;
        let flag: String = row.try_get("flag")?;
        let (Some(period), Some(flag)) = (Period::parse(&period), DataFlag::parse(&flag)) else {
            continue;
        };
        out.push(Resend {
            period,
            ts: row.try_get("ts")?,
            factor: row.try_get("factor")?,
            value: row.try_get("value")?,
            flag,
            received_at: row.try_get("received_at")?,
        });
    }
    Ok(out)
}

/// The latest row of a point for a period, if any.
pub async fn latest_row(
    db: &Db,
    point_id: i64,
    period: Period,
) -> Result<Option<Row>, sqlx::Error> {
    let sql = format!(
        "SELECT {} FROM readings WHERE point_id = $1 AND period = $2 ORDER BY ts DESC LIMIT 1",
        select_list()
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(point_id)
        .bind(period.as_str())
        .fetch_optional(db.pool())
        .await?;
    row.as_ref().map(decode_row).transpose()
}

/// The catalogue columns (by index) in which a point has at least one stored value, any period.
pub async fn columns_with_values(db: &Db, point_id: i64) -> Result<Vec<usize>, sqlx::Error> {
    let counts: Vec<String> = CATALOGUE
        .iter()
        .map(|f| format!("CAST(COUNT({}) AS BIGINT)", f.column))
        .collect();
    let sql = format!(
        "SELECT {} FROM readings WHERE point_id = $1",
        counts.join(", ")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(point_id)
        .fetch_one(db.pool())
        .await?;
    let mut out = Vec::new();
    for i in 0..CATALOGUE.len() {
        if row.try_get::<i64, _>(i)? > 0 {
            out.push(i);
        }
    }
    Ok(out)
}

/// Points that have readings in `[from, to)` (any period).
pub async fn points_with_data(db: &Db, from: i64, to: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT point_id FROM readings WHERE ts >= $1 AND ts < $2 ORDER BY point_id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_extra_round_trip_as_text() {
        let mut row = Row::new(1, Period::Hour, 0);
        row.set(
            "a34004",
            Cell {
                value: Some(12.0),
                flag: DataFlag::D,
            },
        );
        row.set(
            "a21026",
            Cell {
                value: Some(3.0),
                flag: DataFlag::N,
            },
        );
        row.set(
            "x99999",
            Cell {
                value: None,
                flag: DataFlag::C,
            },
        );
        assert_eq!(row.flags_text().as_deref(), Some("a34004=D;x99999=C"));
        assert_eq!(row.extra_json().as_deref(), Some("{\"x99999\":null}"));
        let flags = parse_flags(Some("a34004=D;x99999=C"));
        assert_eq!(flags.get("a34004"), Some(&DataFlag::D));
        let empty = Row::new(1, Period::Hour, 0);
        assert_eq!(empty.flags_text(), None);
        assert!(empty.is_empty());
    }

    #[test]
    fn readings_merge_into_rows() {
        let r = |factor: &str, ts: i64, v: f64| Reading {
            point_id: 7,
            factor: factor.into(),
            ts,
            period: Period::Hour,
            value: Some(v),
            flag: DataFlag::N,
        };
        let rows = rows_from_readings(&[
            r("a34004", 0, 1.0),
            r("a34002", 0, 2.0),
            r("a34004", 3600, 3.0),
        ]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].iter().count(), 2);
        assert!(check_rows(&rows).is_ok());
        let bad = rows_from_readings(&[r("a34004", 0, f64::NAN)]);
        assert!(check_rows(&bad).is_err());
        let bad = rows_from_readings(&[r("drop table", 0, 1.0)]);
        assert!(check_rows(&bad).is_err());
    }
}
