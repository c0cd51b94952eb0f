//! Pages under `/admin/calendar` and the JSON API under `/api/v1/calendar`.

use askama::Template;
use axum::Router;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use chrono::{Datelike, NaiveDate};
use kernel::calendar::YearStatus;
use kernel::time::{cst_day, now_ts};
use kernel::web::{ApiJson, ApiPath, ApiQuery, Chrome, PageResult, render};
use kernel::{Action, AppError, AppResult, AppState, Principal};
use serde::Deserialize;

use crate::model::*;
use crate::service;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/calendar", get(list_page))
        .route("/admin/calendar/{year}", get(year_page).post(year_submit))
        .route("/api/v1/calendar/years", get(api_list))
        .route("/api/v1/calendar/years/{year}", get(api_get).put(api_put))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api_list, api_get, api_put),
    components(responses(kernel::error::ProblemResponse), schemas(YearSummary, YearDetail, YearInput, CalendarDay, DayKind, YearOrigin,
        kernel::calendar::YearStatus, kernel::error::Problem)),
    tags((name = "calendar", description = "工作日历 The official working-day calendar (holidays and 调休 working days per year)"))
)]
pub struct ApiDoc;

fn today() -> NaiveDate {
    cst_day(now_ts())
}

// --- API -------------------------------------------------------------------------------------------------

/// Every stored year and the provisional (rule) years up to next year, with their status and counts.
#[utoipa::path(get, path = "/api/v1/calendar/years", operation_id = "list_calendar_years", tag = "calendar",
    responses((status = 200, body = Vec<YearSummary>), (status = 403, response = kernel::error::ProblemResponse)))]
async fn api_list(
    AxState(state): AxState<AppState>,
    principal: Principal,
) -> AppResult<ApiJson<Vec<YearSummary>>> {
    Ok(ApiJson(
        service::list_years(&state.db, &principal, today()).await?,
    ))
}

/// One year with its rest days and make-up working days (a rule year: the fixed-date statutory holidays).
#[utoipa::path(get, path = "/api/v1/calendar/years/{year}", operation_id = "get_calendar_year", tag = "calendar", params(("year" = i32, Path)),
    responses((status = 200, body = YearDetail), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse)))]
async fn api_get(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiPath(year): ApiPath<i32>,
) -> AppResult<ApiJson<YearDetail>> {
    Ok(ApiJson(service::year(&state.db, &principal, year).await?))
}

/// Enters or replaces a year (administrators): status, the notice, and every rest and make-up working day.
/// Stored deadlines that depend on the calendar are recomputed.
#[utoipa::path(put, path = "/api/v1/calendar/years/{year}", tag = "calendar", params(("year" = i32, Path)),
    request_body = YearInput,
    responses((status = 200, body = YearDetail), (status = 201, body = YearDetail),
              (status = 403, response = kernel::error::ProblemResponse), (status = 409, response = kernel::error::ProblemResponse),
              (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_put(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiPath(year): ApiPath<i32>,
    ApiJson(input): ApiJson<YearInput>,
) -> AppResult<axum::response::Response> {
    let (detail, created) = service::save_year(&state.db, &principal, year, input).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ApiJson(detail)).into_response())
}

// --- pages -----------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "calendar_list.html")]
struct ListPage {
    chrome: Chrome,
    years: Vec<YearSummary>,
    can_edit: bool,
    next_year: i32,
}

async fn list_page(AxState(state): AxState<AppState>, principal: Principal) -> PageResult {
    let mut years = service::list_years(&state.db, &principal, today()).await?;
    // Who entered a year is shown by name, not username.
    let names =
        kernel::people::names(&state, years.iter().filter_map(|y| y.updated_by.as_deref())).await?;
    for y in &mut years {
        y.updated_by = y.updated_by.as_deref().map(|by| names.name(by));
    }
    let next_year = years
        .iter()
        .filter(|y| y.origin == YearOrigin::Entered)
        .map(|y| y.year + 1)
        .max()
        .unwrap_or(today().year());
    let page = ListPage {
        chrome: Chrome::new(&state, &principal, "/admin/calendar"),
        can_edit: principal.can(crate::WORKING_CALENDAR, Action::Update),
        next_year,
        years,
    };
    render(&page)
}

/// One cell of the month grid.
struct Cell {
    day: u32,
    /// `rest`, `work`, `weekend` or empty.
    class: &'static str,
    name: String,
}

struct Month {
    label: String,
    /// Weeks Monday–Sunday; `None` outside the month.
    weeks: Vec<Vec<Option<Cell>>>,
}

fn month_grid(year: i32, days: &[CalendarDay]) -> Vec<Month> {
    let listed = |date: NaiveDate| days.iter().find(|d| d.date == date.to_string());
    (1..=12)
        .filter_map(|m| {
            let first = NaiveDate::from_ymd_opt(year, m, 1)?;
            let mut weeks = Vec::new();
            let mut week: Vec<Option<Cell>> = (0..first.weekday().num_days_from_monday())
                .map(|_| None)
                .collect();
            let mut day = first;
            while day.month() == m {
                let weekend = day.weekday().num_days_from_monday() >= 5;
                let (class, name) = match listed(day) {
                    Some(d) if d.kind == DayKind::Rest => ("rest", d.name.clone()),
                    Some(d) => ("work", d.name.clone()),
                    None if weekend => ("weekend", String::new()),
                    None => ("", String::new()),
                };
                week.push(Some(Cell {
                    day: day.day(),
                    class,
                    name,
                }));
                if week.len() == 7 {
                    weeks.push(std::mem::take(&mut week));
                }
                match day.succ_opt() {
                    Some(next) => day = next,
                    None => break,
                }
            }
            if !week.is_empty() {
                week.resize_with(7, || None);
                weeks.push(week);
            }
            Some(Month {
                label: format!("{m}月"),
                weeks,
            })
        })
        .collect()
}

