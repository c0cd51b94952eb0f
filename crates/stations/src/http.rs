//! Pages `/stations`, `/stations/{id}` and the JSON API `/api/v1/stations…` (thin: the service does the work).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::Datelike;
use kernel::web::{ApiJson, ApiPath, ApiQuery, Chrome, PageResult, render};
use kernel::{AppError, AppResult, AppState, Principal};
use serde::{Deserialize, Serialize};

use crate::model::*;
use crate::service;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/stations", get(list_page))
        .route("/stations/{id}", get(place_page))
        .route("/api/v1/stations", get(api_list))
        .route("/api/v1/stations/{id}", get(api_place))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api_list, api_place),
    components(schemas(PlaceRow, AirStationView, SectionView, CalendarDay, PollutantExceedance, MonthCoverage,
        Series, SectionMonth, KeyItem, PlaceView, kernel::error::Problem)),
    tags((name = "stations", description = "站点断面 Air stations and water sections: calendars, exceedances, coverage, monthly classes"))
)]
pub struct ApiDoc;

/// `?year=` (default: this year, CST).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct YearQuery {
    pub year: Option<i32>,
}

fn year_or_now(query: &YearQuery) -> i32 {
    query
        .year
        .unwrap_or_else(|| kernel::time::cst_day(kernel::time::now_ts()).year())
}

/// An air station's or a water section's view.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlaceView {
    AirStation(AirStationView),
    WaterSection(SectionView),
}

async fn view(state: &AppState, principal: &Principal, id: i64, year: i32) -> AppResult<PlaceView> {
    let now = kernel::time::now_ts();
    let place = service::place(&state.db, principal, id).await?;
    Ok(if place.kind == "air_station" {
        PlaceView::AirStation(service::air_station(&state.db, principal, id, year, now).await?)
    } else {
        PlaceView::WaterSection(service::water_section(&state.db, principal, id, year, now).await?)
    })
}

/// The stations and sections the caller may see.
#[utoipa::path(get, path = "/api/v1/stations", tag = "stations",
    responses((status = 200, body = Vec<PlaceRow>), (status = 403, body = kernel::error::Problem)))]
async fn api_list(
    State(state): State<AppState>,
    principal: Principal,
) -> AppResult<ApiJson<Vec<PlaceRow>>> {
    Ok(ApiJson(service::list(&state.db, &principal).await?))
}

/// One station's or section's figures for a year.
#[utoipa::path(get, path = "/api/v1/stations/{id}", tag = "stations", params(("id" = i64, Path), YearQuery),
    responses((status = 200, body = PlaceView), (status = 404, body = kernel::error::Problem),
              (status = 422, body = kernel::error::Problem)))]
async fn api_place(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<YearQuery>,
) -> AppResult<ApiJson<PlaceView>> {
    Ok(ApiJson(
        view(&state, &principal, id, year_or_now(&query)).await?,
    ))
}

#[derive(Template)]
#[template(path = "stations_list.html")]
struct ListPage {
    chrome: Chrome,
    stations: Vec<PlaceRow>,
    sections: Vec<PlaceRow>,
}

async fn list_page(State(state): State<AppState>, principal: Principal) -> PageResult {
    let rows = service::list(&state.db, &principal).await?;
    let (stations, sections) = rows.into_iter().partition(|r| r.kind == "air_station");
    render(&ListPage {
        chrome: Chrome::new(&principal, "/stations", state.config.demo),
        stations,
        sections,
    })
}

#[derive(Template)]
#[template(path = "stations_air.html")]
struct AirPage {
    chrome: Chrome,
    v: AirStationView,
    data_json: String,
    years: Vec<i32>,
}

#[derive(Template)]
#[template(path = "stations_section.html")]
struct SectionPage {
    chrome: Chrome,
    v: SectionView,
    data_json: String,
    years: Vec<i32>,
}

fn embed<T: Serialize>(value: &T) -> Result<String, AppError> {
    // `</` cannot close the script element the JSON is embedded in.
    Ok(serde_json::to_string(value)
        .map_err(|e| AppError::Internal(e.into()))?
        .replace("</", "<\\/"))
}

async fn place_page(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<YearQuery>,
) -> PageResult {
    let year = year_or_now(&query);
    let this_year = kernel::time::cst_day(kernel::time::now_ts()).year();
    let years: Vec<i32> = (2024.min(year)..=this_year).rev().collect();
    let chrome = Chrome::new(&principal, "/stations", state.config.demo);
    match view(&state, &principal, id, year).await? {
        PlaceView::AirStation(v) => render(&AirPage {
            chrome,
            data_json: embed(&v)?,
            v,
            years,
        }),
        PlaceView::WaterSection(v) => render(&SectionPage {
            chrome,
            data_json: embed(&v)?,
            v,
            years,
        }),
    }
    .map(IntoResponse::into_response)
}
