//! 数据审核 pages: one point's day of readings with the raw and the audited value of every cell, the corrections
//! made (who, when, why), a form to correct a value or mark it invalid, and the month's confirmation (lock /
//! reopen). The rules live in `readings::audit` (the raw value is never overwritten; every correction is a new
//! version; a confirmed month refuses corrections until reopened with a reason); this module is the page.

use chrono::{Duration, NaiveDate};
use kernel::time::{cst_day, cst_day_start, format_cst};
use kernel::{Action, AppError, AppResult, Db, Principal};
use readings::audit::{self, NewCorrection};
use readings::model::Period;
use readings::points::{self, PointInfo};
use readings::{factors, rollup, store};
use serde::Serialize;

/// One stored cell as the auditor sees it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditCell {
    pub raw: String,
    pub flag: char,
    /// The value statistics use: the raw one, the corrected one, or 无效.
    pub audited: String,
    pub corrected: bool,
    pub valid: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    pub ts: i64,
    pub period: &'static str,
    pub time: String,
    pub cells: Vec<Option<AuditCell>>,
    /// An hour of the day with no row at all (缺测): listed so that gaps show, not only what arrived.
    pub missing: bool,
}

/// A correction as listed on the page.
#[derive(Debug, Clone, Serialize)]
pub struct CorrectionRow {
    pub time: String,
    pub factor: String,
    pub version: i64,
    pub raw: String,
    pub corrected_to: String,
    pub reason: String,
    pub by: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditDay {
    pub point: PointInfo,
    pub day: NaiveDate,
    /// (code, name, unit) of the factors shown, in catalogue order: those with data that day, and at an air
    /// station the six pollutants always.
    pub factors: Vec<(String, String, String)>,
    /// The day's hourly rows — every hour 00–23 when the point reports hours, missing ones marked — then its
    /// daily rows.
    pub rows: Vec<AuditRow>,
    /// The hours with no row (`HH:00`), and the hours present that lack a shown factor's value.
    pub missing_hours: Vec<String>,
    pub incomplete_hours: usize,
    pub corrections: Vec<CorrectionRow>,
    pub month: String,
    pub lock: Option<audit::MonthLock>,
}

/// A point's day (CST) of hourly and daily rows with their audited view.
pub async fn day(db: &Db, principal: &Principal, id: i64, day: NaiveDate) -> AppResult<AuditDay> {
    principal.require(readings::DATA_AUDIT, Action::Read)?;
    let point = points::visible(db, principal, id).await?;
    let start = cst_day_start(day);
    let end = cst_day_start(day + Duration::days(1));
    let rows = store::rows(db, id, &[Period::Hour, Period::Day], start, end).await?;
    let corrections = audit::latest_corrections(db, id, start, end).await?;
    let air_station = point.kind == registry::model::PointKind::AirStation;
    let used: Vec<usize> = (0..factors::CATALOGUE.len())
        .filter(|&i| {
            rows.iter().any(|r| r.cells[i].is_some())
                || (air_station
                    && standards::pollutant::Pollutant::ALL
                        .iter()
                        .any(|&p| air::service::factor_code(p) == factors::CATALOGUE[i].code))
        })
        .collect();
    let present_row = |row: &store::Row| AuditRow {
        ts: row.ts,
        period: row.period.as_str(),
        time: if row.period == Period::Day {
            format!("{} 日值", cst_day(row.ts))
        } else {
            format_cst(row.ts)
        },
        cells: used
            .iter()
            .map(|&i| {
                let code = factors::CATALOGUE[i].code;
                row.cells[i].map(|cell| {
                    let a = corrections.apply(row.period, row.ts, code, cell);
                    AuditCell {
                        raw: cell
                            .value
                            .map(|v| v.to_string())
                            .unwrap_or_else(|| "—".into()),
                        flag: cell.flag.as_char(),
                        audited: match (a.valid, a.value) {
                            (true, Some(v)) => v.to_string(),
                            _ => "无效".into(),
                        },
                        corrected: a.corrected,
                        valid: a.valid,
                    }
                })
            })
            .collect(),
        missing: false,
    };
    // A point that reports hours (every air station; any point with an hourly row that day) shows all 24.
    let hourly = air_station || rows.iter().any(|r| r.period == Period::Hour);
    let mut audit_rows = Vec::new();
    let mut missing_hours = Vec::new();
    if hourly {
        for hour in 0..24 {
            let ts = start + hour * 3600;
            match rows.iter().find(|r| r.period == Period::Hour && r.ts == ts) {
                Some(row) => audit_rows.push(present_row(row)),
                None => {
                    missing_hours.push(format!("{hour:02}:00"));
                    audit_rows.push(AuditRow {
                        ts,
                        period: Period::Hour.as_str(),
                        time: format_cst(ts),
                        cells: vec![None; used.len()],
                        missing: true,
                    });
                }
            }
        }
    }
    audit_rows.extend(
        rows.iter()
            .filter(|r| !hourly || r.period != Period::Hour)
            .map(present_row),
    );
    let incomplete_hours = audit_rows
        .iter()
        .filter(|r| !r.missing && r.period == Period::Hour.as_str())
        .filter(|r| r.cells.iter().any(Option::is_none))
        .count();
    let month = audit::cst_month(start);
    Ok(AuditDay {
        factors: used
            .iter()
            .map(|&i| {
                (
                    factors::CATALOGUE[i].code.to_string(),
                    factors::CATALOGUE[i].name.to_string(),
                    factors::CATALOGUE[i].unit_for(point.kind).to_string(),
                )
            })
            .collect(),
        rows: audit_rows,
        missing_hours,
        incomplete_hours,
        corrections: audit::corrections_of(db, id, start, end)
            .await?
            .into_iter()
            .map(|c| CorrectionRow {
                time: format_cst(c.ts),
                factor: factors::by_code(&c.factor)
                    .map(|f| format!("{}（{}）", f.name, c.factor))
                    .unwrap_or_else(|| c.factor.clone()),
                version: c.version,
                raw: c
                    .raw_value
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "—".into()),
                corrected_to: match (c.invalid, c.value) {
                    (false, Some(v)) => v.to_string(),
                    _ => "无效".into(),
                },
                reason: c.reason,
                by: c.corrected_by,
                at: format_cst(c.corrected_at),
            })
            .collect(),
        lock: audit::month_lock(db, &month).await?,
        month,
        point,
        day,
    })
}

/// Records a correction and recomputes the roll-ups it makes stale.
pub async fn correct(
    db: &Db,
    principal: &Principal,
    id: i64,
    input: &NewCorrection,
) -> AppResult<audit::CorrectionRecord> {
    principal.require(readings::DATA_AUDIT, Action::Create)?;
    let point = points::visible(db, principal, id).await?;
    let (record, dirty) = audit::correct(db, principal, point.id, input).await?;
    rollup::recompute(db, &std::collections::BTreeSet::from([dirty]))
        .await
        .map_err(AppError::Internal)?;
    Ok(record)
}

/// Confirms a month, or reopens it with a reason.
pub async fn lock(
    db: &Db,
    principal: &Principal,
    month: &str,
    reopen: bool,
    reason: &str,
) -> AppResult<audit::MonthLock> {
    principal.require(readings::DATA_AUDIT, Action::Update)?;
    if reopen {
        audit::reopen_month(db, principal, month, reason).await
    } else {
        audit::lock_month(db, principal, month).await
    }
}
