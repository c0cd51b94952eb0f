//! The demo's simulated hourly air history: every air station of the database, from 2024-01-01 00:00 CST to a
//! given instant, PM2.5, PM10, SO2, NO2, CO, O3, wind speed and direction. Deterministic for a seed.
//!
//! The model, briefly: a regional daily pollution level (AR(1) in log space) shared by all stations, so that
//! stations move together; seasons (winter high, summer low, except O3); the Tianjin heating season
//! (15 Nov – 15 Mar) with more SO2 and CO and multi-day episodes; diurnal shapes (PM at night, NO2 at the rush
//! hours, O3 in the afternoon); a fixed bias and a small AR(1) noise per station; a few outages per station
//! and year, some single missing values, and a weekly calibration hour flagged C on the gas analysers.
//! Every value lands in the store marked as coming from a `simulation` source.

use std::collections::BTreeMap;

use kernel::Db;
use kernel::rng::SplitMix64;
use kernel::time::DAY_SECONDS;

use crate::audit::Corrections;
use crate::model::{Cell, DataFlag, Period};
use crate::points;
use crate::rollup;
use crate::store::{self, NewSource, Row};

/// 2024-01-01 00:00 CST.
pub const HISTORY_START: i64 = 1_704_038_400;
const HOUR: i64 = 3600;

/// What the simulation wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimulationSummary {
    pub stations: usize,
    pub hours: i64,
    pub rows: u64,
    pub values: u64,
    pub rollups: u64,
    /// The history was there already (same seed): nothing written.
    pub already_present: bool,
    pub seconds: f64,
}

impl std::fmt::Display for SimulationSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.already_present {
            return write!(f, "simulated air history already present");
        }
        write!(
            f,
            "simulated air history: {} stations × {} hours, {} rows, {} values, {} roll-ups in {:.1} s",
            self.stations, self.hours, self.rows, self.values, self.rollups, self.seconds
        )
    }
}

/// The simulation's streams. Every draw comes from a stream keyed by what it is for — the region's day, a
/// station's constants, a station's week (outages), a station's hour — never from one sequence run through
/// the whole history, so that a history written up to a later date holds exactly the same values for the
/// earlier dates, whenever the demo is created.
fn stream(seed: u64, key: &[u64]) -> SplitMix64 {
    SplitMix64::keyed(seed ^ 0x9E37_79B9_7F4A_7C15, key)
}

/// What a stream is for (the first part of its key).
const REGION_DAY: u64 = 1;
const STATION: u64 = 2;
const STATION_WEEK: u64 = 3;
const STATION_HOUR: u64 = 4;

/// The drivers every station shares, one entry per hour.
struct Regional {
    /// Log-space pollution anomaly.
    level: Vec<f64>,
    /// +1 mid-January … −1 mid-July.
    season: Vec<f64>,
    heating: Vec<bool>,
    spring: Vec<bool>,
    hour_of_day: Vec<u32>,
    weekday: Vec<u32>,
    /// Regional wind direction drift (degrees).
    wind_turn: Vec<f64>,
}

fn regional(seed: u64, hours: usize) -> Regional {
    use chrono::Datelike;
    let days = hours / 24 + 2;
    // Daily level: AR(1) with heating-season episodes of 3–6 days ramping up to +1.3.
    let mut daily = Vec::with_capacity(days);
    let mut drift = Vec::with_capacity(days);
    let (mut level, mut turn, mut episode_left, mut episode_len) = (0.0f64, 0.0f64, 0u32, 1u32);
    for d in 0..days {
        let date = kernel::time::cst_day(HISTORY_START + d as i64 * DAY_SECONDS);
        let heating = is_heating(date);
        let mut rng = stream(seed, &[REGION_DAY, d as u64]);
        level = 0.72 * level + 0.32 * rng.normal();
        turn = 0.6 * turn + 35.0 * rng.normal();
        if episode_left == 0 && heating && rng.unit() < 0.045 {
            episode_len = 3 + (rng.next_u64() % 4) as u32;
            episode_left = episode_len;
        }
        let episode = if episode_left > 0 {
            episode_left -= 1;
            let progress = f64::from(episode_len - episode_left) / f64::from(episode_len);
            1.3 * (std::f64::consts::PI * progress).sin().max(0.3)
        } else {
            0.0
        };
        daily.push(level + episode);
        drift.push(turn);
    }
    let mut out = Regional {
        level: Vec::with_capacity(hours),
        season: Vec::with_capacity(hours),
        heating: Vec::with_capacity(hours),
        spring: Vec::with_capacity(hours),
        hour_of_day: Vec::with_capacity(hours),
        weekday: Vec::with_capacity(hours),
        wind_turn: Vec::with_capacity(hours),
    };
    for t in 0..hours {
        let ts = HISTORY_START + t as i64 * HOUR;
        let local = kernel::time::to_cst(ts);
        let date = local.date_naive();
        let d = t / 24;
        // Smooth the daily level across midnight.
        let frac = (t % 24) as f64 / 24.0;
        out.level
            .push(daily[d] * (1.0 - frac) + daily[d + 1] * frac);
        out.season
            .push((std::f64::consts::TAU * (f64::from(date.ordinal()) - 15.0) / 365.25).cos());
        out.heating.push(is_heating(date));
        out.spring.push((3..=5).contains(&date.month()));
        out.hour_of_day.push(chrono::Timelike::hour(&local));
        out.weekday.push(date.weekday().num_days_from_monday());
        out.wind_turn
            .push(drift[d] * (1.0 - frac) + drift[d + 1] * frac);
    }
    out
}

