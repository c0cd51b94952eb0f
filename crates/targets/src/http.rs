//! Thin handlers: the JSON API under `/api/v1/targets` (documented by [`ApiDoc`]) and the Chinese pages under
//! `/targets`. Each extracts, calls the service, and answers; rules live in the service and `progress`.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Datelike;
use kernel::auth::MaybePrincipal;
use kernel::error::Problem;
use kernel::time::{cst_day, format_cst, now_ts};
use kernel::web::{ApiJson, ApiPath, ApiQuery, Chrome, PageError, PageResult, parse_query, render};
use kernel::{Action, AppError, AppResult, AppState, Principal};
use serde::Deserialize;

use crate::model::{Comparison, Indicator, Target, TargetInput, TargetStatus};
use crate::service;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/targets", get(api_list).post(api_create))
        .route("/api/v1/targets/{id}", get(api_get).put(api_update))
        .route("/targets", get(list_page).post(create_form))
        .route("/targets/new", get(new_page))
        .route("/targets/{id}/edit", get(edit_page))
        .route("/targets/{id}", axum::routing::post(update_form))
}

/// The targets' part of `/api/v1/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api_list, api_get, api_create, api_update),
    components(responses(kernel::error::ProblemResponse), schemas(Problem, Target, TargetInput, TargetStatus, Indicator, Comparison)),
    tags((name = "targets", description = "年度目标：目标值、今年以来进度、去年同期、所需进度与状态"))
)]
pub struct ApiDoc;

