//! Roll-ups computed by the platform from the audited tier, the same code on both backends.
//!
//! Rules, per kind of input (GB 3095-2012/2026 Table 4):
//! - **Hour from minute data**: expected 60 minute values; the hour is valid with ≥ 45 valid minutes
//!   ("≥ 45 min sampling per hour"). Stored as `period = 'hour'` roll-ups.
//! - **Hour reported by the device or file** (`period = 'hour'` readings): the audited hourly value itself (it
//!   is not copied into the roll-up table); valid when its flag is N (or it was corrected) and it lies in the
//!   factor's plausible range. A reported hour wins over one derived from minutes.
//! - **Day** (CST calendar day, 00:00–24:00 UTC+8) from the 24 hourly values: expected 24, observed = hours with
//!   a value, valid with ≥ 20 valid hours (GB 3095 daily rule; applied to every factor alike). Mean, min and max
//!   are over the valid hours; wind direction (a01008) is averaged as a unit vector.
//! - Real-time (`rtd`) values are not rolled up; daily values reported by devices are kept as reported, for
//!   comparison, and do not replace the platform's own.
//!
//! Coverage = n_valid / expected.

use std::collections::{BTreeMap, BTreeSet};

use kernel::Db;
use kernel::db::SqlBuilder;
use kernel::time::DAY_SECONDS;
use serde::Serialize;

use crate::audit::{self, Corrections};
use crate::factors::WIND_DIRECTION;
use crate::model::Period;
use crate::store::{self, DirtyDay, Row};

/// Minimum valid minutes for a valid hour.
pub const MIN_MINUTES_PER_HOUR: i64 = 45;
/// Minimum valid hours for a valid day.
pub const MIN_HOURS_PER_DAY: i64 = 20;
const HOUR: i64 = 3600;

/// One roll-up value.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Rollup {
    pub point_id: i64,
    pub factor: String,
    /// `hour` or `day`.
    pub period: Period,
    /// Unix seconds (UTC) of the period's start (a day starts at 00:00 CST).
    pub ts: i64,
    /// Values observed.
    pub n: i64,
    /// Valid values among them.
    pub n_valid: i64,
    /// Values expected (60 minutes, 24 hours).
    pub expected: i64,
    pub mean: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub valid: bool,
}

#[derive(Default, Clone, Copy)]
struct Acc {
    n: i64,
    n_valid: i64,
    sum: f64,
    sin: f64,
    cos: f64,
    min: f64,
    max: f64,
}

impl Acc {
    fn observe(&mut self, value: Option<f64>, valid: bool) {
        self.n += 1;
        if let (true, Some(v)) = (valid, value) {
            if self.n_valid == 0 {
                self.min = v;
                self.max = v;
            } else {
                self.min = self.min.min(v);
                self.max = self.max.max(v);
            }
            self.n_valid += 1;
            self.sum += v;
            let r = v.to_radians();
            self.sin += r.sin();
            self.cos += r.cos();
        }
    }

    fn mean(&self, factor: &str) -> Option<f64> {
        if self.n_valid == 0 {
            return None;
        }
        if factor == WIND_DIRECTION {
            if self.sin.abs() < 1e-12 && self.cos.abs() < 1e-12 {
                return None; // opposite winds cancel: no prevailing direction
            }
            return Some(self.sin.atan2(self.cos).to_degrees().rem_euclid(360.0));
        }
        Some(self.sum / self.n_valid as f64)
    }

    fn rollup(&self, point_id: i64, factor: &str, period: Period, ts: i64) -> Rollup {
        let (expected, needed) = match period {
            Period::Day => (24, MIN_HOURS_PER_DAY),
            _ => (60, MIN_MINUTES_PER_HOUR),
        };
        Rollup {
            point_id,
            factor: factor.to_string(),
            period,
            ts,
            n: self.n,
            n_valid: self.n_valid,
            expected,
            mean: self.mean(factor),
            min: (self.n_valid > 0).then_some(self.min),
            max: (self.n_valid > 0).then_some(self.max),
            valid: self.n_valid >= needed,
        }
    }
}

