//! The readings API under `/api/v1`: push, series, latest values, coverage, CSV export, corrections and month
//! locks. Thin handlers: each parses its query into a typed request once (a malformed parameter is a 422 naming
//! it), calls [`crate::service`] or [`crate::export`], and answers. Every request checks the role
//! (`crate::READING`, `crate::DATA_AUDIT`) and the point's visibility (street officers: their street; the
//! public: air stations and water sections). Times are Unix seconds (UTC) with the RFC 3339 UTC and CST
//! renderings alongside.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kernel::cache::FlightCache;
use kernel::time::{DAY_SECONDS, now_ts};
use kernel::web::{ApiJson, ApiPath, ApiQuery, JsonBody};
use kernel::{Action, AppError, AppResult, AppState, Principal};
use serde::Deserialize;

use crate::audit::{self, CorrectionRecord, MonthLock, NewCorrection};
use crate::export::{self, ExportRequest};
use crate::factors::{self, Factor};
use crate::model::{DataFlag, Period, Reading};
use crate::service::{
    self, CoverageReport, CoverageRequest, DayCoverage, FactorCoverage, LatestValue, LatestValues,
    PushResult, SeriesItem, SeriesPage, SeriesPeriod, SeriesRequest, check_factor,
};
use crate::store::Conflict;

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
    components(responses(kernel::error::ProblemResponse), schemas(PushBody, Reading, Period, DataFlag, PushResult, Conflict, LatestValues, LatestValue,
        Factor, SeriesPage, SeriesItem, CoverageReport, FactorCoverage, DayCoverage, NewCorrection,
        CorrectionRecord, LockBody, LockAction, MonthLock, crate::retention::Retention,
        crate::retention::RetentionInput, kernel::error::Problem)),
    tags((name = "readings", description = "监测数据 Monitoring data: push, series, coverage, export, 数据审核"))
)]
pub struct ApiDoc;

/// Series items per page at most.
const MAX_PER_PAGE: i64 = 10_000;

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

// --- push ---------------------------------------------------------------------------------------------------

/// A batch of readings.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PushBody {
    pub readings: Vec<Reading>,
}
/// Stores a batch of readings (stations reporting over HTTP). Send `Idempotency-Key` to make retries safe: a
/// repeated key returns the first answer (with `Idempotent-Replay: true`) and writes nothing.
#[utoipa::path(post, path = "/api/v1/readings", tag = "readings", request_body = PushBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retry return the first answer")),
    responses((status = 200, body = PushResult), (status = 403, response = kernel::error::ProblemResponse),
        (status = 409, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn push(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PushBody>,
) -> AppResult<Response> {
    // Before the header is judged: a caller who may not push learns only that.
    principal.require(crate::READING, Action::Create)?;
    let key = idempotency_key(&principal, &headers)?;
    let answer = service::push(&state.db, &principal, key, &body.readings).await?;
    Ok(json_response(answer.json, answer.replayed))
}

/// The request's `Idempotency-Key`, made per user (two clients cannot collide).
fn idempotency_key(principal: &Principal, headers: &HeaderMap) -> AppResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .ok_or_else(|| AppError::validation("Idempotency-Key", "1 to 200 visible characters"))?;
    Ok(Some(format!("{}:{text}", principal.user_id)))
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

// --- latest -------------------------------------------------------------------------------------------------

/// Latest values of every point the caller may see (points without data are left out).
#[utoipa::path(get, path = "/api/v1/readings/latest", tag = "readings",
    responses((status = 200, body = [LatestValues]), (status = 403, response = kernel::error::ProblemResponse)))]
async fn latest(State(state): State<AppState>, principal: Principal) -> AppResult<JsonBody> {
    let key = service::view_stamp(&state.db, &principal, now_ts()).await?;
    let body = LATEST
        .get_or_try_compute(key, || async {
            JsonBody::of(&service::latest(&state.db, &principal).await?)
        })
        .await?;
    Ok(body.as_ref().clone())
}

/// The latest values of every point take one query per point; they change with the data stamp (new readings,
/// the registry) and are the same for every caller of one role and street (issue 15).
static LATEST: FlightCache<service::ViewStamp, JsonBody> =
    FlightCache::new(std::time::Duration::from_secs(60), 16);

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
    #[param(required = true)]
    pub factor: Option<String>,
    /// raw (as received), audited (corrections applied), hour (hourly values: reported hours, completed by
    /// hours rolled up from minute data), day (platform daily roll-ups). Default audited.
    #[param(schema_with = series_period_schema)]
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

