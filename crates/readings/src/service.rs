//! The readings API's rules, under the thin handlers of [`crate::http`]: pushing a batch (with idempotent
//! retries), the latest values, a factor's series, data capture. Requests come in typed ([`SeriesRequest`],
//! [`CoverageRequest`]), parsed once at the edge; the answers are what the API sends.

use std::collections::{BTreeMap, BTreeSet};

use kernel::time::{DAY_SECONDS, format_cst_rfc3339, format_utc_rfc3339};
use kernel::{Action, AppError, AppResult, Db, Principal};
use serde::{Deserialize, Serialize};

use crate::audit;
use crate::factors;
use crate::model::{DataFlag, Period, Reading};
use crate::points::{self, PointInfo};
use crate::rollup::{self, Rollup};
use crate::store::{self, Conflict, NewSource};

/// Readings accepted per push.
const MAX_PUSH: usize = 50_000;

/// A time as RFC 3339 in UTC and in CST.
pub(crate) fn times(ts: i64) -> (String, String) {
    (format_utc_rfc3339(ts), format_cst_rfc3339(ts))
}

/// Refuses a code that cannot be an HJ 212 factor, naming `field`.
pub fn check_factor(field: &str, code: &str) -> AppResult<()> {
    if factors::is_plausible_code(code) {
        Ok(())
    } else {
        Err(AppError::validation(
            field,
            format!("{code:?} is not an HJ 212 factor code"),
        ))
    }
}

/// The factors of a point, for choosing one (the analyses): those it has stored values of (hours, days,
/// samples, roll-ups), in catalogue order; for a point without data yet, those its kind is catalogued with
/// ([`factors::typical_for`]). Never another medium's list: a water section offers its GB 3838 items, not
/// the air pollutants.
///
/// Every write of readings goes through a roll-up, which rolls up each column the written rows have values in,
/// so the roll-ups' factors (an index range) are the point's factors; only a point without any roll-up (data
/// written before its first roll-up) has its stored rows counted per column — a scan of all its rows, 70 ms
/// and more for a station with years of hours, which the analysis page would otherwise pay on every visit.
pub async fn point_factors(db: &Db, point: &PointInfo) -> AppResult<Vec<&'static factors::Factor>> {
    let mut columns: Vec<usize> = rollup::factors_of(db, point.id)
        .await?
        .iter()
        .filter_map(|code| factors::index_of(code))
        .collect();
    if columns.is_empty() {
        columns = store::columns_with_values(db, point.id).await?;
    }
    columns.sort_unstable();
    columns.dedup();
    if columns.is_empty() {
        return Ok(factors::typical_for(point.kind));
    }
    Ok(columns
        .into_iter()
        .map(|i| &factors::CATALOGUE[i])
        .collect())
}

/// A monitoring point whose readings `principal` may read (a point it may not see is a 404).
pub async fn readable_point(db: &Db, principal: &Principal, id: i64) -> AppResult<PointInfo> {
    principal.require(crate::READING, Action::Read)?;
    points::visible(db, principal, id).await
}

/// A monitoring point whose readings `principal` may audit (corrections, their history).
pub async fn auditable_point(
    db: &Db,
    principal: &Principal,
    id: i64,
    action: Action,
) -> AppResult<PointInfo> {
    principal.require(crate::DATA_AUDIT, action)?;
    points::visible(db, principal, id).await
}

/// Corrects a value or marks it invalid (数据审核) at a point `principal` may audit, then recomputes the
/// roll-ups of that day.
pub async fn correct(
    db: &Db,
    principal: &Principal,
    point_id: i64,
    input: &audit::NewCorrection,
) -> AppResult<audit::CorrectionRecord> {
    let point = auditable_point(db, principal, point_id, Action::Create).await?;
    let (record, dirty) = audit::correct(db, principal, point.id, input).await?;
    rollup::recompute(db, &BTreeSet::from([dirty])).await?;
    Ok(record)
}

// --- push ---------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PushResult {
    pub source_id: i64,
    pub rows_inserted: u64,
    pub rows_updated: u64,
    pub values_written: u64,
    pub values_unchanged: u64,
    /// Values that differ from stored ones; the stored values were kept.
    pub conflicts: u64,
    #[schema(value_type = Vec<Conflict>)]
    pub conflict_samples: Vec<serde_json::Value>,
    /// Roll-up values recomputed.
    pub rollups: u64,
}

