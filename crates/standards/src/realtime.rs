//! The concentrations of a station's real-time (hourly) AQI report, from the hours up to the reported one.
//!
//! HJ 633-2012, real-time report: the 1-h values of SO2, NO2, CO and O3, the O3 8-h moving mean and the 24-h
//! moving means of PM10 and PM2.5; a moving mean is valid with ≥ 6 of its 8 hours (O3) or ≥ 20 of its 24 hours
//! (PM10, PM2.5), as GB 3095-2012 Table 4 asks of an 8-h and a 24-h mean. HJ 633-2026: the six 1-h values.
//!
//! Hours are the fixed-point values of [`crate::aggregate`] (ten-thousandths, [`MISSING_HOUR`] when missing or
//! invalid); sums stay integers and the means are exact fractions, rounded only where `compute_aqi` rounds.

use crate::aggregate::{
    HOURLY_DECIMALS, HOURLY_UNIT, MIN_HOURS_PER_DAY, MIN_HOURS_PER_O3_WINDOW, MISSING_HOUR,
};
use crate::aqi::{AqiStandard, Indicator, ReportKind};
use crate::exact::Exact;

/// How many hours a real-time report looks back over, the reported hour included.
pub const TRAILING_HOURS: usize = 24;

/// The hours of one station ending with the reported hour: `hours[pollutant.index()][k]` is the hour
/// `23 − k` hours before the reported one (`k = 23` is the reported hour itself).
pub type TrailingHours = [[i32; TRAILING_HOURS]; 6];

/// The mean of the valid hours among the last `window` of `hours` (the reported hour last), when at least
/// `min_valid` of them are valid.
pub fn moving_mean(hours: &[i32; TRAILING_HOURS], window: usize, min_valid: u32) -> Option<Exact> {
    let recent = &hours[TRAILING_HOURS - window.min(TRAILING_HOURS)..];
    let (sum, count) = recent
        .iter()
        .filter(|&&h| h != MISSING_HOUR)
        .fold((0i128, 0u32), |(sum, count), &h| {
            (sum + i128::from(h), count + 1)
        });
    (count >= min_valid && count > 0)
        .then(|| Exact::new(sum, i128::from(count) * i128::from(HOURLY_UNIT)))
}

/// The O3 8-h moving mean (≥ 6 valid hours of the last 8).
pub fn o3_moving_8h(hours: &[i32; TRAILING_HOURS]) -> Option<Exact> {
    moving_mean(hours, 8, MIN_HOURS_PER_O3_WINDOW)
}

/// The 24-h moving mean of PM10 or PM2.5 (≥ 20 valid hours of the last 24).
pub fn moving_24h(hours: &[i32; TRAILING_HOURS]) -> Option<Exact> {
    moving_mean(hours, TRAILING_HOURS, MIN_HOURS_PER_DAY)
}

/// The value of the reported hour, when valid.
pub fn reported_hour(hours: &[i32; TRAILING_HOURS]) -> Option<Exact> {
    let latest = hours[TRAILING_HOURS - 1];
    (latest != MISSING_HOUR).then(|| Exact::from_scaled(latest.into(), HOURLY_DECIMALS))
}