impl SeriesQuery {
    /// The typed request. The parameters are judged in the order the API always has: factor, then `from`/`to`
    /// (whose default span depends on the period), then period.
    fn parse(&self) -> AppResult<SeriesRequest> {
        let factor = self
            .factor
            .clone()
            .ok_or_else(|| AppError::validation("factor", "required, e.g. a34004"))?;
        check_factor("factor", &factor)?;
        let period = SeriesPeriod::from_param(self.period.as_deref());
        // A period that is refused after the range still gives the range its default span.
        let default_span = period
            .as_ref()
            .map_or(SeriesPeriod::Audited, |p| *p)
            .default_span();
        let (from, to) = range(&self.from, &self.to, default_span)?;
        Ok(SeriesRequest {
            factor,
            period: period?,
            from,
            to,
            page: self.page.unwrap_or(1).max(1),
            per_page: self.per_page.unwrap_or(1_000).clamp(1, MAX_PER_PAGE),
        })
    }
}

/// The periods `series` serves.
fn series_period_schema() -> utoipa::openapi::schema::Object {
    kernel::web::text_choice(
        "raw (as received), audited (corrections applied, the default), hour (reported hours completed by roll-ups of minute data), day (platform daily roll-ups)",
        &SeriesPeriod::ALL.map(SeriesPeriod::as_str),
    )
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
    responses((status = 200, body = SeriesPage), (status = 404, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn series(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<SeriesQuery>,
) -> AppResult<ApiJson<SeriesPage>> {
    let point = service::readable_point(&state.db, &principal, id).await?;
    let request = query.parse()?;
    Ok(ApiJson(service::series(&state.db, &point, &request).await?))
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

impl CoverageQuery {
    /// The typed request: whole CST days, at most ten years.
    fn parse(&self) -> AppResult<CoverageRequest> {
        if let Some(f) = &self.factor {
            check_factor("factor", f)?;
        }
        let today = kernel::time::cst_day_start(kernel::time::cst_day(now_ts()));
        let to = match &self.to {
            Some(t) => parse_time_param("to", t)?,
            None => today,
        };
        let from = match &self.from {
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
        Ok(CoverageRequest {
            from,
            to,
            factor: self.factor.clone(),
        })
    }
}

/// Data capture per factor over whole CST days: expected vs observed vs valid hours and days.
#[utoipa::path(get, path = "/api/v1/points/{id}/coverage", tag = "readings", params(("id" = i64, Path), CoverageQuery),
    responses((status = 200, body = CoverageReport), (status = 404, response = kernel::error::ProblemResponse)))]
async fn coverage(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<CoverageQuery>,
) -> AppResult<ApiJson<CoverageReport>> {
    let point = service::readable_point(&state.db, &principal, id).await?;
    let request = query.parse()?;
    Ok(ApiJson(
        service::coverage(&state.db, &point, &request).await?,
    ))
}

// --- export -------------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// A point id; omit for every point the caller may see.
    pub point: Option<i64>,
    /// CST month, YYYY-MM; or give `from` and `to` instead.
    pub month: Option<String>,
    /// First CST day, YYYY-MM-DD (with `to`, instead of `month`; at most 366 days).
    pub from: Option<String>,
    /// Last CST day, YYYY-MM-DD, included.
    pub to: Option<String>,
    /// Factor codes, comma-separated (`a34004,a34002`); all when omitted.
    pub factors: Option<String>,
    /// `minute`, `hour` or `day`; all when omitted.
    pub period: Option<Period>,
}

impl ExportQuery {
    fn parse(&self) -> AppResult<ExportRequest> {
        let day = |field: &str, text: &str| {
            chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                .map_err(|_| AppError::validation(field, "expected YYYY-MM-DD"))
        };
        let request = match (&self.month, &self.from, &self.to) {
            (Some(_), None, None) | (None, None, None) => {
                ExportRequest::new(self.point, self.month.as_deref())?
            }
            (None, Some(from), Some(to)) => {
                ExportRequest::days(self.point, day("from", from)?, day("to", to)?)?
            }
            (Some(_), _, _) => {
                return Err(AppError::validation(
                    "month",
                    "give either month or from and to",
                ));
            }
            (None, None, Some(_)) => return Err(AppError::validation("from", "required with to")),
            (None, Some(_), None) => return Err(AppError::validation("to", "required with from")),
        };
        let codes: Vec<String> = self
            .factors
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        Ok(request
            .with_factors("factors", &codes)?
            .with_periods(self.period.as_slice()))
    }
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

/// The readings of a point-month or a whole month (or of the days `from`..`to`, of some factors and one period)
/// as CSV. The first six columns are the generic import format
/// (so an export can be imported elsewhere); then the audited value, validity and the UTC time. Streamed one
/// point at a time, so its size does not depend on memory; a failure part-way ends the download early (the
/// client sees a truncated file) and is logged.
#[utoipa::path(get, path = "/api/v1/readings/export.csv", tag = "readings", params(ExportQuery),
    responses((status = 200, content_type = "text/csv", body = String), (status = 403, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse), (status = 429, response = kernel::error::ProblemResponse)))]
async fn export_csv(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> AppResult<Response> {
    export_response(&state, &principal, &query.parse()?, ExportFormat::Csv).await
}

/// The same export as an Excel workbook (one sheet, numbers as numbers, at most 1,000,000 values). The
/// workbook is written on a blocking thread, row by row to a temporary file (rust_xlsxwriter's constant-memory
/// mode), while the async side reads one point at a time.
#[utoipa::path(get, path = "/api/v1/readings/export.xlsx", operation_id = "export_readings_xlsx", tag = "readings", params(ExportQuery),
    responses((status = 200, description = "XLSX workbook", content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse),
        (status = 429, response = kernel::error::ProblemResponse)))]
