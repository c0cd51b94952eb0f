//! The readings API under `/api/v1`: push, series, latest values, coverage, CSV export, corrections and month
//! locks. Every request checks the role (`crate::READING`, `crate::DATA_AUDIT`) and the point's
//! visibility (street officers: their street; the public: air stations and water sections). Times are Unix
//! seconds (UTC) with the RFC 3339 UTC and CST renderings alongside.

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kernel::time::{DAY_SECONDS, format_cst_rfc3339, format_utc_rfc3339, now_ts};
use kernel::web::{ApiJson, ApiPath, ApiQuery};
use kernel::{Action, AppError, AppResult, AppState, Principal};
use serde::{Deserialize, Serialize};

use crate::audit::{self, CorrectionRecord, MonthLock, NewCorrection};
use crate::factors::{self, Factor};
use crate::model::{DataFlag, Period, Reading};
use crate::points::{self, PointInfo};
use crate::rollup::{self, Rollup};
use crate::store::{self, Conflict, NewSource};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/readings", post(push))
        .route("/api/v1/readings/latest", get(latest))
        .route("/api/v1/readings/factors", get(catalogue))
        .route("/api/v1/readings/export.csv", get(export_csv))
        .route("/api/v1/readings/export.xlsx", get(export_xlsx))
        .route("/api/v1/readings/locks", post(locks))
        .route(
            "/api/v1/readings/retention",
            get(retention_get).put(retention_put),
        )
        .route("/api/v1/points/{id}/series", get(series))
        .route("/api/v1/points/{id}/coverage", get(coverage))
        .route(
            "/api/v1/points/{id}/corrections",
            get(list_corrections).post(correct),
        )
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(push, latest, catalogue, export_csv, export_xlsx, locks, retention_get, retention_put, series, coverage,
        correct, list_corrections),
    components(schemas(PushBody, Reading, Period, DataFlag, PushResult, Conflict, LatestValues, LatestValue,
        Factor, SeriesPage, SeriesItem, CoverageReport, FactorCoverage, DayCoverage, NewCorrection,
        CorrectionRecord, LockBody, LockAction, MonthLock, crate::retention::Retention,
        crate::retention::RetentionInput, kernel::error::Problem)),
    tags((name = "readings", description = "监测数据 Monitoring data: push, series, coverage, export, 数据审核"))
)]
pub struct ApiDoc;

/// Readings accepted per push.
const MAX_PUSH: usize = 50_000;
/// Series items per page at most.
const MAX_PER_PAGE: i64 = 10_000;

fn times(ts: i64) -> (String, String) {
    (format_utc_rfc3339(ts), format_cst_rfc3339(ts))
}

/// Parses a time parameter: Unix seconds, RFC 3339 with offset, or CST local time / date.
fn parse_time_param(field: &str, text: &str) -> AppResult<i64> {
    if let Ok(seconds) = text.trim().parse::<i64>() {
        return Ok(seconds);
    }
    crate::import::parse_time(text).ok_or_else(|| {
        AppError::validation(
            field,
            "expected Unix seconds, RFC 3339 (2024-01-01T08:00:00+08:00) or a CST date/time (2024-01-01, 2024-01-01 08:00)",
        )
    })
}

fn check_factor(field: &str, code: &str) -> AppResult<()> {
    if factors::is_plausible_code(code) {
        Ok(())
    } else {
        Err(AppError::validation(
            field,
            format!("{code:?} is not an HJ 212 factor code"),
        ))
    }
}

// --- push ---------------------------------------------------------------------------------------------------

/// A batch of readings.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PushBody {
    pub readings: Vec<Reading>,
}

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

/// Stores a batch of readings (stations reporting over HTTP). Send `Idempotency-Key` to make retries safe: a
/// repeated key returns the first answer (with `Idempotent-Replay: true`) and writes nothing.
#[utoipa::path(post, path = "/api/v1/readings", tag = "readings", request_body = PushBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first answer")),
    responses((status = 200, body = PushResult), (status = 403, body = kernel::error::Problem),
        (status = 409, body = kernel::error::Problem), (status = 422, body = kernel::error::Problem)))]