/// Roll-ups of one point and CST day from its minute and hour rows of that day (raw rows; `corrections`
/// turns them into the audited view). Returns the derived hours and the days.
pub fn compute_day(
    point_id: i64,
    day: i64,
    rows: &[Row],
    corrections: &Corrections,
) -> Vec<Rollup> {
    compute_day_keeping(point_id, day, rows, corrections, &[])
}

/// [`compute_day`] for a day whose minute data may have been removed by the retention sweep: `kept_hours` are
/// the hour roll-ups stored before; one whose (factor, hour) no longer has minute rows is kept as it was (and
/// counts in the day), so that a correction after the sweep never erases an hour it cannot recompute.
pub fn compute_day_keeping(
    point_id: i64,
    day: i64,
    rows: &[Row],
    corrections: &Corrections,
    kept_hours: &[Rollup],
) -> Vec<Rollup> {
    compute_day_of(point_id, day, rows, corrections, kept_hours)
}

/// [`compute_day_keeping`] over borrowed rows. Factors are keyed by the rows' own codes: a `String` per value
/// was most of the computation's time.
fn compute_day_of<'a>(
    point_id: i64,
    day: i64,
    rows: impl IntoIterator<Item = &'a Row>,
    corrections: &Corrections,
    kept_hours: &'a [Rollup],
) -> Vec<Rollup> {
    let day_start = day * DAY_SECONDS - 8 * HOUR;
    // (factor, hour start) → (observed, valid, value) of the hourly value.
    let mut hours: BTreeMap<(&str, i64), (Option<f64>, bool)> = BTreeMap::new();
    let mut minutes: BTreeMap<(&str, i64), Acc> = BTreeMap::new();
    let mut out = Vec::new();
    for row in rows {
        if row.ts < day_start || row.ts >= day_start + DAY_SECONDS {
            continue;
        }
        let hour = row.ts - (row.ts - day_start).rem_euclid(HOUR);
        match row.period {
            Period::Minute => {
                for (code, cell) in row.iter() {
                    let a = corrections.apply(row.period, row.ts, code, cell);
                    minutes
                        .entry((code, hour))
                        .or_default()
                        .observe(a.value, a.valid);
                }
            }
            Period::Hour => {
                for (code, cell) in row.iter() {
                    let a = corrections.apply(row.period, row.ts, code, cell);
                    hours.insert((code, hour), (a.value, a.valid));
                }
            }
            Period::Rtd | Period::Day => {}
        }
    }
    for (&(code, hour), acc) in &minutes {
        let rollup = acc.rollup(point_id, code, Period::Hour, hour);
        hours
            .entry((code, hour))
            .or_insert((rollup.mean, rollup.valid));
        out.push(rollup);
    }
    for kept in kept_hours {
        let key = (kept.factor.as_str(), kept.ts);
        let in_day = kept.ts >= day_start && kept.ts < day_start + DAY_SECONDS;
        if kept.period != Period::Hour || !in_day || minutes.contains_key(&key) {
            continue;
        }
        hours.entry(key).or_insert((kept.mean, kept.valid));
        out.push(kept.clone());
    }
    let mut days: BTreeMap<&str, Acc> = BTreeMap::new();
    for (&(code, _), (value, valid)) in &hours {
        days.entry(code).or_default().observe(*value, *valid);
    }
    for (code, acc) in days {
        out.push(acc.rollup(point_id, code, Period::Day, day_start));
    }
    out
}