async fn export_xlsx(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> AppResult<Response> {
    export_response(&state, &principal, &query.parse()?, ExportFormat::Xlsx).await
}

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

/// The export's file as a download: the API's two routes and the station pages' export form answer with it.
pub async fn export_response(
    state: &AppState,
    principal: &Principal,
    request: &ExportRequest,
    format: ExportFormat,
) -> AppResult<Response> {
    let plan = export::plan(&state.db, principal, request).await?;
    match format {
        ExportFormat::Csv => {
            let slot = kernel::export::slot(state).await?;
            let name = format!("{}.csv", plan.stem);
            let stream = export::csv_stream(state.db.clone(), plan, slot);
            Ok(attachment(
                "text/csv; charset=utf-8",
                name,
                axum::body::Body::from_stream(stream),
            ))
        }
        ExportFormat::Xlsx => {
            let _slot = kernel::export::slot(state).await?;
            let bytes = export::workbook(&state.db, &plan).await?;
            Ok(attachment(
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                format!("{}.xlsx", plan.stem),
                axum::body::Body::from(bytes),
            ))
        }
    }
}

// --- audit tier ---------------------------------------------------------------------------------------------

/// Corrects a value or marks it invalid (数据审核): a new version, the raw value untouched; the roll-ups of
/// that day are recomputed. Refused (409) in a confirmed month.
#[utoipa::path(post, path = "/api/v1/points/{id}/corrections", tag = "readings", params(("id" = i64, Path)),
    request_body = NewCorrection,
    responses((status = 201, body = CorrectionRecord), (status = 403, response = kernel::error::ProblemResponse),
        (status = 409, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn correct(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<NewCorrection>,
) -> AppResult<Response> {
    let record = service::correct(&state.db, &principal, id, &input).await?;
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
    responses((status = 200, body = [CorrectionRecord]), (status = 403, response = kernel::error::ProblemResponse),
        (status = 404, response = kernel::error::ProblemResponse)))]
async fn list_corrections(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<CorrectionsQuery>,
) -> AppResult<ApiJson<Vec<CorrectionRecord>>> {
    let point = service::auditable_point(&state.db, &principal, id, Action::Read).await?;
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
    responses((status = 200, body = MonthLock), (status = 403, response = kernel::error::ProblemResponse),
        (status = 409, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
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
    responses((status = 200, body = [crate::retention::Retention]), (status = 403, response = kernel::error::ProblemResponse)))]
async fn retention_get(
    State(state): State<AppState>,
    principal: Principal,
) -> AppResult<ApiJson<Vec<crate::retention::Retention>>> {
    principal.require(crate::DATA_AUDIT, Action::Read)?;
    Ok(ApiJson(crate::retention::settings(&state.db).await?))
}

/// Changes the days kept (minute data at least 8 days: the alarm worker looks back 7).
#[utoipa::path(put, path = "/api/v1/readings/retention", tag = "readings", request_body = crate::retention::RetentionInput,
    responses((status = 200, body = [crate::retention::Retention]), (status = 403, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn retention_put(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<crate::retention::RetentionInput>,
) -> AppResult<ApiJson<Vec<crate::retention::Retention>>> {
    Ok(ApiJson(
        crate::retention::update(&state.db, &principal, &input).await?,
    ))
}
