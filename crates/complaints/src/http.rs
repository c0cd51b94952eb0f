//! Thin HTTP handlers: the JSON API under `/api/v1/complaints` (documented by [`ApiDoc`]) and the Chinese pages
//! under `/complaints` (in [`pages`]). Each extracts, calls the service, and answers; rules live in the service.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State as AxState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{Datelike, NaiveDate};
use kernel::time::{cst_day, now_ts};
use kernel::web::{ApiJson, ApiPath, ApiQuery};
use kernel::{Action, AppError, AppResult, AppState, Page, PageQuery, Principal};
use serde::Deserialize;

use crate::evidence;
use crate::model::*;
use crate::service::{self, Caller};

/// Multipart bodies: the file plus a little framing (the web layer caps every body at 8 MiB).
const UPLOAD_BODY_LIMIT: usize = evidence::MAX_EVIDENCE_BYTES + 512 * 1024;

mod pages;

/// The area's API and pages, with absolute paths.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/complaints", get(api_list).post(api_create))
        .route("/api/v1/complaints/export.xlsx", get(export_xlsx))
        .route("/api/v1/complaints/stats", get(api_stats))
        .route("/api/v1/complaints/map", get(api_map))
        .route("/api/v1/complaints/persistent", get(api_persistent))
        .route("/api/v1/complaints/escalations", post(api_escalate))
        .route(
            "/api/v1/complaints/settings",
            get(api_settings).put(api_put_settings),
        )
        .route("/api/v1/complaints/duty", get(api_duty).post(api_add_duty))
        .route(
            "/api/v1/complaints/duty/{id}",
            axum::routing::delete(api_delete_duty),
        )
        .route("/api/v1/complaints/{id}", get(api_get))
        .route("/api/v1/complaints/{id}/actions", post(api_action))
        .route(
            "/api/v1/complaints/{id}/evidence",
            post(api_upload).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route(
            "/api/v1/complaints/{id}/evidence/{evidence_id}",
            get(evidence_download),
        )
        .merge(pages::routes())
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api_list, api_create, api_get, api_action, api_upload, evidence_download, export_xlsx, api_stats, api_map,
          api_persistent, api_escalate, api_settings, api_put_settings, api_duty, api_add_duty, api_delete_duty),
    components(responses(kernel::error::ProblemResponse), schemas(Complaint, ComplaintView, ClockStatus, NewComplaint, CaseAction, CaseFile, TimelineEvent,
        SiteCheck, Extension, RepeatLink, Evidence, Statistics, Count, NoiseSurveyRow, MapPoint, PersistentSource,
        Settings, DutyShift, NewDutyShift, Channel, Category, State, Satisfaction, DutyRole, kernel::error::Problem)),
    tags((name = "complaints", description = "信访投诉 Complaints and petitions, duty roster"))
)]
pub struct ApiDoc;

fn today() -> NaiveDate {
    cst_day(now_ts())
}

// --- API -------------------------------------------------------------------------------------------------

/// Cases visible to the caller (a street officer: their street only), with filters; reporters masked by role.
#[utoipa::path(get, path = "/api/v1/complaints", operation_id = "list_complaints", tag = "complaints", params(ComplaintFilter, PageQuery),
    responses((status = 200, body = Page<ComplaintView>), (status = 403, response = kernel::error::ProblemResponse)))]
async fn api_list(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<ComplaintFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> AppResult<ApiJson<Page<ComplaintView>>> {
    Ok(ApiJson(
        service::list(&state.db, &principal, &filter, &page, today()).await?,
    ))
}

/// Files a case: starts its acceptance clock, routes after-hours intake to the officer on duty, links repeats.
#[utoipa::path(post, path = "/api/v1/complaints", operation_id = "create_complaint", tag = "complaints", request_body = NewComplaint,
    responses((status = 201, body = Complaint), (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_create(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiJson(new): ApiJson<NewComplaint>,
) -> AppResult<Response> {
    let created = service::file_complaint(&state.db, Caller::User(&principal), new, false).await?;
    let location = format!("/api/v1/complaints/{}", created.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        ApiJson(created),
    )
        .into_response())
}

/// A case with its timeline, site checks, extensions, repeat links and evidence (404 outside the caller's street).
#[utoipa::path(get, path = "/api/v1/complaints/{id}", operation_id = "get_complaint", tag = "complaints", params(("id" = i64, Path)),
    responses((status = 200, body = CaseFile), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse)))]
