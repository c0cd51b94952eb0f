//! The statutory clocks. Day counting (《信访工作条例》's periods, counted as 《民法典》第二百零一、二百零三条 count periods — unverified for petitions): a period starts the day after receipt (or
//! acceptance); "N 日" counts calendar days and, when its last day is a rest day, ends on the next working day;
//! "N 个工作日" counts working days on the official calendar. The calendar is the database's (crate `workcal`,
//! held in memory): a due date that relies on a provisional year (暂定，待国务院通知) is flagged
//! `calendar_provisional`; one that needs a year the calendar cannot give (before its first year) is left
//! unknown and flagged `calendar_gap`. Stored due dates are recomputed when the calendar changes ([`context`]
//! compares the calendar's fingerprint with the one they were computed under).
//!
//! Inspection handovers (中央/市级督察交办) carry the deadline the handing body set (`handover_deadline`): it is the
//! handling due date, whatever the calendar, and it cannot be extended here.
//!
//! A case whose clock ran out is escalated to the leaders ([`escalate_overdue`]).

use chrono::NaiveDate;
use kernel::audit;
use std::sync::Arc;

use kernel::calendar::{Calendar, CalendarError, Period};
use kernel::time::{cst_day, now_ts};
use kernel::{AppResult, Db, Role};

use super::Caller;
use super::settings::load_settings;
use crate::model::*;
use crate::repo;

pub(super) fn date_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// A computed due date: the day, or `None` with the gap flagged; and whether it relies on a provisional year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub date: Option<String>,
    pub gap: bool,
    pub provisional: bool,
}

impl Due {
    /// A date set by someone else (a handing body), not counted on the calendar.
    pub(super) fn fixed(date: &str) -> Due {
        Due {
            date: Some(date.to_string()),
            gap: false,
            provisional: false,
        }
    }

    /// How the date reads in a timeline note.
    pub(super) fn text(&self) -> String {
        match &self.date {
            Some(d) if self.provisional => format!("{d}（暂定，待国务院通知）"),
            Some(d) => d.clone(),
            None => "无法计算（日历缺少年份）".to_string(),
        }
    }
}

/// The last day of `period` from `start` on `cal`.
pub fn due_after(cal: &Calendar, start: NaiveDate, period: Period) -> Due {
    match cal.deadline(start, period) {
        Ok(day) => Due {
            date: Some(date_text(day)),
            gap: false,
            provisional: cal.provisional_between(start, day),
        },
        Err(CalendarError::YearNotCovered(_) | CalendarError::OutOfRange) => Due {
            date: None,
            gap: true,
            provisional: false,
        },
    }
}

/// The acceptance due date: the channel's period from the day of receipt, never later than a handover's own
/// deadline.
pub fn acceptance_due(
    cal: &Calendar,
    channel: Channel,
    received_day: NaiveDate,
    handover_deadline: Option<&str>,
) -> Due {
    let due = due_after(cal, received_day, channel.clocks().acceptance);
    match (handover_deadline, &due.date) {
        (Some(fixed), Some(d)) if fixed < d.as_str() => Due::fixed(fixed),
        (Some(fixed), None) => Due::fixed(fixed),
        _ => due,
    }
}

/// The handling due date of the period that starts on `start` with `extension_days` granted on it; a
/// handover's own deadline instead when it has one.
pub fn handling_due(
    cal: &Calendar,
    channel: Channel,
    handover_deadline: Option<&str>,
    start: NaiveDate,
    extension_days: i64,
) -> Due {
    match handover_deadline {
        Some(fixed) => Due::fixed(fixed),
        None => due_after(
            cal,
            start,
            extended(channel.clocks().handling, extension_days),
        ),
    }
}

/// Recomputes a stored case's due dates on `cal`: (acceptance, handling if accepted, running clock, gap,
/// provisional). The flags are those of the latest clock (handling once accepted).
pub fn recomputed(complaint: &Complaint, cal: &Calendar) -> (Due, Option<Due>, Option<String>) {
    let handover = complaint.handover_deadline.as_deref();
    let acceptance = acceptance_due(
        cal,
        complaint.channel,
        cst_day(complaint.received_at),
        handover,
    );
    let handling = complaint.accepted_at.map(|accepted| {
        let start = complaint
            .handling_start
            .as_deref()
            .and_then(kernel::time::parse_date)
            .unwrap_or_else(|| cst_day(accepted));
        handling_due(
            cal,
            complaint.channel,
            handover,
            start,
            complaint.handling_extension_days,
        )
    });
    let clock = match complaint.state {
        State::Received => acceptance.date.clone(),
        s if s.handling_clock_runs() => handling.as_ref().and_then(|h| h.date.clone()),
        _ => None,
    };
    (acceptance, handling, clock)
}

fn extended(period: Period, extra_days: i64) -> Period {
    let extra = u32::try_from(extra_days).unwrap_or(0);
    match period {
        Period::CalendarDays(n) => Period::CalendarDays(n + extra),
        // An extension is granted in calendar days (信访工作条例 第34条); on a working-day clock the extra days
        // are added as working days, which is never shorter.
        Period::WorkingDays(n) => Period::WorkingDays(n + extra),
    }
}

