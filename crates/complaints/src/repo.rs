//! The only SQL of the area. Portable dialect (kernel::db): `$n`, i64 Unix seconds, BIGINT flags, casts on
//! every aggregate. Streets, enterprises and departments are the registry's: their names come from
//! `registry::service` (the service fills them in), never from a join here.

use kernel::db::{SqlBuilder, flag};
use kernel::{Db, Page, PageQuery};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::model::{
    Category, Channel, Complaint, Count, DutyRole, DutyShift, Evidence, Extension, MapPoint,
    RepeatLink, Satisfaction, SiteCheck, State, TimelineEvent,
};

const SELECT_CASE: &str = "SELECT c.* FROM complaints c";

fn decode_error(column: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unknown {column} {value:?}").into())
}

fn complaint_from_row(row: &AnyRow) -> Result<Complaint, sqlx::Error> {
    let text = |c: &str| -> Result<String, sqlx::Error> { row.try_get::<String, _>(c) };
    let channel = text("channel")?;
    let category = text("category")?;
    let state = text("state")?;
    let satisfaction: Option<String> = row.try_get("satisfaction")?;
    let yes = |c: &str| -> Result<bool, sqlx::Error> { Ok(row.try_get::<i64, _>(c)? != 0) };
    Ok(Complaint {
        id: row.try_get("id")?,
        case_no: text("case_no")?,
        channel: Channel::parse(&channel).ok_or_else(|| decode_error("channel", &channel))?,
        category: Category::parse(&category).ok_or_else(|| decode_error("category", &category))?,
        state: State::parse(&state).ok_or_else(|| decode_error("state", &state))?,
        title: text("title")?,
        description: text("description")?,
        enterprise_id: row.try_get("enterprise_id")?,
        enterprise_name: None,
        object_name: text("object_name")?,
        address: text("address")?,
        street_id: row.try_get("street_id")?,
        street_name: None,
        department_id: row.try_get("department_id")?,
        department_name: None,
        lon: row.try_get("lon")?,
        lat: row.try_get("lat")?,
        reporter_name: row.try_get("reporter_name")?,
        reporter_phone: row.try_get("reporter_phone")?,
        anonymous: yes("anonymous")?,
        reporter_visible: true,
        received_at: row.try_get("received_at")?,
        acceptance_due: row.try_get("acceptance_due")?,
        accepted_at: row.try_get("accepted_at")?,
        not_accepted_reason: row.try_get("not_accepted_reason")?,
        handling_due: row.try_get("handling_due")?,
        extension_days: row.try_get("extension_days")?,
        assigned_at: row.try_get("assigned_at")?,
        findings: row.try_get("findings")?,
        replied_at: row.try_get("replied_at")?,
        reply_result: row.try_get("reply_result")?,
        reply_measures: row.try_get("reply_measures")?,
        penalty_case_ref: row.try_get("penalty_case_ref")?,
        closed_at: row.try_get("closed_at")?,
        satisfaction: match satisfaction {
            None => None,
            Some(s) => {
                Some(Satisfaction::parse(&s).ok_or_else(|| decode_error("satisfaction", &s))?)
            }
        },
        reopen_count: row.try_get("reopen_count")?,
        is_repeat: yes("is_repeat")?,
        repeat_root_id: row.try_get("repeat_root_id")?,
        repeat_count: row.try_get("repeat_count")?,
        after_hours: yes("after_hours")?,
        duty_shift_id: row.try_get("duty_shift_id")?,
        escalated_at: row.try_get("escalated_at")?,
        clock_due: row.try_get("clock_due")?,
        calendar_gap: yes("calendar_gap")?,
        calendar_provisional: yes("calendar_provisional")?,
        handover_deadline: row.try_get("handover_deadline")?,
        handover_ref: text("handover_ref")?,
        handling_start: row.try_get("handling_start")?,
        handling_extension_days: row.try_get("handling_extension_days")?,
        simulated: yes("simulated")?,
        created_by: text("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// A new case's stored fields.
pub struct CaseInsert<'a> {
    pub channel: Channel,
    pub category: Category,
    pub title: &'a str,
    pub description: &'a str,
    pub enterprise_id: Option<i64>,
    pub object_name: &'a str,
    pub address: &'a str,
    pub street_id: Option<i64>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub reporter_name: Option<&'a str>,
    pub reporter_phone: Option<&'a str>,
    pub anonymous: bool,
    pub received_at: i64,
    pub acceptance_due: Option<String>,
    pub calendar_gap: bool,
    pub calendar_provisional: bool,
    pub handover_deadline: Option<String>,
    pub handover_ref: &'a str,
    pub after_hours: bool,
    pub duty_shift_id: Option<i64>,
    pub simulated: bool,
    pub created_by: &'a str,
    pub now: i64,
}

/// Inserts a case with a provisional number, then numbers it `XF<year>-<id>`.
pub async fn insert_case(
    conn: &mut AnyConnection,
    case: &CaseInsert<'_>,
    year: i32,
) -> Result<i64, sqlx::Error> {
    let provisional = format!("tmp-{}", rand_suffix());
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO complaints (case_no, channel, category, state, title, description, enterprise_id, object_name, \
         address, street_id, lon, lat, reporter_name, reporter_phone, anonymous, received_at, acceptance_due, \
         clock_due, calendar_gap, after_hours, duty_shift_id, simulated, created_by, created_at, updated_at, \
         calendar_provisional, handover_deadline, handover_ref) \
         VALUES ($1, $2, $3, 'received', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16, $17, $18, \
         $19, $20, $21, $22, $22, $23, $24, $25) RETURNING id",
    )
    .bind(&provisional)
    .bind(case.channel.as_str())
    .bind(case.category.as_str())
    .bind(case.title)
    .bind(case.description)
    .bind(case.enterprise_id)
    .bind(case.object_name)
    .bind(case.address)
    .bind(case.street_id)
    .bind(case.lon)
    .bind(case.lat)
    .bind(case.reporter_name)
    .bind(case.reporter_phone)
    .bind(flag(case.anonymous))
    .bind(case.received_at)
    .bind(case.acceptance_due.clone())
    .bind(flag(case.calendar_gap))
    .bind(flag(case.after_hours))
    .bind(case.duty_shift_id)
    .bind(flag(case.simulated))
    .bind(case.created_by)
    .bind(case.now)
    .bind(flag(case.calendar_provisional))
    .bind(case.handover_deadline.clone())
    .bind(case.handover_ref)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("UPDATE complaints SET case_no = $1 WHERE id = $2")
        .bind(format!("XF{year}-{id:06}"))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

fn rand_suffix() -> String {
    use rand::Rng;
    format!("{:016x}", rand::thread_rng().r#gen::<u64>())
}

pub async fn get_case(conn: &mut AnyConnection, id: i64) -> Result<Option<Complaint>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT_CASE} WHERE c.id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(complaint_from_row).transpose()
}

/// A stored value of a column update.
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

/// Moves a case from `expected` to `to` and sets `columns` (names are constants of the service, never
/// input). Returns false when the case was not in `expected` any more (a concurrent change).
pub async fn update_case(
    conn: &mut AnyConnection,
    id: i64,
    expected: State,
    to: State,
    columns: Vec<(&'static str, Value)>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let mut b = SqlBuilder::new("UPDATE complaints SET state = ");
    b.push_bind(to.as_str().to_string());
    b.push(", updated_at = ").push_bind(now);
    b.push(", version = version + 1");
    for (column, value) in columns {
        b.push(", ").push(column).push(" = ");
        match value {
            Value::Int(v) => b.push_bind(v),
            Value::Text(v) => b.push_bind(v),
        };
    }
    b.push(" WHERE id = ").push_bind(id);
    b.push(" AND state = ")
        .push_bind(expected.as_str().to_string());
    Ok(b.build().execute(&mut *conn).await?.rows_affected() == 1)
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_event(
    conn: &mut AnyConnection,
    complaint_id: i64,
    at: i64,
    actor_id: Option<i64>,
    actor: &str,
    kind: &str,
    from_state: Option<State>,
    to_state: Option<State>,
    note: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO complaint_events (complaint_id, at, actor_id, actor, kind, from_state, to_state, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(complaint_id)
    .bind(at)
    .bind(actor_id)
    .bind(actor)
    .bind(kind)
    .bind(from_state.map(|s| s.as_str()))
    .bind(to_state.map(|s| s.as_str()))
    .bind(note)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn timeline(db: &Db, complaint_id: i64) -> Result<Vec<TimelineEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, at, actor, kind, from_state, to_state, note FROM complaint_events WHERE complaint_id = $1 \
         ORDER BY at, id",
    )
    .bind(complaint_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            let at: i64 = r.try_get("at")?;
            Ok(TimelineEvent {
                id: r.try_get("id")?,
                at,
                at_cst: kernel::time::format_cst(at),
                actor: r.try_get("actor")?,
                kind: r.try_get("kind")?,
                from_state: r.try_get("from_state")?,
                to_state: r.try_get("to_state")?,
                note: r.try_get("note")?,
            })
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_site_check(
    conn: &mut AnyConnection,
    complaint_id: i64,
    checked_at: i64,
    inspectors: &str,
    findings: &str,
    violation_found: bool,
    created_by: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO complaint_site_checks (complaint_id, checked_at, inspectors, findings, violation_found, \
         created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(complaint_id)
    .bind(checked_at)
    .bind(inspectors)
    .bind(findings)
    .bind(flag(violation_found))
    .bind(created_by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE complaints SET findings = $1, updated_at = $2 WHERE id = $3")
        .bind(findings)
        .bind(now)
        .bind(complaint_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn site_checks(db: &Db, complaint_id: i64) -> Result<Vec<SiteCheck>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, checked_at, inspectors, findings, violation_found, created_by FROM complaint_site_checks \
         WHERE complaint_id = $1 ORDER BY checked_at, id",
    )
    .bind(complaint_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SiteCheck {
                id: r.try_get("id")?,
                checked_at: r.try_get("checked_at")?,
                inspectors: r.try_get("inspectors")?,
                findings: r.try_get("findings")?,
                violation_found: r.try_get::<i64, _>("violation_found")? != 0,
                created_by: r.try_get("created_by")?,
            })
        })
        .collect()
}

fn extension_from_row(r: &AnyRow) -> Result<Extension, sqlx::Error> {
    Ok(Extension {
        id: r.try_get("id")?,
        days: r.try_get("days")?,
        reason: r.try_get("reason")?,
        status: r.try_get("status")?,
        requested_by: r.try_get("requested_by")?,
        requested_at: r.try_get("requested_at")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
        decision_note: r.try_get("decision_note")?,
    })
}

pub async fn extensions_of(
    conn: &mut AnyConnection,
    complaint_id: i64,
) -> Result<Vec<Extension>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, days, reason, status, requested_by, requested_at, decided_by, decided_at, decision_note \
         FROM complaint_extensions WHERE complaint_id = $1 ORDER BY id",
    )
    .bind(complaint_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(extension_from_row).collect()
}

pub async fn insert_extension(
    conn: &mut AnyConnection,
    complaint_id: i64,
    days: i64,
    reason: &str,
    requested_by: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO complaint_extensions (complaint_id, days, reason, status, requested_by, requested_at) \
         VALUES ($1, $2, $3, 'pending', $4, $5)",
    )
    .bind(complaint_id)
    .bind(days)
    .bind(reason)
    .bind(requested_by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn decide_extension(
    conn: &mut AnyConnection,
    extension_id: i64,
    approved: bool,
    decided_by: &str,
    note: Option<&str>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE complaint_extensions SET status = $1, decided_by = $2, decided_at = $3, decision_note = $4 \
         WHERE id = $5 AND status = 'pending'",
    )
    .bind(if approved { "approved" } else { "rejected" })
    .bind(decided_by)
    .bind(now)
    .bind(note)
    .bind(extension_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A case's computed due dates and their flags.
pub struct Deadlines {
    pub acceptance_due: Option<String>,
    pub handling_due: Option<String>,
    pub clock_due: Option<String>,
    pub calendar_gap: bool,
    pub calendar_provisional: bool,
}

/// Applies an approved extension (on the period that runs now) to the case's due dates.
pub async fn set_handling_due(
    conn: &mut AnyConnection,
    complaint_id: i64,
    extension_days: i64,
    due: &Deadlines,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE complaints SET extension_days = $1, handling_extension_days = $1, handling_due = $2, clock_due = $3, \
         calendar_gap = $4, calendar_provisional = $5, updated_at = $6, version = version + 1 WHERE id = $7",
    )
    .bind(extension_days)
    .bind(due.handling_due.clone())
    .bind(due.clock_due.clone())
    .bind(flag(due.calendar_gap))
    .bind(flag(due.calendar_provisional))
    .bind(now)
    .bind(complaint_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores recomputed due dates (the calendar changed) on a case still as it was read (`state`,
/// `updated_at`); false when it moved meanwhile (the step that moved it computed its dates on the new
/// calendar already). Neither the state nor the version moves: nobody's edit is overtaken by it.
pub async fn set_deadlines(
    conn: &mut AnyConnection,
    read: &Complaint,
    due: &Deadlines,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE complaints SET acceptance_due = $1, handling_due = $2, clock_due = $3, calendar_gap = $4, \
         calendar_provisional = $5 WHERE id = $6 AND state = $7 AND updated_at = $8",
    )
    .bind(due.acceptance_due.clone())
    .bind(due.handling_due.clone())
    .bind(due.clock_due.clone())
    .bind(flag(due.calendar_gap))
    .bind(flag(due.calendar_provisional))
    .bind(read.id)
    .bind(read.state.as_str())
    .bind(read.updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves the stored calendar fingerprint from `old` to `new`; false when it is not `old` any more (another
/// request recomputed meanwhile). Inserts it when it was never stored.
pub async fn claim_fingerprint(
    conn: &mut AnyConnection,
    old: &str,
    new: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE complaint_settings SET value = $1, updated_by = 'system', updated_at = $2 \
         WHERE key = 'calendar_fingerprint' AND value = $3",
    )
    .bind(new)
    .bind(now)
    .bind(old)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(true);
    }
    let exists: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM complaint_settings WHERE key = 'calendar_fingerprint'",
    )
    .fetch_one(&mut *conn)
    .await?;
    if exists > 0 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO complaint_settings (key, value, updated_by, updated_at) VALUES ('calendar_fingerprint', $1, 'system', $2)",
    )
    .bind(new)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// The cases whose due dates follow the calendar: open ones, and closed ones whose dates were provisional
/// or unknown.
pub async fn cases_to_recompute(conn: &mut AnyConnection) -> Result<Vec<Complaint>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT_CASE} WHERE {OPEN_STATES} OR c.calendar_gap = 1 OR c.calendar_provisional = 1 ORDER BY c.id"
    )))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(complaint_from_row).collect()
}

/// An earlier case that may be repeated by a new one.
pub struct RepeatCandidate {
    pub id: i64,
    /// 案件编号, what the timeline names it by.
    pub case_no: String,
    pub enterprise_id: Option<i64>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub repeat_root_id: Option<i64>,
    pub received_at: i64,
}

/// Earlier cases of `category` received in `[since, until]`, other than `exclude`: those about the same
/// enterprise, and those with coordinates inside the bounding box (the caller measures the distance).
#[allow(clippy::too_many_arguments)]
pub async fn repeat_candidates(
    conn: &mut AnyConnection,
    category: Category,
    since: i64,
    until: i64,
    exclude: i64,
    enterprise_id: Option<i64>,
    bbox: Option<(f64, f64, f64, f64)>,
) -> Result<Vec<RepeatCandidate>, sqlx::Error> {
    let mut b = SqlBuilder::new(
        "SELECT id, case_no, enterprise_id, lon, lat, repeat_root_id, received_at FROM complaints WHERE category = ",
    );
    b.push_bind(category.as_str().to_string());
    b.push(" AND received_at >= ").push_bind(since);
    b.push(" AND received_at <= ").push_bind(until);
    b.push(" AND id <> ").push_bind(exclude);
    b.push(" AND (1 = 0");
    if let Some(enterprise) = enterprise_id {
        b.push(" OR enterprise_id = ").push_bind(enterprise);
    }
    if let Some((min_lon, min_lat, max_lon, max_lat)) = bbox {
        b.push(" OR (lon >= ").push_bind(min_lon);
        b.push(" AND lon <= ").push_bind(max_lon);
        b.push(" AND lat >= ").push_bind(min_lat);
        b.push(" AND lat <= ").push_bind(max_lat);
        b.push(")");
    }
    b.push(") ORDER BY received_at, id");
    let rows = b.build().fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            Ok(RepeatCandidate {
                id: r.try_get("id")?,
                case_no: r.try_get("case_no")?,
                enterprise_id: r.try_get("enterprise_id")?,
                lon: r.try_get("lon")?,
                lat: r.try_get("lat")?,
                repeat_root_id: r.try_get("repeat_root_id")?,
                received_at: r.try_get("received_at")?,
            })
        })
        .collect()
}

pub async fn insert_link(
    conn: &mut AnyConnection,
    complaint_id: i64,
    earlier_id: i64,
    reason: &str,
    distance_m: Option<f64>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO complaint_links (complaint_id, earlier_id, reason, distance_m) VALUES ($1, $2, $3, $4)",
    )
    .bind(complaint_id)
    .bind(earlier_id)
    .bind(reason)
    .bind(distance_m)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn mark_repeat(
    conn: &mut AnyConnection,
    complaint_id: i64,
    root_id: i64,
    count: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE complaints SET is_repeat = 1, repeat_root_id = $1, repeat_count = $2 WHERE id = $3",
    )
    .bind(root_id)
    .bind(count)
    .bind(complaint_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Links from and to a case.
pub async fn links(db: &Db, complaint_id: i64) -> Result<Vec<RepeatLink>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT l.complaint_id, l.earlier_id, l.reason, l.distance_m, o.case_no, o.received_at \
         FROM complaint_links l JOIN complaints o ON o.id = CASE WHEN l.complaint_id = $1 THEN l.earlier_id ELSE l.complaint_id END \
         WHERE l.complaint_id = $1 OR l.earlier_id = $1 ORDER BY o.received_at, o.id",
    )
    .bind(complaint_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(RepeatLink {
                complaint_id: r.try_get("complaint_id")?,
                earlier_id: r.try_get("earlier_id")?,
                other_case_no: r.try_get("case_no")?,
                other_received_at: r.try_get("received_at")?,
                reason: r.try_get("reason")?,
                distance_m: r.try_get("distance_m")?,
            })
        })
        .collect()
}

