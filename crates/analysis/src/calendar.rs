//! How many good days (优良天数), and when were the bad ones: the calendar of daily AQI for a year (openair
//! `calendarPlot`), each day's AQI, level and colour by the HJ 633 edition in force that day, computed by the
//! `standards` engine from the station's audited hourly values (GB 3095 daily validity, HJ 663 O3 8-h windows) —
//! the days come from `air::service::station_days` and are counted by `air::service::day_counts`, the chain and
//! the counts every air figure of the platform uses (a day above AQI 500 is 严重污染 and counts); this module
//! lays them out as a calendar.

use std::collections::BTreeMap;

use air::service::DayCounts;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use standards::aggregate::DailyValues;
use standards::aqi::AqiResult;

/// One day of the calendar.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = AqiCalendarDay)]
pub struct CalendarDay {
    pub date: NaiveDate,
    /// The AQI; `null` without one and above 500, where the HJ 633 tables end (`aqi_text` says `>500`).
    pub aqi: Option<u32>,
    /// The AQI as shown: the number, `>500`, or `—`.
    pub aqi_text: String,
    /// 1–6, with its category (优 … 严重污染) and colour; 6 for a day above AQI 500.
    pub level: Option<u8>,
    pub category: Option<&'static str>,
    pub colour_hex: Option<String>,
    /// 首要污染物 (indicator codes such as `PM2.5_24h`).
    pub primary: Vec<&'static str>,
    /// The HJ 633 edition used.
    pub standard: &'static str,
    /// All six daily values were valid.
    pub complete: bool,
    /// The AQI may be published under its edition's rule for missing pollutants.
    pub publishable: bool,
    /// The day counts in the year's figures (`counts`): it has a level and all six daily values.
    pub counted: bool,
    /// The chosen factor's daily mean (valid hours only) and its hours.
    pub value: Option<f64>,
    pub value_hours: usize,
}

/// The calendar of one year.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Calendar {
    pub year: i32,
    pub days: Vec<CalendarDay>,
    /// Days with a level (an AQI, or above 500), counted or not.
    pub days_with_aqi: usize,
    /// The year's days as every page counts them (`air::service::day_counts`).
    pub counts: DayCounts,
}

