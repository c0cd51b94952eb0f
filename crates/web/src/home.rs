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
        .route("/healthz", get(healthz))
}

async fn healthz(State(state): State<AppState>) -> AppResult<&'static str> {
    state.db.ping().await?;
    Ok("ok")
}

struct StreetRow {
    name: String,
    enterprises: i64,
    key_dischargers: i64,
    air_stations: i64,
    water_sections: i64,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    chrome: Chrome,
    district: String,
    enterprises: i64,
    key_dischargers: i64,
    air_stations: i64,
    water_sections: i64,
    outlets: i64,
    devices: i64,
    streets: Vec<StreetRow>,
    scoped: bool,
}

/// The registry's counts, restricted to one street for a street officer.
async fn counts(db: &Db, principal: &Principal) -> AppResult<(String, Vec<StreetRow>, i64, i64)> {
    let district = registry::service::the_district(db).await?.map(|d| d.name);
    let scope = principal.street_scope();
    let sees_enterprises = principal.can(registry::ENTERPRISE, kernel::Action::Read);
    let hide = |n: i64| if sees_enterprises { n } else { 0 };
    let streets = registry::service::street_counts(db)
        .await?
        .into_iter()
        .filter(|s| scope.is_none_or(|own| own == s.street_id))
        .map(|s| StreetRow {
            name: s.name,
            enterprises: hide(s.enterprises),
            key_dischargers: hide(s.key_dischargers),
            air_stations: s.air_stations,
            water_sections: s.water_sections,
        })
        .collect();
    let totals = registry::service::counts(db).await?;
    let devices = if principal.can(registry::DEVICE, kernel::Action::Read) && scope.is_none() {
        totals.devices
    } else {
        0
    };
    let outlets = if sees_enterprises && scope.is_none() {
        totals.outlets
    } else {
        0
    };
    Ok((
        district.unwrap_or_else(|| "（未配置区县）".to_string()),
        streets,
        devices,
        outlets,
    ))
}

async fn overview(State(state): State<AppState>, principal: Principal) -> PageResult {
    let (district, streets, devices, outlets) = counts(&state.db, &principal).await?;
    let sum = |f: fn(&StreetRow) -> i64| streets.iter().map(f).sum::<i64>();
    let page = OverviewPage {
        chrome: Chrome::new(&state, &principal, "/overview"),
        district,
        enterprises: sum(|s| s.enterprises),
        key_dischargers: sum(|s| s.key_dischargers),
        air_stations: sum(|s| s.air_stations),
        water_sections: sum(|s| s.water_sections),
        outlets,
        devices,
        scoped: principal.street_scope().is_some(),
        streets,
    };
    render(&page)
}
