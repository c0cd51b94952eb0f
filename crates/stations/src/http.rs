//! Pages `/stations`, `/stations/{id}` and the JSON API `/api/v1/stations…` (thin: the service does the work).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::Datelike;
use kernel::web::{ApiJson, ApiPath, ApiQuery, Chrome, PageResult, render};
use kernel::{AppError, AppResult, AppState, Principal};
use registry::model::PointKind;
use serde::{Deserialize, Serialize};

use crate::model::*;
use crate::service;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/stations", get(list_page))
        .route("/stations/{id}", get(place_page))
        .route("/stations/{id}/audit", get(audit_page).post(audit_submit))
        .route("/data-audit/lock", axum::routing::post(lock_submit))
        .route("/api/v1/stations", get(api_list))
        .route("/api/v1/stations/{id}", get(api_place))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api_list, api_place),
    components(responses(kernel::error::ProblemResponse), schemas(PlaceRow, AirStationView, SectionView, CalendarDay, PollutantExceedance, MonthCoverage,
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

/// The stations and sections the caller may see.
#[utoipa::path(get, path = "/api/v1/stations", operation_id = "list_stations", tag = "stations",
    responses((status = 200, body = Vec<PlaceRow>), (status = 403, response = kernel::error::ProblemResponse)))]
async fn api_list(
    State(state): State<AppState>,
    principal: Principal,
) -> AppResult<ApiJson<Vec<PlaceRow>>> {
    Ok(ApiJson(service::list(&state.db, &principal).await?))
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
) -> AppResult<ApiJson<PlaceView>> {
    Ok(ApiJson(
        view(&state, &principal, id, year_or_now(&query)).await?,
    ))
}

#[derive(Template)]
#[template(path = "stations_list.html")]
struct ListPage {
    chrome: Chrome,
    stations: Vec<PlaceRow>,
    sections: Vec<PlaceRow>,
}

async fn list_page(State(state): State<AppState>, principal: Principal) -> PageResult {
    let rows = service::list(&state.db, &principal).await?;
    let (stations, sections) = rows
        .into_iter()
        .partition(|r| r.kind == PointKind::AirStation);
    render(&ListPage {
        chrome: Chrome::new(&state, &principal, "/stations"),
        stations,
        sections,
    })
}

#[derive(Template)]
#[template(path = "stations_air.html")]
struct AirPage {
    chrome: Chrome,
    may_audit: bool,
    v: AirStationView,
    data_json: String,
    years: Vec<i32>,
}

#[derive(Template)]
#[template(path = "stations_section.html")]
struct SectionPage {
    chrome: Chrome,
    may_audit: bool,
    v: SectionView,
    data_json: String,
    years: Vec<i32>,
}

async fn place_page(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<YearQuery>,
) -> PageResult {
    let year = year_or_now(&query);
    let this_year = kernel::time::cst_day(kernel::time::now_ts()).year();
    let years: Vec<i32> = (2024.min(year)..=this_year).rev().collect();
    let chrome = Chrome::new(&state, &principal, "/stations");
    let may_audit = principal.can(readings::DATA_AUDIT, kernel::Action::Read);
    match view(&state, &principal, id, year).await? {
        PlaceView::AirStation(v) => render(&AirPage {
            chrome,
            may_audit,
            data_json: kernel::web::script_json(&v)?,
            v,
            years,
        }),
        PlaceView::WaterSection(v) => render(&SectionPage {
            chrome,
            may_audit,
            data_json: kernel::web::script_json(&v)?,
            v,
            years,
        }),
    }
    .map(IntoResponse::into_response)
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
    ApiQuery(query): ApiQuery<DayQuery>,
) -> PageResult {
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
