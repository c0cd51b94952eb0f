//! Analyses a regulator reads (数据分析), the openair family on the platform's audited hourly data: where does it
//! come from (pollution rose, bivariate polar plot), is it traffic or industry (time variation), how many good
//! days (AQI calendar), are we improving (Theil–Sen trend with Mann–Kendall), did the measure work (before/after).
//!
//! The computations are pure modules (no I/O): [`wind`], [`variation`], [`calendar`], [`trend`], [`compare`] on
//! top of [`stats`]. Around them the area's usual shape: `repo` reads hourly values through the readings store
//! (audited tier), `service` checks the caller and the parameters, `http` serves `/analysis` and
//! `/api/v1/analysis/…`. Methods and references: `docs/analysis.md`.

pub mod calendar;
pub mod compare;
pub mod http;
pub mod model;
pub mod repo;
pub mod service;
pub mod stats;
pub mod trend;
pub mod variation;
pub mod wind;

#[cfg(test)]
mod props;

// ---- The area's self-description (kernel::area; listed in crates/areas) ----

use kernel::area::{Area, NavItem};

/// The analyses of the audited hourly data.
pub const AREA: Area = Area {
    routes: http::routes,
    api_doc: <http::ApiDoc as utoipa::OpenApi>::openapi,
    nav: &[NavItem::reading(
        "/analysis",
        "数据分析",
        readings::READING,
        30,
    )],
    // The page lists the registry's points; its answers are kept by `http::answer` already.
    kept_answers: kernel::area::KeptAnswers::of(&["/analysis"]),
    ..Area::named("analysis", "数据分析")
};