async fn push(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PushBody>,
) -> AppResult<Response> {
    principal.require(crate::READING, Action::Create)?;
    let db = &state.db;
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(value) => {
            let text = value
                .to_str()
                .ok()
                .map(str::trim)
                .filter(|k| !k.is_empty() && k.len() <= 200)
                .ok_or_else(|| {
                    AppError::validation("Idempotency-Key", "1 to 200 visible characters")
                })?;
            // Keys are per user: two clients cannot collide.
            Some(format!("{}:{text}", principal.user_id))
        }
    };
    if let Some(key) = &key
        && let Some(reply) = replay(&state, key).await?
    {
        return Ok(reply);
    }
    if body.readings.is_empty() {
        return Err(AppError::validation("readings", "no readings"));
    }
    if body.readings.len() > MAX_PUSH {
        return Err(AppError::validation(
            "readings",
            format!("at most {MAX_PUSH} readings per request"),
        ));
    }
    let mut checked: BTreeSet<i64> = BTreeSet::new();
    for (i, r) in body.readings.iter().enumerate() {
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
            points::visible(db, &principal, r.point_id)
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
        name: format!("POST /api/v1/readings ({} readings)", body.readings.len()),
        checksum: None,
        received_by: principal.username.clone(),
        idempotency_key: key.clone(),
    };
    let source_id = match store::create_source(db, &source).await {
        Ok(id) => id,
        // The same key raced in from a concurrent retry: answer like a replay (or say it is in progress).
        Err(e) if kernel::db::is_unique_violation(&e) => {
            return match key {
                Some(key) => match replay(&state, &key).await? {
                    Some(reply) => Ok(reply),
                    None => Err(AppError::Conflict(
                        "a request with this Idempotency-Key is in progress".into(),
                    )),
                },
                None => Err(e.into()),
            };
        }
        Err(e) => return Err(e.into()),
    };
    let outcome = store::write(db, source_id, &body.readings).await?;
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
    let text = serde_json::to_string(&result)?;
    sqlx::query("UPDATE reading_sources SET response_json = $1 WHERE id = $2")
        .bind(&text)
        .bind(source_id)
        .execute(db.pool())
        .await?;
    Ok(json_response(text, false))
}

fn json_response(text: String, replayed: bool) -> Response {
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        text,
    )
        .into_response();
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replay", HeaderValue::from_static("true"));
    }
    response
}

/// The stored answer of an earlier request with this key, if it finished.
async fn replay(state: &AppState, key: &str) -> AppResult<Option<Response>> {
    let stored: Option<Option<String>> =
        sqlx::query_scalar("SELECT response_json FROM reading_sources WHERE idempotency_key = $1")
            .bind(key)
            .fetch_optional(state.db.pool())
            .await?;
    match stored {
        None => Ok(None),
        Some(Some(text)) => Ok(Some(json_response(text, true))),
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
    pub kind: String,
    pub street_id: Option<i64>,
    pub period: Period,
    pub ts: i64,
    pub time_utc: String,
    pub time_cst: String,
    pub values: Vec<LatestValue>,
}

/// Latest values of every point the caller may see (points without data are left out).
#[utoipa::path(get, path = "/api/v1/readings/latest", tag = "readings",
    responses((status = 200, body = [LatestValues]), (status = 403, body = kernel::error::Problem)))]
