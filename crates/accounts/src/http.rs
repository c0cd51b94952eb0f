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
/// The login page's path. Its form is checked here, by its own token (see [`login_token_cookie`]), not by a
/// session's CSRF token: the browser that logs in may have no session, or another user's.
pub const LOGIN_PATH: &str = "/login";
/// The logout form's path. A stale logout form (the user logged in again in another tab since the page was
/// opened) must still log out: the web layer accepts it without the session's token when the browser says it
/// comes from our own page (`Sec-Fetch-Site: same-origin`); another site can at most log a user out, and cannot
/// send that header.
pub const LOGOUT_PATH: &str = "/logout";

/// The cookie that carries the login form's token. Login CSRF (an attacker's page logs the victim's browser
/// in to the attacker's account, so that what the victim then types lands in it) is prevented as the OWASP
/// CSRF Prevention Cheat Sheet advises for login forms, with a pre-session token: `GET /login` sets a random
/// token in this cookie and in the form's `_csrf` field, and `POST /login` is refused unless both are sent
/// and equal (double submit: another site can make the browser post, but can neither read nor choose the
/// cookie). `SameSite=Lax` keeps the cookie off another site's posts as well. Behind HTTPS the name takes the
/// `__Host-` prefix (RFC 6265bis §4.1.3.2), which a sibling subdomain cannot set: with it, an attacker who
/// controls `evil.example.gov.cn` cannot plant a token of their own ("cookie tossing"). The browser's
/// `Sec-Fetch-Site` is checked on top ([`login_is_from_our_pages`]).
pub fn login_token_cookie(secure: bool) -> &'static str {
    if secure {
        "__Host-qs_login"
    } else {
        "qs_login"
    }
}

/// How long a login page's token stays valid: a day, so that a login page left open overnight still works
/// (an expired one is answered with a fresh login page, never an error).
const LOGIN_TOKEN_SECONDS: i64 = 24 * 3600;

/// Demo accounts shown on the demo's login page (the README lists the same).
pub const DEMO_PASSWORD: &str = "qingshan-demo";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(LOGIN_PATH, get(login_page).post(login_submit))
        .route(LOGOUT_PATH, post(logout))
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
    /// The login form's own CSRF token (the cookie's value; see [`login_token_cookie`]).
    login_token: String,
    /// Who this browser is logged in as already ("王局长（局领导）"), if anyone: logging in replaces them.
    signed_in_as: Option<String>,
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
    form: &LoginFormState,
    next: &str,
    username: &str,
    error: Option<String>,
) -> LoginPage {
    LoginPage {
        next: next.to_string(),
        username: username.to_string(),
        error,
        login_token: form.token.clone(),
        signed_in_as: form
            .signed_in
            .as_ref()
            .map(|p| format!("{}（{}）", p.display_name, p.role.label())),
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
    MaybePrincipal(signed_in): MaybePrincipal,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<NextQuery>,
) -> PageResult {
    let form = LoginFormState::of(&state, &headers, signed_in);
    let page = login_page_for(&state, &form, safe_next(q.next.as_deref()), "", None);
    Ok(form.with_cookie(&state, render(&page)?))
}

/// What a login page needs of the request: the form's token (the browser's own, while it is well formed, so
/// that two login tabs share it; a fresh one otherwise) and who is logged in already.
struct LoginFormState {
    token: String,
    signed_in: Option<Principal>,
}

impl LoginFormState {
    fn of(state: &AppState, headers: &HeaderMap, signed_in: Option<Principal>) -> Self {
        let token = cookie_value(headers, login_token_cookie(state.config.secure_cookies))
            .filter(|t| service::login_token_is_well_formed(t))
            .map(str::to_string)
            .unwrap_or_else(kernel::password::random_secret);
        LoginFormState { token, signed_in }
    }

    /// The response with the token's cookie (set again on every login page, which renews its day).
    fn with_cookie(&self, state: &AppState, mut response: Response) -> Response {
        let secure = state.config.secure_cookies;
        let cookie = format!(
            "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={LOGIN_TOKEN_SECONDS}{}",
            login_token_cookie(secure),
            self.token,
            if secure { "; Secure" } else { "" }
        );
        if let Ok(value) = cookie.parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        response
    }
}

/// Whether the browser says the login form was posted from one of our own pages: `Sec-Fetch-Site` (Fetch
/// Metadata, which every current browser sends) must be `same-origin`, or `none` (the user's own action, such
/// as a bookmark). Another site's page (`cross-site`) or a sibling subdomain (`same-site`) is refused — the
/// OWASP cheat sheet's "Fetch Metadata" defence, in depth behind the token. A client that sends no such
/// header (an older browser, a script) is judged by the token alone.
fn login_is_from_our_pages(headers: &HeaderMap) -> bool {
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        None => true,
        Some(site) => matches!(site, "same-origin" | "none"),
    }
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
    /// The login form's token ([`login_token_cookie`]).
    #[serde(rename = "_csrf")]
    token: Option<String>,
}

async fn login_submit(
    State(state): State<AppState>,
    MaybePrincipal(signed_in): MaybePrincipal,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> PageResult {
    let next = safe_next(form.next.as_deref()).to_string();
    let page_state = LoginFormState::of(&state, &headers, signed_in);
    let cookie_token = cookie_value(&headers, login_token_cookie(state.config.secure_cookies));
    if !login_is_from_our_pages(&headers)
        || !service::login_token_ok(cookie_token, form.token.as_deref())
    {
        // A form from another site, or a login page older than its token: a fresh login page (with a fresh
        // token when the old one is gone) instead of an error, and nothing of the attempt is kept.
        let page = login_page_for(
            &state,
            &page_state,
            &next,
            "",
            Some("登录页面已过期或来源无法确认，请重新输入用户名和密码登录。".to_string()),
        );
        let response = (StatusCode::FORBIDDEN, render(&page)?).into_response();
        return Ok(page_state.with_cookie(&state, response));
    }
    if form.username.trim().is_empty() || form.password.is_empty() {
        let page = login_page_for(
            &state,
            &page_state,
            &next,
            form.username.trim(),
            Some("请输入用户名和密码。".to_string()),
        );
        let response = (StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response();
        return Ok(page_state.with_cookie(&state, response));
    }
    match service::login(&state, &form.username, &form.password, &client).await {
        Ok(session) => {
            // Logging in from a browser that is logged in already replaces that session: it ends here
            // (audited as a logout), instead of living on unused until it expires.
            if let Some(old) = cookie_value(&headers, SESSION_COOKIE) {
                service::logout(&state, old, page_state.signed_in.as_ref()).await?;
            }
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
            let page = login_page_for(&state, &page_state, &next, shown, Some(message));
            let mut response =
                page_state.with_cookie(&state, (status, render(&page)?).into_response());
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
        return Err(AppError::forbidden("公众账号不能持有 API 令牌"));
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
