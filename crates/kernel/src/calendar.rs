//! The official working-day calendar of the People's Republic of China (工作日 / 法定节假日 / 调休补班).
//!
//! A date is a working day iff it is Monday–Friday and not a listed rest day, or it is a listed make-up
//! working day (补班, a Saturday or Sunday). Half-day and partial-population holidays (3-08, 5-04, 6-01, 8-01)
//! are ordinary working days.
//!
//! [`Calendar`] is the pure arithmetic over a set of years, each official (from the State Council's annual
//! notice, 国务院办公厅关于部分节假日安排的通知) or provisional (暂定, before the notice is out). The platform keeps
//! the years as data in the database (crate `workcal`) and builds a `Calendar` from them; the years compiled
//! here ([`YEARS`], 2023–2026) seed that table and back the free functions. A year without data is an error
//! ([`CalendarError::YearNotCovered`]), never a silent Monday–Friday guess — except that a calendar built with
//! `rule_years` gives the years after its first entered one that are not entered a provisional year of the certain, fixed-date
//! statutory holidays ([`rule_rest_days`]), which callers must show as provisional
//! ([`Calendar::provisional_between`]).
//!
//! Pure: no I/O, no clock. Source of the data: the State Council General Office's yearly notices on the
//! arrangement of public holidays (国务院办公厅关于某年部分节假日安排的通知), checked against four public data
//! sets.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::LazyLock;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use sha2::{Digest, Sha256};

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
        // The document number (国办发明电〔2025〕7号) is unverified: only third-party code comments give it.
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
    /// The calendar holds no data for this year and may not derive it: the answer would be a guess.
    YearNotCovered(i32),
    /// The date arithmetic left chrono's range.
    OutOfRange,
}

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CalendarError::YearNotCovered(year) => write!(
                f,
                "the official working-day calendar has no data for {year}; enter that year's State Council notice"
            ),
            CalendarError::OutOfRange => write!(f, "date out of range"),
        }
    }
}

impl std::error::Error for CalendarError {}

/// Whether a year's data comes from the State Council's notice or is provisional (暂定, pending the notice).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum YearStatus {
    /// 正式: entered from the notice (国务院办公厅关于…年部分节假日安排的通知).
    Official,
    /// 暂定（待国务院通知）: entered or derived before the notice is out; deadlines relying on it say so.
    Provisional,
}

impl YearStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            YearStatus::Official => "official",
            YearStatus::Provisional => "provisional",
        }
    }

    pub fn parse(text: &str) -> Option<YearStatus> {
        match text {
            "official" => Some(YearStatus::Official),
            "provisional" => Some(YearStatus::Provisional),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            YearStatus::Official => "正式（国务院通知）",
            YearStatus::Provisional => "暂定（待国务院通知）",
        }
    }
}

fn is_weekend(day: NaiveDate) -> bool {
    matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

/// One year of a calendar: the weekday rest days and the weekend make-up working days. Only these change a
/// count (a weekend rest day or a weekday working day is the default), so only these are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearCalendar {
    pub year: i32,
    pub status: YearStatus,
    rest_weekdays: BTreeSet<NaiveDate>,
    makeup_workdays: BTreeSet<NaiveDate>,
}

impl YearCalendar {
    /// A year from its rest days and its working days; dates of other years, weekend rest days and weekday
    /// working days change nothing and are dropped.
    pub fn new(
        year: i32,
        status: YearStatus,
        rest_days: impl IntoIterator<Item = NaiveDate>,
        working_days: impl IntoIterator<Item = NaiveDate>,
    ) -> YearCalendar {
        YearCalendar {
            year,
            status,
            rest_weekdays: rest_days
                .into_iter()
                .filter(|d| d.year() == year && !is_weekend(*d))
                .collect(),
            makeup_workdays: working_days
                .into_iter()
                .filter(|d| d.year() == year && is_weekend(*d))
                .collect(),
        }
    }

