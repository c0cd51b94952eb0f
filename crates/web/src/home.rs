//! The registry overview (台账概况, `/overview`): what the district registry holds, street by street. The
//! leader's dashboard at `/` is `dashboard.rs`.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use kernel::web::{Chrome, PageResult, render};
use kernel::{AppResult, AppState, Db, Principal};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/overview", get(overview))
        .route("/methods", get(methods))
        .route("/healthz", get(healthz))
}

async fn healthz(State(state): State<AppState>) -> AppResult<&'static str> {
    state.db.ping().await?;
    Ok("ok")
}

/// One street's line; a count the caller's role may not read is `None` and not shown (never shown as 0).
struct StreetRow {
    name: String,
    enterprises: Option<i64>,
    key_dischargers: Option<i64>,
    air_stations: i64,
    water_sections: i64,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    chrome: Chrome,
    district: String,
    /// `None`: the role may not read enterprises (the public), so neither tile nor column is shown.
    enterprises: Option<i64>,
    key_dischargers: Option<i64>,
    air_stations: i64,
    water_sections: i64,
    /// `None` for roles that may not read them, and for a street officer (the registry counts them for the
    /// whole district only).
    outlets: Option<i64>,
    devices: Option<i64>,
    streets: Vec<StreetRow>,
    scoped: bool,
}

/// The registry's counts, restricted to one street for a street officer, each only where the caller's role
/// may read the resource counted (`kernel::auth::role_allows` through `Principal::can`).
async fn counts(db: &Db, principal: &Principal, chrome: Chrome) -> AppResult<OverviewPage> {
    let district = registry::service::the_district(db).await?.map(|d| d.name);
    let scope = principal.street_scope();
    let sees_enterprises = principal.can(registry::ENTERPRISE, kernel::Action::Read);
    let shown = |n: i64| sees_enterprises.then_some(n);
    let streets: Vec<StreetRow> = registry::service::street_counts(db)
        .await?
        .into_iter()
        .filter(|s| scope.is_none_or(|own| own == s.street_id))
        .map(|s| StreetRow {
            name: s.name,
            enterprises: shown(s.enterprises),
            key_dischargers: shown(s.key_dischargers),
            air_stations: s.air_stations,
            water_sections: s.water_sections,
        })
        .collect();
    let totals = registry::service::counts(db).await?;
    let district_wide = scope.is_none();
    let devices = (principal.can(registry::DEVICE, kernel::Action::Read) && district_wide)
        .then_some(totals.devices);
    let outlets = (sees_enterprises && district_wide).then_some(totals.outlets);
    let sum = |f: fn(&StreetRow) -> Option<i64>| -> Option<i64> { streets.iter().map(f).sum() };
    Ok(OverviewPage {
        chrome,
        district: district.unwrap_or_else(|| "（未配置区县）".to_string()),
        enterprises: sum(|s| s.enterprises),
        key_dischargers: sum(|s| s.key_dischargers),
        air_stations: streets.iter().map(|s| s.air_stations).sum(),
        water_sections: streets.iter().map(|s| s.water_sections).sum(),
        outlets,
        devices,
        scoped: !district_wide,
        streets,
    })
}

async fn overview(State(state): State<AppState>, principal: Principal) -> PageResult {
    let chrome = Chrome::new(&state, &principal, "/overview");
    render(&counts(&state.db, &principal, chrome).await?)
}

/// 方法说明: the sources, standards and uncertainty of the figures, in plain Chinese for a bureau leader; the
/// pages link to its sections instead of naming developer documents.
#[derive(Template)]
#[template(path = "methods.html")]
struct MethodsPage {
    chrome: Chrome,
    demo: bool,
}

async fn methods(State(state): State<AppState>, principal: Principal) -> PageResult {
    render(&MethodsPage {
        chrome: Chrome::new(&state, &principal, "/methods"),
        demo: state.config.demo,
    })
}
