//! Pages under `/rankings` and the JSON API under `/api/v1/rankings`.

use askama::Template;
use axum::Router;
use axum::extract::State as AxState;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use kernel::time::{cst_day, now_ts};
use kernel::web::{ApiJson, ApiQuery, Chrome, PageResult, render};
use kernel::{Action, AppError, AppResult, AppState, Principal};
use serde::Deserialize;

use crate::model::*;
use crate::service;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/rankings", get(rankings_page))
        .route("/rankings/bulletin", get(bulletin_page))
        .route("/rankings/bulletin.xlsx", get(bulletin_xlsx))
        .route("/rankings/bulletin.pdf", get(bulletin_pdf))
        .route(
            "/rankings/settings",
            get(settings_page).post(settings_submit),
        )
        .route("/api/v1/rankings", get(api_ranking))
        .route("/api/v1/rankings/bulletin", get(api_bulletin))
        .route("/api/v1/rankings/bulletin.xlsx", get(bulletin_xlsx))
        .route("/api/v1/rankings/bulletin.pdf", get(bulletin_pdf))
        .route(
            "/api/v1/rankings/settings",
            get(api_settings).put(api_put_settings),
        )
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api_ranking, api_bulletin, bulletin_xlsx, bulletin_pdf, api_settings, api_put_settings),
    components(responses(kernel::error::ProblemResponse), schemas(Ranking, Bulletin, Period, MethodNote, WeightNote, AirRow, AirFigures, WaterRow,
        WaterFigures, SectionLine, CriterionRank, Placing, DistrictFigures, Standing, TargetLine, RankingSettings, SettingsUpdate,
        AirWeights, WaterWeights, Better, kernel::error::Problem)),
    tags((name = "rankings", description = "排名通报 Monthly street rankings and bulletins"))
)]
pub struct ApiDoc;