/// Each indicator of the real-time report of `standard` with its concentration, for `aqi::compute_aqi`;
/// indicators without a valid concentration are left out.
pub fn hourly_report_concentrations(
    standard: AqiStandard,
    hours: &TrailingHours,
) -> Vec<(Indicator, Exact)> {
    Indicator::in_report(standard, ReportKind::Hourly)
        .iter()
        .filter_map(|&indicator| {
            let series = &hours[indicator.pollutant().index()];
            let value = match indicator {
                Indicator::Pm10Daily | Indicator::Pm25Daily => moving_24h(series),
                Indicator::O3EightHour => o3_moving_8h(series),
                _ => reported_hour(series),
            };
            value.map(|value| (indicator, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aqi::compute_aqi;
    use crate::pollutant::Pollutant;

    const MISSING: i32 = MISSING_HOUR;

    /// `n` valid hours of `value` (whole units) at the end of the window, the rest missing.
    fn last_hours(n: usize, value: i32) -> [i32; TRAILING_HOURS] {
        let mut hours = [MISSING; TRAILING_HOURS];
        for h in &mut hours[TRAILING_HOURS - n..] {
            *h = value * HOURLY_UNIT as i32;
        }
        hours
    }

    fn units(value: i64) -> Exact {
        Exact::from_int(value)
    }

    #[test]
    fn the_24h_moving_mean_needs_20_of_the_last_24_hours() {
        assert_eq!(moving_24h(&last_hours(20, 75)), Some(units(75)));
        assert_eq!(moving_24h(&last_hours(19, 75)), None);
        assert_eq!(moving_24h(&last_hours(24, 75)), Some(units(75)));
        assert_eq!(moving_24h(&[MISSING; TRAILING_HOURS]), None);
    }

    #[test]
    fn the_o3_8h_moving_mean_needs_6_of_the_last_8_hours() {
        assert_eq!(o3_moving_8h(&last_hours(6, 160)), Some(units(160)));
        assert_eq!(o3_moving_8h(&last_hours(5, 160)), None);
        // Hours before the last 8 do not count, however many there are.
        let mut hours = last_hours(24, 100);
        for h in &mut hours[TRAILING_HOURS - 3..] {
            *h = MISSING;
        }
        assert_eq!(o3_moving_8h(&hours), None);
        assert_eq!(moving_24h(&hours), Some(units(100)));
    }

    #[test]
    fn means_are_exact_fractions_of_the_valid_hours() {
        // Twenty hours of 10 and one of 11, the three before them missing: 211/21, not rounded.
        let mut hours = last_hours(21, 10);
        hours[23] = 11 * HOURLY_UNIT as i32;
        assert_eq!(moving_24h(&hours), Some(Exact::new(211, 21)));
        // Ten-thousandths stay exact: 0.0001 and 0.0002 over 8 hours, 6 of them valid.
        let mut o3 = [MISSING; TRAILING_HOURS];
        for (k, h) in o3[TRAILING_HOURS - 6..].iter_mut().enumerate() {
            *h = 1 + (k as i32 % 2);
        }
        assert_eq!(o3_moving_8h(&o3), Some(Exact::new(9, 60_000)));
    }

    #[test]
    fn the_reported_hour_is_the_last_one() {
        let mut hours = last_hours(24, 8);
        hours[23] = 12_345;
        assert_eq!(reported_hour(&hours), Some(Exact::new(12_345, 10_000)));
        hours[23] = MISSING;
        assert_eq!(reported_hour(&hours), None);
    }

    #[test]
    fn the_2012_report_takes_moving_means_and_the_2026_report_the_hours() {
        let mut hours: TrailingHours = [[MISSING; TRAILING_HOURS]; 6];
        hours[Pollutant::Pm25.index()] = last_hours(24, 80);
        hours[Pollutant::Pm25.index()][23] = 200 * HOURLY_UNIT as i32;
        hours[Pollutant::O3.index()] = last_hours(8, 100);
        hours[Pollutant::So2.index()] = last_hours(1, 9);

        let given = hourly_report_concentrations(AqiStandard::Hj633_2012, &hours);
        assert_eq!(
            given,
            vec![
                (Indicator::So2Hourly, units(9)),
                (Indicator::O3Hourly, units(100)),
                (Indicator::O3EightHour, units(100)),
                // (23 × 80 + 200) / 24 = 85.
                (Indicator::Pm25Daily, units(85)),
            ]
        );
        let given = hourly_report_concentrations(AqiStandard::Hj633_2026, &hours);
        assert_eq!(
            given,
            vec![
                (Indicator::So2Hourly, units(9)),
                (Indicator::O3Hourly, units(100)),
                (Indicator::Pm25Hourly, units(200)),
            ]
        );
    }

    #[test]
    fn a_moving_mean_a_hair_above_a_breakpoint_is_indexed_above_it() {
        // PM2.5 24-h breakpoint 35 (IAQI 50): 35 + 1/24 ten-thousandth is above it, and the exact mean says so
        // where a mean rounded to the hourly precision would not.
        let mut hours: TrailingHours = [[MISSING; TRAILING_HOURS]; 6];
        hours[Pollutant::Pm25.index()] = last_hours(24, 35);
        hours[Pollutant::Pm25.index()][23] += 1;
        let given = hourly_report_concentrations(AqiStandard::Hj633_2012, &hours);
        assert_eq!(
            given,
            vec![(Indicator::Pm25Daily, Exact::new(8_400_001, 240_000))]
        );
        let standard = AqiStandard::Hj633_2012;
        let aqi = compute_aqi(standard, ReportKind::Hourly, &given).unwrap();
        assert_eq!(aqi.aqi, Some(51));
        hours[Pollutant::Pm25.index()][23] -= 1;
        let given = hourly_report_concentrations(AqiStandard::Hj633_2012, &hours);
        let aqi = compute_aqi(standard, ReportKind::Hourly, &given).unwrap();
        assert_eq!(aqi.aqi, Some(50));
    }
}
