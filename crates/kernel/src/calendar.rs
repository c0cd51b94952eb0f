//! The official working-day calendar of the People's Republic of China (工作日 / 法定节假日 / 调休补班),
//! as data, one entry per year from the State Council's annual notice (国务院办公厅关于部分节假日安排的通知).
//!
//! A date is a working day iff it is Monday–Friday and not a listed rest day, or it is a listed make-up
//! working day (补班, a Saturday or Sunday). Half-day and partial-population holidays (3-08, 5-04, 6-01, 8-01)
//! are ordinary working days. A date in a year without data is an error ([`CalendarError::YearNotCovered`]),
//! never a silent Monday–Friday guess: the notice for the next year comes out in October–December, and a new
//! year is one more entry in [`YEARS`].
//!
//! Pure: no I/O, no clock. Source of the data: `shared/reference/holidays.md` (checked against the notice text
//! and four data sets).

use std::fmt;

use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// One year of the official calendar: weekday rest days and weekend make-up working days, as (month, day).
pub struct YearData {
    pub year: i32,
    /// The notice that sets this year.
    pub notice: &'static str,
    /// Monday–Friday dates that are rest days (法定节假日 and the weekdays moved into a break).
    pub rest_weekdays: &'static [(u32, u32)],
    /// Saturday/Sunday dates that are working days (调休补班).
    pub makeup_workdays: &'static [(u32, u32)],
}

/// The years the platform knows, oldest first.
pub const YEARS: &[YearData] = &[
    YearData {
        year: 2023,
        notice: "国办发明电〔2022〕16号",
        rest_weekdays: &[
            (1, 2),
            (1, 23),
            (1, 24),
            (1, 25),
            (1, 26),
            (1, 27),
            (4, 5),
            (5, 1),
            (5, 2),
            (5, 3),
            (6, 22),
            (6, 23),
            (9, 29),
            (10, 2),
            (10, 3),
            (10, 4),
            (10, 5),
            (10, 6),
        ],
        makeup_workdays: &[(1, 28), (1, 29), (4, 23), (5, 6), (6, 25), (10, 7), (10, 8)],
    },
    YearData {
        year: 2024,
        notice: "国办发明电〔2023〕7号",
        rest_weekdays: &[
            (1, 1),
            (2, 12),
            (2, 13),
            (2, 14),
            (2, 15),
            (2, 16),
            (4, 4),
            (4, 5),
            (5, 1),
            (5, 2),
            (5, 3),
            (6, 10),
            (9, 16),
            (9, 17),
            (10, 1),
            (10, 2),
            (10, 3),
            (10, 4),
            (10, 7),
        ],
        makeup_workdays: &[
            (2, 4),
            (2, 18),
            (4, 7),
            (4, 28),
            (5, 11),
            (9, 14),
            (9, 29),
            (10, 12),
        ],
    },
    YearData {
        year: 2025,
        notice: "国办发明电〔2024〕12号",
        rest_weekdays: &[
            (1, 1),
            (1, 28),
            (1, 29),
            (1, 30),
            (1, 31),
            (2, 3),
            (2, 4),
            (4, 4),
            (5, 1),
            (5, 2),
            (5, 5),
            (6, 2),
            (10, 1),
            (10, 2),
            (10, 3),
            (10, 6),
            (10, 7),
            (10, 8),
        ],
        makeup_workdays: &[(1, 26), (2, 8), (4, 27), (9, 28), (10, 11)],
    },
    YearData {
        year: 2026,
        // The document number is known only from third-party code comments (holidays.md: [U]).
        notice: "国务院办公厅关于2026年部分节假日安排的通知（2025-11-04）",
        rest_weekdays: &[
            (1, 1),
            (1, 2),
            (2, 16),
            (2, 17),
            (2, 18),
            (2, 19),
            (2, 20),
            (2, 23),
            (4, 6),
            (5, 1),
            (5, 4),
            (5, 5),
            (6, 19),
            (9, 25),
            (10, 1),
            (10, 2),
            (10, 5),
            (10, 6),
            (10, 7),
        ],
        makeup_workdays: &[(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)],
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarError {
    /// The year's notice is not in [`YEARS`]: the answer would be a guess.
    YearNotCovered(i32),
    /// The date arithmetic left chrono's range.
    OutOfRange,
}

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CalendarError::YearNotCovered(year) => write!(
                f,
                "the official working-day calendar has no data for {year}; add that year's State Council notice to kernel::calendar::YEARS"
            ),
            CalendarError::OutOfRange => write!(f, "date out of range"),
        }
    }
}

impl std::error::Error for CalendarError {}

