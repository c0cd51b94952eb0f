//! Pages under `/alarms` and the JSON API under `/api/v1/alarms`.

use askama::Template;
use axum::Router;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kernel::time::{format_cst, now_ts};
use kernel::web::{ApiJson, ApiPath, ApiQuery, Chrome, PageResult, render};
use kernel::{Action, AppError, AppResult, AppState, Page, PageQuery, Principal};
use serde::{Deserialize, Serialize};

use crate::RuleId;
use crate::model::*;
use crate::service;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/alarms", get(list_page))
        .route("/alarms/leads", get(leads_page).post(lead_submit))
        .route("/alarms/stats", get(stats_page))
        .route("/alarms/{id}", get(alarm_page))
        .route("/alarms/{id}/action", post(action_submit))
        .route("/api/v1/alarms", get(api_list))
        .route("/api/v1/alarms/summary", get(api_summary))
        .route("/api/v1/alarms/stats", get(api_stats))
        .route("/api/v1/alarms/leads", get(api_leads).post(api_create_lead))
        .route("/api/v1/alarms/evaluations", post(api_evaluate))
        .route(
            "/api/v1/alarms/outlets/{id}/permit",
            get(api_permit).put(api_put_permit),
        )
        .route("/api/v1/alarms/{id}", get(api_get))
        .route("/api/v1/alarms/{id}/actions", post(api_action))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api_list, api_get, api_action, api_summary, api_stats, api_leads, api_create_lead, api_evaluate,
          api_permit, api_put_permit),
    components(responses(kernel::error::ProblemResponse), schemas(AlarmRecord, EvidencePoint, AlarmActionBody, OpenSummary, RuleCount, EnterpriseMonthStats,
        Lead, LeadCandidate, NewLead, LeadsView, EvaluationRequest, EvaluationSummary, OutletPermit, OutletLimit,
        kernel::error::Problem)),
    tags((name = "alarms", description = "在线监控报警 Online-monitoring alarms, their handling, statistics and inspection leads"))
)]
pub struct ApiDoc;

// --- API -------------------------------------------------------------------------------------------------

/// Alarms visible to the caller (a street officer: their street's enterprises), newest first, with filters.
#[utoipa::path(get, path = "/api/v1/alarms", operation_id = "list_alarms", tag = "alarms", params(AlarmFilter, PageQuery),
    responses((status = 200, body = Page<AlarmRecord>), (status = 403, response = kernel::error::ProblemResponse),
              (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_list(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<AlarmFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> AppResult<ApiJson<Page<AlarmRecord>>> {
    Ok(ApiJson(
        service::list(&state.db, &principal, &filter, &page, now_ts()).await?,
    ))
}

/// One alarm with its evidence and lifecycle (404 outside the caller's street).
#[utoipa::path(get, path = "/api/v1/alarms/{id}", operation_id = "get_alarm", tag = "alarms", params(("id" = i64, Path)),
    responses((status = 200, body = AlarmRecord), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse)))]
async fn api_get(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<AlarmRecord>> {
    Ok(ApiJson(
        service::get(&state.db, &principal, id, now_ts()).await?,
    ))
}

/// One step of the lifecycle: `verify` (verdict `true`, `equipment_fault` or `false_positive`), `handle`,
/// `close`. A step the state does not allow, or a stale `version`, is a 409; a missing note a 422.
#[utoipa::path(post, path = "/api/v1/alarms/{id}/actions", operation_id = "act_on_alarm", tag = "alarms", params(("id" = i64, Path)),
    request_body = AlarmActionBody,
    responses((status = 200, body = AlarmRecord), (status = 404, response = kernel::error::ProblemResponse),
              (status = 409, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_action(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<AlarmActionBody>,
) -> AppResult<ApiJson<AlarmRecord>> {
    Ok(ApiJson(
        service::act(&state.db, &principal, id, body, now_ts()).await?,
    ))
}

/// Open alarms by rule, with how many are overdue (the caller's street for a street officer).
#[utoipa::path(get, path = "/api/v1/alarms/summary", tag = "alarms",
    responses((status = 200, body = OpenSummary), (status = 403, response = kernel::error::ProblemResponse)))]
async fn api_summary(
    AxState(state): AxState<AppState>,
    principal: Principal,
) -> AppResult<ApiJson<OpenSummary>> {
    principal.require(crate::ALARM, Action::Read)?;
    Ok(ApiJson(
        service::open_summary(&state.db, principal.street_scope()).await?,
    ))
}

#[derive(Debug, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct MonthQuery {
    /// `YYYY-MM` (CST); all months when absent.
    month: Option<String>,
}