/// Recomputes the roll-ups of exactly these (point, day) pairs (days of a point closer than a week apart are
/// recomputed as one span, which gives the same values for the days between). Returns the roll-ups written.
pub async fn recompute(db: &Db, dirty: &BTreeSet<DirtyDay>) -> anyhow::Result<u64> {
    let mut written = 0;
    let mut stages = Stages::default();
    let mut by_point: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for d in dirty {
        by_point.entry(d.point_id).or_default().push(d.day);
    }
    for (point_id, days) in by_point {
        let mut run_start = days[0];
        let mut run_end = days[0];
        for &day in days.iter().skip(1).chain(std::iter::once(&i64::MAX)) {
            if day != i64::MAX && day - run_end <= 7 {
                run_end = day;
                continue;
            }
            written += recompute_span(db, point_id, run_start, run_end, &mut stages).await?;
            run_start = day;
            run_end = day;
        }
    }
    if !dirty.is_empty() {
        tracing::debug!(
            days = dirty.len(),
            rollups = written,
            read_seconds = stages.read.as_secs_f64(),
            compute_seconds = stages.compute.as_secs_f64(),
            write_seconds = stages.write.as_secs_f64(),
            "roll-ups recomputed"
        );
    }
    Ok(written)
}

/// Where a recomputation's time went (logged at debug level).
#[derive(Default)]
struct Stages {
    read: std::time::Duration,
    compute: std::time::Duration,
    write: std::time::Duration,
}

/// One lock per point for its roll-ups: two recomputations of the same point's days, each reading the rows and
/// then replacing the roll-ups, must not interleave. On PostgreSQL the second one's insert met the rows the
/// first had just inserted (a unique violation: 500s under concurrent pushes and corrections), and whichever
/// wrote last could have written figures computed before the other's data was committed. Under the lock, the
/// recomputation that runs last reads every row committed before it began.
fn point_lock(point_id: i64) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    static LOCKS: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<i64, std::sync::Arc<tokio::sync::Mutex<()>>>>,
    > = std::sync::OnceLock::new();
    let locks = LOCKS.get_or_init(Default::default);
    // A poisoned map still holds valid entries: a panic elsewhere cannot leave an Arc half-inserted.
    let mut map = locks
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    map.entry(point_id).or_default().clone()
}

/// Days `first..=last` of one point.
async fn recompute_span(
    db: &Db,
    point_id: i64,
    first: i64,
    last: i64,
    stages: &mut Stages,
) -> anyhow::Result<u64> {
    let lock = point_lock(point_id);
    let _guard = lock.lock().await;
    let started = std::time::Instant::now();
    let from = first * DAY_SECONDS - 8 * HOUR;
    let to = (last + 1) * DAY_SECONDS - 8 * HOUR;
    let rows = store::rows(db, point_id, &[Period::Minute, Period::Hour], from, to).await?;
    let corrections = audit::latest_corrections(db, point_id, from, to).await?;
    // Hours before the minute-data horizon were derived from minutes the retention sweep has since removed.
    let horizon = crate::retention::minute_horizon(db).await?;
    let kept = if from < horizon {
        stored(db, point_id, None, Period::Hour, from, to.min(horizon)).await?
    } else {
        Vec::new()
    };
    let read = std::time::Instant::now();
    stages.read += read - started;
    let mut by_day: BTreeMap<i64, Vec<Row>> = BTreeMap::new();
    for row in rows {
        by_day
            .entry(kernel::time::cst_day_number(row.ts))
            .or_default()
            .push(row);
    }
    let mut rollups = Vec::new();
    for day in kept
        .iter()
        .map(|r| kernel::time::cst_day_number(r.ts))
        .collect::<BTreeSet<_>>()
    {
        by_day.entry(day).or_default();
    }
    for (day, rows) in &by_day {
        rollups.extend(compute_day_keeping(
            point_id,
            *day,
            rows,
            &corrections,
            &kept,
        ));
    }
    let computed = std::time::Instant::now();
    stages.compute += computed - read;
    let days: Vec<i64> = (first..=last).collect();
    replace(db, point_id, &[(from, to)], &days, &rollups).await?;
    stages.write += computed.elapsed();
    Ok(rollups.len() as u64)
}

