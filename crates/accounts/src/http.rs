//! Login and logout pages, user administration and the audit log (pages and `/api/v1` JSON).

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use kernel::audit::{AuditFilter, AuditRecord};
use kernel::auth::MaybePrincipal;
use kernel::web::{ApiJson, ApiPath, ApiQuery, Chrome, PageResult, render};
use kernel::{Action, AppError, AppResult, AppState, Page, PageQuery, Principal, Role};
use serde::{Deserialize, Serialize};

use crate::model::{ApiToken, IssuedToken, NewToken, NewUser, User, UserUpdate};
use crate::service::{self, Actor};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "qs_session";
/// Set at logout in demo mode, so that the next visit shows the login page instead of logging in again.
pub const DEMO_LOGGED_OUT_COOKIE: &str = "qs_demo_out";

/// Demo accounts shown on the demo's login page (the README lists the same).
pub const DEMO_PASSWORD: &str = "qingshan-demo";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/admin/users", get(users_page).post(users_create))
        .route("/admin/users/{id}", post(users_update))
        .route("/admin/audit", get(audit_page))
        .route("/api/v1/me", get(api_me))
        .route("/api/v1/users", get(api_list_users).post(api_create_user))
        .route("/api/v1/users/{id}", get(api_get_user).put(api_update_user))
        .route(
            "/api/v1/tokens",
            get(api_list_tokens).post(api_create_token),
        )
        .route(
            "/api/v1/tokens/{id}",
            axum::routing::delete(api_revoke_token),
        )
        .route("/api/v1/audit", get(api_audit))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api_me, api_list_users, api_create_user, api_get_user, api_update_user, api_list_tokens, api_create_token,
          api_revoke_token, api_audit),
    components(responses(kernel::error::ProblemResponse), schemas(User, NewUser, UserUpdate, ApiToken, IssuedToken, NewToken, Me, AuditRecord, kernel::error::Problem)),
    tags((name = "accounts", description = "用户、令牌与审计日志 Users, tokens and the audit log"))
)]
pub struct ApiDoc;

/// The client's address for login throttling and the audit log (`local` in in-process tests); behind a
/// trusted proxy, from `X-Forwarded-For` (see [`kernel::client`]).
pub use kernel::client::ClientAddr;

pub fn session_cookie(value: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Reads one cookie from the request headers.
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The longest post-login destination kept (longer ones are no link of ours).
const NEXT_MAX_LEN: usize = 2048;

/// Only a local path may be a post-login destination; anything else goes to `/`.
///
/// Browsers are lenient with what they are redirected to: they drop tabs and newlines from URLs (so
/// `/\t/evil.example` is `//evil.example`, another site), read `\` as `/`, and some decode `%2F`. So the
/// value must start with one `/`, contain no `//` and no backslash, and be visible ASCII only — checked on the
/// value and again on its percent-decoded form — and it must fit a header (a newline made the redirect a
/// 500, issue 12).
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if is_local_path(n) => n,
        _ => "/",
    }
}

fn is_local_path(next: &str) -> bool {
    if next.len() > NEXT_MAX_LEN || !next.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let decoded = percent_decode(next.as_bytes());
    [next.as_bytes(), decoded.as_slice()].iter().all(|path| {
        path.starts_with(b"/")
            && !path.windows(2).any(|w| w == b"//")
            && !path.contains(&b'\\')
            // Decoded, UTF-8 beyond ASCII is a legitimate path; control characters and spaces are not.
            && !path.iter().any(|b| b.is_ascii_control() || *b == b' ')
    })
}