/// Per enterprise and CST month: alarms by rule, verdicts, false-positive rate, open and overdue.
#[utoipa::path(get, path = "/api/v1/alarms/stats", operation_id = "alarm_stats", tag = "alarms", params(MonthQuery),
    responses((status = 200, body = [EnterpriseMonthStats]), (status = 403, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_stats(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> AppResult<ApiJson<Vec<EnterpriseMonthStats>>> {
    Ok(ApiJson(
        service::monthly_statistics(&state.db, &principal, q.month.as_deref(), now_ts()).await?,
    ))
}

/// Leads made and candidates not yet made.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LeadsView {
    pub leads: Vec<Lead>,
    pub candidates: Vec<LeadCandidate>,
}

/// Inspection leads (线索) handed to enforcement, and the candidates: alarms of the falsified-data kinds verified
/// as true, and enterprise-months with repeated exceedances.
#[utoipa::path(get, path = "/api/v1/alarms/leads", tag = "alarms",
    responses((status = 200, body = LeadsView), (status = 403, response = kernel::error::ProblemResponse)))]
async fn api_leads(
    AxState(state): AxState<AppState>,
    principal: Principal,
) -> AppResult<ApiJson<LeadsView>> {
    let (leads, candidates) = service::leads(&state.db, &principal).await?;
    Ok(ApiJson(LeadsView { leads, candidates }))
}

