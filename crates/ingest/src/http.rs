//! The gateway's pages and API: device state, the quarantine and its review (register the device, or dismiss
//! with a reason), and the devices' HJ 212-2025 keys (fingerprints only). Everything but the device-state page
//! is for the monitoring department and administrators (`registry::DEVICE` with `Update`); the device-state
//! page is for whoever may read devices. Errors are problem+json on the API, short pages on the pages.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use kernel::page::{Page, PageQuery};
use kernel::time::{format_cst, now_ts};
use kernel::web::{ApiJson, ApiPath, ApiQuery, Chrome, PageResult, render};
use kernel::{Action, AppError, AppResult, AppState, Principal};
use serde::{Deserialize, Serialize};

use crate::devices;
use crate::model::{DeviceState, KeyInfo, MnAssignment, NewKey, QuarantineEntry, QuarantineReason};
use crate::repo::{self, QuarantineFilter};
use crate::service::{self, require_operator};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ingest/devices", get(devices_page))
        .route("/ingest/quarantine", get(quarantine_page))
        .route("/ingest/quarantine/{id}", get(entry_page))
        .route("/ingest/quarantine/{id}/register", post(register_submit))
        .route("/ingest/quarantine/{id}/dismiss", post(dismiss_submit))
        .route("/api/v1/ingest/devices", get(device_states))
        .route("/api/v1/devices/{id}/state", get(device_state))
        .route("/api/v1/devices/{id}/keys", get(keys).post(add_key))
        .route("/api/v1/ingest/quarantine", get(quarantine))
        .route("/api/v1/ingest/quarantine/{id}", get(quarantine_entry))
        .route("/api/v1/ingest/quarantine/{id}/dismiss", post(dismiss))
        .route("/api/v1/ingest/quarantine/{id}/register", post(register))
        .route("/api/v1/ingest/mn-assignments", get(mn_assignments))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(device_states, device_state, keys, add_key, quarantine, quarantine_entry, dismiss, register,
        mn_assignments),
    components(responses(kernel::error::ProblemResponse), schemas(DeviceState, QuarantineEntry, QuarantineReason, KeyInfo, NewKey, DismissBody,
        Registered, MnAssignment, kernel::error::Problem)),
    tags((name = "ingest", description = "HJ 212 网关 Gateway: device state, quarantined packets and their review, HJ 212-2025 keys"))
)]
pub struct ApiDoc;

// --- API ------------------------------------------------------------------------------------------------------

/// Every registered device with what the gateway last saw of it (for whoever may read devices).
#[utoipa::path(get, path = "/api/v1/ingest/devices", tag = "ingest",
    responses((status = 200, body = [DeviceState]), (status = 403, response = kernel::error::ProblemResponse)))]
async fn device_states(
    State(state): State<AppState>,
    principal: Principal,
) -> AppResult<ApiJson<Vec<DeviceState>>> {
    principal.require(registry::DEVICE, Action::Read)?;
    Ok(ApiJson(devices::states(&state.db).await?))
}

/// What the gateway last saw of a device: online, last packet, clock drift, packets, resends and errors.
#[utoipa::path(get, path = "/api/v1/devices/{id}/state", tag = "ingest",
    params(("id" = i64, Path, description = "Device id")),
    responses((status = 200, body = DeviceState), (status = 403, response = kernel::error::ProblemResponse),
        (status = 404, response = kernel::error::ProblemResponse)))]
async fn device_state(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<DeviceState>> {
    require_operator(&principal)?;
    devices::state(&state.db, id)
        .await?
        .map(ApiJson)
        .ok_or_else(|| AppError::not_found(format!("device {id} not found")))
}

/// A device's HJ 212-2025 SM4 keys with their history — fingerprints, never the keys.
#[utoipa::path(get, path = "/api/v1/devices/{id}/keys", tag = "ingest",
    params(("id" = i64, Path, description = "Device id")),
    responses((status = 200, body = [KeyInfo]), (status = 403, response = kernel::error::ProblemResponse),
        (status = 404, response = kernel::error::ProblemResponse)))]