/// Replaces a point's roll-ups in the `[from, to)` ranges with `rollups` and marks its CST `days` changed, in
/// one write transaction (by COPY on PostgreSQL). The caller holds the point's lock.
async fn replace(
    db: &Db,
    point_id: i64,
    ranges: &[(i64, i64)],
    days: &[i64],
    rollups: &[Rollup],
) -> anyhow::Result<()> {
    if let Some(mut tx) = db.begin_postgres_write().await? {
        store::replace_rollups_postgres(&mut tx, point_id, ranges, days, rollups).await?;
        tx.commit().await?;
        return Ok(());
    }
    let mut tx = db.begin_write().await?;
    for &(from, to) in ranges {
        sqlx::query("DELETE FROM reading_rollups WHERE point_id = $1 AND ts >= $2 AND ts < $3")
            .bind(point_id)
            .bind(from)
            .bind(to)
            .execute(&mut *tx)
            .await?;
    }
    insert(&mut tx, db.backend(), rollups).await?;
    mark_changed(&mut tx, db.backend(), point_id, days).await?;
    tx.commit().await?;
    Ok(())
}

/// The roll-ups of an import's days computed from the rows it has just written instead of read back from the
/// store (the read-back was 4.6 s of a 10.7 s import of the 12 UCI files on SQLite). The computation, the
/// corrections and the kept hours are those of [`recompute`]; only where the rows come from differs, and a day
/// is taken from memory only when what is stored of it is exactly the rows written: none of them met a stored
/// row at its key ([`store::WriteOutcome::met_stored`]), all came in one batch, and, when the import ends, the
/// store counts as many minute and hour rows that day as were written. Every other dirty day is recomputed from
/// the store. (A writer in another process that adds values to these very rows during the import is not seen;
/// its own recomputation may then run before the import's.)
#[derive(Default)]
pub struct FromImport {
    /// Per day: the minute and hour rows written, and the roll-ups computed from them.
    days: BTreeMap<DirtyDay, (i64, Vec<Rollup>)>,
    /// Days with rows in more than one batch, or rows that met stored ones.
    from_store: BTreeSet<DirtyDay>,
}

impl FromImport {
    /// Rolls up the days of a batch just written: `rows` as [`store::write_rows_kept`] left them, `outcome` what
    /// it returned.
    pub async fn add_batch(
        &mut self,
        db: &Db,
        rows: &[Row],
        outcome: &store::WriteOutcome,
    ) -> anyhow::Result<()> {
        let mut by_day: BTreeMap<DirtyDay, Vec<&Row>> = BTreeMap::new();
        for row in rows {
            if matches!(row.period, Period::Minute | Period::Hour) && !row.is_empty() {
                let day = DirtyDay {
                    point_id: row.point_id,
                    day: kernel::time::cst_day_number(row.ts),
                };
                by_day.entry(day).or_default().push(row);
            }
        }
        let by_day: Vec<(DirtyDay, Vec<&Row>)> = by_day.into_iter().collect();
        if by_day.is_empty() {
            return Ok(());
        }
        let horizon = crate::retention::minute_horizon(db).await?;
        for point in by_day.chunk_by(|a, b| a.0.point_id == b.0.point_id) {
            let point_id = point[0].0.point_id;
            let from = point[0].0.day * DAY_SECONDS - 8 * HOUR;
            let to = (point[point.len() - 1].0.day + 1) * DAY_SECONDS - 8 * HOUR;
            let corrections = audit::latest_corrections(db, point_id, from, to).await?;
            let kept = if from < horizon {
                stored(db, point_id, None, Period::Hour, from, to.min(horizon)).await?
            } else {
                Vec::new()
            };
            for (day, rows) in point {
                let seen_before = self.days.remove(day).is_some() || self.from_store.contains(day);
                if seen_before || outcome.met_stored.contains(day) {
                    self.from_store.insert(*day);
                    continue;
                }
                let rollups =
                    compute_day_of(point_id, day.day, rows.iter().copied(), &corrections, &kept);
                self.days.insert(*day, (rows.len() as i64, rollups));
            }
        }
        Ok(())
    }

