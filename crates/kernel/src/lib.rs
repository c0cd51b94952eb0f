//! Shared foundation of every area: time (UTC stored, China Standard Time at the edges), database access for
//! SQLite and PostgreSQL through one portable SQL dialect, the authenticated principal and its roles, the
//! JSON problem error type, paging, passwords and the audit log.
//!
//! Areas (registry, accounts, air, water, complaints, …) depend on this crate; it depends on none of them.

pub mod area;
pub mod audit;
pub mod auth;
pub mod byte_scan;
pub mod cache;
pub mod calendar;
pub mod client;
pub mod db;
pub mod error;
pub mod export;
pub mod file_error;
pub mod page;
pub mod password;
pub mod people;
pub mod picker;
pub mod rng;
pub mod secrets;
pub mod state;
pub mod time;
pub mod validate;
pub mod web;

pub use area::Area;
pub use auth::{Action, Principal, Resource, Role};
pub use db::{Backend, Db};
pub use error::{AppError, AppResult};
pub use page::{Page, PageQuery};
pub use state::AppState;