async fn keys(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<Vec<KeyInfo>>> {
    Ok(ApiJson(
        service::list_keys(&state.db, &principal, id).await?,
    ))
}

/// Registers a key as the device's current one (the initial key, or a replacement agreed out of band); the
/// previous key is retired but still tried. Audited by fingerprint; the answer shows only the fingerprint.
#[utoipa::path(post, path = "/api/v1/devices/{id}/keys", tag = "ingest",
    params(("id" = i64, Path, description = "Device id")), request_body = NewKey,
    responses((status = 201, body = KeyInfo), (status = 403, response = kernel::error::ProblemResponse),
        (status = 404, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn add_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewKey>,
) -> AppResult<(StatusCode, ApiJson<KeyInfo>)> {
    let info = service::register_key(&state.db, &principal, id, &body, now_ts()).await?;
    Ok((StatusCode::CREATED, ApiJson(info)))
}

#[derive(Debug, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuarantineQuery {
    /// `unknown_device`, `inactive_device`, `wrong_password`, `bad_crc` or `unreadable`.
    #[param(value_type = Option<QuarantineReason>)]
    pub reason: Option<String>,
    pub mn: Option<String>,
    /// Only entries nobody has reviewed yet.
    #[serde(default)]
    pub unreviewed: bool,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

const REASONS: [(QuarantineReason, &str); 5] = [
    (QuarantineReason::UnknownDevice, "未登记设备"),
    (QuarantineReason::InactiveDevice, "设备已停用"),
    (QuarantineReason::WrongPassword, "密码错误"),
    (QuarantineReason::BadCrc, "CRC 错误或无法解密"),
    (QuarantineReason::Unreadable, "无法解析"),
];

fn reason_label(reason: &str) -> &'static str {
    REASONS
        .iter()
        .find(|(r, _)| r.as_str() == reason)
        .map_or("其他", |(_, label)| label)
}

async fn find_quarantine(
    state: &AppState,
    principal: &Principal,
    query: &QuarantineQuery,
) -> AppResult<Page<QuarantineEntry>> {
    require_operator(principal)?;
    let reason = query.reason.clone().filter(|r| !r.is_empty());
    if let Some(reason) = &reason
        && !REASONS.iter().any(|(r, _)| r.as_str() == reason)
    {
        return Err(AppError::validation(
            "reason",
            "one of unknown_device, inactive_device, wrong_password, bad_crc, unreadable",
        ));
    }
    let page = PageQuery {
        page: query.page,
        per_page: query.per_page,
    };
    let filter = QuarantineFilter {
        reason,
        mn: query.mn.clone().filter(|m| !m.is_empty()),
        unreviewed: query.unreviewed,
    };
    let (items, total) = repo::quarantine(&state.db, &filter, page.limit(), page.offset())
        .await
        .map_err(anyhow::Error::from)?;
    Ok(Page::new(items, &page, total))
}

/// Packets kept out of the data (unknown or inactive device, wrong password, bad CRC or no key to open them,
/// unreadable), newest first, for review.
#[utoipa::path(get, path = "/api/v1/ingest/quarantine", tag = "ingest", params(QuarantineQuery),
    responses((status = 200, body = Page<QuarantineEntry>), (status = 403, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn quarantine(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<QuarantineQuery>,
) -> AppResult<ApiJson<Page<QuarantineEntry>>> {
    Ok(ApiJson(find_quarantine(&state, &principal, &query).await?))
}

/// One quarantined packet with its review.
#[utoipa::path(get, path = "/api/v1/ingest/quarantine/{id}", tag = "ingest",
    params(("id" = i64, Path)),
    responses((status = 200, body = QuarantineEntry), (status = 403, response = kernel::error::ProblemResponse),
        (status = 404, response = kernel::error::ProblemResponse)))]
async fn quarantine_entry(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<QuarantineEntry>> {
    Ok(ApiJson(
        service::quarantine_entry(&state.db, &principal, id).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DismissBody {
    /// Why the packet is not taken further (required).
    pub reason: String,
}

/// Dismisses a quarantined packet with a reason; audited. An entry already reviewed is a 409.
#[utoipa::path(post, path = "/api/v1/ingest/quarantine/{id}/dismiss", tag = "ingest",
    params(("id" = i64, Path)), request_body = DismissBody,
    responses((status = 200, body = QuarantineEntry), (status = 403, response = kernel::error::ProblemResponse),
        (status = 404, response = kernel::error::ProblemResponse), (status = 409, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn dismiss(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<DismissBody>,
) -> AppResult<ApiJson<QuarantineEntry>> {
    Ok(ApiJson(
        service::dismiss(&state.db, &principal, id, &body.reason, now_ts()).await?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Registered {
    pub entry: QuarantineEntry,
    pub device: registry::model::Device,
}

/// Registers the device a quarantined packet came from (through the registry: its checks and audit; an empty
/// `mn` takes the entry's) and marks the entry reviewed.
#[utoipa::path(post, path = "/api/v1/ingest/quarantine/{id}/register", tag = "ingest",
    params(("id" = i64, Path)), request_body = registry::model::DeviceInput,
    responses((status = 201, body = Registered), (status = 403, response = kernel::error::ProblemResponse),
        (status = 404, response = kernel::error::ProblemResponse), (status = 409, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn register(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<registry::model::DeviceInput>,
) -> AppResult<(StatusCode, ApiJson<Registered>)> {
    let (entry, device) = service::register_from(&state.db, &principal, id, body, now_ts()).await?;
    Ok((StatusCode::CREATED, ApiJson(Registered { entry, device })))
}

/// MNs assigned to HJ 212-2025 data loggers (1001/1002 onboarding), current ones first, newest first (up to 200).
#[utoipa::path(get, path = "/api/v1/ingest/mn-assignments", tag = "ingest",
    responses((status = 200, body = [MnAssignment]), (status = 403, response = kernel::error::ProblemResponse)))]
async fn mn_assignments(
    State(state): State<AppState>,
    principal: Principal,
) -> AppResult<ApiJson<Vec<MnAssignment>>> {
    principal.require(registry::DEVICE, Action::Read)?;
    Ok(ApiJson(
        devices::assignments(&state.db, ASSIGNMENTS_SHOWN).await?,
    ))
}

// --- pages ----------------------------------------------------------------------------------------------------

fn time_or_dash(ts: Option<i64>) -> String {
    ts.map(format_cst).unwrap_or_else(|| "—".to_string())
}

struct DeviceRow {
    s: DeviceState,
    last_packet: String,
    drift: String,
}

#[derive(Template)]
#[template(path = "ingest_devices.html")]
struct DevicesPage {
    chrome: Chrome,
    rows: Vec<DeviceRow>,
    online: usize,
    can_review: bool,
    assignments: Vec<AssignmentRow>,
}

struct AssignmentRow {
    a: MnAssignment,
    assigned: String,
    sent: String,
    confirmed: String,
}

/// Assignments listed on the devices page.
const ASSIGNMENTS_SHOWN: i64 = 200;

fn assignment_status(a: &MnAssignment) -> String {
    match (a.sent_at, a.confirmed_at) {
        (_, Some(confirmed)) => format!("MN {} 已由数采仪确认（{}）", a.mn, format_cst(confirmed)),
        (Some(sent), None) => format!(
            "MN {} 已以 1002 下发 {} 次，最近 {}，待数采仪以新 MN 上报",
            a.mn,
            a.sent_count,
            format_cst(sent)
        ),
        (None, None) => format!("MN {} 待下发：数采仪下次在线时以 1002 下发", a.mn),
    }
}

async fn devices_page(State(state): State<AppState>, principal: Principal) -> PageResult {
    principal.require(registry::DEVICE, Action::Read)?;
    let states = devices::states(&state.db).await?;
    let rows: Vec<DeviceRow> = states
        .into_iter()
        .map(|s| DeviceRow {
            last_packet: time_or_dash(s.last_packet_at),
            drift: s
                .clock_drift_seconds
                .map_or_else(|| "—".to_string(), |d| format!("{d:+}")),
            s,
        })
        .collect();
    let page = DevicesPage {
        chrome: Chrome::new(&state, &principal, "/ingest/devices"),
        online: rows.iter().filter(|r| r.s.online).count(),
        rows,
        can_review: principal.can(registry::DEVICE, Action::Update),
        assignments: devices::assignments(&state.db, ASSIGNMENTS_SHOWN)
            .await?
            .into_iter()
            .map(|a| AssignmentRow {
                assigned: format_cst(a.assigned_at),
                sent: a.sent_at.map_or_else(
                    || "待下发".to_string(),
                    |t| format!("{}（{} 次）", format_cst(t), a.sent_count),
                ),
                confirmed: time_or_dash(a.confirmed_at),
                a,
            })
            .collect(),
    };
    render(&page)
}

struct EntryRow {
    e: QuarantineEntry,
    received: String,
    reason: &'static str,
    outcome: &'static str,
}

fn entry_row(e: QuarantineEntry) -> EntryRow {
    EntryRow {
        received: format_cst(e.received_at),
        reason: reason_label(&e.reason),
        outcome: match e.review_outcome.as_deref() {
            Some("registered") => "已登记设备",
            Some("dismissed") => "不予登记",
            _ if e.reviewed_at.is_some() => "已审核",
            _ => "待审核",
        },
        e,
    }
}

#[derive(Template)]
#[template(path = "ingest_quarantine.html")]
struct QuarantinePage {
    chrome: Chrome,
    rows: Vec<EntryRow>,
    reasons: Vec<(&'static str, &'static str)>,
    filter: QuarantineQuery,
    pager_base: String,
    page: u32,
    pages: u32,
    total: i64,
}

async fn quarantine_page(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<QuarantineQuery>,
) -> PageResult {
    let found = find_quarantine(&state, &principal, &query).await?;
    let base = serde_urlencoded::to_string(QuarantineQuery {
        page: None,
        reason: query.reason.clone(),
        mn: query.mn.clone(),
        unreviewed: query.unreviewed,
        per_page: query.per_page,
    })
    .unwrap_or_default();
    let page = QuarantinePage {
        chrome: Chrome::new(&state, &principal, "/ingest/devices"),
        pager_base: format!("/ingest/quarantine?{base}&"),
        page: found.page,
        pages: found.pages().max(1),
        total: found.total,
        rows: found.items.into_iter().map(entry_row).collect(),
        reasons: REASONS.iter().map(|(r, l)| (r.as_str(), *l)).collect(),
        filter: query,
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "ingest_entry.html")]
struct EntryPage {
    chrome: Chrome,
    r: EntryRow,
    reviewed: String,
    /// What the packet says of itself, to prefill the registration.
    mn: String,
    password: String,
    protocol: &'static str,
    decoded: Vec<(&'static str, String)>,
    points: Vec<(i64, String)>,
    error: Option<String>,
    /// The entry is a 1001 of a logger without a device.
    logger: bool,
    /// Where the 1002 of a device registered from a 1001 stands.
    onboarding: Option<String>,
}

async fn entry_page_with(
    state: &AppState,
    principal: &Principal,
    id: i64,
    error: Option<String>,
) -> PageResult {
    let entry = service::quarantine_entry(&state.db, principal, id).await?;
    let mut decoded = Vec::new();
    let (mut password, mut protocol) = (String::new(), "2017");
    if let Some(frame) = service::frame_of_entry(&entry) {
        decoded.push(("CRC", frame.crc_verdict().label().to_string()));
        if let Ok(packet) = hj212::Packet::parse(frame.segment()) {
            password = packet.pw.unwrap_or("").to_string();
            protocol = match packet.version() {
                hj212::ProtocolVersion::Hj2005 => "2005",
                hj212::ProtocolVersion::Hj2025 => "2025",
                _ => "2017",
            };
            decoded.push(("ST", packet.st.unwrap_or("—").to_string()));
            decoded.push(("CN", packet.cn.to_string()));
            decoded.push(("QN", packet.qn.unwrap_or("—").to_string()));
            decoded.push(("协议版本", protocol.to_string()));
            if let Some(t) = packet.data_time() {
                decoded.push(("DataTime", format_cst(t.timestamp())));
            }
            // Every CP item as sent (values, flags, and the hardware IDs of a 2025 1001).
            let values: Vec<String> = packet
                .cp
                .items
                .iter()
                .filter(|item| item.name != "DataTime")
                .map(|item| format!("{}={}", item.name, item.value))
                .take(60)
                .collect();
            if !values.is_empty() {
                decoded.push(("数据", values.join("；")));
            }
        }
    }
    // A device's bytes may hold NUL and other control characters: shown escaped, as the packet is.
    for (_, value) in &mut decoded {
        *value = crate::model::escaped_bytes(value.as_bytes());
    }
    let points = if entry.reviewed_at.is_none() {
        registry::service::list_points(
            &state.db,
            principal,
            &registry::model::PointFilter::default(),
            &PageQuery {
                page: Some(1),
                per_page: Some(kernel::page::MAX_PER_PAGE),
            },
        )
        .await?
        .items
        .into_iter()
        .map(|p| (p.id, format!("{}（{}）", p.name, p.code)))
        .collect()
    } else {
        Vec::new()
    };
    let logger = service::logger_of_entry(&entry);
    let onboarding = if logger.is_some() {
        devices::assignment_for_quarantine(&state.db, entry.id)
            .await?
            .map(|a| assignment_status(&a))
    } else {
        None
    };
    let mn = match (&logger, entry.mn.as_deref()) {
        (Some(logger), None | Some("")) => service::proposed_mn(logger),
        (_, mn) => mn.unwrap_or_default().to_string(),
    };
    let page = EntryPage {
        chrome: Chrome::new(state, principal, "/ingest/devices"),
        reviewed: time_or_dash(entry.reviewed_at),
        mn,
        logger: logger.is_some(),
        onboarding,
        password,
        protocol,
        decoded,
        points,
        r: entry_row(entry),
        error: error.clone(),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, render(&page)?).into_response())
}

async fn entry_page(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> PageResult {
    entry_page_with(&state, &principal, id, None).await
}

#[derive(Debug, Deserialize)]
struct RegisterForm {
    mn: String,
    password: String,
    protocol: String,
    crc_mode: String,
    point_id: String,
    #[serde(default)]
    model: String,
}

async fn register_submit(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    axum::Form(form): axum::Form<RegisterForm>,
) -> PageResult {
    let input = (|| -> AppResult<registry::model::DeviceInput> {
        Ok(registry::model::DeviceInput {
            mn: form.mn.trim().to_string(),
            password: Some(form.password.clone()),
            protocol: registry::model::Protocol::parse_field("protocol", &form.protocol)?,
            crc_mode: Some(registry::model::CrcMode::parse_field(
                "crc_mode",
                &form.crc_mode,
            )?),
            point_id: form
                .point_id
                .trim()
                .parse()
                .map_err(|_| AppError::validation("point_id", "choose a monitoring point"))?,
            model: form.model.trim().to_string(),
            active: Some(true),
            version: None,
        })
    })();
    let result = match input {
        Ok(input) => service::register_from(&state.db, &principal, id, input, now_ts())
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    review_outcome(&state, &principal, id, result).await
}

#[derive(Debug, Deserialize)]
struct DismissForm {
    reason: String,
}

async fn dismiss_submit(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    axum::Form(form): axum::Form<DismissForm>,
) -> PageResult {
    let result = service::dismiss(&state.db, &principal, id, &form.reason, now_ts())
        .await
        .map(|_| ());
    review_outcome(&state, &principal, id, result).await
}

async fn review_outcome(
    state: &AppState,
    principal: &Principal,
    id: i64,
    result: AppResult<()>,
) -> PageResult {
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/ingest/quarantine/{id}")).into_response()),
        Err(AppError::Validation { field, message }) => {
            entry_page_with(state, principal, id, Some(format!("{field}: {message}"))).await
        }
        Err(AppError::Conflict(message)) => {
            entry_page_with(state, principal, id, Some(message)).await
        }
        Err(other) => Err(other.into()),
    }
}