    /// The provisional year of the rules alone (see [`rule_rest_days`]), before the notice is out.
    pub fn by_rule(year: i32) -> YearCalendar {
        YearCalendar::new(
            year,
            YearStatus::Provisional,
            rule_rest_days(year).into_iter().map(|(d, _)| d),
            [],
        )
    }

    pub fn rest_weekdays(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.rest_weekdays.iter().copied()
    }

    pub fn makeup_workdays(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.makeup_workdays.iter().copied()
    }

    fn is_working_day(&self, day: NaiveDate) -> bool {
        if is_weekend(day) {
            self.makeup_workdays.contains(&day)
        } else {
            !self.rest_weekdays.contains(&day)
        }
    }

    /// Working days in the whole year.
    pub fn working_days(&self) -> u32 {
        let Some(mut day) = NaiveDate::from_ymd_opt(self.year, 1, 1) else {
            return 0;
        };
        let mut count = 0;
        while day.year() == self.year {
            count += u32::from(self.is_working_day(day));
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        count
    }
}

/// The holidays a year is certain to have before its notice is out: those of 全国年节及纪念日放假办法 (as revised
/// in force from 2025) that fall on a fixed Gregorian date — 元旦 01-01, 劳动节 05-01 and 05-02, 国庆节 10-01 to
/// 10-03 — when they fall on Monday–Friday. The lunar holidays (春节 with 除夕, 端午, 中秋) and 清明 are left
/// out: their dates need an astronomical calendar, and the notice's 调休 around them cannot be derived
/// (the 2026 notice's Spring Festival break did not follow 2025's pattern). A provisional year therefore has
/// more working days than the real one will have: its deadlines come earlier, never later, than the official
/// ones across a break that is missing (but a 调休 Saturday can move a date by a day either way).
pub fn rule_rest_days(year: i32) -> Vec<(NaiveDate, &'static str)> {
    [
        (1, 1, "元旦"),
        (5, 1, "劳动节"),
        (5, 2, "劳动节"),
        (10, 1, "国庆节"),
        (10, 2, "国庆节"),
        (10, 3, "国庆节"),
    ]
    .into_iter()
    .filter_map(|(m, d, name)| NaiveDate::from_ymd_opt(year, m, d).map(|day| (day, name)))
    .filter(|(day, _)| !is_weekend(*day))
    .collect()
}

/// Where a year of a [`Calendar`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YearSource<'a> {
    /// Entered data (official or provisional).
    Entered(&'a YearCalendar),
    /// Not entered, and later than the first entered year: the provisional rules apply ([`rule_rest_days`]).
    Rule,
}

/// A working-day calendar: entered years, and optionally the provisional rules for the years after the last
/// entered one. Pure; the platform loads it from the database and keeps it in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    years: BTreeMap<i32, YearCalendar>,
    rule_years: bool,
    fingerprint: String,
}

impl Calendar {
    /// A calendar of `years`. With `rule_years`, a year not entered but later than the first entered one
    /// (the next year before its notice, or a gap) is provisional by the rules ([`rule_rest_days`]); without
    /// it, it is [`CalendarError::YearNotCovered`]. A year before the first entered one is always
    /// `YearNotCovered`: the past is not guessed.
    pub fn new(years: impl IntoIterator<Item = YearCalendar>, rule_years: bool) -> Calendar {
        let years: BTreeMap<i32, YearCalendar> = years.into_iter().map(|y| (y.year, y)).collect();
        let mut text = format!("rule={rule_years};");
        for y in years.values() {
            text.push_str(&format!("{}:{}:", y.year, y.status.as_str()));
            for d in &y.rest_weekdays {
                text.push_str(&format!("-{d}"));
            }
            for d in &y.makeup_workdays {
                text.push_str(&format!("+{d}"));
            }
            text.push(';');
        }
        let digest = Sha256::digest(text.as_bytes());
        Calendar {
            years,
            rule_years,
            fingerprint: hex::encode(&digest[..12]),
        }
    }

