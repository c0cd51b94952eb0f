//! The steps of a case's state machine, one function per [`CaseAction`], each with its role rule. Every step
//! runs the same way ([`act`]): [`Step::load`] opens the write transaction, loads the case and authorises the
//! caller; the step's function checks and makes its change; [`Step::record`] writes the timeline entry and the
//! audit entry (the case before and after) in the same transaction and commits.

use chrono::NaiveDate;
use kernel::audit;
use kernel::calendar::Calendar;
use kernel::time::cst_day;
use kernel::{Action, AppError, AppResult, Db, Role, validate};

use super::Caller;
use super::deadlines::{Due, acceptance_due, context, date_text, handling_due};
use super::reporter::{audit_snapshot, mask_for};
use crate::model::*;
use crate::repo::{self, Value};

const INTAKE_ROLES: &[Role] = &[Role::Petition, Role::Admin];
const HANDLER_ROLES: &[Role] = &[
    Role::Petition,
    Role::Admin,
    Role::Enforcement,
    Role::StreetOfficer,
];
const APPROVER_ROLES: &[Role] = &[Role::Leader, Role::Admin];

/// How many times a case may be reopened after an unsatisfied reply ("re-open once": our unverified policy);
/// beyond that the reporter's route is 复查 at the next level.
pub const MAX_REOPENINGS: i64 = 1;

fn note_or_empty(note: &Option<String>) -> String {
    note.as_deref().map(str::trim).unwrap_or("").to_string()
}

/// Performs one step on a case and records it in the timeline and the audit log.
pub async fn act(
    db: &Db,
    caller: Caller<'_>,
    id: i64,
    action: CaseAction,
    now: i64,
) -> AppResult<Complaint> {
    let ctx = context(db).await?;
    let mut step = Step::load(db, caller, id, &action, &ctx.calendar, now).await?;
    let done = match &action {
        CaseAction::Accept { note } => accept(&mut step, note).await?,
        CaseAction::NotAccept { reason } => not_accept(&mut step, reason).await?,
        CaseAction::Assign {
            street_id,
            department_id,
            note,
        } => assign(&mut step, *street_id, *department_id, note).await?,
        CaseAction::StartHandling { note } => start_handling(&mut step, note).await?,
        CaseAction::SiteCheck {
            checked_at,
            inspectors,
            findings,
            violation_found,
        } => {
            site_check(
                &mut step,
                *checked_at,
                inspectors,
                findings,
                *violation_found,
            )
            .await?
        }
        CaseAction::Reply {
            result,
            measures,
            penalty_case_ref,
        } => reply(&mut step, result, measures, penalty_case_ref).await?,
        CaseAction::Close { satisfaction, note } => close(&mut step, *satisfaction, note).await?,
        CaseAction::Reopen { reason } => reopen(&mut step, reason).await?,
        CaseAction::RequestExtension { days, reason } => {
            request_extension(&mut step, *days, reason).await?
        }
        CaseAction::DecideExtension { approve, note } => {
            decide_extension(&mut step, *approve, note).await?
        }
        CaseAction::ChangeHandoverDeadline { deadline, note } => {
            change_handover_deadline(&mut step, deadline, note).await?
        }
    };
    step.record(done).await
}

/// One step on one case under way: its write transaction, the case as it was when loaded, who acts and when.
/// Dropped without [`Step::record`] (a step refused), the transaction rolls back.
struct Step<'a> {
    tx: sqlx::Transaction<'static, sqlx::Any>,
    caller: Caller<'a>,
    before: Complaint,
    cal: &'a Calendar,
    now: i64,
    today: NaiveDate,
    actor: String,
}

/// What a step made of the case, for its timeline entry and audit entry.
struct Done {
    audit_action: &'static str,
    /// The timeline entry's kind.
    kind: &'static str,
    /// The state the case moved to, if it moved.
    moved_to: Option<State>,
    summary: String,
}

impl Done {
    /// A step of the state machine to `to`.
    fn moved(audit_action: &'static str, to: State, summary: String) -> Done {
        Done {
            audit_action,
            kind: "transition",
            moved_to: Some(to),
            summary,
        }
    }

    /// A step that leaves the state as it is; its timeline kind is its audit action.
    fn noted(kind: &'static str, summary: String) -> Done {
        Done {
            audit_action: kind,
            kind,
            moved_to: None,
            summary,
        }
    }
}