/// The running clock of a case on `today`.
pub fn clock_status(
    complaint: &Complaint,
    today: NaiveDate,
    settings: &Settings,
    cal: &Calendar,
) -> ClockStatus {
    let clock = match complaint.state {
        State::Received => "acceptance",
        s if s.handling_clock_runs() => "handling",
        _ => "none",
    };
    let due = if clock == "none" {
        None
    } else {
        complaint.clock_due.clone()
    };
    let due_day = due.as_deref().and_then(kernel::time::parse_date);
    let (left, gap) = match due_day {
        Some(day) => match cal.working_days_between(today, day) {
            Ok(n) => (Some(n), false),
            Err(_) => (None, true),
        },
        None => (None, clock != "none" && complaint.calendar_gap),
    };
    let overdue = due_day.is_some_and(|d| d < today);
    let due_soon = !overdue && left.is_some_and(|n| n <= settings.due_soon_working_days);
    ClockStatus {
        clock,
        provisional: clock != "none" && due.is_some() && complaint.calendar_provisional,
        due,
        working_days_left: left,
        due_soon,
        overdue,
        calendar_gap: gap,
    }
}

pub fn view(complaint: Complaint, today: NaiveDate, ctx: &Ctx) -> ComplaintView {
    ComplaintView {
        clock_status: clock_status(&complaint, today, &ctx.settings, &ctx.calendar),
        channel_label: complaint.channel.label(),
        category_label: complaint.category.label(),
        state_label: complaint.state.label(),
        complaint,
    }
}

/// What every reading of cases needs: the settings and the calendar (in memory).
pub struct Ctx {
    pub settings: Settings,
    pub calendar: Arc<Calendar>,
}

/// The settings and the calendar; first brings the stored due dates up to date when the calendar changed since
/// they were computed (an administrator entered or changed a year): open cases, and closed ones whose dates
/// were provisional or unknown, are recomputed, and each changed running clock gets a timeline entry.
pub async fn context(db: &Db) -> AppResult<Ctx> {
    let (settings, fingerprint) = load_settings(db).await?;
    let calendar = workcal::service::calendar(db).await?;
    if fingerprint.as_deref() != Some(calendar.fingerprint()) {
        sync_deadlines(db, &calendar, fingerprint.as_deref().unwrap_or("")).await?;
    }
    Ok(Ctx { settings, calendar })
}

/// The stored due dates recomputed on `cal` (see [`context`]); returns how many cases changed. Only one
/// process recomputes for a given change: the first to move the stored fingerprint from `stored`.
pub async fn sync_deadlines(db: &Db, cal: &Calendar, stored: &str) -> AppResult<usize> {
    let now = now_ts();
    let mut tx = db.begin_write().await?;
    if !repo::claim_fingerprint(&mut tx, stored, cal.fingerprint(), now).await? {
        return Ok(0);
    }
    let mut changed = 0;
    for c in repo::cases_to_recompute(&mut tx).await? {
        let (acceptance, handling, clock) = recomputed(&c, cal);
        let latest = handling.as_ref().unwrap_or(&acceptance);
        let handling_date = handling.as_ref().and_then(|h| h.date.clone());
        if acceptance.date == c.acceptance_due
            && handling_date == c.handling_due
            && clock == c.clock_due
            && latest.gap == c.calendar_gap
            && latest.provisional == c.calendar_provisional
        {
            continue;
        }
        let stored = repo::set_deadlines(
            &mut tx,
            &c,
            &repo::Deadlines {
                acceptance_due: acceptance.date.clone(),
                handling_due: handling_date,
                clock_due: clock.clone(),
                calendar_gap: latest.gap,
                calendar_provisional: latest.provisional,
            },
        )
        .await?;
        if !stored {
            continue;
        }
        changed += 1;
        if clock != c.clock_due && !c.state.is_final() {
            let old = c.clock_due.as_deref().unwrap_or("无法计算");
            let note = format!(
                "工作日历更新，期限由 {old} 调整为 {}",
                Due {
                    date: clock,
                    gap: latest.gap,
                    provisional: latest.provisional
                }
                .text()
            );
            repo::insert_event(
                &mut tx, c.id, now, None, "system", "calendar", None, None, &note,
            )
            .await?;
        }
    }
    tx.commit().await?;
    if changed > 0 {
        tracing::info!(
            "working-day calendar changed: recomputed the due dates of {changed} complaints"
        );
    }
    Ok(changed)
}

/// Escalates every open case whose clock ran out before `today` to the leaders (督办): flags it, records it in
/// the timeline and the audit log. Returns the escalated ids. Idempotent.
pub async fn escalate_overdue(db: &Db, caller: Caller<'_>, now: i64) -> AppResult<Vec<i64>> {
    caller.require_role(&[Role::Admin, Role::Leader, Role::Petition], "执行超期督办")?;
    // Due dates first brought up to date with the calendar.
    context(db).await?;
    let today = date_text(cst_day(now));
    let mut done = Vec::new();
    for (id, due) in repo::overdue_unescalated(db, &today).await? {
        let mut tx = db.begin_write().await?;
        if repo::set_escalated(&mut tx, id, now).await? {
            let text = format!("逾期（期限 {due}），提请局领导督办");
            repo::insert_event(
                &mut tx,
                id,
                now,
                caller.id(),
                &caller.name(),
                "escalation",
                None,
                None,
                &text,
            )
            .await?;
            let entry = caller.entry("escalate", id).summary(text);
            audit::record(&mut *tx, &entry).await?;
            done.push(id);
        }
        tx.commit().await?;
    }
    Ok(done)
}
