//! Accounts: users (用户) and their roles (角色), browser sessions, API tokens (接口令牌), login throttling,
//! and the audit log's search pages (审计日志). The web layer calls [`service::authenticate_session`] and
//! [`service::authenticate_token`] on every request to turn a cookie or a bearer token into a
//! [`kernel::Principal`].

pub mod http;
pub mod model;
pub mod repo;
pub mod service;

pub use model::{NewUser, User};
