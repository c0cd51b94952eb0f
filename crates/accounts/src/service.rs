//! Account rules: who may create users, password policy, login with throttling, sessions and tokens.
//! No HTTP types here: the web layer passes in strings and gets back principals.

/// Who performs an administrative change: a logged-in principal or the command line.
pub use kernel::audit::Actor;
use kernel::audit::{self, AuditEntry};
use kernel::auth::AuthMethod;
use kernel::password::{
    self, check_password_policy, constant_time_eq, random_secret, secret_digest,
};
use kernel::state::AppConfig;
use kernel::time::{DAY_SECONDS, now_ts};
use kernel::validate;
use kernel::{Action, AppError, AppResult, AppState, Db, Principal, Role};

use crate::model::{ApiToken, IssuedToken, NewUser, User, UserUpdate};
use crate::repo;

fn validate_username(username: &str) -> AppResult<String> {
    let username = validate::required("username", username, 64)?;
    if !username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(AppError::validation(
            "username",
            "may contain only ASCII letters, digits, '-', '_' and '.'",
        ));
    }
    Ok(username)
}

async fn street_exists(db: &Db, id: i64) -> AppResult<bool> {
    registry::service::street_exists_in(&mut *db.pool().acquire().await?, id).await
}

async fn check_street_for_role(db: &Db, role: Role, street_id: Option<i64>) -> AppResult<()> {
    match (role, street_id) {
        (Role::StreetOfficer, None) => Err(AppError::validation(
            "street_id",
            "a street officer must belong to a street",
        )),
        (_, Some(id)) if !street_exists(db, id).await? => Err(AppError::validation(
            "street_id",
            format!("no street with id {id}"),
        )),
        _ => Ok(()),
    }
}

