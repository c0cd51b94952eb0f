//! The rules of the area: intake with clocks, duty routing and repeat detection; the state machine with its
//! role rules; extensions; escalation of overdue work; masking of the reporter's personal data; statistics.
//! No HTTP types here.
//!
//! Day counting (《信访工作条例》's periods, counted as 《民法典》第二百零一、二百零三条 count periods — unverified
//! for petitions): a period starts the day after receipt (or acceptance); "N 日" counts
//! calendar days and, when its last day is a rest day, ends on the next working day; "N 个工作日" counts working
//! days on the official calendar. The calendar is the database's (crate `workcal`, held in memory): a due date
//! that relies on a provisional year (暂定，待国务院通知) is flagged `calendar_provisional`; one that needs a year
//! the calendar cannot give (before its first year) is left unknown and flagged `calendar_gap`. Stored due
//! dates are recomputed when the calendar changes ([`context`] compares the calendar's fingerprint with the
//! one they were computed under).
//!
//! Inspection handovers (中央/市级督察交办) carry the deadline the handing body set (`handover_deadline`): it is the
//! handling due date, whatever the calendar, and it cannot be extended here.
//!
//! Who sees the reporter (personal data): the petition office (信访办) and administrators, in full. Everyone
//! else (leaders, handling street officers, enforcement) sees a masked name (张*) and phone (138****5678); for
//! an anonymous reporter they see "匿名" and no phone. Audit snapshots never hold the reporter's data.

use chrono::{Datelike, NaiveDate, Timelike};
use kernel::audit::{self, AuditEntry};
use std::sync::Arc;

use kernel::calendar::{Calendar, CalendarError, Period};
use kernel::time::{DAY_SECONDS, cst_day, cst_day_start, now_ts};
use kernel::{
    Action, AppError, AppResult, Db, Page, PageQuery, Principal, Resource, Role, validate,
};

use crate::model::*;
use crate::repo::{self, DueFilter, ListQuery, Value};

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

/// Whether a role sees the reporter's name and phone in full.
pub fn sees_reporter(role: Role) -> bool {
    matches!(role, Role::Petition | Role::Admin)
}

/// `张三` → `张*`, `欧阳娜娜` → `欧***`.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.trim().chars();
    match chars.next() {
        None => String::new(),
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
    }
}

