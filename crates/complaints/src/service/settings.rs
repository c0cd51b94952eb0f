//! The area's settings (repeat detection, due-soon warning, office hours, persistent sources) and office
//! hours on the official calendar.

use chrono::Timelike;
use kernel::audit::{self, AuditEntry};
use kernel::calendar::{Calendar, CalendarError};
use kernel::time::now_ts;
use kernel::{AppError, AppResult, Db, Principal, Role};

use super::Caller;
use super::deadlines::context;
use crate::model::*;
use crate::repo;

pub async fn settings(db: &Db) -> AppResult<Settings> {
    Ok(context(db).await?.settings)
}

/// The settings, and the fingerprint of the calendar the stored due dates were computed with.
pub(super) async fn load_settings(db: &Db) -> AppResult<(Settings, Option<String>)> {
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
    Caller::User(principal).require_role(&[Role::Admin, Role::Petition], "修改信访投诉设置")?;
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
