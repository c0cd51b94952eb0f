//! The page `/analysis` and the JSON API under `/api/v1/analysis/…` (thin: the service does the work).

use askama::Template;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use kernel::cache::FlightCache;
use kernel::web::{ApiQuery, Chrome, JsonBody, PageResult, parse_query, render};
use kernel::{AppResult, AppState, Principal};
use readings::service::ViewStamp;

use crate::calendar::{Calendar, CalendarDay};
use crate::compare::{BeforeAfter, Pair, Window};
use crate::model::*;
use crate::service;
use crate::stats::{Difference, Summary};
use crate::trend::{MannKendall, MonthMean, SenSlope, Trend, TrendVerdict};
use crate::variation::{Group, Variation};
use crate::wind::{Polar, PolarCell, PolarPeak, Rose, RoseSector};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/analysis", get(page))
        .route("/api/v1/analysis/factors", get(api_factors))
        .route("/api/v1/analysis/rose", get(api_rose))
        .route("/api/v1/analysis/polar", get(api_polar))
        .route("/api/v1/analysis/variation", get(api_variation))
        .route("/api/v1/analysis/calendar", get(api_calendar))
        .route("/api/v1/analysis/trend", get(api_trend))
        .route("/api/v1/analysis/before-after", get(api_before_after))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api_factors, api_rose, api_polar, api_variation, api_calendar, api_trend, api_before_after),
    components(responses(kernel::error::ProblemResponse), schemas(PointRef, FactorRef, RoseResult, Rose, RoseSector, PolarResult, Polar, PolarCell, PolarPeak,
        Variation, Group, Calendar, CalendarDay, air::service::DayCounts, Trend, TrendVerdict, MonthMean, SenSlope, MannKendall, BeforeAfter, Pair, Window,
        Summary, Difference, kernel::error::Problem)),
    tags((name = "analysis", description = "数据分析 Analyses: pollution rose, polar plot, time variation, AQI calendar, trend, before/after"))
)]
pub struct ApiDoc;

/// Which point's factors.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct FactorsQuery {
    /// Monitoring point id; default as for the analyses.
    point: Option<i64>,
}