/// `13812345678` → `138****5678`; anything shorter than 8 characters is hidden entirely.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.trim().chars().collect();
    if chars.len() < 8 {
        return "****".to_string();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// The case as `role` may see it.
pub fn mask_for(mut complaint: Complaint, role: Option<Role>) -> Complaint {
    let full = role.is_none_or(sees_reporter);
    complaint.reporter_visible = full;
    if !full {
        if complaint.anonymous {
            complaint.reporter_name = Some("匿名".to_string());
            complaint.reporter_phone = None;
        } else {
            complaint.reporter_name = complaint.reporter_name.as_deref().map(mask_name);
            complaint.reporter_phone = complaint.reporter_phone.as_deref().map(mask_phone);
        }
    }
    complaint
}

/// The case without the reporter's data, for audit snapshots.
fn audit_snapshot(complaint: &Complaint) -> Complaint {
    let mut snapshot = complaint.clone();
    snapshot.reporter_name = snapshot.reporter_name.as_ref().map(|_| "***".to_string());
    snapshot.reporter_phone = snapshot.reporter_phone.as_ref().map(|_| "***".to_string());
    snapshot
}

fn date_text(day: NaiveDate) -> String {
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
    fn fixed(date: &str) -> Due {
        Due {
            date: Some(date.to_string()),
            gap: false,
            provisional: false,
        }
    }

    /// How the date reads in a timeline note.
    fn text(&self) -> String {
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

// --- settings --------------------------------------------------------------------------------------------

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

pub async fn settings(db: &Db) -> AppResult<Settings> {
    Ok(context(db).await?.settings)
}

/// The settings, and the fingerprint of the calendar the stored due dates were computed with.
async fn load_settings(db: &Db) -> AppResult<(Settings, Option<String>)> {
    let mut settings = Settings::default();
    let mut fingerprint = None;
    for (key, value) in repo::settings(db).await? {
        let int = value.parse::<i64>().ok();
        match key.as_str() {
            "repeat_window_days" => {
                settings.repeat_window_days = int.unwrap_or(settings.repeat_window_days)
            }
            "repeat_distance_m" => {
                settings.repeat_distance_m = value.parse().unwrap_or(settings.repeat_distance_m)
            }
            "due_soon_working_days" => {
                settings.due_soon_working_days = int.unwrap_or(settings.due_soon_working_days)
            }
            "office_start_minute" => {
                settings.office_start_minute = int.unwrap_or(settings.office_start_minute)
            }
            "office_end_minute" => {
                settings.office_end_minute = int.unwrap_or(settings.office_end_minute)
            }
            "persistent_min_cases" => {
                settings.persistent_min_cases = int.unwrap_or(settings.persistent_min_cases)
            }
            "persistent_window_days" => {
                settings.persistent_window_days = int.unwrap_or(settings.persistent_window_days)
            }
            "calendar_fingerprint" => fingerprint = Some(value),
            _ => {}
        }
    }
    Ok((settings, fingerprint))
}

pub async fn update_settings(db: &Db, principal: &Principal, new: Settings) -> AppResult<Settings> {
    Caller::User(principal)
        .require_role(&[Role::Admin, Role::Petition], "change complaint settings")?;
    let in_range = |field: &str, value: i64, low: i64, high: i64| {
        if (low..=high).contains(&value) {
            Ok(())
        } else {
            Err(AppError::validation(
                field,
                format!("must be between {low} and {high}"),
            ))
        }
    };
    in_range("repeat_window_days", new.repeat_window_days, 1, 3650)?;
    if !(1.0..=50_000.0).contains(&new.repeat_distance_m) {
        return Err(AppError::validation(
            "repeat_distance_m",
            "must be between 1 and 50000",
        ));
    }
    in_range("due_soon_working_days", new.due_soon_working_days, 0, 60)?;
    in_range("office_start_minute", new.office_start_minute, 0, 1439)?;
    in_range(
        "office_end_minute",
        new.office_end_minute,
        new.office_start_minute + 1,
        1440,
    )?;
    in_range("persistent_min_cases", new.persistent_min_cases, 2, 1000)?;
    in_range(
        "persistent_window_days",
        new.persistent_window_days,
        1,
        3650,
    )?;
    let before = load_settings(db).await?.0;
    let now = now_ts();
    let mut tx = db.begin_write().await?;
    for (key, value) in [
        ("repeat_window_days", new.repeat_window_days.to_string()),
        ("repeat_distance_m", new.repeat_distance_m.to_string()),
        (
            "due_soon_working_days",
            new.due_soon_working_days.to_string(),
        ),
        ("office_start_minute", new.office_start_minute.to_string()),
        ("office_end_minute", new.office_end_minute.to_string()),
        ("persistent_min_cases", new.persistent_min_cases.to_string()),
        (
            "persistent_window_days",
            new.persistent_window_days.to_string(),
        ),
    ] {
        repo::put_setting(&mut tx, key, &value, &principal.username, now).await?;
    }
    let entry = AuditEntry::by(principal, "update", "complaint_settings", "complaints")
        .summary("信访投诉设置")
        .before(&before)
        .after(&new);
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(new)
}

/// Whether `at` is inside office hours: a working day on the official calendar, between the configured times.
pub fn is_office_hours(
    at: i64,
    settings: &Settings,
    cal: &Calendar,
) -> Result<bool, CalendarError> {
    let local = kernel::time::to_cst(at);
    if !cal.is_working_day(local.date_naive())? {
        return Ok(false);
    }
    let minute = i64::from(local.hour() * 60 + local.minute());
    Ok(minute >= settings.office_start_minute && minute < settings.office_end_minute)
}

// --- intake ----------------------------------------------------------------------------------------------

fn parse_code<T>(
    field: &str,
    value: &str,
    parse: fn(&str) -> Option<T>,
    codes: Vec<&str>,
) -> AppResult<T> {
    parse(value.trim())
        .ok_or_else(|| AppError::validation(field, format!("must be one of {}", codes.join(", "))))
}

/// Metres between two WGS-84 points (haversine; plenty for a few hundred metres).
pub fn distance_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let r = 6_371_000.0_f64;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * r * a.sqrt().asin()
}

/// Whether a channel is a handover from an inspection team, whose deadline the handing body sets.
pub fn is_handover(channel: Channel) -> bool {
    matches!(
        channel,
        Channel::CentralInspection | Channel::MunicipalInspection
    )
}

/// The latest deadline a handing body may set: this many days after receipt.
pub const MAX_HANDOVER_DAYS: i64 = 366;

/// Checks the handover fields: a handover (中央/市级督察交办) carries the deadline its handing body set (a date
/// from the day of receipt to a year after it) and optionally its reference (交办编号); other channels carry
/// neither.
fn handover(
    channel: Channel,
    new: &NewComplaint,
    received_day: NaiveDate,
) -> AppResult<(Option<String>, String)> {
    let deadline = new
        .handover_deadline
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    let reference = validate::optional("handover_ref", new.handover_ref.as_deref(), 64)?;
    if !is_handover(channel) {
        if deadline.is_some() {
            return Err(AppError::validation(
                "handover_deadline",
                "only inspection handovers (central_inspection, municipal_inspection) carry their own deadline",
            ));
        }
        if reference.is_some() {
            return Err(AppError::validation(
                "handover_ref",
                "only inspection handovers carry a handover reference",
            ));
        }
        return Ok((None, String::new()));
    }
    let text = deadline.ok_or_else(|| {
        AppError::validation(
            "handover_deadline",
            "is required for an inspection handover: the deadline the handing body set (YYYY-MM-DD)",
        )
    })?;
    let day = kernel::time::parse_date(text)
        .ok_or_else(|| AppError::validation("handover_deadline", "must be a date YYYY-MM-DD"))?;
    if day < received_day {
        return Err(AppError::validation(
            "handover_deadline",
            "lies before the day the handover was received",
        ));
    }
    if (day - received_day).num_days() > MAX_HANDOVER_DAYS {
        return Err(AppError::validation(
            "handover_deadline",
            format!("lies more than {MAX_HANDOVER_DAYS} days after receipt"),
        ));
    }
    Ok((Some(date_text(day)), reference.unwrap_or_default()))
}

/// Files a case: validates it, starts the acceptance clock, routes intake outside office hours to the officer
/// on duty, links it to earlier cases about the same enterprise or place and category, and records all of it.
pub async fn file_complaint(
    db: &Db,
    caller: Caller<'_>,
    new: NewComplaint,
    simulated: bool,
) -> AppResult<Complaint> {
    if let Some(p) = caller.principal() {
        p.require(Resource::Complaint, Action::Create)?;
    }
    let channel = parse_code("channel", &new.channel, Channel::parse, Channel::codes())?;
    let category = parse_code(
        "category",
        &new.category,
        Category::parse,
        Category::codes(),
    )?;
    let title = validate::required("title", &new.title, 200)?;
    let description = validate::required("description", &new.description, 5000)?;
    let object_name =
        validate::optional("object_name", new.object_name.as_deref(), 200)?.unwrap_or_default();
    let address = validate::optional("address", new.address.as_deref(), 300)?.unwrap_or_default();
    validate::coordinates(new.lon, new.lat)?;
    let reporter_name = validate::optional("reporter_name", new.reporter_name.as_deref(), 64)?;
    let reporter_phone = validate::optional("reporter_phone", new.reporter_phone.as_deref(), 32)?;
    if let Some(phone) = &reporter_phone
        && !phone
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | ' '))
    {
        return Err(AppError::validation(
            "reporter_phone",
            "may contain only digits, '-', '+' and spaces",
        ));
    }
    let now = now_ts();
    let received_at = new.received_at.unwrap_or(now);
    if received_at > now + 300 {
        return Err(AppError::validation("received_at", "lies in the future"));
    }
    let received_day = cst_day(received_at);
    let (handover_deadline, handover_ref) = handover(channel, &new, received_day)?;
    let ctx = context(db).await?;
    let (settings, cal) = (&ctx.settings, &*ctx.calendar);
    let mut tx = db.begin_write().await?;
    let mut street_id = new.street_id;
    if let Some(enterprise) = new.enterprise_id {
        match repo::enterprise_street(&mut tx, enterprise).await? {
            None => {
                return Err(AppError::validation(
                    "enterprise_id",
                    format!("no enterprise with id {enterprise}"),
                ));
            }
            Some(enterprise_street) => street_id = street_id.or(enterprise_street),
        }
    }
    // A street officer files for their own street only (grid reports).
    if let Some(own) = caller.principal().and_then(Principal::street_scope) {
        if street_id.is_some_and(|s| s != own) {
            return Err(AppError::validation(
                "street_id",
                "a street officer files cases of their own street only",
            ));
        }
        street_id = Some(own);
    }
    if let Some(street) = street_id
        && !repo::street_exists(&mut tx, street).await?
    {
        return Err(AppError::validation(
            "street_id",
            format!("no street with id {street}"),
        ));
    }
    let acceptance = acceptance_due(cal, channel, received_day, handover_deadline.as_deref());
    let office = is_office_hours(received_at, settings, cal);
    let after_hours = !matches!(office, Ok(true));
    let shift = if after_hours {
        repo::on_duty(&mut tx, received_at, DutyRole::Officer).await?
    } else {
        None
    };
    let insert = repo::CaseInsert {
        channel,
        category,
        title: &title,
        description: &description,
        enterprise_id: new.enterprise_id,
        object_name: &object_name,
        address: &address,
        street_id,
        lon: new.lon,
        lat: new.lat,
        reporter_name: reporter_name.as_deref(),
        reporter_phone: reporter_phone.as_deref(),
        anonymous: new.anonymous,
        received_at,
        acceptance_due: acceptance.date.clone(),
        calendar_gap: acceptance.gap,
        calendar_provisional: acceptance.provisional,
        handover_deadline: handover_deadline.clone(),
        handover_ref: &handover_ref,
        after_hours,
        duty_shift_id: shift.as_ref().map(|s| s.id),
        simulated,
        created_by: &caller.name(),
        now,
    };
    let id = repo::insert_case(&mut tx, &insert, received_day.year()).await?;
    let actor = caller.name();
    let clocks = channel.clocks();
    let mut intake_note = match &acceptance.date {
        Some(_) => format!(
            "{}登记；受理时限{}，至{}",
            channel.label(),
            clocks.acceptance.label(),
            acceptance.text()
        ),
        None => format!(
            "{}登记；官方工作日历缺少所需年份，受理期限无法计算，请补充日历",
            channel.label()
        ),
    };
    if let Some(deadline) = &handover_deadline {
        intake_note.push_str(&format!("；交办机关确定的办理期限 {deadline}"));
        if !handover_ref.is_empty() {
            intake_note.push_str(&format!("（交办编号 {handover_ref}）"));
        }
    }
    repo::insert_event(
        &mut tx,
        id,
        received_at,
        caller.id(),
        &actor,
        "intake",
        None,
        Some(State::Received),
        &intake_note,
    )
    .await?;
    if after_hours {
        let note = match (&shift, office) {
            (Some(s), Ok(_)) => {
                format!("非工作时间来件，转值班员 {}（{}）", s.person_name, s.phone)
            }
            (Some(s), Err(_)) => format!(
                "日历缺少该年份，按非工作时间处理，转值班员 {}（{}）",
                s.person_name, s.phone
            ),
            (None, _) => "非工作时间来件，值班表中此时无值班员：请补排值班".to_string(),
        };
        repo::insert_event(
            &mut tx,
            id,
            received_at,
            None,
            "system",
            "duty_routing",
            None,
            None,
            &note,
        )
        .await?;
    }
    // Repeats: earlier cases of the same category within the window, about the same enterprise or place.
    let since = received_at - settings.repeat_window_days * DAY_SECONDS;
    let bbox = match (new.lon, new.lat) {
        (Some(lon), Some(lat)) => {
            let dlat = settings.repeat_distance_m / 111_320.0;
            let dlon = settings.repeat_distance_m / (111_320.0 * lat.to_radians().cos().max(0.01));
            Some((lon - dlon, lat - dlat, lon + dlon, lat + dlat))
        }
        _ => None,
    };
    let candidates = if new.enterprise_id.is_some() || bbox.is_some() {
        repo::repeat_candidates(
            &mut tx,
            category,
            since,
            received_at,
            id,
            new.enterprise_id,
            bbox,
        )
        .await?
    } else {
        Vec::new()
    };
    let mut linked = Vec::new();
    for c in candidates {
        let link = if new.enterprise_id.is_some() && c.enterprise_id == new.enterprise_id {
            Some(("enterprise", None))
        } else if let (Some(lon), Some(lat), Some(clon), Some(clat)) =
            (new.lon, new.lat, c.lon, c.lat)
        {
            let d = distance_m(lon, lat, clon, clat);
            (d <= settings.repeat_distance_m)
                .then_some(("location", Some((d * 10.0).round() / 10.0)))
        } else {
            None
        };
        if let Some((reason, distance)) = link {
            repo::insert_link(&mut tx, id, c.id, reason, distance).await?;
            linked.push((c.repeat_root_id.unwrap_or(c.id), c.received_at, c.id));
        }
    }
    if !linked.is_empty() {
        // The chain's root is the root of the earliest linked case.
        linked.sort_by_key(|(_, at, cid)| (*at, *cid));
        let root = linked[0].0;
        let count = i64::try_from(linked.len()).unwrap_or(i64::MAX);
        repo::mark_repeat(&mut tx, id, root, count).await?;
        let ids: Vec<String> = linked.iter().map(|(_, _, cid)| cid.to_string()).collect();
        let note = format!(
            "重复信访：与 {count} 件在先案件（编号 id {}）同一对象或地点、同一类别",
            ids.join("、")
        );
        repo::insert_event(
            &mut tx,
            id,
            received_at,
            None,
            "system",
            "repeat_link",
            None,
            None,
            &note,
        )
        .await?;
    }
    let complaint = repo::get_case(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("case {id} vanished after insert")))?;
    let entry = caller
        .entry("create", id)
        .summary(format!("登记信访投诉 {}", complaint.case_no))
        .after(&audit_snapshot(&complaint));
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(mask_for(complaint, caller.role()))
}