async fn latest(
    State(state): State<AppState>,
    principal: Principal,
) -> AppResult<ApiJson<Vec<LatestValues>>> {
    principal.require(crate::READING, Action::Read)?;
    let mut out = Vec::new();
    for point in points::all(&state.db).await? {
        if !points::visible_to(&principal, &point) {
            continue;
        }
        let mut newest: Option<store::Row> = None;
        for period in [Period::Hour, Period::Minute, Period::Rtd] {
            if let Some(row) = store::latest_row(&state.db, point.id, period).await?
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
    Ok(ApiJson(out))
}

/// The factor catalogue: codes with a column of their own, names, units, plausible ranges.
#[utoipa::path(get, path = "/api/v1/readings/factors", tag = "readings", responses((status = 200, body = [Factor])))]
async fn catalogue(principal: Principal) -> AppResult<ApiJson<&'static [Factor]>> {
    principal.require(crate::READING, Action::Read)?;
    Ok(ApiJson(factors::CATALOGUE))
}

// --- series -------------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// HJ 212 factor code, e.g. a34004.
    pub factor: Option<String>,
    /// raw (as received), audited (corrections applied), hour (hourly values: reported hours, completed by
    /// hours rolled up from minute data), day (platform daily roll-ups). Default audited.
    pub period: Option<String>,
    /// From (inclusive): Unix seconds, RFC 3339, or CST date/time. Default: 7 days before `to` (a year for day).
    pub from: Option<String>,
    /// To (exclusive). Default now.
    pub to: Option<String>,
    /// 1-based page (default 1).
    pub page: Option<i64>,
    /// Items per page (default 1,000, at most 10,000).
    pub per_page: Option<i64>,
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

fn range(
    query_from: &Option<String>,
    query_to: &Option<String>,
    default_span: i64,
) -> AppResult<(i64, i64)> {
    let to = match query_to {
        Some(t) => parse_time_param("to", t)?,
        None => now_ts(),
    };
    let from = match query_from {
        Some(f) => parse_time_param("from", f)?,
        None => to - default_span,
    };
    if from >= to {
        return Err(AppError::validation("from", "must be before `to`"));
    }
    Ok((from, to))
}

/// A series of one factor at one point: raw, audited, hourly or daily, paged.
#[utoipa::path(get, path = "/api/v1/points/{id}/series", tag = "readings", params(("id" = i64, Path), SeriesQuery),
    responses((status = 200, body = SeriesPage), (status = 404, body = kernel::error::Problem),
        (status = 422, body = kernel::error::Problem)))]