pub async fn create_user(db: &Db, actor: Actor<'_>, new: NewUser) -> AppResult<User> {
    actor.require(crate::USER, Action::Create)?;
    let username = validate_username(&new.username)?;
    let display_name = validate::required("display_name", &new.display_name, 64)?;
    check_password_policy(&new.password, &username)
        .map_err(|m| AppError::validation("password", m))?;
    check_street_for_role(db, new.role, new.street_id).await?;
    let hash = password::hash(&new.password).await?;
    let now = now_ts();
    let mut tx = db.begin_write().await?;
    let id = repo::insert_user(
        &mut *tx,
        &username,
        &display_name,
        &hash,
        new.role,
        new.street_id,
        new.department_id,
        now,
    )
    .await
    .map_err(|e| {
        if kernel::db::is_unique_violation(&e) {
            AppError::Conflict(format!("username {username:?} is taken"))
        } else {
            e.into()
        }
    })?;
    let user = User {
        id,
        username,
        display_name,
        role: new.role,
        street_id: new.street_id,
        department_id: new.department_id,
        active: true,
        created_at: now,
        updated_at: now,
    };
    audit::record(
        &mut *tx,
        &actor
            .entry("create", "user", id)
            .summary(format!(
                "created user {} ({})",
                user.username,
                user.role.as_str()
            ))
            .after(&user),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// Why a change that would leave no active administrator is refused (shown on the users page as it is).
pub const LAST_ADMIN_MESSAGE: &str = "至少要保留一名启用的系统管理员，不能停用或降级最后一名 (the last active administrator cannot be deactivated or demoted)";

pub async fn update_user(
    db: &Db,
    actor: Actor<'_>,
    id: i64,
    change: UserUpdate,
) -> AppResult<User> {
    actor.require(crate::USER, Action::Update)?;
    let before = repo::user_by_id(db, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("user {id} not found")))?;
    let mut after = before.clone();
    if let Some(name) = &change.display_name {
        after.display_name = validate::required("display_name", name, 64)?;
    }
    if let Some(role) = change.role {
        after.role = role;
    }
    if change.clear_street {
        after.street_id = None;
    } else if change.street_id.is_some() {
        after.street_id = change.street_id;
    }
    if change.department_id.is_some() {
        after.department_id = change.department_id;
    }
    if let Some(active) = change.active {
        after.active = active;
    }
    check_street_for_role(db, after.role, after.street_id).await?;
    let new_hash = match &change.password {
        Some(new_password) => {
            check_password_policy(new_password, &before.username)
                .map_err(|m| AppError::validation("password", m))?;
            Some(password::hash(new_password).await?)
        }
        None => None,
    };
    let now = now_ts();
    after.updated_at = now;
    let mut tx = db.begin_write().await?;
    // A change that could remove an administrator is checked inside the write transaction, with the
    // administrators' rows locked, so that two concurrent changes cannot each count on "another"
    // administrator that the other one removes.
    let admins_before = if after.role == Role::Admin && after.active {
        None
    } else {
        repo::lock_active_admins(&mut *tx).await?;
        Some(repo::count_active_admins(&mut *tx).await?)
    };
    repo::update_user(&mut *tx, &after, now).await?;
    if admins_before.is_some_and(|n| n > 0) && repo::count_active_admins(&mut *tx).await? == 0 {
        return Err(AppError::Conflict(LAST_ADMIN_MESSAGE.to_string()));
    }
    if let Some(hash) = &new_hash {
        repo::set_password_hash(&mut *tx, id, hash, now).await?;
    }
    // A changed role, street, password or deactivation must take effect now, not at the next login.
    if new_hash.is_some()
        || before.role != after.role
        || before.street_id != after.street_id
        || !after.active
    {
        repo::delete_user_sessions(&mut *tx, id).await?;
    }
    let mut summary = format!("updated user {}", after.username);
    if new_hash.is_some() {
        summary.push_str(" (password changed)");
    }
    audit::record(
        &mut *tx,
        &actor
            .entry("update", "user", id)
            .summary(summary)
            .before(&before)
            .after(&after),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn set_password(
    db: &Db,
    actor: Actor<'_>,
    username: &str,
    password: &str,
) -> AppResult<()> {
    let user = repo::user_by_username(db, username)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no user {username:?}")))?;
    update_user(
        db,
        actor,
        user.id,
        UserUpdate {
            password: Some(password.to_string()),
            ..Default::default()
        },
    )
    .await
    .map(|_| ())
}

pub async fn list_users(db: &Db, principal: &Principal) -> AppResult<Vec<User>> {
    principal.require(crate::USER, Action::Read)?;
    Ok(repo::list_users(db).await?)
}

/// The people behind stored usernames, for pages that show who acted (`kernel::people`, whose lookup this
/// is). No principal: a page names the people of records its caller may already see; a username not a user
/// (a system actor, a deleted account) is left out and shown as stored.
pub fn display_names<'a>(db: &'a Db, usernames: Vec<String>) -> kernel::people::Answer<'a> {
    Box::pin(async move {
        let mut out = Vec::with_capacity(usernames.len());
        // A page shows tens of names; the chunks keep any caller under the backends' parameter limits.
        for chunk in usernames.chunks(500) {
            out.extend(repo::display_names(db, chunk).await?);
        }
        Ok(out)
    })
}

pub async fn get_user(db: &Db, principal: &Principal, id: i64) -> AppResult<User> {
    principal.require(crate::USER, Action::Read)?;
    repo::user_by_id(db, id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("user {id} not found")))
}

/// A browser session handed out at login: the cookie value (secret) and the principal.
pub struct NewSession {
    pub cookie_value: String,
    pub principal: Principal,
}

/// The wait imposed on a client address with `failures` failures in the window: none up to
/// `login_max_failures`, then 2, 4, 8, … seconds after its latest failure, capped (see
/// `AppConfig::login_client_backoff_max_seconds`).
pub fn client_backoff_seconds(config: &AppConfig, failures: i64) -> i64 {
    let over = failures - i64::from(config.login_max_failures);
    if over <= 0 {
        return 0;
    }
    let cap = config.login_client_backoff_max_seconds.max(0);
    // 2^over overflows past 62; the cap is reached long before.
    1_i64
        .checked_shl(u32::try_from(over.min(62)).unwrap_or(62))
        .unwrap_or(i64::MAX)
        .min(cap)
}

