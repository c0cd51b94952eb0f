//! Pages under `/rankings` and the JSON API under `/api/v1/rankings`.

use askama::Template;
use axum::Router;
use axum::extract::State as AxState;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use kernel::time::{cst_day, now_ts};
use kernel::web::{ApiJson, ApiQuery, Chrome, PageResult, render};
use kernel::{Action, AppError, AppResult, AppState, Principal};
use serde::Deserialize;

use crate::model::*;
use crate::repo::{Part, PartValue};
use crate::service;
use crate::view::{Tables, tables};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rankings", get(rankings_page))
        .route("/rankings/bulletin", get(bulletin_page))
        .route("/rankings/bulletin.xlsx", get(bulletin_xlsx))
        .route("/rankings/bulletin.pdf", get(bulletin_pdf))
        .route("/rankings/bulletin/issue", post(issue_submit))
        .route(
            "/rankings/settings",
            get(settings_page).post(settings_submit),
        )
        .route("/api/v1/rankings", get(api_ranking))
        .route("/api/v1/rankings/bulletin", get(api_bulletin))
        .route("/api/v1/rankings/bulletin.xlsx", get(bulletin_xlsx))
        .route("/api/v1/rankings/bulletin.pdf", get(bulletin_pdf))
        .route(
            "/api/v1/rankings/bulletin/issues",
            get(api_issues).post(api_issue),
        )
        .route(
            "/api/v1/rankings/settings",
            get(api_settings).put(api_put_settings),
        )
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api_ranking, api_bulletin, bulletin_xlsx, bulletin_pdf, api_issues, api_issue, api_settings, api_put_settings),
    components(responses(kernel::error::ProblemResponse), schemas(Ranking, Bulletin, Period, MethodNote, WeightNote, AirRow, AirFigures, WaterRow,
        WaterFigures, SectionLine, CriterionRank, Placing, DistrictFigures, Standing, TargetLine, RankingSettings, SettingsUpdate,
        AirWeights, WaterWeights, Better, IssueRequest, IssuedBulletin, IssueList, kernel::error::Problem)),
    tags((name = "rankings", description = "排名通报 Monthly street rankings and bulletins"))
)]
pub struct ApiDoc;