async fn series(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<SeriesQuery>,
) -> AppResult<ApiJson<SeriesPage>> {
    principal.require(crate::READING, Action::Read)?;
    let point = points::visible(&state.db, &principal, id).await?;
    let factor = query
        .factor
        .clone()
        .ok_or_else(|| AppError::validation("factor", "required, e.g. a34004"))?;
    check_factor("factor", &factor)?;
    let period = query
        .period
        .clone()
        .unwrap_or_else(|| "audited".to_string());
    let default_span = if period == "day" {
        366 * DAY_SECONDS
    } else {
        7 * DAY_SECONDS
    };
    let (from, to) = range(&query.from, &query.to, default_span)?;
    let page = query.page.unwrap_or(1).max(1);
    let per_page = query.per_page.unwrap_or(1_000).clamp(1, MAX_PER_PAGE);
    let offset = (page - 1).saturating_mul(per_page);
    let db = &state.db;
    let (items, total) = match period.as_str() {
        "raw" | "audited" => {
            let (cells, total) = store::factor_series(
                db,
                point.id,
                &factor,
                &Period::ALL,
                from,
                to,
                per_page,
                offset,
            )
            .await?;
            let corrections = match (period.as_str(), cells.first(), cells.last()) {
                ("audited", Some(first), Some(last)) => {
                    audit::latest_corrections(db, point.id, first.1, last.1 + 1).await?
                }
                _ => audit::Corrections::default(),
            };
            let audited = period == "audited";
            let items = cells
                .iter()
                .map(|&(reported, ts, cell)| {
                    let (time_utc, time_cst) = times(ts);
                    let a = corrections.apply(reported, ts, &factor, cell);
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
        "hour" => {
            // Reported hours (audited) win over hours rolled up from minute data.
            let mut by_ts: BTreeMap<i64, SeriesItem> = BTreeMap::new();
            for r in rollup::stored(db, point.id, Some(&factor), Period::Hour, from, to).await? {
                by_ts.insert(r.ts, rollup_item(&r));
            }
            let rows = store::rows(db, point.id, &[Period::Hour], from, to).await?;
            let corrections = audit::latest_corrections(db, point.id, from, to).await?;
            for row in rows {
                if let Some(cell) = row.get(&factor) {
                    let a = corrections.apply(Period::Hour, row.ts, &factor, cell);
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
        "day" => {
            let all = rollup::stored(db, point.id, Some(&factor), Period::Day, from, to).await?;
            let total = all.len() as i64;
            let items = all
                .iter()
                .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                .take(usize::try_from(per_page).unwrap_or(0))
                .map(rollup_item)
                .collect();
            (items, total)
        }
        _ => {
            return Err(AppError::validation(
                "period",
                "one of raw, audited, hour, day",
            ));
        }
    };
    Ok(ApiJson(SeriesPage {
        point_id: point.id,
        factor,
        period,
        from,
        to,
        page,
        per_page,
        total,
        items,
    }))
}

// --- coverage -----------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageQuery {
    /// First CST day (YYYY-MM-DD, or any time form of `series`). Default: 30 days before `to`.
    pub from: Option<String>,
    /// Day after the last (exclusive). Default: today's start (CST).
    pub to: Option<String>,
    /// Only this factor (then each day is listed).
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

/// Data capture per factor over whole CST days: expected vs observed vs valid hours and days.
#[utoipa::path(get, path = "/api/v1/points/{id}/coverage", tag = "readings", params(("id" = i64, Path), CoverageQuery),
    responses((status = 200, body = CoverageReport), (status = 404, body = kernel::error::Problem)))]
async fn coverage(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<CoverageQuery>,
) -> AppResult<ApiJson<CoverageReport>> {
    principal.require(crate::READING, Action::Read)?;
    let point = points::visible(&state.db, &principal, id).await?;
    if let Some(f) = &query.factor {
        check_factor("factor", f)?;
    }
    let today = kernel::time::cst_day_start(kernel::time::cst_day(now_ts()));
    let to = match &query.to {
        Some(t) => parse_time_param("to", t)?,
        None => today,
    };
    let from = match &query.from {
        Some(f) => parse_time_param("from", f)?,
        None => to - 30 * DAY_SECONDS,
    };
    // Whole CST days.
    let from = kernel::time::cst_day_start(kernel::time::cst_day(from));
    let to = kernel::time::cst_day_start(kernel::time::cst_day(to - 1)) + DAY_SECONDS;
    if from >= to || to - from > 3_700 * DAY_SECONDS {
        return Err(AppError::validation(
            "from",
            "from must be before to, and at most ten years apart",
        ));
    }
    let days_expected = (to - from) / DAY_SECONDS;
    let rollups = rollup::stored(
        &state.db,
        point.id,
        query.factor.as_deref(),
        Period::Day,
        from,
        to,
    )
    .await?;
    let mut by_factor: BTreeMap<String, Vec<Rollup>> = BTreeMap::new();
    for r in rollups {
        by_factor.entry(r.factor.clone()).or_default().push(r);
    }
    if let Some(f) = &query.factor {
        by_factor.entry(f.clone()).or_default();
    }
    let factors = by_factor
        .into_iter()
        .map(|(factor, days)| {
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
                days: if query.factor.is_some() {
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
                factor,
            }
        })
        .collect();
    Ok(ApiJson(CoverageReport {
        point_id: point.id,
        from,
        to,
        from_cst: format_cst_rfc3339(from),
        to_cst: format_cst_rfc3339(to),
        rule: "GB 3095 表4: 日均值需 ≥ 20 个有效小时值; 由分钟数据得到的小时值需 ≥ 45 分钟有效数据"
            .into(),
        factors,
    }))
}

// --- export -------------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// A point id; omit for every point the caller may see.
    pub point: Option<i64>,
    /// CST month, YYYY-MM.
    pub month: Option<String>,
}

/// One exported value.
struct ExportLine {
    factor: String,
    time_cst: String,
    period: Period,
    value: Option<f64>,
    flag: DataFlag,
    audited: Option<f64>,
    valid: bool,
    time_utc: String,
}

/// The values of one point in the export, its code beside them.
struct PointLines {
    code: String,
    lines: Vec<ExportLine>,
}

const EXPORT_HEADER: [&str; 9] = [
    "point",
    "factor",
    "time",
    "period",
    "value",
    "flag",
    "audited_value",
    "valid",
    "time_utc",
];
/// Values per workbook: an XLSX sheet holds 1,048,576 rows. A CSV is streamed and has no such bound.
const MAX_XLSX_LINES: usize = 1_000_000;
/// CSV bytes gathered before they are sent on.
const CSV_CHUNK: usize = 64 * 1024;

/// What an export covers, checked before anything is read or streamed.
struct ExportPlan {
    points: Vec<PointInfo>,
    from: i64,
    to: i64,
    stem: String,
}

/// Checks the request. A whole month of every visible point (no `point`) is a bulk export, which the public may
/// not make: it is the one export that reads every station's month, and the public's interest (a station's data)
/// is served one point at a time. Staff and street officers (their street's points) may.
async fn export_plan(
    state: &AppState,
    principal: &Principal,
    query: &ExportQuery,
) -> AppResult<ExportPlan> {
    principal.require(crate::READING, Action::Read)?;
    let month = query
        .month
        .clone()
        .ok_or_else(|| AppError::validation("month", "required, YYYY-MM"))?;
    let (from, to) = audit::parse_month(&month)
        .and_then(|(y, m)| audit::month_span(y, m))
        .ok_or_else(|| AppError::validation("month", "expected YYYY-MM"))?;
    let points: Vec<PointInfo> = match query.point {
        Some(id) => vec![points::visible(&state.db, principal, id).await?],
        None if principal.role == kernel::Role::Public => {
            return Err(AppError::forbidden(
                "the public exports one point at a time: give point",
            ));
        }
        None => points::all(&state.db)
            .await?
            .into_iter()
            .filter(|p| points::visible_to(principal, p))
            .collect(),
    };
    let stem = match query.point {
        Some(id) => format!("readings-{id}-{month}"),
        None => format!("readings-{month}"),
    };
    Ok(ExportPlan {
        points,
        from,
        to,
        stem,
    })
}

/// Every value of one point in the plan's month, with its audited value.
async fn point_lines(
    db: &kernel::Db,
    point: &PointInfo,
    from: i64,
    to: i64,
) -> AppResult<PointLines> {
    let rows = store::rows(db, point.id, &Period::ALL, from, to).await?;
    let mut lines = Vec::new();
    if !rows.is_empty() {
        let corrections = audit::latest_corrections(db, point.id, from, to).await?;
        for row in &rows {
            let (time_utc, time_cst) = times(row.ts);
            for (factor, cell) in row.iter() {
                let a = corrections.apply(row.period, row.ts, factor, cell);
                lines.push(ExportLine {
                    factor: factor.to_string(),
                    time_cst: time_cst.clone(),
                    period: row.period,
                    value: cell.value,
                    flag: cell.flag,
                    audited: a.value,
                    valid: a.valid,
                    time_utc: time_utc.clone(),
                });
            }
        }
    }
    Ok(PointLines {
        code: point.code.clone(),
        lines,
    })
}

fn attachment(content_type: &str, name: String, body: axum::body::Body) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        body,
    )
        .into_response()
}

fn csv_record(out: &mut csv::Writer<Vec<u8>>, code: &str, l: &ExportLine) -> csv::Result<()> {
    let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    out.write_record([
        code,
        &l.factor,
        &l.time_cst,
        l.period.as_str(),
        &num(l.value),
        &l.flag.as_char().to_string(),
        &num(l.audited),
        if l.valid { "1" } else { "0" },
        &l.time_utc,
    ])
}

/// The readings of a point-month or a whole month as CSV. The first six columns are the generic import format
/// (so an export can be imported elsewhere); then the audited value, validity and the UTC time. Streamed one
/// point at a time, so its size does not depend on memory; a failure part-way ends the download early (the
/// client sees a truncated file) and is logged.
#[utoipa::path(get, path = "/api/v1/readings/export.csv", tag = "readings", params(ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, body = kernel::error::Problem),
        (status = 422, body = kernel::error::Problem), (status = 429, body = kernel::error::Problem)))]
