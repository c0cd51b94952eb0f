//! GB 3095 concentration limits: 2012 (to 2026-02-28), 2026 transition phase (2026-03-01 to 2030-12-31) and
//! 2026 final phase (from 2031-01-01): GB 3095-2012 Table 1, GB 3095-2026 Table 1.

use chrono::NaiveDate;
use serde::Serialize;

use crate::exact::Exact;
use crate::pollutant::Pollutant;
use crate::settings::ZoneClass;

/// The edition and phase of GB 3095 whose limits apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Gb3095 {
    #[serde(rename = "GB 3095-2012")]
    Edition2012,
    #[serde(rename = "GB 3095-2026 transition phase")]
    Edition2026Transition,
    #[serde(rename = "GB 3095-2026 final phase")]
    Edition2026Final,
}

impl Gb3095 {
    /// The limits in force on a date.
    pub fn for_date(date: NaiveDate) -> Gb3095 {
        let (y, m) = (
            chrono::Datelike::year(&date),
            chrono::Datelike::month(&date),
        );
        if (y, m) < (2026, 3) {
            Self::Edition2012
        } else if y <= 2030 {
            Self::Edition2026Transition
        } else {
            Self::Edition2026Final
        }
    }

    pub const fn code(self) -> &'static str {
        match self {
            Self::Edition2012 => "GB 3095-2012",
            Self::Edition2026Transition => "GB 3095-2026 transition phase",
            Self::Edition2026Final => "GB 3095-2026 final phase",
        }
    }

    /// Annual mean limit; `None` for CO and O3, which have none.
    pub fn annual_limit(self, pollutant: Pollutant, class: ZoneClass) -> Option<Exact> {
        use Pollutant::*;
        let value = match (self, class, pollutant) {
            (_, _, Co | O3) => return None,
            (Self::Edition2012 | Self::Edition2026Transition, ZoneClass::Class1, So2) => 20,
            (Self::Edition2012 | Self::Edition2026Transition, _, No2) => 40,
            (Self::Edition2012 | Self::Edition2026Transition, ZoneClass::Class1, Pm10) => 40,
            (Self::Edition2012 | Self::Edition2026Transition, ZoneClass::Class1, Pm25) => 15,
            (Self::Edition2012 | Self::Edition2026Transition, ZoneClass::Class2, So2) => 60,
            (Self::Edition2012, ZoneClass::Class2, Pm10) => 70,
            (Self::Edition2012, ZoneClass::Class2, Pm25) => 35,
            (Self::Edition2026Transition, ZoneClass::Class2, Pm10) => 60,
            (Self::Edition2026Transition, ZoneClass::Class2, Pm25) => 30,
            (Self::Edition2026Final, _, So2) => 20,
            (Self::Edition2026Final, _, No2) => 30,
            (Self::Edition2026Final, ZoneClass::Class1, Pm10) => 20,
            (Self::Edition2026Final, ZoneClass::Class1, Pm25) => 10,
            (Self::Edition2026Final, ZoneClass::Class2, Pm10) => 50,
            (Self::Edition2026Final, ZoneClass::Class2, Pm25) => 25,
        };
        Some(Exact::from_int(value))
    }

    /// 24-h mean limit (O3: daily max 8-h; CO in mg/m³).
    pub fn daily_limit(self, pollutant: Pollutant, class: ZoneClass) -> Exact {
        use Pollutant::*;
        let value = match (self, class, pollutant) {
            (_, _, Co) => 4,
            (_, ZoneClass::Class1, O3) => 100,
            (_, ZoneClass::Class2, O3) => 160,
            (_, ZoneClass::Class1, So2) => 50,
            (Self::Edition2012 | Self::Edition2026Transition, ZoneClass::Class2, So2) => 150,
            (Self::Edition2026Final, ZoneClass::Class2, So2) => 50,
            (Self::Edition2012 | Self::Edition2026Transition, _, No2) => 80,
            (Self::Edition2026Final, _, No2) => 50,
            (_, ZoneClass::Class1, Pm10) => 50,
            (Self::Edition2012, ZoneClass::Class2, Pm10) => 150,
            (Self::Edition2026Transition, ZoneClass::Class2, Pm10) => 120,
            (Self::Edition2026Final, ZoneClass::Class2, Pm10) => 100,
            (Self::Edition2012 | Self::Edition2026Transition, ZoneClass::Class1, Pm25) => 35,
            (Self::Edition2026Final, ZoneClass::Class1, Pm25) => 25,
            (Self::Edition2012, ZoneClass::Class2, Pm25) => 75,
            (Self::Edition2026Transition, ZoneClass::Class2, Pm25) => 60,
            (Self::Edition2026Final, ZoneClass::Class2, Pm25) => 50,
        };
        Exact::from_int(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (annual, daily) per pollutant in `Pollutant::ALL` order.
    type LimitRows = [(Option<i64>, i64); 6];

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn edition_by_date() {
        assert_eq!(Gb3095::for_date(date(2026, 2, 28)), Gb3095::Edition2012);
        assert_eq!(
            Gb3095::for_date(date(2026, 3, 1)),
            Gb3095::Edition2026Transition
        );
        assert_eq!(
            Gb3095::for_date(date(2030, 12, 31)),
            Gb3095::Edition2026Transition
        );
        assert_eq!(Gb3095::for_date(date(2031, 1, 1)), Gb3095::Edition2026Final);
    }

    fn check_tables(class: ZoneClass, expected: [(Gb3095, LimitRows); 3]) {
        for (edition, rows) in expected {
            for (pollutant, (annual, daily)) in Pollutant::ALL.into_iter().zip(rows) {
                let context = format!("{edition:?} {class:?} {pollutant:?}");
                assert_eq!(
                    edition.annual_limit(pollutant, class),
                    annual.map(Exact::from_int),
                    "{context}"
                );
                assert_eq!(
                    edition.daily_limit(pollutant, class),
                    Exact::from_int(daily),
                    "{context}"
                );
            }
        }
    }

    /// GB 3095-2012 and GB 3095-2026 Table 1, Class 2, row by row: (annual, daily) for SO2, NO2, PM10, PM2.5, CO, O3.
    #[test]
    fn class_2_tables() {
        let expected: [(Gb3095, LimitRows); 3] = [
            (
                Gb3095::Edition2012,
                [
                    (Some(60), 150),
                    (Some(40), 80),
                    (Some(70), 150),
                    (Some(35), 75),
                    (None, 4),
                    (None, 160),
                ],
            ),
            (
                Gb3095::Edition2026Transition,
                [
                    (Some(60), 150),
                    (Some(40), 80),
                    (Some(60), 120),
                    (Some(30), 60),
                    (None, 4),
                    (None, 160),
                ],
            ),
            (
                Gb3095::Edition2026Final,
                [
                    (Some(20), 50),
                    (Some(30), 50),
                    (Some(50), 100),
                    (Some(25), 50),
                    (None, 4),
                    (None, 160),
                ],
            ),
        ];
        check_tables(ZoneClass::Class2, expected);
    }

    #[test]
    fn class_1_tables() {
        let expected: [(Gb3095, LimitRows); 3] = [
            (
                Gb3095::Edition2012,
                [
                    (Some(20), 50),
                    (Some(40), 80),
                    (Some(40), 50),
                    (Some(15), 35),
                    (None, 4),
                    (None, 100),
                ],
            ),
            (
                Gb3095::Edition2026Transition,
                [
                    (Some(20), 50),
                    (Some(40), 80),
                    (Some(40), 50),
                    (Some(15), 35),
                    (None, 4),
                    (None, 100),
                ],
            ),
            (
                Gb3095::Edition2026Final,
                [
                    (Some(20), 50),
                    (Some(30), 50),
                    (Some(20), 50),
                    (Some(10), 25),
                    (None, 4),
                    (None, 100),
                ],
            ),
        ];
        check_tables(ZoneClass::Class1, expected);
    }
}