impl<'a> Step<'a> {
    /// Opens the write transaction and loads case `id` in it; a user must see the case (its street) and may
    /// update it — deciding an extension needs only reading, the approver roles being checked by the step.
    async fn load(
        db: &Db,
        caller: Caller<'a>,
        id: i64,
        action: &CaseAction,
        cal: &'a Calendar,
        now: i64,
    ) -> AppResult<Step<'a>> {
        let mut tx = db.begin_write().await?;
        let before = super::get_named(&mut tx, id)
            .await?
            .ok_or_else(|| AppError::not_found("complaint not found"))?;
        if let Some(p) = caller.principal() {
            p.require(crate::COMPLAINT, Action::Read)?;
            p.require_street(before.street_id, "案件")?;
            if !matches!(action, CaseAction::DecideExtension { .. }) {
                p.require(crate::COMPLAINT, Action::Update)?;
            }
        }
        Ok(Step {
            tx,
            actor: caller.name(),
            caller,
            before,
            cal,
            now,
            today: cst_day(now),
        })
    }

    fn id(&self) -> i64 {
        self.before.id
    }

    fn state(&self) -> State {
        self.before.state
    }

    /// The state `t` leads to from the case's state; a 409 when the state machine has no such step.
    fn transition(&self, t: Transition) -> AppResult<State> {
        let state = self.state();
        state.after(t).ok_or_else(|| {
            AppError::Conflict(format!(
                "cannot {} a case that is {}（{}）",
                t.label(),
                state.label(),
                state.as_str()
            ))
        })
    }

    /// The handling period that starts today (acceptance, reopening), or a handover's own deadline.
    fn handling_due_from_today(&self) -> Due {
        handling_due(
            self.cal,
            self.before.channel,
            self.before.handover_deadline.as_deref(),
            self.today,
            0,
        )
    }

    /// Moves the case to `to` with `columns` changed; a 409 when someone changed it meanwhile.
    async fn move_to(&mut self, to: State, columns: Vec<(&'static str, Value)>) -> AppResult<()> {
        if repo::update_case(
            &mut self.tx,
            self.before.id,
            self.before.state,
            to,
            columns,
            self.now,
        )
        .await?
        {
            Ok(())
        } else {
            Err(AppError::Conflict(
                "the case was changed meanwhile; reload it".to_string(),
            ))
        }
    }

    /// Writes the step's timeline entry and audit entry and commits; the case as the caller may see it.
    async fn record(mut self, done: Done) -> AppResult<Complaint> {
        let id = self.id();
        let from = done.moved_to.map(|_| self.state());
        repo::insert_event(
            &mut self.tx,
            id,
            self.now,
            self.caller.id(),
            &self.actor,
            done.kind,
            from,
            done.moved_to,
            done.summary.trim(),
        )
        .await?;
        let after = super::get_named(&mut self.tx, id)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("case {id} vanished")))?;
        let entry = self
            .caller
            .entry(done.audit_action, id)
            .summary(format!("{} {}", after.case_no, done.summary))
            .before(&audit_snapshot(&self.before))
            .after(&audit_snapshot(&after));
        audit::record(&mut *self.tx, &entry).await?;
        self.tx.commit().await?;
        Ok(mask_for(after, self.caller.role()))
    }
}

/// 受理: starts the handling period.
async fn accept(step: &mut Step<'_>, note: &Option<String>) -> AppResult<Done> {
    step.caller.require_role(INTAKE_ROLES, "受理案件")?;
    let to = step.transition(Transition::Accept)?;
    let due = step.handling_due_from_today();
    let columns = [("accepted_at", Value::Int(Some(step.now)))]
        .into_iter()
        .chain(handling_period(step.today, &due))
        .collect();
    step.move_to(to, columns).await?;
    let text = match &due.date {
        Some(_) if step.before.handover_deadline.is_some() => format!(
            "受理；办理期限为交办机关确定的 {}。{}",
            due.text(),
            note_or_empty(note)
        ),
        Some(_) => format!(
            "受理；办理时限{}，至{}。{}",
            step.before.channel.clocks().handling.label(),
            due.text(),
            note_or_empty(note)
        ),
        None => format!(
            "受理；官方工作日历缺少所需年份，办理期限无法计算。{}",
            note_or_empty(note)
        ),
    };
    Ok(Done::moved("accept", to, text))
}

/// 不予受理, with the reason the reporter is told.
async fn not_accept(step: &mut Step<'_>, reason: &str) -> AppResult<Done> {
    step.caller.require_role(INTAKE_ROLES, "不予受理")?;
    let reason = validate::required("reason", reason, 1000)?;
    let to = step.transition(Transition::NotAccept)?;
    step.move_to(
        to,
        vec![
            ("not_accepted_reason", Value::Text(Some(reason.clone()))),
            ("clock_due", Value::Text(None)),
        ],
    )
    .await?;
    let text = format!("不予受理：{reason}（已告知举报人）");
    Ok(Done::moved("not_accept", to, text))
}