    /// The years compiled into this module ([`YEARS`]), all official, strict (no rule years).
    pub fn compiled() -> Calendar {
        Calendar::new(
            YEARS.iter().map(|y| {
                YearCalendar::new(
                    y.year,
                    YearStatus::Official,
                    y.rest_weekdays
                        .iter()
                        .filter_map(|&(m, d)| NaiveDate::from_ymd_opt(y.year, m, d)),
                    y.makeup_workdays
                        .iter()
                        .filter_map(|&(m, d)| NaiveDate::from_ymd_opt(y.year, m, d)),
                )
            }),
            false,
        )
    }

    /// Changes whenever the data that counts changes (statuses, weekday rest days, weekend working days,
    /// whether rule years apply): stored deadlines computed under another fingerprint must be recomputed.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub fn entered_years(&self) -> impl Iterator<Item = &YearCalendar> {
        self.years.values()
    }

    pub fn last_entered_year(&self) -> Option<i32> {
        self.years.keys().next_back().copied()
    }

    /// Where `year` comes from, or `YearNotCovered`.
    pub fn source(&self, year: i32) -> Result<YearSource<'_>, CalendarError> {
        if let Some(y) = self.years.get(&year) {
            return Ok(YearSource::Entered(y));
        }
        match self.years.keys().next() {
            Some(first) if self.rule_years && year > *first => Ok(YearSource::Rule),
            _ => Err(CalendarError::YearNotCovered(year)),
        }
    }

    /// The status of `year`: rule years are provisional; `None` when not covered.
    pub fn status(&self, year: i32) -> Option<YearStatus> {
        match self.source(year).ok()? {
            YearSource::Entered(y) => Some(y.status),
            YearSource::Rule => Some(YearStatus::Provisional),
        }
    }

    /// Whether any year from `a`'s to `b`'s (in either order) is provisional or not covered: a count between
    /// them is then not final.
    pub fn provisional_between(&self, a: NaiveDate, b: NaiveDate) -> bool {
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        (low.year()..=high.year()).any(|y| self.status(y) != Some(YearStatus::Official))
    }

    /// Whether `day` is a working day.
    pub fn is_working_day(&self, day: NaiveDate) -> Result<bool, CalendarError> {
        Ok(match self.source(day.year())? {
            YearSource::Entered(y) => y.is_working_day(day),
            YearSource::Rule => {
                !is_weekend(day)
                    && !rule_rest_days(day.year())
                        .iter()
                        .any(|(rest, _)| *rest == day)
            }
        })
    }

    /// The `n`-th working day **after** `start` (the start day itself is not counted, whatever it is);
    /// `n = 0` gives `start`. "Within 5 working days of receipt on Friday before a break" ends on the fifth
    /// working day after that Friday.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        let mut day = start;
        let mut left = n;
        while left > 0 {
            day = next_day(day)?;
            if self.is_working_day(day)? {
                left -= 1;
            }
        }
        Ok(day)
    }

    /// The first working day on or after `day`.
    pub fn working_day_on_or_after(&self, day: NaiveDate) -> Result<NaiveDate, CalendarError> {
        let mut day = day;
        while !self.is_working_day(day)? {
            day = next_day(day)?;
        }
        Ok(day)
    }

    /// Working days in `(from, to]`: after `from`, up to and including `to`. Negative when `to` is before
    /// `from` (the working days in `(to, from]`, negated), so "working days left" is
    /// `working_days_between(today, due)`.
    pub fn working_days_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<i64, CalendarError> {
        let (low, high, sign) = if to >= from {
            (from, to, 1)
        } else {
            (to, from, -1)
        };
        let mut count = 0_i64;
        let mut day = low;
        while day < high {
            day = next_day(day)?;
            if self.is_working_day(day)? {
                count += 1;
            }
        }
        Ok(sign * count)
    }

    /// The last day of a period that starts on `start` (the day of receipt or acceptance, not counted).
    pub fn deadline(&self, start: NaiveDate, period: Period) -> Result<NaiveDate, CalendarError> {
        match period {
            Period::WorkingDays(n) => self.add_working_days(start, n),
            Period::CalendarDays(n) => {
                let last = start
                    .checked_add_signed(Duration::days(i64::from(n)))
                    .ok_or(CalendarError::OutOfRange)?;
                self.working_day_on_or_after(last)
            }
        }
    }
}

