//! The records of the calendar area.

use kernel::calendar::YearStatus;
use serde::{Deserialize, Serialize};

/// What a listed day is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// 放假: a rest day (a holiday, or a weekday moved into a break). Weekend days inside a break may be listed.
    Rest,
    /// 调休上班: a Saturday or Sunday that is a working day.
    Work,
}

impl DayKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DayKind::Rest => "rest",
            DayKind::Work => "work",
        }
    }

    pub fn parse(text: &str) -> Option<DayKind> {
        match text {
            "rest" => Some(DayKind::Rest),
            "work" => Some(DayKind::Work),
            _ => None,
        }
    }
}

/// One listed day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = ListedDay)]
pub struct CalendarDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub kind: DayKind,
    /// The holiday's name (春节, 国庆节…); for a working day, e.g. 春节调休上班.
    #[serde(default)]
    pub name: String,
}

/// Where a year's data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum YearOrigin {
    /// Stored (entered by an administrator, or seeded).
    Entered,
    /// Not stored: provisional by rule (weekends and the fixed-date statutory holidays).
    Rule,
    /// Not stored and not derived (before the first stored year): deadlines that need it cannot be computed.
    /// Only the entry page shows such a year, to enter it.
    Missing,
}

/// A year as listed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct YearSummary {
    pub year: i32,
    pub status: YearStatus,
    pub status_label: &'static str,
    pub origin: YearOrigin,
    /// The notice's title and reference (official years).
    pub notice: String,
    /// When the notice was published, `YYYY-MM-DD`.
    pub notice_date: Option<String>,
    pub note: String,
    /// Working days in the year.
    pub working_days: u32,
    /// Monday–Friday rest days.
    pub rest_weekdays: u32,
    /// Saturday/Sunday working days.
    pub makeup_workdays: u32,
    /// For optimistic concurrency on update (0 for a rule year).
    pub version: i64,
    pub updated_by: Option<String>,
    pub updated_at: Option<i64>,
}

/// A year with its listed days.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct YearDetail {
    #[serde(flatten)]
    pub summary: YearSummary,
    pub days: Vec<CalendarDay>,
}

/// A year as entered (body of `PUT /api/v1/calendar/years/{year}`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct YearInput {
    pub status: YearStatus,
    /// Required for an official year: the notice's title and number.
    #[serde(default)]
    pub notice: String,
    pub notice_date: Option<String>,
    #[serde(default)]
    pub note: String,
    /// Every rest day and make-up working day of the year.
    pub days: Vec<CalendarDay>,
    /// The stored version when updating; a different one is a 409.
    pub version: Option<i64>,
}