/// 交办 to a street, a department, or both.
async fn assign(
    step: &mut Step<'_>,
    street_id: Option<i64>,
    department_id: Option<i64>,
    note: &Option<String>,
) -> AppResult<Done> {
    step.caller.require_role(INTAKE_ROLES, "交办案件")?;
    let to = step.transition(Transition::Assign)?;
    if street_id.is_none() && department_id.is_none() {
        return Err(AppError::validation(
            "street_id",
            "give a street or a department",
        ));
    }
    // The timeline names the bodies (交办 张贵庄街道、城管委): it is read by people, and a record's name at the
    // time of the handover is what the case file must keep.
    let street_name = match street_id {
        Some(s) => Some(
            registry::service::streets_in(&mut step.tx)
                .await?
                .into_iter()
                .find(|street| street.id == s)
                .map(|street| street.name)
                .ok_or_else(|| {
                    AppError::validation("street_id", format!("no street with id {s}"))
                })?,
        ),
        None => None,
    };
    let department_name = match department_id {
        Some(d) => Some(
            registry::service::departments_in(&mut step.tx)
                .await?
                .into_iter()
                .find(|department| department.id == d)
                .map(|department| department.name)
                .ok_or_else(|| {
                    AppError::validation("department_id", format!("no department with id {d}"))
                })?,
        ),
        None => None,
    };
    let mut columns = vec![("assigned_at", Value::Int(Some(step.now)))];
    if street_id.is_some() {
        columns.push(("street_id", Value::Int(street_id)));
    }
    columns.push(("department_id", Value::Int(department_id)));
    step.move_to(to, columns).await?;
    let bodies: Vec<String> = street_name.into_iter().chain(department_name).collect();
    let text = format!("交办 {}。{}", bodies.join("、"), note_or_empty(note));
    Ok(Done::moved("assign", to, text))
}

/// 开始办理.
async fn start_handling(step: &mut Step<'_>, note: &Option<String>) -> AppResult<Done> {
    step.caller.require_role(HANDLER_ROLES, "办理案件")?;
    let to = step.transition(Transition::StartHandling)?;
    step.move_to(to, Vec::new()).await?;
    let text = format!("开始办理。{}", note_or_empty(note));
    Ok(Done::moved("start_handling", to, text))
}

/// 现场核查, recorded while the case is in handling.
async fn site_check(
    step: &mut Step<'_>,
    checked_at: Option<i64>,
    inspectors: &str,
    findings: &str,
    violation_found: bool,
) -> AppResult<Done> {
    step.caller.require_role(HANDLER_ROLES, "登记现场核查")?;
    if step.state() != State::InHandling {
        return Err(AppError::Conflict(format!(
            "site checks are recorded while a case is in handling, not {}",
            step.state().label()
        )));
    }
    let inspectors = validate::required("inspectors", inspectors, 200)?;
    let findings = validate::required("findings", findings, 5000)?;
    let now = step.now;
    let at = checked_at.unwrap_or(now);
    if at > now + 300 || at < step.before.received_at {
        return Err(AppError::validation(
            "checked_at",
            "must lie between receipt and now",
        ));
    }
    let id = step.id();
    repo::insert_site_check(
        &mut step.tx,
        id,
        at,
        &inspectors,
        &findings,
        violation_found,
        &step.actor,
        now,
    )
    .await?;
    let text = format!(
        "现场核查（{inspectors}）：{findings}{}",
        if violation_found {
            "；发现违法行为"
        } else {
            ""
        }
    );
    Ok(Done::noted("site_check", text))
}

/// 答复: the result and the measures taken; the clock stops.
async fn reply(
    step: &mut Step<'_>,
    result: &str,
    measures: &str,
    penalty_case_ref: &Option<String>,
) -> AppResult<Done> {
    step.caller.require_role(HANDLER_ROLES, "答复案件")?;
    let to = step.transition(Transition::Reply)?;
    let result = validate::required("result", result, 5000)?;
    let measures = validate::required("measures", measures, 5000)?;
    let reference = validate::optional("penalty_case_ref", penalty_case_ref.as_deref(), 100)?;
    step.move_to(
        to,
        vec![
            ("replied_at", Value::Int(Some(step.now))),
            ("reply_result", Value::Text(Some(result.clone()))),
            ("reply_measures", Value::Text(Some(measures.clone()))),
            ("penalty_case_ref", Value::Text(reference.clone())),
            ("clock_due", Value::Text(None)),
        ],
    )
    .await?;
    let text = format!(
        "答复：{result}；措施：{measures}{}",
        reference
            .map(|r| format!("；案件/处罚文号 {r}"))
            .unwrap_or_default()
    );
    Ok(Done::moved("答复案件", to, text))
}

