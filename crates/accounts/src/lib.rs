//! Accounts: users (用户) and their roles (角色), browser sessions, API tokens (接口令牌), login throttling,
//! and the audit log's search pages (审计日志). The web layer calls [`service::authenticate_session`] and
//! [`service::authenticate_token`] on every request to turn a cookie or a bearer token into a
//! [`kernel::Principal`].

pub mod http;
pub mod model;
pub mod repo;
pub mod service;

pub use model::{NewUser, User};

// ---- The area's self-description (kernel::area; listed in crates/areas) ----

use kernel::Resource;
use kernel::area::{Area, BoxFuture, NavItem};
use kernel::auth::{Action, Role};

/// 用户: the platform's users and their roles.
pub const USER: Resource = Resource::new("user", "用户", administrator_only);
/// 审计日志: the audit log of every change.
pub const AUDIT_LOG: Resource = Resource::new("audit_log", "审计日志", administrator_only);

/// Users and the audit log are the administrator's alone.
fn administrator_only(role: Role, _action: Action) -> bool {
    role == Role::Admin
}

/// Users, sessions, tokens and the audit-log pages.
pub const AREA: Area = Area {
    routes: http::routes,
    api_doc: <http::ApiDoc as utoipa::OpenApi>::openapi,
    resources: &[USER, AUDIT_LOG],
    nav: &[
        NavItem::reading("/admin/users", "用户", USER, 90),
        NavItem::reading("/admin/audit", "审计日志", AUDIT_LOG, 92),
    ],
    jobs: &[kernel::area::Job {
        name: "session and login-failure sweep",
        every: std::time::Duration::from_secs(3600),
        run: sweep,
    }],
    ..Area::named("accounts", "用户与审计")
};

/// Removes expired sessions and login failures past the throttle window.
fn sweep(state: kernel::AppState) -> BoxFuture<anyhow::Result<()>> {
    Box::pin(async move {
        let now = kernel::time::now_ts();
        repo::delete_expired_sessions(&state.db, now).await?;
        service::prune_login_failures(&state.db, &state.config, now).await?;
        Ok(())
    })
}
