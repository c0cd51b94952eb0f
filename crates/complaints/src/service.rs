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

use kernel::audit::AuditEntry;
use kernel::{AppError, AppResult, Principal, Role};

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
            Some(role) => Err(AppError::forbidden(format!(
                "role {} may not {what}",
                role.as_str()
            ))),
        }
    }
}
