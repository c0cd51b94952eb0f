//! The gateway's API: a device's state and the quarantine list. Both are for the monitoring department and
//! administrators (`Resource::Device` with `Update`: exactly those two roles); errors are problem+json.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use kernel::page::{Page, PageQuery};
use kernel::web::{ApiJson, ApiPath, ApiQuery};
use kernel::{Action, AppError, AppResult, AppState, Principal, Resource};
use serde::Deserialize;

use crate::model::{DeviceState, QuarantineEntry, QuarantineReason};
use crate::repo::{self, QuarantineFilter};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/devices/{id}/state", get(device_state))
        .route("/api/v1/ingest/quarantine", get(quarantine))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(device_state, quarantine),
    components(schemas(DeviceState, QuarantineEntry, QuarantineReason, kernel::error::Problem)),
    tags((name = "ingest", description = "HJ 212 网关 Gateway: device state, quarantined packets"))
)]
pub struct ApiDoc;

fn require_operator(principal: &Principal) -> AppResult<()> {
    principal.require(Resource::Device, Action::Update)
}

/// What the gateway last saw of a device: online, last packet, clock drift, packets, resends and errors.
#[utoipa::path(get, path = "/api/v1/devices/{id}/state", tag = "ingest",
    params(("id" = i64, Path, description = "Device id")),
    responses((status = 200, body = DeviceState), (status = 403, body = kernel::error::Problem),
        (status = 404, body = kernel::error::Problem)))]
async fn device_state(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<DeviceState>> {
    require_operator(&principal)?;
    repo::device_state(&state.db, id)
        .await
        .map_err(anyhow::Error::from)?
        .map(ApiJson)
        .ok_or_else(|| AppError::not_found(format!("device {id} not found")))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuarantineQuery {
    /// `unknown_device`, `inactive_device`, `wrong_password`, `bad_crc` or `unreadable`.
    pub reason: Option<String>,
    pub mn: Option<String>,
    /// Only entries nobody has reviewed yet.
    #[serde(default)]
    pub unreviewed: bool,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

const REASONS: [QuarantineReason; 5] = [
    QuarantineReason::UnknownDevice,
    QuarantineReason::InactiveDevice,
    QuarantineReason::WrongPassword,
    QuarantineReason::BadCrc,
    QuarantineReason::Unreadable,
];

/// Packets kept out of the data (unknown or inactive device, wrong password, bad CRC, unreadable), newest
/// first, for review.
#[utoipa::path(get, path = "/api/v1/ingest/quarantine", tag = "ingest", params(QuarantineQuery),
    responses((status = 200, body = Page<QuarantineEntry>), (status = 403, body = kernel::error::Problem),
        (status = 422, body = kernel::error::Problem)))]
async fn quarantine(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<QuarantineQuery>,
) -> AppResult<ApiJson<Page<QuarantineEntry>>> {
    require_operator(&principal)?;
    if let Some(reason) = &query.reason
        && !REASONS.iter().any(|r| r.as_str() == reason)
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
        reason: query.reason,
        mn: query.mn,
        unreviewed: query.unreviewed,
    };
    let (items, total) = repo::quarantine(&state.db, &filter, page.limit(), page.offset())
        .await
        .map_err(anyhow::Error::from)?;
    Ok(ApiJson(Page::new(items, &page, total)))
}
