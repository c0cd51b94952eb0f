//! Reading cases: one case's file, the lists with their filters, and the rows of an export, each as the
//! caller may see it (another street's case is "not found"; the reporter masked by role).

use chrono::{Datelike, NaiveDate};
use kernel::time::cst_day_start;
use kernel::{Action, AppError, AppResult, Db, Page, PageQuery, Principal, validate};

use super::deadlines::{Ctx, context, date_text, view};
use super::intake::parse_code;
use super::reporter::mask_for;
use crate::model::*;
use crate::repo::{self, DueFilter, ListQuery};

/// A case the caller may see (another street's case is "not found").
async fn visible_case(db: &Db, principal: &Principal, id: i64) -> AppResult<Complaint> {
    principal.require(crate::COMPLAINT, Action::Read)?;
    let mut conn = db.pool().acquire().await?;
    let complaint = super::get_named(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("complaint not found"))?;
    principal.require_street(complaint.street_id, "案件")?;
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
    principal.require(crate::COMPLAINT, action)?;
    Ok(complaint)
}

pub(super) fn parse_optional<T>(
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
    principal.require(crate::COMPLAINT, Action::Read)?;
    let ctx = context(db).await?;
    let query = list_query(principal, filter, today, &ctx)?;
    let mut found = repo::list_cases(db, &query, page).await?;
    super::with_names(&mut *db.pool().acquire().await?, &mut found.items).await?;
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
    principal.require(crate::COMPLAINT, Action::Read)?;
    let ctx = context(db).await?;
    let query = list_query(principal, filter, today, &ctx)?;
    let mut cases = repo::all_cases(db, &query, EXPORT_LIMIT).await?;
    super::with_names(&mut *db.pool().acquire().await?, &mut cases).await?;
    Ok(cases
        .into_iter()
        .map(|c| view(mask_for(c, Some(principal.role)), today, &ctx))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months() {
        let (from, to) = month_range("2024-12").unwrap();
        assert_eq!(kernel::time::format_cst(from), "2024-12-01 00:00");
        assert_eq!(kernel::time::format_cst(to), "2025-01-01 00:00");
        assert!(month_range("2024-13").is_none());
    }
}