fn retry_after(seconds: i64) -> AppError {
    AppError::TooManyRequests {
        retry_after_seconds: u64::try_from(seconds.max(1)).unwrap_or(1),
    }
}

/// Checks a username and password, throttled per username (a limit) and per client address (a backoff).
///
/// Each attempt first reserves its place: a failure row committed before the password is verified, and
/// counted with everyone else's after that commit. Whatever the interleaving, the last of any set of
/// verified attempts counts all of their rows, so at most `login_max_failures` verifications per username
/// happen in a window even when attempts arrive at once (issue 12: 40 concurrent wrong passwords were all
/// verified). A refused attempt withdraws its row, so refusals do not prolong the lock; a successful login
/// clears the username's failures. The verification itself runs on a blocking thread
/// ([`kernel::password::verify`]).
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
    client: &str,
) -> AppResult<NewSession> {
    let db = &state.db;
    let config = &state.config;
    let username = username.trim();
    // Anything that cannot be a username is refused before it reaches the throttle's table.
    if username.chars().count() > 64 || username.chars().any(char::is_control) {
        return Err(AppError::validation(
            "username",
            "用户名格式不正确 (not a username)",
        ));
    }
    let now = now_ts();
    let since = now - config.login_window_seconds;
    let max = i64::from(config.login_max_failures);

    // The client's backoff: a read of its settled failures is enough, it is a pace, not a limit (and the
    // attempts of colleagues at the same address being verified right now are no failures).
    let (client_failures, latest) = repo::client_failures_since(db, client, since).await?;
    let backoff = client_backoff_seconds(config, client_failures);
    if let Some(latest) = latest
        && now < latest + backoff
    {
        return Err(retry_after(latest + backoff - now));
    }

    let reservation = repo::reserve_login_attempt(db, username, client, now).await?;
    let (by_user, oldest) = repo::user_failures_since(db, username, since).await?;
    if by_user > max {
        repo::delete_login_attempt(db, reservation).await?;
        let oldest = oldest.unwrap_or(now);
        return Err(retry_after(oldest + config.login_window_seconds - now));
    }

    let row = repo::credentials(db, username).await?;
    // Verify against a dummy hash when the user does not exist, so timing does not reveal usernames.
    let password_ok =
        password::verify(password, row.as_ref().map(|r| r.password_hash.as_str())).await?;
    let Some(row) = row.filter(|r| password_ok && r.active) else {
        // The reservation stays, as this failure's record.
        repo::settle_login_failure(db, reservation).await?;
        audit::record(
            db.pool(),
            &AuditEntry::system(username, "login_failed", "user", username)
                .summary(format!("failed login from {client}")),
        )
        .await?;
        return Err(AppError::Unauthorized);
    };
    repo::clear_login_failures(db, username).await?;
    let secret = random_secret();
    let csrf_token = random_secret();
    repo::insert_session(
        db,
        &secret_digest(&secret),
        row.id,
        &csrf_token,
        now,
        now + config.session_idle_seconds,
    )
    .await?;
    let principal = Principal {
        user_id: row.id,
        username: row.username,
        display_name: row.display_name,
        role: row.role,
        street_id: row.street_id,
        department_id: row.department_id,
        method: AuthMethod::Session { csrf_token },
    };
    audit::record(
        db.pool(),
        &AuditEntry::by(&principal, "login", "user", principal.user_id)
            .summary(format!("login from {client}")),
    )
    .await?;
    Ok(NewSession {
        cookie_value: secret,
        principal,
    })
}