/// Typed list filters (the service turns the query string into these).
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub state: Option<State>,
    pub channel: Option<Channel>,
    pub category: Option<Category>,
    pub street_id: Option<i64>,
    /// The caller's street, for street officers.
    pub scope_street: Option<i64>,
    pub due: Option<DueFilter>,
    pub repeat_only: bool,
    pub received_from: Option<i64>,
    pub received_to: Option<i64>,
    pub q: Option<String>,
    pub enterprise_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub enum DueFilter {
    /// Running clocks ending in `[today, horizon]`.
    DueSoon {
        today: String,
        horizon: String,
    },
    /// Running clocks that ended before `today`.
    Overdue {
        today: String,
    },
    Escalated,
    CalendarGap,
    /// Running clocks whose due date relies on a provisional calendar year.
    Provisional,
}

const OPEN_STATES: &str =
    "c.state IN ('received', 'accepted', 'assigned', 'in_handling', 'reopened')";

fn push_filters(b: &mut SqlBuilder, q: &ListQuery) {
    if let Some(state) = q.state {
        b.push(" AND c.state = ")
            .push_bind(state.as_str().to_string());
    }
    if let Some(channel) = q.channel {
        b.push(" AND c.channel = ")
            .push_bind(channel.as_str().to_string());
    }
    if let Some(category) = q.category {
        b.push(" AND c.category = ")
            .push_bind(category.as_str().to_string());
    }
    if let Some(street) = q.street_id {
        b.push(" AND c.street_id = ").push_bind(street);
    }
    if let Some(street) = q.scope_street {
        b.push(" AND c.street_id = ").push_bind(street);
    }
    if let Some(enterprise) = q.enterprise_id {
        b.push(" AND c.enterprise_id = ").push_bind(enterprise);
    }
    match &q.due {
        None => {}
        Some(DueFilter::DueSoon { today, horizon }) => {
            b.push(" AND ").push(OPEN_STATES);
            b.push(" AND c.clock_due >= ").push_bind(today.clone());
            b.push(" AND c.clock_due <= ").push_bind(horizon.clone());
        }
        Some(DueFilter::Overdue { today }) => {
            b.push(" AND ").push(OPEN_STATES);
            b.push(" AND c.clock_due < ").push_bind(today.clone());
        }
        Some(DueFilter::Escalated) => {
            b.push(" AND ")
                .push(OPEN_STATES)
                .push(" AND c.escalated_at IS NOT NULL");
        }
        Some(DueFilter::CalendarGap) => {
            b.push(" AND ")
                .push(OPEN_STATES)
                .push(" AND c.calendar_gap = 1");
        }
        Some(DueFilter::Provisional) => {
            b.push(" AND ")
                .push(OPEN_STATES)
                .push(" AND c.calendar_provisional = 1");
        }
    }
    if q.repeat_only {
        b.push(" AND c.is_repeat = 1");
    }
    if let Some(from) = q.received_from {
        b.push(" AND c.received_at >= ").push_bind(from);
    }
    if let Some(to) = q.received_to {
        b.push(" AND c.received_at < ").push_bind(to);
    }
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", text.replace(['%', '_'], ""));
        b.push(" AND (c.case_no LIKE ").push_bind(pattern.clone());
        b.push(" OR c.title LIKE ").push_bind(pattern.clone());
        b.push(" OR c.address LIKE ").push_bind(pattern.clone());
        b.push(" OR c.object_name LIKE ").push_bind(pattern);
        b.push(")");
    }
}

