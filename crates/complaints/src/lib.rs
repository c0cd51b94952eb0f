//! Complaints and petitions (信访投诉): one intake queue for the 12369 environmental hotline and its WeChat
//! account (12369环保举报), the 12345 citizen hotline (政务服务便民热线), letters and visits (来信、来访, under the
//! 信访工作条例), handovers from central and municipal inspection teams (督察交办), grid officers (网格员) and the
//! bureau's own patrols (巡查发现).
//!
//! A case moves through an explicit state machine (受理 / 不予受理 → 交办 → 办理 → 答复 → 办结 or 重新办理), with
//! statutory clocks counted on the official working-day calendar ([`kernel::calendar`]), extensions (延期) with
//! the leader's approval, escalation (督办) of overdue work, repeat detection (重复信访) with links to the earlier
//! cases and a persistent-sources list, and the 24-hour duty roster (24小时值班) that receives intake outside
//! office hours. Street officers (街道) see only their street's cases; the reporter's name and phone are shown
//! only to the petition office (信访办) and administrators.

pub mod demo;
pub mod evidence;
pub mod export;
pub mod http;
pub mod model;
pub mod repo;
pub mod service;

pub use model::{Category, Channel, Complaint, State};

// ---- The area's self-description (kernel::area; listed in crates/areas) ----

use kernel::Resource;
use kernel::area::{Area, BoxFuture, NavItem};
use kernel::auth::{Action, Role};

/// 信访投诉: complaints and petitions (street-scoped for street officers).
pub const COMPLAINT: Resource = Resource::new("complaint", "信访投诉", complaint_policy);
/// 值班表: the 24-hour duty roster.
pub const DUTY_ROSTER: Resource = Resource::new("duty_roster", "值班表", duty_roster_policy);

/// The petition office runs intake and replies, handlers (enforcement, street officers of the case's street)
/// handle; nobody deletes a petition record. Leaders and solid waste read (extension approval is a service
/// rule of its own). Monitoring and the public have no part in them.
fn complaint_policy(role: Role, action: Action) -> bool {
    match role {
        Role::Admin => true,
        Role::Petition | Role::Enforcement | Role::StreetOfficer => action != Action::Delete,
        Role::Leader | Role::SolidWaste => action == Action::Read,
        Role::Monitoring | Role::Public => false,
    }
}

/// The duty roster is kept by the petition office; everyone inside the bureau may see who is on duty.
fn duty_roster_policy(role: Role, action: Action) -> bool {
    match role {
        Role::Admin | Role::Petition => true,
        Role::Public => false,
        _ => action == Action::Read,
    }
}

/// Complaints and petitions, with their statutory clocks.
pub const AREA: Area = Area {
    routes: http::routes,
    api_doc: <http::ApiDoc as utoipa::OpenApi>::openapi,
    resources: &[COMPLAINT, DUTY_ROSTER],
    nav: &[NavItem::reading("/complaints", "信访投诉", COMPLAINT, 70)],
    jobs: &[kernel::area::Job {
        name: "overdue complaint escalation",
        every: std::time::Duration::from_secs(3600),
        run: escalate,
    }],
    demo: Some(demo_step),
    // Every change of a case, the roster and the settings is audited; deadlines move with the minute.
    kept_answers: kernel::area::KeptAnswers::of(&[
        "/complaints",
        "/complaints/map",
        "/complaints/stats",
        "/complaints/duty",
        "/api/v1/complaints",
        "/api/v1/complaints/stats",
        "/api/v1/complaints/map",
        "/api/v1/complaints/persistent",
        "/api/v1/complaints/duty",
        "/api/v1/complaints/settings",
    ]),
    ..Area::named("complaints", "信访投诉")
};

/// Escalates overdue complaints to the leaders: the statutory clocks run whether or not anyone opens the
/// statistics page.
fn escalate(state: kernel::AppState) -> BoxFuture<anyhow::Result<()>> {
    Box::pin(async move {
        let now = kernel::time::now_ts();
        let ids = service::escalate_overdue(&state.db, service::Caller::System("system"), now)
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
        if !ids.is_empty() {
            tracing::info!("escalated {} overdue complaints", ids.len());
        }
        Ok(())
    })
}

/// A year and more of simulated complaints with the duty roster.
fn demo_step(demo: kernel::area::DemoContext) -> BoxFuture<anyhow::Result<String>> {
    Box::pin(async move {
        let generated = demo::generate(&demo.db, demo.seed, demo.today).await?;
        Ok(format!("{} simulated complaints", generated.complaints))
    })
}
