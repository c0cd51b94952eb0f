//! The Chinese pages under `/complaints`: the case list with its filters, intake, the case file with the steps
//! the caller may take, evidence uploads, the map, statistics, settings and the duty roster. Forms post
//! `application/x-www-form-urlencoded` with `_csrf` (checked by the web layer before these handlers run).

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use chrono::Datelike;
use kernel::time::{format_cst, now_ts};
use kernel::web::{ApiPath, ApiQuery, Chrome, PageResult, render};
use kernel::{Action, AppError, AppResult, AppState, PageQuery, Principal};
use serde::Deserialize;

use crate::evidence;
use crate::model::*;
use crate::service::{self, Caller};

use super::{UPLOAD_BODY_LIMIT, YearQuery, evidence_download, export_xlsx, read_upload, today};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/complaints", get(list_page))
        .route("/complaints/new", get(new_page).post(new_submit))
        .route("/complaints/map", get(map_page))
        .route("/complaints/stats", get(stats_page))
        .route("/complaints/duty", get(duty_page).post(duty_submit))
        .route("/complaints/duty/{id}/delete", post(duty_delete))
        .route("/complaints/export.xlsx", get(export_xlsx))
        .route("/complaints/escalate", post(escalate_submit))
        .route(
            "/complaints/settings",
            get(settings_page).post(settings_submit),
        )
        .route("/complaints/{id}", get(case_page))
        .route("/complaints/{id}/action", post(action_submit))
        .route(
            "/complaints/{id}/evidence",
            post(evidence_page_upload).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)),
        )
        .route(
            "/complaints/{id}/evidence/{evidence_id}",
            get(evidence_download),
        )
}

/// A case in a list row, with display strings.
struct Row {
    v: ComplaintView,
    received: String,
    due: String,
    flags: String,
    street: String,
}

fn row(v: ComplaintView) -> Row {
    let c = &v.complaint;
    let s = &v.clock_status;
    let mut due = match (&s.due, s.working_days_left) {
        (Some(d), Some(n)) if n < 0 => format!("{d}（逾期{}个工作日）", -n),
        (Some(d), Some(n)) => format!("{d}（剩{n}个工作日）"),
        (Some(d), None) => d.clone(),
        (None, _) if s.calendar_gap => "无法计算（日历缺年份）".to_string(),
        (None, _) => "—".to_string(),
    };
    if s.provisional {
        due.push_str(" 暂定（待国务院通知）");
    }
    if s.due.is_some() && c.handover_deadline.is_some() && s.clock == "handling" {
        due.push_str(" 交办期限");
    }
    let mut flags = Vec::new();
    if s.overdue {
        flags.push("逾期");
    } else if s.due_soon {
        flags.push("临期");
    }
    if c.escalated_at.is_some() && !c.state.is_final() {
        flags.push("督办");
    }
    if c.is_repeat {
        flags.push("重复");
    }
    if c.after_hours {
        flags.push("值班");
    }
    if c.simulated {
        flags.push("模拟");
    }
    Row {
        received: format_cst(c.received_at),
        street: c.street_name.clone().unwrap_or_default(),
        due,
        flags: flags.join(" "),
        v,
    }
}

#[derive(Template)]
#[template(path = "complaints_list.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    filter: ComplaintFilter,
    states: Vec<(&'static str, &'static str)>,
    channels: Vec<(&'static str, &'static str)>,
    categories: Vec<(&'static str, &'static str)>,
    streets: Vec<(String, String)>,
    can_create: bool,
    export_query: String,
    pager_base: String,
    page: u32,
    pages: u32,
    total: i64,
}

impl ListPage {
    fn selected(&self, field: Option<&str>, code: &str) -> bool {
        field == Some(code)
    }
}

fn pairs<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Vec<(&'static str, &'static str)> {
    all.iter().map(|v| (code(*v), label(*v))).collect()
}