pub async fn list_cases(
    db: &Db,
    query: &ListQuery,
    page: &PageQuery,
) -> Result<Page<Complaint>, sqlx::Error> {
    let mut count = SqlBuilder::new("SELECT CAST(COUNT(*) AS BIGINT) FROM complaints c WHERE 1=1");
    push_filters(&mut count, query);
    let total: i64 = count.build_scalar().fetch_one(db.pool()).await?;
    let mut list = SqlBuilder::new(SELECT_CASE);
    list.push(" WHERE 1=1");
    push_filters(&mut list, query);
    list.push(" ORDER BY c.received_at DESC, c.id DESC LIMIT ")
        .push_bind(page.limit());
    list.push(" OFFSET ").push_bind(page.offset());
    let rows = list.build().fetch_all(db.pool()).await?;
    let items = rows
        .iter()
        .map(complaint_from_row)
        .collect::<Result<_, _>>()?;
    Ok(Page::new(items, page, total))
}

/// Every matching case (the export), newest first, at most `limit`.
pub async fn all_cases(
    db: &Db,
    query: &ListQuery,
    limit: i64,
) -> Result<Vec<Complaint>, sqlx::Error> {
    let mut list = SqlBuilder::new(SELECT_CASE);
    list.push(" WHERE 1=1");
    push_filters(&mut list, query);
    list.push(" ORDER BY c.received_at DESC, c.id DESC LIMIT ")
        .push_bind(limit);
    let rows = list.build().fetch_all(db.pool()).await?;
    rows.iter().map(complaint_from_row).collect()
}

