//! Pages `/stations`, `/stations/{id}` and the JSON API `/api/v1/stations…` (thin: the service does the work).

use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::Datelike;
use std::sync::Arc;

use kernel::cache::FlightCache;
use kernel::web::{ApiJson, ApiPath, ApiQuery, Chrome, JsonBody, PageError, PageResult, render};
use kernel::{AppError, AppResult, AppState, Principal};
use readings::service::ViewStamp;
use registry::model::PointKind;
use serde::{Deserialize, Serialize};

use crate::model::*;
use crate::service;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/stations", get(list_page))
        .route("/stations/{id}", get(place_page))
        .route("/stations/{id}/audit", get(audit_page).post(audit_submit))
        .route("/stations/{id}/export", get(export_download))
        .route("/data-audit/lock", axum::routing::post(lock_submit))
        .route("/api/v1/stations", get(api_list))
        .route("/api/v1/stations/{id}", get(api_place))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api_list, api_place),
    components(responses(kernel::error::ProblemResponse), schemas(PlaceRow, LatestAqi, CoverageSoFar, air::service::DayCounts, AirStationView, SectionView, CalendarDay, PollutantExceedance, MonthCoverage,
        Series, SectionMonth, KeyItem, PlaceView, kernel::error::Problem)),
    tags((name = "stations", description = "站点断面 Air stations and water sections: calendars, exceedances, coverage, monthly classes"))
)]
pub struct ApiDoc;

/// `?year=` (default: this year, CST).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    pub year: Option<i32>,
}

fn year_or_now(query: &YearQuery) -> i32 {
    query
        .year
        .unwrap_or_else(|| kernel::time::cst_day(kernel::time::now_ts()).year())
}

/// An air station's or a water section's view.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlaceView {
    AirStation(AirStationView),
    WaterSection(SectionView),
}

async fn view(state: &AppState, principal: &Principal, id: i64, year: i32) -> AppResult<PlaceView> {
    let now = kernel::time::now_ts();
    let place = service::place(&state.db, principal, id).await?;
    Ok(if place.kind == PointKind::AirStation {
        PlaceView::AirStation(service::air_station(&state.db, principal, id, year, now).await?)
    } else {
        PlaceView::WaterSection(service::water_section(&state.db, principal, id, year, now).await?)
    })
}

/// A place's year computed once, with the API's body and the page's embedded data serialised once.
struct CachedView {
    view: PlaceView,
    json: JsonBody,
    script_json: String,
}

/// When and for whom (the role and street decide whether the place may be seen at all), the place and the year.
type ViewKey = (ViewStamp, i64, i32);

/// A year of a station is read from its stored days and takes tens of milliseconds to assemble; a leader's
/// morning brings many callers to the same few places. The minute bounds what the data stamp cannot see (the
/// clock: this year's view ends yesterday; unaudited changes by another process).
static VIEW_CACHE: FlightCache<ViewKey, CachedView> =
    FlightCache::new(std::time::Duration::from_secs(60), 64);

/// [`view`], computed once per data stamp, minute and (place, year, role, street) for all callers (issue 15).
async fn cached_view(
    state: &AppState,
    principal: &Principal,
    id: i64,
    year: i32,
) -> AppResult<Arc<CachedView>> {
    let key = (
        readings::service::view_stamp(&state.db, principal, kernel::time::now_ts()).await?,
        id,
        year,
    );
    VIEW_CACHE
        .get_or_try_compute(key, || async {
            let view = view(state, principal, id, year).await?;
            let json = JsonBody::of(&view)?;
            let script_json = match &view {
                PlaceView::AirStation(v) => kernel::web::script_json(v)?,
                PlaceView::WaterSection(v) => kernel::web::script_json(v)?,
            };
            Ok::<_, AppError>(CachedView {
                view,
                json,
                script_json,
            })
        })
        .await
}

/// `?q=&sort=&order=` of the list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Part of a name or code.
    pub q: Option<String>,
    /// `code`, `name`, `level` (default: national first), `street`, `aqi` (latest hour) or `coverage` (this
    /// month so far).
    pub sort: Option<String>,
    /// `asc` (default) or `desc`; stations without the sorted figure come last either way.
    pub order: Option<String>,
}

impl ListQuery {
    fn order(&self) -> AppResult<service::ListOrder> {
        service::ListOrder::parse(
            self.q.as_deref(),
            self.sort.as_deref(),
            self.order.as_deref(),
        )
    }
}