/// 办结, with the reporter's satisfaction (回访评价).
async fn close(
    step: &mut Step<'_>,
    satisfaction: Satisfaction,
    note: &Option<String>,
) -> AppResult<Done> {
    step.caller.require_role(INTAKE_ROLES, "办结案件")?;
    let to = step.transition(Transition::Close)?;
    step.move_to(
        to,
        vec![
            ("closed_at", Value::Int(Some(step.now))),
            (
                "satisfaction",
                Value::Text(Some(satisfaction.as_str().to_string())),
            ),
        ],
    )
    .await?;
    let text = format!(
        "办结；回访评价：{}。{}",
        satisfaction.label(),
        note_or_empty(note)
    );
    Ok(Done::moved("close", to, text))
}

/// 重新办理 after an unsatisfied reply, at most [`MAX_REOPENINGS`] times.
async fn reopen(step: &mut Step<'_>, reason: &str) -> AppResult<Done> {
    step.caller.require_role(INTAKE_ROLES, "重新办理案件")?;
    let reason = validate::required("reason", reason, 1000)?;
    let to = step.transition(Transition::Reopen)?;
    if step.before.reopen_count >= MAX_REOPENINGS {
        return Err(AppError::Conflict(format!(
            "a case is reopened at most {MAX_REOPENINGS} time(s); further objections go to 复查"
        )));
    }
    // A reopened case gets a fresh handling period from today [M]; a handover keeps the deadline its
    // handing body set.
    let due = step.handling_due_from_today();
    let columns = [
        (
            "reopen_count",
            Value::Int(Some(step.before.reopen_count + 1)),
        ),
        ("satisfaction", Value::Text(None)),
    ]
    .into_iter()
    .chain(handling_period(step.today, &due))
    .collect();
    step.move_to(to, columns).await?;
    let text = format!("重新办理：{reason}；新办理期限 {}", due.text());
    Ok(Done::moved("reopen", to, text))
}

/// 申请延期: one extension per case, within the channel's maximum, while a handling period runs.
async fn request_extension(step: &mut Step<'_>, days: i64, reason: &str) -> AppResult<Done> {
    step.caller.require_role(HANDLER_ROLES, "申请延期")?;
    if step.before.handover_deadline.is_some() {
        return Err(AppError::Conflict(
            "督察交办件的办理期限由交办机关确定，延期须向交办机关申请（an inspection handover's deadline is set by the handing body)"
                .to_string(),
        ));
    }
    if !step.state().handling_clock_runs() {
        return Err(AppError::Conflict(format!(
            "no handling period runs while a case is {}",
            step.state().label()
        )));
    }
    let max = i64::from(step.before.channel.clocks().max_extension_days);
    if !(1..=max).contains(&days) {
        return Err(AppError::validation(
            "days",
            format!("must be between 1 and {max}"),
        ));
    }
    let reason = validate::required("reason", reason, 1000)?;
    let id = step.id();
    let earlier = repo::extensions_of(&mut step.tx, id).await?;
    if earlier.iter().any(|e| e.status != "rejected") {
        return Err(AppError::Conflict(
            "a case gets one extension; one is already pending or approved".to_string(),
        ));
    }
    repo::insert_extension(&mut step.tx, id, days, &reason, &step.actor, step.now).await?;
    let text = format!("申请延期 {days} 日：{reason}");
    Ok(Done::noted("extension_request", text))
}