/// Open cases whose running clock ended before `today` and that were not escalated yet.
pub async fn overdue_unescalated(db: &Db, today: &str) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT c.id, c.clock_due FROM complaints c WHERE {OPEN_STATES} AND c.clock_due < $1 AND c.escalated_at IS NULL \
         ORDER BY c.id"
    )))
    .bind(today)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("clock_due")?)))
        .collect()
}

pub async fn set_escalated(
    conn: &mut AnyConnection,
    id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE complaints SET escalated_at = $1 WHERE id = $2 AND escalated_at IS NULL",
    )
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

// --- evidence --------------------------------------------------------------------------------------------

fn evidence_from_row(r: &AnyRow) -> Result<Evidence, sqlx::Error> {
    Ok(Evidence {
        id: r.try_get("id")?,
        complaint_id: r.try_get("complaint_id")?,
        original_name: r.try_get("original_name")?,
        content_type: r.try_get("content_type")?,
        size_bytes: r.try_get("size_bytes")?,
        sha256: r.try_get("sha256")?,
        uploaded_by: r.try_get("uploaded_by")?,
        uploaded_at: r.try_get("uploaded_at")?,
    })
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_evidence(
    conn: &mut AnyConnection,
    complaint_id: i64,
    original_name: &str,
    stored_name: &str,
    content_type: &str,
    size_bytes: i64,
    sha256: &str,
    uploaded_by: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO complaint_evidence (complaint_id, original_name, stored_name, content_type, size_bytes, \
         sha256, uploaded_by, uploaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(complaint_id)
    .bind(original_name)
    .bind(stored_name)
    .bind(content_type)
    .bind(size_bytes)
    .bind(sha256)
    .bind(uploaded_by)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
}

pub async fn evidence_of(db: &Db, complaint_id: i64) -> Result<Vec<Evidence>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT * FROM complaint_evidence WHERE complaint_id = $1 ORDER BY uploaded_at, id",
    )
    .bind(complaint_id)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(evidence_from_row).collect()
}