async fn export_csv(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> AppResult<Response> {
    let plan = export_plan(&state, &principal, &query).await?;
    let slot = kernel::export::slot(&state).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let db = state.db.clone();
    let stem = plan.stem.clone();
    tokio::spawn(async move {
        let _slot = slot;
        let mut out = csv::Writer::from_writer(Vec::with_capacity(CSV_CHUNK));
        if out.write_record(EXPORT_HEADER).is_err() {
            return;
        }
        for point in &plan.points {
            let lines = match point_lines(&db, point, plan.from, plan.to).await {
                Ok(lines) => lines,
                Err(e) => {
                    tracing::warn!(
                        "CSV export {} stopped at point {}: {e}",
                        plan.stem,
                        point.id
                    );
                    let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                    return;
                }
            };
            for line in &lines.lines {
                if csv_record(&mut out, &lines.code, line).is_err() {
                    return;
                }
                if out.get_ref().len() >= CSV_CHUNK {
                    let chunk = match out.into_inner() {
                        Ok(chunk) => chunk,
                        Err(_) => return,
                    };
                    out = csv::Writer::from_writer(Vec::with_capacity(CSV_CHUNK));
                    // The client is gone: stop reading.
                    if tx.send(Ok(chunk)).await.is_err() {
                        return;
                    }
                }
            }
        }
        if let Ok(rest) = out.into_inner()
            && !rest.is_empty()
        {
            let _ = tx.send(Ok(rest)).await;
        }
    });
    // Fused: the compression layer polls a finished body once more, and an unfused `unfold` panics on that.
    let stream =
        futures_util::StreamExt::fuse(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|chunk| (chunk, rx))
        }));
    Ok(attachment(
        "text/csv; charset=utf-8",
        format!("{stem}.csv"),
        axum::body::Body::from_stream(stream),
    ))
}

