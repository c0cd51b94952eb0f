//! Hourly → daily values and percentiles: GB 3095 Table 4, HJ 663-2013 §6.1.2 and Appendix A, area values per
//! HJ 633-2026 §4.2.2.
//!
//! Hourly values are fixed-point integers in ten-thousandths of the unit (µg/m³; CO mg/m³), which holds
//! every value of the real data files exactly; sums stay integers and means are exact fractions.

use chrono::NaiveDate;
use serde::Serialize;

use crate::exact::Exact;
use crate::limits::Gb3095;
use crate::pollutant::Pollutant;
use crate::settings::AirSettings;

/// Decimal places of the fixed-point hourly values.
pub const HOURLY_DECIMALS: u32 = 4;
/// One unit in fixed-point hourly values.
pub const HOURLY_UNIT: i64 = 10_000;
/// Marks a missing or invalid hour.
pub const MISSING_HOUR: i32 = i32::MIN;

/// GB 3095 Table 4: a daily mean needs ≥ 20 hourly values.
pub const MIN_HOURS_PER_DAY: u32 = 20;
/// GB 3095 Table 4: an O3 8-h mean needs ≥ 6 of its 8 hours.
pub const MIN_HOURS_PER_O3_WINDOW: u32 = 6;
/// HJ 663 §6.1.2: the O3 daily max 8-h needs ≥ 14 valid windows of the 17 (unless it exceeds the limit).
pub const MIN_O3_WINDOWS: u32 = 14;
/// Windows ending 08:00 … 24:00 (hours 0–7 … 16–23 by hour-beginning label), all within the natural day.
pub const O3_WINDOWS_PER_DAY: usize = 17;

/// One natural day of one station: `hours[pollutant.index()][h]`, `h` the hour-beginning label 0–23.
#[derive(Clone, Debug, PartialEq)]
pub struct DayHours {
    pub date: NaiveDate,
    pub hours: [[i32; 24]; 6],
}

impl DayHours {
    pub fn empty(date: NaiveDate) -> DayHours {
        DayHours {
            date,
            hours: [[MISSING_HOUR; 24]; 6],
        }
    }
}

/// The daily values of a station or an area (HJ 633 daily report; validity by GB 3095 Table 4).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DailyValues {
    pub date: NaiveDate,
    /// Daily mean, or for O3 the daily max 8-h mean; `None` when not valid.
    pub values: [Option<Exact>; 6],
    /// O3 daily max 1-h (the seventh indicator of the HJ 633-2012 daily report).
    pub o3_max_1h: Option<Exact>,
    /// Per pollutant: valid hours for a station (O3: valid 8-h windows), valid stations for an area.
    pub support: [u16; 6],
}

impl DailyValues {
    pub fn value(&self, pollutant: Pollutant) -> Option<Exact> {
        self.values[pollutant.index()]
    }

    pub fn all_six_valid(&self) -> bool {
        self.values.iter().all(Option::is_some)
    }
}

fn finish(value: Exact, pollutant: Pollutant, settings: &AirSettings) -> Exact {
    if settings.round_daily_values {
        pollutant.round_for_reporting(value)
    } else {
        value
    }
}

/// Daily values of one station from its hours.
pub fn station_daily_values(day: &DayHours, settings: &AirSettings) -> DailyValues {
    let limits = Gb3095::for_date(day.date);
    let mut values = [None; 6];
    let mut support = [0u16; 6];
    for pollutant in Pollutant::ALL {
        let hours = &day.hours[pollutant.index()];
        if pollutant == Pollutant::O3 {
            let (max_8h, windows) = o3_daily_max_8h(hours);
            support[pollutant.index()] = windows as u16;
            values[pollutant.index()] =
                max_8h.map(|m| finish(m, pollutant, settings)).filter(|&m| {
                    windows >= MIN_O3_WINDOWS
                        || m > limits.daily_limit(pollutant, settings.zone_class)
                });
            continue;
        }
        let (sum, count) = sum_valid(hours);
        support[pollutant.index()] = count as u16;
        if count == 0 {
            continue;
        }
        let (num, den) = (i128::from(sum), i128::from(count) * i128::from(HOURLY_UNIT));
        let mean = if settings.round_daily_values {
            Exact::round_fraction_half_even(num, den, pollutant.reporting_decimals())
        } else {
            Exact::new(num, den)
        };
        let exceeds = || mean > limits.daily_limit(pollutant, settings.zone_class);
        if count >= MIN_HOURS_PER_DAY || (settings.daily_mean_exceedance_exception && exceeds()) {
            values[pollutant.index()] = Some(mean);
        }
    }
    let o3_hours = &day.hours[Pollutant::O3.index()];
    let o3_valid = o3_hours.iter().filter(|&&h| h != MISSING_HOUR).count() as u32;
    let o3_max_1h = (o3_valid >= settings.o3_max_1h_min_hours && o3_valid > 0)
        .then(|| {
            o3_hours
                .iter()
                .copied()
                .filter(|&h| h != MISSING_HOUR)
                .max()
        })
        .flatten()
        .map(|h| {
            finish(
                Exact::from_scaled(h.into(), HOURLY_DECIMALS),
                Pollutant::O3,
                settings,
            )
        });
    DailyValues {
        date: day.date,
        values,
        o3_max_1h,
        support,
    }
}

