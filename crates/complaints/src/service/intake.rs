//! Filing a case: validation, the acceptance clock, the officer on duty outside office hours, and the links
//! to earlier cases about the same enterprise or place (repeat detection).

use chrono::{Datelike, NaiveDate};
use kernel::audit;
use kernel::time::{DAY_SECONDS, cst_day, now_ts};
use kernel::{Action, AppError, AppResult, Db, Principal, validate};

use super::Caller;
use super::deadlines::{acceptance_due, context, date_text};
use super::reporter::{audit_snapshot, mask_for};
use super::settings::is_office_hours;
use crate::model::*;
use crate::repo;

pub(super) fn parse_code<T>(
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
        p.require(crate::COMPLAINT, Action::Create)?;
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
        match registry::service::enterprise_in(&mut tx, enterprise).await? {
            None => {
                return Err(AppError::validation(
                    "enterprise_id",
                    format!("no enterprise with id {enterprise}"),
                ));
            }
            Some(enterprise) => street_id = street_id.or(Some(enterprise.street_id)),
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
        && !registry::service::street_exists_in(&mut tx, street).await?
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
            linked.push((
                c.repeat_root_id.unwrap_or(c.id),
                c.received_at,
                c.id,
                c.case_no,
            ));
        }
    }
    if !linked.is_empty() {
        // The chain's root is the root of the earliest linked case.
        linked.sort_by_key(|(_, at, cid, _)| (*at, *cid));
        let root = linked[0].0;
        let count = i64::try_from(linked.len()).unwrap_or(i64::MAX);
        repo::mark_repeat(&mut tx, id, root, count).await?;
        let case_numbers: Vec<&str> = linked.iter().map(|(_, _, _, no)| no.as_str()).collect();
        let note = format!(
            "重复信访：与 {count} 件在先案件（{}）同一对象或地点、同一类别",
            case_numbers.join("、")
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
    let complaint = super::get_named(&mut tx, id)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        let d = distance_m(117.30, 39.10, 117.30, 39.101);
        assert!((d - 111.2).abs() < 1.0, "{d}");
    }
}