/// One evidence file and its stored name.
pub async fn evidence_file(
    db: &Db,
    complaint_id: i64,
    evidence_id: i64,
) -> Result<Option<(Evidence, String)>, sqlx::Error> {
    let row = sqlx::query("SELECT * FROM complaint_evidence WHERE complaint_id = $1 AND id = $2")
        .bind(complaint_id)
        .bind(evidence_id)
        .fetch_optional(db.pool())
        .await?;
    match row {
        None => Ok(None),
        Some(r) => Ok(Some((evidence_from_row(&r)?, r.try_get("stored_name")?))),
    }
}

// --- settings --------------------------------------------------------------------------------------------

pub async fn settings(db: &Db) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as::<_, (String, String)>("SELECT key, value FROM complaint_settings")
        .fetch_all(db.pool())
        .await
}

pub async fn put_setting(
    conn: &mut AnyConnection,
    key: &str,
    value: &str,
    by: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let updated = sqlx::query(
        "UPDATE complaint_settings SET value = $1, updated_by = $2, updated_at = $3 WHERE key = $4",
    )
    .bind(value)
    .bind(by)
    .bind(now)
    .bind(key)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO complaint_settings (key, value, updated_by, updated_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(key)
        .bind(value)
        .bind(by)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

// --- duty roster -----------------------------------------------------------------------------------------

fn shift_from_row(r: &AnyRow) -> Result<DutyShift, sqlx::Error> {
    let role: String = r.try_get("duty_role")?;
    let starts_at: i64 = r.try_get("starts_at")?;
    let ends_at: i64 = r.try_get("ends_at")?;
    Ok(DutyShift {
        id: r.try_get("id")?,
        starts_at,
        ends_at,
        starts_cst: kernel::time::format_cst(starts_at),
        ends_cst: kernel::time::format_cst(ends_at),
        duty_role: DutyRole::parse(&role).ok_or_else(|| decode_error("duty_role", &role))?,
        user_id: r.try_get("user_id")?,
        person_name: r.try_get("person_name")?,
        phone: r.try_get("phone")?,
        note: r.try_get("note")?,
        simulated: r.try_get::<i64, _>("simulated")? != 0,
    })
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_shift(
    conn: &mut AnyConnection,
    starts_at: i64,
    ends_at: i64,
    role: DutyRole,
    user_id: Option<i64>,
    person_name: &str,
    phone: &str,
    note: &str,
    simulated: bool,
    created_by: &str,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO duty_shifts (starts_at, ends_at, duty_role, user_id, person_name, phone, note, simulated, \
         created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(starts_at)
    .bind(ends_at)
    .bind(role.as_str())
    .bind(user_id)
    .bind(person_name)
    .bind(phone)
    .bind(note)
    .bind(flag(simulated))
    .bind(created_by)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
}

/// Shifts overlapping `[from, to)`.
pub async fn shifts(db: &Db, from: i64, to: i64) -> Result<Vec<DutyShift>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT * FROM duty_shifts WHERE starts_at < $2 AND ends_at > $1 ORDER BY starts_at, duty_role, id",
    )
    .bind(from)
    .bind(to)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(shift_from_row).collect()
}

pub async fn get_shift(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<DutyShift>, sqlx::Error> {
    let row = sqlx::query("SELECT * FROM duty_shifts WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(shift_from_row).transpose()
}

pub async fn delete_shift(conn: &mut AnyConnection, id: i64) -> Result<bool, sqlx::Error> {
    // A shift that received cases stays: the cases point at it.
    let used: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM complaints WHERE duty_shift_id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    if used > 0 {
        return Ok(false);
    }
    Ok(sqlx::query("DELETE FROM duty_shifts WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        == 1)
}

/// The shift on duty at `at` in `role`.
pub async fn on_duty(
    conn: &mut AnyConnection,
    at: i64,
    role: DutyRole,
) -> Result<Option<DutyShift>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT * FROM duty_shifts WHERE starts_at <= $1 AND ends_at > $1 AND duty_role = $2 ORDER BY starts_at DESC, id LIMIT 1",
    )
    .bind(at)
    .bind(role.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(shift_from_row).transpose()
}

// --- statistics, map, persistent sources -----------------------------------------------------------------

fn scope_clause(b: &mut SqlBuilder, from: i64, to: i64, scope_street: Option<i64>) {
    b.push(" WHERE c.received_at >= ").push_bind(from);
    b.push(" AND c.received_at < ").push_bind(to);
    if let Some(street) = scope_street {
        b.push(" AND c.street_id = ").push_bind(street);
    }
}

/// Counts by one column of the case (`category`, `channel`, `state`).
pub async fn count_by(
    db: &Db,
    dimension: &str,
    from: i64,
    to: i64,
    scope_street: Option<i64>,
) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let key = match dimension {
        "category" => "c.category",
        "channel" => "c.channel",
        _ => "c.state",
    };
    let mut b = SqlBuilder::new(&format!(
        "SELECT {key} AS k, CAST(COUNT(*) AS BIGINT) AS n FROM complaints c"
    ));
    scope_clause(&mut b, from, to, scope_street);
    b.push(&format!(" GROUP BY {key} ORDER BY n DESC, k"));
    let rows = b.build().fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| Ok((r.try_get("k")?, r.try_get("n")?)))
        .collect()
}

/// Cases per street (`None`: no street yet) in the range.
pub async fn count_by_street(
    db: &Db,
    from: i64,
    to: i64,
    scope_street: Option<i64>,
) -> Result<Vec<(Option<i64>, i64)>, sqlx::Error> {
    let mut b =
        SqlBuilder::new("SELECT c.street_id AS k, CAST(COUNT(*) AS BIGINT) AS n FROM complaints c");
    scope_clause(&mut b, from, to, scope_street);
    b.push(" GROUP BY c.street_id");
    let rows = b.build().fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| Ok((r.try_get("k")?, r.try_get("n")?)))
        .collect()
}

/// (received_at, street, category, is_repeat) of every case in the range: months and the noise survey are
/// bucketed in Rust by the CST calendar, which keeps the SQL portable.
pub async fn case_facts(
    db: &Db,
    from: i64,
    to: i64,
    scope_street: Option<i64>,
) -> Result<Vec<(i64, Option<i64>, String, i64)>, sqlx::Error> {
    let mut b = SqlBuilder::new(
        "SELECT c.received_at, c.street_id, c.category, c.is_repeat FROM complaints c",
    );
    scope_clause(&mut b, from, to, scope_street);
    let rows = b.build().fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("received_at")?,
                r.try_get("street_id")?,
                r.try_get("category")?,
                r.try_get("is_repeat")?,
            ))
        })
        .collect()
}