/// Makes a lead from an alarm verified as true, or from an enterprise's month of repeated exceedances.
#[utoipa::path(post, path = "/api/v1/alarms/leads", tag = "alarms", request_body = NewLead,
    responses((status = 201, body = Lead), (status = 403, response = kernel::error::ProblemResponse),
              (status = 409, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_create_lead(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiJson(new): ApiJson<NewLead>,
) -> AppResult<Response> {
    let lead = service::create_lead(&state.db, &principal, new, now_ts()).await?;
    Ok((StatusCode::CREATED, ApiJson(lead)).into_response())
}

/// A manual run of the rules over a span (as `qingshan alarms evaluate --from --to`).
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct EvaluationRequest {
    /// Unix seconds.
    pub from: i64,
    /// Unix seconds, after `from`, at most 92 days later.
    pub to: i64,
    /// Only this outlet monitoring point.
    pub point_id: Option<i64>,
}

/// Runs every rule over `[from, to)` now (monitoring, enforcement); idempotent: a rerun stores nothing twice.
#[utoipa::path(post, path = "/api/v1/alarms/evaluations", tag = "alarms", request_body = EvaluationRequest,
    responses((status = 200, body = EvaluationSummary), (status = 403, response = kernel::error::ProblemResponse),
              (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_evaluate(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<EvaluationRequest>,
) -> AppResult<ApiJson<EvaluationSummary>> {
    principal.require(crate::ALARM, Action::Update)?;
    if principal.street_scope().is_some() {
        return Err(kernel::auth::refused(principal.role, "运行报警判定"));
    }
    Ok(ApiJson(
        service::evaluate_range(&state.db, req.from, req.to, req.point_id, now_ts()).await?,
    ))
}

/// The permit of an outlet as the rules use it (limits, reference O2, analysers); 404 when none is recorded.
#[utoipa::path(get, path = "/api/v1/alarms/outlets/{id}/permit", tag = "alarms", params(("id" = i64, Path)),
    responses((status = 200, body = OutletPermit), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse)))]
async fn api_permit(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<OutletPermit>> {
    service::permit(&state.db, &principal, id)
        .await?
        .map(ApiJson)
        .ok_or_else(|| AppError::not_found("no permit recorded for this outlet"))
}

/// Records the permit of an outlet (replacing the previous one; audited).
#[utoipa::path(put, path = "/api/v1/alarms/outlets/{id}/permit", tag = "alarms", params(("id" = i64, Path)),
    request_body = OutletPermit,
    responses((status = 200, body = OutletPermit), (status = 403, response = kernel::error::ProblemResponse),
              (status = 404, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_put_permit(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(mut permit): ApiJson<OutletPermit>,
) -> AppResult<ApiJson<OutletPermit>> {
    permit.outlet_id = id;
    permit.simulated = false;
    Ok(ApiJson(
        service::put_permit(&state.db, &principal, permit).await?,
    ))
}

// --- pages -----------------------------------------------------------------------------------------------

/// An alarm in a list row, with display strings.
struct Row {
    a: AlarmRecord,
    span: String,
    raised: String,
    state: &'static str,
    severity: &'static str,
    verdict: &'static str,
    due: String,
}

fn row(a: AlarmRecord) -> Row {
    let due = match a.deadline {
        Some(d) if a.overdue => format!("{}（逾期）", format_cst(d)),
        Some(d) => format_cst(d),
        None => "—".into(),
    };
    Row {
        span: format!("{} — {}", format_cst(a.from_ts), format_cst(a.to_ts)),
        raised: format_cst(a.raised_at),
        state: service::state_label(&a.state),
        severity: service::severity_label(&a.severity),
        verdict: a.verdict.as_deref().map_or("", service::verdict_label),
        due,
        a,
    }
}

#[derive(Template)]
#[template(path = "alarms_list.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    filter: AlarmFilter,
    summary: OpenSummary,
    states: Vec<(&'static str, &'static str)>,
    rules: Vec<(&'static str, &'static str)>,
    streets: Vec<(i64, String)>,
    enterprises: Vec<(i64, String)>,
    pager_base: String,
    page: u32,
    pages: u32,
    total: i64,
}

impl ListPage {
    fn selected(&self, field: Option<&str>, code: &str) -> bool {
        field == Some(code)
    }
    fn selected_id(&self, field: &Option<i64>, id: &i64) -> bool {
        *field == Some(*id)
    }
}

const STATES: [(&str, &str); 5] = [
    ("open", "未关闭"),
    ("raised", "待核实"),
    ("verified", "已核实"),
    ("handled", "已处置"),
    ("closed", "已关闭"),
];

async fn list_page(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<AlarmFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> PageResult {
    let found = service::list(&state.db, &principal, &filter, &page, now_ts()).await?;
    let query = serde_urlencoded::to_string(&filter).unwrap_or_default();
    let scope = principal.street_scope();
    let page = ListPage {
        chrome: Chrome::new(&state, &principal, "/alarms"),
        pager_base: format!("/alarms?{query}&"),
        page: found.page,
        pages: found.pages().max(1),
        total: found.total,
        rows: found.items.into_iter().map(row).collect(),
        summary: service::open_summary(&state.db, scope).await?,
        states: STATES.to_vec(),
        rules: RuleId::ALL
            .iter()
            .map(|r| (r.code(), r.name_zh()))
            .collect(),
        streets: registry::service::streets(&state.db)
            .await?
            .into_iter()
            .filter(|s| principal.sees_street(Some(s.id)))
            .map(|s| (s.id, s.name))
            .collect(),
        enterprises: service::enterprises_with_alarms(&state.db, scope).await?,
        filter,
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "alarms_alarm.html")]
struct AlarmPage {
    chrome: Chrome,
    r: Row,
    /// `[[ms, value], …]` of the stored series and of the evidence, the limit and the factor's unit, as JSON
    /// for the chart; for an offline alarm the gap and the arrivals around it instead.
    chart_json: String,
    /// Whether there is anything to draw (an empty chart says nothing: the page says why instead).
    has_chart: bool,
    /// The gap of an offline alarm, in words.
    gap: Option<GapView>,
    /// The factor's unit ("mg/m³"), empty when unknown or for point-level alarms.
    unit: &'static str,
    can_verify: bool,
    can_handle: bool,
    can_close: bool,
    can_lead: bool,
    steps: Vec<(String, String, String, String)>,
    error: Option<String>,
}

/// An offline alarm's gap as the page states it.
struct GapView {
    /// "2026-12-01 08:00", or a sentence when no record came within two hours before the gap.
    last_before: String,
    /// When data came again, or that it has not (yet).
    resumed: String,
    hours: String,
}

/// The unit of an HJ 212 factor for the chart's axis (HJ 212-2017 appendix tables, as `hj212::codes` lists
/// them); empty for codes it does not list.
fn factor_unit(factor: Option<&str>) -> &'static str {
    factor
        .and_then(hj212::codes::pollutant_code)
        .map_or("", |code| code.unit)
}

async fn alarm_page_with(
    state: &AppState,
    principal: &Principal,
    id: i64,
    error: Option<String>,
) -> PageResult {
    let record = service::get(&state.db, principal, id, now_ts()).await?;
    let to_ms = |points: &[EvidencePoint]| -> Vec<(i64, f64)> {
        points
            .iter()
            .map(|p| (p.ts.saturating_mul(1000), p.value))
            .collect()
    };
    let unit = factor_unit(record.factor.as_deref());
    let (chart_json, has_chart, gap) = if record.rule == RuleId::Offline.code() {
        let gap = service::data_gap(&state.db, &record).await?;
        let chart = serde_json::json!({
            "kind": "gap",
            "from": gap.from_ts.saturating_mul(1000),
            "to": gap.to_ts.saturating_mul(1000),
            "hours": gap.hours,
            "arrivals": gap.arrivals.iter().map(|ts| ts.saturating_mul(1000)).collect::<Vec<_>>(),
        });
        let view = GapView {
            last_before: gap
                .last_before
                .map_or_else(|| "报警时段前 2 小时内无任何数据".to_string(), format_cst),
            resumed: match gap.first_after {
                Some(ts) => format!("{} 恢复上传", format_cst(ts)),
                None => format!("截至 {} 仍无数据", format_cst(gap.to_ts)),
            },
            hours: format!("{:.1}", gap.hours),
        };
        (chart.to_string(), !gap.arrivals.is_empty(), Some(view))
    } else {
        let (series, limit) = service::series_around(&state.db, &record).await?;
        let has_chart = !series.is_empty() || !record.values.is_empty();
        let chart = serde_json::json!({
            "kind": "series",
            "series": to_ms(&series),
            "evidence": to_ms(&record.values),
            "limit": limit,
            "unit": unit,
            "from": record.from_ts.saturating_mul(1000),
            "to": record.to_ts.saturating_mul(1000),
            "name": record.factor_name.clone().or_else(|| record.factor.clone()).unwrap_or_default(),
        });
        (chart.to_string(), has_chart, None)
    };
    let may_update = principal.can(crate::ALARM, Action::Update);
    let mut steps = vec![(
        format_cst(record.raised_at),
        "系统".to_string(),
        "报警产生".to_string(),
        record.evidence.clone(),
    )];
    if let (Some(by), Some(at)) = (&record.verified_by, record.verified_at) {
        steps.push((
            format_cst(at),
            by.clone(),
            format!(
                "核实：{}",
                record.verdict.as_deref().map_or("", service::verdict_label)
            ),
            record.verify_note.clone().unwrap_or_default(),
        ));
    }
    if let (Some(by), Some(at)) = (&record.handled_by, record.handled_at) {
        steps.push((
            format_cst(at),
            by.clone(),
            "处置".into(),
            record.handle_note.clone().unwrap_or_default(),
        ));
    }
    if let (Some(by), Some(at)) = (&record.closed_by, record.closed_at) {
        steps.push((
            format_cst(at),
            by.clone(),
            "关闭".into(),
            record.close_note.clone().unwrap_or_default(),
        ));
    }
    // The lifecycle names the people who acted, not their usernames.
    let names = kernel::people::names(state, steps.iter().skip(1).map(|s| s.1.as_str())).await?;
    for step in steps.iter_mut().skip(1) {
        step.1 = names.name(&step.1);
    }
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let verdict = record.verdict.as_deref();
    let page = AlarmPage {
        chrome: Chrome::new(state, principal, "/alarms"),
        can_verify: may_update && record.state == "raised",
        can_handle: may_update && record.state == "verified" && verdict != Some("false_positive"),
        can_close: may_update
            && (record.state == "handled"
                || (record.state == "verified" && verdict == Some("false_positive"))),
        can_lead: may_update && verdict == Some("true"),
        r: row(record),
        chart_json,
        has_chart,
        gap,
        unit,
        steps,
        error,
    };
    Ok((status, render(&page)?).into_response())
}

async fn alarm_page(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> PageResult {
    alarm_page_with(&state, &principal, id, None).await
}

#[derive(Deserialize)]
struct ActionForm {
    action: String,
    verdict: Option<String>,
    note: Option<String>,
    version: Option<i64>,
}

async fn action_submit(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    axum::Form(form): axum::Form<ActionForm>,
) -> PageResult {
    let result = if form.action == "lead" {
        service::create_lead(
            &state.db,
            &principal,
            NewLead {
                kind: "alarm".into(),
                alarm_id: Some(id),
                enterprise_id: None,
                month: None,
                note: form.note.unwrap_or_default(),
            },
            now_ts(),
        )
        .await
        .map(|_| ())
    } else {
        let body = AlarmActionBody {
            action: form.action,
            verdict: form.verdict.filter(|v| !v.is_empty()),
            note: form.note.unwrap_or_default(),
            version: form.version,
        };
        service::act(&state.db, &principal, id, body, now_ts())
            .await
            .map(|_| ())
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/alarms/{id}")).into_response()),
        Err(AppError::Validation { field, message }) => {
            alarm_page_with(&state, &principal, id, Some(format!("{field}: {message}"))).await
        }
        Err(AppError::Conflict(message)) => {
            alarm_page_with(&state, &principal, id, Some(message)).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "alarms_leads.html")]
struct LeadsPage {
    chrome: Chrome,
    leads: Vec<(Lead, String)>,
    candidates: Vec<LeadCandidate>,
    can_create: bool,
    error: Option<String>,
}

async fn leads_page_with(
    state: &AppState,
    principal: &Principal,
    error: Option<String>,
) -> PageResult {
    let (mut leads, candidates) = service::leads(&state.db, principal).await?;
    let names = kernel::people::names(state, leads.iter().map(|l| l.created_by.as_str())).await?;
    for lead in &mut leads {
        lead.created_by = names.name(&lead.created_by);
    }
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = LeadsPage {
        chrome: Chrome::new(state, principal, "/alarms"),
        leads: leads
            .into_iter()
            .map(|l| {
                let at = format_cst(l.created_at);
                (l, at)
            })
            .collect(),
        candidates,
        can_create: principal.can(crate::ALARM, Action::Update),
        error,
    };
    Ok((status, render(&page)?).into_response())
}

async fn leads_page(AxState(state): AxState<AppState>, principal: Principal) -> PageResult {
    leads_page_with(&state, &principal, None).await
}

#[derive(Deserialize)]
struct LeadForm {
    kind: String,
    alarm_id: Option<i64>,
    enterprise_id: Option<i64>,
    month: Option<String>,
    note: Option<String>,
}

async fn lead_submit(
    AxState(state): AxState<AppState>,
    principal: Principal,
    axum::Form(form): axum::Form<LeadForm>,
) -> PageResult {
    let new = NewLead {
        kind: form.kind,
        alarm_id: form.alarm_id,
        enterprise_id: form.enterprise_id,
        month: form.month.filter(|m| !m.is_empty()),
        note: form.note.unwrap_or_default(),
    };
    match service::create_lead(&state.db, &principal, new, now_ts()).await {
        Ok(_) => Ok(Redirect::to("/alarms/leads").into_response()),
        Err(AppError::Validation { field, message }) => {
            leads_page_with(&state, &principal, Some(format!("{field}: {message}"))).await
        }
        Err(AppError::Conflict(message)) => {
            leads_page_with(&state, &principal, Some(message)).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "alarms_stats.html")]
struct StatsPage {
    chrome: Chrome,
    month: String,
    rows: Vec<(EnterpriseMonthStats, String, String)>,
}

async fn stats_page(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<MonthQuery>,
) -> PageResult {
    let rows = service::monthly_statistics(&state.db, &principal, q.month.as_deref(), now_ts())
        .await?
        .into_iter()
        .map(|s| {
            let rules = s
                .by_rule
                .iter()
                .map(|r| format!("{} {}", r.name, r.count))
                .collect::<Vec<_>>()
                .join("；");
            let rate = s
                .false_positive_rate
                .map_or_else(|| "—".to_string(), |r| format!("{:.0} %", r * 100.0));
            (s, rules, rate)
        })
        .collect();
    let page = StatsPage {
        chrome: Chrome::new(&state, &principal, "/alarms"),
        month: q.month.unwrap_or_default(),
        rows,
    };
    render(&page)
}