/// The stations and sections the caller may see, matching `q`, each air station with its latest hour's AQI and
/// this month's coverage so far, sorted.
#[utoipa::path(get, path = "/api/v1/stations", operation_id = "list_stations", tag = "stations", params(ListQuery),
    responses((status = 200, body = Vec<PlaceRow>), (status = 403, response = kernel::error::ProblemResponse),
              (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> AppResult<ApiJson<Vec<PlaceRow>>> {
    let order = query.order()?;
    Ok(ApiJson(
        service::list_with_status(&state.db, &principal, &order, kernel::time::now_ts()).await?,
    ))
}

/// A page's query string: a malformed parameter is the Chinese error page, never a JSON problem.
fn page_query<T: serde::de::DeserializeOwned>(raw: Option<String>) -> Result<T, PageError> {
    Ok(kernel::web::parse_query(raw.as_deref().unwrap_or(""))?)
}

/// One station's or section's figures for a year.
#[utoipa::path(get, path = "/api/v1/stations/{id}", tag = "stations", params(("id" = i64, Path), YearQuery),
    responses((status = 200, body = PlaceView), (status = 404, response = kernel::error::ProblemResponse),
              (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_place(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<YearQuery>,
) -> AppResult<JsonBody> {
    Ok(cached_view(&state, &principal, id, year_or_now(&query))
        .await?
        .json
        .clone())
}

#[derive(Template)]
#[template(path = "stations_list.html")]
struct ListPage {
    chrome: Chrome,
    q: String,
    sort: &'static str,
    descending: bool,
    stations: Vec<PlaceRow>,
    sections: Vec<PlaceRow>,
    /// Per sort key: the header's link (its order flips when it is the current one) and its arrow.
    heads: Vec<(&'static str, String, &'static str)>,
}

impl ListPage {
    fn current_sort(&self) -> &'static str {
        self.sort
    }

    fn current_order(&self) -> &'static str {
        if self.descending { "desc" } else { "asc" }
    }

    /// The link and the arrow of the column `key`.
    fn head(&self, key: &str) -> (String, &'static str) {
        self.heads
            .iter()
            .find(|h| h.0 == key)
            .map(|h| (h.1.clone(), h.2))
            .unwrap_or_default()
    }
}

async fn list_page(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let query: ListQuery = page_query(raw)?;
    let order = query.order()?;
    let rows =
        service::list_with_status(&state.db, &principal, &order, kernel::time::now_ts()).await?;
    let (stations, sections) = rows
        .into_iter()
        .partition(|r| r.kind == PointKind::AirStation);
    let heads = service::SortKey::ALL
        .iter()
        .map(|&key| {
            let current = key == order.sort;
            let descending = current && !order.descending;
            let mut href = format!(
                "/stations?sort={}&order={}",
                key.as_str(),
                if descending { "desc" } else { "asc" }
            );
            if !order.q.is_empty() {
                href.push_str(&format!("&q={}", percent(&order.q)));
            }
            let arrow = match (current, order.descending) {
                (false, _) => "",
                (true, false) => " ▲",
                (true, true) => " ▼",
            };
            (key.as_str(), href, arrow)
        })
        .collect();
    render(&ListPage {
        chrome: Chrome::new(&state, &principal, "/stations"),
        sort: order.sort.as_str(),
        descending: order.descending,
        q: order.q,
        stations,
        sections,
        heads,
    })
}

/// The export form of a station or section page: its span, factors and format.
pub struct ExportForm {
    /// Default span: this month so far (1st to yesterday; the previous month on the 1st), CST days.
    pub from: String,
    pub to: String,
    /// (code, name, unit, checked by default).
    pub factors: Vec<(&'static str, &'static str, String, bool)>,
    /// The period offered first: hours for an air station, days (samples) for a water section.
    pub air: bool,
}

/// What an air station reports: the six pollutants (checked by default) and the weather.
const AIR_EXPORT_FACTORS: [&str; 11] = [
    "a34004", "a34002", "a21026", "a21004", "a21005", "a05024", "a01007", "a01008", "a01001",
    "a01002", "a01006",
];

impl ExportForm {
    fn new(kind: PointKind, now: i64) -> ExportForm {
        let yesterday = kernel::time::cst_day(now) - chrono::Duration::days(1);
        let from = yesterday.with_day(1).unwrap_or(yesterday);
        let air = kind == PointKind::AirStation;
        let factors = readings::factors::CATALOGUE
            .iter()
            .filter_map(|f| {
                let position = AIR_EXPORT_FACTORS.iter().position(|c| *c == f.code);
                let offered = if air {
                    position.is_some()
                } else {
                    f.code.starts_with('w')
                };
                offered.then(|| {
                    (
                        f.code,
                        f.name,
                        f.unit_for(kind).to_string(),
                        !air || position.is_some_and(|i| i < 6),
                    )
                })
            })
            .collect();
        ExportForm {
            from: from.to_string(),
            to: yesterday.to_string(),
            factors,
            air,
        }
    }
}

#[derive(Template)]
#[template(path = "stations_air.html")]
struct AirPage<'a> {
    chrome: Chrome,
    may_audit: bool,
    v: &'a AirStationView,
    data_json: &'a str,
    years: Vec<i32>,
    export: ExportForm,
}

#[derive(Template)]
#[template(path = "stations_section.html")]
struct SectionPage<'a> {
    chrome: Chrome,
    may_audit: bool,
    v: &'a SectionView,
    data_json: &'a str,
    years: Vec<i32>,
    export: ExportForm,
}

