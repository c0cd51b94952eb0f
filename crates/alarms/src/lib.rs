//! Alarms (报警) for online-monitored outlets: exceedance, device health and falsified-data rules over
//! series of samples, and the alarm lifecycle from raised to closed.
//!
//! The rules are pure (no I/O, no async, no database: `rules`, `lifecycle`, `reconcile`, `stats`,
//! `settings`, the first half of `model`): a worker loads a point's samples for a window (at least
//! [`Settings::lookback_s`] long), calls [`evaluate`], lets [`reconcile`] say which stored alarms to extend
//! and which to raise ([`Alarm::raise`]), and drives each alarm with [`Alarm::apply`]. `docs/alarms.md`
//! documents every rule.
//!
//! Around them, the area (在线监控报警): `service` (the worker over the stored outlet data of
//! `crates/readings`, the lifecycle of stored alarms, statistics, inspection leads (线索) for enforcement,
//! the outlets' permits and limits), `repo` (its SQL), `http` (pages under `/alarms`, JSON under
//! `/api/v1/alarms`) and `demo` (the demo's outlet minute data with planted patterns).

pub mod demo;
pub mod http;
pub mod lifecycle;
pub mod model;
mod prepare;
pub mod reconcile;
pub mod repo;
pub mod rules;
pub mod service;
pub mod settings;
pub mod stats;

pub use lifecycle::{
    Action, Alarm, AlarmState, Deadlines, InspectionLead, LifecycleError, Step, Verdict,
    Verification,
};
pub use model::{
    Averaging, ClockCheck, CrcTally, DataFlag, DetectionLimit, EmissionLimit, EvidenceValue,
    Finding, InstrumentRange, OutletContext, Period, PointInput, RuleId, Sample, Series, Severity,
    Window, factor_codes,
};
pub use reconcile::{KnownFinding, Outcome, reconcile};
pub use rules::{coalesce, converted_concentration, evaluate, evaluate_reflagging};
pub use settings::Settings;
pub use stats::{MonthStats, monthly_stats};

// ---- The area's self-description (kernel::area; listed in crates/areas) ----

use kernel::Resource;
use kernel::area::{Area, BoxFuture, NavItem};
use kernel::auth::{Action as Permission, Role};

/// 在线监控报警: online-monitoring alarms, their handling and the inspection leads drawn from them.
pub const ALARM: Resource = Resource::new("alarm", "在线监控报警", alarm_policy);

/// The monitoring department confirms and closes alarms, enforcement handles the leads; the other bureau
/// roles read (street officers their street's enterprises). Not public.
fn alarm_policy(role: Role, action: Permission) -> bool {
    match role {
        Role::Admin => true,
        Role::Monitoring | Role::Enforcement => action != Permission::Delete,
        Role::Public => false,
        _ => action == Permission::Read,
    }
}

/// Online-monitoring alarms.
pub const AREA: Area = Area {
    routes: http::routes,
    api_doc: <http::ApiDoc as utoipa::OpenApi>::openapi,
    resources: &[ALARM],
    nav: &[NavItem::reading("/alarms", "在线报警", ALARM, 50)],
    jobs: &[kernel::area::Job {
        name: "alarm worker",
        every: std::time::Duration::from_secs(60),
        run: judge_due,
    }],
    demo: Some(demo_step),
    // Alarms are judged from the readings; the worker's and the users' changes are audited.
    kept_answers: kernel::area::KeptAnswers::of(&[
        "/alarms",
        "/alarms/leads",
        "/alarms/stats",
        "/api/v1/alarms",
        "/api/v1/alarms/summary",
        "/api/v1/alarms/stats",
        "/api/v1/alarms/leads",
    ]),
    ..Area::named("alarms", "在线监控报警")
};

/// Judges the outlets whose last whole hour has not been judged yet (each point once an hour; see
/// `service::evaluate_due`).
fn judge_due(state: kernel::AppState) -> BoxFuture<anyhow::Result<()>> {
    Box::pin(async move {
        let run = service::evaluate_due(&state.db, kernel::time::now_ts()).await?;
        if run.raised + run.extended > 0 {
            tracing::info!(
                "alarm worker: {} points judged, {} alarms raised, {} extended",
                run.evaluated,
                run.raised,
                run.extended
            );
        }
        Ok(())
    })
}

/// Outlet permits, and minute data with planted patterns up to where the live devices start (half an hour
/// before the end of the history), then one run of the alarm worker so that the alarm pages show alarms
/// from the start.
fn demo_step(demo: kernel::area::DemoContext) -> BoxFuture<anyhow::Result<String>> {
    Box::pin(async move {
        let outlets =
            demo::simulate_outlet_history(&demo.db, demo.seed, demo.until / 60 * 60 - 30 * 60)
                .await?;
        let judged = service::evaluate_due(&demo.db, demo.until).await?;
        Ok(format!(
            "{outlets}; worker judged {} points, raised {} alarms",
            judged.evaluated, judged.raised
        ))
    })
}
