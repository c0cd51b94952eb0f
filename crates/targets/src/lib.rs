//! 年度目标 — the year's targets of the bureau (issue #5, section 二 of the 2024 work plan).
//!
//! A target is data (`targets` table, editable per year by the monitoring department): its indicator (computed
//! from the audited data — PM2.5 annual mean, good-day ratio, heavy-pollution days, water section shares — or
//! reported by its owner with evidence, such as 建设用地安全利用率), its comparison (≤, ≥, =), the value (empty:
//! 待市下达) and its owner (责任部门). Its progress is recomputed on each request: the value so far this year,
//! the same period last year, the trend, what the rest of the year must do, and a status (on track / at risk /
//! lost, met / missed at the year's end). Links: `air::service` (area days per HJ 663), `water::service`
//! (section results per GB 3838), `standards` (every statistic). Rules: docs/targets.md.

pub mod http;
pub mod model;
pub mod progress;
pub mod repo;
pub mod seed;
pub mod service;

// ---- The area's self-description (kernel::area; listed in crates/areas) ----

use kernel::Resource;
use kernel::area::{Area, BoxFuture, NavItem};
use kernel::auth::{Action, Role};

/// 年度目标: the year's targets, their progress and the dashboard built on them.
pub const TARGET: Resource = Resource::new("target", "年度目标", target_policy);

/// The monitoring department keeps the targets; every bureau role reads them (street officers their street's
/// part), and the public reads the published indicators.
fn target_policy(role: Role, action: Action) -> bool {
    match role {
        Role::Admin => true,
        Role::Monitoring => action != Action::Delete,
        _ => action == Action::Read,
    }
}

/// The year's targets.
pub const AREA: Area = Area {
    routes: http::routes,
    api_doc: <http::ApiDoc as utoipa::OpenApi>::openapi,
    resources: &[TARGET],
    nav: &[NavItem::reading("/targets", "年度目标", TARGET, 10)],
    on_start: Some(seed_years),
    ..Area::named("targets", "年度目标")
};

/// The year's targets from the 2024 plan, for every year up to this one that has none yet.
fn seed_years(db: kernel::Db) -> BoxFuture<anyhow::Result<()>> {
    Box::pin(async move {
        let year = chrono::Datelike::year(&kernel::time::cst_day(kernel::time::now_ts()));
        let seeded = service::ensure_seeded(&db, year).await?;
        if !seeded.is_empty() {
            tracing::info!("seeded the targets of {seeded:?} from the 2024 work plan");
        }
        Ok(())
    })
}
