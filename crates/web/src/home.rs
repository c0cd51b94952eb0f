//! The registry overview (台账概况, `/overview`): what the district registry holds, street by street. The
//! leader's dashboard at `/` is `dashboard.rs`.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use kernel::web::{Chrome, PageResult, render};
use kernel::{AppResult, AppState, Db, Principal};
use sqlx::Row;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/overview", get(overview))
        .route("/healthz", get(healthz))
}

async fn healthz(State(state): State<AppState>) -> AppResult<&'static str> {
    sqlx::query("SELECT 1").execute(state.db.pool()).await?;
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

/// Counts, restricted to one street for a street officer. The only SQL of this crate.
async fn counts(db: &Db, principal: &Principal) -> AppResult<(String, Vec<StreetRow>, i64)> {
    let district: Option<String> =
        sqlx::query_scalar("SELECT name FROM district ORDER BY code LIMIT 1")
            .fetch_optional(db.pool())
            .await?;
    let scope = principal.street_scope();
    let sees_enterprises = principal.can(registry::ENTERPRISE, kernel::Action::Read);
    let rows = sqlx::query(
        "SELECT s.id, s.name, \
           (SELECT CAST(COUNT(*) AS BIGINT) FROM enterprises e WHERE e.street_id = s.id) AS enterprises, \
           (SELECT CAST(COUNT(*) AS BIGINT) FROM enterprises e WHERE e.street_id = s.id AND e.key_discharger = 1) AS key_dischargers, \
           (SELECT CAST(COUNT(*) AS BIGINT) FROM monitoring_points p WHERE p.street_id = s.id AND p.kind = 'air_station') AS air_stations, \
           (SELECT CAST(COUNT(*) AS BIGINT) FROM monitoring_points p WHERE p.street_id = s.id AND p.kind = 'water_section') AS water_sections \
         FROM streets s ORDER BY s.id",
    )
    .fetch_all(db.pool())
    .await?;
    let mut streets = Vec::new();
    for row in rows {
        let id: i64 = row.try_get("id")?;
        if scope.is_some_and(|own| own != id) {
            continue;
        }
        let hide = |n: i64| if sees_enterprises { n } else { 0 };
        streets.push(StreetRow {
            name: row.try_get("name")?,
            enterprises: hide(row.try_get("enterprises")?),
            key_dischargers: hide(row.try_get("key_dischargers")?),
            air_stations: row.try_get("air_stations")?,
            water_sections: row.try_get("water_sections")?,
        });
    }
    let devices: i64 = if principal.can(registry::DEVICE, kernel::Action::Read) && scope.is_none() {
        sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM devices")
            .fetch_one(db.pool())
            .await?
    } else {
        0
    };
    Ok((
        district.unwrap_or_else(|| "（未配置区县）".to_string()),
        streets,
        devices,
    ))
}

async fn overview(State(state): State<AppState>, principal: Principal) -> PageResult {
    let (district, streets, devices) = counts(&state.db, &principal).await?;
    let outlets: i64 = if principal.can(registry::ENTERPRISE, kernel::Action::Read)
        && principal.street_scope().is_none()
    {
        sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM outlets")
            .fetch_one(state.db.pool())
            .await
            .map_err(kernel::AppError::from)?
    } else {
        0
    };
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
