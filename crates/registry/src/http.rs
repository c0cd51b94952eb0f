//! Thin HTTP handlers: the JSON API under `/api/v1` (documented by [`ApiDoc`]) and the Chinese pages under
//! `/registry` (in [`pages`]). Each extracts, calls the service, and answers; rules live in the service.
//!
//! Bodies come through `kernel::web::ApiJson`; the extractors here do the same for query strings (naming the
//! parameter, ignoring the empty ones HTML filter forms send) and ids, so every malformed request is an
//! `application/problem+json` 4xx instead of axum's plain-text rejections.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kernel::error::Problem;
use kernel::web::{ApiJson, ApiQuery};
use kernel::{AppError, AppResult, AppState, Page, PageQuery, Principal};
use serde::Deserialize;

use crate::model::*;
use crate::service;

mod pages;
mod setup;

pub use setup::setup_gate;
mod workbook;

// ---------------------------------------------------------------------------------------------------------------
// Extractors
// ---------------------------------------------------------------------------------------------------------------

/// A record id from the path; anything but a whole number names no record.
pub fn parse_id(raw: &str) -> AppResult<i64> {
    raw.trim()
        .parse::<i64>()
        .map_err(|_| AppError::not_found(format!("no record with id {raw:?}")))
}

/// `{id}` in the path, as an i64, with a problem+json 404 for anything else.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| AppError::BadRequest(format!("id: {e}")))?;
        parse_id(&raw).map(Id)
    }
}

fn created<T: serde::Serialize>(location: String, body: &T) -> Response {
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(body),
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------------------------

/// The registry's API and pages, with absolute paths; the web layer adds authentication (a [`Principal`] in the
/// request extensions) and CSRF checks in front.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/streets", get(list_streets).post(create_street))
        .route("/api/v1/streets/{id}", get(get_street).put(update_street))
        .route(
            "/api/v1/departments",
            get(list_departments).post(create_department),
        )
        .route(
            "/api/v1/departments/{id}",
            get(get_department).put(update_department),
        )
        .route(
            "/api/v1/enterprises",
            get(list_enterprises).post(create_enterprise),
        )
        .route("/api/v1/enterprises/lookup", get(lookup_enterprise))
        .route(
            "/api/v1/enterprises/{id}",
            get(get_enterprise).put(update_enterprise),
        )
        .route("/api/v1/enterprises/{id}/profile", get(enterprise_profile))
        .route(
            "/api/v1/enterprises/{id}/status",
            get(status_history).post(change_status),
        )
        .route(
            "/api/v1/enterprises/{id}/identifiers",
            get(list_identifiers).post(add_identifier),
        )
        .route(
            "/api/v1/enterprises/{id}/identifiers/{identifier_id}",
            axum::routing::delete(remove_identifier),
        )
        .route(
            "/api/v1/enterprises/{id}/sites",
            get(list_sites).post(add_site),
        )
        .route(
            "/api/v1/enterprises/{id}/outlets",
            get(list_outlets).post(add_outlet),
        )
        .route(
            "/api/v1/enterprises/{id}/sites/{site_id}",
            axum::routing::put(update_site),
        )
        .route(
            "/api/v1/enterprises/{id}/outlets/{outlet_id}",
            axum::routing::put(update_outlet),
        )
        .route("/api/v1/outlets", get(search_outlets))
        .route("/api/v1/points", get(list_points).post(create_point))
        .route("/api/v1/points/{id}", get(get_point).put(update_point))
        .route("/api/v1/devices", get(list_devices).post(create_device))
        .route("/api/v1/devices/{id}", get(get_device).put(update_device))
        .merge(pages::routes())
        .merge(setup::routes())
        .merge(workbook::routes())
}