// --- reading ---------------------------------------------------------------------------------------------

/// A case the caller may see (another street's case is "not found").
async fn visible_case(db: &Db, principal: &Principal, id: i64) -> AppResult<Complaint> {
    principal.require(Resource::Complaint, Action::Read)?;
    let mut conn = db.pool().acquire().await?;
    let complaint = repo::get_case(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("complaint not found"))?;
    principal.require_street(complaint.street_id, "complaint")?;
    Ok(complaint)
}

pub async fn case_file(
    db: &Db,
    principal: &Principal,
    id: i64,
    today: NaiveDate,
) -> AppResult<CaseFile> {
    let ctx = context(db).await?;
    let complaint = visible_case(db, principal, id).await?;
    let mut conn = db.pool().acquire().await?;
    let extensions = repo::extensions_of(&mut conn, id).await?;
    drop(conn);
    // Links to another street's cases show only their numbers, which reveal nothing further.
    Ok(CaseFile {
        competent_body: complaint.category.competent_body(),
        clock_basis: complaint.channel.clocks().basis,
        timeline: repo::timeline(db, id).await?,
        site_checks: repo::site_checks(db, id).await?,
        extensions,
        links: repo::links(db, id).await?,
        evidence: repo::evidence_of(db, id).await?,
        case: view(mask_for(complaint, Some(principal.role)), today, &ctx),
    })
}