/// What a push answers: the JSON of its [`PushResult`], and whether it is the stored answer of an earlier
/// request with the same `Idempotency-Key`.
pub struct PushAnswer {
    pub json: String,
    pub replayed: bool,
}

/// Stores a batch of readings and recomputes the roll-ups it touched. `key` is the caller's `Idempotency-Key`
/// (already made per user): a key seen before returns that request's answer and writes nothing.
pub async fn push(
    db: &Db,
    principal: &Principal,
    key: Option<String>,
    readings: &[Reading],
) -> AppResult<PushAnswer> {
    principal.require(crate::READING, Action::Create)?;
    if let Some(key) = &key
        && let Some(answer) = replay(db, key).await?
    {
        return Ok(answer);
    }
    if readings.is_empty() {
        return Err(AppError::validation("readings", "no readings"));
    }
    if readings.len() > MAX_PUSH {
        return Err(AppError::validation(
            "readings",
            format!("at most {MAX_PUSH} readings per request"),
        ));
    }
    let mut checked: BTreeSet<i64> = BTreeSet::new();
    for (i, r) in readings.iter().enumerate() {
        check_factor(&format!("readings[{i}].factor"), &r.factor)?;
        if r.value.is_some_and(|v| !v.is_finite()) {
            return Err(AppError::validation(
                format!("readings[{i}].value"),
                "not a finite number",
            ));
        }
        if r.value.is_none() && r.flag.is_normal() {
            return Err(AppError::validation(
                format!("readings[{i}].value"),
                "a reading without a value needs a flag saying why (F M S D C T B)",
            ));
        }
        crate::model::check_reading_time(r.ts)
            .map_err(|why| AppError::validation(format!("readings[{i}].ts"), why))?;
        if checked.insert(r.point_id) {
            points::visible(db, principal, r.point_id)
                .await
                .map_err(|_| {
                    AppError::validation(
                        format!("readings[{i}].point_id"),
                        "no such monitoring point",
                    )
                })?;
        }
    }
    let source = NewSource {
        kind: "api",
        name: format!("POST /api/v1/readings ({} readings)", readings.len()),
        checksum: None,
        received_by: principal.username.clone(),
        idempotency_key: key.clone(),
    };
    let source_id = match store::create_source(db, &source).await {
        Ok(id) => id,
        // The same key raced in from a concurrent retry: answer like a replay (or say it is in progress).
        Err(e) if kernel::db::is_unique_violation(&e) => {
            return match key {
                Some(key) => match replay(db, &key).await? {
                    Some(answer) => Ok(answer),
                    None => Err(AppError::Conflict(
                        "a request with this Idempotency-Key is in progress".into(),
                    )),
                },
                None => Err(e.into()),
            };
        }
        Err(e) => return Err(e.into()),
    };
    let outcome = store::write(db, source_id, readings).await?;
    let rollups = rollup::recompute(db, &outcome.dirty).await?;
    let result = PushResult {
        source_id,
        rows_inserted: outcome.rows_inserted,
        rows_updated: outcome.rows_updated,
        values_written: outcome.values_written,
        values_unchanged: outcome.values_unchanged,
        conflicts: outcome.conflicts,
        conflict_samples: outcome
            .conflict_samples
            .iter()
            .filter_map(|c| serde_json::to_value(c).ok())
            .collect(),
        rollups,
    };
    let json = serde_json::to_string(&result)?;
    store::record_response(db, source_id, &json).await?;
    Ok(PushAnswer {
        json,
        replayed: false,
    })
}

/// The stored answer of an earlier request with this key, if it finished.
async fn replay(db: &Db, key: &str) -> AppResult<Option<PushAnswer>> {
    match store::stored_response(db, key).await? {
        None => Ok(None),
        Some(Some(json)) => Ok(Some(PushAnswer {
            json,
            replayed: true,
        })),
        Some(None) => Err(AppError::Conflict(
            "a request with this Idempotency-Key is in progress or failed; retry later or use a new key".into(),
        )),
    }
}

// --- latest -------------------------------------------------------------------------------------------------

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LatestValue {
    pub factor: String,
    pub value: Option<f64>,
    pub flag: DataFlag,
}

/// The most recent row (real-time, minute or hour) of one point, as reported (not yet audited).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LatestValues {
    pub point_id: i64,
    pub code: String,
    pub name: String,
    pub kind: registry::model::PointKind,
    pub street_id: Option<i64>,
    pub period: Period,
    pub ts: i64,
    pub time_utc: String,
    pub time_cst: String,
    pub values: Vec<LatestValue>,
}

