//! Station and area days from the stored readings: what every air figure of the platform (dashboard, targets,
//! rankings, bulletins, calendars) is computed from.
//!
//! The chain, the same for every caller:
//! 1. the audited hourly values of a station (raw readings with the latest corrections applied, invalid ones and
//!    abnormal flags left out — `readings::audit`), hour-beginning labels 0–23 of the CST day;
//! 2. GB 3095 Table 4 daily values (≥ 20 hours; O3 daily max 8-h) — `standards::aggregate::station_daily_values`;
//! 3. an area's day (HJ 663: per pollutant the mean of the stations' valid daily values) —
//!    `standards::aggregate::area_daily_values`;
//! 4. the daily AQI by the HJ 633 edition in force that day — `standards::assessment::daily_aqi`;
//! 5. the period's counts (valid days, days per category, good, heavy-pollution and exceedance days) —
//!    `standards::assessment::assess_period`, through [`day_counts`] for the pages that list single days, so that
//!    a calendar, a station page, the dashboard, the targets and the bulletins count the same days. A day above
//!    AQI 500 has no number (the HJ 633 tables end at 500) but is 六级 严重污染 and counts; [`aqi_text`] shows it
//!    as `>500`.
//!
//! Steps 2–4 of a station day are stored (`air_station_days`, [`station_days`]) and recomputed only when the
//! readings of that day changed: the readings roll-up marks the days it touched (`readings::rollup`).
//!
//! Hours come only from `period = 'hour'` rows (what stations and files report); hours derived from minute data
//! (`reading_rollups`) are not used here: air stations report hours.

use std::collections::{BTreeMap, HashMap};

use chrono::{Duration, NaiveDate, Timelike};
use kernel::Db;
use kernel::time::{cst_day, cst_day_start, to_cst};
use readings::audit;
use readings::factors;
use readings::model::Period;
use readings::store;
use registry::model::{PointKind, PointLevel};
use serde::Serialize;
use standards::aggregate::{
    DailyValues, DayHours, HOURLY_UNIT, MISSING_HOUR, area_daily_values, station_daily_values,
};
use standards::aqi::AqiResult;
use standards::assessment::{assess_period, daily_aqi, is_valid_day};
use standards::pollutant::Pollutant;
use standards::realtime::{TRAILING_HOURS, TrailingHours, hourly_report_concentrations};
use standards::settings::AirSettings;

use crate::repo;

/// An air station as the air figures need it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Station {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// `national`, `municipal`, `district` or `micro`.
    pub level: String,
    pub street_id: Option<i64>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub simulated: bool,
}

/// Active air stations of these levels (and of one street if given) from the registry, by control tier
/// (national first), then by code.
async fn air_stations(
    db: &Db,
    levels: &[PointLevel],
    street_id: Option<i64>,
) -> anyhow::Result<Vec<Station>> {
    let mut points: Vec<_> = registry::service::active_points(db, PointKind::AirStation)
        .await?
        .into_iter()
        .filter(|p| levels.contains(&p.level) && street_id.is_none_or(|s| p.street_id == Some(s)))
        .collect();
    points.sort_by(|a, b| (a.level.tier(), &a.code).cmp(&(b.level.tier(), &b.code)));
    Ok(points
        .into_iter()
        .map(|p| Station {
            id: p.id,
            code: p.code,
            name: p.name,
            level: p.level.as_str().to_string(),
            street_id: p.street_id,
            lon: p.lon,
            lat: p.lat,
            simulated: p.simulated,
        })
        .collect())
}

/// The HJ 212 code under which each of the six pollutants is stored.
pub const fn factor_code(pollutant: Pollutant) -> &'static str {
    match pollutant {
        Pollutant::So2 => "a21026",
        Pollutant::No2 => "a21004",
        Pollutant::Pm10 => "a34002",
        Pollutant::Pm25 => "a34004",
        Pollutant::Co => "a21005",
        Pollutant::O3 => "a05024",
    }
}