async fn api_get(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<CaseFile>> {
    Ok(ApiJson(
        service::case_file(&state.db, &principal, id, today()).await?,
    ))
}

/// One step: accept, not_accept, assign, start_handling, site_check, reply, close, reopen, request_extension,
/// decide_extension, change_handover_deadline. An illegal step for the case's state is a 409.
#[utoipa::path(post, path = "/api/v1/complaints/{id}/actions", operation_id = "act_on_complaint", tag = "complaints", params(("id" = i64, Path)),
    request_body = CaseAction,
    responses((status = 200, body = Complaint), (status = 404, response = kernel::error::ProblemResponse),
              (status = 409, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_action(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(action): ApiJson<CaseAction>,
) -> AppResult<ApiJson<Complaint>> {
    Ok(ApiJson(
        service::act(&state.db, Caller::User(&principal), id, action, now_ts()).await?,
    ))
}

async fn read_upload(mut multipart: Multipart) -> AppResult<(String, Vec<u8>)> {
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| AppError::BadRequest(format!("bad multipart body: {e}")))?
    {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("").to_string();
            let bytes = field.bytes().await.map_err(|e| {
                AppError::validation("file", format!("could not be read (too large?): {e}"))
            })?;
            return Ok((name, bytes.to_vec()));
        }
    }
    Err(AppError::validation("file", "is required"))
}

/// Uploads one evidence file (multipart field `file`): JPEG, PNG, PDF or MP4, at most 6 MiB, checked by content.
#[utoipa::path(post, path = "/api/v1/complaints/{id}/evidence", tag = "complaints", params(("id" = i64, Path)),
    request_body(content_type = "multipart/form-data", description = "field `file`"),
    responses((status = 201, body = Evidence),
        (status = 400, description = "not a multipart body (axum's own refusal, in plain text), or a broken one",
            content((kernel::error::Problem = "application/problem+json"), (String = "text/plain"))),
        (status = 404, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_upload(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    multipart: Multipart,
) -> AppResult<Response> {
    service::require_case_taking_evidence(&state.db, &principal, id).await?;
    let (name, bytes) = read_upload(multipart).await?;
    let stored = evidence::store(
        &state.db,
        &state.config.data_dir,
        &principal,
        id,
        &name,
        &bytes,
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(stored)).into_response())
}

/// One evidence file, to users who may see the case.
#[utoipa::path(get, path = "/api/v1/complaints/{id}/evidence/{evidence_id}", tag = "complaints",
    params(("id" = i64, Path), ("evidence_id" = i64, Path)),
    responses((status = 200, description = "the file, as its type was recognised on upload", content(("image/jpeg"), ("image/png"), ("application/pdf"), ("video/mp4"))), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse)))]
async fn evidence_download(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiPath((id, evidence_id)): ApiPath<(i64, i64)>,
) -> AppResult<Response> {
    service::require_case(&state.db, &principal, id, Action::Read).await?;
    let (file, bytes) = evidence::load(&state.db, &state.config.data_dir, id, evidence_id).await?;
    let ascii_name: String = file
        .original_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, file.content_type.clone()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{ascii_name}\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// The filtered list as XLSX (reporters masked as for the caller).
#[utoipa::path(get, path = "/api/v1/complaints/export.xlsx", operation_id = "export_complaints_xlsx", tag = "complaints", params(ComplaintFilter),
    responses((status = 200, description = "XLSX workbook", content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))), (status = 403, response = kernel::error::ProblemResponse),
              (status = 429, response = kernel::error::ProblemResponse)))]
async fn export_xlsx(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<ComplaintFilter>,
) -> AppResult<Response> {
    let rows = service::export_rows(&state.db, &principal, &filter, today()).await?;
    let _slot = kernel::export::slot(&state).await?;
    let bytes = kernel::export::build_off_thread(move || crate::export::workbook(&rows)).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"complaints-{}.xlsx\"", today()),
            ),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct YearQuery {
    /// Calendar year (default: this year).
    year: Option<i32>,
    /// `YYYY-MM` (map only).
    month: Option<String>,
    /// Category code (map only).
    #[param(value_type = Option<Category>)]
    category: Option<String>,
}

/// Counts by street, category, channel, month and state, the noise-source survey, repeats and overdue cases.
#[utoipa::path(get, path = "/api/v1/complaints/stats", operation_id = "complaint_stats", tag = "complaints", params(YearQuery),
    responses((status = 200, body = Statistics), (status = 403, response = kernel::error::ProblemResponse)))]
