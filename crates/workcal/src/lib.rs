//! The official working-day calendar as data (工作日历): per year the rest days (放假, with the holiday's name)
//! and the make-up working days (调休上班), and the year's status — official (正式, entered from the State
//! Council's notice 国务院办公厅关于…年部分节假日安排的通知, named with its reference) or provisional (暂定，待国务院
//! 通知). The administrator enters each year when the notice is out (`/admin/calendar`,
//! `/api/v1/calendar/years`); everyone reads it.
//!
//! The arithmetic is [`kernel::calendar::Calendar`]; this crate stores the years, seeds them from the years
//! compiled into kernel (migration `20261201000006_working_calendar.sql`), and keeps the built calendar in
//! memory on the [`kernel::Db`] ([`service::calendar`]), refreshed on every change, so statutory clocks never
//! query per case. Years after the first stored one that are not stored are provisional by rule
//! ([`kernel::calendar::rule_rest_days`]); a deadline that relies on such a year must say so.

pub mod http;
pub mod model;
pub mod repo;
pub mod service;

// ---- The area's self-description (kernel::area; listed in crates/areas) ----

use kernel::Resource;
use kernel::area::{Area, NavItem};
use kernel::auth::{Action, Role};

/// 工作日历: the official working-day calendar (holidays and make-up working days) statutory clocks count by.
pub const WORKING_CALENDAR: Resource =
    Resource::new("working_calendar", "工作日历", working_calendar_policy);

/// The administrator enters each year from the State Council's notice; every bureau role reads it.
fn working_calendar_policy(role: Role, action: Action) -> bool {
    match role {
        Role::Admin => true,
        Role::Public => false,
        _ => action == Action::Read,
    }
}

/// The official working-day calendar.
pub const AREA: Area = Area {
    routes: http::routes,
    api_doc: <http::ApiDoc as utoipa::OpenApi>::openapi,
    resources: &[WORKING_CALENDAR],
    // Shown to those who keep it (the administrator); everyone else meets the calendar in the deadlines.
    nav: &[NavItem {
        path: "/admin/calendar",
        label: "工作日历",
        resource: Some(WORKING_CALENDAR),
        action: Action::Update,
        order: 91,
    }],
    ..Area::named("workcal", "工作日历")
};