    /// Stores the roll-ups of the days that qualify and recomputes every other day of `dirty` from the store.
    /// Returns the roll-ups written.
    pub async fn finish(self, db: &Db, dirty: &BTreeSet<DirtyDay>) -> anyhow::Result<u64> {
        let mut written = 0;
        let mut from_memory: BTreeSet<DirtyDay> = BTreeSet::new();
        let mut by_point: BTreeMap<i64, Vec<(i64, i64, Vec<Rollup>)>> = BTreeMap::new();
        for (day, (rows, rollups)) in self.days {
            if dirty.contains(&day) {
                by_point
                    .entry(day.point_id)
                    .or_default()
                    .push((day.day, rows, rollups));
            }
        }
        let day_start = |day: i64| day * DAY_SECONDS - 8 * HOUR;
        for (point_id, days) in by_point {
            let lock = point_lock(point_id);
            let _guard = lock.lock().await;
            let (first, last) = (days[0].0, days[days.len() - 1].0);
            let stored = store::minute_and_hour_rows_per_day(
                db,
                point_id,
                day_start(first),
                day_start(last + 1),
            )
            .await?;
            let mut rollups = Vec::new();
            let mut ranges: Vec<(i64, i64)> = Vec::new();
            let mut numbers = Vec::new();
            for (day, rows, computed) in days {
                if stored.get(&day) != Some(&rows) {
                    continue;
                }
                match ranges.last_mut() {
                    Some((_, to)) if *to == day_start(day) => *to = day_start(day + 1),
                    _ => ranges.push((day_start(day), day_start(day + 1))),
                }
                numbers.push(day);
                rollups.extend(computed);
                from_memory.insert(DirtyDay { point_id, day });
            }
            if !numbers.is_empty() {
                replace(db, point_id, &ranges, &numbers, &rollups).await?;
                written += rollups.len() as u64;
            }
        }
        let rest: BTreeSet<DirtyDay> = dirty.difference(&from_memory).copied().collect();
        tracing::debug!(
            from_memory = from_memory.len(),
            from_store = rest.len(),
            "import roll-ups: days computed from the rows written, and from the store"
        );
        Ok(written + recompute(db, &rest).await?)
    }
}

/// Replaces a point's roll-ups from `from` on with `rollups`, in one write transaction (the demo's history,
/// whose roll-ups come straight from the generated rows).
pub async fn replace_from(
    db: &Db,
    point_id: i64,
    from: i64,
    rollups: &[Rollup],
) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM reading_rollups WHERE point_id = $1 AND ts >= $2")
        .bind(point_id)
        .bind(from)
        .execute(&mut *tx)
        .await?;
    insert(&mut tx, db.backend(), rollups).await?;
    let days: BTreeSet<i64> = rollups
        .iter()
        .map(|r| kernel::time::cst_day_number(r.ts))
        .collect();
    if let (Some(&first), Some(&last)) = (days.first(), days.last()) {
        let days: Vec<i64> = (first..=last).collect();
        mark_changed(&mut tx, db.backend(), point_id, &days).await?;
    }
    tx.commit().await
}

/// Bumps the data version and marks the point's CST days `days` as changed at that version, in the roll-up's
/// write transaction: whatever was derived from these days before (air station days, cached pages) is stale
/// from the moment the new roll-ups are visible, never before and never later. Runs last in the transaction:
/// on PostgreSQL the version row stays locked until the commit, which orders the versions as the commits.
async fn mark_changed(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: kernel::Backend,
    point_id: i64,
    days: &[i64],
) -> Result<(), sqlx::Error> {
    let version: i64 = sqlx::query_scalar(
        "UPDATE reading_data_version SET version = version + 1 WHERE id = 1 RETURNING version",
    )
    .fetch_one(&mut **tx)
    .await?;
    for chunk in days.chunks(store::MAX_PARAMETERS / 3) {
        let mut b = store::BulkStatement::new(
            backend,
            "INSERT INTO reading_day_versions (point_id, day, version) VALUES ",
        );
        for (i, day) in chunk.iter().enumerate() {
            b.push(if i == 0 { "(" } else { ", (" });
            b.bind(point_id).push(", ");
            b.bind(*day).push(", ");
            b.bind(version).push(")");
        }
        b.push(" ON CONFLICT (point_id, day) DO UPDATE SET version = excluded.version");
        b.execute(tx).await?;
    }
    Ok(())
}