#[derive(Template)]
#[template(path = "calendar_year.html")]
struct YearPage {
    chrome: Chrome,
    detail: YearDetail,
    months: Vec<Month>,
    can_edit: bool,
    rest_text: String,
    work_text: String,
    error: Option<String>,
    message: Option<String>,
}

impl YearPage {
    fn is_official(&self) -> bool {
        self.detail.summary.status == YearStatus::Official
    }

    /// Not stored yet (a rule year, or one not covered at all).
    fn is_rule(&self) -> bool {
        self.detail.summary.origin != YearOrigin::Entered
    }
}

fn lines(days: &[CalendarDay], kind: DayKind) -> String {
    days.iter()
        .filter(|d| d.kind == kind)
        .map(|d| format!("{} {}", d.date, d.name).trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn year_page_with(
    state: &AppState,
    principal: &Principal,
    year: i32,
    form: Option<(&YearForm, String)>,
    message: Option<String>,
) -> PageResult {
    let can_edit = principal.can(crate::WORKING_CALENDAR, Action::Update);
    let mut detail = match service::year(&state.db, principal, year).await {
        // A year before the first stored one: the administrator may enter it.
        Err(AppError::NotFound(_)) if can_edit && service::YEAR_RANGE.contains(&year) => {
            service::missing_year(year)
        }
        other => other?,
    };
    let months = month_grid(year, &detail.days);
    let (rest_text, work_text, error) = match form {
        Some((f, error)) => {
            // Show what was sent, so nothing typed is lost.
            if let Some(s) = f.status.as_deref().and_then(YearStatus::parse) {
                detail.summary.status = s;
            }
            detail.summary.notice = f.notice.clone().unwrap_or_default();
            detail.summary.notice_date = f.notice_date.clone();
            detail.summary.note = f.note.clone().unwrap_or_default();
            (
                f.rest_days.clone().unwrap_or_default(),
                f.work_days.clone().unwrap_or_default(),
                Some(error),
            )
        }
        None => (
            lines(&detail.days, DayKind::Rest),
            lines(&detail.days, DayKind::Work),
            None,
        ),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = YearPage {
        chrome: Chrome::new(state, principal, "/admin/calendar"),
        can_edit,
        months,
        detail,
        rest_text,
        work_text,
        error,
        message,
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Deserialize)]
struct SavedQuery {
    saved: Option<String>,
}

async fn year_page(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiPath(year): ApiPath<i32>,
    ApiQuery(q): ApiQuery<SavedQuery>,
) -> PageResult {
    let message = q.saved.is_some().then(|| {
        "已保存。依赖本年的案件期限按新日历重算（下次打开信访投诉时自动完成）".to_string()
    });
    year_page_with(&state, &principal, year, None, message).await
}

#[derive(Deserialize)]
struct YearForm {
    status: Option<String>,
    notice: Option<String>,
    notice_date: Option<String>,
    note: Option<String>,
    /// One day a line: `YYYY-MM-DD name`.
    rest_days: Option<String>,
    work_days: Option<String>,
    version: Option<String>,
}

/// `2027-02-06 春节` lines → days; errors name the field and the line.
fn parse_lines(field: &str, text: &str, kind: DayKind) -> AppResult<Vec<CalendarDay>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (date, name) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        if NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
            return Err(AppError::validation(
                field,
                format!("第{}行：{date:?} 不是日期（应为 YYYY-MM-DD 名称）", n + 1),
            ));
        }
        out.push(CalendarDay {
            date: date.to_string(),
            kind,
            name: name.trim().to_string(),
        });
    }
    Ok(out)
}

async fn year_submit(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiPath(year): ApiPath<i32>,
    axum::Form(form): axum::Form<YearForm>,
) -> PageResult {
    principal.require(crate::WORKING_CALENDAR, Action::Update)?;
    let result = async {
        let status = form
            .status
            .as_deref()
            .and_then(YearStatus::parse)
            .ok_or_else(|| AppError::validation("status", "must be official or provisional"))?;
        let mut days = parse_lines(
            "rest_days",
            form.rest_days.as_deref().unwrap_or(""),
            DayKind::Rest,
        )?;
        days.extend(parse_lines(
            "work_days",
            form.work_days.as_deref().unwrap_or(""),
            DayKind::Work,
        )?);
        let input = YearInput {
            status,
            notice: form.notice.clone().unwrap_or_default(),
            notice_date: form.notice_date.clone(),
            note: form.note.clone().unwrap_or_default(),
            days,
            version: kernel::validate::form_i64("version", form.version.as_deref())?,
        };
        service::save_year(&state.db, &principal, year, input).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/admin/calendar/{year}?saved=1")).into_response()),
        Err(AppError::Validation { field, message }) => {
            year_page_with(
                &state,
                &principal,
                year,
                Some((&form, format!("{field}: {message}"))),
                None,
            )
            .await
        }
        Err(AppError::Conflict(message)) => {
            year_page_with(&state, &principal, year, Some((&form, message)), None).await
        }
        Err(other) => Err(other.into()),
    }
}