/// The calendar of `year` from the station's days (GB 3095 daily values with their HJ 633 daily AQI, as
/// `air::service::station_days` gives them) and the chosen factor's hourly values `(ts, value)`.
pub fn calendar(
    year: i32,
    station_days: &[(DailyValues, AqiResult)],
    factor: &[(i64, f64)],
) -> Calendar {
    let days: BTreeMap<NaiveDate, &(DailyValues, AqiResult)> = station_days
        .iter()
        .filter(|d| d.0.date.year() == year)
        .map(|d| (d.0.date, d))
        .collect();
    let mut factor_days: BTreeMap<NaiveDate, (usize, f64)> = BTreeMap::new();
    for &(ts, v) in factor.iter().filter(|(_, v)| v.is_finite()) {
        let date = kernel::time::cst_day(ts);
        if date.year() == year {
            let d = factor_days.entry(date).or_default();
            d.0 += 1;
            d.1 += v;
        }
    }
    let (Some(first), Some(last)) = (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year, 12, 31),
    ) else {
        return Calendar {
            year,
            days: Vec::new(),
            days_with_aqi: 0,
            counts: DayCounts::default(),
        };
    };
    let values: Vec<DailyValues> = days.values().map(|d| d.0.clone()).collect();
    let mut out = Calendar {
        year,
        days: Vec::new(),
        days_with_aqi: 0,
        counts: air::service::day_counts(&values, first, last),
    };
    for date in first.iter_days().take_while(|d| *d <= last) {
        let (n, sum) = factor_days.get(&date).copied().unwrap_or_default();
        let mut day = CalendarDay {
            date,
            aqi: None,
            aqi_text: "—".into(),
            level: None,
            category: None,
            colour_hex: None,
            primary: Vec::new(),
            standard: standards::aqi::AqiStandard::for_date(date).code(),
            complete: false,
            publishable: false,
            counted: false,
            value: (n > 0).then(|| sum / n as f64),
            value_hours: n,
        };
        if let Some((values, result)) = days.get(&date) {
            day.complete = values.all_six_valid();
            day.publishable = result.publishable;
            day.standard = result.standard.code();
            day.aqi = result.aqi;
            day.aqi_text = air::service::aqi_text(result);
            day.counted = air::service::counts_as_valid_day(values, result);
            if let Some(level) = result.level {
                day.level = Some(level.number());
                day.category = Some(level.category());
                day.colour_hex = Some(level.hex());
                day.primary = result.primary_pollutants.iter().map(|i| i.code()).collect();
                out.days_with_aqi += 1;
            }
        }
        out.days.push(day);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use standards::aggregate::{DayHours, HOURLY_UNIT, station_daily_values};
    use standards::assessment::daily_aqi;
    use standards::pollutant::Pollutant;
    use standards::settings::AirSettings;

    /// What `air::service::station_days` does, on constructed hours.
    fn station_days(pollutants: &[(Pollutant, i64, f64)]) -> Vec<(DailyValues, AqiResult)> {
        let mut days: BTreeMap<NaiveDate, DayHours> = BTreeMap::new();
        for &(p, ts, v) in pollutants {
            let local = kernel::time::to_cst(ts);
            let date = local.date_naive();
            days.entry(date)
                .or_insert_with(|| DayHours::empty(date))
                .hours[p.index()][local.hour() as usize] = (v * HOURLY_UNIT as f64).round() as i32;
        }
        days.values()
            .map(|hours| {
                let values = station_daily_values(hours, &AirSettings::default());
                let aqi = daily_aqi(&values);
                (values, aqi)
            })
            .collect()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// 24 hours of all six pollutants on a day; PM2.5 at `pm25`, the others low.
    fn day_hours(date: NaiveDate, pm25: f64) -> Vec<(Pollutant, i64, f64)> {
        let start = kernel::time::cst_day_start(date);
        let mut out = Vec::new();
        for h in 0..24 {
            let ts = start + h * 3600;
            for (p, v) in [
                (Pollutant::So2, 5.0),
                (Pollutant::No2, 20.0),
                (Pollutant::Pm10, 30.0),
                (Pollutant::Pm25, pm25),
                (Pollutant::Co, 0.5),
                (Pollutant::O3, 40.0),
            ] {
                out.push((p, ts, v));
            }
        }
        out
    }

    #[test]
    fn daily_aqi_and_levels_follow_hj_633() {
        // PM2.5 daily mean 115 µg/m³: IAQI = (150−100)/(115−75)·(115−75)+100 = 150 (breakpoints 75 → 100, 115 → 150).
        let mut hours = day_hours(day(2024, 3, 5), 115.0);
        hours.extend(day_hours(day(2024, 3, 6), 20.0));
        // Only 10 hours on 2024-03-07: no valid daily value, no AQI.
        hours.extend(day_hours(day(2024, 3, 7), 300.0).into_iter().take(60));
        let factor: Vec<(i64, f64)> = hours
            .iter()
            .filter(|(p, _, _)| *p == Pollutant::Pm25)
            .map(|(_, ts, v)| (*ts, *v))
            .collect();
        let cal = calendar(2024, &station_days(&hours), &factor);
        assert_eq!(cal.days.len(), 366);
        let d5 = &cal.days[64];
        assert_eq!(d5.date, day(2024, 3, 5));
        assert_eq!(
            (d5.aqi, d5.level, d5.category),
            (Some(150), Some(3), Some("轻度污染"))
        );
        assert_eq!(d5.primary, vec!["PM2.5_24h"]);
        assert_eq!(d5.standard, "HJ 633-2012");
        assert!(d5.complete);
        assert_eq!((d5.value, d5.value_hours), (Some(115.0), 24));
        let d6 = &cal.days[65];
        assert_eq!(d6.level, Some(1));
        assert_eq!(d6.colour_hex.as_deref(), Some("#00E400"));
        let d7 = &cal.days[66];
        assert!(!d7.complete);
        assert_eq!(d7.value_hours, 10);
        assert_eq!(d7.aqi, None, "no pollutant has a valid daily value");
        assert_eq!(
            (
                cal.counts.good_days,
                cal.days_with_aqi,
                cal.counts.days_per_level[2]
            ),
            (1, 2, 1)
        );
        assert_eq!(cal.counts.valid_days, 2);
        assert_eq!(cal.counts.days_not_counted, 364);
        assert_eq!(cal.days[0].aqi, None);
    }

    #[test]
    fn the_edition_in_force_is_chosen_by_date() {
        let mut hours = day_hours(day(2026, 2, 28), 40.0);
        hours.extend(day_hours(day(2026, 3, 1), 40.0));
        let cal = calendar(2026, &station_days(&hours), &[]);
        assert_eq!(cal.days[58].standard, "HJ 633-2012");
        assert_eq!(cal.days[59].standard, "HJ 633-2026");
        assert!(cal.days[59].aqi.is_some());
        // Hours of another year are ignored.
        assert_eq!(calendar(2025, &station_days(&hours), &[]).days_with_aqi, 0);
    }

    #[test]
    fn a_day_above_500_is_severe_and_counted() {
        // PM2.5 24-h 600 µg/m³ lies above the top of the table (500): no number, level 六级, counted.
        let mut hours = day_hours(day(2025, 1, 10), 600.0);
        hours.extend(day_hours(day(2025, 1, 11), 300.0));
        let cal = calendar(2025, &station_days(&hours), &[]);
        let d = &cal.days[9];
        assert_eq!(
            (d.aqi, d.aqi_text.as_str(), d.level, d.category),
            (None, ">500", Some(6), Some("严重污染"))
        );
        assert!(d.counted);
        assert_eq!(
            cal.counts.days_per_level[5], 2,
            "300 µg/m³ is AQI 350, also 六级"
        );
        assert_eq!(
            (
                cal.counts.heavy_days,
                cal.counts.exceedance_days,
                cal.counts.valid_days
            ),
            (2, 2, 2)
        );
    }
}