/// The registry's part of `/api/v1/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        list_streets, create_street, get_street, update_street,
        list_departments, create_department, get_department, update_department,
        list_enterprises, create_enterprise, lookup_enterprise, get_enterprise, update_enterprise,
        enterprise_profile, status_history, change_status, list_identifiers, add_identifier, remove_identifier,
        list_sites, add_site, update_site, list_outlets, add_outlet, update_outlet, search_outlets,
        list_points, create_point, get_point, update_point,
        list_devices, create_device, get_device, update_device,
        workbook::api_template, workbook::api_export, workbook::api_import,
    ),
    components(responses(kernel::error::ProblemResponse), schemas(Problem)),
    tags((name = "registry", description = "基础信息：街道、部门、企业（一企一档）、监测点位、监测设备"))
)]
pub struct ApiDoc;

/// The registry's whole API document: [`ApiDoc`] and the first-run setup's ([`setup::SetupApiDoc`]).
pub fn api_doc() -> utoipa::openapi::OpenApi {
    let mut doc = <ApiDoc as utoipa::OpenApi>::openapi();
    doc.merge(<setup::SetupApiDoc as utoipa::OpenApi>::openapi());
    doc
}

// ---------------------------------------------------------------------------------------------------------------
// Streets and departments
// ---------------------------------------------------------------------------------------------------------------

/// 街道 — every role may read them.
#[utoipa::path(get, path = "/api/v1/streets", tag = "registry",
    responses((status = 200, body = Vec<Street>), (status = 401, response = kernel::error::ProblemResponse)))]
async fn list_streets(
    State(state): State<AppState>,
    principal: Principal,
) -> AppResult<Json<Vec<Street>>> {
    Ok(Json(service::list_streets(&state.db, &principal).await?))
}