async fn list_page(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<ComplaintFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> PageResult {
    let found = service::list(&state.db, &principal, &filter, &page, today()).await?;
    let query = serde_urlencoded::to_string(&filter).unwrap_or_default();
    let streets = service::street_choices(&state.db, &principal)
        .await?
        .into_iter()
        .map(|(id, name)| (id.to_string(), name))
        .collect();
    let page = ListPage {
        chrome: Chrome::new(&state, &principal, "/complaints"),
        pager_base: format!("/complaints?{query}&"),
        export_query: query,
        page: found.page,
        pages: found.pages().max(1),
        total: found.total,
        rows: found.items.into_iter().map(row).collect(),
        states: pairs(State::ALL, State::as_str, State::label),
        channels: pairs(Channel::ALL, Channel::as_str, Channel::label),
        categories: pairs(Category::ALL, Category::as_str, Category::label),
        streets,
        can_create: principal.can(crate::COMPLAINT, Action::Create),
        filter,
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "complaints_new.html")]
struct NewPage {
    chrome: Chrome,
    channels: Vec<(&'static str, &'static str)>,
    categories: Vec<(&'static str, &'static str)>,
    streets: Vec<(i64, String)>,
    /// The enterprise complained about, chosen by name (for roles that may read the registry).
    enterprise: Option<kernel::picker::Picker>,
    error: Option<String>,
}

/// Suggestions the enterprise picker lists before anything is typed.
const ENTERPRISE_PICKER_OPTIONS: u32 = 100;

/// The intake form's enterprise picker: the enterprises the caller may see (a street officer's street), by
/// name; `None` for a role that may not read the registry.
async fn enterprise_picker(
    state: &AppState,
    principal: &Principal,
) -> AppResult<Option<kernel::picker::Picker>> {
    if !principal.can(registry::ENTERPRISE, Action::Read) {
        return Ok(None);
    }
    let first = registry::service::list_enterprises(
        &state.db,
        principal,
        &registry::model::EnterpriseFilter::default(),
        &PageQuery {
            page: Some(1),
            per_page: Some(ENTERPRISE_PICKER_OPTIONS),
        },
    )
    .await?;
    Ok(Some(kernel::picker::Picker {
        label: "被投诉企业（可空）",
        text_name: "enterprise",
        id_name: "enterprise_id",
        text: String::new(),
        id: String::new(),
        api: "/api/v1/enterprises",
        label_fields: "name",
        options: first.items.into_iter().map(|e| (e.id, e.name)).collect(),
        placeholder: "名称或信用代码",
        required: false,
        error: None,
    }))
}

async fn new_page_with(
    state: &AppState,
    principal: &Principal,
    error: Option<String>,
) -> PageResult {
    principal.require(crate::COMPLAINT, Action::Create)?;
    let streets = service::street_choices(&state.db, principal).await?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = NewPage {
        chrome: Chrome::new(state, principal, "/complaints"),
        channels: pairs(Channel::ALL, Channel::as_str, Channel::label),
        categories: pairs(Category::ALL, Category::as_str, Category::label),
        streets,
        enterprise: enterprise_picker(state, principal).await?,
        error,
    };
    Ok((status, render(&page)?).into_response())
}

async fn new_page(AxState(state): AxState<AppState>, principal: Principal) -> PageResult {
    new_page_with(&state, &principal, None).await
}

#[derive(Deserialize)]
struct NewForm {
    channel: Option<String>,
    category: Option<String>,
    title: Option<String>,
    description: Option<String>,
    /// The enterprise picker: the id it filled in and the text typed.
    enterprise_id: Option<String>,
    enterprise: Option<String>,
    object_name: Option<String>,
    address: Option<String>,
    street_id: Option<String>,
    lon: Option<String>,
    lat: Option<String>,
    reporter_name: Option<String>,
    reporter_phone: Option<String>,
    anonymous: Option<String>,
    /// CST `YYYY-MM-DDTHH:MM` from a datetime-local input.
    received_at: Option<String>,
    /// `YYYY-MM-DD` (inspection handovers).
    handover_deadline: Option<String>,
    handover_ref: Option<String>,
}

fn form_datetime(field: &str, value: Option<&str>) -> AppResult<Option<i64>> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M")
            .map(|t| Some(kernel::time::cst_local_to_ts(t)))
            .map_err(|_| AppError::validation(field, "must be a date and time")),
    }
}

