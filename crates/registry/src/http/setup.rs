//! First-run setup: the district (`/setup`, `GET/POST /api/v1/district`), and the streets and departments
//! from the bureau's file (`/registry/organisation/import`: template download, upload, preview, confirm).
//! The rules are in `service::setup` and `service::org_import`; an installation without a district sends its
//! administrator here from the start page ([`setup_gate`]).

use std::path::PathBuf;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kernel::audit::Actor;
use kernel::web::{ApiJson, Chrome, PageError, PageResult, render};
use kernel::{Action, AppError, AppResult, AppState, Principal};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::model::{District, DistrictInput};
use crate::service::org_import::{self, ImportMode, OrgImportReport, OrgKind, OrgSource};
use crate::service::setup::{self, DistrictSetup};
use crate::service::{self};
use crate::sheet::MAX_FILE_BYTES;

use super::pages::FormData;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/district",
            get(api_district).post(api_set_up_district),
        )
        .route("/setup", get(setup_page).post(setup_submit))
        .route("/registry/organisation/template.xlsx", get(template_xlsx))
        .route(
            "/registry/organisation/template-streets.csv",
            get(template_streets_csv),
        )
        .route(
            "/registry/organisation/template-departments.csv",
            get(template_departments_csv),
        )
        .route(
            "/registry/organisation/import",
            get(import_page)
                .post(import_preview)
                .layer(DefaultBodyLimit::max(MAX_FILE_BYTES + 64 * 1024)),
        )
        .route(
            "/registry/organisation/import/confirm",
            post(import_confirm),
        )
}

/// The setup API's part of `/api/v1/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api_district, api_set_up_district),
    components(schemas(District, DistrictInput))
)]
pub struct SetupApiDoc;

// ---------------------------------------------------------------------------------------------------------------
// API
// ---------------------------------------------------------------------------------------------------------------

/// 辖区 — the installation's district; 404 until it has been set up.
#[utoipa::path(get, path = "/api/v1/district", tag = "registry",
    responses((status = 200, body = District), (status = 401, response = kernel::error::ProblemResponse),
        (status = 404, response = kernel::error::ProblemResponse)))]
async fn api_district(
    State(state): State<AppState>,
    principal: Principal,
) -> AppResult<axum::Json<District>> {
    service::district(&state.db, &principal)
        .await?
        .map(axum::Json)
        .ok_or_else(|| {
            AppError::not_found(
                "no district is set up yet (qingshan init, or /setup as administrator)",
            )
        })
}

