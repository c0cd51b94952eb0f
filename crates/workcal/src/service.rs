//! Loading, caching and entering the calendar. No HTTP types here.
//!
//! The calendar every clock counts on is built from the stored years (the migration seeds 2023–2026 from
//! [`kernel::calendar::YEARS`]; a compiled year missing from the table still counts, as the fallback) with
//! rule years after the first stored one ([`Calendar::new`] with `rule_years`). It is kept on the `Db`
//! ([`kernel::Db::calendar_cache`]) and rebuilt after every change made through this service. Another process
//! on the same database sees a change after its restart (only the web server changes the calendar).

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use kernel::audit::{self, AuditEntry};
use kernel::calendar::{Calendar, YEARS, YearCalendar, YearSource, YearStatus, rule_rest_days};
use kernel::time::now_ts;
use kernel::{Action, AppError, AppResult, Db, Principal};

use crate::model::*;
use crate::repo::{self, DayRow, YearRow};

/// Years outside this range are refused (the notices exist since 1999's 放假办法; 2100 is far enough).
pub const YEAR_RANGE: std::ops::RangeInclusive<i32> = 2000..=2100;

fn parse_day(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

/// Builds the calendar from stored rows, with the compiled years the table lacks.
pub fn build(years: &[YearRow], days: &[DayRow]) -> Calendar {
    let mut built: Vec<YearCalendar> = years
        .iter()
        .map(|y| {
            let of_kind = |kind: &str| {
                days.iter()
                    .filter(|(_, year, k, _)| *year == y.year && k == kind)
                    .filter_map(|(day, _, _, _)| parse_day(day))
                    .collect::<Vec<_>>()
            };
            YearCalendar::new(
                y.year,
                YearStatus::parse(&y.status).unwrap_or(YearStatus::Provisional),
                of_kind("rest"),
                of_kind("work"),
            )
        })
        .collect();
    let stored: BTreeSet<i32> = years.iter().map(|y| y.year).collect();
    let compiled = Calendar::compiled();
    built.extend(
        compiled
            .entered_years()
            .filter(|y| !stored.contains(&y.year))
            .cloned(),
    );
    Calendar::new(built, true)
}

/// Loads the calendar from the database and puts it in the cache.
pub async fn reload(db: &Db) -> AppResult<Arc<Calendar>> {
    let calendar = Arc::new(build(&repo::years(db).await?, &repo::all_days(db).await?));
    if let Ok(mut slot) = db.calendar_cache().write() {
        *slot = Some(calendar.clone());
    }
    Ok(calendar)
}

/// The calendar of this database: from memory, loaded on first use.
pub async fn calendar(db: &Db) -> AppResult<Arc<Calendar>> {
    let cached = db
        .calendar_cache()
        .read()
        .ok()
        .and_then(|slot| slot.clone());
    match cached {
        Some(calendar) => Ok(calendar),
        None => reload(db).await,
    }
}

fn summary(calendar: &Calendar, year: i32, row: Option<&YearRow>) -> Option<YearSummary> {
    let (origin, data) = match calendar.source(year).ok()? {
        YearSource::Entered(y) => (YearOrigin::Entered, y.clone()),
        YearSource::Rule => (YearOrigin::Rule, YearCalendar::by_rule(year)),
    };
    let compiled_notice = || {
        YEARS
            .iter()
            .find(|y| y.year == year)
            .map(|y| y.notice.to_string())
            .unwrap_or_default()
    };
    Some(YearSummary {
        year,
        status: data.status,
        status_label: data.status.label(),
        origin,
        notice: row.map_or_else(compiled_notice, |r| r.notice.clone()),
        notice_date: row.and_then(|r| r.notice_date.clone()),
        note: match (row, origin) {
            (Some(r), _) => r.note.clone(),
            (None, YearOrigin::Rule) => {
                "未录入：按规则暂定（周末与元旦、劳动节、国庆节的固定日期；春节、清明、端午、中秋及调休待国务院通知）"
                    .to_string()
            }
            (None, YearOrigin::Entered | YearOrigin::Missing) => {
                "内置数据（kernel::calendar）".to_string()
            }
        },
        working_days: data.working_days(),
        rest_weekdays: u32::try_from(data.rest_weekdays().count()).unwrap_or(0),
        makeup_workdays: u32::try_from(data.makeup_workdays().count()).unwrap_or(0),
        version: row.map_or(0, |r| r.version),
        updated_by: row.map(|r| r.updated_by.clone()),
        updated_at: row.map(|r| r.updated_at),
    })
}

/// The years to list: every stored (or compiled) year, and the rule years up to next year.
pub async fn list_years(
    db: &Db,
    principal: &Principal,
    today: NaiveDate,
) -> AppResult<Vec<YearSummary>> {
    principal.require(crate::WORKING_CALENDAR, Action::Read)?;
    let calendar = calendar(db).await?;
    let rows = repo::years(db).await?;
    let mut years: BTreeSet<i32> = calendar.entered_years().map(|y| y.year).collect();
    if let Some(last) = calendar.last_entered_year() {
        years.extend(last + 1..=(today.year() + 1).max(last + 1));
    }
    Ok(years
        .into_iter()
        .filter_map(|y| summary(&calendar, y, rows.iter().find(|r| r.year == y)))
        .collect())
}

/// One year with its listed days: stored days, the compiled ones, or the rule's.
pub async fn year(db: &Db, principal: &Principal, year: i32) -> AppResult<YearDetail> {
    principal.require(crate::WORKING_CALENDAR, Action::Read)?;
    let calendar = calendar(db).await?;
    let mut conn = db.pool().acquire().await?;
    let row = repo::year(&mut conn, year).await?;
    let stored = repo::days_of(&mut conn, year).await?;
    drop(conn);
    let summary = summary(&calendar, year, row.as_ref()).ok_or_else(|| {
        AppError::not_found(format!(
            "no calendar data for {year} (years before the first stored one are not derived)"
        ))
    })?;
    let days = if row.is_some() {
        stored
            .into_iter()
            .filter_map(|(day, _, kind, name)| {
                Some(CalendarDay {
                    date: day,
                    kind: DayKind::parse(&kind)?,
                    name,
                })
            })
            .collect()
    } else {
        match calendar.source(year) {
            Ok(YearSource::Entered(y)) => y
                .rest_weekdays()
                .map(|d| (d, DayKind::Rest))
                .chain(y.makeup_workdays().map(|d| (d, DayKind::Work)))
                .map(|(d, kind)| CalendarDay {
                    date: d.to_string(),
                    kind,
                    name: String::new(),
                })
                .collect(),
            _ => rule_rest_days(year)
                .into_iter()
                .map(|(d, name)| CalendarDay {
                    date: d.to_string(),
                    kind: DayKind::Rest,
                    name: name.to_string(),
                })
                .collect(),
        }
    };
    let mut days: Vec<CalendarDay> = days;
    days.sort_by(|a, b| a.date.cmp(&b.date));
    Ok(YearDetail { summary, days })
}

/// A year the calendar does not cover, as an empty page to enter it from.
pub fn missing_year(year: i32) -> YearDetail {
    YearDetail {
        summary: YearSummary {
            year,
            status: YearStatus::Provisional,
            status_label: "无数据（期限无法计算）",
            origin: YearOrigin::Missing,
            notice: String::new(),
            notice_date: None,
            note: "此前年份不按规则推算：依赖本年的期限显示为无法计算，请按当年通知录入"
                .to_string(),
            working_days: 0,
            rest_weekdays: 0,
            makeup_workdays: 0,
            version: 0,
            updated_by: None,
            updated_at: None,
        },
        days: Vec::new(),
    }
}

/// Checks an entered year; returns the days to store as (date, kind, name), sorted.
pub fn validate_year(
    year: i32,
    input: &YearInput,
) -> AppResult<Vec<(String, &'static str, String)>> {
    if !YEAR_RANGE.contains(&year) {
        return Err(AppError::validation(
            "year",
            format!(
                "must be between {} and {}",
                YEAR_RANGE.start(),
                YEAR_RANGE.end()
            ),
        ));
    }
    let notice = input.notice.trim();
    if notice.chars().count() > 300 {
        return Err(AppError::validation("notice", "at most 300 characters"));
    }
    if input.status == YearStatus::Official && notice.is_empty() {
        return Err(AppError::validation(
            "notice",
            "an official year names the State Council notice it was entered from (title and number)",
        ));
    }
    if let Some(date) = input
        .notice_date
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        && parse_day(date).is_none()
    {
        return Err(AppError::validation(
            "notice_date",
            "must be a date YYYY-MM-DD",
        ));
    }
    if input.note.chars().count() > 1000 {
        return Err(AppError::validation("note", "at most 1000 characters"));
    }
    if input.days.len() > 366 {
        return Err(AppError::validation("days", "at most 366 days"));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for day in &input.days {
        let date = parse_day(&day.date).ok_or_else(|| {
            AppError::validation("days", format!("{:?} is not a date YYYY-MM-DD", day.date))
        })?;
        if date.year() != year {
            return Err(AppError::validation(
                "days",
                format!("{date} is not in {year}"),
            ));
        }
        if !seen.insert(date) {
            return Err(AppError::validation(
                "days",
                format!("{date} is listed twice"),
            ));
        }
        let weekend = matches!(date.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
        if day.kind == DayKind::Work && !weekend {
            return Err(AppError::validation(
                "days",
                format!(
                    "{date} is a weekday: only a Saturday or Sunday can be a make-up working day (调休上班)"
                ),
            ));
        }
        let name = day.name.trim();
        if name.chars().count() > 50 {
            return Err(AppError::validation(
                "days",
                format!("{date}: the name has more than 50 characters"),
            ));
        }
        out.push((date.to_string(), day.kind.as_str(), name.to_string()));
    }
    out.sort();
    Ok(out)
}

/// Enters or changes a year (administrators). Audited; the in-memory calendar is rebuilt, and every area that
/// stored deadlines recomputes them on its next use (they compare [`Calendar::fingerprint`]).
pub async fn save_year(
    db: &Db,
    principal: &Principal,
    year: i32,
    input: YearInput,
) -> AppResult<(YearDetail, bool)> {
    principal.require(crate::WORKING_CALENDAR, Action::Update)?;
    let days = validate_year(year, &input)?;
    let notice_date = input
        .notice_date
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    let before = year_for_audit(db, principal, year).await?;
    let mut tx = db.begin_write().await?;
    let existing = repo::year(&mut tx, year).await?;
    let write = repo::YearWrite {
        year,
        status: input.status.as_str(),
        notice: input.notice.trim(),
        notice_date,
        note: input.note.trim(),
        by: &principal.username,
        now: now_ts(),
    };
    let created = match &existing {
        None => {
            principal.require(crate::WORKING_CALENDAR, Action::Create)?;
            repo::insert_year(&mut tx, &write).await?;
            true
        }
        Some(row) => {
            if let Some(sent) = input.version
                && sent != row.version
            {
                return Err(AppError::Conflict(format!(
                    "version: the year has changed (now version {}, you sent {sent}); reload and try again",
                    row.version
                )));
            }
            if !repo::update_year(&mut tx, &write, row.version).await? {
                return Err(AppError::Conflict(
                    "version: the year was changed by someone else meanwhile; reload and try again"
                        .into(),
                ));
            }
            false
        }
    };
    repo::replace_days(&mut tx, year, &days).await?;
    let rest = days.iter().filter(|d| d.1 == "rest").count();
    let work = days.len() - rest;
    let entry = AuditEntry::by(
        principal,
        if created { "create" } else { "update" },
        "working_calendar_year",
        year,
    )
    .summary(format!(
        "工作日历 {year} 年（{}）：放假 {rest} 天、调休上班 {work} 天",
        input.status.label()
    ))
    .before(&before)
    .after(&serde_json::json!({
        "year": year,
        "status": input.status,
        "notice": write.notice,
        "notice_date": notice_date,
        "note": write.note,
        "days": days,
    }));
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    reload(db).await?;
    Ok((self::year(db, principal, year).await?, created))
}

/// The year as it was, for the audit log (`None` when it was not stored).
async fn year_for_audit(
    db: &Db,
    principal: &Principal,
    year: i32,
) -> AppResult<Option<YearDetail>> {
    let mut conn = db.pool().acquire().await?;
    let stored = repo::year(&mut conn, year).await?.is_some();
    drop(conn);
    if stored {
        Ok(Some(self::year(db, principal, year).await?))
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(status: YearStatus, notice: &str, days: &[(&str, DayKind)]) -> YearInput {
        YearInput {
            status,
            notice: notice.to_string(),
            notice_date: None,
            note: String::new(),
            days: days
                .iter()
                .map(|(d, k)| CalendarDay {
                    date: d.to_string(),
                    kind: *k,
                    name: "春节".to_string(),
                })
                .collect(),
            version: None,
        }
    }

    #[test]
    fn validation_names_the_problem() {
        use DayKind::{Rest, Work};
        use YearStatus::{Official, Provisional};
        type Case<'a> = (i32, YearStatus, &'a str, &'a [(&'a str, DayKind)], &'a str);
        let cases: &[Case] = &[
            (2027, Official, "", &[], "notice"),
            (1999, Provisional, "", &[], "year"),
            // 2027-02-08 is a Monday: it cannot be a make-up working day.
            (2027, Provisional, "", &[("2027-02-08", Work)], "days"),
            (2027, Provisional, "", &[("2028-01-01", Rest)], "days"),
            (
                2027,
                Provisional,
                "",
                &[("2027-02-08", Rest), ("2027-02-08", Rest)],
                "days",
            ),
            (2027, Provisional, "", &[("02-08", Rest)], "days"),
        ];
        for (year, status, notice, days, expected) in cases {
            match validate_year(*year, &input(*status, notice, days)) {
                Err(AppError::Validation { field, .. }) => assert_eq!(field, *expected),
                other => panic!("{year} {days:?}: expected a validation error, got {other:?}"),
            }
        }
        let ok = validate_year(
            2027,
            &input(
                Official,
                "国务院办公厅关于2027年部分节假日安排的通知",
                &[("2027-02-08", Rest), ("2027-02-06", Work)],
            ),
        )
        .unwrap();
        assert_eq!(ok[0].0, "2027-02-06");
        assert_eq!(ok[1].1, "rest");
    }

    #[test]
    fn built_calendar_falls_back_to_the_compiled_years() {
        let calendar = build(&[], &[]);
        assert_eq!(calendar.status(2024), Some(YearStatus::Official));
        assert_eq!(calendar.status(2027), Some(YearStatus::Provisional));
        assert_eq!(calendar.status(2022), None);
    }
}