/// Tianjin's heating season: 15 November to 15 March.
fn is_heating(date: chrono::NaiveDate) -> bool {
    use chrono::Datelike;
    let (m, d) = (date.month(), date.day());
    m == 12 || m <= 2 || (m == 11 && d >= 15) || (m == 3 && d <= 15)
}

/// Outages start in about four weeks a year.
const OUTAGE_WEEKLY_CHANCE: f64 = 4.0 / 52.18;
const WEEK_HOURS: usize = 7 * 24;

/// The rows of one station over all hours.
fn station_rows(seed: u64, point_id: i64, code: &str, r: &Regional) -> Vec<Row> {
    let station = SplitMix64::key_of(code);
    let mut constants = stream(seed, &[STATION, station]);
    let bias_pm = (0.13 * constants.normal()).exp();
    let bias_gas = (0.15 * constants.normal()).exp();
    let bias_wind = (0.12 * constants.normal()).exp();
    let calibration_day = (constants.next_u64() % 7) as u32;
    let hours = r.level.len();
    // Outages of 3–48 hours, each week's drawn from the week's own stream.
    let mut missing = vec![false; hours];
    for week in 0..hours.div_ceil(WEEK_HOURS) {
        let mut rng = stream(seed, &[STATION_WEEK, station, week as u64]);
        if rng.chance(OUTAGE_WEEKLY_CHANCE) {
            let start = week * WEEK_HOURS + rng.below(WEEK_HOURS);
            let length = 3 + rng.below(46);
            for m in missing.iter_mut().skip(start).take(length) {
                *m = true;
            }
        }
    }
    let mut noise = 0.0f64;
    let mut rows = Vec::with_capacity(hours);
    for (t, &absent) in missing.iter().enumerate() {
        // Every hour draws the same number of values in the same order from its own stream.
        let mut rng = stream(seed, &[STATION_HOUR, station, t as u64]);
        noise = 0.8 * noise + 0.09 * rng.normal();
        if absent {
            continue;
        }
        let h = f64::from(r.hour_of_day[t]);
        let season = r.season[t];
        let summer = (1.0 - season) / 2.0;
        let heating = if r.heating[t] { 1.0 } else { 0.0 };
        let level = r.level[t];
        let pm_diurnal = 0.18 * (std::f64::consts::TAU * (h - 22.0) / 24.0).cos();
        let pm25 = (35f64.ln() + 0.35 * season + 0.2 * heating + level + pm_diurnal + noise).exp()
            * bias_pm;
        let coarse = if r.spring[t] { 2.1 } else { 1.55 } + 0.15 * rng.normal().abs();
        let pm10 = pm25 * coarse;
        let so2 = (6f64.ln() + 0.7 * heating + 0.5 * level + noise).exp() * bias_gas;
        let rush = (-(h - 8.0).powi(2) / 4.0).exp() + (-(h - 19.0).powi(2) / 5.0).exp();
        let no2 =
            32.0 * (0.3 * season + 0.45 * level + noise).exp() * (0.8 + 0.45 * rush) * bias_gas;
        let co = 0.55 * (0.3 * season + 0.25 * heating + 0.55 * level + noise).exp();
        let daylight = if (8.0..=21.0).contains(&h) {
            (std::f64::consts::PI * (h - 8.0) / 13.0).sin().max(0.0)
        } else {
            0.0
        };
        let o3 =
            (12.0 + 30.0 * summer + 170.0 * summer * daylight.powf(1.5) * (-0.25 * level).exp())
                * (1.0 + noise)
                - 0.15 * no2 * (1.0 - daylight);
        let wind = (2.3 + if r.spring[t] { 0.9 } else { 0.0 } - 0.8 * level
            + 0.7 * daylight
            + 0.5 * rng.normal())
            * bias_wind;
        let prevailing = 315.0 - 180.0 * summer + r.wind_turn[t] + 25.0 * rng.normal();
        let mut row = Row::new(point_id, Period::Hour, HISTORY_START + t as i64 * HOUR);
        // Weekly calibration of the gas analysers: one hour flagged C.
        let calibrating = r.weekday[t] == calibration_day && r.hour_of_day[t] == 10;
        let gas_flag = if calibrating {
            DataFlag::C
        } else {
            DataFlag::N
        };
        let values: [(&str, f64, DataFlag); 8] = [
            ("a34004", pm25.round().max(1.0), DataFlag::N),
            ("a34002", pm10.round().max(2.0), DataFlag::N),
            ("a21026", so2.round().max(1.0), gas_flag),
            ("a21004", no2.round().max(2.0), gas_flag),
            ("a21005", (co * 100.0).round().max(5.0) / 100.0, gas_flag),
            ("a05024", o3.round().max(2.0), gas_flag),
            ("a01007", (wind.max(0.1) * 10.0).round() / 10.0, DataFlag::N),
            (
                "a01008",
                prevailing.rem_euclid(360.0).round() % 360.0,
                DataFlag::N,
            ),
        ];
        for (code, value, flag) in values {
            // About one value in 400 is missing on its own (an analyser's hiccup).
            if rng.unit() < 0.0025 {
                continue;
            }
            row.set(
                code,
                Cell {
                    value: Some(value),
                    flag,
                },
            );
        }
        rows.push(row);
    }
    rows
}