#[utoipa::path(get, path = "/api/v1/streets/{id}", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = Street), (status = 404, response = kernel::error::ProblemResponse)))]
async fn get_street(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> AppResult<Json<Street>> {
    Ok(Json(service::get_street(&state.db, &principal, id).await?))
}

#[utoipa::path(post, path = "/api/v1/streets", tag = "registry", request_body = StreetInput,
    responses((status = 201, body = Street), (status = 403, response = kernel::error::ProblemResponse), (status = 409, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn create_street(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<StreetInput>,
) -> AppResult<Response> {
    let street = service::create_street(&state.db, &principal, &input).await?;
    Ok(created(format!("/api/v1/streets/{}", street.id), &street))
}

#[utoipa::path(put, path = "/api/v1/streets/{id}", tag = "registry", params(("id" = i64, Path)),
    request_body = StreetInput,
    responses((status = 200, body = Street), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn update_street(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    ApiJson(input): ApiJson<StreetInput>,
) -> AppResult<Json<Street>> {
    Ok(Json(
        service::update_street(&state.db, &principal, id, &input).await?,
    ))
}

/// 部门 — the bureau's departments and external agencies.
#[utoipa::path(get, path = "/api/v1/departments", tag = "registry",
    responses((status = 200, body = Vec<Department>), (status = 403, response = kernel::error::ProblemResponse)))]
async fn list_departments(
    State(state): State<AppState>,
    principal: Principal,
) -> AppResult<Json<Vec<Department>>> {
    Ok(Json(
        service::list_departments(&state.db, &principal).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/departments/{id}", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = Department), (status = 404, response = kernel::error::ProblemResponse)))]
async fn get_department(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> AppResult<Json<Department>> {
    Ok(Json(
        service::get_department(&state.db, &principal, id).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/departments", tag = "registry", request_body = DepartmentInput,
    responses((status = 201, body = Department), (status = 403, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn create_department(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<DepartmentInput>,
) -> AppResult<Response> {
    let department = service::create_department(&state.db, &principal, &input).await?;
    Ok(created(
        format!("/api/v1/departments/{}", department.id),
        &department,
    ))
}

#[utoipa::path(put, path = "/api/v1/departments/{id}", tag = "registry", params(("id" = i64, Path)),
    request_body = DepartmentInput,
    responses((status = 200, body = Department), (status = 403, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn update_department(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    ApiJson(input): ApiJson<DepartmentInput>,
) -> AppResult<Json<Department>> {
    Ok(Json(
        service::update_department(&state.db, &principal, id, &input).await?,
    ))
}

// ---------------------------------------------------------------------------------------------------------------
// Enterprises
// ---------------------------------------------------------------------------------------------------------------

/// 企业 — a street officer sees only their street's.
#[utoipa::path(get, path = "/api/v1/enterprises", tag = "registry", params(EnterpriseFilter, PageQuery),
    responses((status = 200, body = Page<Enterprise>), (status = 403, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn list_enterprises(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<EnterpriseFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> AppResult<Json<Page<Enterprise>>> {
    Ok(Json(
        service::list_enterprises(&state.db, &principal, &filter, &page).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/enterprises", tag = "registry", request_body = EnterpriseInput,
    responses((status = 201, body = Enterprise), (status = 403, response = kernel::error::ProblemResponse), (status = 409, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn create_enterprise(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<EnterpriseInput>,
) -> AppResult<Response> {
    let enterprise = service::create_enterprise(&state.db, &principal, &input).await?;
    Ok(created(
        format!("/api/v1/enterprises/{}", enterprise.id),
        &enterprise,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LookupQuery {
    /// `uscc`, `device_mn`, `permit`, `hazardous_waste`, `pollution_source` or `emergency_plan`.
    #[param(schema_with = lookup_program_schema, required = true)]
    program: String,
    identifier: String,
}

fn lookup_program_schema() -> utoipa::openapi::schema::Object {
    let mut programs = vec![service::LOOKUP_USCC, service::LOOKUP_DEVICE_MN];
    programs.extend(Program::texts());
    kernel::web::text_choice("The identifier's program", &programs)
}

/// Finds the enterprise holding an identifier of any program (the ECHO registry lookup).
#[utoipa::path(get, path = "/api/v1/enterprises/lookup", tag = "registry", params(LookupQuery),
    responses((status = 200, body = Enterprise), (status = 404, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn lookup_enterprise(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<LookupQuery>,
) -> AppResult<Json<Enterprise>> {
    Ok(Json(
        service::lookup(&state.db, &principal, &query.program, &query.identifier).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/enterprises/{id}", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = Enterprise), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse)))]
async fn get_enterprise(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> AppResult<Json<Enterprise>> {
    Ok(Json(
        service::get_enterprise(&state.db, &principal, id).await?,
    ))
}

/// Replaces the editable fields; send `version` to be told (409) when someone else changed it meanwhile.
#[utoipa::path(put, path = "/api/v1/enterprises/{id}", tag = "registry", params(("id" = i64, Path)),
    request_body = EnterpriseInput,
    responses((status = 200, body = Enterprise), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse),
        (status = 409, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn update_enterprise(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    ApiJson(input): ApiJson<EnterpriseInput>,
) -> AppResult<Json<Enterprise>> {
    Ok(Json(
        service::update_enterprise(&state.db, &principal, id, &input).await?,
    ))
}

/// 企业环境档案: the enterprise, its street, status history, every program's identifiers, sites, outlets,
/// monitoring points and devices.
#[utoipa::path(get, path = "/api/v1/enterprises/{id}/profile", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = EnterpriseProfile), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse)))]
async fn enterprise_profile(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> AppResult<Json<EnterpriseProfile>> {
    Ok(Json(service::profile(&state.db, &principal, id).await?))
}

#[utoipa::path(get, path = "/api/v1/enterprises/{id}/status", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<StatusRecord>), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse)))]
async fn status_history(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> AppResult<Json<Vec<StatusRecord>>> {
    Ok(Json(
        service::status_history(&state.db, &principal, id).await?,
    ))
}

/// Changes the status (在产, 在建, 停产, 关闭) from an effective date; the history keeps every change.
#[utoipa::path(post, path = "/api/v1/enterprises/{id}/status", tag = "registry", params(("id" = i64, Path)),
    request_body = StatusChange,
    responses((status = 200, body = Enterprise), (status = 404, response = kernel::error::ProblemResponse), (status = 409, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn change_status(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    ApiJson(change): ApiJson<StatusChange>,
) -> AppResult<Json<Enterprise>> {
    Ok(Json(
        service::change_status(&state.db, &principal, id, &change).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/enterprises/{id}/identifiers", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Identifier>), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse)))]
async fn list_identifiers(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> AppResult<Json<Vec<Identifier>>> {
    Ok(Json(
        service::list_identifiers(&state.db, &principal, id).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/enterprises/{id}/identifiers", tag = "registry", params(("id" = i64, Path)),
    request_body = IdentifierInput,
    responses((status = 201, body = Identifier), (status = 404, response = kernel::error::ProblemResponse), (status = 409, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn add_identifier(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    ApiJson(input): ApiJson<IdentifierInput>,
) -> AppResult<Response> {
    let identifier = service::add_identifier(&state.db, &principal, id, &input).await?;
    Ok(created(
        format!("/api/v1/enterprises/{id}/identifiers"),
        &identifier,
    ))
}

/// Removes an identifier registered by mistake.
#[utoipa::path(delete, path = "/api/v1/enterprises/{id}/identifiers/{identifier_id}", tag = "registry",
    params(("id" = i64, Path), ("identifier_id" = i64, Path)),
    responses((status = 204), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse)))]
async fn remove_identifier(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, identifier_id)): Path<(String, String)>,
) -> AppResult<StatusCode> {
    let (id, identifier_id) = (parse_id(&id)?, parse_id(&identifier_id)?);
    service::remove_identifier(&state.db, &principal, id, identifier_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/enterprises/{id}/sites", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Site>), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse)))]
async fn list_sites(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> AppResult<Json<Vec<Site>>> {
    Ok(Json(service::list_sites(&state.db, &principal, id).await?))
}

#[utoipa::path(post, path = "/api/v1/enterprises/{id}/sites", tag = "registry", params(("id" = i64, Path)),
    request_body = SiteInput,
    responses((status = 201, body = Site), (status = 404, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn add_site(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    ApiJson(input): ApiJson<SiteInput>,
) -> AppResult<Response> {
    let site = service::add_site(&state.db, &principal, id, &input).await?;
    Ok(created(format!("/api/v1/enterprises/{id}/sites"), &site))
}

#[utoipa::path(put, path = "/api/v1/enterprises/{id}/sites/{site_id}", tag = "registry",
    params(("id" = i64, Path), ("site_id" = i64, Path)), request_body = SiteInput,
    responses((status = 200, body = Site), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn update_site(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, site_id)): Path<(String, String)>,
    ApiJson(input): ApiJson<SiteInput>,
) -> AppResult<Json<Site>> {
    let (id, site_id) = (parse_id(&id)?, parse_id(&site_id)?);
    Ok(Json(
        service::update_site(&state.db, &principal, id, site_id, &input).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/enterprises/{id}/outlets", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Outlet>), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse)))]
async fn list_outlets(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> AppResult<Json<Vec<Outlet>>> {
    Ok(Json(
        service::list_outlets(&state.db, &principal, id).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/enterprises/{id}/outlets", tag = "registry", params(("id" = i64, Path)),
    request_body = OutletInput,
    responses((status = 201, body = Outlet), (status = 404, response = kernel::error::ProblemResponse), (status = 409, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn add_outlet(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    ApiJson(input): ApiJson<OutletInput>,
) -> AppResult<Response> {
    let outlet = service::add_outlet(&state.db, &principal, id, &input).await?;
    Ok(created(
        format!("/api/v1/enterprises/{id}/outlets"),
        &outlet,
    ))
}

#[utoipa::path(put, path = "/api/v1/enterprises/{id}/outlets/{outlet_id}", tag = "registry",
    params(("id" = i64, Path), ("outlet_id" = i64, Path)), request_body = OutletInput,
    responses((status = 200, body = Outlet), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse),
        (status = 409, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn update_outlet(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, outlet_id)): Path<(String, String)>,
    ApiJson(input): ApiJson<OutletInput>,
) -> AppResult<Json<Outlet>> {
    let (id, outlet_id) = (parse_id(&id)?, parse_id(&outlet_id)?);
    Ok(Json(
        service::update_outlet(&state.db, &principal, id, outlet_id, &input).await?,
    ))
}

// ---------------------------------------------------------------------------------------------------------------
// Monitoring points and devices
// ---------------------------------------------------------------------------------------------------------------

/// 排放口 of every enterprise the caller may see, with the enterprise's name: what the outlet pickers of the
/// pages search (`q`: part of the outlet's code or name, or of the enterprise's name).
#[utoipa::path(get, path = "/api/v1/outlets", tag = "registry", params(OutletFilter, PageQuery),
    responses((status = 200, body = Page<OutletChoice>), (status = 403, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn search_outlets(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<OutletFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> AppResult<Json<Page<OutletChoice>>> {
    Ok(Json(
        service::search_outlets(&state.db, &principal, &filter, &page).await?,
    ))
}

/// 监测点位 — the public sees air stations and water sections only.
#[utoipa::path(get, path = "/api/v1/points", tag = "registry", params(PointFilter, PageQuery),
    responses((status = 200, body = Page<MonitoringPoint>), (status = 422, response = kernel::error::ProblemResponse)))]
async fn list_points(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<PointFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> AppResult<Json<Page<MonitoringPoint>>> {
    Ok(Json(
        service::list_points(&state.db, &principal, &filter, &page).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/points", tag = "registry", request_body = PointInput,
    responses((status = 201, body = MonitoringPoint), (status = 403, response = kernel::error::ProblemResponse), (status = 409, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn create_point(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<PointInput>,
) -> AppResult<Response> {
    let point = service::create_point(&state.db, &principal, &input).await?;
    Ok(created(format!("/api/v1/points/{}", point.id), &point))
}

#[utoipa::path(get, path = "/api/v1/points/{id}", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = MonitoringPoint), (status = 404, response = kernel::error::ProblemResponse)))]
async fn get_point(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> AppResult<Json<MonitoringPoint>> {
    Ok(Json(service::get_point(&state.db, &principal, id).await?))
}

#[utoipa::path(put, path = "/api/v1/points/{id}", tag = "registry", params(("id" = i64, Path)),
    request_body = PointInput,
    responses((status = 200, body = MonitoringPoint), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse),
        (status = 409, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn update_point(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    ApiJson(input): ApiJson<PointInput>,
) -> AppResult<Json<MonitoringPoint>> {
    Ok(Json(
        service::update_point(&state.db, &principal, id, &input).await?,
    ))
}

/// 监测设备 — passwords are shown to administrators and the monitoring department only.
#[utoipa::path(get, path = "/api/v1/devices", tag = "registry", params(DeviceFilter, PageQuery),
    responses((status = 200, body = Page<Device>), (status = 403, response = kernel::error::ProblemResponse)))]
async fn list_devices(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<DeviceFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> AppResult<Json<Page<Device>>> {
    Ok(Json(
        service::list_devices(&state.db, &principal, &filter, &page).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/devices", tag = "registry", request_body = DeviceInput,
    responses((status = 201, body = Device), (status = 403, response = kernel::error::ProblemResponse), (status = 409, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn create_device(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<DeviceInput>,
) -> AppResult<Response> {
    let device = service::create_device(&state.db, &principal, &input).await?;
    Ok(created(format!("/api/v1/devices/{}", device.id), &device))
}

#[utoipa::path(get, path = "/api/v1/devices/{id}", tag = "registry", params(("id" = i64, Path)),
    responses((status = 200, body = Device), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse)))]
async fn get_device(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
) -> AppResult<Json<Device>> {
    Ok(Json(service::get_device(&state.db, &principal, id).await?))
}

#[utoipa::path(put, path = "/api/v1/devices/{id}", tag = "registry", params(("id" = i64, Path)),
    request_body = DeviceInput,
    responses((status = 200, body = Device), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse),
        (status = 409, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn update_device(
    State(state): State<AppState>,
    principal: Principal,
    Id(id): Id,
    ApiJson(input): ApiJson<DeviceInput>,
) -> AppResult<Json<Device>> {
    Ok(Json(
        service::update_device(&state.db, &principal, id, &input).await?,
    ))
}