static COMPILED: LazyLock<Calendar> = LazyLock::new(Calendar::compiled);

/// The first and last year compiled in.
pub fn covered_years() -> (i32, i32) {
    let first = YEARS.first().map_or(0, |y| y.year);
    let last = YEARS.last().map_or(0, |y| y.year);
    (first, last)
}

/// Whether `day` is a working day on the compiled calendar ([`Calendar::compiled`]).
pub fn is_working_day(day: NaiveDate) -> Result<bool, CalendarError> {
    COMPILED.is_working_day(day)
}

fn next_day(day: NaiveDate) -> Result<NaiveDate, CalendarError> {
    day.succ_opt().ok_or(CalendarError::OutOfRange)
}

/// [`Calendar::add_working_days`] on the compiled calendar.
pub fn add_working_days(start: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
    COMPILED.add_working_days(start, n)
}

/// [`Calendar::working_day_on_or_after`] on the compiled calendar.
pub fn working_day_on_or_after(day: NaiveDate) -> Result<NaiveDate, CalendarError> {
    COMPILED.working_day_on_or_after(day)
}

/// [`Calendar::working_days_between`] on the compiled calendar.
pub fn working_days_between(from: NaiveDate, to: NaiveDate) -> Result<i64, CalendarError> {
    COMPILED.working_days_between(from, to)
}