fn sum_valid(hours: &[i32]) -> (i64, u32) {
    // Branch-free so that the loop vectorises.
    hours.iter().fold((0i64, 0u32), |(sum, count), &h| {
        let valid = h != MISSING_HOUR;
        (
            sum + if valid { i64::from(h) } else { 0 },
            count + u32::from(valid),
        )
    })
}

/// The O3 daily max 8-h mean over the 17 same-day windows with ≥ 6 valid hours, and how many windows were valid.
pub fn o3_daily_max_8h(hours: &[i32; 24]) -> (Option<Exact>, u32) {
    // Compare window means sum/count by cross-multiplication in i64; build one fraction for the maximum.
    let mut best: Option<(i64, u32)> = None;
    let mut valid_windows = 0;
    for start in 0..O3_WINDOWS_PER_DAY {
        let (sum, count) = sum_valid(&hours[start..start + 8]);
        if count >= MIN_HOURS_PER_O3_WINDOW {
            valid_windows += 1;
            let larger = best.is_none_or(|(best_sum, best_count)| {
                sum * i64::from(best_count) > best_sum * i64::from(count)
            });
            if larger {
                best = Some((sum, count));
            }
        }
    }
    let mean = best
        .map(|(sum, count)| Exact::new(sum.into(), i128::from(count) * i128::from(HOURLY_UNIT)));
    (mean, valid_windows)
}

/// An area's daily values: per pollutant the mean of the valid stations' values, then the AQI is computed
/// from these means (HJ 633-2026 §4.2.2, which refers to HJ 663), not from the stations' AQIs.
pub fn area_daily_values(
    date: NaiveDate,
    stations: &[&DailyValues],
    settings: &AirSettings,
) -> DailyValues {
    let station_count = stations.len();
    let enough = |valid: usize| {
        valid > 0
            && settings
                .area_min_station_share_percent
                .is_none_or(|share| valid * 100 >= share as usize * station_count)
    };
    let mean_of = |pick: &dyn Fn(&DailyValues) -> Option<Exact>, pollutant: Pollutant| {
        let valid: Vec<Exact> = stations.iter().filter_map(|s| pick(s)).collect();
        let mean = enough(valid.len()).then(|| {
            finish(
                valid.iter().copied().sum::<Exact>() / Exact::from_int(valid.len() as i64),
                pollutant,
                settings,
            )
        });
        (mean, valid.len() as u16)
    };
    let mut values = [None; 6];
    let mut support = [0u16; 6];
    for pollutant in Pollutant::ALL {
        let (mean, count) = mean_of(&|s: &DailyValues| s.value(pollutant), pollutant);
        values[pollutant.index()] = mean;
        support[pollutant.index()] = count;
    }
    let (o3_max_1h, _) = mean_of(&|s: &DailyValues| s.o3_max_1h, Pollutant::O3);
    DailyValues {
        date,
        values,
        o3_max_1h,
        support,
    }
}

