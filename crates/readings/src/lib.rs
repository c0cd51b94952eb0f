//! Monitoring data (issue 4): the readings store, platform roll-ups with coverage, the audit tier (数据审核)
//! with month confirmation, file imports, the `/api/v1` readings API and the demo's simulated air history.
//!
//! The logical model is narrow ([`Reading`]: point, factor, time, period, value, flag); the stored layout is
//! one wide sparse row per (point, period, time) — see `migrations/*/20261201000003_readings.sql` and
//! `docs/readings.md`.

pub mod audit;
pub mod export;
pub mod factors;
pub mod http;
pub mod import;
pub mod model;
pub mod points;
pub mod retention;
pub mod rollup;
pub mod service;
pub mod simulate;
pub mod station_files;
pub mod store;

pub use model::{Cell, DataFlag, Period, Reading};
pub use store::{DirtyDay, Row, WriteOutcome};

// ---- The area's self-description (kernel::area; listed in crates/areas) ----

use kernel::Resource;
use kernel::area::{Area, BoxFuture};
use kernel::auth::{Action, Role};

/// 监测数据: readings, roll-ups and exports; the point's kind and street narrow it further.
pub const READING: Resource = Resource::new("reading", "监测数据", reading_policy);
/// 数据审核: corrections of readings and month confirmation.
pub const DATA_AUDIT: Resource = Resource::new("data_audit", "数据审核", data_audit_policy);

/// The monitoring department pushes, corrects and confirms; everyone else reads (street officers only their
/// street's points, the public only air stations and water sections: the handlers check the kind); nobody
/// deletes readings.
fn reading_policy(role: Role, action: Action) -> bool {
    match role {
        Role::Admin => true,
        Role::Monitoring => action != Action::Delete,
        _ => action == Action::Read,
    }
}

/// Corrections are the monitoring department's; leaders read them.
fn data_audit_policy(role: Role, action: Action) -> bool {
    match role {
        Role::Admin => true,
        Role::Monitoring => action != Action::Delete,
        Role::Leader => action == Action::Read,
        _ => false,
    }
}

/// The monitoring data store.
pub const AREA: Area = Area {
    routes: http::routes,
    api_doc: <http::ApiDoc as utoipa::OpenApi>::openapi,
    resources: &[READING, DATA_AUDIT],
    jobs: &[kernel::area::Job {
        name: "retention sweep",
        every: std::time::Duration::from_secs(3600),
        run: sweep,
    }],
    demo: Some(demo_step),
    // The registry's points with what the readings hold of them.
    kept_answers: kernel::area::KeptAnswers::of(&[
        "/api/v1/readings/latest",
        "/api/v1/readings/factors",
    ]),
    ..Area::named("readings", "监测数据")
};

/// Removes real-time and minute readings past their retention.
fn sweep(state: kernel::AppState) -> BoxFuture<anyhow::Result<()>> {
    Box::pin(async move {
        let swept = retention::sweep(&state.db, kernel::time::now_ts()).await?;
        if swept.rtd_rows + swept.minute_rows > 0 {
            tracing::info!(
                "retention sweep removed {} real-time and {} minute rows",
                swept.rtd_rows,
                swept.minute_rows
            );
        }
        Ok(())
    })
}

/// Hourly air data of every station from 2024-01-01.
fn demo_step(demo: kernel::area::DemoContext) -> BoxFuture<anyhow::Result<String>> {
    Box::pin(async move {
        let air = simulate::simulate_air_history(&demo.db, demo.seed, demo.until).await?;
        Ok(format!("air history: {air}"))
    })
}