/// `%XX` → the byte (malformed escapes stay as they are).
fn percent_decode(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (input[i], input.get(i + 1), input.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let (h, l) = (hex(h).unwrap_or(0), hex(l).unwrap_or(0));
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'%'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

// --- login ----------------------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    next: String,
    username: String,
    error: Option<String>,
    demo: bool,
    demo_users: Vec<(&'static str, &'static str, &'static str)>,
    demo_password: &'static str,
}

/// (username, display name, role label) of the demo's users; the demo generator creates exactly these.
pub const DEMO_USERS: &[(&str, &str, Role, Option<&str>)] = &[
    ("admin", "系统管理员", Role::Admin, None),
    ("leader", "王局长", Role::Leader, None),
    ("monitor", "李监测", Role::Monitoring, None),
    ("enforcer", "张执法", Role::Enforcement, None),
    ("waste", "赵固废", Role::SolidWaste, None),
    ("petition", "刘信访", Role::Petition, None),
    (
        "street-zgz",
        "陈干事（张贵庄街道）",
        Role::StreetOfficer,
        Some("张贵庄街道"),
    ),
    (
        "street-hm",
        "周干事（华明街道）",
        Role::StreetOfficer,
        Some("华明街道"),
    ),
    ("public", "公众访客", Role::Public, None),
];

fn login_page_for(
    state: &AppState,
    next: &str,
    username: &str,
    error: Option<String>,
) -> LoginPage {
    LoginPage {
        next: next.to_string(),
        username: username.to_string(),
        error,
        demo: state.config.demo,
        demo_users: DEMO_USERS
            .iter()
            .map(|(u, name, role, _)| (*u, *name, role.label()))
            .collect(),
        demo_password: DEMO_PASSWORD,
    }
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> PageResult {
    render(&login_page_for(
        &state,
        safe_next(q.next.as_deref()),
        "",
        None,
    ))
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

async fn login_submit(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    Form(form): Form<LoginForm>,
) -> PageResult {
    let next = safe_next(form.next.as_deref()).to_string();
    match service::login(&state, &form.username, &form.password, &client).await {
        Ok(session) => {
            let cookie = session_cookie(
                &session.cookie_value,
                state.config.session_idle_seconds,
                state.config.secure_cookies,
            );
            let clear_demo = format!("{DEMO_LOGGED_OUT_COOKIE}=; Path=/; Max-Age=0");
            let mut response = Redirect::to(&next).into_response();
            let headers = response.headers_mut();
            for value in [cookie, clear_demo] {
                if let Ok(v) = value.parse() {
                    headers.append(header::SET_COOKIE, v);
                }
            }
            Ok(response)
        }
        Err(
            err @ (AppError::Unauthorized
            | AppError::TooManyRequests { .. }
            | AppError::Validation { .. }),
        ) => {
            let (status, message, retry_after) = match &err {
                AppError::TooManyRequests {
                    retry_after_seconds,
                } => {
                    let wait = if *retry_after_seconds < 60 {
                        format!("{retry_after_seconds} 秒")
                    } else {
                        format!("{} 分钟", retry_after_seconds.div_ceil(60))
                    };
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        format!("登录失败次数过多，请 {wait}后再试"),
                        Some(*retry_after_seconds),
                    )
                }
                AppError::Validation { .. } => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "用户名格式不正确".to_string(),
                    None,
                ),
                _ => (
                    StatusCode::UNAUTHORIZED,
                    "用户名或密码错误，或账号已停用".to_string(),
                    None,
                ),
            };
            // The username goes back into the form only when it is one (not a control character's carrier).
            let shown = if matches!(err, AppError::Validation { .. }) {
                ""
            } else {
                form.username.as_str()
            };
            let page = login_page_for(&state, &next, shown, Some(message));
            let mut response = (status, render(&page)?).into_response();
            if let Some(seconds) = retry_after
                && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
            {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Ok(response)
        }
        Err(other) => Err(other.into()),
    }
}

async fn logout(
    State(state): State<AppState>,
    MaybePrincipal(principal): MaybePrincipal,
    headers: HeaderMap,
) -> PageResult {
    if let Some(value) = cookie_value(&headers, SESSION_COOKIE) {
        service::logout(&state, value, principal.as_ref()).await?;
    }
    let mut response = Redirect::to("/login").into_response();
    let mut cookies = vec![format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
    )];
    if state.config.demo {
        cookies.push(format!(
            "{DEMO_LOGGED_OUT_COOKIE}=1; Path=/; SameSite=Lax; Max-Age=86400"
        ));
    }
    for value in cookies {
        if let Ok(v) = value.parse() {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

// --- user administration (pages) ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    chrome: Chrome,
    users: Vec<UserView>,
    streets: Vec<(i64, String)>,
    roles: Vec<(&'static str, &'static str)>,
    message: Option<String>,
    error: Option<String>,
}

struct UserView {
    user: User,
    role_label: &'static str,
    street: String,
}

impl UserView {
    fn has_street(&self, id: &i64) -> bool {
        self.user.street_id == Some(*id)
    }
}

async fn streets(state: &AppState) -> AppResult<Vec<(i64, String)>> {
    Ok(registry::service::streets(&state.db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect())
}

async fn users_page_with(
    state: &AppState,
    principal: &Principal,
    message: Option<String>,
    error: Option<String>,
) -> PageResult {
    let users = service::list_users(&state.db, principal).await?;
    let streets = streets(state).await?;
    let street_name = |id: Option<i64>| {
        id.and_then(|id| streets.iter().find(|(s, _)| *s == id))
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    let users = users
        .into_iter()
        .map(|user| UserView {
            role_label: user.role.label(),
            street: street_name(user.street_id),
            user,
        })
        .collect();
    let page = UsersPage {
        chrome: Chrome::new(state, principal, "/admin/users"),
        users,
        streets,
        roles: Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect(),
        message,
        error,
    };
    let status = if page.error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, render(&page)?).into_response())
}

async fn users_page(State(state): State<AppState>, principal: Principal) -> PageResult {
    users_page_with(&state, &principal, None, None).await
}

#[derive(Deserialize)]
struct UserForm {
    username: Option<String>,
    display_name: Option<String>,
    password: Option<String>,
    role: Option<String>,
    street_id: Option<String>,
    active: Option<String>,
}

fn form_role(value: Option<&str>) -> AppResult<Option<Role>> {
    match value.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => Role::parse(v)
            .map(Some)
            .ok_or_else(|| AppError::validation("role", format!("unknown role {v:?}"))),
    }
}

async fn users_create(
    State(state): State<AppState>,
    principal: Principal,
    Form(form): Form<UserForm>,
) -> PageResult {
    let result = async {
        let new = NewUser {
            username: form.username.clone().unwrap_or_default(),
            display_name: form.display_name.clone().unwrap_or_default(),
            password: form.password.clone().unwrap_or_default(),
            role: form_role(form.role.as_deref())?
                .ok_or_else(|| AppError::validation("role", "is required"))?,
            street_id: kernel::validate::form_i64("street_id", form.street_id.as_deref())?,
            department_id: None,
        };
        service::create_user(&state.db, Actor::Principal(&principal), new).await
    }
    .await;
    match result {
        Ok(user) => {
            users_page_with(
                &state,
                &principal,
                Some(format!("已创建用户 {}", user.username)),
                None,
            )
            .await
        }
        Err(AppError::Validation { field, message }) => {
            users_page_with(
                &state,
                &principal,
                None,
                Some(format!("{field}: {message}")),
            )
            .await
        }
        Err(AppError::Conflict(message)) => {
            users_page_with(&state, &principal, None, Some(message)).await
        }
        Err(other) => Err(other.into()),
    }
}

async fn users_update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    Form(form): Form<UserForm>,
) -> PageResult {
    let result = async {
        let street_id = kernel::validate::form_i64("street_id", form.street_id.as_deref())?;
        let change = UserUpdate {
            display_name: form.display_name.clone().filter(|s| !s.trim().is_empty()),
            role: form_role(form.role.as_deref())?,
            street_id,
            clear_street: street_id.is_none() && form.street_id.is_some(),
            department_id: None,
            active: form.active.as_deref().map(|v| v == "1"),
            password: form.password.clone().filter(|p| !p.is_empty()),
        };
        service::update_user(&state.db, Actor::Principal(&principal), id, change).await
    }
    .await;
    match result {
        Ok(user) => {
            users_page_with(
                &state,
                &principal,
                Some(format!("已更新用户 {}", user.username)),
                None,
            )
            .await
        }
        Err(AppError::Validation { field, message }) => {
            users_page_with(
                &state,
                &principal,
                None,
                Some(format!("{field}: {message}")),
            )
            .await
        }
        Err(AppError::Conflict(message)) => {
            let page = users_page_with(&state, &principal, None, Some(message)).await?;
            let (mut parts, body) = page.into_parts();
            parts.status = StatusCode::CONFLICT;
            Ok(Response::from_parts(parts, body))
        }
        Err(other) => Err(other.into()),
    }
}

// --- audit log (page) -----------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    filter: AuditFilterForm,
    records: Page<AuditRecord>,
    pager_base: String,
    page: u32,
    pages: u32,
    total: i64,
    /// The actor filter's choices: (username, 姓名（username）), the users first, then the platform's own
    /// actors.
    actors: Vec<(String, String)>,
    /// Each record's actor as 姓名（username）, by record id.
    actor_names: std::collections::HashMap<i64, String>,
    /// The users' names by id, for entries about a user.
    user_names: std::collections::HashMap<String, String>,
}

/// The audit log's record kinds and actions in Chinese (the codes the areas write stay in the log and the
/// API); a code not listed is shown as written.
const ENTITY_LABELS: &[(&str, &str)] = &[
    ("user", "用户"),
    ("api_token", "接口令牌"),
    ("street", "街道"),
    ("department", "部门"),
    ("district", "区县"),
    ("enterprise", "企业"),
    ("enterprise_identifier", "企业标识"),
    ("site", "厂区"),
    ("outlet", "排放口"),
    ("monitoring_point", "监测点位"),
    ("device", "监测设备"),
    ("alarm", "报警"),
    ("alarm_lead", "执法线索"),
    ("outlet_permit", "排污许可"),
    ("complaint", "信访件"),
    ("complaint_settings", "信访设置"),
    ("duty_shift", "值班"),
    ("target", "年度目标"),
    ("ranking_settings", "排名设置"),
    ("data_month", "数据审核月份"),
    ("reading_retention", "数据保留"),
    ("hj212_key", "设备密钥"),
    ("hj212_quarantine", "隔离报文"),
    ("packet", "报文"),
];

const ACTION_LABELS: &[(&str, &str)] = &[
    ("create", "新建"),
    ("update", "修改"),
    ("delete", "删除"),
    ("login", "登录"),
    ("login_failed", "登录失败"),
    ("logout", "退出"),
    ("seed", "预置"),
    ("status", "变更状态"),
    ("lock", "确认"),
    ("reopen", "重新开放"),
    ("dismiss", "驳回"),
    ("register", "登记"),
    ("issue", "签发"),
    ("token_revoke", "吊销令牌"),
    ("evidence_upload", "上传证据"),
];

fn label_of(table: &[(&str, &'static str)], code: &str) -> String {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map_or_else(|| code.to_string(), |(_, label)| (*label).to_string())
}

impl AuditPage {
    fn action_of(&self, record: &AuditRecord) -> String {
        label_of(ACTION_LABELS, &record.action)
    }

    /// The record the entry is about: its kind in Chinese and its number, or a user's name.
    fn entity_of(&self, record: &AuditRecord) -> String {
        let kind = label_of(ENTITY_LABELS, &record.entity);
        match self.user_names.get(&record.entity_id) {
            Some(name) if record.entity == "user" => format!("{kind} {name}"),
            _ => format!("{kind} #{}", record.entity_id),
        }
    }

    fn actor_of(&self, record: &AuditRecord) -> String {
        self.actor_names
            .get(&record.id)
            .cloned()
            .unwrap_or_else(|| record.actor.clone())
    }

    /// The link that lists every entry about the same record.
    fn same_record_href(&self, record: &AuditRecord) -> String {
        let query = serde_urlencoded::to_string([
            ("entity", record.entity.as_str()),
            ("entity_id", record.entity_id.as_str()),
        ])
        .unwrap_or_default();
        format!("/admin/audit?{query}")
    }
}

#[derive(Deserialize, Serialize, Default)]
struct AuditFilterForm {
    actor: Option<String>,
    action: Option<String>,
    entity: Option<String>,
    entity_id: Option<String>,
    q: Option<String>,
    /// CST dates, as typed into the form.
    from: Option<String>,
    to: Option<String>,
}

impl AuditFilterForm {
    fn to_filter(&self) -> AppResult<AuditFilter> {
        let day = |field: &str, value: &Option<String>| -> AppResult<Option<i64>> {
            match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => kernel::time::parse_date(v)
                    .map(|d| Some(kernel::time::cst_day_start(d)))
                    .ok_or_else(|| AppError::validation(field, "must be a date YYYY-MM-DD")),
            }
        };
        Ok(AuditFilter {
            actor: self.actor.clone(),
            action: self.action.clone(),
            entity: self.entity.clone(),
            entity_id: self.entity_id.clone(),
            q: self.q.clone(),
            from: day("from", &self.from)?,
            to: day("to", &self.to)?.map(|t| t + kernel::time::DAY_SECONDS),
        })
    }

    fn value(&self, field: &Option<String>) -> String {
        field.clone().unwrap_or_default()
    }
}

async fn audit_page(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(form): ApiQuery<AuditFilterForm>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> PageResult {
    principal.require(crate::AUDIT_LOG, Action::Read)?;
    let records = kernel::audit::search(&state.db, &form.to_filter()?, &page).await?;
    let query = serde_urlencoded::to_string(&form).unwrap_or_default();
    let names =
        kernel::people::names(&state, records.items.iter().map(|r| r.actor.as_str())).await?;
    let actor_names = records
        .items
        .iter()
        .map(|r| (r.id, names.name_and_username(&r.actor)))
        .collect();
    // Whom to filter by is chosen by name: the users, then the platform's own actors.
    let users = service::list_users(&state.db, &principal).await?;
    let user_names = users
        .iter()
        .map(|u| (u.id.to_string(), u.display_name.clone()))
        .collect();
    let mut actors: Vec<(String, String)> = users
        .into_iter()
        .map(|u| {
            let label = format!("{}（{}）", u.display_name, u.username);
            (u.username, label)
        })
        .collect();
    actors.extend(
        kernel::people::SYSTEM_ACTORS
            .iter()
            .map(|(code, label)| (code.to_string(), label.to_string())),
    );
    let page = AuditPage {
        chrome: Chrome::new(&state, &principal, "/admin/audit"),
        actors,
        actor_names,
        user_names,
        pager_base: format!("/admin/audit?{query}&"),
        page: records.page,
        pages: records.pages().max(1),
        total: records.total,
        filter: form,
        records,
    };
    render(&page)
}

// --- API ------------------------------------------------------------------------------------------------

#[derive(Serialize, utoipa::ToSchema)]
struct Me {
    user_id: i64,
    username: String,
    display_name: String,
    role: Role,
    street_id: Option<i64>,
    /// Present for browser sessions: send it as `X-CSRF-Token` on unsafe requests.
    csrf_token: Option<String>,
}

/// The caller.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", responses((status = 200, body = Me), (status = 401, response = kernel::error::ProblemResponse)))]
async fn api_me(principal: Principal) -> ApiJson<Me> {
    ApiJson(Me {
        user_id: principal.user_id,
        username: principal.username.clone(),
        display_name: principal.display_name.clone(),
        role: principal.role,
        street_id: principal.street_id,
        csrf_token: principal.csrf_token().map(str::to_string),
    })
}

/// All users (admin).
#[utoipa::path(get, path = "/api/v1/users", tag = "accounts", responses((status = 200, body = [User]), (status = 403, response = kernel::error::ProblemResponse)))]
async fn api_list_users(
    State(state): State<AppState>,
    principal: Principal,
) -> AppResult<ApiJson<Vec<User>>> {
    Ok(ApiJson(service::list_users(&state.db, &principal).await?))
}

/// Creates a user (admin).
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = NewUser,
    responses((status = 201, body = User), (status = 409, response = kernel::error::ProblemResponse), (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_create_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(new): ApiJson<NewUser>,
) -> AppResult<Response> {
    let user = service::create_user(&state.db, Actor::Principal(&principal), new).await?;
    let location = format!("/api/v1/users/{}", user.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        ApiJson(user),
    )
        .into_response())
}

/// One user (admin).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "accounts", params(("id" = i64, Path)), responses((status = 200, body = User), (status = 403, response = kernel::error::ProblemResponse), (status = 404, response = kernel::error::ProblemResponse)))]
async fn api_get_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<ApiJson<User>> {
    Ok(ApiJson(service::get_user(&state.db, &principal, id).await?))
}

/// Changes a user (admin): name, role, street, active, password.
#[utoipa::path(put, path = "/api/v1/users/{id}", tag = "accounts", params(("id" = i64, Path)), request_body = UserUpdate,
    responses((status = 200, body = User), (status = 404, response = kernel::error::ProblemResponse),
        (status = 409, body = kernel::error::Problem, content_type = "application/problem+json", description = "would leave no active administrator"),
        (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_update_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    ApiJson(change): ApiJson<UserUpdate>,
) -> AppResult<ApiJson<User>> {
    Ok(ApiJson(
        service::update_user(&state.db, Actor::Principal(&principal), id, change).await?,
    ))
}

/// The caller's API tokens (never the secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "accounts", responses((status = 200, body = [ApiToken])))]
async fn api_list_tokens(
    State(state): State<AppState>,
    principal: Principal,
) -> AppResult<ApiJson<Vec<ApiToken>>> {
    Ok(ApiJson(service::tokens_of(&state.db, &principal).await?))
}

/// Issues an API token for the caller; the secret is shown only in this response. `days` sets its lifetime
/// (default 90, at most 365 unless configured otherwise); `expires_at` in the response says when it ends.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "accounts", request_body = NewToken,
    responses((status = 201, body = IssuedToken), (status = 422, response = kernel::error::ProblemResponse)))]
async fn api_create_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(new): ApiJson<NewToken>,
) -> AppResult<Response> {
    if principal.is_public() {
        return Err(AppError::forbidden(
            "the public role cannot hold API tokens",
        ));
    }
    let issued = service::create_token_with(
        &state.db,
        Actor::Principal(&principal),
        &principal.username,
        &new.name,
        new.days,
        service::TokenLifetime::of(&state.config),
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(issued)).into_response())
}

/// Revokes a token (one's own, or any as admin).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "accounts", params(("id" = i64, Path)), responses((status = 204), (status = 404, response = kernel::error::ProblemResponse)))]
async fn api_revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> AppResult<StatusCode> {
    service::revoke_token(&state.db, &principal, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Searches the audit log (admin).
#[utoipa::path(get, path = "/api/v1/audit", tag = "accounts", params(AuditFilter, PageQuery),
    responses((status = 200, body = Page<AuditRecord>), (status = 403, response = kernel::error::ProblemResponse)))]
async fn api_audit(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<AuditFilter>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> AppResult<ApiJson<Page<AuditRecord>>> {
    principal.require(crate::AUDIT_LOG, Action::Read)?;
    Ok(ApiJson(
        kernel::audit::search(&state.db, &filter, &page).await?,
    ))
}