/// Latest values of every point `principal` may see (points without data are left out).
pub async fn latest(db: &Db, principal: &Principal) -> AppResult<Vec<LatestValues>> {
    principal.require(crate::READING, Action::Read)?;
    let mut out = Vec::new();
    for point in points::all(db).await? {
        if !points::visible_to(principal, &point) {
            continue;
        }
        let mut newest: Option<store::Row> = None;
        for period in [Period::Hour, Period::Minute, Period::Rtd] {
            if let Some(row) = store::latest_row(db, point.id, period).await?
                && newest.as_ref().is_none_or(|n| row.ts > n.ts)
            {
                newest = Some(row);
            }
        }
        let Some(row) = newest else { continue };
        let (time_utc, time_cst) = times(row.ts);
        out.push(LatestValues {
            point_id: point.id,
            code: point.code,
            name: point.name,
            kind: point.kind,
            street_id: point.street_id,
            period: row.period,
            ts: row.ts,
            time_utc,
            time_cst,
            values: row
                .iter()
                .map(|(factor, cell)| LatestValue {
                    factor: factor.to_string(),
                    value: cell.value,
                    flag: cell.flag,
                })
                .collect(),
        });
    }
    Ok(out)
}

// --- series -------------------------------------------------------------------------------------------------

/// Which values a series shows (the `period` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesPeriod {
    /// Every reported value as received.
    Raw,
    /// Every reported value with the corrections of the audit tier applied.
    Audited,
    /// Hourly values: reported hours (audited), completed by hours rolled up from minute data.
    Hour,
    /// The platform's daily roll-ups.
    Day,
}

impl SeriesPeriod {
    pub const ALL: [SeriesPeriod; 4] = [
        SeriesPeriod::Raw,
        SeriesPeriod::Audited,
        SeriesPeriod::Hour,
        SeriesPeriod::Day,
    ];

    /// The parameter's value.
    pub fn as_str(self) -> &'static str {
        match self {
            SeriesPeriod::Raw => "raw",
            SeriesPeriod::Audited => "audited",
            SeriesPeriod::Hour => "hour",
            SeriesPeriod::Day => "day",
        }
    }

    /// The `period` parameter; absent means audited.
    pub fn from_param(text: Option<&str>) -> AppResult<SeriesPeriod> {
        let Some(text) = text else {
            return Ok(SeriesPeriod::Audited);
        };
        SeriesPeriod::ALL
            .into_iter()
            .find(|p| p.as_str() == text)
            .ok_or_else(|| AppError::validation("period", "one of raw, audited, hour, day"))
    }

    /// The span shown when the request gives no start: a year of days, a week of anything finer.
    pub fn default_span(self) -> i64 {
        match self {
            SeriesPeriod::Day => 366 * DAY_SECONDS,
            _ => 7 * DAY_SECONDS,
        }
    }
}