async fn place_page(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let query: YearQuery = page_query(raw)?;
    let year = year_or_now(&query);
    let now = kernel::time::now_ts();
    let this_year = kernel::time::cst_day(now).year();
    let years: Vec<i32> = (2024.min(year)..=this_year).rev().collect();
    let chrome = Chrome::new(&state, &principal, "/stations");
    let may_audit = principal.can(readings::DATA_AUDIT, kernel::Action::Read);
    let cached = cached_view(&state, &principal, id, year).await?;
    let data_json = &cached.script_json;
    match &cached.view {
        PlaceView::AirStation(v) => render(&AirPage {
            chrome,
            may_audit,
            data_json,
            v,
            years,
            export: ExportForm::new(PointKind::AirStation, now),
        }),
        PlaceView::WaterSection(v) => render(&SectionPage {
            chrome,
            may_audit,
            data_json,
            v,
            years,
            export: ExportForm::new(PointKind::WaterSection, now),
        }),
    }
    .map(IntoResponse::into_response)
}

/// The station page's export form (`from`, `to`, `factors` repeated, `period`, `format`): the file from the
/// readings export (`readings::http::export_response`, the API's own), or a Chinese error page.
async fn export_download(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let pairs: Vec<(String, String)> = page_query(raw)?;
    let one = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
    };
    let place = service::place(&state.db, &principal, id).await?;
    let day = |field: &'static str| -> AppResult<chrono::NaiveDate> {
        let text =
            one(field).ok_or_else(|| AppError::validation(field, "请填写日期（YYYY-MM-DD）"))?;
        chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
            .map_err(|_| AppError::validation(field, "日期格式应为 YYYY-MM-DD"))
    };
    let format = match one("format").as_deref() {
        None | Some("xlsx") => readings::http::ExportFormat::Xlsx,
        Some("csv") => readings::http::ExportFormat::Csv,
        Some(_) => return Err(AppError::validation("format", "格式须为 xlsx 或 csv").into()),
    };
    let period = match one("period").as_deref() {
        None | Some("hour") => readings::model::Period::Hour,
        Some("day") => readings::model::Period::Day,
        Some(_) => return Err(AppError::validation("period", "周期须为小时值或日值").into()),
    };
    let factors: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "factors")
        .map(|(_, v)| v.trim().to_string())
        .collect();
    if factors.is_empty() {
        return Err(AppError::validation("factors", "请至少选择一个监测因子").into());
    }
    let request = readings::export::ExportRequest::days(Some(place.id), day("from")?, day("to")?)?
        .with_factors("factors", &factors)?
        .with_periods(&[period]);
    Ok(readings::http::export_response(&state, &principal, &request, format).await?)
}

// --- 数据审核 ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct DayQuery {
    /// `YYYY-MM-DD` (CST); default yesterday.
    pub day: Option<String>,
    pub notice: Option<String>,
}

#[derive(Template)]
#[template(path = "stations_audit.html")]
struct AuditPage {
    chrome: Chrome,
    d: crate::audit::AuditDay,
    may_correct: bool,
    may_lock: bool,
    previous: String,
    next: String,
    notice: Option<String>,
    error: Option<String>,
}

fn parse_day(text: Option<&str>) -> AppResult<chrono::NaiveDate> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(kernel::time::cst_day(kernel::time::now_ts()) - chrono::Duration::days(1)),
        Some(t) => chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map_err(|_| AppError::validation("day", "a date YYYY-MM-DD")),
    }
}

