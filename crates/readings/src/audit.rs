//! 数据审核, the audit tier: corrections as new versions beside the raw readings (never over them), the audited
//! view that applies the latest version of each, and month confirmation (locks).
//!
//! A correction either marks a value invalid or replaces it; statistics (roll-ups) use the audited view, and
//! the raw values stay queryable. A confirmed (locked) CST month refuses corrections until it is reopened with
//! a recorded reason.

use std::collections::HashMap;

use chrono::Datelike;
use kernel::audit::{self, AuditEntry};
use kernel::{AppError, Db, Principal};
use serde::{Deserialize, Serialize};
use sqlx::Row as _;

use crate::factors;
use crate::model::{Cell, DataFlag, Period};
use crate::store::{self, DirtyDay};

/// A value as the audit tier sees it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditedCell {
    /// The audited value: the corrected one, the raw one, or `None` when marked invalid.
    pub value: Option<f64>,
    pub raw_value: Option<f64>,
    pub flag: DataFlag,
    /// Counts in statistics: flag N (or corrected), a value inside the factor's plausible range, not marked
    /// invalid.
    pub valid: bool,
    /// A correction applies.
    pub corrected: bool,
}

/// Whether a raw value may count in statistics.
pub fn raw_is_valid(code: &str, cell: &Cell) -> bool {
    cell.flag.is_normal() && cell.value.is_some_and(|v| in_range(code, v))
}

fn in_range(code: &str, value: f64) -> bool {
    factors::by_code(code).is_none_or(|f| value >= f.min && value <= f.max)
}

/// The latest correction of one cell.
#[derive(Debug, Clone, PartialEq)]
pub struct LatestCorrection {
    pub version: i64,
    pub value: Option<f64>,
    pub invalid: bool,
}

/// The latest corrections of one point over a time span, by (period, ts, factor).
#[derive(Debug, Clone, Default)]
pub struct Corrections(HashMap<(Period, i64, String), LatestCorrection>);

impl Corrections {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The audited view of one raw cell.
    pub fn apply(&self, period: Period, ts: i64, code: &str, cell: Cell) -> AuditedCell {
        let raw = AuditedCell {
            value: cell.value,
            raw_value: cell.value,
            flag: cell.flag,
            valid: raw_is_valid(code, &cell),
            corrected: false,
        };
        if self.0.is_empty() {
            return raw;
        }
        match self.0.get(&(period, ts, code.to_string())) {
            None => raw,
            Some(c) if c.invalid || c.value.is_none() => AuditedCell {
                value: None,
                valid: false,
                corrected: true,
                ..raw
            },
            Some(c) => AuditedCell {
                value: c.value,
                valid: c.value.is_some_and(|v| in_range(code, v)),
                corrected: true,
                ..raw
            },
        }
    }
}

/// The latest correction versions of a point in `[from, to)`.
pub async fn latest_corrections(
    db: &Db,
    point_id: i64,
    from: i64,
    to: i64,
) -> Result<Corrections, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT period, ts, factor, version, value, invalid FROM reading_corrections \
         WHERE point_id = $1 AND ts >= $2 AND ts < $3 ORDER BY version",
    )
    .bind(point_id)
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    let mut out = HashMap::new();
    for row in rows {
        let period: String = row.try_get("period")?;
        let Some(period) = Period::parse(&period) else {
            continue;
        };
        let invalid: i64 = row.try_get("invalid")?;
        out.insert(
            (period, row.try_get("ts")?, row.try_get("factor")?),
            LatestCorrection {
                version: row.try_get("version")?,
                value: row.try_get("value")?,
                invalid: invalid != 0,
            },
        );
    }
    Ok(Corrections(out))
}

/// A correction as submitted.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewCorrection {
    pub period: Period,
    /// Unix seconds (UTC) of the reading.
    pub ts: i64,
    pub factor: String,
    /// The corrected value; omit it (with `invalid: true`) to mark the value invalid.
    pub value: Option<f64>,
    #[serde(default)]
    pub invalid: bool,
    /// Why (required).
    pub reason: String,
}