/// Writes the simulated hourly history of every air station from 2024-01-01 00:00 CST up to `until` (Unix
/// seconds, exclusive; the demo passes now), then its roll-ups. Deterministic for `seed`. When a simulation
/// of this seed has been written before, nothing is done.
pub async fn simulate_air_history(
    db: &Db,
    seed: u64,
    until: i64,
) -> anyhow::Result<SimulationSummary> {
    let started = std::time::Instant::now();
    let name = format!("demo air history, seed {seed}");
    if store::source_named(db, "simulation", &name)
        .await?
        .is_some()
    {
        return Ok(SimulationSummary {
            already_present: true,
            ..SimulationSummary::default()
        });
    }
    let stations = points::of_kind(db, registry::model::PointKind::AirStation).await?;
    let hours = ((until - HISTORY_START) / HOUR).max(0);
    let source_id = store::create_source(
        db,
        &NewSource {
            kind: "simulation",
            name,
            checksum: None,
            received_by: "demo".into(),
            idempotency_key: None,
        },
    )
    .await?;
    let shared = regional(seed, usize::try_from(hours).unwrap_or(0));
    let mut summary = SimulationSummary {
        stations: stations.len(),
        hours,
        ..SimulationSummary::default()
    };
    let no_corrections = Corrections::default();
    for station in &stations {
        let rows = station_rows(seed, station.id, &station.code, &shared);
        summary.rows += rows.len() as u64;
        // Roll-ups straight from the generated rows (the store holds exactly these; nothing is audited yet).
        let mut by_day: BTreeMap<i64, Vec<Row>> = BTreeMap::new();
        for row in &rows {
            by_day
                .entry(kernel::time::cst_day_number(row.ts))
                .or_default()
                .push(row.clone());
        }
        let rollups: Vec<rollup::Rollup> = by_day
            .iter()
            .flat_map(|(day, rows)| rollup::compute_day(station.id, *day, rows, &no_corrections))
            .collect();
        let outcome = store::write_rows(db, source_id, rows).await?;
        summary.values += outcome.values_written;
        rollup::replace_from(db, station.id, HISTORY_START, &rollups).await?;
        summary.rollups += rollups.len() as u64;
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_longer_history_holds_the_same_values_for_the_earlier_hours() {
        // Two demos of one seed created at different times (here: 90 days and 200 days of history).
        let short = station_rows(7, 1, "1021A", &regional(7, 24 * 90));
        let long = station_rows(7, 1, "1021A", &regional(7, 24 * 200));
        let end = HISTORY_START + 24 * 90 * HOUR;
        let earlier: Vec<&Row> = long.iter().filter(|row| row.ts < end).collect();
        assert_eq!(earlier.len(), short.len());
        assert!(short.iter().zip(earlier).all(|(a, b)| a == b));
        assert!(long.len() > short.len() + 24 * 100);
    }

    #[test]
    fn deterministic_and_plausible() {
        let r = regional(7, 24 * 400);
        let a = station_rows(7, 1, "1021A", &r);
        let b = station_rows(7, 1, "1021A", &r);
        assert_eq!(a, b);
        let other = station_rows(7, 2, "1015A", &r);
        assert_ne!(a[100].get("a34004"), other[100].get("a34004"));
        // Some gaps, but most hours there.
        assert!(a.len() > 24 * 390 && a.len() < 24 * 400, "{}", a.len());
        let pm: Vec<f64> = a.iter().filter_map(|r| r.get("a34004")?.value).collect();
        let mean = pm.iter().sum::<f64>() / pm.len() as f64;
        assert!((20.0..90.0).contains(&mean), "PM2.5 mean {mean}");
        // Winter (January) above summer (July).
        let month_mean = |m: u32| {
            use chrono::Datelike;
            let v: Vec<f64> = a
                .iter()
                .filter(|r| kernel::time::cst_day(r.ts).month() == m)
                .filter_map(|r| r.get("a34004")?.value)
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        assert!(
            month_mean(1) > month_mean(7) * 1.3,
            "{} vs {}",
            month_mean(1),
            month_mean(7)
        );
        assert!(
            a.iter()
                .any(|r| r.get("a21026").is_some_and(|c| c.flag == DataFlag::C))
        );
        for row in &a {
            for (code, cell) in row.iter() {
                let f = crate::factors::by_code(code).unwrap();
                let v = cell.value.unwrap();
                assert!(v >= f.min && v <= f.max, "{code} {v}");
            }
        }
    }
}