async fn audit_page_with(
    state: &AppState,
    principal: &Principal,
    id: i64,
    day: chrono::NaiveDate,
    notice: Option<String>,
    error: Option<String>,
) -> PageResult {
    let mut d = crate::audit::day(&state.db, principal, id, day).await?;
    // Corrections and the month's confirmation name the people, not their usernames.
    let names = {
        let usernames =
            d.corrections
                .iter()
                .map(|c| c.by.as_str())
                .chain(d.lock.iter().flat_map(|l| {
                    std::iter::once(l.locked_by.as_str()).chain(l.reopened_by.as_deref())
                }));
        kernel::people::names(state, usernames).await?
    };
    for c in &mut d.corrections {
        c.by = names.name(&c.by);
    }
    if let Some(lock) = &mut d.lock {
        lock.locked_by = names.name(&lock.locked_by);
        lock.reopened_by = lock.reopened_by.as_deref().map(|by| names.name(by));
    }
    render(&AuditPage {
        chrome: Chrome::new(state, principal, "/stations"),
        may_correct: principal.can(readings::DATA_AUDIT, kernel::Action::Create),
        may_lock: principal.can(readings::DATA_AUDIT, kernel::Action::Update),
        previous: (day - chrono::Duration::days(1)).to_string(),
        next: (day + chrono::Duration::days(1)).to_string(),
        d,
        notice,
        error,
    })
}

async fn audit_page(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let query: DayQuery = page_query(raw)?;
    let day = parse_day(query.day.as_deref())?;
    audit_page_with(&state, &principal, id, day, query.notice, None).await
}

#[derive(Debug, Deserialize)]
struct CorrectionForm {
    day: String,
    ts: i64,
    period: String,
    factor: String,
    /// Empty with `invalid` set: mark invalid.
    value: Option<String>,
    invalid: Option<String>,
    reason: String,
}

async fn audit_submit(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    axum::Form(form): axum::Form<CorrectionForm>,
) -> PageResult {
    let day = parse_day(Some(&form.day))?;
    let outcome = async {
        let value = match form
            .value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            None => None,
            Some(text) => Some(
                text.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| AppError::validation("value", "修正值须为数字"))?,
            ),
        };
        let period = readings::model::Period::parse(&form.period)
            .ok_or_else(|| AppError::validation("period", "hour or day"))?;
        let input = readings::audit::NewCorrection {
            period,
            ts: form.ts,
            factor: form.factor.clone(),
            value,
            invalid: form.invalid.is_some(),
            reason: form.reason.clone(),
        };
        crate::audit::correct(&state.db, &principal, id, &input).await
    }
    .await;
    match outcome {
        Ok(record) => Ok(axum::response::Redirect::to(&format!(
            "/stations/{id}/audit?day={day}&notice={}",
            percent(&format!("已记录第 {} 版修正", record.version))
        ))
        .into_response()),
        // A refused correction (locked month, no reason, …) is shown on the page, nothing is lost.
        Err(e) if refusal_shown_on_page(&e) => {
            audit_page_with(&state, &principal, id, day, None, Some(e.public_message())).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
struct LockForm {
    month: String,
    action: String,
    reason: Option<String>,
    /// Where to go back to.
    point: i64,
    day: String,
}

async fn lock_submit(
    State(state): State<AppState>,
    principal: Principal,
    axum::Form(form): axum::Form<LockForm>,
) -> PageResult {
    let day = parse_day(Some(&form.day))?;
    let reopen = form.action == "reopen";
    match crate::audit::lock(
        &state.db,
        &principal,
        &form.month,
        reopen,
        form.reason.as_deref().unwrap_or(""),
    )
    .await
    {
        Ok(_) => Ok(axum::response::Redirect::to(&format!(
            "/stations/{}/audit?day={day}&notice={}",
            form.point,
            percent(if reopen {
                "已重新开放该月"
            } else {
                "已确认（锁定）该月数据"
            })
        ))
        .into_response()),
        Err(e) if refusal_shown_on_page(&e) => {
            audit_page_with(
                &state,
                &principal,
                form.point,
                day,
                None,
                Some(e.public_message()),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// A refused form (no reason, a confirmed month, a bad value) is shown on the page it came from, with nothing
/// recorded; a missing or forbidden point is an error page of its own.
fn refusal_shown_on_page(e: &AppError) -> bool {
    e.status().is_client_error() && !matches!(e, AppError::NotFound(_) | AppError::Forbidden(_))
}

/// Percent-encodes a query value.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