fn year_data(year: i32) -> Result<&'static YearData, CalendarError> {
    YEARS
        .iter()
        .find(|y| y.year == year)
        .ok_or(CalendarError::YearNotCovered(year))
}

/// The first and last year with data.
pub fn covered_years() -> (i32, i32) {
    let first = YEARS.first().map_or(0, |y| y.year);
    let last = YEARS.last().map_or(0, |y| y.year);
    (first, last)
}

/// Whether `day` is a working day on the official calendar.
pub fn is_working_day(day: NaiveDate) -> Result<bool, CalendarError> {
    let data = year_data(day.year())?;
    let key = (day.month(), day.day());
    let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
    Ok(if weekend {
        data.makeup_workdays.contains(&key)
    } else {
        !data.rest_weekdays.contains(&key)
    })
}

fn next_day(day: NaiveDate) -> Result<NaiveDate, CalendarError> {
    day.succ_opt().ok_or(CalendarError::OutOfRange)
}

/// The `n`-th working day **after** `start` (the start day itself is not counted, whatever it is);
/// `n = 0` gives `start`. "Within 5 working days of receipt on Friday before a break" ends on the fifth
/// working day after that Friday.
pub fn add_working_days(start: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
    let mut day = start;
    let mut left = n;
    while left > 0 {
        day = next_day(day)?;
        if is_working_day(day)? {
            left -= 1;
        }
    }
    Ok(day)
}

/// The first working day on or after `day`.
pub fn working_day_on_or_after(day: NaiveDate) -> Result<NaiveDate, CalendarError> {
    let mut day = day;
    while !is_working_day(day)? {
        day = next_day(day)?;
    }
    Ok(day)
}

/// Working days in `(from, to]`: after `from`, up to and including `to`. Negative when `to` is before `from`
/// (the working days in `(to, from]`, negated), so "working days left" is `working_days_between(today, due)`.
pub fn working_days_between(from: NaiveDate, to: NaiveDate) -> Result<i64, CalendarError> {
    let (low, high, sign) = if to >= from {
        (from, to, 1)
    } else {
        (to, from, -1)
    };
    let mut count = 0_i64;
    let mut day = low;
    while day < high {
        day = next_day(day)?;
        if is_working_day(day)? {
            count += 1;
        }
    }
    Ok(sign * count)
}

/// A statutory time limit.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(tag = "unit", content = "count", rename_all = "snake_case")]
pub enum Period {
    /// "N 个工作日": counted on the official calendar from the day after the start day.
    WorkingDays(u32),
    /// "N 日": calendar days from the day after the start day; when the last day is a rest day, the period
    /// ends on the next working day (the general rule of 民法典 第二百零三条 for periods; governance.md marks
    /// its application to petitions as to be checked).
    CalendarDays(u32),
}

impl Period {
    pub fn label(self) -> String {
        match self {
            Period::WorkingDays(n) => format!("{n}个工作日"),
            Period::CalendarDays(n) => format!("{n}日"),
        }
    }
}