fn current_year() -> i32 {
    cst_day(now_ts()).year()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct YearQuery {
    /// The year (default: the current year in CST).
    pub year: Option<i32>,
}

/// 年度目标 with their progress, recomputed from the audited data.
#[utoipa::path(get, path = "/api/v1/targets", operation_id = "list_targets", tag = "targets", params(YearQuery),
    responses((status = 200, body = Vec<TargetStatus>), (status = 403, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<YearQuery>,
) -> AppResult<axum::Json<Vec<TargetStatus>>> {
    let year = query.year.unwrap_or_else(current_year);
    Ok(axum::Json(
        service::statuses(&state.db, &principal, year, now_ts()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/targets/{id}", operation_id = "get_target", tag = "targets", params(("id" = i64, Path)),
    responses((status = 200, body = Target), (status = 404, response = kernel::error::ProblemResponse)))]
async fn api_get(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<axum::Json<Target>> {
    Ok(axum::Json(service::get(&state.db, &principal, id).await?))
}

#[utoipa::path(post, path = "/api/v1/targets", operation_id = "create_target", tag = "targets", request_body = TargetInput,
    responses((status = 201, body = Target), (status = 403, response = kernel::error::ProblemResponse), (status = 409, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<TargetInput>,
) -> AppResult<Response> {
    let target = service::create(&state.db, &principal, &input).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/targets/{}", target.id))],
        axum::Json(target),
    )
        .into_response())
}

#[utoipa::path(put, path = "/api/v1/targets/{id}", tag = "targets", params(("id" = i64, Path)),
    request_body = TargetInput,
    responses((status = 200, body = Target), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<TargetInput>,
) -> AppResult<axum::Json<Target>> {
    Ok(axum::Json(
        service::update(&state.db, &principal, id, &input).await?,
    ))
}

// ---------------------------------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------------------------------

fn who(caller: MaybePrincipal) -> Result<Principal, PageError> {
    caller.0.ok_or(PageError(AppError::Unauthorized))
}

fn page_id(raw: &str) -> Result<i64, PageError> {
    raw.trim()
        .parse::<i64>()
        .map_err(|_| PageError(AppError::not_found(format!("no target {raw:?}"))))
}

/// The year cards of the dashboard: one card per target with its value, requirement and status. Rendered by
/// the home page as a fragment (`{{ cards|safe }}`).
#[derive(Template)]
#[template(path = "targets_cards.html")]
pub struct TargetCards<'a> {
    pub year: i32,
    pub statuses: &'a [TargetStatus],
}

/// The cards as HTML, for the home page.
pub fn render_cards(year: i32, statuses: &[TargetStatus]) -> anyhow::Result<String> {
    Ok(TargetCards { year, statuses }.render()?)
}

#[derive(Template)]
#[template(path = "targets_list.html")]
struct ListPage {
    chrome: Chrome,
    year: i32,
    years: Vec<i32>,
    statuses: Vec<TargetStatus>,
    can_edit: bool,
    can_create: bool,
    computed_at: String,
}

async fn list_page(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    RawQuery(query): RawQuery,
) -> PageResult {
    let principal = who(caller)?;
    let query: YearQuery = parse_query(query.as_deref().unwrap_or(""))?;
    let year = query.year.unwrap_or_else(current_year);
    let now = now_ts();
    let mut statuses = service::statuses(&state.db, &principal, year, now).await?;
    // Who reported a figure is shown by name, not username.
    let names = kernel::people::names(
        &state,
        statuses
            .iter()
            .filter_map(|s| s.target.reported_by.as_deref()),
    )
    .await?;
    for s in &mut statuses {
        s.target.reported_by = s.target.reported_by.as_deref().map(|by| names.name(by));
    }
    let mut years = service::years(&state.db, &principal).await?;
    if !years.contains(&year) {
        years.push(year);
        years.sort_unstable_by(|a, b| b.cmp(a));
    }
    render(&ListPage {
        chrome: Chrome::new(&state, &principal, "/targets"),
        year,
        years,
        can_edit: principal.can(crate::TARGET, Action::Update),
        can_create: principal.can(crate::TARGET, Action::Create),
        computed_at: format_cst(now),
        statuses,
    })
}

/// One `<option>`.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The values a form shows: the stored target's, or what was typed when the form comes back with an error.
#[derive(Default)]
struct FormValues {
    year: String,
    code: String,
    indicator: String,
    title: String,
    comparison: String,
    threshold: String,
    unit: String,
    owner: String,
    plan_wording: String,
    note: String,
    reported_value: String,
    evidence: String,
}

impl FormValues {
    fn of(target: &Target) -> FormValues {
        FormValues {
            year: target.year.to_string(),
            code: target.code.clone(),
            indicator: target.indicator.as_str().to_string(),
            title: target.title.clone(),
            comparison: target.comparison.as_str().to_string(),
            threshold: target
                .threshold
                .map(crate::model::fmt_f64)
                .unwrap_or_default(),
            unit: target.unit.clone(),
            owner: target.owner.clone(),
            plan_wording: target.plan_wording.clone(),
            note: target.note.clone(),
            reported_value: target
                .reported_value
                .map(crate::model::fmt_f64)
                .unwrap_or_default(),
            evidence: target.evidence.clone(),
        }
    }

    fn parse(body: &[u8]) -> FormValues {
        let mut v = FormValues::default();
        for (key, value) in form_urlencoded::parse(body) {
            let value = value.trim().to_string();
            match key.as_ref() {
                "year" => v.year = value,
                "code" => v.code = value,
                "indicator" => v.indicator = value,
                "title" => v.title = value,
                "comparison" => v.comparison = value,
                "threshold" => v.threshold = value,
                "unit" => v.unit = value,
                "owner" => v.owner = value,
                "plan_wording" => v.plan_wording = value,
                "note" => v.note = value,
                "reported_value" => v.reported_value = value,
                "evidence" => v.evidence = value,
                _ => {}
            }
        }
        v
    }

    fn input(&self) -> AppResult<TargetInput> {
        let number = |field: &str, text: &str| -> AppResult<Option<f64>> {
            kernel::validate::form_f64(field, Some(text))
        };
        Ok(TargetInput {
            year: match self.year.as_str() {
                "" => None,
                y => {
                    Some(y.parse().map_err(|_| {
                        AppError::validation("year", format!("{y:?} is not a year"))
                    })?)
                }
            },
            code: Some(self.code.clone()).filter(|c| !c.is_empty()),
            indicator: match self.indicator.as_str() {
                "" => None,
                i => Some(Indicator::parse(i).ok_or_else(|| {
                    AppError::validation("indicator", format!("{i:?} is not an indicator"))
                })?),
            },
            title: self.title.clone(),
            comparison: Comparison::parse(&self.comparison)
                .ok_or_else(|| AppError::validation("comparison", "must be one of le, ge, eq"))?,
            threshold: number("threshold", &self.threshold)?,
            unit: Some(self.unit.clone()),
            owner: self.owner.clone(),
            plan_wording: Some(self.plan_wording.clone()),
            note: Some(self.note.clone()),
            reported_value: number("reported_value", &self.reported_value)?,
            evidence: Some(self.evidence.clone()),
        })
    }
}

#[derive(Template)]
#[template(path = "targets_form.html")]
struct FormPage {
    chrome: Chrome,
    /// `None` for a new target.
    target: Option<Target>,
    form: FormValues,
    indicators: Vec<Opt>,
    comparisons: Vec<Opt>,
    /// The field the error is about, and the message.
    error_field: String,
    error: Option<String>,
}

impl FormPage {
    fn new(
        chrome: Chrome,
        target: Option<Target>,
        form: FormValues,
        err: Option<AppError>,
    ) -> FormPage {
        let indicators = Indicator::ALL
            .iter()
            .map(|i| Opt {
                value: i.as_str().to_string(),
                label: i.label().to_string(),
                selected: form.indicator == i.as_str(),
            })
            .collect();
        let comparisons = Comparison::ALL
            .iter()
            .map(|c| Opt {
                value: c.as_str().to_string(),
                label: c.symbol().to_string(),
                selected: form.comparison == c.as_str(),
            })
            .collect();
        let (error_field, error) = match err {
            Some(AppError::Validation { field, message }) => (field, Some(message)),
            Some(other) => (String::new(), Some(other.public_message())),
            None => (String::new(), None),
        };
        FormPage {
            chrome,
            target,
            form,
            indicators,
            comparisons,
            error_field,
            error,
        }
    }

    fn error_of(&self, field: &str) -> Option<&str> {
        self.error.as_deref().filter(|_| self.error_field == field)
    }
}

/// Errors a form shows again (bad input, duplicate code); the others end the request.
fn form_error(err: AppError) -> Result<AppError, PageError> {
    match err {
        AppError::Validation { .. } | AppError::Conflict(_) => Ok(err),
        other => Err(PageError(other)),
    }
}

async fn edit_page(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> PageResult {
    let principal = who(caller)?;
    principal.require(crate::TARGET, Action::Update)?;
    let target = service::get(&state.db, &principal, page_id(&id)?).await?;
    let chrome = Chrome::new(&state, &principal, "/targets");
    let form = FormValues::of(&target);
    render(&FormPage::new(chrome, Some(target), form, None))
}

async fn update_form(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    axum::extract::Path(id): axum::extract::Path<String>,
    body: Bytes,
) -> PageResult {
    save_form(&state, &who(caller)?, Some(page_id(&id)?), &body).await
}

/// Creates (`id` = `None`) or updates a target from its form; a rejected form comes back (422) with the message.
async fn save_form(
    state: &AppState,
    principal: &Principal,
    id: Option<i64>,
    body: &[u8],
) -> PageResult {
    let form = FormValues::parse(body);
    let result = match (form.input(), id) {
        (Ok(input), Some(id)) => service::update(&state.db, principal, id, &input).await,
        (Ok(input), None) => service::create(&state.db, principal, &input).await,
        (Err(e), _) => Err(e),
    };
    match result {
        Ok(target) => Ok(Redirect::to(&format!("/targets?year={}", target.year)).into_response()),
        Err(err) => {
            let err = form_error(err)?;
            let target = match id {
                Some(id) => Some(service::get(&state.db, principal, id).await?),
                None => None,
            };
            let chrome = Chrome::new(state, principal, "/targets");
            let mut page = render(&FormPage::new(chrome, target, form, Some(err)))?;
            *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(page)
        }
    }
}

async fn new_page(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    RawQuery(query): RawQuery,
) -> PageResult {
    let principal = who(caller)?;
    principal.require(crate::TARGET, Action::Create)?;
    let query: YearQuery = parse_query(query.as_deref().unwrap_or(""))?;
    let form = FormValues {
        year: query.year.unwrap_or_else(current_year).to_string(),
        indicator: Indicator::Reported.as_str().to_string(),
        comparison: Comparison::Ge.as_str().to_string(),
        ..FormValues::default()
    };
    let chrome = Chrome::new(&state, &principal, "/targets");
    render(&FormPage::new(chrome, None, form, None))
}

async fn create_form(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    body: Bytes,
) -> PageResult {
    save_form(&state, &who(caller)?, None, &body).await
}
