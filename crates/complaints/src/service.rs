//! The rules of the area, no HTTP types, in one module per seam:
//!
//! - [`intake`]: filing a case — validation, the acceptance clock, routing to the officer on duty outside
//!   office hours, repeat detection;
//! - [`cases`]: reading cases — one case's file, lists with their filters, exports;
//! - [`actions`]: the state machine with its role rules, one function per step (受理, 交办, 答复, 延期 …) over a
//!   shared load-and-authorise step and a shared timeline-and-audit commit;
//! - [`deadlines`]: the statutory clocks on the official working-day calendar, their recomputation when the
//!   calendar changes, and the escalation of overdue cases;
//! - [`settings`](mod@settings): the area's settings and office hours;
//! - [`roster`]: the 24-hour duty roster;
//! - [`statistics`](mod@statistics): statistics, the map and persistent sources;
//! - [`reporter`]: masking of the reporter's personal data.
//!
//! Who sees the reporter (personal data): the petition office (信访办) and administrators, in full. Everyone
//! else (leaders, handling street officers, enforcement) sees a masked name (张*) and phone (138****5678); for
//! an anonymous reporter they see "匿名" and no phone. Audit snapshots never hold the reporter's data.

use std::collections::{BTreeSet, HashMap};

use kernel::audit::AuditEntry;
use kernel::{AppResult, Db, Principal, Role};

use crate::model::Complaint;
use crate::repo;

pub mod actions;
pub mod cases;
pub mod deadlines;
pub mod intake;
pub mod reporter;
pub mod roster;
pub mod settings;
pub mod statistics;

pub use actions::{MAX_REOPENINGS, act};
pub use cases::{
    EXPORT_LIMIT, case_file, export_rows, list, list_query, month_range, require_case,
    require_case_taking_evidence,
};
pub use deadlines::{
    Ctx, Due, acceptance_due, clock_status, context, due_after, escalate_overdue, handling_due,
    recomputed, sync_deadlines, view,
};
pub use intake::{MAX_HANDOVER_DAYS, distance_m, file_complaint, is_handover};
pub use reporter::{mask_for, mask_name, mask_phone, sees_reporter};
pub use roster::{add_shift, delete_shift, shifts};
pub use settings::{is_office_hours, settings, update_settings};
pub use statistics::{map_points, persistent_sources, statistics};

/// Fills in the names of the cases' streets, enterprises and departments from the registry (in the caller's
/// transaction when there is one, so that an audit snapshot shows them as the case is written).
async fn with_names(conn: &mut sqlx::AnyConnection, cases: &mut [Complaint]) -> AppResult<()> {
    if cases.is_empty() {
        return Ok(());
    }
    let streets: HashMap<i64, String> = registry::service::streets_in(conn)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let departments: HashMap<i64, String> = if cases.iter().any(|c| c.department_id.is_some()) {
        registry::service::departments_in(conn)
            .await?
            .into_iter()
            .map(|d| (d.id, d.name))
            .collect()
    } else {
        HashMap::new()
    };
    let enterprise_ids: BTreeSet<i64> = cases.iter().filter_map(|c| c.enterprise_id).collect();
    let ids: Vec<i64> = enterprise_ids.into_iter().collect();
    let enterprises: HashMap<i64, String> = registry::service::enterprises_by_ids_in(conn, &ids)
        .await?
        .into_iter()
        .map(|e| (e.id, e.name))
        .collect();
    for case in cases {
        case.street_name = case.street_id.and_then(|id| streets.get(&id).cloned());
        case.enterprise_name = case
            .enterprise_id
            .and_then(|id| enterprises.get(&id).cloned());
        case.department_name = case
            .department_id
            .and_then(|id| departments.get(&id).cloned());
    }
    Ok(())
}

/// A case with its names (see [`with_names`]).
async fn get_named(conn: &mut sqlx::AnyConnection, id: i64) -> AppResult<Option<Complaint>> {
    let Some(mut case) = repo::get_case(conn, id).await? else {
        return Ok(None);
    };
    with_names(conn, std::slice::from_mut(&mut case)).await?;
    Ok(Some(case))
}

/// The streets (id, name) the caller may choose, for forms and filters.
pub async fn street_choices(db: &Db, principal: &Principal) -> AppResult<Vec<(i64, String)>> {
    Ok(registry::service::streets(db)
        .await?
        .into_iter()
        .filter(|s| principal.sees_street(Some(s.id)))
        .map(|s| (s.id, s.name))
        .collect())
}

/// Every department and external agency (id, name), for assigning a case.
pub async fn department_choices(db: &Db) -> AppResult<Vec<(i64, String)>> {
    Ok(registry::service::departments(db)
        .await?
        .into_iter()
        .map(|d| (d.id, d.name))
        .collect())
}

/// Who acts: a user, or the platform itself (escalation sweep, demo generator).
#[derive(Clone, Copy)]
pub enum Caller<'a> {
    User(&'a Principal),
    System(&'a str),
}

impl Caller<'_> {
    fn name(&self) -> String {
        match self {
            Caller::User(p) => p.username.clone(),
            Caller::System(name) => (*name).to_string(),
        }
    }

    fn id(&self) -> Option<i64> {
        match self {
            Caller::User(p) => Some(p.user_id),
            Caller::System(_) => None,
        }
    }

    fn entry(&self, action: &str, id: i64) -> AuditEntry {
        match self {
            Caller::User(p) => AuditEntry::by(p, action, "complaint", id),
            Caller::System(name) => AuditEntry::system(name, action, "complaint", id),
        }
    }

    fn role(&self) -> Option<Role> {
        match self {
            Caller::User(p) => Some(p.role),
            Caller::System(_) => None,
        }
    }

    fn principal(&self) -> Option<&Principal> {
        match self {
            Caller::User(p) => Some(p),
            Caller::System(_) => None,
        }
    }

    /// The platform itself may do anything; a user needs one of `roles`.
    fn require_role(&self, roles: &[Role], what: &str) -> AppResult<()> {
        match self.role() {
            None => Ok(()),
            Some(role) if roles.contains(&role) => Ok(()),
            Some(role) => Err(kernel::auth::refused(role, what)),
        }
    }
}