/// Sets up the installation's district (administrator): 201 the first time, 200 when it is already this
/// district (nothing changes), 409 when it is another one.
#[utoipa::path(post, path = "/api/v1/district", tag = "registry", request_body = DistrictInput,
    responses((status = 201, body = District), (status = 200, body = District),
        (status = 401, response = kernel::error::ProblemResponse), (status = 403, response = kernel::error::ProblemResponse),
        (status = 409, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_set_up_district(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(input): ApiJson<DistrictInput>,
) -> AppResult<Response> {
    let outcome = setup::set_up_district(&state.db, Actor::Principal(&principal), &input).await?;
    let status = if outcome.created() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        [(header::LOCATION, "/api/v1/district")],
        axum::Json(outcome.district().clone()),
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------------------------
// The start page's gate
// ---------------------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "registry/setup_pending.html")]
struct PendingPage {
    chrome: Chrome,
    /// Whether the district is set up (then the page only says setup is the administrator's).
    set_up: bool,
}

fn pending(
    state: &AppState,
    principal: &Principal,
    set_up: bool,
    status: StatusCode,
) -> PageResult {
    let mut response = render(&PendingPage {
        chrome: Chrome::new(state, principal, "/setup"),
        set_up,
    })?;
    *response.status_mut() = status;
    Ok(response)
}

fn is_setter(principal: &Principal) -> bool {
    principal.can(crate::ORGANISATION, Action::Create)
}

/// The Chinese 403 page for anyone but the administrator on the setup and import pages.
async fn refuse_non_administrator(state: &AppState, principal: &Principal) -> Option<PageResult> {
    if is_setter(principal) {
        return None;
    }
    Some(match service::the_district(&state.db).await {
        Ok(district) => pending(state, principal, district.is_some(), StatusCode::FORBIDDEN),
        Err(err) => Err(err.into()),
    })
}

/// For the start page: until the district is set up, the administrator is sent to `/setup` and everyone
/// else is told (in Chinese) that the administrator must finish it first. `None` once it is set up.
pub async fn setup_gate(
    state: &AppState,
    principal: &Principal,
) -> Result<Option<Response>, PageError> {
    if service::the_district(&state.db).await?.is_some() {
        return Ok(None);
    }
    if is_setter(principal) {
        Ok(Some(Redirect::to("/setup").into_response()))
    } else {
        pending(state, principal, false, StatusCode::OK).map(Some)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// /setup
// ---------------------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "registry/setup.html")]
struct SetupPage {
    chrome: Chrome,
    district: Option<District>,
    form: DistrictInput,
    /// (field, message) of a rejected form; field `""` for a message about the whole form.
    error: Option<(String, String)>,
    notice: Option<&'static str>,
    streets: usize,
    departments: usize,
}

impl SetupPage {
    fn error_of(&self, field: &str) -> Option<&str> {
        match &self.error {
            Some((f, m)) if f == field => Some(m),
            _ => None,
        }
    }

    fn general_error(&self) -> Option<&str> {
        match &self.error {
            Some((f, m)) if !["code", "name", "city"].contains(&f.as_str()) => Some(m),
            _ => None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct SetupQuery {
    done: Option<String>,
}

async fn setup_render(
    state: &AppState,
    principal: &Principal,
    form: DistrictInput,
    error: Option<(String, String)>,
    notice: Option<&'static str>,
) -> PageResult {
    let district = service::the_district(&state.db).await?;
    if !is_setter(principal) {
        return pending(state, principal, district.is_some(), StatusCode::FORBIDDEN);
    }
    let status = match &error {
        Some((field, _)) if field == "district" => StatusCode::CONFLICT,
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    let page = SetupPage {
        chrome: Chrome::new(state, principal, "/setup"),
        streets: service::streets(&state.db).await?.len(),
        departments: service::departments(&state.db).await?.len(),
        district,
        form,
        error,
        notice,
    };
    let mut response = render(&page)?;
    *response.status_mut() = status;
    Ok(response)
}

async fn setup_page(
    State(state): State<AppState>,
    principal: Principal,
    kernel::web::ApiQuery(query): kernel::web::ApiQuery<SetupQuery>,
) -> PageResult {
    let notice = match query.done.as_deref() {
        Some("created") => Some("辖区已设置。下一步：导入或逐个添加街道与部门。"),
        Some("unchanged") => Some("辖区已经是这个设置，没有改动。"),
        _ => None,
    };
    setup_render(&state, &principal, DistrictInput::default(), None, notice).await
}

/// A validation message for a form: `is required` and the like from shared checks, in Chinese.
fn form_message(message: &str) -> String {
    match message {
        "is required" => "必填".to_string(),
        other => other
            .strip_prefix("district: ")
            .unwrap_or(other)
            .to_string(),
    }
}

async fn setup_submit(
    State(state): State<AppState>,
    principal: Principal,
    body: Bytes,
) -> PageResult {
    let fields = FormData::parse(&body);
    let get = |name: &str| fields.get(name);
    let form = DistrictInput {
        code: get("code"),
        name: get("name"),
        city: get("city"),
    };
    match setup::set_up_district(&state.db, Actor::Principal(&principal), &form).await {
        Ok(DistrictSetup::Created(_)) => Ok(Redirect::to("/setup?done=created").into_response()),
        Ok(DistrictSetup::Unchanged(_)) => {
            Ok(Redirect::to("/setup?done=unchanged").into_response())
        }
        Err(AppError::Validation { field, message }) => {
            let error = Some((field, form_message(&message)));
            setup_render(&state, &principal, form, error, None).await
        }
        Err(AppError::Conflict(message)) => {
            let error = Some(("district".to_string(), form_message(&message)));
            setup_render(&state, &principal, form, error, None).await
        }
        Err(AppError::Forbidden(message)) => refuse_non_administrator(&state, &principal)
            .await
            .unwrap_or(Err(AppError::Forbidden(message).into())),
        Err(other) => Err(other.into()),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Templates for download
// ---------------------------------------------------------------------------------------------------------------

fn download(content_type: &str, file_name: &str, body: Vec<u8>) -> Response {
    // RFC 6266 / RFC 5987: an ASCII fallback and the UTF-8 name.
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"),
            ),
        ],
        body,
    )
        .into_response()
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async fn template_xlsx(principal: Principal) -> PageResult {
    principal.require(crate::ORGANISATION, Action::Read)?;
    let bytes = kernel::export::build_off_thread(org_import::template_xlsx).await?;
    Ok(download(XLSX, "街道与部门导入模板.xlsx", bytes))
}

fn template_csv(principal: &Principal, kind: OrgKind) -> PageResult {
    principal.require(crate::ORGANISATION, Action::Read)?;
    let name = format!("{}导入模板.csv", kind.sheet_name());
    Ok(download(
        "text/csv; charset=utf-8",
        &name,
        org_import::template_csv(kind).into_bytes(),
    ))
}

async fn template_streets_csv(principal: Principal) -> PageResult {
    template_csv(&principal, OrgKind::Streets)
}

async fn template_departments_csv(principal: Principal) -> PageResult {
    template_csv(&principal, OrgKind::Departments)
}

// ---------------------------------------------------------------------------------------------------------------
// Upload, preview, confirm
// ---------------------------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "registry/org_import.html")]
struct ImportPage {
    chrome: Chrome,
    district: Option<District>,
    report: Option<OrgImportReport>,
    /// The uploaded file, kept for the confirmation: (digest, file name, kind).
    upload: Option<(String, String, String)>,
    error: Option<String>,
}

/// Where uploaded organisation files wait for their confirmation: named by their SHA-256, so the confirm form
/// can name one without naming a path.
fn upload_path(state: &AppState, digest: &str) -> Option<PathBuf> {
    let valid = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
    valid.then(|| {
        state
            .config
            .data_dir
            .join("imports")
            .join(format!("organisation-{}", digest.to_ascii_lowercase()))
    })
}

fn require_importer(principal: &Principal) -> AppResult<()> {
    principal.require(crate::ORGANISATION, Action::Create)?;
    principal.require(crate::ORGANISATION, Action::Update)
}

async fn import_render(
    state: &AppState,
    principal: &Principal,
    report: Option<OrgImportReport>,
    upload: Option<(String, String, String)>,
    error: Option<String>,
) -> PageResult {
    let failed = error.is_some() || report.as_ref().is_some_and(|r| !r.is_clean());
    let page = ImportPage {
        chrome: Chrome::new(state, principal, "/registry/organisation"),
        district: service::the_district(&state.db).await?,
        report,
        upload,
        error,
    };
    let mut response = render(&page)?;
    if failed {
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(response)
}

async fn import_page(State(state): State<AppState>, principal: Principal) -> PageResult {
    if let Some(refused) = refuse_non_administrator(&state, &principal).await {
        return refused;
    }
    import_render(&state, &principal, None, None, None).await
}

/// The file and the kind chosen on the upload form.
async fn read_import_form(
    mut multipart: Multipart,
) -> AppResult<(String, Vec<u8>, Option<OrgKind>)> {
    let mut file = None;
    let mut kind = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| AppError::validation("file", format!("上传未完成或文件过大：{e}")))?
    {
        match field.name() {
            Some("file") => {
                let name = field.file_name().unwrap_or("上传的文件").to_string();
                let bytes = field.bytes().await.map_err(|e| {
                    AppError::validation("file", format!("上传未完成或文件过大：{e}"))
                })?;
                file = Some((name, bytes.to_vec()));
            }
            Some("kind") => {
                let text = field
                    .text()
                    .await
                    .map_err(|e| AppError::validation("kind", format!("{e}")))?;
                kind = OrgKind::parse(&text);
            }
            _ => {}
        }
    }
    match file {
        Some((name, bytes)) if !bytes.is_empty() => Ok((file_name_only(&name), bytes, kind)),
        _ => Err(AppError::validation("file", "请选择要导入的文件")),
    }
}

/// The last component of an uploaded file's name (browsers may send a path), for messages only.
fn file_name_only(name: &str) -> String {
    let name = name.rsplit(['/', '\\']).next().unwrap_or(name).trim();
    let name: String = name.chars().filter(|c| !c.is_control()).take(100).collect();
    if name.is_empty() {
        "上传的文件".to_string()
    } else {
        name
    }
}

async fn import_preview(
    State(state): State<AppState>,
    principal: Principal,
    multipart: Multipart,
) -> PageResult {
    if let Some(refused) = refuse_non_administrator(&state, &principal).await {
        return refused;
    }
    let (file_name, bytes, kind) = match read_import_form(multipart).await {
        Ok(upload) => upload,
        Err(AppError::Validation { message, .. }) => {
            return import_render(&state, &principal, None, None, Some(message)).await;
        }
        Err(other) => return Err(other.into()),
    };
    let source = OrgSource {
        file_name: file_name.clone(),
        bytes,
        kind,
    };
    let report = match org_import::import(
        &state.db,
        Actor::Principal(&principal),
        std::slice::from_ref(&source),
        ImportMode::Preview,
    )
    .await
    {
        Ok(report) => report,
        Err(AppError::Validation { message, .. }) => {
            return import_render(&state, &principal, None, None, Some(message)).await;
        }
        Err(other) => return Err(other.into()),
    };
    let mut upload = None;
    if report.is_clean() && report.changes_anything() {
        let digest = hex::encode(Sha256::digest(&source.bytes));
        let path = upload_path(&state, &digest)
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("a SHA-256 is 64 hex digits")))?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| AppError::Internal(e.into()))?;
        }
        tokio::fs::write(&path, &source.bytes)
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        let kind = kind.map(|k| k.sheet_name().to_string()).unwrap_or_default();
        upload = Some((digest, file_name, kind));
    }
    import_render(&state, &principal, Some(report), upload, None).await
}

async fn import_confirm(
    State(state): State<AppState>,
    principal: Principal,
    body: Bytes,
) -> PageResult {
    if let Some(refused) = refuse_non_administrator(&state, &principal).await {
        return refused;
    }
    require_importer(&principal)?;
    let fields = FormData::parse(&body);
    let get = |name: &str| fields.get(name);
    let digest = get("digest");
    let Some(path) = upload_path(&state, &digest) else {
        return Err(AppError::validation("digest", "不是本页面上传的文件").into());
    };
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let message = "上传的文件已不在服务器上（可能已经导入过），请重新上传".to_string();
            return import_render(&state, &principal, None, None, Some(message)).await;
        }
    };
    let source = OrgSource {
        file_name: file_name_only(&get("file_name")),
        bytes,
        kind: OrgKind::parse(&get("kind")),
    };
    let report = org_import::import(
        &state.db,
        Actor::Principal(&principal),
        std::slice::from_ref(&source),
        ImportMode::Apply,
    )
    .await?;
    if report.applied {
        // Imported: the waiting copy has done its job (a failure to remove it only leaves a small file).
        let _ = tokio::fs::remove_file(&path).await;
    }
    import_render(&state, &principal, Some(report), None, None).await
}