/// The same export as an Excel workbook (one sheet, numbers as numbers, at most 1,000,000 values). The
/// workbook is written on a blocking thread, row by row to a temporary file (rust_xlsxwriter's constant-memory
/// mode), while the async side reads one point at a time.
#[utoipa::path(get, path = "/api/v1/readings/export.xlsx", tag = "readings", params(ExportQuery),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = kernel::error::Problem), (status = 422, body = kernel::error::Problem),
        (status = 429, body = kernel::error::Problem)))]
async fn export_xlsx(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> AppResult<Response> {
    let plan = export_plan(&state, &principal, &query).await?;
    let _slot = kernel::export::slot(&state).await?;
    let name = format!("{}.xlsx", plan.stem);
    let (tx, rx) = tokio::sync::mpsc::channel::<PointLines>(2);
    let writer = kernel::export::build_off_thread(move || write_workbook(rx));
    let reader = async move {
        let mut total = 0usize;
        for point in &plan.points {
            let lines = point_lines(&state.db, point, plan.from, plan.to).await?;
            total += lines.lines.len();
            if total > MAX_XLSX_LINES {
                return Err(AppError::validation(
                    "point",
                    format!(
                        "more than {MAX_XLSX_LINES} values in this export: export one point at a time"
                    ),
                ));
            }
            if tx.send(lines).await.is_err() {
                break;
            }
        }
        Ok(())
    };
    // Reading and writing run together; when reading fails, its sender is dropped, the writer finishes early
    // and its workbook is discarded.
    let (read, bytes) = tokio::join!(reader, writer);
    read?;
    Ok(attachment(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        name,
        axum::body::Body::from(bytes?),
    ))
}

/// Writes the points received until the sender is gone into one workbook (on a blocking thread).
fn write_workbook(mut points: tokio::sync::mpsc::Receiver<PointLines>) -> AppResult<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let xlsx = |e: rust_xlsxwriter::XlsxError| AppError::Internal(anyhow::anyhow!("xlsx: {e}"));
    let mut book = Workbook::new();
    let sheet = book.add_worksheet_with_constant_memory();
    sheet.set_name("监测数据").map_err(xlsx)?;
    let bold = Format::new().set_bold();
    let titles = [
        "点位",
        "因子",
        "时间（北京时间）",
        "周期",
        "原始值",
        "标记",
        "审核值",
        "有效",
        "时间（UTC）",
    ];
    for (col, title) in (0u16..).zip(titles) {
        sheet
            .set_column_width(col, if col == 2 || col == 8 { 26 } else { 10 })
            .map_err(xlsx)?;
        sheet
            .write_string_with_format(0, col, title, &bold)
            .map_err(xlsx)?;
    }
    let mut row = 0u32;
    while let Some(point) = points.blocking_recv() {
        for l in &point.lines {
            row += 1;
            sheet.write_string(row, 0, &point.code).map_err(xlsx)?;
            sheet.write_string(row, 1, &l.factor).map_err(xlsx)?;
            sheet.write_string(row, 2, &l.time_cst).map_err(xlsx)?;
            sheet
                .write_string(row, 3, l.period.as_str())
                .map_err(xlsx)?;
            if let Some(v) = l.value {
                sheet.write_number(row, 4, v).map_err(xlsx)?;
            }
            sheet
                .write_string(row, 5, l.flag.as_char().to_string())
                .map_err(xlsx)?;
            if let Some(v) = l.audited {
                sheet.write_number(row, 6, v).map_err(xlsx)?;
            }
            sheet
                .write_number(row, 7, if l.valid { 1.0 } else { 0.0 })
                .map_err(xlsx)?;
            sheet.write_string(row, 8, &l.time_utc).map_err(xlsx)?;
        }
    }
    book.save_to_buffer().map_err(xlsx)
}

// --- audit tier ---------------------------------------------------------------------------------------------