async fn new_submit(
    AxState(state): AxState<AppState>,
    principal: Principal,
    axum::Form(form): axum::Form<NewForm>,
) -> PageResult {
    let result = async {
        let picked =
            registry::service::Picked::new(form.enterprise_id.clone(), form.enterprise.clone());
        let enterprise_id = if picked.id.is_none() && picked.text.is_none() {
            None
        } else {
            registry::service::pick_enterprise(&state.db, &principal, "enterprise", &picked).await?
        };
        let new = NewComplaint {
            channel: form.channel.clone().unwrap_or_default(),
            category: form.category.clone().unwrap_or_default(),
            title: form.title.clone().unwrap_or_default(),
            description: form.description.clone().unwrap_or_default(),
            enterprise_id,
            object_name: form.object_name.clone(),
            address: form.address.clone(),
            street_id: kernel::validate::form_i64("street_id", form.street_id.as_deref())?,
            lon: kernel::validate::form_f64("lon", form.lon.as_deref())?,
            lat: kernel::validate::form_f64("lat", form.lat.as_deref())?,
            reporter_name: form.reporter_name.clone(),
            reporter_phone: form.reporter_phone.clone(),
            anonymous: form.anonymous.as_deref() == Some("1"),
            received_at: form_datetime("received_at", form.received_at.as_deref())?,
            handover_deadline: form.handover_deadline.clone(),
            handover_ref: form.handover_ref.clone(),
        };
        service::file_complaint(&state.db, Caller::User(&principal), new, false).await
    }
    .await;
    match result {
        Ok(created) => Ok(Redirect::to(&format!("/complaints/{}", created.id)).into_response()),
        Err(AppError::Validation { field, message }) => {
            new_page_with(&state, &principal, Some(format!("{field}: {message}"))).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "complaints_case.html")]
struct CasePage {
    chrome: Chrome,
    file: CaseFile,
    row: Row,
    /// (time, what, state change, event).
    timeline: Vec<(String, &'static str, String, TimelineEvent)>,
    links: Vec<(String, RepeatLink)>,
    streets: Vec<(i64, String)>,
    departments: Vec<(i64, String)>,
    satisfactions: Vec<(&'static str, &'static str)>,
    /// Which action forms to show.
    can: Vec<&'static str>,
    error: Option<String>,
    accepted: String,
    replied: String,
}

impl CasePage {
    fn extension_status(&self, status: &str) -> &'static str {
        extension_status(status)
    }

    fn c(&self) -> &Complaint {
        &self.file.case.complaint
    }

    fn may(&self, action: &str) -> bool {
        self.can.contains(&action)
    }
}

fn state_label(code: &Option<String>) -> &'static str {
    code.as_deref()
        .and_then(State::parse)
        .map_or("", State::label)
}

/// A timeline line in Chinese: what happened and the state change.
fn timeline_row(e: &TimelineEvent) -> (String, &'static str, String, TimelineEvent) {
    let what = match e.kind.as_str() {
        "intake" => "登记",
        "transition" => "流转",
        "site_check" => "现场核查",
        "extension_request" => "申请延期",
        "extension_decision" => "延期审批",
        "escalation" => "逾期督办",
        "duty_routing" => "值班转办",
        "repeat_link" => "重复信访",
        "evidence" => "证据材料",
        "calendar" => "日历调整",
        "handover_deadline" => "交办期限调整",
        _ => "其他",
    };
    let change = match (&e.from_state, &e.to_state) {
        (Some(_), Some(_)) => format!(
            "{} → {}",
            state_label(&e.from_state),
            state_label(&e.to_state)
        ),
        (None, Some(_)) => state_label(&e.to_state).to_string(),
        _ => String::new(),
    };
    (e.at_cst.clone(), what, change, e.clone())
}