/// One station's CST day.
#[derive(Debug, Clone, Serialize)]
pub struct StationDay {
    pub point_id: i64,
    pub values: DailyValues,
    pub aqi: AqiResult,
    /// The day counts in the period figures ([`day_counts`]): it has a level and is valid under the default
    /// `day_validity` (all six pollutants).
    pub valid: bool,
}

/// One area's CST day (HJ 663): the stations' valid daily values averaged per pollutant, then the AQI.
#[derive(Debug, Clone, Serialize)]
pub struct AreaDay {
    pub values: DailyValues,
    pub aqi: AqiResult,
    /// Stations with at least one valid daily value that day.
    pub stations_reporting: usize,
}

/// The district's assessment stations: national and municipal air stations (not district or micro-stations),
/// the ones whose mean is the district's official figure.
pub async fn assessment_stations(db: &Db) -> anyhow::Result<Vec<Station>> {
    air_stations(db, &[PointLevel::National, PointLevel::Municipal], None).await
}

/// The micro-stations (微站), all or one street's; a street's air ranking is computed from them.
pub async fn micro_stations(db: &Db, street_id: Option<i64>) -> anyhow::Result<Vec<Station>> {
    air_stations(db, &[PointLevel::Micro], street_id).await
}

/// Every air station of every level.
pub async fn all_stations(db: &Db) -> anyhow::Result<Vec<Station>> {
    let levels = [
        PointLevel::National,
        PointLevel::Municipal,
        PointLevel::District,
        PointLevel::Micro,
    ];
    air_stations(db, &levels, None).await
}