/// Starts a session for a user without a password: the demo's first visit only.
pub async fn demo_session(state: &AppState, username: &str) -> AppResult<NewSession> {
    if !state.config.demo {
        return Err(AppError::forbidden("仅演示模式可用"));
    }
    let row = repo::credentials(&state.db, username)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no demo user {username:?}")))?;
    let now = now_ts();
    let secret = random_secret();
    let csrf_token = random_secret();
    repo::insert_session(
        &state.db,
        &secret_digest(&secret),
        row.id,
        &csrf_token,
        now,
        now + state.config.session_idle_seconds,
    )
    .await?;
    Ok(NewSession {
        cookie_value: secret,
        principal: Principal {
            user_id: row.id,
            username: row.username,
            display_name: row.display_name,
            role: row.role,
            street_id: row.street_id,
            department_id: row.department_id,
            method: AuthMethod::Session { csrf_token },
        },
    })
}

async fn principal_for(db: &Db, user_id: i64, method: AuthMethod) -> AppResult<Option<Principal>> {
    let Some(user) = repo::user_by_id(db, user_id).await? else {
        return Ok(None);
    };
    if !user.active {
        return Ok(None);
    }
    Ok(Some(Principal {
        user_id: user.id,
        username: user.username,
        display_name: user.display_name,
        role: user.role,
        street_id: user.street_id,
        department_id: user.department_id,
        method,
    }))
}

/// The principal of a session cookie, or `None` for an unknown or expired session. Extends the session
/// while it is used (written at most once a minute).
pub async fn authenticate_session(
    state: &AppState,
    cookie_value: &str,
) -> AppResult<Option<Principal>> {
    let digest = secret_digest(cookie_value);
    let Some(session) = repo::session(&state.db, &digest).await? else {
        return Ok(None);
    };
    let now = now_ts();
    if session.expires_at <= now {
        repo::delete_session(&state.db, &digest).await?;
        return Ok(None);
    }
    if now - session.last_seen_at >= 60 {
        repo::touch_session(
            &state.db,
            &digest,
            now,
            now + state.config.session_idle_seconds,
        )
        .await?;
    }
    principal_for(
        &state.db,
        session.user_id,
        AuthMethod::Session {
            csrf_token: session.csrf_token,
        },
    )
    .await
}

pub async fn logout(
    state: &AppState,
    cookie_value: &str,
    principal: Option<&Principal>,
) -> AppResult<()> {
    repo::delete_session(&state.db, &secret_digest(cookie_value)).await?;
    if let Some(p) = principal {
        audit::record(
            state.db.pool(),
            &AuditEntry::by(p, "logout", "user", p.user_id),
        )
        .await?;
    }
    Ok(())
}

/// The principal of a bearer token; `None` for unknown, revoked or expired tokens.
pub async fn authenticate_token(db: &Db, token: &str) -> AppResult<Option<Principal>> {
    let Some(info) = repo::token_by_digest(db, &secret_digest(token)).await? else {
        return Ok(None);
    };
    let now = now_ts();
    if info.revoked_at.is_some() || info.expires_at.is_some_and(|at| at <= now) {
        return Ok(None);
    }
    if info.last_used_at.is_none_or(|at| now - at >= 60) {
        repo::touch_token(db, info.id, now).await?;
    }
    principal_for(db, info.user_id, AuthMethod::Token).await
}

/// How long tokens live: the lifetime when none is asked for, and the longest allowed.
#[derive(Debug, Clone, Copy)]
pub struct TokenLifetime {
    pub default_days: i64,
    pub max_days: i64,
}

impl TokenLifetime {
    pub fn of(config: &AppConfig) -> Self {
        TokenLifetime {
            default_days: config.api_token_default_days,
            max_days: config.api_token_max_days,
        }
    }
}

impl Default for TokenLifetime {
    fn default() -> Self {
        TokenLifetime::of(&AppConfig::default())
    }
}

/// Issues an API token for `username` with the default lifetimes ([`create_token_with`]).
pub async fn create_token(
    db: &Db,
    actor: Actor<'_>,
    username: &str,
    name: &str,
    days: Option<i64>,
) -> AppResult<IssuedToken> {
    create_token_with(db, actor, username, name, days, TokenLifetime::default()).await
}