fn today() -> NaiveDate {
    cst_day(now_ts())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct MonthQuery {
    /// `YYYY-MM` (default: last month).
    month: Option<String>,
}

impl MonthQuery {
    fn month(&self) -> AppResult<Month> {
        match &self.month {
            Some(text) => Month::parse(text),
            None => Ok(Month::of(today()).previous()),
        }
    }

    async fn bulletin(
        &self,
        state: &AppState,
        principal: &Principal,
    ) -> AppResult<(Month, Bulletin)> {
        let month = self.month()?;
        Ok((
            month,
            service::bulletin(&state.db, principal, month, today()).await?,
        ))
    }
}

// --- API -------------------------------------------------------------------------------------------------

/// The street ranking of a month: air and water tables, each street ranked or shown with why it is not.
#[utoipa::path(get, path = "/api/v1/rankings", tag = "rankings", params(MonthQuery),
    responses((status = 200, body = Ranking), (status = 403, response = kernel::error::ProblemResponse),
              (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_ranking(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> AppResult<ApiJson<Ranking>> {
    let month = q.month()?;
    Ok(ApiJson(
        service::ranking(&state.db, &principal, month, today()).await?,
    ))
}

/// The bulletin of a month: the ranking, the district's figures, the best and worst streets.
#[utoipa::path(get, path = "/api/v1/rankings/bulletin", tag = "rankings", params(MonthQuery),
    responses((status = 200, body = Bulletin), (status = 403, response = kernel::error::ProblemResponse),
              (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_bulletin(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> AppResult<ApiJson<Bulletin>> {
    Ok(ApiJson(q.bulletin(&state, &principal).await?.1))
}

fn download(bytes: Vec<u8>, content_type: &str, name: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
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

/// The bulletin as XLSX (sheets 空气排名, 水质排名, 断面, 区域概况, 说明).
#[utoipa::path(get, path = "/api/v1/rankings/bulletin.xlsx", tag = "rankings", params(MonthQuery),
    responses((status = 200, description = "XLSX workbook", content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))), (status = 403, response = kernel::error::ProblemResponse),
              (status = 429, response = kernel::error::ProblemResponse),
              (status = 422, response = kernel::error::ProblemResponse)))]
async fn bulletin_xlsx(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> AppResult<Response> {
    let (month, bulletin) = q.bulletin(&state, &principal).await?;
    let _slot = kernel::export::slot(&state).await?;
    let bytes =
        kernel::export::build_off_thread(move || crate::export::workbook(&bulletin)).await?;
    Ok(download(
        bytes,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        format!("bulletin-{}.xlsx", month.key()),
    ))
}

/// The bulletin as PDF (A4; Chinese in the standard CJK font STSong-Light, not embedded).
#[utoipa::path(get, path = "/api/v1/rankings/bulletin.pdf", tag = "rankings", params(MonthQuery),
    responses((status = 200, description = "PDF document", content(("application/pdf"))), (status = 403, response = kernel::error::ProblemResponse),
              (status = 429, response = kernel::error::ProblemResponse),
              (status = 422, response = kernel::error::ProblemResponse)))]
async fn bulletin_pdf(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> AppResult<Response> {
    let (month, bulletin) = q.bulletin(&state, &principal).await?;
    let _slot = kernel::export::slot(&state).await?;
    let bytes = kernel::export::build_off_thread(move || crate::pdf::document(&bulletin)).await?;
    Ok(download(
        bytes,
        "application/pdf",
        format!("bulletin-{}.pdf", month.key()),
    ))
}

/// The ranking weighting in force.
#[utoipa::path(get, path = "/api/v1/rankings/settings", operation_id = "get_ranking_settings", tag = "rankings",
    responses((status = 200, body = RankingSettings), (status = 403, response = kernel::error::ProblemResponse)))]
async fn api_settings(
    AxState(state): AxState<AppState>,
    principal: Principal,
) -> AppResult<ApiJson<RankingSettings>> {
    principal.require(crate::BULLETIN, Action::Read)?;
    Ok(ApiJson(service::settings(&state.db).await?))
}

/// Changes the weighting (monitoring department): a preset key, or `custom` with weights summing to 100.
#[utoipa::path(put, path = "/api/v1/rankings/settings", operation_id = "put_ranking_settings", tag = "rankings", request_body = SettingsUpdate,
    responses((status = 200, body = RankingSettings), (status = 403, response = kernel::error::ProblemResponse),
              (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_put_settings(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiJson(update): ApiJson<SettingsUpdate>,
) -> AppResult<ApiJson<RankingSettings>> {
    Ok(ApiJson(
        service::update_settings(&state.db, &principal, update).await?,
    ))
}

// --- display ---------------------------------------------------------------------------------------------

fn fixed(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "—".to_string(), |v| format!("{v:.decimals$}"))
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_string(), |v| format!("{v:.1}%"))
}

fn signed(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_string(), |v| format!("{v:+.1}%"))
}

fn rank_cell(rank: Option<usize>, tied: bool) -> String {
    match rank {
        Some(r) if tied => format!("{r}（并列）"),
        Some(r) => r.to_string(),
        None => "不排名".to_string(),
    }
}

/// The positions on the weighted criteria, in the method's order: `1 / 7 / 1` (empty when not ranked).
fn positions(list: &[CriterionRank]) -> String {
    let shown: Vec<String> = list
        .iter()
        .filter_map(|p| Some(p.position?.to_string()))
        .collect();
    shown.join(" / ")
}

/// The header of the positions column: the weighted criteria in order.
fn positions_header(method: &MethodNote) -> String {
    let labels: Vec<String> = method
        .weights
        .iter()
        .map(|w| format!("{} {}%", w.label, w.weight))
        .collect();
    format!("各项位次（{}）", labels.join(" / "))
}

/// One air line as shown.
struct AirLine {
    ranked: bool,
    rank: String,
    street: String,
    stations: usize,
    days: String,
    pm25: String,
    pm25_last: String,
    pm25_change: String,
    composite: String,
    composite_last: String,
    composite_change: String,
    good: String,
    positions: String,
    score: String,
    note: String,
}

struct WaterLine {
    ranked: bool,
    rank: String,
    street: String,
    sections: usize,
    meeting: String,
    compliance: String,
    cwqi: String,
    cwqi_last: String,
    cwqi_change: String,
    positions: String,
    score: String,
    note: String,
}

struct SectionView {
    name: String,
    street: String,
    class: String,
    target: String,
    meets: &'static str,
    cwqi: String,
    last_class: String,
    last_cwqi: String,
}

/// The tables and chart data shared by the ranking page and the bulletin page.
struct Tables {
    period: String,
    /// GB 3095's minimum of valid days for the month's statistics, when the period is a whole month.
    required_days: Option<u32>,
    air_positions: String,
    water_positions: String,
    air_method: MethodNote,
    water_method: MethodNote,
    standards_note: String,
    air: Vec<AirLine>,
    water: Vec<WaterLine>,
    sections: Vec<SectionView>,
    air_chart: String,
    water_chart: String,
}

fn tables(r: &Ranking) -> Tables {
    let p = &r.period;
    let period = format!(
        "{} 至 {}{}，去年同期 {} 至 {}",
        p.from,
        p.to,
        if p.partial {
            "（本月未结束，截至昨日）"
        } else {
            ""
        },
        p.last_year_from,
        p.last_year_to
    );
    let air = r
        .air
        .iter()
        .map(|a| AirLine {
            ranked: a.placing.rank.is_some(),
            rank: rank_cell(a.placing.rank, a.placing.tied),
            street: a.street.clone(),
            stations: a.stations,
            days: a.now.valid_days.to_string(),
            pm25: fixed(a.now.pm25, 0),
            pm25_last: fixed(a.last_year.pm25, 0),
            pm25_change: signed(a.pm25_change),
            composite: fixed(a.now.composite, 2),
            composite_last: fixed(a.last_year.composite, 2),
            composite_change: signed(a.composite_change),
            good: format!("{} 天 / {}", a.now.good_days, percent(a.now.good_ratio)),
            positions: positions(&a.placing.positions),
            score: fixed(a.placing.score, 2),
            note: a.placing.unranked_reason.clone().unwrap_or_default(),
        })
        .collect();
    let water = r
        .water
        .iter()
        .map(|w| WaterLine {
            ranked: w.placing.rank.is_some(),
            rank: rank_cell(w.placing.rank, w.placing.tied),
            street: w.street.clone(),
            sections: w.sections,
            meeting: format!("{}/{}", w.now.sections_meeting, w.now.sections_with_data),
            compliance: percent(w.now.compliance),
            cwqi: fixed(w.now.cwqi, 2),
            cwqi_last: fixed(w.last_year.cwqi, 2),
            cwqi_change: signed(w.cwqi_change),
            positions: positions(&w.placing.positions),
            score: fixed(w.placing.score, 2),
            note: w.placing.unranked_reason.clone().unwrap_or_default(),
        })
        .collect();
    let street_name = |id: Option<i64>| {
        r.water
            .iter()
            .find(|w| Some(w.street_id) == id)
            .map_or_else(|| "—".to_string(), |w| w.street.clone())
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_string());
    let sections = r
        .sections
        .iter()
        .map(|s| SectionView {
            name: s.name.clone(),
            street: street_name(s.street_id),
            class: opt(&s.class),
            target: opt(&s.target_class),
            meets: match s.meets_target {
                Some(true) => "达标",
                Some(false) => "未达标",
                None => "—",
            },
            cwqi: fixed(s.cwqi, 2),
            last_class: opt(&s.last_year_class),
            last_cwqi: fixed(s.last_year_cwqi, 2),
        })
        .collect();
    let with_composite: Vec<&AirRow> = r.air.iter().filter(|a| a.now.composite.is_some()).collect();
    let air_chart = serde_json::json!({
        "streets": with_composite.iter().map(|a| a.street.clone()).collect::<Vec<_>>(),
        "composite": with_composite.iter().map(|a| a.now.composite).collect::<Vec<_>>(),
        "pm25": with_composite.iter().map(|a| a.now.pm25).collect::<Vec<_>>(),
    });
    let with_cwqi: Vec<&WaterRow> = r.water.iter().filter(|w| w.now.cwqi.is_some()).collect();
    let water_chart = serde_json::json!({
        "streets": with_cwqi.iter().map(|w| w.street.clone()).collect::<Vec<_>>(),
        "cwqi": with_cwqi.iter().map(|w| w.now.cwqi).collect::<Vec<_>>(),
        "compliance": with_cwqi.iter().map(|w| w.now.compliance).collect::<Vec<_>>(),
    });
    Tables {
        period,
        required_days: r.air.iter().find_map(|a| a.now.required_days),
        air_positions: positions_header(&r.air_method),
        water_positions: positions_header(&r.water_method),
        air_method: r.air_method.clone(),
        water_method: r.water_method.clone(),
        standards_note: r.standards_note.clone(),
        air,
        water,
        sections,
        air_chart: air_chart.to_string(),
        water_chart: water_chart.to_string(),
    }
}

// --- pages -----------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "bulletins_rankings.html")]
struct RankingsPage {
    chrome: Chrome,
    month: String,
    label: String,
    t: Tables,
    can_edit: bool,
}

async fn rankings_page(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> PageResult {
    let month = q.month()?;
    let ranking = service::ranking(&state.db, &principal, month, today()).await?;
    render(&RankingsPage {
        chrome: Chrome::new(&state, &principal, "/rankings"),
        month: month.key(),
        label: month.label(),
        t: tables(&ranking),
        can_edit: principal.can(crate::BULLETIN, Action::Update),
    })
}

/// The district figures as shown.
struct DistrictView {
    stations: usize,
    days: String,
    levels: Vec<(&'static str, u32, u32)>,
    pm25: String,
    pm25_last: String,
    pm25_change: String,
    composite: String,
    composite_last: String,
    composite_change: String,
    good: String,
    good_last: String,
    classes: Vec<(&'static str, usize)>,
    sections: usize,
    good_water: String,
    meeting: usize,
}

fn standing(s: &Option<Standing>) -> String {
    s.as_ref().map_or_else(
        || "无（本月没有可排名的街道）".to_string(),
        |s| format!("{}（第 {} 名）", s.streets.join("、"), s.rank),
    )
}

#[derive(Template)]
#[template(path = "bulletins_bulletin.html")]
struct BulletinPage {
    chrome: Chrome,
    month: String,
    title: String,
    generated_at: String,
    d: DistrictView,
    air_best: String,
    air_worst: String,
    water_best: String,
    water_worst: String,
    targets_note: String,
    targets: Vec<TargetLine>,
    t: Tables,
}

async fn bulletin_page(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> PageResult {
    let (month, b) = q.bulletin(&state, &principal).await?;
    let d = &b.district;
    const LEVELS: [&str; 6] = ["优", "良", "轻度污染", "中度污染", "重度污染", "严重污染"];
    const CLASSES: [&str; 6] = ["I 类", "II 类", "III 类", "IV 类", "V 类", "劣V 类"];
    let view = DistrictView {
        stations: d.air_stations,
        days: format!(
            "{} 天（去年同期 {} 天）",
            d.now.valid_days, d.last_year.valid_days
        ),
        levels: (0..6)
            .map(|i| {
                (
                    LEVELS[i],
                    d.now.days_per_level[i],
                    d.last_year.days_per_level[i],
                )
            })
            .collect(),
        pm25: fixed(d.now.pm25, 0),
        pm25_last: fixed(d.last_year.pm25, 0),
        pm25_change: signed(d.pm25_change),
        composite: fixed(d.now.composite, 2),
        composite_last: fixed(d.last_year.composite, 2),
        composite_change: signed(d.composite_change),
        good: format!("{} 天 / {}", d.now.good_days, percent(d.now.good_ratio)),
        good_last: format!(
            "{} 天 / {}",
            d.last_year.good_days,
            percent(d.last_year.good_ratio)
        ),
        classes: (0..6)
            .map(|i| (CLASSES[i], d.sections_per_class[i]))
            .collect(),
        sections: d.sections_with_data,
        good_water: percent(d.good_water_share),
        meeting: d.sections_meeting,
    };
    render(&BulletinPage {
        chrome: Chrome::new(&state, &principal, "/rankings"),
        month: month.key(),
        title: b.title.clone(),
        generated_at: b.generated_at.clone(),
        d: view,
        air_best: standing(&b.air_best),
        air_worst: standing(&b.air_worst),
        water_best: standing(&b.water_best),
        water_worst: standing(&b.water_worst),
        targets_note: b.targets_note.clone(),
        targets: b.targets.clone(),
        t: tables(&b.ranking),
    })
}

#[derive(Template)]
#[template(path = "bulletins_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    settings: RankingSettings,
    air_presets: Vec<(&'static str, &'static str, &'static str)>,
    water_presets: Vec<(&'static str, &'static str, &'static str)>,
    air_criteria: Vec<(&'static str, &'static str, u32)>,
    water_criteria: Vec<(&'static str, &'static str, u32)>,
    can_edit: bool,
    message: Option<String>,
    error: Option<String>,
}

async fn settings_page_with(
    state: &AppState,
    principal: &Principal,
    message: Option<String>,
    error: Option<String>,
) -> PageResult {
    principal.require(crate::BULLETIN, Action::Read)?;
    let settings = service::settings(&state.db).await?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = SettingsPage {
        chrome: Chrome::new(state, principal, "/rankings"),
        air_presets: AIR_PRESETS
            .iter()
            .map(|p| (p.key, p.label, p.source))
            .collect(),
        water_presets: WATER_PRESETS
            .iter()
            .map(|p| (p.key, p.label, p.source))
            .collect(),
        air_criteria: AIR_CRITERIA
            .iter()
            .zip(settings.air_weights.as_array())
            .map(|(c, w)| (c.key, c.label, w))
            .collect(),
        water_criteria: WATER_CRITERIA
            .iter()
            .zip(settings.water_weights.as_array())
            .map(|(c, w)| (c.key, c.label, w))
            .collect(),
        settings,
        can_edit: principal.can(crate::BULLETIN, Action::Update),
        message,
        error,
    };
    Ok((status, render(&page)?).into_response())
}

async fn settings_page(AxState(state): AxState<AppState>, principal: Principal) -> PageResult {
    settings_page_with(&state, &principal, None, None).await
}

#[derive(Deserialize)]
struct SettingsForm {
    air_preset: String,
    water_preset: String,
    composite: Option<String>,
    composite_change: Option<String>,
    pm25: Option<String>,
    pm25_change: Option<String>,
    good_ratio: Option<String>,
    cwqi: Option<String>,
    cwqi_change: Option<String>,
    compliance: Option<String>,
}

fn weight(field: &str, value: &Option<String>) -> AppResult<u32> {
    let text = value.as_deref().unwrap_or("").trim();
    if text.is_empty() {
        return Ok(0);
    }
    text.parse()
        .map_err(|_| AppError::validation(field, "must be a whole number 0–100"))
}

async fn settings_submit(
    AxState(state): AxState<AppState>,
    principal: Principal,
    axum::Form(form): axum::Form<SettingsForm>,
) -> PageResult {
    let result = async {
        let update = SettingsUpdate {
            air_weights: Some(AirWeights {
                composite: weight("composite", &form.composite)?,
                composite_change: weight("composite_change", &form.composite_change)?,
                pm25: weight("pm25", &form.pm25)?,
                pm25_change: weight("pm25_change", &form.pm25_change)?,
                good_ratio: weight("good_ratio", &form.good_ratio)?,
            }),
            water_weights: Some(WaterWeights {
                cwqi: weight("cwqi", &form.cwqi)?,
                cwqi_change: weight("cwqi_change", &form.cwqi_change)?,
                compliance: weight("compliance", &form.compliance)?,
            }),
            air_preset: form.air_preset.clone(),
            water_preset: form.water_preset.clone(),
        };
        service::update_settings(&state.db, &principal, update).await
    }
    .await;
    let (message, error) = match result {
        Ok(_) => (Some("已保存".to_string()), None),
        Err(AppError::Validation { field, message }) => (None, Some(format!("{field}: {message}"))),
        Err(other) => return Err(other.into()),
    };
    settings_page_with(&state, &principal, message, error).await
}
