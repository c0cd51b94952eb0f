//! The district registry (基础信息库): the master data every other area refers to.
//!
//! - 区 / 街道 / 部门 — the district, its 11 streets, the bureau's departments and external agencies.
//! - 企业 — enterprises, keyed by the 统一社会信用代码 (USCC, GB 32100-2015), with industry (国民经济行业分类),
//!   street, 重点排污单位 status, 企业状态 history, 厂区 (sites) and 排放口 (outlets).
//! - One record per enterprise links every program's identifier (排污许可证编号, 危险废物编码, 污染源编码,
//!   应急预案备案编号, and the HJ 212 MNs of its devices): the ECHO pattern, shown as the 企业环境档案 (profile).
//! - 监测点位 — air stations (国控/市控/区控/微站), water sections (断面) and monitored outlets; 监测设备 —
//!   HJ 212 data loggers (MN, password, protocol version, CRC mode) feeding a point.
//!
//! Street officers (街道干部) see and edit only their street's enterprises; the public sees streets, air stations and
//! water sections only. Every change writes an audit entry in the same transaction.

pub mod http;
pub mod messages;
pub mod model;
pub mod repo;
pub mod service;
pub mod sheet;
pub mod workbook;

// ---- The area's self-description (kernel::area; listed in crates/areas) ----

use kernel::Resource;
use kernel::area::{Area, NavItem};
use kernel::auth::{Action, Role};

/// 街道与部门: the district, its streets and the bureau's departments.
pub const ORGANISATION: Resource = Resource::new("organisation", "街道与部门", organisation_policy);
/// 企业: enterprises and their sites and outlets.
pub const ENTERPRISE: Resource = Resource::new("enterprise", "企业", enterprise_policy);
/// 监测点位: air stations, water sections, outlets' monitoring points.
pub const MONITORING_POINT: Resource =
    Resource::new("monitoring_point", "监测点位", monitoring_point_policy);
/// 监测设备: data loggers and analysers, with their HJ 212 identity.
pub const DEVICE: Resource = Resource::new("device", "监测设备", device_policy);

/// Everyone reads the organisation (the public too: street names appear on public pages); the administrator
/// keeps it.
fn organisation_policy(role: Role, action: Action) -> bool {
    role == Role::Admin || action == Action::Read
}

/// Enforcement and solid waste keep enterprises; a street officer registers and updates those of their street
/// (street scoping on top); nobody but the administrator deletes one. Not public.
fn enterprise_policy(role: Role, action: Action) -> bool {
    match role {
        Role::Admin => true,
        Role::Enforcement | Role::SolidWaste | Role::StreetOfficer => action != Action::Delete,
        Role::Leader | Role::Monitoring | Role::Petition => action == Action::Read,
        Role::Public => false,
    }
}

/// The monitoring department keeps the points; everyone reads them (the public sees air stations and water
/// sections on the public pages).
fn monitoring_point_policy(role: Role, action: Action) -> bool {
    match role {
        Role::Admin => true,
        Role::Monitoring => action != Action::Delete,
        _ => action == Action::Read,
    }
}

/// The monitoring department keeps the devices; enforcement, solid waste and leaders read them. Device
/// identities are not for the petition office, street officers or the public.
fn device_policy(role: Role, action: Action) -> bool {
    match role {
        Role::Admin => true,
        Role::Monitoring => action != Action::Delete,
        Role::Leader | Role::Enforcement | Role::SolidWaste => action == Action::Read,
        Role::Petition | Role::StreetOfficer | Role::Public => false,
    }
}

/// The registry: the master data every area refers to.
pub const AREA: Area = Area {
    routes: http::routes,
    api_doc: http::api_doc,
    resources: &[ORGANISATION, ENTERPRISE, MONITORING_POINT, DEVICE],
    nav: &[
        NavItem::reading("/registry/enterprises", "企业", ENTERPRISE, 60),
        NavItem::reading("/registry/points", "监测点位", MONITORING_POINT, 61),
        NavItem::reading("/registry/devices", "监测设备", DEVICE, 62),
        NavItem::reading("/registry/organisation", "街道与部门", ORGANISATION, 64),
    ],
    // Every change of the registry is audited.
    kept_answers: kernel::area::KeptAnswers::of(&[
        "/registry/enterprises",
        "/registry/points",
        "/registry/devices",
        "/registry/organisation",
        "/api/v1/district",
        "/api/v1/streets",
        "/api/v1/departments",
        "/api/v1/enterprises",
        "/api/v1/outlets",
        "/api/v1/points",
        "/api/v1/devices",
    ]),
    ..Area::named("registry", "基础信息")
};
