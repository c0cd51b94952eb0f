//! Rankings and bulletins (排名通报): the monthly ranking of the district's streets (街道) on air and water, and
//! the monthly bulletin (月度通报) built on it.
//!
//! Air: each street's micro-stations (空气微站) form an area (HJ 663 spatial mean per day, from
//! `air::service::area_days`); the month's PM2.5 mean, composite index (综合指数), good days (优良天数) and their
//! change against the same period last year (同比变化率, "改善率") come from `standards`. Water: each street's
//! sections give a street CWQI (城市水质指数 method, concentrations averaged first) and the share of sections
//! meeting their target class (断面达标率), from `water::service::section_results`. The streets are ranked by
//! weighted rank positions; the weighting is a setting kept by the monitoring department (监测科), with the
//! Tianjin district-ranking conventions as presets. The bulletin adds the district's month figures, the best and
//! worst streets and the targets' status, as a printable page, XLSX and PDF. See docs/bulletins.md.

pub mod export;
pub mod http;
pub mod model;
pub mod pdf;
pub mod ranking;
pub mod repo;
pub mod service;
pub mod sources;
pub mod view;

// ---- The area's self-description (kernel::area; listed in crates/areas) ----

use kernel::Resource;
use kernel::area::{Area, NavItem};
use kernel::auth::{Action, Role};

/// 排名与通报: monthly street rankings and bulletins.
pub const BULLETIN: Resource = Resource::new("bulletin", "排名与通报", bulletin_policy);

/// The monitoring department issues the bulletins; every bureau role reads them (street officers their
/// street's part). Not public.
fn bulletin_policy(role: Role, action: Action) -> bool {
    match role {
        Role::Admin => true,
        Role::Monitoring => action != Action::Delete,
        Role::Public => false,
        _ => action == Action::Read,
    }
}

/// Rankings and bulletins.
pub const AREA: Area = Area {
    routes: http::routes,
    api_doc: <http::ApiDoc as utoipa::OpenApi>::openapi,
    resources: &[BULLETIN],
    nav: &[NavItem::reading("/rankings", "排名通报", BULLETIN, 40)],
    ..Area::named("bulletins", "排名与通报")
};