/// Corrects a value or marks it invalid (数据审核): a new version, the raw value untouched; the roll-ups of
/// that day are recomputed. Refused (409) in a confirmed month.
#[utoipa::path(post, path = "/api/v1/points/{id}/corrections", tag = "readings", params(("id" = i64, Path)),
    request_body = NewCorrection,
    responses((status = 201, body = CorrectionRecord), (status = 403, body = kernel::error::Problem),
        (status = 409, body = kernel::error::Problem), (status = 422, body = kernel::error::Problem)))]
async fn correct(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<NewCorrection>,
) -> AppResult<Response> {
    principal.require(crate::DATA_AUDIT, Action::Create)?;
    let point = points::visible(&state.db, &principal, id).await?;
    let (record, dirty) = audit::correct(&state.db, &principal, point.id, &input).await?;
    rollup::recompute(&state.db, &BTreeSet::from([dirty])).await?;
    Ok((StatusCode::CREATED, ApiJson(record)).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CorrectionsQuery {
    /// From (inclusive), any time form of `series`. Default: a year before `to`.
    pub from: Option<String>,
    /// To (exclusive). Default now.
    pub to: Option<String>,
}

/// The correction history of a point (every version, who and why, with the raw value), newest first.
#[utoipa::path(get, path = "/api/v1/points/{id}/corrections", tag = "readings", params(("id" = i64, Path), CorrectionsQuery),
    responses((status = 200, body = [CorrectionRecord]), (status = 403, body = kernel::error::Problem),
        (status = 404, body = kernel::error::Problem)))]
async fn list_corrections(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<CorrectionsQuery>,
) -> AppResult<ApiJson<Vec<CorrectionRecord>>> {
    principal.require(crate::DATA_AUDIT, Action::Read)?;
    let point = points::visible(&state.db, &principal, id).await?;
    let (from, to) = range(&query.from, &query.to, 366 * DAY_SECONDS)?;
    Ok(ApiJson(
        audit::corrections_of(&state.db, point.id, from, to).await?,
    ))
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LockAction {
    /// 确认: confirm the month's data.
    Lock,
    /// 重新开放: reopen a confirmed month (needs a reason).
    Reopen,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LockBody {
    /// CST month, YYYY-MM.
    pub month: String,
    pub action: LockAction,
    /// Required to reopen.
    pub reason: Option<String>,
}

/// Confirms (locks) a month's data, or reopens it with a recorded reason.
#[utoipa::path(post, path = "/api/v1/readings/locks", tag = "readings", request_body = LockBody,
    responses((status = 200, body = MonthLock), (status = 403, body = kernel::error::Problem),
        (status = 409, body = kernel::error::Problem), (status = 422, body = kernel::error::Problem)))]
async fn locks(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<LockBody>,
) -> AppResult<ApiJson<MonthLock>> {
    principal.require(crate::DATA_AUDIT, Action::Update)?;
    let lock = match body.action {
        LockAction::Lock => audit::lock_month(&state.db, &principal, &body.month).await?,
        LockAction::Reopen => {
            audit::reopen_month(
                &state.db,
                &principal,
                &body.month,
                body.reason.as_deref().unwrap_or(""),
            )
            .await?
        }
    };
    Ok(ApiJson(lock))
}

/// How long real-time and minute rows are kept, and how far they have been swept.
#[utoipa::path(get, path = "/api/v1/readings/retention", tag = "readings",
    responses((status = 200, body = [crate::retention::Retention]), (status = 403, body = kernel::error::Problem)))]
async fn retention_get(
    State(state): State<AppState>,
    principal: Principal,
) -> AppResult<ApiJson<Vec<crate::retention::Retention>>> {
    principal.require(crate::DATA_AUDIT, Action::Read)?;
    Ok(ApiJson(crate::retention::settings(&state.db).await?))
}

/// Changes the days kept (minute data at least 8 days: the alarm worker looks back 7).
#[utoipa::path(put, path = "/api/v1/readings/retention", tag = "readings", request_body = crate::retention::RetentionInput,
    responses((status = 200, body = [crate::retention::Retention]), (status = 403, body = kernel::error::Problem),
        (status = 422, body = kernel::error::Problem)))]
async fn retention_put(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<crate::retention::RetentionInput>,
) -> AppResult<ApiJson<Vec<crate::retention::Retention>>> {
    Ok(ApiJson(
        crate::retention::update(&state.db, &principal, &input).await?,
    ))
}
