//! Station and section pages (站点断面, `/stations`): what a monitoring officer or a leader opens to look at one
//! place. For an air station: its recent hourly series, the daily AQI calendar of a year (HJ 633, the edition
//! in force each day), the days over AQI 100 and the pollutants behind them, and the data coverage month by
//! month (valid days under GB 3095, valid hours). For a water section: its class month by month (GB 3838, the
//! 2011 method) with CWQI and main pollutants, the key items against their class-III limits, and how many months
//! were sampled. The figures come from `air::service` and `water::service`; this area only arranges them.
//! `audit` is the data-audit (数据审核) page of any point: a day's raw and audited values, corrections with their
//! reasons, and the month's confirmation.

pub mod audit;
pub mod http;
pub mod model;
pub mod service;

// ---- The area's self-description (kernel::area; listed in crates/areas) ----

use kernel::area::{Area, NavItem};

/// The per-place pages of air stations and water sections.
pub const AREA: Area = Area {
    routes: http::routes,
    api_doc: <http::ApiDoc as utoipa::OpenApi>::openapi,
    nav: &[NavItem::reading(
        "/stations",
        "站点断面",
        readings::READING,
        20,
    )],
    // The registry's points with their readings.
    kept_answers: kernel::area::KeptAnswers::of(&["/stations", "/api/v1/stations"]),
    ..Area::named("stations", "站点断面")
};