/// 批准/不批准延期 of the pending extension; an approved one lengthens the running period.
async fn decide_extension(
    step: &mut Step<'_>,
    approve: bool,
    note: &Option<String>,
) -> AppResult<Done> {
    step.caller.require_role(APPROVER_ROLES, "审批延期")?;
    let id = step.id();
    let now = step.now;
    let pending = repo::extensions_of(&mut step.tx, id)
        .await?
        .into_iter()
        .find(|e| e.status == "pending")
        .ok_or_else(|| AppError::Conflict("no extension is pending".to_string()))?;
    let note = validate::optional("note", note.as_deref(), 1000)?;
    if !repo::decide_extension(
        &mut step.tx,
        pending.id,
        approve,
        &step.actor,
        note.as_deref(),
        now,
    )
    .await?
    {
        return Err(AppError::Conflict(
            "the extension was decided meanwhile".to_string(),
        ));
    }
    let text = if approve {
        let before = &step.before;
        // The extension lengthens the period that runs now (the original, or a reopened one): the
        // period's days plus the extension's, from the period's start.
        let start = before
            .handling_start
            .as_deref()
            .and_then(kernel::time::parse_date)
            .or(before.accepted_at.map(cst_day))
            .unwrap_or(step.today);
        let due = handling_due(
            step.cal,
            before.channel,
            before.handover_deadline.as_deref(),
            start,
            pending.days,
        );
        let clock_due = if before.state.handling_clock_runs() {
            due.date.clone()
        } else {
            before.clock_due.clone()
        };
        let deadlines = repo::Deadlines {
            acceptance_due: before.acceptance_due.clone(),
            handling_due: due.date.clone(),
            clock_due,
            calendar_gap: due.gap,
            calendar_provisional: due.provisional,
        };
        repo::set_handling_due(&mut step.tx, id, pending.days, &deadlines, now).await?;
        format!(
            "批准延期 {} 日，办理期限至 {}。{}",
            pending.days,
            due.text(),
            note.unwrap_or_default()
        )
    } else {
        format!("不批准延期。{}", note.unwrap_or_default())
    };
    Ok(Done::noted("extension_decision", text))
}

/// The handing body changed an inspection handover's deadline (it granted more time, or asked for sooner).
async fn change_handover_deadline(
    step: &mut Step<'_>,
    deadline: &str,
    note: &Option<String>,
) -> AppResult<Done> {
    step.caller.require_role(INTAKE_ROLES, "修改交办期限")?;
    let before = &step.before;
    let state = before.state;
    let old = before.handover_deadline.clone().ok_or_else(|| {
        AppError::Conflict("only an inspection handover has a deadline of its handing body".into())
    })?;
    if state.is_final() {
        return Err(AppError::Conflict(format!(
            "the case is {}; its deadline no longer runs",
            state.label()
        )));
    }
    let received_day = cst_day(before.received_at);
    let day = kernel::time::parse_date(deadline)
        .ok_or_else(|| AppError::validation("deadline", "must be a date YYYY-MM-DD"))?;
    if day < received_day {
        return Err(AppError::validation(
            "deadline",
            "lies before the day the handover was received",
        ));
    }
    let note = validate::optional("note", note.as_deref(), 1000)?;
    let new = date_text(day);
    let acceptance = acceptance_due(step.cal, before.channel, received_day, Some(&new));
    let mut columns = vec![
        ("handover_deadline", Value::Text(Some(new.clone()))),
        ("acceptance_due", Value::Text(acceptance.date.clone())),
    ];
    if before.accepted_at.is_some() {
        columns.push(("handling_due", Value::Text(Some(new.clone()))));
    }
    let (clock, flags) = match state {
        State::Received => (acceptance.date.clone(), Some(&acceptance)),
        s if s.handling_clock_runs() => (Some(new.clone()), None),
        _ => (before.clock_due.clone(), None),
    };
    columns.push(("clock_due", Value::Text(clock)));
    let (gap, provisional) = flags.map_or((false, false), |d| (d.gap, d.provisional));
    columns.push(("calendar_gap", Value::Int(Some(i64::from(gap)))));
    columns.push((
        "calendar_provisional",
        Value::Int(Some(i64::from(provisional))),
    ));
    // The state stays: the update only guards against a change meanwhile.
    step.move_to(state, columns).await?;
    let text = format!(
        "交办机关调整办理期限：{old} → {new}。{}",
        note.unwrap_or_default()
    );
    Ok(Done::noted("handover_deadline", text))
}

/// The columns of a handling period that starts on `start` (acceptance or reopening) and ends on `due`.
fn handling_period(start: NaiveDate, due: &Due) -> Vec<(&'static str, Value)> {
    vec![
        ("handling_start", Value::Text(Some(date_text(start)))),
        ("handling_extension_days", Value::Int(Some(0))),
        ("handling_due", Value::Text(due.date.clone())),
        ("clock_due", Value::Text(due.date.clone())),
        ("calendar_gap", Value::Int(Some(i64::from(due.gap)))),
        (
            "calendar_provisional",
            Value::Int(Some(i64::from(due.provisional))),
        ),
    ]
}
