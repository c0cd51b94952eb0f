//! Annual assessment of 1,000 station-years of hourly data (8.76 M hours × 6 pollutants) held in memory:
//! hourly → daily validity and means, O3 8-h windows, daily AQI, annual means, percentiles, attainment and
//! composite index, one station-year at a time on one core.
//!
//! Run: `cargo bench -p standards --bench annual`

use std::sync::OnceLock;

use chrono::NaiveDate;
use standards::aggregate::{DayHours, HOURLY_UNIT, MISSING_HOUR, station_daily_values};
use standards::assessment::{PeriodAssessment, assess_period};
use standards::pollutant::Pollutant;
use standards::settings::AirSettings;

const STATION_YEARS: usize = 1_000;
/// Without `--bench` (`cargo test --all-targets` runs each benchmark once, unoptimised) a small set suffices.
const STATION_YEARS_WHEN_TESTED: usize = 5;
const DAYS: usize = 365;

fn main() {
    divan::main();
}

/// Deterministic synthetic hourly data with realistic magnitudes, diurnal O3 and ~3 % missing hours.
fn station_years() -> &'static Vec<Vec<DayHours>> {
    static DATA: OnceLock<Vec<Vec<DayHours>>> = OnceLock::new();
    DATA.get_or_init(|| {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let start = NaiveDate::from_ymd_opt(2015, 1, 1).expect("valid date");
        let typical = [12.0, 40.0, 90.0, 60.0, 1.0, 80.0];
        let benchmarking = std::env::args().any(|arg| arg == "--bench");
        let count = if benchmarking {
            STATION_YEARS
        } else {
            STATION_YEARS_WHEN_TESTED
        };
        (0..count)
            .map(|_| {
                start
                    .iter_days()
                    .take(DAYS)
                    .map(|date| {
                        let mut day = DayHours::empty(date);
                        let episode = 0.3 + (next() % 1000) as f64 / 400.0;
                        for pollutant in Pollutant::ALL {
                            for hour in 0..24 {
                                if next() % 100 < 3 {
                                    day.hours[pollutant.index()][hour] = MISSING_HOUR;
                                    continue;
                                }
                                let diurnal = if pollutant == Pollutant::O3 {
                                    0.4 + 1.2 * (-((hour as f64 - 14.0) / 4.0).powi(2)).exp()
                                } else {
                                    1.0
                                };
                                let noise = 0.7 + (next() % 600) as f64 / 1000.0;
                                let value = typical[pollutant.index()] * episode * diurnal * noise;
                                // Integers (µg/m³) and CO with 1 decimal, as real hourly data are published.
                                let fixed = if pollutant == Pollutant::Co {
                                    (value * 10.0).round() as i64 * (HOURLY_UNIT / 10)
                                } else {
                                    value.round() as i64 * HOURLY_UNIT
                                };
                                day.hours[pollutant.index()][hour] = fixed as i32;
                            }
                        }
                        day
                    })
                    .collect()
            })
            .collect()
    })
}

fn assess_station_year(days: &[DayHours], settings: &AirSettings) -> PeriodAssessment {
    let daily: Vec<_> = days
        .iter()
        .map(|day| station_daily_values(day, settings))
        .collect();
    let (from, to) = (days[0].date, days[days.len() - 1].date);
    assess_period(&daily, from, to, settings)
}

#[divan::bench(sample_count = 5)]
fn annual_assessment_1000_station_years(bencher: divan::Bencher) {
    let data = station_years();
    let settings = AirSettings::default();
    bencher.bench(|| {
        let mut good_days = 0u32;
        for station in data {
            good_days += divan::black_box(assess_station_year(station, &settings)).good_days;
        }
        good_days
    });
}