/// A stored correction.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CorrectionRecord {
    pub point_id: i64,
    pub period: Period,
    pub ts: i64,
    pub factor: String,
    pub version: i64,
    pub value: Option<f64>,
    pub invalid: bool,
    pub raw_value: Option<f64>,
    pub reason: String,
    pub corrected_by: String,
    pub corrected_at: i64,
}

/// The CST month (`YYYY-MM`) an instant falls in.
pub fn cst_month(ts: i64) -> String {
    let day = kernel::time::cst_day(ts);
    format!("{:04}-{:02}", day.year(), day.month())
}

/// Whether `month` (`YYYY-MM`) is well-formed.
pub fn parse_month(text: &str) -> Option<(i32, u32)> {
    let (y, m) = text.trim().split_once('-')?;
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    (y.to_string().len() == 4 && (1..=12).contains(&m) && text.trim().len() == 7).then_some((y, m))
}

/// `[start, end)` in UTC seconds of a CST month.
pub fn month_span(year: i32, month: u32) -> Option<(i64, i64)> {
    let first = chrono::NaiveDate::from_ymd_opt(year, month, 1)?;
    let next = if month == 12 {
        chrono::NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        chrono::NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    Some((
        kernel::time::cst_day_start(first),
        kernel::time::cst_day_start(next),
    ))
}

pub async fn month_is_locked(db: &Db, month: &str) -> Result<bool, sqlx::Error> {
    let locked: Option<i64> =
        sqlx::query_scalar("SELECT locked FROM data_month_locks WHERE month = $1")
            .bind(month)
            .fetch_optional(db.pool())
            .await?;
    Ok(locked == Some(1))
}

/// Records a correction (a new version) and returns it with the (point, day) whose roll-ups it makes stale.
/// The caller's role and street have been checked by the caller.
pub async fn correct(
    db: &Db,
    principal: &Principal,
    point_id: i64,
    input: &NewCorrection,
) -> Result<(CorrectionRecord, DirtyDay), AppError> {
    let reason = input.reason.trim();
    if reason.is_empty() {
        return Err(AppError::validation(
            "reason",
            "a correction needs a reason",
        ));
    }
    if !factors::is_plausible_code(&input.factor) {
        return Err(AppError::validation("factor", "not an HJ 212 factor code"));
    }
    if input.value.is_some_and(|v| !v.is_finite()) {
        return Err(AppError::validation("value", "not a finite number"));
    }
    if input.value.is_none() && !input.invalid {
        return Err(AppError::validation(
            "value",
            "give a corrected value, or invalid: true to mark the value invalid",
        ));
    }
    let month = cst_month(input.ts);
    if month_is_locked(db, &month).await? {
        return Err(AppError::Conflict(format!(
            "month {month} is confirmed (locked); reopen it with a reason before correcting its data"
        )));
    }
    let raw = store::rows(db, point_id, &[input.period], input.ts, input.ts + 1)
        .await?
        .into_iter()
        .next()
        .and_then(|row| row.get(&input.factor))
        .filter(Cell::is_present)
        .ok_or_else(|| {
            AppError::validation(
                "ts",
                format!(
                    "no {} reading of {} at this instant to correct",
                    input.period.as_str(),
                    input.factor
                ),
            )
        })?;
    let now = kernel::time::now_ts();
    let mut tx = db.begin_write().await?;
    let version: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(MAX(version), 0) + 1 AS BIGINT) FROM reading_corrections \
         WHERE point_id = $1 AND period = $2 AND ts = $3 AND factor = $4",
    )
    .bind(point_id)
    .bind(input.period.as_str())
    .bind(input.ts)
    .bind(&input.factor)
    .fetch_one(&mut *tx)
    .await?;
    let value = if input.invalid { None } else { input.value };
    sqlx::query(
        "INSERT INTO reading_corrections (point_id, period, ts, factor, version, value, invalid, reason, corrected_by, corrected_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(point_id)
    .bind(input.period.as_str())
    .bind(input.ts)
    .bind(&input.factor)
    .bind(version)
    .bind(value)
    .bind(kernel::db::flag(input.invalid))
    .bind(reason)
    .bind(&principal.username)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let record = CorrectionRecord {
        point_id,
        period: input.period,
        ts: input.ts,
        factor: input.factor.clone(),
        version,
        value,
        invalid: input.invalid,
        raw_value: raw.value,
        reason: reason.to_string(),
        corrected_by: principal.username.clone(),
        corrected_at: now,
    };
    audit::record(
        &mut *tx,
        &AuditEntry::by(
            principal,
            "correct",
            "reading",
            format!(
                "{point_id}/{}/{}/{}",
                input.period.as_str(),
                input.ts,
                input.factor
            ),
        )
        .summary(format!(
            "数据审核 {} {} v{version}: {} ({reason})",
            input.factor,
            kernel::time::format_cst(input.ts),
            if input.invalid {
                "标记无效".to_string()
            } else {
                format!("{:?} → {:?}", raw.value, value)
            }
        ))
        .after(
            &serde_json::json!({"value": value, "invalid": input.invalid, "raw_value": raw.value}),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok((
        record,
        DirtyDay {
            point_id,
            day: kernel::time::cst_day_number(input.ts),
        },
    ))
}

/// Every correction version of a point in `[from, to)`, newest first, with the raw values beside them.
pub async fn corrections_of(
    db: &Db,
    point_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<CorrectionRecord>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT period, ts, factor, version, value, invalid, reason, corrected_by, corrected_at \
         FROM reading_corrections WHERE point_id = $1 AND ts >= $2 AND ts < $3 \
         ORDER BY corrected_at DESC, ts, factor, version DESC LIMIT 10000",
    )
    .bind(point_id)
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let period: String = row.try_get("period")?;
        let Some(period) = Period::parse(&period) else {
            continue;
        };
        let ts: i64 = row.try_get("ts")?;
        let factor: String = row.try_get("factor")?;
        let raw_value = store::rows(db, point_id, &[period], ts, ts + 1)
            .await?
            .first()
            .and_then(|r| r.get(&factor))
            .and_then(|c| c.value);
        let invalid: i64 = row.try_get("invalid")?;
        out.push(CorrectionRecord {
            point_id,
            period,
            ts,
            factor,
            version: row.try_get("version")?,
            value: row.try_get("value")?,
            invalid: invalid == 1,
            raw_value,
            reason: row.try_get("reason")?,
            corrected_by: row.try_get("corrected_by")?,
            corrected_at: row.try_get("corrected_at")?,
        });
    }
    Ok(out)
}