/// The page names people (姓名), not the usernames the case file keeps (the API keeps those).
async fn name_people(state: &AppState, file: &mut CaseFile) -> kernel::AppResult<()> {
    let names = {
        let usernames = file
            .timeline
            .iter()
            .map(|e| e.actor.as_str())
            .chain(file.extensions.iter().flat_map(|e| {
                std::iter::once(e.requested_by.as_str()).chain(e.decided_by.as_deref())
            }))
            .chain(file.evidence.iter().map(|e| e.uploaded_by.as_str()));
        kernel::people::names(state, usernames).await?
    };
    for e in &mut file.timeline {
        e.actor = names.name(&e.actor);
    }
    for e in &mut file.extensions {
        e.requested_by = names.name(&e.requested_by);
        e.decided_by = e.decided_by.as_deref().map(|by| names.name(by));
    }
    for e in &mut file.evidence {
        e.uploaded_by = names.name(&e.uploaded_by);
    }
    Ok(())
}

/// The label of an extension's status.
fn extension_status(status: &str) -> &'static str {
    match status {
        "pending" => "待审批",
        "approved" => "已批准",
        _ => "未批准",
    }
}

/// The action forms the caller's role can use on a case in its state (the service checks again).
fn possible_actions(principal: &Principal, file: &CaseFile) -> Vec<&'static str> {
    use kernel::Role::*;
    let c = &file.case.complaint;
    let role = principal.role;
    let intake = matches!(role, Petition | Admin);
    let handler = matches!(role, Petition | Admin | Enforcement | StreetOfficer);
    let mut out = Vec::new();
    let s = c.state;
    if intake && s.after(Transition::Accept).is_some() {
        out.extend(["accept", "not_accept"]);
    }
    if intake && s.after(Transition::Assign).is_some() {
        out.push("assign");
    }
    if handler && s.after(Transition::StartHandling).is_some() {
        out.push("start_handling");
    }
    if handler && s == State::InHandling {
        out.extend(["site_check", "reply"]);
    }
    if intake && s == State::Replied {
        out.push("close");
        if c.reopen_count < service::MAX_REOPENINGS {
            out.push("reopen");
        }
    }
    let extension_open = file.extensions.iter().any(|e| e.status != "rejected");
    if handler && s.handling_clock_runs() && !extension_open && c.handover_deadline.is_none() {
        out.push("request_extension");
    }
    if matches!(role, Leader | Admin) && file.extensions.iter().any(|e| e.status == "pending") {
        out.push("decide_extension");
    }
    if principal.can(crate::COMPLAINT, Action::Update) && !s.is_final() {
        out.push("evidence");
    }
    if intake && c.handover_deadline.is_some() && !s.is_final() {
        out.push("handover_deadline");
    }
    out
}

async fn case_page_with(
    state: &AppState,
    principal: &Principal,
    id: i64,
    error: Option<String>,
) -> PageResult {
    let mut file = service::case_file(&state.db, principal, id, today()).await?;
    name_people(state, &mut file).await?;
    let c = &file.case.complaint;
    let accepted = c.accepted_at.map(format_cst).unwrap_or_default();
    let replied = c.replied_at.map(format_cst).unwrap_or_default();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = CasePage {
        chrome: Chrome::new(state, principal, "/complaints"),
        can: possible_actions(principal, &file),
        timeline: file.timeline.iter().map(timeline_row).collect(),
        links: file
            .links
            .iter()
            .map(|l| (format_cst(l.other_received_at), l.clone()))
            .collect(),
        row: row(file.case.clone()),
        streets: registry::service::streets(&state.db)
            .await?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect(),
        departments: service::department_choices(&state.db).await?,
        satisfactions: pairs(Satisfaction::ALL, Satisfaction::as_str, Satisfaction::label),
        error,
        accepted,
        replied,
        file,
    };
    Ok((status, render(&page)?).into_response())
}