/// A case that takes new evidence: visible, updatable by the caller, and not closed. A closed (办结) or refused
/// (不予受理) case's file is complete (一案一档); new material goes into a new case or the reporter's 复查. A case
/// that was replied to takes evidence until it is closed, and a reopened one again (a 409 otherwise).
pub async fn require_case_taking_evidence(
    db: &Db,
    principal: &Principal,
    id: i64,
) -> AppResult<Complaint> {
    let complaint = require_case(db, principal, id, Action::Update).await?;
    if complaint.state.is_final() {
        return Err(AppError::Conflict(format!(
            "案件已{}，不再接收新的证据材料（a {} case takes no new evidence）",
            complaint.state.label(),
            complaint.state.as_str()
        )));
    }
    Ok(complaint)
}

/// Checks a visible case and returns it (for evidence downloads and uploads).
pub async fn require_case(
    db: &Db,
    principal: &Principal,
    id: i64,
    action: Action,
) -> AppResult<Complaint> {
    let complaint = visible_case(db, principal, id).await?;
    principal.require(Resource::Complaint, action)?;
    Ok(complaint)
}

fn parse_optional<T>(
    field: &str,
    value: &Option<String>,
    parse: fn(&str) -> Option<T>,
    codes: Vec<&str>,
) -> AppResult<Option<T>> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => parse_code(field, v, parse, codes).map(Some),
    }
}

/// `YYYY-MM` → the CST instants bounding that month.
pub fn month_range(text: &str) -> Option<(i64, i64)> {
    let first = NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d").ok()?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)?
    };
    Some((cst_day_start(first), cst_day_start(next)))
}

/// Turns the query string into typed filters, within the caller's street.
pub fn list_query(
    principal: &Principal,
    filter: &ComplaintFilter,
    today: NaiveDate,
    ctx: &Ctx,
) -> AppResult<ListQuery> {
    let month = match filter
        .month
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        None => None,
        Some(m) => {
            Some(month_range(m).ok_or_else(|| AppError::validation("month", "must be YYYY-MM"))?)
        }
    };
    let due = match filter.due.as_deref().map(str::trim).unwrap_or("") {
        "" => None,
        "overdue" => Some(DueFilter::Overdue {
            today: date_text(today),
        }),
        "due_soon" => {
            // Every day before the (n+1)-th working day has at most n working days left: a due date on a
            // rest day (a handover's) is due soon exactly when its case page says so.
            let n = u32::try_from(ctx.settings.due_soon_working_days).unwrap_or(3);
            let horizon = ctx
                .calendar
                .add_working_days(today, n + 1)
                .map_err(|e| AppError::validation("due", e.to_string()))?
                .pred_opt()
                .unwrap_or(today);
            Some(DueFilter::DueSoon {
                today: date_text(today),
                horizon: date_text(horizon),
            })
        }
        "escalated" => Some(DueFilter::Escalated),
        "calendar_gap" => Some(DueFilter::CalendarGap),
        "provisional" => Some(DueFilter::Provisional),
        _ => {
            return Err(AppError::validation(
                "due",
                "must be one of due_soon, overdue, escalated, calendar_gap, provisional",
            ));
        }
    };
    Ok(ListQuery {
        state: parse_optional("state", &filter.state, State::parse, State::codes())?,
        channel: parse_optional("channel", &filter.channel, Channel::parse, Channel::codes())?,
        category: parse_optional(
            "category",
            &filter.category,
            Category::parse,
            Category::codes(),
        )?,
        street_id: validate::form_i64("street_id", filter.street_id.as_deref())?,
        scope_street: principal.street_scope(),
        due,
        repeat_only: filter
            .repeat
            .as_deref()
            .is_some_and(|r| r == "1" || r == "true"),
        received_from: month.map(|(from, _)| from),
        received_to: month.map(|(_, to)| to),
        q: filter.q.clone(),
        enterprise_id: validate::form_i64("enterprise_id", filter.enterprise_id.as_deref())?,
    })
}