/// A month's confirmation state.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MonthLock {
    pub month: String,
    pub locked: bool,
    pub locked_by: String,
    pub locked_at: i64,
    pub reopened_by: Option<String>,
    pub reopened_at: Option<i64>,
    pub reopen_reason: Option<String>,
}

/// Confirms (locks) a CST month.
pub async fn lock_month(
    db: &Db,
    principal: &Principal,
    month: &str,
) -> Result<MonthLock, AppError> {
    if parse_month(month).is_none() {
        return Err(AppError::validation("month", "expected YYYY-MM"));
    }
    let now = kernel::time::now_ts();
    let mut tx = db.begin_write().await?;
    sqlx::query(
        "INSERT INTO data_month_locks (month, locked, locked_by, locked_at) VALUES ($1, 1, $2, $3) \
         ON CONFLICT (month) DO UPDATE SET locked = 1, locked_by = excluded.locked_by, locked_at = excluded.locked_at",
    )
    .bind(month)
    .bind(&principal.username)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "lock", "data_month", month)
            .summary(format!("确认 {month} 数据")),
    )
    .await?;
    tx.commit().await?;
    month_lock(db, month)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("lock of {month} vanished")))
}

/// Reopens a confirmed month; the reason is recorded.
pub async fn reopen_month(
    db: &Db,
    principal: &Principal,
    month: &str,
    reason: &str,
) -> Result<MonthLock, AppError> {
    if parse_month(month).is_none() {
        return Err(AppError::validation("month", "expected YYYY-MM"));
    }
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AppError::validation(
            "reason",
            "reopening a confirmed month needs a reason",
        ));
    }
    let mut tx = db.begin_write().await?;
    let changed = sqlx::query(
        "UPDATE data_month_locks SET locked = 0, reopened_by = $1, reopened_at = $2, reopen_reason = $3 \
         WHERE month = $4 AND locked = 1",
    )
    .bind(&principal.username)
    .bind(kernel::time::now_ts())
    .bind(reason)
    .bind(month)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Err(AppError::Conflict(format!("month {month} is not locked")));
    }
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "reopen", "data_month", month)
            .summary(format!("重新开放 {month} 数据: {reason}")),
    )
    .await?;
    tx.commit().await?;
    month_lock(db, month)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("lock of {month} vanished")))
}