/// The audited hours of one station over the CST days `from..=to`, by day (only days with at least one hour).
pub async fn station_hours(
    db: &Db,
    point_id: i64,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<BTreeMap<NaiveDate, DayHours>> {
    let start = cst_day_start(from);
    let end = cst_day_start(to + Duration::days(1));
    let rows = store::rows(db, point_id, &[Period::Hour], start, end).await?;
    let corrections = audit::latest_corrections(db, point_id, start, end).await?;
    let slots: Vec<(Pollutant, Option<usize>)> = Pollutant::ALL
        .iter()
        .map(|&p| (p, factors::index_of(factor_code(p))))
        .collect();
    let mut days: BTreeMap<NaiveDate, DayHours> = BTreeMap::new();
    for row in rows {
        let date = cst_day(row.ts);
        let hour = to_cst(row.ts).hour() as usize;
        let day = days.entry(date).or_insert_with(|| DayHours::empty(date));
        for &(pollutant, slot) in &slots {
            let Some(cell) = slot.and_then(|i| row.cells[i]) else {
                continue;
            };
            let audited = corrections.apply(Period::Hour, row.ts, factor_code(pollutant), cell);
            if let (true, Some(value)) = (audited.valid, audited.value) {
                day.hours[pollutant.index()][hour] = to_fixed(value);
            }
        }
    }
    Ok(days)
}

/// A stored value in the fixed-point unit of `standards::aggregate` (ten-thousandths), rounded half to even at
/// the fifth decimal — values carry at most 3 decimals in practice, so this is exact for them.
fn to_fixed(value: f64) -> i32 {
    let scaled = (value * HOURLY_UNIT as f64).round_ties_even();
    if scaled.is_finite() && scaled >= 0.0 && scaled < i32::MAX as f64 {
        scaled as i32
    } else {
        MISSING_HOUR
    }
}

/// The version of the station-day computation stored with each day: bump it when the chain above changes
/// (standards rules, settings, which hours count), and every stored day is recomputed on its next read.
pub const METHOD: i64 = 1;

/// Per station and CST day `from..=to`: GB 3095 daily values and the daily AQI. Days without any hour are left
/// out.
///
/// Read from the stored days (`air_station_days`); a day not stored yet, stored by an older [`METHOD`], or whose
/// readings changed since (its version in the readings' stale marks, `readings::service::day_versions`, differs
/// from the one it was computed at) is computed from the audited hours and stored. The marks are read before the
/// hours, so a roll-up that commits while a day is being computed leaves it marked stale for the next read.
pub async fn station_days(
    db: &Db,
    point_ids: &[i64],
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<Vec<StationDay>> {
    if from > to || point_ids.is_empty() {
        return Ok(Vec::new());
    }
    let first = day_number(from);
    let versions = readings::service::day_versions(db, point_ids, first, day_number(to)).await?;
    let mut stored: HashMap<(i64, NaiveDate), repo::StoredDay> = HashMap::new();
    for day in repo::station_days(db, point_ids, from, to).await? {
        stored.insert((day.point_id, day.values.date), day);
    }
    let version_of = |point_id: i64, date: NaiveDate| {
        versions
            .get(&(point_id, day_number(date)))
            .copied()
            .unwrap_or(0)
    };
    let settings = AirSettings::default();
    let mut out = Vec::new();
    let mut computed: Vec<(StationDay, bool, i64)> = Vec::new();
    for &point_id in point_ids {
        let dates = from.iter_days().take_while(|d| *d <= to);
        // Runs of consecutive days to compute: one read of the hours per run.
        let mut runs: Vec<(NaiveDate, NaiveDate)> = Vec::new();
        let mut current: BTreeMap<NaiveDate, Option<StationDay>> = BTreeMap::new();
        for date in dates {
            match stored.get(&(point_id, date)) {
                Some(day)
                    if day.method == METHOD && day.source_version == version_of(point_id, date) =>
                {
                    current.insert(
                        date,
                        day.has_hours
                            .then(|| station_day(point_id, day.values.clone(), &settings)),
                    );
                }
                _ => match runs.last_mut() {
                    Some((_, end)) if *end + Duration::days(1) == date => *end = date,
                    _ => runs.push((date, date)),
                },
            }
        }
        for (run_from, run_to) in runs {
            let hours = station_hours(db, point_id, run_from, run_to).await?;
            for date in run_from.iter_days().take_while(|d| *d <= run_to) {
                let day = match hours.get(&date) {
                    Some(h) => station_day(point_id, station_daily_values(h, &settings), &settings),
                    None => station_day(point_id, empty_day(date), &settings),
                };
                let has_hours = hours.contains_key(&date);
                current.insert(date, has_hours.then(|| day.clone()));
                computed.push((day, has_hours, version_of(point_id, date)));
            }
        }
        out.extend(current.into_values().flatten());
    }
    // A station listed twice is computed twice; one statement may write a row only once (PostgreSQL).
    computed.sort_by_key(|(day, _, _)| (day.point_id, day.values.date));
    computed.dedup_by_key(|(day, _, _)| (day.point_id, day.values.date));
    if !computed.is_empty() {
        let new: Vec<repo::NewDay> = computed
            .iter()
            .map(|(day, has_hours, version)| repo::NewDay {
                point_id: day.point_id,
                values: &day.values,
                has_hours: *has_hours,
                aqi: &day.aqi,
                valid: day.valid,
                source_version: *version,
                method: METHOD,
            })
            .collect();
        // The figures are right without being stored: a failed write only costs a recomputation next time.
        if let Err(e) = repo::store_days(db, &new).await {
            tracing::warn!("storing {} air station days failed: {e}", new.len());
        }
    }
    Ok(out)
}

/// [`station_days`] computed from the audited hours alone, without the stored days: what the stored days must
/// equal (the consistency tests compare them day by day).
pub async fn station_days_from_hours(
    db: &Db,
    point_ids: &[i64],
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<Vec<StationDay>> {
    let settings = AirSettings::default();
    let mut out = Vec::new();
    for &point_id in point_ids {
        for day in station_hours(db, point_id, from, to).await?.values() {
            out.push(station_day(
                point_id,
                station_daily_values(day, &settings),
                &settings,
            ));
        }
    }
    Ok(out)
}

fn station_day(point_id: i64, values: DailyValues, settings: &AirSettings) -> StationDay {
    let aqi = daily_aqi(&values);
    let valid = is_valid_day(&values, &aqi, settings);
    StationDay {
        point_id,
        values,
        aqi,
        valid,
    }
}

/// The CST day number (days since 1970-01-01 CST) of a date, as the readings' stale marks count days.
fn day_number(date: NaiveDate) -> i64 {
    kernel::time::cst_day_number(cst_day_start(date))
}

/// The area made of `point_ids`, per CST day `from..=to` on which at least one station reported: HJ 663 area
/// daily values (a station without a valid value that day counts in the station total) and the AQI.
pub async fn area_days(
    db: &Db,
    point_ids: &[i64],
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<Vec<AreaDay>> {
    let days = station_days(db, point_ids, from, to).await?;
    Ok(area_days_of(&days, point_ids.len()))
}

/// Groups station days into area days; `station_count` is the number of stations in the area.
pub fn area_days_of(days: &[StationDay], station_count: usize) -> Vec<AreaDay> {
    let settings = AirSettings::default();
    let mut by_date: BTreeMap<NaiveDate, Vec<&DailyValues>> = BTreeMap::new();
    for day in days {
        by_date
            .entry(day.values.date)
            .or_default()
            .push(&day.values);
    }
    let mut out = Vec::with_capacity(by_date.len());
    for (date, mut stations) in by_date {
        let stations_reporting = stations
            .iter()
            .filter(|s| s.values.iter().any(Option::is_some))
            .count();
        // Stations that sent nothing that day still count in the share rule of the settings.
        let empty: Vec<DailyValues> = (stations.len()..station_count.max(stations.len()))
            .map(|_| empty_day(date))
            .collect();
        stations.extend(empty.iter());
        let values = area_daily_values(date, &stations, &settings);
        let aqi = daily_aqi(&values);
        out.push(AreaDay {
            values,
            aqi,
            stations_reporting,
        });
    }
    out
}

fn empty_day(date: NaiveDate) -> DailyValues {
    DailyValues {
        date,
        values: [None; 6],
        o3_max_1h: None,
        support: [0; 6],
    }
}

/// The days of a period as every page counts them: valid days, days per HJ 633 category, good days (优良, levels
/// 1–2), heavy-pollution days (重污染, levels 5–6, AQI > 200) and exceedance days (超标, levels 3–6, AQI > 100).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DayCounts {
    /// Days counted (GB 3095 daily values of all six pollutants, so a level); the denominator of the ratio.
    pub valid_days: u32,
    /// Days per level 一级 … 六级 (优 … 严重污染; AQI > 500 is 六级).
    pub days_per_level: [u32; 6],
    pub good_days: u32,
    pub heavy_days: u32,
    pub exceedance_days: u32,
    /// Calendar days of the period that are not counted (too few valid hours, a pollutant missing, no data).
    pub days_not_counted: u32,
}

/// The counts of the days in `from..=to` (others ignored) by `standards::assessment::assess_period` with the
/// default settings — the same function the targets, the dashboard trend and the bulletins use.
pub fn day_counts(days: &[DailyValues], from: NaiveDate, to: NaiveDate) -> DayCounts {
    let a = assess_period(days, from, to, &AirSettings::default());
    DayCounts {
        valid_days: a.valid_days,
        days_per_level: a.days_per_level,
        good_days: a.good_days,
        heavy_days: a.heavy_pollution_days,
        exceedance_days: a.valid_days - a.good_days,
        days_not_counted: a.days_in_period - a.valid_days,
    }
}

/// Whether a station or area day counts in [`day_counts`] (for pages that mark single days).
pub fn counts_as_valid_day(values: &DailyValues, aqi: &AqiResult) -> bool {
    is_valid_day(values, aqi, &AirSettings::default())
}

/// The AQI as pages show it: the number; `>500` when a concentration lies beyond the HJ 633 tables (the level
/// is then 六级 严重污染, `standards::aqi::compute_aqi`); `—` without a value.
pub fn aqi_text(aqi: &AqiResult) -> String {
    match aqi.aqi {
        Some(value) => value.to_string(),
        None if aqi.beyond_table => ">500".into(),
        None => "—".into(),
    }
}

/// The primary pollutants (首要污染物) as pages show them: `PM2.5、O3`; empty when there are none (AQI ≤ 50).
pub fn primary_text(aqi: &AqiResult) -> String {
    aqi.primary_pollutants
        .iter()
        .map(|i| i.pollutant().code())
        .collect::<Vec<_>>()
        .join("、")
}

/// The real-time (hourly) AQI of a station at its latest reported hour (HJ 633 real-time report, the edition in
/// force that day): under HJ 633-2012 the 1-h values of SO2, NO2, CO and O3 with the 24-h moving means of PM10
/// and PM2.5 and the 8-h moving mean of O3; under HJ 633-2026 the six 1-h values — `standards::realtime`.
#[derive(Debug, Clone, Serialize)]
pub struct LatestHour {
    pub point_id: i64,
    /// Unix seconds (UTC) of the hour's beginning.
    pub ts: i64,
    /// The 1-h values of that hour, µg/m³ (CO mg/m³), `None` when missing or invalid.
    pub values: [Option<f64>; 6],
    pub aqi: AqiResult,
}

/// `None` when the station has no hourly row in the `lookback_hours` before `now`.
pub async fn latest_hour(
    db: &Db,
    point_id: i64,
    now: i64,
    lookback_hours: i64,
) -> anyhow::Result<Option<LatestHour>> {
    let Some(latest) = store::latest_row(db, point_id, Period::Hour).await? else {
        return Ok(None);
    };
    if latest.ts < now - lookback_hours * 3600 || latest.ts > now {
        return Ok(None);
    }
    let start = latest.ts - 23 * 3600;
    let end = latest.ts + 3600;
    let rows = store::rows(db, point_id, &[Period::Hour], start, end).await?;
    let corrections = audit::latest_corrections(db, point_id, start, end).await?;
    // hours[p][k]: hour latest.ts - (23 - k)·3600, in the fixed-point unit of `standards`.
    let mut hours: TrailingHours = [[MISSING_HOUR; TRAILING_HOURS]; 6];
    let mut values = [None::<f64>; 6];
    for row in &rows {
        let k = ((row.ts - start) / 3600) as usize;
        if k >= TRAILING_HOURS || (row.ts - start) % 3600 != 0 {
            continue;
        }
        for pollutant in Pollutant::ALL {
            let Some(slot) = factors::index_of(factor_code(pollutant)) else {
                continue;
            };
            if let Some(cell) = row.cells[slot] {
                let audited = corrections.apply(Period::Hour, row.ts, factor_code(pollutant), cell);
                if let (true, Some(value)) = (audited.valid, audited.value) {
                    hours[pollutant.index()][k] = to_fixed(value);
                    if k == TRAILING_HOURS - 1 {
                        values[pollutant.index()] = Some(value);
                    }
                }
            }
        }
    }
    let standard = standards::aqi::AqiStandard::for_date(cst_day(latest.ts));
    let given = hourly_report_concentrations(standard, &hours);
    let aqi = standards::aqi::compute_aqi(standard, standards::aqi::ReportKind::Hourly, &given)
        .map_err(|e| anyhow::anyhow!("hourly AQI of point {point_id}: {e}"))?;
    Ok(Some(LatestHour {
        point_id,
        ts: latest.ts,
        values,
        aqi,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_is_exact_for_reported_decimals() {
        assert_eq!(to_fixed(35.0), 350_000);
        assert_eq!(to_fixed(0.6), 6_000);
        assert_eq!(to_fixed(1.234), 12_340);
        assert_eq!(to_fixed(-1.0), MISSING_HOUR);
        assert_eq!(to_fixed(f64::NAN), MISSING_HOUR);
    }

    #[test]
    fn every_pollutant_has_a_catalogued_column() {
        for p in Pollutant::ALL {
            assert!(factors::index_of(factor_code(p)).is_some(), "{p:?}");
        }
    }
}