pub async fn list(
    db: &Db,
    principal: &Principal,
    filter: &ComplaintFilter,
    page: &PageQuery,
    today: NaiveDate,
) -> AppResult<Page<ComplaintView>> {
    principal.require(Resource::Complaint, Action::Read)?;
    let ctx = context(db).await?;
    let query = list_query(principal, filter, today, &ctx)?;
    let found = repo::list_cases(db, &query, page).await?;
    Ok(found.map(|c| view(mask_for(c, Some(principal.role)), today, &ctx)))
}

/// At most this many rows go into one export.
pub const EXPORT_LIMIT: i64 = 20_000;

pub async fn export_rows(
    db: &Db,
    principal: &Principal,
    filter: &ComplaintFilter,
    today: NaiveDate,
) -> AppResult<Vec<ComplaintView>> {
    principal.require(Resource::Complaint, Action::Read)?;
    let ctx = context(db).await?;
    let query = list_query(principal, filter, today, &ctx)?;
    Ok(repo::all_cases(db, &query, EXPORT_LIMIT)
        .await?
        .into_iter()
        .map(|c| view(mask_for(c, Some(principal.role)), today, &ctx))
        .collect())
}

// --- handling --------------------------------------------------------------------------------------------

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
    let cal = &*ctx.calendar;
    let mut tx = db.begin_write().await?;
    let before = repo::get_case(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("complaint not found"))?;
    if let Some(p) = caller.principal() {
        p.require(Resource::Complaint, Action::Read)?;
        p.require_street(before.street_id, "complaint")?;
        if !matches!(action, CaseAction::DecideExtension { .. }) {
            p.require(Resource::Complaint, Action::Update)?;
        }
    }
    let actor = caller.name();
    let today = cst_day(now);
    let clocks = before.channel.clocks();
    let state = before.state;
    let transition = |t: Transition| -> AppResult<State> {
        state.after(t).ok_or_else(|| {
            AppError::Conflict(format!(
                "cannot {} a case that is {}（{}）",
                t.label(),
                state.label(),
                state.as_str()
            ))
        })
    };
    // Each step yields (audit action, timeline kind, the new state if it moved, the note).
    let (audit_action, kind, moved_to, summary) = match &action {
        CaseAction::Accept { note } => {
            caller.require_role(INTAKE_ROLES, "accept cases")?;
            let to = transition(Transition::Accept)?;
            let due = handling_due(
                cal,
                before.channel,
                before.handover_deadline.as_deref(),
                today,
                0,
            );
            move_case(
                &mut tx,
                &before,
                to,
                [("accepted_at", Value::Int(Some(now)))]
                    .into_iter()
                    .chain(handling_period(today, &due))
                    .collect(),
                now,
            )
            .await?;
            let text = match &due.date {
                Some(_) if before.handover_deadline.is_some() => format!(
                    "受理；办理期限为交办机关确定的 {}。{}",
                    due.text(),
                    note_or_empty(note)
                ),
                Some(_) => format!(
                    "受理；办理时限{}，至{}。{}",
                    clocks.handling.label(),
                    due.text(),
                    note_or_empty(note)
                ),
                None => format!(
                    "受理；官方工作日历缺少所需年份，办理期限无法计算。{}",
                    note_or_empty(note)
                ),
            };
            ("accept", "transition", Some(to), text)
        }
        CaseAction::NotAccept { reason } => {
            caller.require_role(INTAKE_ROLES, "refuse cases")?;
            let reason = validate::required("reason", reason, 1000)?;
            let to = transition(Transition::NotAccept)?;
            move_case(
                &mut tx,
                &before,
                to,
                vec![
                    ("not_accepted_reason", Value::Text(Some(reason.clone()))),
                    ("clock_due", Value::Text(None)),
                ],
                now,
            )
            .await?;
            let text = format!("不予受理：{reason}（已告知举报人）");
            ("not_accept", "transition", Some(to), text)
        }
        CaseAction::Assign {
            street_id,
            department_id,
            note,
        } => {
            caller.require_role(INTAKE_ROLES, "assign cases")?;
            let to = transition(Transition::Assign)?;
            if street_id.is_none() && department_id.is_none() {
                return Err(AppError::validation(
                    "street_id",
                    "give a street or a department",
                ));
            }
            if let Some(s) = street_id
                && !repo::street_exists(&mut tx, *s).await?
            {
                return Err(AppError::validation(
                    "street_id",
                    format!("no street with id {s}"),
                ));
            }
            if let Some(d) = department_id
                && !repo::department_exists(&mut tx, *d).await?
            {
                return Err(AppError::validation(
                    "department_id",
                    format!("no department with id {d}"),
                ));
            }
            let mut columns = vec![("assigned_at", Value::Int(Some(now)))];
            if street_id.is_some() {
                columns.push(("street_id", Value::Int(*street_id)));
            }
            columns.push(("department_id", Value::Int(*department_id)));
            move_case(&mut tx, &before, to, columns, now).await?;
            let text = format!(
                "交办{}{}。{}",
                street_id
                    .map(|s| format!(" 街道 id {s}"))
                    .unwrap_or_default(),
                department_id
                    .map(|d| format!(" 部门 id {d}"))
                    .unwrap_or_default(),
                note_or_empty(note)
            );
            ("assign", "transition", Some(to), text)
        }
        CaseAction::StartHandling { note } => {
            caller.require_role(HANDLER_ROLES, "handle cases")?;
            let to = transition(Transition::StartHandling)?;
            move_case(&mut tx, &before, to, Vec::new(), now).await?;
            let text = format!("开始办理。{}", note_or_empty(note));
            ("start_handling", "transition", Some(to), text)
        }
        CaseAction::SiteCheck {
            checked_at,
            inspectors,
            findings,
            violation_found,
        } => {
            caller.require_role(HANDLER_ROLES, "record site checks")?;
            if state != State::InHandling {
                return Err(AppError::Conflict(format!(
                    "site checks are recorded while a case is in handling, not {}",
                    state.label()
                )));
            }
            let inspectors = validate::required("inspectors", inspectors, 200)?;
            let findings = validate::required("findings", findings, 5000)?;
            let at = checked_at.unwrap_or(now);
            if at > now + 300 || at < before.received_at {
                return Err(AppError::validation(
                    "checked_at",
                    "must lie between receipt and now",
                ));
            }
            repo::insert_site_check(
                &mut tx,
                id,
                at,
                &inspectors,
                &findings,
                *violation_found,
                &actor,
                now,
            )
            .await?;
            let text = format!(
                "现场核查（{inspectors}）：{findings}{}",
                if *violation_found {
                    "；发现违法行为"
                } else {
                    ""
                }
            );
            ("site_check", "site_check", None, text)
        }
        CaseAction::Reply {
            result,
            measures,
            penalty_case_ref,
        } => {
            caller.require_role(HANDLER_ROLES, "reply")?;
            let to = transition(Transition::Reply)?;
            let result = validate::required("result", result, 5000)?;
            let measures = validate::required("measures", measures, 5000)?;
            let reference =
                validate::optional("penalty_case_ref", penalty_case_ref.as_deref(), 100)?;
            move_case(
                &mut tx,
                &before,
                to,
                vec![
                    ("replied_at", Value::Int(Some(now))),
                    ("reply_result", Value::Text(Some(result.clone()))),
                    ("reply_measures", Value::Text(Some(measures.clone()))),
                    ("penalty_case_ref", Value::Text(reference.clone())),
                    ("clock_due", Value::Text(None)),
                ],
                now,
            )
            .await?;
            let text = format!(
                "答复：{result}；措施：{measures}{}",
                reference
                    .map(|r| format!("；案件/处罚文号 {r}"))
                    .unwrap_or_default()
            );
            ("reply", "transition", Some(to), text)
        }
        CaseAction::Close { satisfaction, note } => {
            caller.require_role(INTAKE_ROLES, "close cases")?;
            let to = transition(Transition::Close)?;
            move_case(
                &mut tx,
                &before,
                to,
                vec![
                    ("closed_at", Value::Int(Some(now))),
                    (
                        "satisfaction",
                        Value::Text(Some(satisfaction.as_str().to_string())),
                    ),
                ],
                now,
            )
            .await?;
            let text = format!(
                "办结；回访评价：{}。{}",
                satisfaction.label(),
                note_or_empty(note)
            );
            ("close", "transition", Some(to), text)
        }
        CaseAction::Reopen { reason } => {
            caller.require_role(INTAKE_ROLES, "reopen cases")?;
            let reason = validate::required("reason", reason, 1000)?;
            let to = transition(Transition::Reopen)?;
            if before.reopen_count >= MAX_REOPENINGS {
                return Err(AppError::Conflict(format!(
                    "a case is reopened at most {MAX_REOPENINGS} time(s); further objections go to 复查"
                )));
            }
            // A reopened case gets a fresh handling period from today [M]; a handover keeps the deadline its
            // handing body set.
            let due = handling_due(
                cal,
                before.channel,
                before.handover_deadline.as_deref(),
                today,
                0,
            );
            move_case(
                &mut tx,
                &before,
                to,
                [
                    ("reopen_count", Value::Int(Some(before.reopen_count + 1))),
                    ("satisfaction", Value::Text(None)),
                ]
                .into_iter()
                .chain(handling_period(today, &due))
                .collect(),
                now,
            )
            .await?;
            let text = format!("重新办理：{reason}；新办理期限 {}", due.text());
            ("reopen", "transition", Some(to), text)
        }
        CaseAction::RequestExtension { days, reason } => {
            caller.require_role(HANDLER_ROLES, "request extensions")?;
            if before.handover_deadline.is_some() {
                return Err(AppError::Conflict(
                    "督察交办件的办理期限由交办机关确定，延期须向交办机关申请（an inspection handover's deadline is set by the handing body)"
                        .to_string(),
                ));
            }
            if !state.handling_clock_runs() {
                return Err(AppError::Conflict(format!(
                    "no handling period runs while a case is {}",
                    state.label()
                )));
            }
            let max = i64::from(clocks.max_extension_days);
            if !(1..=max).contains(days) {
                return Err(AppError::validation(
                    "days",
                    format!("must be between 1 and {max}"),
                ));
            }
            let reason = validate::required("reason", reason, 1000)?;
            let earlier = repo::extensions_of(&mut tx, id).await?;
            if earlier.iter().any(|e| e.status != "rejected") {
                return Err(AppError::Conflict(
                    "a case gets one extension; one is already pending or approved".to_string(),
                ));
            }
            repo::insert_extension(&mut tx, id, *days, &reason, &actor, now).await?;
            let text = format!("申请延期 {days} 日：{reason}");
            ("extension_request", "extension_request", None, text)
        }
        CaseAction::DecideExtension { approve, note } => {
            caller.require_role(APPROVER_ROLES, "approve extensions")?;
            let pending = repo::extensions_of(&mut tx, id)
                .await?
                .into_iter()
                .find(|e| e.status == "pending")
                .ok_or_else(|| AppError::Conflict("no extension is pending".to_string()))?;
            let note = validate::optional("note", note.as_deref(), 1000)?;
            if !repo::decide_extension(&mut tx, pending.id, *approve, &actor, note.as_deref(), now)
                .await?
            {
                return Err(AppError::Conflict(
                    "the extension was decided meanwhile".to_string(),
                ));
            }
            let text = if *approve {
                // The extension lengthens the period that runs now (the original, or a reopened one): the
                // period's days plus the extension's, from the period's start.
                let start = before
                    .handling_start
                    .as_deref()
                    .and_then(kernel::time::parse_date)
                    .or(before.accepted_at.map(cst_day))
                    .unwrap_or(today);
                let due = handling_due(
                    cal,
                    before.channel,
                    before.handover_deadline.as_deref(),
                    start,
                    pending.days,
                );
                let clock_due = if state.handling_clock_runs() {
                    due.date.clone()
                } else {
                    before.clock_due.clone()
                };
                repo::set_handling_due(
                    &mut tx,
                    id,
                    pending.days,
                    &repo::Deadlines {
                        acceptance_due: before.acceptance_due.clone(),
                        handling_due: due.date.clone(),
                        clock_due,
                        calendar_gap: due.gap,
                        calendar_provisional: due.provisional,
                    },
                    now,
                )
                .await?;
                format!(
                    "批准延期 {} 日，办理期限至 {}。{}",
                    pending.days,
                    due.text(),
                    note.unwrap_or_default()
                )
            } else {
                format!("不批准延期。{}", note.unwrap_or_default())
            };
            ("extension_decision", "extension_decision", None, text)
        }
        CaseAction::ChangeHandoverDeadline { deadline, note } => {
            caller.require_role(INTAKE_ROLES, "change a handover's deadline")?;
            let old = before.handover_deadline.clone().ok_or_else(|| {
                AppError::Conflict(
                    "only an inspection handover has a deadline of its handing body".into(),
                )
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
            let acceptance = acceptance_due(cal, before.channel, received_day, Some(&new));
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
            move_case(&mut tx, &before, state, columns, now).await?;
            let text = format!(
                "交办机关调整办理期限：{old} → {new}。{}",
                note.unwrap_or_default()
            );
            ("handover_deadline", "handover_deadline", None, text)
        }
    };
    let from = moved_to.map(|_| state);
    repo::insert_event(
        &mut tx,
        id,
        now,
        caller.id(),
        &actor,
        kind,
        from,
        moved_to,
        summary.trim(),
    )
    .await?;
    let after = repo::get_case(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("case {id} vanished")))?;
    let entry = caller
        .entry(audit_action, id)
        .summary(format!("{} {summary}", after.case_no))
        .before(&audit_snapshot(&before))
        .after(&audit_snapshot(&after));
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(mask_for(after, caller.role()))
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

async fn move_case(
    conn: &mut sqlx::AnyConnection,
    before: &Complaint,
    to: State,
    columns: Vec<(&'static str, Value)>,
    now: i64,
) -> AppResult<()> {
    if repo::update_case(conn, before.id, before.state, to, columns, now).await? {
        Ok(())
    } else {
        Err(AppError::Conflict(
            "the case was changed meanwhile; reload it".to_string(),
        ))
    }
}

/// Escalates every open case whose clock ran out before `today` to the leaders (督办): flags it, records it in
/// the timeline and the audit log. Returns the escalated ids. Idempotent.
pub async fn escalate_overdue(db: &Db, caller: Caller<'_>, now: i64) -> AppResult<Vec<i64>> {
    caller.require_role(
        &[Role::Admin, Role::Leader, Role::Petition],
        "run escalation",
    )?;
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

// --- duty roster -----------------------------------------------------------------------------------------

pub async fn add_shift(
    db: &Db,
    caller: Caller<'_>,
    new: NewDutyShift,
    simulated: bool,
) -> AppResult<DutyShift> {
    if let Some(p) = caller.principal() {
        p.require(Resource::DutyRoster, Action::Create)?;
    }
    if new.ends_at <= new.starts_at {
        return Err(AppError::validation("ends_at", "must be after starts_at"));
    }
    // Saturating: times near i64::MIN or MAX (the fuzzer sent them) must be refused, not overflow.
    if new.ends_at.saturating_sub(new.starts_at) > 7 * DAY_SECONDS {
        return Err(AppError::validation(
            "ends_at",
            "a shift lasts at most 7 days",
        ));
    }
    let name = validate::required("person_name", &new.person_name, 64)?;
    let phone = validate::required("phone", &new.phone, 32)?;
    let note = validate::optional("note", Some(new.note.as_str()), 500)?.unwrap_or_default();
    let now = now_ts();
    let mut tx = db.begin_write().await?;
    let id = repo::insert_shift(
        &mut tx,
        new.starts_at,
        new.ends_at,
        new.duty_role,
        new.user_id,
        &name,
        &phone,
        &note,
        simulated,
        &caller.name(),
        now,
    )
    .await?;
    let shift = repo::get_shift(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("shift {id} vanished")))?;
    let entry = match caller {
        Caller::User(p) => AuditEntry::by(p, "create", "duty_shift", id),
        Caller::System(name) => AuditEntry::system(name, "create", "duty_shift", id),
    }
    .summary(format!(
        "值班 {} {} {}–{}",
        shift.duty_role.label(),
        shift.person_name,
        shift.starts_cst,
        shift.ends_cst
    ))
    .after(&shift);
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(shift)
}

pub async fn delete_shift(db: &Db, principal: &Principal, id: i64) -> AppResult<()> {
    principal.require(Resource::DutyRoster, Action::Delete)?;
    let mut tx = db.begin_write().await?;
    let shift = repo::get_shift(&mut tx, id)
        .await?
        .ok_or_else(|| AppError::not_found("duty shift not found"))?;
    if !repo::delete_shift(&mut tx, id).await? {
        return Err(AppError::Conflict(
            "this shift received cases; it stays on the record".to_string(),
        ));
    }
    let entry = AuditEntry::by(principal, "delete", "duty_shift", id).before(&shift);
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn shifts(
    db: &Db,
    principal: &Principal,
    from: i64,
    to: i64,
) -> AppResult<Vec<DutyShift>> {
    principal.require(Resource::DutyRoster, Action::Read)?;
    Ok(repo::shifts(db, from, to).await?)
}

// --- statistics, map, persistent sources -----------------------------------------------------------------

fn year_range(year: i32) -> AppResult<(i64, i64)> {
    let first = NaiveDate::from_ymd_opt(year, 1, 1)
        .ok_or_else(|| AppError::validation("year", "out of range"))?;
    let next = NaiveDate::from_ymd_opt(year + 1, 1, 1)
        .ok_or_else(|| AppError::validation("year", "out of range"))?;
    Ok((cst_day_start(first), cst_day_start(next)))
}

pub async fn statistics(
    db: &Db,
    principal: &Principal,
    year: i32,
    today: NaiveDate,
) -> AppResult<Statistics> {
    principal.require(Resource::Complaint, Action::Read)?;
    context(db).await?;
    let (from, to) = year_range(year)?;
    let scope = principal.street_scope();
    let by = |rows, label: fn(&str) -> String| repo::counts(rows, label);
    let by_street = by(repo::count_by(db, "street", from, to, scope).await?, |k| {
        k.to_string()
    });
    let by_category = by(
        repo::count_by(db, "category", from, to, scope).await?,
        |k| Category::parse(k).map_or(k.to_string(), |c| c.label().to_string()),
    );
    let by_channel = by(repo::count_by(db, "channel", from, to, scope).await?, |k| {
        Channel::parse(k).map_or(k.to_string(), |c| c.label().to_string())
    });
    let by_state = by(repo::count_by(db, "state", from, to, scope).await?, |k| {
        State::parse(k).map_or(k.to_string(), |c| c.label().to_string())
    });
    let facts = repo::case_facts(db, from, to, scope).await?;
    let mut months = [0_i64; 12];
    let mut noise: std::collections::BTreeMap<String, [i64; 4]> = Default::default();
    let mut repeats = 0;
    for (at, street, category, repeat) in &facts {
        let month = kernel::time::to_cst(*at).month0() as usize;
        if let Some(m) = months.get_mut(month) {
            *m += 1;
        }
        repeats += i64::from(*repeat != 0);
        if let Some(source) = Category::parse(category).and_then(Category::noise_source) {
            let row = noise
                .entry(street.clone().unwrap_or_else(|| "（未定街道）".to_string()))
                .or_default();
            let slot = match source {
                NoiseSource::Traffic => 0,
                NoiseSource::Construction => 1,
                NoiseSource::Industrial => 2,
                NoiseSource::SocialLife => 3,
            };
            row[slot] += 1;
        }
    }
    Ok(Statistics {
        year,
        total: i64::try_from(facts.len()).unwrap_or(i64::MAX),
        by_street,
        by_category,
        by_channel,
        by_month: months
            .iter()
            .enumerate()
            .map(|(i, n)| Count {
                key: format!("{year}-{:02}", i + 1),
                label: format!("{}月", i + 1),
                count: *n,
            })
            .collect(),
        by_state,
        noise_survey: noise
            .into_iter()
            .map(
                |(street, [traffic, construction, industrial, social_life])| NoiseSurveyRow {
                    street,
                    traffic,
                    construction,
                    industrial,
                    social_life,
                },
            )
            .collect(),
        repeats,
        overdue_open: repo::count_overdue_open(db, &date_text(today), scope).await?,
    })
}

pub async fn map_points(
    db: &Db,
    principal: &Principal,
    year: i32,
    month: Option<&str>,
    category: Option<&str>,
) -> AppResult<Vec<MapPoint>> {
    principal.require(Resource::Complaint, Action::Read)?;
    let (from, to) = match month.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => {
            month_range(m).ok_or_else(|| AppError::validation("month", "must be YYYY-MM"))?
        }
        None => year_range(year)?,
    };
    let category = parse_optional(
        "category",
        &category.map(str::to_string),
        Category::parse,
        Category::codes(),
    )?;
    Ok(repo::map_points(db, from, to, category, principal.street_scope()).await?)
}

pub async fn persistent_sources(
    db: &Db,
    principal: &Principal,
    now: i64,
) -> AppResult<Vec<PersistentSource>> {
    principal.require(Resource::Complaint, Action::Read)?;
    let settings = settings(db).await?;
    let since = now - settings.persistent_window_days * DAY_SECONDS;
    let groups = repo::persistent_sources(
        db,
        since,
        settings.persistent_min_cases,
        principal.street_scope(),
    )
    .await?;
    Ok(groups
        .into_iter()
        .filter_map(|g| {
            Some(PersistentSource {
                kind: if g.enterprise_id.is_some() {
                    "enterprise"
                } else {
                    "place"
                }
                .to_string(),
                enterprise_id: g.enterprise_id,
                root_case_id: g.root_id,
                label: g.label.unwrap_or_default(),
                street_name: g.street_name,
                category: Category::parse(&g.category)?,
                cases: g.cases,
                open_cases: g.open_cases,
                last_received_at: g.last_received_at,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("李"), "李*");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("022-2439"), "022****2439");
        assert_eq!(mask_phone("12369"), "****");
    }

    #[test]
    fn distances() {
        let d = distance_m(117.30, 39.10, 117.30, 39.101);
        assert!((d - 111.2).abs() < 1.0, "{d}");
    }

    #[test]
    fn months() {
        let (from, to) = month_range("2024-12").unwrap();
        assert_eq!(kernel::time::format_cst(from), "2024-12-01 00:00");
        assert_eq!(kernel::time::format_cst(to), "2025-01-01 00:00");
        assert!(month_range("2024-13").is_none());
    }
}