/// Issues an API token for `username`: an admin may issue for anyone, others only for themselves. Every token
/// expires: after `days`, or the default lifetime; never later than the maximum.
pub async fn create_token_with(
    db: &Db,
    actor: Actor<'_>,
    username: &str,
    name: &str,
    days: Option<i64>,
    lifetime: TokenLifetime,
) -> AppResult<IssuedToken> {
    let user = repo::user_by_username(db, username)
        .await?
        .ok_or_else(|| AppError::not_found(format!("no user {username:?}")))?;
    if let Actor::Principal(p) = &actor
        && p.user_id != user.id
    {
        p.require(crate::USER, Action::Update)?;
    }
    let name = validate::required("name", name, 100)?;
    let max_days = lifetime.max_days.max(1);
    let days = match days {
        Some(d) if !(1..=max_days).contains(&d) => {
            return Err(AppError::validation(
                "days",
                format!("must be between 1 and {max_days}"),
            ));
        }
        Some(d) => d,
        None => lifetime.default_days.clamp(1, max_days),
    };
    let token = format!("qs_{}", random_secret());
    let now = now_ts();
    let mut tx = db.begin_write().await?;
    let info = repo::insert_token(
        &mut *tx,
        user.id,
        &name,
        &secret_digest(&token),
        now,
        Some(now + days * DAY_SECONDS),
    )
    .await?;
    audit::record(
        &mut *tx,
        &actor
            .entry("token_create", "api_token", info.id)
            .summary(format!(
                "token {:?} for {} ({days} days)",
                info.name, user.username
            ))
            .after(&info),
    )
    .await?;
    tx.commit().await?;
    Ok(IssuedToken { token, info })
}

/// Removes login failures that have left the throttle window (hourly housekeeping): they no longer count,
/// and the table would otherwise grow with every failed attempt for good.
pub async fn prune_login_failures(db: &Db, config: &AppConfig, now: i64) -> AppResult<u64> {
    Ok(repo::prune_login_failures(db, now - config.login_window_seconds).await?)
}

pub async fn tokens_of(db: &Db, principal: &Principal) -> AppResult<Vec<ApiToken>> {
    Ok(repo::tokens_of(db, principal.user_id).await?)
}

pub async fn revoke_token(db: &Db, principal: &Principal, id: i64) -> AppResult<()> {
    let own = repo::tokens_of(db, principal.user_id).await?;
    if !own.iter().any(|t| t.id == id) {
        principal.require(crate::USER, Action::Update)?;
    }
    let mut tx = db.begin_write().await?;
    if repo::revoke_token(&mut *tx, id, now_ts()).await? == 0 {
        return Err(AppError::not_found(format!("no active token {id}")));
    }
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "token_revoke", "api_token", id),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether a login form's token may be one we issued (`kernel::password::random_secret`: 43 URL-safe base64
/// characters); anything else in the cookie is replaced by a fresh token.
pub fn login_token_is_well_formed(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether a login form's submitted token equals its cookie's (the double submit of
/// `crates/accounts/src/http.rs`, `login_token_cookie`): both present, well formed and equal.
pub fn login_token_ok(cookie: Option<&str>, submitted: Option<&str>) -> bool {
    match (cookie, submitted) {
        (Some(cookie), Some(submitted)) => {
            login_token_is_well_formed(cookie) && constant_time_eq(cookie, submitted)
        }
        _ => false,
    }
}

/// Whether a submitted CSRF token matches the session's.
pub fn csrf_ok(principal: &Principal, submitted: Option<&str>) -> bool {
    match (&principal.method, submitted) {
        (AuthMethod::Token, _) => true,
        (AuthMethod::Session { csrf_token }, Some(s)) => constant_time_eq(csrf_token, s),
        (AuthMethod::Session { .. }, None) => false,
    }
}