/// The data version: how many roll-ups have been committed. A figure computed from the readings while the
/// version was v is current as long as the version is still v.
pub async fn data_version(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT version FROM reading_data_version WHERE id = 1")
        .fetch_one(db.pool())
        .await
}

/// The data version of the last roll-up that touched each (point, CST day) of these points in days
/// `first..=last` (day numbers); a day never touched is absent (version 0).
pub async fn day_versions(
    db: &Db,
    point_ids: &[i64],
    first: i64,
    last: i64,
) -> Result<std::collections::HashMap<(i64, i64), i64>, sqlx::Error> {
    use sqlx::Row as _;
    let mut b = SqlBuilder::new("SELECT point_id, day, version FROM reading_day_versions WHERE ");
    b.push_id_in("point_id", point_ids);
    b.push(" AND day >= ").push_bind(first);
    b.push(" AND day <= ").push_bind(last);
    let rows = b.build().fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok((
                (r.try_get("point_id")?, r.try_get("day")?),
                r.try_get("version")?,
            ))
        })
        .collect()
}

/// Inserts roll-ups (the caller has removed the ones they replace).
pub async fn insert(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: kernel::Backend,
    rollups: &[Rollup],
) -> Result<(), sqlx::Error> {
    let now = kernel::time::now_ts();
    for chunk in rollups.chunks(store::MAX_PARAMETERS / 12) {
        let mut b = store::BulkStatement::new(
            backend,
            "INSERT INTO reading_rollups (point_id, factor, period, ts, n, n_valid, expected, mean, min, max, valid, computed_at) VALUES ",
        );
        for (i, r) in chunk.iter().enumerate() {
            b.push(if i == 0 { "(" } else { ", (" });
            b.bind(r.point_id).push(", ");
            b.bind(r.factor.clone()).push(", ");
            b.bind(r.period.as_str().to_string()).push(", ");
            b.bind(r.ts).push(", ");
            b.bind(r.n).push(", ");
            b.bind(r.n_valid).push(", ");
            b.bind(r.expected).push(", ");
            b.bind(r.mean).push(", ");
            b.bind(r.min).push(", ");
            b.bind(r.max).push(", ");
            b.bind(kernel::db::flag(r.valid)).push(", ");
            b.bind(now).push(")");
        }
        b.execute(tx).await?;
    }
    Ok(())
}

/// The factors a point has roll-ups of (any period), by code.
pub async fn factors_of(db: &Db, point_id: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT DISTINCT factor FROM reading_rollups WHERE point_id = $1 ORDER BY factor",
    )
    .bind(point_id)
    .fetch_all(db.pool())
    .await
}