/// The last day of a period that starts on `start` (the day of receipt or acceptance, not counted).
pub fn deadline(start: NaiveDate, period: Period) -> Result<NaiveDate, CalendarError> {
    match period {
        Period::WorkingDays(n) => add_working_days(start, n),
        Period::CalendarDays(n) => {
            let last = start
                .checked_add_signed(Duration::days(i64::from(n)))
                .ok_or(CalendarError::OutOfRange)?;
            working_day_on_or_after(last)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn yearly_totals_match_the_notices() {
        for (year, expected) in [(2023, 249), (2024, 251), (2025, 248), (2026, 248)] {
            let days = working_days_between(d(year - 1, 12, 31), d(year, 12, 31));
            // (year − 1)-12-31 is outside the data for 2023; count from 01-01 inclusive instead.
            let days = match days {
                Ok(n) => n,
                Err(_) => {
                    working_days_between(d(year, 1, 1), d(year, 12, 31)).unwrap()
                        + i64::from(is_working_day(d(year, 1, 1)).unwrap())
                }
            };
            assert_eq!(days, expected, "{year}");
        }
    }

    #[test]
    fn every_listed_date_has_the_right_weekday() {
        for year in YEARS {
            for &(m, day) in year.rest_weekdays {
                let date = d(year.year, m, day);
                assert!(
                    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
                    "{date}"
                );
                assert!(!is_working_day(date).unwrap());
            }
            for &(m, day) in year.makeup_workdays {
                let date = d(year.year, m, day);
                assert!(
                    matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
                    "{date}"
                );
                assert!(is_working_day(date).unwrap());
            }
        }
    }

    #[test]
    fn spot_checks_from_the_reference() {
        // holidays.md "Spot checks": Nth working day after the start date, start excluded.
        assert_eq!(add_working_days(d(2025, 1, 24), 5).unwrap(), d(2025, 2, 7));
        assert_eq!(
            add_working_days(d(2026, 9, 18), 20).unwrap(),
            d(2026, 10, 22)
        );
        assert_eq!(add_working_days(d(2024, 2, 8), 10).unwrap(), d(2024, 2, 28));
        assert_eq!(add_working_days(d(2026, 2, 13), 5).unwrap(), d(2026, 2, 27));
        assert_eq!(add_working_days(d(2023, 12, 29), 1).unwrap(), d(2024, 1, 2));
    }

    #[test]
    fn spring_festival_boundaries() {
        // 2024: 除夕 02-09 is a working day; 02-10…02-17 off; Sunday 02-18 is a make-up working day.
        assert!(is_working_day(d(2024, 2, 9)).unwrap());
        assert!(!is_working_day(d(2024, 2, 12)).unwrap());
        assert!(is_working_day(d(2024, 2, 18)).unwrap());
        assert_eq!(add_working_days(d(2024, 2, 9), 1).unwrap(), d(2024, 2, 18));
        // Sunday 02-04 before the break counts.
        assert_eq!(add_working_days(d(2024, 2, 2), 1).unwrap(), d(2024, 2, 4));
        // 2025: 除夕 01-28 is a holiday under the revised 办法.
        assert!(!is_working_day(d(2025, 1, 28)).unwrap());
        assert_eq!(add_working_days(d(2025, 1, 27), 1).unwrap(), d(2025, 2, 5));
        // 2026: nine days from 02-15; Saturday 02-14 and 02-28 are working days.
        assert!(is_working_day(d(2026, 2, 14)).unwrap());
        assert_eq!(add_working_days(d(2026, 2, 14), 1).unwrap(), d(2026, 2, 24));
        assert!(is_working_day(d(2026, 2, 28)).unwrap());
    }

    #[test]
    fn national_day_boundaries() {
        // 2024: Sunday 09-29 works, 10-01…10-07 off, Saturday 10-12 works.
        assert_eq!(add_working_days(d(2024, 9, 27), 1).unwrap(), d(2024, 9, 29));
        assert_eq!(add_working_days(d(2024, 9, 30), 1).unwrap(), d(2024, 10, 8));
        assert_eq!(
            add_working_days(d(2024, 10, 11), 1).unwrap(),
            d(2024, 10, 12)
        );
        // 2025: 10-01…10-08 off; Saturday 10-11 works.
        assert_eq!(add_working_days(d(2025, 9, 30), 1).unwrap(), d(2025, 10, 9));
        assert_eq!(
            working_days_between(d(2025, 9, 26), d(2025, 10, 12)).unwrap(),
            // 09-28 (Sun), 09-29, 09-30, 10-09, 10-10, 10-11 (Sat)
            6
        );
    }

    #[test]
    fn calendar_day_periods_roll_forward_off_rest_days() {
        // 15 日 from 2024-09-16 ends 10-01, a holiday → the next working day, 10-08.
        assert_eq!(
            deadline(d(2024, 9, 16), Period::CalendarDays(15)).unwrap(),
            d(2024, 10, 8)
        );
        // Ending on a 调休 Saturday is ending on a working day.
        assert_eq!(
            deadline(d(2024, 9, 27), Period::CalendarDays(15)).unwrap(),
            d(2024, 10, 12)
        );
        assert_eq!(
            deadline(d(2024, 3, 1), Period::WorkingDays(1)).unwrap(),
            d(2024, 3, 4)
        );
    }

    #[test]
    fn between_is_signed_and_half_open() {
        assert_eq!(
            working_days_between(d(2024, 3, 4), d(2024, 3, 4)).unwrap(),
            0
        );
        assert_eq!(
            working_days_between(d(2024, 3, 4), d(2024, 3, 11)).unwrap(),
            5
        );
        assert_eq!(
            working_days_between(d(2024, 3, 11), d(2024, 3, 4)).unwrap(),
            -5
        );
    }

    #[test]
    fn unknown_years_are_errors_not_guesses() {
        assert_eq!(
            is_working_day(d(2027, 3, 1)),
            Err(CalendarError::YearNotCovered(2027))
        );
        assert_eq!(
            add_working_days(d(2026, 12, 30), 5),
            Err(CalendarError::YearNotCovered(2027))
        );
        assert_eq!(
            is_working_day(d(2022, 3, 1)),
            Err(CalendarError::YearNotCovered(2022))
        );
        assert_eq!(covered_years(), (2023, 2026));
    }
}