pub async fn month_lock(db: &Db, month: &str) -> Result<Option<MonthLock>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT month, locked, locked_by, locked_at, reopened_by, reopened_at, reopen_reason \
         FROM data_month_locks WHERE month = $1",
    )
    .bind(month)
    .fetch_optional(db.pool())
    .await?;
    row.map(|r| {
        let locked: i64 = r.try_get("locked")?;
        Ok(MonthLock {
            month: r.try_get("month")?,
            locked: locked == 1,
            locked_by: r.try_get("locked_by")?,
            locked_at: r.try_get("locked_at")?,
            reopened_by: r.try_get("reopened_by")?,
            reopened_at: r.try_get("reopened_at")?,
            reopen_reason: r.try_get("reopen_reason")?,
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_span_cst() {
        assert_eq!(parse_month("2024-02"), Some((2024, 2)));
        assert_eq!(parse_month("2024-13"), None);
        assert_eq!(parse_month("24-01"), None);
        assert_eq!(parse_month("2024-1"), None);
        let (start, end) = month_span(2024, 2).unwrap();
        assert_eq!(
            kernel::time::format_utc_rfc3339(start),
            "2024-01-31T16:00:00Z"
        );
        assert_eq!((end - start) / 86_400, 29);
        assert_eq!(cst_month(start), "2024-02");
        assert_eq!(cst_month(start - 1), "2024-01");
    }

    #[test]
    fn corrections_apply_latest_version() {
        let mut map = HashMap::new();
        map.insert(
            (Period::Hour, 0, "a34004".to_string()),
            LatestCorrection {
                version: 2,
                value: Some(30.0),
                invalid: false,
            },
        );
        map.insert(
            (Period::Hour, 0, "a34002".to_string()),
            LatestCorrection {
                version: 1,
                value: None,
                invalid: true,
            },
        );
        let c = Corrections(map);
        let cell = Cell {
            value: Some(900.0),
            flag: DataFlag::N,
        };
        let a = c.apply(Period::Hour, 0, "a34004", cell);
        assert_eq!(
            (a.value, a.raw_value, a.valid, a.corrected),
            (Some(30.0), Some(900.0), true, true)
        );
        let b = c.apply(Period::Hour, 0, "a34002", cell);
        assert_eq!((b.value, b.valid), (None, false));
        let untouched = c.apply(Period::Hour, 3600, "a34004", cell);
        assert!(untouched.valid && !untouched.corrected);
        let out_of_range = c.apply(
            Period::Hour,
            3600,
            "a34004",
            Cell {
                value: Some(5000.0),
                flag: DataFlag::N,
            },
        );
        assert!(!out_of_range.valid);
        let flagged = c.apply(
            Period::Hour,
            3600,
            "a34004",
            Cell {
                value: Some(5.0),
                flag: DataFlag::D,
            },
        );
        assert!(!flagged.valid);
    }
}