/// A checked series request.
#[derive(Debug, Clone)]
pub struct SeriesRequest {
    /// HJ 212 factor code.
    pub factor: String,
    pub period: SeriesPeriod,
    /// Unix seconds, from inclusive, to exclusive.
    pub from: i64,
    pub to: i64,
    /// 1-based.
    pub page: i64,
    pub per_page: i64,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SeriesItem {
    pub ts: i64,
    pub time_utc: String,
    pub time_cst: String,
    /// The reported period of a raw/audited value; `hour`/`day` for roll-ups.
    pub period: Period,
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag: Option<DataFlag>,
    pub valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrected: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_valid: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SeriesPage {
    pub point_id: i64,
    pub factor: String,
    pub period: String,
    pub from: i64,
    pub to: i64,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
    pub items: Vec<SeriesItem>,
}

fn rollup_item(r: &Rollup) -> SeriesItem {
    let (time_utc, time_cst) = times(r.ts);
    SeriesItem {
        ts: r.ts,
        time_utc,
        time_cst,
        period: r.period,
        value: r.mean,
        flag: None,
        valid: r.valid,
        raw_value: None,
        corrected: None,
        n: Some(r.n),
        n_valid: Some(r.n_valid),
        expected: Some(r.expected),
        min: r.min,
        max: r.max,
    }
}

/// One page of a factor's series at `point`.
pub async fn series(db: &Db, point: &PointInfo, request: &SeriesRequest) -> AppResult<SeriesPage> {
    let SeriesRequest {
        ref factor,
        period,
        from,
        to,
        page,
        per_page,
    } = *request;
    let offset = (page - 1).saturating_mul(per_page);
    let (items, total) = match period {
        SeriesPeriod::Raw | SeriesPeriod::Audited => {
            let audited = period == SeriesPeriod::Audited;
            let (cells, total) = store::factor_series(
                db,
                point.id,
                factor,
                &Period::ALL,
                from,
                to,
                per_page,
                offset,
            )
            .await?;
            let corrections = match (audited, cells.first(), cells.last()) {
                (true, Some(first), Some(last)) => {
                    audit::latest_corrections(db, point.id, first.1, last.1 + 1).await?
                }
                _ => audit::Corrections::default(),
            };
            let items = cells
                .iter()
                .map(|&(reported, ts, cell)| {
                    let (time_utc, time_cst) = times(ts);
                    let a = corrections.apply(reported, ts, factor, cell);
                    SeriesItem {
                        ts,
                        time_utc,
                        time_cst,
                        period: reported,
                        value: a.value,
                        flag: Some(cell.flag),
                        valid: a.valid,
                        raw_value: audited.then_some(a.raw_value).flatten(),
                        corrected: audited.then_some(a.corrected),
                        n: None,
                        n_valid: None,
                        expected: None,
                        min: None,
                        max: None,
                    }
                })
                .collect();
            (items, total)
        }
        SeriesPeriod::Hour => {
            // Reported hours (audited) win over hours rolled up from minute data.
            let mut by_ts: BTreeMap<i64, SeriesItem> = BTreeMap::new();
            for r in rollup::stored(db, point.id, Some(factor), Period::Hour, from, to).await? {
                by_ts.insert(r.ts, rollup_item(&r));
            }
            let rows = store::rows(db, point.id, &[Period::Hour], from, to).await?;
            let corrections = audit::latest_corrections(db, point.id, from, to).await?;
            for row in rows {
                if let Some(cell) = row.get(factor) {
                    let a = corrections.apply(Period::Hour, row.ts, factor, cell);
                    let (time_utc, time_cst) = times(row.ts);
                    by_ts.insert(
                        row.ts,
                        SeriesItem {
                            ts: row.ts,
                            time_utc,
                            time_cst,
                            period: Period::Hour,
                            value: a.value,
                            flag: Some(cell.flag),
                            valid: a.valid,
                            raw_value: Some(a.raw_value).flatten(),
                            corrected: Some(a.corrected),
                            n: None,
                            n_valid: None,
                            expected: None,
                            min: None,
                            max: None,
                        },
                    );
                }
            }
            let total = by_ts.len() as i64;
            let items = by_ts
                .into_values()
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(usize::try_from(per_page).unwrap_or(0))
                .collect();
            (items, total)
        }
        SeriesPeriod::Day => {
            let all = rollup::stored(db, point.id, Some(factor), Period::Day, from, to).await?;
            let total = all.len() as i64;
            let items = all
                .iter()
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(usize::try_from(per_page).unwrap_or(0))
                .map(rollup_item)
                .collect();
            (items, total)
        }
    };
    Ok(SeriesPage {
        point_id: point.id,
        factor: factor.clone(),
        period: period.as_str().to_string(),
        from,
        to,
        page,
        per_page,
        total,
        items,
    })
}

// --- coverage -----------------------------------------------------------------------------------------------

/// A checked coverage request: whole CST days.
#[derive(Debug, Clone)]
pub struct CoverageRequest {
    /// The first day's start (CST), Unix seconds.
    pub from: i64,
    /// The start of the day after the last.
    pub to: i64,
    /// Only this factor, each day listed.
    pub factor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DayCoverage {
    pub date: String,
    pub n: i64,
    pub n_valid: i64,
    pub expected: i64,
    pub valid: bool,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FactorCoverage {
    pub factor: String,
    pub days_expected: i64,
    /// Days with at least one hourly value.
    pub days_observed: i64,
    /// Days valid under GB 3095 (≥ 20 valid hours).
    pub days_valid: i64,
    pub hours_expected: i64,
    pub hours_observed: i64,
    pub hours_valid: i64,
    /// hours_valid / hours_expected, per cent.
    pub coverage_percent: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub days: Vec<DayCoverage>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CoverageReport {
    pub point_id: i64,
    pub from: i64,
    pub to: i64,
    pub from_cst: String,
    pub to_cst: String,
    /// The rule applied.
    pub rule: String,
    pub factors: Vec<FactorCoverage>,
}

/// Data capture per factor at `point` over the request's days.
pub async fn coverage(
    db: &Db,
    point: &PointInfo,
    request: &CoverageRequest,
) -> AppResult<CoverageReport> {
    let CoverageRequest {
        from,
        to,
        ref factor,
    } = *request;
    let days_expected = (to - from) / DAY_SECONDS;
    let rollups = rollup::stored(db, point.id, factor.as_deref(), Period::Day, from, to).await?;
    let mut by_factor: BTreeMap<String, Vec<Rollup>> = BTreeMap::new();
    for r in rollups {
        by_factor.entry(r.factor.clone()).or_default().push(r);
    }
    if let Some(f) = factor {
        by_factor.entry(f.clone()).or_default();
    }
    let factors = by_factor
        .into_iter()
        .map(|(factor_code, days)| {
            let hours_expected = days_expected * 24;
            let hours_valid: i64 = days.iter().map(|d| d.n_valid).sum();
            FactorCoverage {
                days_expected,
                days_observed: days.iter().filter(|d| d.n > 0).count() as i64,
                days_valid: days.iter().filter(|d| d.valid).count() as i64,
                hours_expected,
                hours_observed: days.iter().map(|d| d.n).sum(),
                hours_valid,
                coverage_percent: (hours_valid as f64 * 1000.0 / hours_expected as f64).round()
                    / 10.0,
                days: if factor.is_some() {
                    days.iter()
                        .map(|d| DayCoverage {
                            date: kernel::time::cst_day(d.ts).to_string(),
                            n: d.n,
                            n_valid: d.n_valid,
                            expected: d.expected,
                            valid: d.valid,
                        })
                        .collect()
                } else {
                    Vec::new()
                },
                factor: factor_code,
            }
        })
        .collect();
    Ok(CoverageReport {
        point_id: point.id,
        from,
        to,
        from_cst: format_cst_rfc3339(from),
        to_cst: format_cst_rfc3339(to),
        rule: "GB 3095 表4: 日均值需 ≥ 20 个有效小时值; 由分钟数据得到的小时值需 ≥ 45 分钟有效数据"
            .into(),
        factors,
    })
}

/// The data version, bumped by every roll-up (every write and correction of readings goes through one): a
/// figure derived from the readings while it was v is current while it is still v. Caches of derived figures
/// key on it.
pub async fn data_version(db: &Db) -> anyhow::Result<i64> {
    Ok(rollup::data_version(db).await?)
}

/// What a figure computed from the readings and the registry, targets or any other record can depend on: the
/// readings' data version and the audit version (every other change is audited in its own transaction). A page
/// computed at one stamp is current while the stamp is unchanged; caches of whole pages key on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DataStamp {
    pub readings: i64,
    pub audited: i64,
}

/// The current [`DataStamp`].
pub async fn data_stamp(db: &Db) -> anyhow::Result<DataStamp> {
    Ok(DataStamp {
        readings: rollup::data_version(db).await?,
        audited: kernel::audit::version(db).await?,
    })
}

/// When and for whom a whole page was computed: the database (tests share one process between databases), the
/// data stamp, the minute (what the stamp cannot see: the clock, and changes another process makes outside the
/// audit log), and what of the caller a page may depend on — the role (which tiles and points) and a street
/// officer's street. A page cached under a view stamp may be served to every caller with an equal one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewStamp {
    database: String,
    data: DataStamp,
    minute: i64,
    role: kernel::Role,
    street: Option<i64>,
}

/// The [`ViewStamp`] of `principal` at `now` (Unix seconds).
pub async fn view_stamp(db: &Db, principal: &Principal, now: i64) -> AppResult<ViewStamp> {
    Ok(ViewStamp {
        database: db.url(),
        data: data_stamp(db).await.map_err(AppError::Internal)?,
        minute: now.div_euclid(60),
        role: principal.role,
        street: principal.street_scope(),
    })
}

/// The stale marks of derived daily figures: per (point, CST day number) of these points in `first..=last`,
/// the data version of the last roll-up that touched the day; days never touched are absent (version 0). A
/// figure stored with the version read here is stale once the day's version differs.
pub async fn day_versions(
    db: &Db,
    point_ids: &[i64],
    first: i64,
    last: i64,
) -> anyhow::Result<std::collections::HashMap<(i64, i64), i64>> {
    Ok(rollup::day_versions(db, point_ids, first, last).await?)
}
