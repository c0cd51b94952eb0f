//! The registry workbook over HTTP: the template and the export as XLSX downloads, the import with its preview.
//! The API takes the file as the raw request body; the page (`/registry/import`) takes it as a multipart upload
//! (`_csrf` in the query, as multipart bodies are not read for it), shows the preview, and carries the previewed
//! file in the confirmation form (base64) so that nothing is kept on the server between the two steps — the
//! import checks everything again when it runs.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use kernel::auth::MaybePrincipal;
use kernel::web::{ApiQuery, Chrome, PageError, PageResult, render};
use kernel::{Action, AppError, AppResult, AppState, Principal};
use serde::Deserialize;

use crate::service::workbook::{self as service, ImportOptions, Importer, MAX_WORKBOOK_BYTES};
use crate::workbook::{RowAction, SheetSummary, WorkbookReport};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Bodies of the upload routes: the workbook, base64's third more in the confirmation form, and the framing.
const UPLOAD_BODY_LIMIT: usize = MAX_WORKBOOK_BYTES * 4 / 3 + 256 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/registry/workbook/template", get(api_template))
        .route(
            "/api/v1/registry/workbook",
            get(api_export)
                .post(api_import)
                .layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route(
            "/registry/import",
            get(import_page)
                .post(upload)
                .layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route(
            "/registry/import/confirm",
            post(confirm).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route("/registry/workbook/template.xlsx", get(page_template))
        .route("/registry/workbook/export.xlsx", get(page_export))
}

fn download(bytes: Vec<u8>, name: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, XLSX.to_string()),
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

fn today() -> String {
    kernel::time::cst_day(kernel::time::now_ts())
        .format("%Y%m%d")
        .to_string()
}

async fn template_file(state: &AppState, principal: &Principal) -> AppResult<Response> {
    let bytes = service::template(&state.db, Importer::User(principal)).await?;
    Ok(download(bytes, "qingshan-registry-template.xlsx".into()))
}

async fn export_file(state: &AppState, principal: &Principal) -> AppResult<Response> {
    let _slot = kernel::export::slot(state).await?;
    let bytes = service::export(&state.db, Importer::User(principal)).await?;
    Ok(download(
        bytes,
        format!("qingshan-registry-{}.xlsx", today()),
    ))
}

/// The registry workbook's template: sheets 说明, 企业, 厂区, 排放口, 监测点位, 监测设备 with Chinese headers, drop-down
/// lists and an example row each. For whoever may import a sheet of it.
#[utoipa::path(get, path = "/api/v1/registry/workbook/template", tag = "registry",
    responses((status = 200, description = "XLSX workbook", content((String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 401, response = kernel::error::ProblemResponse), (status = 403, response = kernel::error::ProblemResponse)))]
async fn api_template(State(state): State<AppState>, principal: Principal) -> AppResult<Response> {
    template_file(&state, &principal).await
}

/// The registry as the template's workbook, scoped to what the caller may see (a street officer: their street).
/// Device passwords are never exported. Importing it unchanged changes nothing.
#[utoipa::path(get, path = "/api/v1/registry/workbook", tag = "registry",
    responses((status = 200, description = "XLSX workbook", content((String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 401, response = kernel::error::ProblemResponse), (status = 403, response = kernel::error::ProblemResponse),
        (status = 429, response = kernel::error::ProblemResponse)))]
async fn api_export(State(state): State<AppState>, principal: Principal) -> AppResult<Response> {
    export_file(&state, &principal).await
}

/// How to import.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Check and report only; write nothing.
    pub dry_run: Option<bool>,
    /// Write the good rows even if others are bad (rows depending on a bad row are left out too).
    pub good_rows_only: Option<bool>,
}

/// Imports the registry workbook sent as the request body (XLSX, at most 4 MiB). The report names every bad row
/// and cell (sheet, Excel row with the header as row 1, column, reason in Chinese) and every change. Nothing is
/// written while a row is bad unless `good_rows_only`; then everything in one transaction, each record audited.
/// `applied` says whether the rows were written. Re-importing a file reports every row unchanged.
#[utoipa::path(post, path = "/api/v1/registry/workbook", tag = "registry", params(ImportQuery),
    request_body(content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", description = "the workbook (.xlsx)", content = String),
    responses((status = 200, body = WorkbookReport),
        (status = 401, response = kernel::error::ProblemResponse), (status = 403, response = kernel::error::ProblemResponse),
        (status = 409, response = kernel::error::ProblemResponse), (status = 413, description = "body larger than the limit", content((String = "text/plain"))),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_import(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ImportQuery>,
    body: Bytes,
) -> AppResult<axum::Json<WorkbookReport>> {
    let options = ImportOptions {
        dry_run: query.dry_run.unwrap_or(false),
        good_rows_only: query.good_rows_only.unwrap_or(false),
    };
    if body.is_empty() {
        return Err(AppError::validation(
            "file",
            "is empty: send the workbook as the request body",
        ));
    }
    Ok(axum::Json(
        service::import(&state.db, Importer::User(&principal), &body, options).await?,
    ))
}

// ---------------------------------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------------------------------

fn who(caller: MaybePrincipal) -> Result<Principal, PageError> {
    caller.0.ok_or(PageError(AppError::Unauthorized))
}

async fn page_template(State(state): State<AppState>, caller: MaybePrincipal) -> PageResult {
    let principal = who(caller)?;
    Ok(template_file(&state, &principal).await?)
}

async fn page_export(State(state): State<AppState>, caller: MaybePrincipal) -> PageResult {
    let principal = who(caller)?;
    Ok(export_file(&state, &principal).await?)
}

/// One sheet's line on the page: its name, whether the user may write it, and its counts once a file is read.
pub struct SheetLine {
    pub name: String,
    pub writable: bool,
    pub note: String,
    pub summary: Option<SheetSummary>,
}

#[derive(Template)]
#[template(path = "registry/import.html")]
struct ImportPage {
    chrome: Chrome,
    can_export: bool,
    can_import: bool,
    sheets: Vec<SheetLine>,
    /// The report of the file just read (preview) or imported.
    report: Option<WorkbookReport>,
    /// A message for the whole file (not a workbook, too large…).
    file_error: Option<String>,
    /// The previewed file, for the confirmation form.
    workbook_b64: String,
    file_name: String,
    good_rows_only: bool,
}

impl ImportPage {
    fn action_label(&self, action: &RowAction) -> &'static str {
        match action {
            RowAction::Create => "新增",
            RowAction::Update => "修改",
        }
    }

    /// Whether the confirmation may be offered: a preview with something to write, clean or with good rows.
    fn can_confirm(&self) -> bool {
        self.report
            .as_ref()
            .is_some_and(|r| !r.applied && (r.created + r.updated) > 0)
    }
}

fn sheet_lines(principal: &Principal, report: Option<&WorkbookReport>) -> Vec<SheetLine> {
    crate::workbook::SHEETS
        .iter()
        .map(|layout| {
            let summary =
                report.and_then(|r| r.sheets.iter().find(|s| s.kind == layout.kind).cloned());
            let resource = match layout.kind {
                crate::workbook::SheetKind::Enterprises
                | crate::workbook::SheetKind::Sites
                | crate::workbook::SheetKind::Outlets => crate::ENTERPRISE,
                crate::workbook::SheetKind::Points => crate::MONITORING_POINT,
                crate::workbook::SheetKind::Devices => crate::DEVICE,
            };
            let writable =
                principal.can(resource, Action::Create) && principal.can(resource, Action::Update);
            let note = match (&summary, writable, principal.can(resource, Action::Read)) {
                (Some(s), _, _) if s.note.is_some() => s.note.clone().unwrap_or_default(),
                (_, true, _) => "可导入".to_string(),
                (_, false, true) => "只读：本表中新增或修改的行会被拒绝".to_string(),
                (_, false, false) => "无权查看：本表的行会被拒绝".to_string(),
            };
            SheetLine {
                name: layout.name.to_string(),
                writable,
                note,
                summary,
            }
        })
        .collect()
}

fn page(
    state: &AppState,
    principal: &Principal,
    report: Option<WorkbookReport>,
    file_error: Option<String>,
    bytes: &[u8],
    file_name: String,
    good_rows_only: bool,
) -> PageResult {
    let keep = report.as_ref().is_some_and(|r| !r.applied);
    render(&ImportPage {
        chrome: Chrome::new(state, principal, "/registry/import"),
        can_export: principal.can(crate::ENTERPRISE, Action::Read),
        can_import: may_import(principal),
        sheets: sheet_lines(principal, report.as_ref()),
        workbook_b64: if keep {
            base64::engine::general_purpose::STANDARD.encode(bytes)
        } else {
            String::new()
        },
        report,
        file_error,
        file_name,
        good_rows_only,
    })
}

fn may_import(principal: &Principal) -> bool {
    [crate::ENTERPRISE, crate::MONITORING_POINT, crate::DEVICE]
        .iter()
        .any(|r| principal.can(*r, Action::Create) && principal.can(*r, Action::Update))
}

/// 403 (as a page) for roles that may import no sheet.
fn require_importer(principal: &Principal) -> Result<(), PageError> {
    if may_import(principal) {
        Ok(())
    } else {
        Err(PageError(AppError::forbidden(
            "您的角色不能导入基础信息（企业、监测点位、监测设备均不能修改）",
        )))
    }
}

async fn import_page(State(state): State<AppState>, caller: MaybePrincipal) -> PageResult {
    let principal = who(caller)?;
    // Readers come for the export; the upload form is shown to those who may import.
    if !may_import(&principal) && !principal.can(crate::ENTERPRISE, Action::Read) {
        require_importer(&principal)?;
    }
    page(&state, &principal, None, None, &[], String::new(), false)
}

/// Reads the upload, previews it (or imports it at once when asked), and shows the report.
async fn run(
    state: &AppState,
    principal: &Principal,
    bytes: Vec<u8>,
    file_name: String,
    options: ImportOptions,
) -> PageResult {
    match service::import(&state.db, Importer::User(principal), &bytes, options).await {
        Ok(report) => page(
            state,
            principal,
            Some(report),
            None,
            &bytes,
            file_name,
            options.good_rows_only,
        ),
        Err(AppError::Validation { message, .. }) => page(
            state,
            principal,
            None,
            Some(file_message(&message)),
            &[],
            file_name,
            options.good_rows_only,
        ),
        Err(other) => Err(PageError(other)),
    }
}

/// The Chinese part of a file error ("… (不是 XLSX 工作簿…): cause" → the Chinese sentence).
fn file_message(message: &str) -> String {
    match (message.find('('), message.rfind(')')) {
        (Some(start), Some(end)) if end > start => message[start + 1..end].to_string(),
        _ => crate::messages::chinese(message),
    }
}

async fn upload(
    State(state): State<AppState>,
    caller: MaybePrincipal,
    mut multipart: Multipart,
) -> PageResult {
    let principal = who(caller)?;
    require_importer(&principal)?;
    let mut bytes = Vec::new();
    let mut file_name = String::new();
    let mut good_rows_only = false;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| AppError::BadRequest(format!("上传内容有误：{e}")))?
    {
        match field.name() {
            Some("file") => {
                file_name = field.file_name().unwrap_or("").to_string();
                bytes = field
                    .bytes()
                    .await
                    .map_err(|e| AppError::BadRequest(format!("上传内容有误：{e}")))?
                    .to_vec();
            }
            Some("good_rows_only") => good_rows_only = true,
            _ => {}
        }
    }
    if bytes.is_empty() {
        return page(
            &state,
            &principal,
            None,
            Some("请选择要导入的 Excel 文件（.xlsx）".to_string()),
            &[],
            file_name,
            good_rows_only,
        );
    }
    let options = ImportOptions {
        dry_run: true,
        good_rows_only,
    };
    run(&state, &principal, bytes, file_name, options).await
}

async fn confirm(State(state): State<AppState>, caller: MaybePrincipal, body: Bytes) -> PageResult {
    let principal = who(caller)?;
    require_importer(&principal)?;
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let get = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(get("workbook").trim())
        .map_err(|_| AppError::BadRequest("确认表单中的文件已损坏，请重新上传".to_string()))?;
    let options = ImportOptions {
        dry_run: false,
        good_rows_only: get("good_rows_only") == "1",
    };
    run(&state, &principal, bytes, get("file_name"), options).await
}