async fn case_page(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> PageResult {
    case_page_with(&state, &principal, id, None).await
}

/// The fields of every action form; `action` says which one was sent.
#[derive(Deserialize)]
struct ActionForm {
    action: String,
    note: Option<String>,
    reason: Option<String>,
    street_id: Option<String>,
    department_id: Option<String>,
    inspectors: Option<String>,
    findings: Option<String>,
    violation_found: Option<String>,
    result: Option<String>,
    measures: Option<String>,
    penalty_case_ref: Option<String>,
    satisfaction: Option<String>,
    days: Option<String>,
    approve: Option<String>,
    deadline: Option<String>,
}

fn text(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

impl ActionForm {
    fn to_action(&self) -> AppResult<CaseAction> {
        Ok(match self.action.as_str() {
            "accept" => CaseAction::Accept {
                note: self.note.clone(),
            },
            "not_accept" => CaseAction::NotAccept {
                reason: text(&self.reason),
            },
            "assign" => CaseAction::Assign {
                street_id: kernel::validate::form_i64("street_id", self.street_id.as_deref())?,
                department_id: kernel::validate::form_i64(
                    "department_id",
                    self.department_id.as_deref(),
                )?,
                note: self.note.clone(),
            },
            "start_handling" => CaseAction::StartHandling {
                note: self.note.clone(),
            },
            "site_check" => CaseAction::SiteCheck {
                checked_at: None,
                inspectors: text(&self.inspectors),
                findings: text(&self.findings),
                violation_found: self.violation_found.as_deref() == Some("1"),
            },
            "reply" => CaseAction::Reply {
                result: text(&self.result),
                measures: text(&self.measures),
                penalty_case_ref: self.penalty_case_ref.clone(),
            },
            "close" => CaseAction::Close {
                satisfaction: self
                    .satisfaction
                    .as_deref()
                    .and_then(Satisfaction::parse)
                    .ok_or_else(|| {
                        AppError::validation("satisfaction", "choose the reporter's evaluation")
                    })?,
                note: self.note.clone(),
            },
            "reopen" => CaseAction::Reopen {
                reason: text(&self.reason),
            },
            "request_extension" => CaseAction::RequestExtension {
                days: kernel::validate::form_i64("days", self.days.as_deref())?
                    .ok_or_else(|| AppError::validation("days", "is required"))?,
                reason: text(&self.reason),
            },
            "decide_extension" => CaseAction::DecideExtension {
                approve: self.approve.as_deref() == Some("1"),
                note: self.note.clone(),
            },
            "handover_deadline" => CaseAction::ChangeHandoverDeadline {
                deadline: text(&self.deadline),
                note: self.note.clone(),
            },
            other => {
                return Err(AppError::validation(
                    "action",
                    format!("unknown action {other:?}"),
                ));
            }
        })
    }
}

async fn action_submit(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    axum::Form(form): axum::Form<ActionForm>,
) -> PageResult {
    let result = async {
        let action = form.to_action()?;
        service::act(&state.db, Caller::User(&principal), id, action, now_ts()).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/complaints/{id}")).into_response()),
        Err(AppError::Validation { field, message }) => {
            case_page_with(&state, &principal, id, Some(format!("{field}: {message}"))).await
        }
        Err(AppError::Conflict(message)) => {
            case_page_with(&state, &principal, id, Some(message)).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn evidence_page_upload(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    multipart: Multipart,
) -> PageResult {
    let result = async {
        service::require_case_taking_evidence(&state.db, &principal, id).await?;
        let (name, bytes) = read_upload(multipart).await?;
        evidence::store(
            &state.db,
            &state.config.data_dir,
            &principal,
            id,
            &name,
            &bytes,
        )
        .await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/complaints/{id}")).into_response()),
        Err(AppError::Validation { field, message }) => {
            case_page_with(&state, &principal, id, Some(format!("{field}: {message}"))).await
        }
        Err(AppError::Conflict(message)) => {
            case_page_with(&state, &principal, id, Some(message)).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "complaints_map.html")]
struct MapPage {
    chrome: Chrome,
    year: i32,
    month: String,
    category: String,
    categories: Vec<(&'static str, &'static str)>,
    /// The points as JSON, for the chart (askama escapes it into the data attribute).
    points_json: String,
    /// Every category's label in order, so that the map gives each category the same colour every month.
    category_labels_json: String,
    /// The district's code, for the base map's boundary (`/map/district.geojson`).
    district_code: String,
    count: usize,
}

async fn map_page(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> PageResult {
    let year = q.year.unwrap_or_else(|| today().year());
    let points = service::map_points(
        &state.db,
        &principal,
        year,
        q.month.as_deref(),
        q.category.as_deref(),
    )
    .await?;
    let labelled: Vec<serde_json::Value> = points
        .iter()
        .map(|p| serde_json::json!([p.lon, p.lat, p.category.label(), p.case_no, p.id, p.month]))
        .collect();
    let district_code = registry::service::the_district(&state.db)
        .await?
        .map(|d| d.code)
        .unwrap_or_default();
    let category_labels: Vec<&str> = Category::ALL.iter().map(|c| c.label()).collect();
    let page = MapPage {
        chrome: Chrome::new(&state, &principal, "/complaints"),
        year,
        month: q.month.clone().unwrap_or_default(),
        category: q.category.clone().unwrap_or_default(),
        categories: pairs(Category::ALL, Category::as_str, Category::label),
        points_json: serde_json::to_string(&labelled)?,
        category_labels_json: serde_json::to_string(&category_labels)?,
        district_code,
        count: points.len(),
    };
    render(&page)
}

#[derive(Template)]
#[template(path = "complaints_stats.html")]
struct StatsPage {
    chrome: Chrome,
    stats: Statistics,
    persistent: Vec<(PersistentSource, String)>,
    can_escalate: bool,
    max_month: i64,
}

async fn stats_page(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> PageResult {
    let year = q.year.unwrap_or_else(|| today().year());
    let stats = service::statistics(&state.db, &principal, year, today()).await?;
    let persistent = service::persistent_sources(&state.db, &principal, now_ts())
        .await?
        .into_iter()
        .map(|p| {
            let last = format_cst(p.last_received_at);
            (p, last)
        })
        .collect();
    let page = StatsPage {
        chrome: Chrome::new(&state, &principal, "/complaints"),
        max_month: stats
            .by_month
            .iter()
            .map(|c| c.count)
            .max()
            .unwrap_or(0)
            .max(1),
        can_escalate: matches!(
            principal.role,
            kernel::Role::Admin | kernel::Role::Leader | kernel::Role::Petition
        ),
        stats,
        persistent,
    };
    render(&page)
}

/// The "督办逾期案件" button: escalates every overdue case, then shows the escalated list.
async fn escalate_submit(AxState(state): AxState<AppState>, principal: Principal) -> PageResult {
    principal.require(crate::COMPLAINT, Action::Read)?;
    service::escalate_overdue(&state.db, Caller::User(&principal), now_ts()).await?;
    Ok(Redirect::to("/complaints?due=escalated").into_response())
}

#[derive(Template)]
#[template(path = "complaints_settings.html")]
struct SettingsPage {
    chrome: Chrome,
    settings: Settings,
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
    principal.require(crate::COMPLAINT, Action::Read)?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = SettingsPage {
        chrome: Chrome::new(state, principal, "/complaints"),
        settings: service::settings(&state.db).await?,
        can_edit: matches!(principal.role, kernel::Role::Admin | kernel::Role::Petition),
        message,
        error,
    };
    Ok((status, render(&page)?).into_response())
}

async fn settings_page(AxState(state): AxState<AppState>, principal: Principal) -> PageResult {
    settings_page_with(&state, &principal, None, None).await
}

impl SettingsPage {
    fn hhmm(&self, minute: &i64) -> String {
        format!("{:02}:{:02}", minute / 60, minute % 60)
    }
}

#[derive(Deserialize)]
struct SettingsForm {
    repeat_window_days: Option<String>,
    repeat_distance_m: Option<String>,
    due_soon_working_days: Option<String>,
    office_start: Option<String>,
    office_end: Option<String>,
    persistent_min_cases: Option<String>,
    persistent_window_days: Option<String>,
}

/// `HH:MM` → minutes after midnight.
fn form_minutes(field: &str, value: Option<&str>) -> AppResult<i64> {
    let text = value.unwrap_or("").trim();
    chrono::NaiveTime::parse_from_str(text, "%H:%M")
        .map(|t| i64::from(chrono::Timelike::hour(&t) * 60 + chrono::Timelike::minute(&t)))
        .map_err(|_| AppError::validation(field, "must be a time HH:MM"))
}

async fn settings_submit(
    AxState(state): AxState<AppState>,
    principal: Principal,
    axum::Form(form): axum::Form<SettingsForm>,
) -> PageResult {
    let result = async {
        let int = |field: &str, value: &Option<String>| -> AppResult<i64> {
            kernel::validate::form_i64(field, value.as_deref())?
                .ok_or_else(|| AppError::validation(field, "is required"))
        };
        let new = Settings {
            repeat_window_days: int("repeat_window_days", &form.repeat_window_days)?,
            repeat_distance_m: kernel::validate::form_f64(
                "repeat_distance_m",
                form.repeat_distance_m.as_deref(),
            )?
            .ok_or_else(|| AppError::validation("repeat_distance_m", "is required"))?,
            due_soon_working_days: int("due_soon_working_days", &form.due_soon_working_days)?,
            office_start_minute: form_minutes("office_start", form.office_start.as_deref())?,
            office_end_minute: form_minutes("office_end", form.office_end.as_deref())?,
            persistent_min_cases: int("persistent_min_cases", &form.persistent_min_cases)?,
            persistent_window_days: int("persistent_window_days", &form.persistent_window_days)?,
        };
        service::update_settings(&state.db, &principal, new).await
    }
    .await;
    match result {
        Ok(_) => settings_page_with(&state, &principal, Some("已保存".to_string()), None).await,
        Err(AppError::Validation { field, message }) => {
            settings_page_with(
                &state,
                &principal,
                None,
                Some(format!("{field}: {message}")),
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "complaints_duty.html")]
struct DutyPage {
    chrome: Chrome,
    shifts: Vec<DutyShift>,
    roles: Vec<(&'static str, &'static str)>,
    can_edit: bool,
    error: Option<String>,
}

async fn duty_page_with(
    state: &AppState,
    principal: &Principal,
    error: Option<String>,
) -> PageResult {
    let now = now_ts();
    let shifts = service::shifts(
        &state.db,
        principal,
        now - 2 * kernel::time::DAY_SECONDS,
        now + 30 * kernel::time::DAY_SECONDS,
    )
    .await?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = DutyPage {
        chrome: Chrome::new(state, principal, "/complaints"),
        shifts,
        roles: pairs(DutyRole::ALL, DutyRole::as_str, DutyRole::label),
        can_edit: principal.can(crate::DUTY_ROSTER, Action::Create),
        error,
    };
    Ok((status, render(&page)?).into_response())
}

async fn duty_page(AxState(state): AxState<AppState>, principal: Principal) -> PageResult {
    duty_page_with(&state, &principal, None).await
}

#[derive(Deserialize)]
struct DutyForm {
    starts_at: Option<String>,
    ends_at: Option<String>,
    duty_role: Option<String>,
    person_name: Option<String>,
    phone: Option<String>,
    note: Option<String>,
}

async fn duty_submit(
    AxState(state): AxState<AppState>,
    principal: Principal,
    axum::Form(form): axum::Form<DutyForm>,
) -> PageResult {
    let result = async {
        let new = NewDutyShift {
            starts_at: form_datetime("starts_at", form.starts_at.as_deref())?
                .ok_or_else(|| AppError::validation("starts_at", "is required"))?,
            ends_at: form_datetime("ends_at", form.ends_at.as_deref())?
                .ok_or_else(|| AppError::validation("ends_at", "is required"))?,
            duty_role: form
                .duty_role
                .as_deref()
                .and_then(DutyRole::parse)
                .ok_or_else(|| AppError::validation("duty_role", "is required"))?,
            user_id: None,
            person_name: text(&form.person_name),
            phone: text(&form.phone),
            note: text(&form.note),
        };
        service::add_shift(&state.db, Caller::User(&principal), new, false).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to("/complaints/duty").into_response()),
        Err(AppError::Validation { field, message }) => {
            duty_page_with(&state, &principal, Some(format!("{field}: {message}"))).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn duty_delete(
    AxState(state): AxState<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> PageResult {
    match service::delete_shift(&state.db, &principal, id).await {
        Ok(()) => Ok(Redirect::to("/complaints/duty").into_response()),
        Err(AppError::Conflict(message)) => duty_page_with(&state, &principal, Some(message)).await,
        Err(other) => Err(other.into()),
    }
}