/// Stored roll-ups of one point (optionally one factor) and period in `[from, to)`, ordered by factor, time.
pub async fn stored(
    db: &Db,
    point_id: i64,
    factor: Option<&str>,
    period: Period,
    from: i64,
    to: i64,
) -> Result<Vec<Rollup>, sqlx::Error> {
    use sqlx::Row as _;
    let mut b = SqlBuilder::new(
        "SELECT point_id, factor, period, ts, n, n_valid, expected, mean, min, max, valid FROM reading_rollups WHERE point_id = ",
    );
    b.push_bind(point_id);
    b.push(" AND period = ")
        .push_bind(period.as_str().to_string());
    if let Some(factor) = factor {
        b.push(" AND factor = ").push_bind(factor.to_string());
    }
    b.push(" AND ts >= ").push_bind(from);
    b.push(" AND ts < ").push_bind(to);
    b.push(" ORDER BY factor, ts");
    let rows = b.build().fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            let valid: i64 = r.try_get("valid")?;
            Ok(Rollup {
                point_id: r.try_get("point_id")?,
                factor: r.try_get("factor")?,
                period,
                ts: r.try_get("ts")?,
                n: r.try_get("n")?,
                n_valid: r.try_get("n_valid")?,
                expected: r.try_get("expected")?,
                mean: r.try_get("mean")?,
                min: r.try_get("min")?,
                max: r.try_get("max")?,
                valid: valid == 1,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Cell, DataFlag};

    fn hour_row(ts: i64, pm25: Option<f64>, flag: DataFlag) -> Row {
        let mut row = Row::new(1, Period::Hour, ts);
        row.set("a34004", Cell { value: pm25, flag });
        row
    }

    #[test]
    fn day_needs_twenty_valid_hours() {
        let day = kernel::time::cst_day_number(1_704_067_200); // 2024-01-01 08:00 CST
        let start = day * DAY_SECONDS - 8 * HOUR;
        let rows: Vec<Row> = (0..24)
            .map(|h| {
                let flag = if h < 5 { DataFlag::D } else { DataFlag::N };
                hour_row(start + h * HOUR, Some(h as f64), flag)
            })
            .collect();
        let out = compute_day(1, day, &rows, &Corrections::default());
        assert_eq!(out.len(), 1);
        let d = &out[0];
        assert_eq!((d.n, d.n_valid, d.expected, d.valid), (24, 19, 24, false));
        assert_eq!(d.mean, Some((5..24).sum::<i64>() as f64 / 19.0));
        assert_eq!((d.min, d.max), (Some(5.0), Some(23.0)));
        let rows: Vec<Row> = (0..20)
            .map(|h| hour_row(start + h * HOUR, Some(10.0), DataFlag::N))
            .collect();
        assert!(compute_day(1, day, &rows, &Corrections::default())[0].valid);
    }

    #[test]
    fn minutes_make_hours_with_45_valid_minutes() {
        let day = 19_723;
        let start = day * DAY_SECONDS - 8 * HOUR;
        let mut rows = Vec::new();
        for m in 0..60 {
            let mut row = Row::new(1, Period::Minute, start + m * 60);
            let flag = if m < 16 { DataFlag::C } else { DataFlag::N };
            row.set(
                "a21026",
                Cell {
                    value: Some(2.0),
                    flag,
                },
            );
            rows.push(row);
        }
        for m in 0..45 {
            let mut row = Row::new(1, Period::Minute, start + HOUR + m * 60);
            row.set(
                "a21026",
                Cell {
                    value: Some(4.0),
                    flag: DataFlag::N,
                },
            );
            rows.push(row);
        }
        let out = compute_day(1, day, &rows, &Corrections::default());
        let hours: Vec<_> = out.iter().filter(|r| r.period == Period::Hour).collect();
        assert_eq!(hours.len(), 2);
        assert_eq!(
            (hours[0].n, hours[0].n_valid, hours[0].valid),
            (60, 44, false)
        );
        assert_eq!(
            (hours[1].n_valid, hours[1].valid, hours[1].mean),
            (45, true, Some(4.0))
        );
        let day_rollup = out.iter().find(|r| r.period == Period::Day).unwrap();
        assert_eq!(
            (day_rollup.n, day_rollup.n_valid, day_rollup.valid),
            (2, 1, false)
        );
    }

    #[test]
    fn wind_direction_is_a_vector_mean() {
        let start = 19_723 * DAY_SECONDS - 8 * HOUR;
        let rows: Vec<Row> = [350.0, 10.0]
            .iter()
            .enumerate()
            .map(|(h, d)| {
                let mut row = Row::new(1, Period::Hour, start + h as i64 * HOUR);
                row.set(
                    "a01008",
                    Cell {
                        value: Some(*d),
                        flag: DataFlag::N,
                    },
                );
                row
            })
            .collect();
        let out = compute_day(1, 19_723, &rows, &Corrections::default());
        let mean = out[0].mean.unwrap();
        assert!(mean < 1e-9 || (360.0 - mean) < 1e-9, "{mean}");
    }
}