pub async fn count_overdue_open(
    db: &Db,
    today: &str,
    scope_street: Option<i64>,
) -> Result<i64, sqlx::Error> {
    let mut b = SqlBuilder::new("SELECT CAST(COUNT(*) AS BIGINT) FROM complaints c WHERE ");
    b.push(OPEN_STATES);
    b.push(" AND c.clock_due < ").push_bind(today.to_string());
    if let Some(street) = scope_street {
        b.push(" AND c.street_id = ").push_bind(street);
    }
    b.build_scalar().fetch_one(db.pool()).await
}

pub async fn map_points(
    db: &Db,
    from: i64,
    to: i64,
    category: Option<Category>,
    scope_street: Option<i64>,
) -> Result<Vec<MapPoint>, sqlx::Error> {
    let mut b = SqlBuilder::new(
        "SELECT c.id, c.case_no, c.lon, c.lat, c.category, c.received_at FROM complaints c",
    );
    scope_clause(&mut b, from, to, scope_street);
    b.push(" AND c.lon IS NOT NULL AND c.lat IS NOT NULL");
    if let Some(category) = category {
        b.push(" AND c.category = ")
            .push_bind(category.as_str().to_string());
    }
    b.push(" ORDER BY c.received_at");
    let rows = b.build().fetch_all(db.pool()).await?;
    rows.iter()
        .map(|r| {
            let category: String = r.try_get("category")?;
            let received_at: i64 = r.try_get("received_at")?;
            Ok(MapPoint {
                id: r.try_get("id")?,
                case_no: r.try_get("case_no")?,
                lon: r.try_get("lon")?,
                lat: r.try_get("lat")?,
                category: Category::parse(&category)
                    .ok_or_else(|| decode_error("category", &category))?,
                month: kernel::time::to_cst(received_at)
                    .format("%Y-%m")
                    .to_string(),
            })
        })
        .collect()
}

