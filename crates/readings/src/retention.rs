//! Retention of real-time and minute readings (settings and the sweep). Hourly and daily rows, roll-ups and the
//! verbatim HJ 212 packets are kept for good: they are the statistics and the evidence. Minute data are kept at
//! least [`MIN_MINUTE_DAYS`] days, longer than the alarm worker's 7-day look-back, and a day whose minutes are
//! gone keeps its hourly roll-ups (`rollup::compute_day_keeping`), so a later correction cannot erase them.

use kernel::audit::AuditEntry;
use kernel::{Action, AppError, AppResult, Db, Principal};
use serde::{Deserialize, Serialize};
use sqlx::Row as _;

/// The alarm worker looks back 7 days; minute data must outlive that.
pub const MIN_MINUTE_DAYS: i64 = 8;
pub const MIN_RTD_DAYS: i64 = 1;
/// Rows deleted per statement, so a sweep never holds the write lock for long.
const SWEEP_BATCH: i64 = 50_000;

/// One period's retention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Retention {
    /// `rtd` or `minute`.
    pub period: String,
    pub keep_days: i64,
    /// Unix seconds: rows before this have been removed (0: never swept).
    pub swept_before: i64,
    pub updated_by: String,
    pub updated_at: i64,
}

/// A change of the settings.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct RetentionInput {
    /// Days of real-time data kept (≥ 1).
    pub rtd_days: Option<i64>,
    /// Days of minute data kept (≥ 8).
    pub minute_days: Option<i64>,
}

pub async fn settings(db: &Db) -> Result<Vec<Retention>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT period, keep_days, swept_before, updated_by, updated_at FROM reading_retention ORDER BY period",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Retention {
                period: r.try_get("period")?,
                keep_days: r.try_get("keep_days")?,
                swept_before: r.try_get("swept_before")?,
                updated_by: r.try_get("updated_by")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .collect()
}

/// The instant before which minute rows may be missing because they were swept (0 when never swept).
pub async fn minute_horizon(db: &Db) -> Result<i64, sqlx::Error> {
    let horizon: Option<i64> =
        sqlx::query_scalar("SELECT swept_before FROM reading_retention WHERE period = 'minute'")
            .fetch_optional(db.pool())
            .await?;
    Ok(horizon.unwrap_or(0))
}

/// Changes the kept days (monitoring department or administrator); audited.
pub async fn update(
    db: &Db,
    principal: &Principal,
    input: &RetentionInput,
) -> AppResult<Vec<Retention>> {
    principal.require(crate::DATA_AUDIT, Action::Update)?;
    if input
        .rtd_days
        .is_some_and(|d| !(MIN_RTD_DAYS..=36_500).contains(&d))
    {
        return Err(AppError::validation(
            "rtd_days",
            format!("between {MIN_RTD_DAYS} and 36500 days"),
        ));
    }
    if input
        .minute_days
        .is_some_and(|d| !(MIN_MINUTE_DAYS..=36_500).contains(&d))
    {
        return Err(AppError::validation(
            "minute_days",
            format!(
                "between {MIN_MINUTE_DAYS} and 36500 days (the alarm worker looks back 7 days)"
            ),
        ));
    }
    let before = settings(db).await?;
    let now = kernel::time::now_ts();
    let mut tx = db.begin_write().await?;
    let mut summary = Vec::new();
    for (period, days) in [("rtd", input.rtd_days), ("minute", input.minute_days)] {
        if let Some(days) = days {
            sqlx::query(
                "UPDATE reading_retention SET keep_days = $1, updated_by = $2, updated_at = $3 WHERE period = $4",
            )
            .bind(days)
            .bind(&principal.username)
            .bind(now)
            .bind(period)
            .execute(&mut *tx)
            .await?;
            summary.push(format!("{period} {days} 天"));
        }
    }
    let entry = AuditEntry::by(principal, "update", "reading_retention", "settings")
        .summary(format!("数据保留期限：{}", summary.join("，")))
        .before(&before);
    kernel::audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    settings(db).await.map_err(AppError::from)
}

/// What a sweep removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SweepOutcome {
    pub rtd_rows: u64,
    pub minute_rows: u64,
}

/// Removes real-time and minute rows older than their retention at `now`, in batches. The horizon is recorded
/// before the rows go, so a roll-up recomputed meanwhile already keeps the hours it can no longer derive.
pub async fn sweep(db: &Db, now: i64) -> anyhow::Result<SweepOutcome> {
    let mut outcome = SweepOutcome::default();
    for setting in settings(db).await? {
        let cutoff = now - setting.keep_days * kernel::time::DAY_SECONDS;
        if cutoff <= setting.swept_before {
            continue;
        }
        sqlx::query("UPDATE reading_retention SET swept_before = $1 WHERE period = $2")
            .bind(cutoff)
            .bind(&setting.period)
            .execute(db.writer())
            .await?;
        let mut removed = 0u64;
        loop {
            // Batches by primary key: the same statement on both backends, no LIMIT on DELETE needed.
            let batch = sqlx::query(
                "DELETE FROM readings WHERE period = $1 AND ts < $2 AND (point_id, ts) IN \
                 (SELECT point_id, ts FROM readings WHERE period = $1 AND ts < $2 LIMIT $3)",
            )
            .bind(&setting.period)
            .bind(cutoff)
            .bind(SWEEP_BATCH)
            .execute(db.writer())
            .await?
            .rows_affected();
            removed += batch;
            if batch == 0 {
                break;
            }
        }
        match setting.period.as_str() {
            "rtd" => outcome.rtd_rows = removed,
            _ => outcome.minute_rows = removed,
        }
    }
    Ok(outcome)
}