/// A statutory time limit.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(tag = "unit", content = "count", rename_all = "snake_case")]
#[schema(as = TimeLimit)]
pub enum Period {
    /// "N 个工作日": counted on the official calendar from the day after the start day.
    WorkingDays(u32),
    /// "N 日": calendar days from the day after the start day; when the last day is a rest day, the period
    /// ends on the next working day (the general rule of 民法典 第二百零三条 for periods; its application to
    /// petitions is unverified).
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

/// [`Calendar::deadline`] on the compiled calendar.
pub fn deadline(start: NaiveDate, period: Period) -> Result<NaiveDate, CalendarError> {
    COMPILED.deadline(start, period)
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
        // Nth working day after the start date, start excluded, worked out from the State Council notices.
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

#[cfg(test)]
mod calendar_tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn with_rules() -> Calendar {
        Calendar::new(Calendar::compiled().entered_years().cloned(), true)
    }

    #[test]
    fn rule_years_follow_the_entered_ones_only() {
        let cal = with_rules();
        assert_eq!(cal.status(2026), Some(YearStatus::Official));
        assert_eq!(cal.status(2027), Some(YearStatus::Provisional));
        assert_eq!(cal.status(2022), None);
        assert_eq!(
            cal.is_working_day(d(2022, 3, 1)),
            Err(CalendarError::YearNotCovered(2022))
        );
        // 2027-01-01 is a Friday (元旦), 05-03 a Monday (a weekday after the statutory 05-01/02 weekend: not
        // derivable, so a working day), 10-01 a Friday.
        assert!(!cal.is_working_day(d(2027, 1, 1)).unwrap());
        assert!(cal.is_working_day(d(2027, 5, 3)).unwrap());
        assert!(!cal.is_working_day(d(2027, 10, 1)).unwrap());
        assert!(!cal.is_working_day(d(2027, 1, 2)).unwrap());
        // 2028: 01-01 is a Saturday, nothing moves.
        assert!(cal.is_working_day(d(2028, 1, 3)).unwrap());
    }

    #[test]
    fn deadlines_across_the_2026_2027_new_year() {
        let cal = with_rules();
        // Wednesday 2026-12-30: 1st working day after is Thursday 12-31; the 2nd skips 元旦 (Fri 01-01) and the
        // weekend to Monday 2027-01-04.
        assert_eq!(
            cal.add_working_days(d(2026, 12, 30), 1).unwrap(),
            d(2026, 12, 31)
        );
        assert_eq!(
            cal.add_working_days(d(2026, 12, 30), 2).unwrap(),
            d(2027, 1, 4)
        );
        // 3 个工作日 from Thursday 12-31.
        assert_eq!(
            cal.add_working_days(d(2026, 12, 31), 3).unwrap(),
            d(2027, 1, 6)
        );
        // 60 日 from 2026-12-01 ends Saturday 2027-01-30 → Monday 02-01 (no Spring Festival in the rules).
        assert_eq!(
            cal.deadline(d(2026, 12, 1), Period::CalendarDays(60))
                .unwrap(),
            d(2027, 2, 1)
        );
        assert!(cal.provisional_between(d(2026, 12, 1), d(2027, 2, 1)));
        assert!(!cal.provisional_between(d(2026, 1, 1), d(2026, 12, 31)));
        // The strict compiled calendar refuses instead.
        assert_eq!(
            add_working_days(d(2026, 12, 30), 2),
            Err(CalendarError::YearNotCovered(2027))
        );
    }

    #[test]
    fn an_official_year_replaces_the_rules_and_the_fingerprint() {
        let provisional = with_rules();
        // A made-up official 2027 with a Spring Festival break 02-05…02-11 (weekdays 02-05, 02-08…02-11) and a
        // make-up Sunday 01-31: the test needs different data, not the real notice.
        let mut years: Vec<YearCalendar> = Calendar::compiled().entered_years().cloned().collect();
        years.push(YearCalendar::new(
            2027,
            YearStatus::Official,
            [
                d(2027, 1, 1),
                d(2027, 2, 5),
                d(2027, 2, 8),
                d(2027, 2, 9),
                d(2027, 2, 10),
                d(2027, 2, 11),
            ],
            [d(2027, 1, 31), d(2027, 2, 20)],
        ));
        let official = Calendar::new(years, true);
        assert_ne!(provisional.fingerprint(), official.fingerprint());
        assert_eq!(official.status(2027), Some(YearStatus::Official));
        // 60 日 from 2026-12-10 ends Monday 2027-02-08: a working day provisionally; officially a holiday, and
        // the period rolls forward to Friday 02-12.
        let start = d(2026, 12, 10);
        assert_eq!(
            provisional
                .deadline(start, Period::CalendarDays(60))
                .unwrap(),
            d(2027, 2, 8)
        );
        assert_eq!(
            official.deadline(start, Period::CalendarDays(60)).unwrap(),
            d(2027, 2, 12)
        );
        // Dropped: a weekday working day and a weekend rest day change nothing.
        let y = YearCalendar::new(2027, YearStatus::Official, [d(2027, 1, 2)], [d(2027, 1, 4)]);
        assert_eq!(y.rest_weekdays().count(), 0);
        assert_eq!(y.makeup_workdays().count(), 0);
        assert_eq!(
            Calendar::compiled().fingerprint(),
            Calendar::compiled().fingerprint()
        );
    }

    #[test]
    fn yearly_totals_of_year_calendars() {
        let cal = Calendar::compiled();
        let totals: Vec<u32> = cal
            .entered_years()
            .map(YearCalendar::working_days)
            .collect();
        assert_eq!(totals, vec![249, 251, 248, 248]);
        // 2027 by the rules: 261 weekdays less 元旦 (Fri) and 10-01 (Fri); 05-01/02 and 10-02/03 are weekend days.
        assert_eq!(YearCalendar::by_rule(2027).working_days(), 259);
    }
}