/// One group of the persistent-sources list, before the registry's names: an enterprise's group is labelled
/// with its name and its street by the service; a chain carries its root case's object (or address) and a
/// street of its cases.
pub struct SourceGroup {
    pub enterprise_id: Option<i64>,
    pub root_id: Option<i64>,
    pub category: String,
    pub cases: i64,
    pub open_cases: i64,
    pub last_received_at: i64,
    pub label: Option<String>,
    pub street_id: Option<i64>,
}

/// Enterprises, and chains of repeats without an enterprise, with at least `min_cases` cases of one
/// category received since `since`.
pub async fn persistent_sources(
    db: &Db,
    since: i64,
    min_cases: i64,
    scope_street: Option<i64>,
) -> Result<Vec<SourceGroup>, sqlx::Error> {
    let open = "CAST(SUM(CASE WHEN c.state IN ('received', 'accepted', 'assigned', 'in_handling', 'reopened') THEN 1 ELSE 0 END) AS BIGINT)";
    let mut by_enterprise = SqlBuilder::new(&format!(
        "SELECT c.enterprise_id, c.category, CAST(COUNT(*) AS BIGINT) AS n, {open} AS open_n, \
         CAST(MAX(c.received_at) AS BIGINT) AS last_at FROM complaints c \
         WHERE c.enterprise_id IS NOT NULL AND c.received_at >= "
    ));
    by_enterprise.push_bind(since);
    if let Some(street) = scope_street {
        by_enterprise.push(" AND c.street_id = ").push_bind(street);
    }
    by_enterprise.push(" GROUP BY c.enterprise_id, c.category HAVING COUNT(*) >= ");
    by_enterprise.push_bind(min_cases);
    let mut out = Vec::new();
    for r in by_enterprise.build().fetch_all(db.pool()).await? {
        out.push(SourceGroup {
            enterprise_id: r.try_get("enterprise_id")?,
            root_id: None,
            category: r.try_get("category")?,
            cases: r.try_get("n")?,
            open_cases: r.try_get("open_n")?,
            last_received_at: r.try_get("last_at")?,
            label: None,
            street_id: None,
        });
    }
    // A chain: the root case and every case whose repeat root it is (no enterprise).
    let mut by_root = SqlBuilder::new(&format!(
        "SELECT COALESCE(c.repeat_root_id, c.id) AS root, c.category, CAST(COUNT(*) AS BIGINT) AS n, {open} AS open_n, \
         CAST(MAX(c.received_at) AS BIGINT) AS last_at, MAX(c.street_id) AS street_id \
         FROM complaints c WHERE c.enterprise_id IS NULL AND c.received_at >= "
    ));
    by_root.push_bind(since);
    if let Some(street) = scope_street {
        by_root.push(" AND c.street_id = ").push_bind(street);
    }
    by_root.push(" GROUP BY COALESCE(c.repeat_root_id, c.id), c.category HAVING COUNT(*) >= ");
    by_root.push_bind(min_cases);
    for r in by_root.build().fetch_all(db.pool()).await? {
        let root: i64 = r.try_get("root")?;
        let label: Option<String> = sqlx::query_scalar(
            "SELECT CASE WHEN object_name <> '' THEN object_name ELSE address END FROM complaints WHERE id = $1",
        )
        .bind(root)
        .fetch_optional(db.pool())
        .await?;
        out.push(SourceGroup {
            enterprise_id: None,
            root_id: Some(root),
            category: r.try_get("category")?,
            cases: r.try_get("n")?,
            open_cases: r.try_get("open_n")?,
            last_received_at: r.try_get("last_at")?,
            label,
            street_id: r.try_get("street_id")?,
        });
    }
    out.sort_by(|a, b| {
        b.cases
            .cmp(&a.cases)
            .then(b.last_received_at.cmp(&a.last_received_at))
    });
    Ok(out)
}

/// Named counts, labelled by the caller.
pub fn counts(rows: Vec<(String, i64)>, label: impl Fn(&str) -> String) -> Vec<Count> {
    rows.into_iter()
        .map(|(key, count)| Count {
            label: label(&key),
            key,
            count,
        })
        .collect()
}