/// The factors that can be analysed at a point: those it has data for, or else those its kind is catalogued
/// with (a water section's GB 3838 items, an outlet's flue-gas and wastewater factors) — what the page's
/// factor list offers when a point is chosen.
#[utoipa::path(get, path = "/api/v1/analysis/factors", tag = "analysis", params(FactorsQuery),
    responses((status = 200, body = Vec<FactorRef>), (status = 404, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_factors(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<FactorsQuery>,
    RawQuery(raw): RawQuery,
) -> AppResult<JsonBody> {
    answer(&state, &principal, "factors", raw, || {
        service::point_factors(&state.db, &principal, q.point)
    })
    .await
}

/// The answers of the API, kept per view stamp (readings, audited changes, minute, role and street), endpoint
/// and query string: an analysis reads months of a point's hours and takes tens to hundreds of milliseconds, and
/// the charts of a page are asked for by everyone who opens it (issue 15). A malformed query never gets here
/// (`ApiQuery` answers it with a 422), and a failed computation is not kept.
static ANSWERS: FlightCache<(ViewStamp, &'static str, String), JsonBody> =
    FlightCache::new(std::time::Duration::from_secs(60), 64);

async fn answer<T, F, Fut>(
    state: &AppState,
    principal: &Principal,
    endpoint: &'static str,
    query: Option<String>,
    compute: F,
) -> AppResult<JsonBody>
where
    T: serde::Serialize,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = AppResult<T>>,
{
    let key = (
        readings::service::view_stamp(&state.db, principal, kernel::time::now_ts()).await?,
        endpoint,
        query.unwrap_or_default(),
    );
    let body = ANSWERS
        .get_or_try_compute(key, || async { JsonBody::of(&compute().await?) })
        .await?;
    Ok(body.as_ref().clone())
}

/// Pollution rose: the share of the total concentration brought by each wind-direction sector.
#[utoipa::path(get, path = "/api/v1/analysis/rose", tag = "analysis", params(AnalysisQuery),
    responses((status = 200, body = Analysis<RoseResult>), (status = 404, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_rose(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<AnalysisQuery>,
    RawQuery(raw): RawQuery,
) -> AppResult<JsonBody> {
    answer(&state, &principal, "rose", raw, || {
        service::rose(&state.db, &principal, &q)
    })
    .await
}

/// Bivariate polar plot: mean concentration by wind direction × wind speed, binned and kernel-smoothed.
#[utoipa::path(get, path = "/api/v1/analysis/polar", tag = "analysis", params(AnalysisQuery),
    responses((status = 200, body = Analysis<PolarResult>), (status = 404, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_polar(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<AnalysisQuery>,
    RawQuery(raw): RawQuery,
) -> AppResult<JsonBody> {
    answer(&state, &principal, "polar", raw, || {
        service::polar(&state.db, &principal, &q)
    })
    .await
}

/// Time variation: mean and 95 % interval by hour, weekday, month and hour × weekday (CST).
#[utoipa::path(get, path = "/api/v1/analysis/variation", tag = "analysis", params(AnalysisQuery),
    responses((status = 200, body = Analysis<Variation>), (status = 404, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_variation(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<AnalysisQuery>,
    RawQuery(raw): RawQuery,
) -> AppResult<JsonBody> {
    answer(&state, &principal, "variation", raw, || {
        service::variation(&state.db, &principal, &q)
    })
    .await
}

/// Calendar of the daily AQI of a year (HJ 633 edition in force each day), with the factor's daily means.
#[utoipa::path(get, path = "/api/v1/analysis/calendar", tag = "analysis", params(AnalysisQuery),
    responses((status = 200, body = Analysis<Calendar>), (status = 404, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_calendar(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<AnalysisQuery>,
    RawQuery(raw): RawQuery,
) -> AppResult<JsonBody> {
    answer(&state, &principal, "calendar", raw, || {
        service::calendar(&state.db, &principal, &q)
    })
    .await
}

/// Theil–Sen trend of monthly means (optionally deseasonalised) with its interval and the Mann–Kendall test.
#[utoipa::path(get, path = "/api/v1/analysis/trend", tag = "analysis", params(AnalysisQuery),
    responses((status = 200, body = Analysis<Trend>), (status = 404, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_trend(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<AnalysisQuery>,
    RawQuery(raw): RawQuery,
) -> AppResult<JsonBody> {
    answer(&state, &principal, "trend", raw, || {
        service::trend(&state.db, &principal, &q)
    })
    .await
}

/// Before/after comparison of daily means around `date`, with last year's same windows as the control.
#[utoipa::path(get, path = "/api/v1/analysis/before-after", tag = "analysis", params(AnalysisQuery),
    responses((status = 200, body = Analysis<BeforeAfter>), (status = 404, response = kernel::error::ProblemResponse),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_before_after(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<AnalysisQuery>,
    RawQuery(raw): RawQuery,
) -> AppResult<JsonBody> {
    answer(&state, &principal, "before_after", raw, || {
        service::before_after(&state.db, &principal, &q)
    })
    .await
}

#[derive(Template)]
#[template(path = "analysis.html")]
struct AnalysisPage {
    chrome: Chrome,
    selection: Selection,
    /// (kind label, points of that kind).
    groups: Vec<(&'static str, Vec<PointChoice>)>,
    factors: Vec<FactorRef>,
    /// The query of the chosen point, factor and period, for the charts' API calls.
    base_query: String,
    year: i32,
    date: String,
    days: u32,
    questions: [&'static str; 6],
}

async fn page(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
) -> PageResult {
    let q: AnalysisQuery = parse_query(raw.as_deref().unwrap_or(""))?;
    let mut selection = service::select(&state.db, &principal, &q).await?;
    // The factor list is the chosen point's own; a factor it does not have (the air default at a water
    // section, say) gives way to its first.
    let factors = service::point_factors(&state.db, &principal, Some(selection.point.id)).await?;
    if !factors.iter().any(|f| f.code == selection.factor.code)
        && let Some(first) = factors.first()
    {
        selection.factor = first.clone();
    }
    let mut groups: Vec<(&'static str, Vec<PointChoice>)> = Vec::new();
    for p in service::visible_points(&state.db, &principal).await? {
        let choice = PointChoice {
            id: p.id,
            label: format!("{} {}", p.code, p.name),
            kind_label: kind_label(p.kind),
        };
        match groups.iter_mut().find(|(k, _)| *k == choice.kind_label) {
            Some((_, list)) => list.push(choice),
            None => groups.push((choice.kind_label, vec![choice])),
        }
    }
    let base_query = serde_urlencoded::to_string([
        ("point", selection.point.id.to_string()),
        ("factor", selection.factor.code.clone()),
        ("from", selection.from.to_string()),
        ("to", selection.to.to_string()),
    ])
    .map_err(|e| kernel::AppError::Internal(e.into()))?;
    let days = q.days.unwrap_or(90).clamp(7, 365);
    let date = q
        .date
        .clone()
        .filter(|d| kernel::time::parse_date(d).is_some())
        .unwrap_or_else(|| {
            let half = (selection.to - selection.from).num_days() / 2;
            (selection.from + chrono::Duration::days(half)).to_string()
        });
    let page = AnalysisPage {
        chrome: Chrome::new(&state, &principal, "/analysis"),
        year: q.year.unwrap_or(chrono::Datelike::year(&selection.to)),
        selection,
        groups,
        factors,
        base_query,
        date,
        days,
        questions: [
            service::QUESTION_ROSE,
            service::QUESTION_POLAR,
            service::QUESTION_VARIATION,
            service::QUESTION_CALENDAR,
            service::QUESTION_TREND,
            service::QUESTION_BEFORE_AFTER,
        ],
    };
    render(&page)
}