/// Sorts exact values ascending. Values with power-of-ten denominators up to 10⁴ (every rounded or fixed-point
/// value) are sorted as scaled integers, which is much faster than comparing fractions.
pub fn sort_exact(values: &mut [Exact]) {
    const SCALE: i128 = 10_000;
    let fits = values
        .iter()
        .all(|v| SCALE % v.denominator() == 0 && i64::try_from(v.numerator() * SCALE).is_ok());
    if fits {
        let mut keys: Vec<i64> = values
            .iter()
            .map(|v| (v.numerator() * (SCALE / v.denominator())) as i64)
            .collect();
        keys.sort_unstable();
        for (value, key) in values.iter_mut().zip(keys) {
            *value = Exact::new(key.into(), SCALE);
        }
    } else {
        values.sort_unstable();
    }
}

/// Percentile by HJ 663 Appendix A: k = 1 + (n − 1)·p/100, linear interpolation between the order statistics
/// (numpy "linear", Excel PERCENTILE.INC). `sorted` must be ascending; `None` when empty.
pub fn percentile(sorted: &[Exact], percent: u32) -> Option<Exact> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    // k − 1 = (n − 1)·p/100, split into its integer part s − 1 and fraction.
    let scaled = (n as i128 - 1) * i128::from(percent);
    let lower = (scaled / 100) as usize;
    let fraction = Exact::new(scaled % 100, 100);
    if lower + 1 >= n {
        return Some(sorted[n - 1]);
    }
    Some(sorted[lower] + (sorted[lower + 1] - sorted[lower]) * fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Exact {
        Exact::parse_decimal(text).unwrap()
    }

    fn day_with(pollutant: Pollutant, hours: &[Option<i64>]) -> DayHours {
        let mut day = DayHours::empty(NaiveDate::from_ymd_opt(2016, 1, 1).unwrap());
        for (h, v) in hours.iter().enumerate() {
            day.hours[pollutant.index()][h] = v.map_or(MISSING_HOUR, |v| (v * HOURLY_UNIT) as i32);
        }
        day
    }

    #[test]
    fn percentile_examples_of_section_2_5() {
        let mut values: Vec<Exact> = [3, 4, 8, 2, 5, 4]
            .into_iter()
            .map(Exact::from_int)
            .collect();
        values.sort();
        assert_eq!(percentile(&values, 90), Some(d("6.5")));
        let days: Vec<Exact> = (1..=365).map(Exact::from_int).collect();
        assert_eq!(percentile(&days, 95), Some(d("346.8")));
        assert_eq!(percentile(&days, 100), Some(d("365")));
        assert_eq!(percentile(&days, 0), Some(d("1")));
        assert_eq!(percentile(&[d("7")], 98), Some(d("7")));
        assert_eq!(percentile(&[], 98), None);
    }

    #[test]
    fn sorting_exact_values_matches_fraction_order() {
        let mut fast: Vec<Exact> = ["3.5", "0.0001", "12", "-1.25", "7", "3.49"]
            .iter()
            .map(|t| d(t))
            .collect();
        let mut slow = fast.clone();
        sort_exact(&mut fast);
        slow.sort();
        assert_eq!(fast, slow);
        let mut thirds = vec![Exact::new(2, 3), Exact::new(1, 3), d("0.5")];
        sort_exact(&mut thirds);
        assert_eq!(thirds, vec![Exact::new(1, 3), d("0.5"), Exact::new(2, 3)]);
    }

    #[test]
    fn daily_mean_needs_20_hours() {
        let settings = AirSettings {
            round_daily_values: false,
            ..AirSettings::default()
        };
        let hours: Vec<Option<i64>> = (0..24).map(|h| (h < 20).then_some(h)).collect();
        let day = station_daily_values(&day_with(Pollutant::Pm25, &hours), &settings);
        assert_eq!(day.value(Pollutant::Pm25), Some(d("9.5")));
        assert_eq!(day.support[Pollutant::Pm25.index()], 20);
        let hours: Vec<Option<i64>> = (0..24).map(|h| (h < 19).then_some(h)).collect();
        assert_eq!(
            station_daily_values(&day_with(Pollutant::Pm25, &hours), &settings)
                .value(Pollutant::Pm25),
            None
        );
    }

    #[test]
    fn daily_mean_exceedance_exception_is_a_setting() {
        let hours: Vec<Option<i64>> = (0..24).map(|h| (h < 10).then_some(200)).collect();
        let day = day_with(Pollutant::Pm25, &hours);
        assert_eq!(
            station_daily_values(&day, &AirSettings::default()).value(Pollutant::Pm25),
            None
        );
        let settings = AirSettings {
            daily_mean_exceedance_exception: true,
            ..AirSettings::default()
        };
        assert_eq!(
            station_daily_values(&day, &settings).value(Pollutant::Pm25),
            Some(d("200"))
        );
    }

    #[test]
    fn daily_mean_is_rounded_half_to_even_when_set() {
        // 22 hours of 74 and 2 of 80 → 74.5 → 74 (even).
        let hours: Vec<Option<i64>> = (0..24)
            .map(|h| Some(if h < 22 { 74 } else { 80 }))
            .collect();
        let day = day_with(Pollutant::Pm25, &hours);
        assert_eq!(
            station_daily_values(&day, &AirSettings::default()).value(Pollutant::Pm25),
            Some(d("74"))
        );
        let exact = AirSettings {
            round_daily_values: false,
            ..AirSettings::default()
        };
        assert_eq!(
            station_daily_values(&day, &exact).value(Pollutant::Pm25),
            Some(d("74.5"))
        );
    }

    #[test]
    fn o3_windows_need_6_of_8_and_day_needs_14_of_17() {
        // All 24 hours valid: 17 windows; max window is hours 16–23.
        let hours: [i32; 24] = std::array::from_fn(|h| (h as i32) * HOURLY_UNIT as i32);
        let (max, windows) = o3_daily_max_8h(&hours);
        assert_eq!((max, windows), (Some(d("19.5")), 17));
        // Hours 0–4 missing: windows starting 0, 1, 2 have < 6 valid hours → 14 valid windows.
        let mut gaps = hours;
        gaps[..5].fill(MISSING_HOUR);
        assert_eq!(o3_daily_max_8h(&gaps).1, 14);
        gaps[5] = MISSING_HOUR;
        assert_eq!(o3_daily_max_8h(&gaps).1, 13);
        // A window of exactly 6 valid hours counts and averages over 6.
        let mut six = [MISSING_HOUR; 24];
        six[..6].fill(60 * HOURLY_UNIT as i32);
        assert_eq!(o3_daily_max_8h(&six), (Some(d("60")), 1));
    }

    #[test]
    fn o3_day_with_few_windows_is_valid_only_when_over_the_limit() {
        let settings = AirSettings::default();
        let mut low: Vec<Option<i64>> = vec![None; 24];
        low[..10].fill(Some(150));
        assert_eq!(
            station_daily_values(&day_with(Pollutant::O3, &low), &settings).value(Pollutant::O3),
            None
        );
        let mut high: Vec<Option<i64>> = vec![None; 24];
        high[..10].fill(Some(161));
        assert_eq!(
            station_daily_values(&day_with(Pollutant::O3, &high), &settings).value(Pollutant::O3),
            Some(d("161"))
        );
    }

    #[test]
    fn o3_max_1h_needs_enough_hours() {
        let settings = AirSettings::default();
        let hours: Vec<Option<i64>> = (0..24).map(|h| Some(100 + h)).collect();
        assert_eq!(
            station_daily_values(&day_with(Pollutant::O3, &hours), &settings).o3_max_1h,
            Some(d("123"))
        );
        let few: Vec<Option<i64>> = (0..24).map(|h| (h < 5).then_some(300)).collect();
        assert_eq!(
            station_daily_values(&day_with(Pollutant::O3, &few), &settings).o3_max_1h,
            None
        );
    }

    #[test]
    fn area_averages_valid_stations_only() {
        let date = NaiveDate::from_ymd_opt(2016, 1, 1).unwrap();
        let station = |pm25: Option<i64>| DailyValues {
            date,
            values: [None, None, None, pm25.map(Exact::from_int), None, None],
            o3_max_1h: None,
            support: [0; 6],
        };
        let (a, b, c) = (station(Some(70)), station(Some(81)), station(None));
        let settings = AirSettings::default();
        let area = area_daily_values(date, &[&a, &b, &c], &settings);
        // (70 + 81)/2 = 75.5 → 76 (half to even).
        assert_eq!(area.value(Pollutant::Pm25), Some(d("76")));
        assert_eq!(area.support[Pollutant::Pm25.index()], 2);
        let strict = AirSettings {
            area_min_station_share_percent: Some(75),
            ..AirSettings::default()
        };
        assert_eq!(
            area_daily_values(date, &[&a, &b, &c], &strict).value(Pollutant::Pm25),
            None
        );
    }
}