async fn api_stats(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> AppResult<ApiJson<Statistics>> {
    let year = q.year.unwrap_or_else(|| today().year());
    Ok(ApiJson(
        service::statistics(&state.db, &principal, year, today()).await?,
    ))
}

/// Coordinates of cases by category and month, for the map.
#[utoipa::path(get, path = "/api/v1/complaints/map", tag = "complaints", params(YearQuery),
    responses((status = 200, body = [MapPoint]), (status = 403, response = kernel::error::ProblemResponse)))]
async fn api_map(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> AppResult<ApiJson<Vec<MapPoint>>> {
    let year = q.year.unwrap_or_else(|| today().year());
    Ok(ApiJson(
        service::map_points(
            &state.db,
            &principal,
            year,
            q.month.as_deref(),
            q.category.as_deref(),
        )
        .await?,
    ))
}

/// Sources that keep coming back (at least N cases of one category in the window; see settings).
#[utoipa::path(get, path = "/api/v1/complaints/persistent", tag = "complaints",
    responses((status = 200, body = [PersistentSource]), (status = 403, response = kernel::error::ProblemResponse)))]
async fn api_persistent(
    AxState(state): AxState<AppState>,
    principal: Principal,
) -> AppResult<ApiJson<Vec<PersistentSource>>> {
    Ok(ApiJson(
        service::persistent_sources(&state.db, &principal, now_ts()).await?,
    ))
}

/// Escalates every overdue open case to the leaders (idempotent); returns the ids escalated now.
#[utoipa::path(post, path = "/api/v1/complaints/escalations", tag = "complaints",
    responses((status = 200, body = [i64]), (status = 403, response = kernel::error::ProblemResponse)))]
async fn api_escalate(
    AxState(state): AxState<AppState>,
    principal: Principal,
) -> AppResult<ApiJson<Vec<i64>>> {
    principal.require(crate::COMPLAINT, Action::Read)?;
    Ok(ApiJson(
        service::escalate_overdue(&state.db, Caller::User(&principal), now_ts()).await?,
    ))
}

/// The area's settings (repeat window and distance, due-soon horizon, office hours, persistent threshold).
#[utoipa::path(get, path = "/api/v1/complaints/settings", operation_id = "get_complaint_settings", tag = "complaints", responses((status = 200, body = Settings), (status = 403, response = kernel::error::ProblemResponse)))]
async fn api_settings(
    AxState(state): AxState<AppState>,
    principal: Principal,
) -> AppResult<ApiJson<Settings>> {
    principal.require(crate::COMPLAINT, Action::Read)?;
    Ok(ApiJson(service::settings(&state.db).await?))
}

/// Changes the settings (petition office, admin).
#[utoipa::path(put, path = "/api/v1/complaints/settings", operation_id = "put_complaint_settings", tag = "complaints", request_body = Settings,
    responses((status = 200, body = Settings), (status = 403, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_put_settings(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiJson(new): ApiJson<Settings>,
) -> AppResult<ApiJson<Settings>> {
    Ok(ApiJson(
        service::update_settings(&state.db, &principal, new).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RangeQuery {
    /// From (Unix seconds; default: now − 1 day).
    from: Option<i64>,
    /// To (Unix seconds; default: now + 14 days).
    to: Option<i64>,
}

/// Duty shifts overlapping the range.
#[utoipa::path(get, path = "/api/v1/complaints/duty", tag = "complaints", params(RangeQuery),
    responses((status = 200, body = [DutyShift]), (status = 403, response = kernel::error::ProblemResponse)))]
async fn api_duty(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> AppResult<ApiJson<Vec<DutyShift>>> {
    let now = now_ts();
    let from = q.from.unwrap_or(now - kernel::time::DAY_SECONDS);
    let to = q.to.unwrap_or(now + 14 * kernel::time::DAY_SECONDS);
    Ok(ApiJson(
        service::shifts(&state.db, &principal, from, to).await?,
    ))
}

/// Adds a duty shift.
#[utoipa::path(post, path = "/api/v1/complaints/duty", tag = "complaints", request_body = NewDutyShift,
    responses((status = 201, body = DutyShift), (status = 403, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_add_duty(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiJson(new): ApiJson<NewDutyShift>,
) -> AppResult<Response> {
    let shift = service::add_shift(&state.db, Caller::User(&principal), new, false).await?;
    Ok((StatusCode::CREATED, ApiJson(shift)).into_response())
}

/// Removes a shift that received no cases.
#[utoipa::path(delete, path = "/api/v1/complaints/duty/{id}", tag = "complaints", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, response = kernel::error::ProblemResponse), (status = 409, response = kernel::error::ProblemResponse)))]
async fn api_delete_duty(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<StatusCode> {
    service::delete_shift(&state.db, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