fn today() -> NaiveDate {
    cst_day(now_ts())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct MonthQuery {
    /// `YYYY-MM` (default: last month).
    month: Option<String>,
}

impl MonthQuery {
    fn month(&self) -> AppResult<Month> {
        match &self.month {
            Some(text) => Month::parse(text),
            None => Ok(Month::of(today()).previous()),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct BulletinQuery {
    /// `YYYY-MM` (default: last month).
    month: Option<String>,
    /// An issued version (1, 2, …); default: the newest issued version, or the draft when the month has not been
    /// issued.
    version: Option<i64>,
}

impl BulletinQuery {
    fn month(&self) -> AppResult<Month> {
        MonthQuery {
            month: self.month.clone(),
        }
        .month()
    }

    /// The stored `part` of the issued bulletin asked for, or `None` for a month not issued (a draft).
    async fn issued(
        &self,
        state: &AppState,
        principal: &Principal,
        part: Part,
    ) -> AppResult<(Month, Option<(IssuedBulletin, PartValue)>)> {
        let month = self.month()?;
        let stored = service::issued_part(&state.db, principal, month, self.version, part).await?;
        Ok((month, stored))
    }
}

/// The draft of a month not issued: computed now.
async fn draft(state: &AppState, principal: &Principal, month: Month) -> AppResult<Bulletin> {
    service::bulletin(&state.db, principal, month, today()).await
}

// --- API -------------------------------------------------------------------------------------------------

/// The street ranking of a month: air and water tables, each street ranked or shown with why it is not.
#[utoipa::path(get, path = "/api/v1/rankings", tag = "rankings", params(MonthQuery),
    responses((status = 200, body = Ranking), (status = 403, response = kernel::error::ProblemResponse),
              (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_ranking(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> AppResult<ApiJson<Ranking>> {
    let month = q.month()?;
    Ok(ApiJson(
        service::ranking(&state.db, &principal, month, today()).await?,
    ))
}

/// The bulletin of a month: the ranking, the district's figures, the best and worst streets. An issued month
/// answers the figures stored when it was issued (the newest version, or `version`), unchanged by later data
/// corrections; a month not issued is computed now (a draft).
#[utoipa::path(get, path = "/api/v1/rankings/bulletin", tag = "rankings", params(BulletinQuery),
    responses((status = 200, body = Bulletin), (status = 403, response = kernel::error::ProblemResponse),
              (status = 404, response = kernel::error::ProblemResponse),
              (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_bulletin(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<BulletinQuery>,
) -> AppResult<Response> {
    match q.issued(&state, &principal, Part::Figures).await? {
        (_, Some((_, figures))) => Ok((
            [(header::CONTENT_TYPE, "application/json")],
            figures.into_bytes(),
        )
            .into_response()),
        (month, None) => Ok(ApiJson(draft(&state, &principal, month).await?).into_response()),
    }
}

/// The issued versions of a month, newest first. For a caller who may issue, also whether the current data
/// would give other figures than the newest version (a full computation, so only for them).
#[utoipa::path(get, path = "/api/v1/rankings/bulletin/issues", tag = "rankings", params(MonthQuery),
    responses((status = 200, body = IssueList), (status = 403, response = kernel::error::ProblemResponse),
              (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_issues(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> AppResult<ApiJson<IssueList>> {
    let month = q.month()?;
    let versions = service::issues(&state.db, &principal, month).await?;
    let current_differs = match versions.first() {
        Some(newest) => {
            service::differs_from_current(&state.db, &principal, newest, today()).await?
        }
        None => None,
    };
    Ok(ApiJson(IssueList {
        month: month.key(),
        versions,
        current_differs,
    }))
}

/// Issues (签发) the bulletin of a month that is over (monitoring department, administrator): stores its figures,
/// page, XLSX and PDF as the next version with the next number of the year. Reissuing stores a new version and
/// keeps the earlier ones.
#[utoipa::path(post, path = "/api/v1/rankings/bulletin/issues", tag = "rankings", request_body = IssueRequest,
    responses((status = 201, body = IssuedBulletin), (status = 403, response = kernel::error::ProblemResponse),
              (status = 409, response = kernel::error::ProblemResponse),
              (status = 422, response = kernel::error::ProblemResponse),
              (status = 429, response = kernel::error::ProblemResponse)))]
async fn api_issue(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiJson(request): ApiJson<IssueRequest>,
) -> AppResult<Response> {
    let issued = issue(&state, &principal, &request.month).await?;
    Ok((StatusCode::CREATED, ApiJson(issued)).into_response())
}

/// Issues `month` (the API's and the form's common part): the export slot is taken, as issuing builds both
/// exports.
async fn issue(state: &AppState, principal: &Principal, month: &str) -> AppResult<IssuedBulletin> {
    principal.require(crate::BULLETIN, Action::Create)?;
    let month = Month::parse(month)?;
    let _slot = kernel::export::slot(state).await?;
    service::issue(&state.db, principal, month, now_ts()).await
}

#[derive(Deserialize)]
struct IssueForm {
    month: String,
}

/// The issue button of the bulletin page: issues, then shows the issued bulletin.
async fn issue_submit(
    AxState(state): AxState<AppState>,
    principal: Principal,
    axum::Form(form): axum::Form<IssueForm>,
) -> PageResult {
    let issued = issue(&state, &principal, &form.month).await?;
    Ok(Redirect::to(&format!("/rankings/bulletin?month={}", issued.month)).into_response())
}

fn download(bytes: Vec<u8>, content_type: &str, name: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// A download of the bulletin: the stored bytes of an issued month, or the draft built now.
async fn export(
    state: &AppState,
    principal: &Principal,
    q: &BulletinQuery,
    part: Part,
    content_type: &str,
    build: fn(&Bulletin) -> AppResult<Vec<u8>>,
) -> AppResult<Response> {
    let extension = if part == Part::Pdf { "pdf" } else { "xlsx" };
    let (month, stored) = q.issued(state, principal, part).await?;
    if let Some((issued, bytes)) = stored {
        return Ok(download(
            bytes.into_bytes(),
            content_type,
            format!("bulletin-{}-v{}.{extension}", month.key(), issued.version),
        ));
    }
    let bulletin = draft(state, principal, month).await?;
    let _slot = kernel::export::slot(state).await?;
    let bytes = kernel::export::build_off_thread(move || build(&bulletin)).await?;
    Ok(download(
        bytes,
        content_type,
        format!("bulletin-{}-draft.{extension}", month.key()),
    ))
}

/// The bulletin as XLSX (sheets 空气排名, 水质排名, 断面, 区域概况, 说明): as issued, or the draft of a month not issued.
#[utoipa::path(get, path = "/api/v1/rankings/bulletin.xlsx", tag = "rankings", params(BulletinQuery),
    responses((status = 200, description = "XLSX workbook", content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))), (status = 403, response = kernel::error::ProblemResponse),
              (status = 404, response = kernel::error::ProblemResponse),
              (status = 429, response = kernel::error::ProblemResponse),
              (status = 422, response = kernel::error::ProblemResponse)))]
async fn bulletin_xlsx(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<BulletinQuery>,
) -> AppResult<Response> {
    export(
        &state,
        &principal,
        &q,
        Part::Xlsx,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        |b| crate::export::workbook(b, None),
    )
    .await
}

/// The bulletin as PDF (A4, the subset of the embedded CJK font): as issued, or the draft of a month not issued.
#[utoipa::path(get, path = "/api/v1/rankings/bulletin.pdf", tag = "rankings", params(BulletinQuery),
    responses((status = 200, description = "PDF document", content(("application/pdf"))), (status = 403, response = kernel::error::ProblemResponse),
              (status = 404, response = kernel::error::ProblemResponse),
              (status = 429, response = kernel::error::ProblemResponse),
              (status = 422, response = kernel::error::ProblemResponse)))]
async fn bulletin_pdf(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<BulletinQuery>,
) -> AppResult<Response> {
    export(&state, &principal, &q, Part::Pdf, "application/pdf", |b| {
        crate::pdf::document(b, None)
    })
    .await
}

/// The ranking weighting in force.
#[utoipa::path(get, path = "/api/v1/rankings/settings", operation_id = "get_ranking_settings", tag = "rankings",
    responses((status = 200, body = RankingSettings), (status = 403, response = kernel::error::ProblemResponse)))]
async fn api_settings(
    AxState(state): AxState<AppState>,
    principal: Principal,
) -> AppResult<ApiJson<RankingSettings>> {
    principal.require(crate::BULLETIN, Action::Read)?;
    Ok(ApiJson(service::settings(&state.db).await?))
}

/// Changes the weighting (monitoring department): a preset key, or `custom` with weights summing to 100.
#[utoipa::path(put, path = "/api/v1/rankings/settings", operation_id = "put_ranking_settings", tag = "rankings", request_body = SettingsUpdate,
    responses((status = 200, body = RankingSettings), (status = 403, response = kernel::error::ProblemResponse),
              (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_put_settings(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiJson(update): ApiJson<SettingsUpdate>,
) -> AppResult<ApiJson<RankingSettings>> {
    Ok(ApiJson(
        service::update_settings(&state.db, &principal, update).await?,
    ))
}

// --- pages -----------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "bulletins_rankings.html")]
struct RankingsPage {
    chrome: Chrome,
    month: String,
    label: String,
    t: Tables,
    can_edit: bool,
}

async fn rankings_page(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> PageResult {
    let month = q.month()?;
    let ranking = service::ranking(&state.db, &principal, month, today()).await?;
    render(&RankingsPage {
        chrome: Chrome::new(&state, &principal, "/rankings"),
        month: month.key(),
        label: month.label(),
        t: tables(&ranking),
        can_edit: principal.can(crate::BULLETIN, Action::Update),
    })
}

/// What the bulletin page says about the month's issue.
enum Status {
    /// Not issued: the draft computed now. `issuable`: the month is over.
    Draft { can_issue: bool, issuable: bool },
    Issued {
        number: String,
        issued_on: String,
        issued_by: String,
        version: i64,
        /// This is the newest version.
        newest: bool,
        /// Every version: (version, number, date).
        versions: Vec<(i64, String, String)>,
        /// The current data give other figures (only computed for who may issue, on the newest version).
        differs: Option<bool>,
        can_issue: bool,
    },
}

#[derive(Template)]
#[template(path = "bulletins_bulletin.html")]
struct BulletinPage {
    chrome: Chrome,
    month: String,
    /// `&version=N` for the downloads of an issued version other than the newest.
    version_query: String,
    title: String,
    status: Status,
    /// The bulletin's body: stored (issued) or rendered now (draft).
    body: String,
}

fn cst_date(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

async fn bulletin_page(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<BulletinQuery>,
) -> PageResult {
    let can_issue = principal.can(crate::BULLETIN, Action::Create);
    let chrome = Chrome::new(&state, &principal, "/rankings");
    let (month, stored) = q.issued(&state, &principal, Part::Html).await?;
    let title = service::bulletin_title(month);
    let Some((shown, body)) = stored else {
        let b = draft(&state, &principal, month).await?;
        let body = crate::view::body(&b, None).map_err(|e| AppError::Internal(e.into()))?;
        return render(&BulletinPage {
            chrome,
            month: month.key(),
            version_query: String::new(),
            title: format!("{}（草稿）", b.title),
            status: Status::Draft {
                can_issue,
                issuable: month.last_day() < today(),
            },
            body,
        });
    };
    let versions = service::issues(&state.db, &principal, month).await?;
    let newest = versions.first().is_none_or(|v| v.version == shown.version);
    // The comparison with the current data is a full computation: only for who may issue, on the newest version
    // (see service::differs_from_current); every other read of an issued bulletin is the stored document.
    let differs = if can_issue && newest {
        service::differs_from_current(&state.db, &principal, &shown, today()).await?
    } else {
        None
    };
    let body = String::from_utf8(body.into_bytes()).map_err(|e| AppError::Internal(e.into()))?;
    // The issuer is shown by name (and username), as people are everywhere on the pages.
    let issuer = kernel::people::names(&state, [shown.issued_by.as_str()])
        .await?
        .name_and_username(&shown.issued_by);
    render(&BulletinPage {
        chrome,
        month: month.key(),
        version_query: if newest {
            String::new()
        } else {
            format!("&version={}", shown.version)
        },
        title,
        status: Status::Issued {
            number: shown.number.clone(),
            issued_on: cst_date(shown.issued_on),
            issued_by: issuer,
            version: shown.version,
            newest,
            versions: versions
                .iter()
                .map(|v| (v.version, v.number.clone(), cst_date(v.issued_on)))
                .collect(),
            differs,
            can_issue,
        },
        body,
    })
}

#[derive(Template)]
#[template(path = "bulletins_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    settings: RankingSettings,
    air_presets: Vec<(&'static str, &'static str, &'static str)>,
    water_presets: Vec<(&'static str, &'static str, &'static str)>,
    air_criteria: Vec<(&'static str, &'static str, u32)>,
    water_criteria: Vec<(&'static str, &'static str, u32)>,
    can_edit: bool,
    message: Option<String>,
    error: Option<String>,
}

async fn settings_page_with(
    state: &AppState,
    principal: &Principal,
    message: Option<String>,
    error: Option<String>,
) -> PageResult {
    principal.require(crate::BULLETIN, Action::Read)?;
    let settings = service::settings(&state.db).await?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = SettingsPage {
        chrome: Chrome::new(state, principal, "/rankings"),
        air_presets: AIR_PRESETS
            .iter()
            .map(|p| (p.key, p.label, p.source))
            .collect(),
        water_presets: WATER_PRESETS
            .iter()
            .map(|p| (p.key, p.label, p.source))
            .collect(),
        air_criteria: AIR_CRITERIA
            .iter()
            .zip(settings.air_weights.as_array())
            .map(|(c, w)| (c.key, c.label, w))
            .collect(),
        water_criteria: WATER_CRITERIA
            .iter()
            .zip(settings.water_weights.as_array())
            .map(|(c, w)| (c.key, c.label, w))
            .collect(),
        settings,
        can_edit: principal.can(crate::BULLETIN, Action::Update),
        message,
        error,
    };
    Ok((status, render(&page)?).into_response())
}

async fn settings_page(AxState(state): AxState<AppState>, principal: Principal) -> PageResult {
    settings_page_with(&state, &principal, None, None).await
}

#[derive(Deserialize)]
struct SettingsForm {
    air_preset: String,
    water_preset: String,
    composite: Option<String>,
    composite_change: Option<String>,
    pm25: Option<String>,
    pm25_change: Option<String>,
    good_ratio: Option<String>,
    cwqi: Option<String>,
    cwqi_change: Option<String>,
    compliance: Option<String>,
    number_format: Option<String>,
}

fn weight(field: &str, value: &Option<String>) -> AppResult<u32> {
    let text = value.as_deref().unwrap_or("").trim();
    if text.is_empty() {
        return Ok(0);
    }
    text.parse()
        .map_err(|_| AppError::validation(field, "must be a whole number 0–100"))
}

async fn settings_submit(
    AxState(state): AxState<AppState>,
    principal: Principal,
    axum::Form(form): axum::Form<SettingsForm>,
) -> PageResult {
    let result = async {
        let update = SettingsUpdate {
            air_weights: Some(AirWeights {
                composite: weight("composite", &form.composite)?,
                composite_change: weight("composite_change", &form.composite_change)?,
                pm25: weight("pm25", &form.pm25)?,
                pm25_change: weight("pm25_change", &form.pm25_change)?,
                good_ratio: weight("good_ratio", &form.good_ratio)?,
            }),
            water_weights: Some(WaterWeights {
                cwqi: weight("cwqi", &form.cwqi)?,
                cwqi_change: weight("cwqi_change", &form.cwqi_change)?,
                compliance: weight("compliance", &form.compliance)?,
            }),
            air_preset: form.air_preset.clone(),
            water_preset: form.water_preset.clone(),
            number_format: form.number_format.clone().filter(|f| !f.trim().is_empty()),
        };
        service::update_settings(&state.db, &principal, update).await
    }
    .await;
    let (message, error) = match result {
        Ok(_) => (Some("已保存".to_string()), None),
        Err(AppError::Validation { field, message }) => (None, Some(format!("{field}: {message}"))),
        Err(other) => return Err(other.into()),
    };
    settings_page_with(&state, &principal, message, error).await
}
