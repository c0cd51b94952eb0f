//! The area assessment report: the stations given form the area; each day the valid stations' daily values
//! are averaged and the AQI is computed from the averages (HJ 633-2026 §4.2.2, by HJ 663). Period and monthly figures
//! come from `standards::assessment`.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use standards::aggregate::{DailyValues, DayHours, area_daily_values, station_daily_values};
use standards::assessment::{PeriodAssessment, assess_period, calendar_months};
use standards::composite::{change_percent, rank_ascending};
use standards::exact::Exact;
use standards::pollutant::Pollutant;
use standards::settings::AirSettings;

use kernel::file_error::FileError;
use readings::station_files::{HourlyRecord, UciRow, open_station_file, read_plain_uci};

/// Hourly data of several stations, by station and date, limited to a date range.
#[derive(Debug, Default)]
pub struct StationHours {
    pub stations: BTreeMap<String, BTreeMap<NaiveDate, DayHours>>,
}

impl StationHours {
    /// Adds one record; later records for the same station-hour replace earlier ones.
    pub fn insert(&mut self, record: &HourlyRecord) {
        let days = self.stations.entry(record.station.clone()).or_default();
        let day = days
            .entry(record.date)
            .or_insert_with(|| DayHours::empty(record.date));
        set_hour(day, record.hour, record.values);
    }

    /// Registers a station that has no rows in the range, so that it still counts as part of the area.
    pub fn declare_station(&mut self, station: &str) {
        if !self.stations.contains_key(station) {
            self.stations.insert(station.to_string(), BTreeMap::new());
        }
    }

    /// The daily values of every station-day held.
    pub fn daily_values(&self, settings: &AirSettings) -> StationDays {
        let stations = self
            .stations
            .iter()
            .map(|(station, days)| {
                let days = days
                    .iter()
                    .map(|(date, day)| (*date, station_daily_values(day, settings)))
                    .collect();
                (station.clone(), days)
            })
            .collect();
        StationDays { stations }
    }
}

/// Daily values of several stations, by station and date: what the report is built from.
#[derive(Debug, Default)]
pub struct StationDays {
    pub stations: BTreeMap<String, BTreeMap<NaiveDate, DailyValues>>,
}

/// Why an assessment could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AirAssessmentError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("unknown station {station:?}: the input files contain {known}")]
    UnknownStation { station: String, known: String },
    #[error("no station data in the input files between {from} and {to}")]
    NoData { from: NaiveDate, to: NaiveDate },
    #[error("--from {from} is after --to {to}")]
    EmptyPeriod { from: NaiveDate, to: NaiveDate },
}

/// Reads the files, keeping the hours in `from..=to`. Stations are all those seen in the files.
pub fn read_station_hours(
    inputs: &[PathBuf],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<StationHours, AirAssessmentError> {
    let mut hours = StationHours::default();
    for input in inputs {
        let reader = open_station_file(input)?;
        for station in reader.header_stations() {
            hours.declare_station(&station);
        }
        for record in reader {
            let record = record?;
            if record.date < from || record.date > to {
                hours.declare_station(&record.station);
                continue;
            }
            hours.insert(&record);
        }
    }
    Ok(hours)
}

/// Reads the files into daily values of the days in `from..=to`, holding the hours of one day per station at a
/// time. The result is that of [`read_station_hours`] followed by [`StationHours::daily_values`]: when a
/// station's day comes back after another day of the station (a file out of date order, or two files with the
/// same station-days), its earlier hours are gone, and the files are read again that way.
pub fn read_station_days(
    inputs: &[PathBuf],
    from: NaiveDate,
    to: NaiveDate,
    settings: &AirSettings,
) -> Result<StationDays, AirAssessmentError> {
    match stream_station_days(inputs, from, to, settings)? {
        Some(days) => Ok(days),
        None => Ok(read_station_hours(inputs, from, to)?.daily_values(settings)),
    }
}

/// One station while its file is read: the finished days, and the hours of the day being read.
#[derive(Default)]
struct StationStream {
    days: BTreeMap<NaiveDate, DailyValues>,
    open: Option<DayHours>,
}

impl StationStream {
    fn close(&mut self, settings: &AirSettings) {
        if let Some(day) = self.open.take() {
            self.days
                .insert(day.date, station_daily_values(&day, settings));
        }
    }
}

/// The daily values of the stations of one file, built as its rows come.
#[derive(Default)]
struct FileDays {
    stations: BTreeMap<String, StationStream>,
}

/// Daily values by station and date.
type DaysByStation = BTreeMap<String, BTreeMap<NaiveDate, DailyValues>>;

impl FileDays {
    fn declare(&mut self, station: &str) {
        if !self.stations.contains_key(station) {
            self.stations
                .insert(station.to_string(), StationStream::default());
        }
    }

    /// Adds an hour; `Break` when the station's day comes back after another day of the station, whose hours
    /// are gone.
    fn add(
        &mut self,
        station: &str,
        date: NaiveDate,
        hour: u8,
        values: [Option<i32>; 6],
        settings: &AirSettings,
    ) -> ControlFlow<()> {
        let stream = match self.stations.get_mut(station) {
            Some(stream) => stream,
            None => self.stations.entry(station.to_string()).or_default(),
        };
        if stream.open.as_ref().is_none_or(|day| day.date != date) {
            stream.close(settings);
            if stream.days.contains_key(&date) {
                return ControlFlow::Break(());
            }
            stream.open = Some(DayHours::empty(date));
        }
        if let Some(day) = stream.open.as_mut() {
            set_hour(day, hour, values);
        }
        ControlFlow::Continue(())
    }

    fn finish(self, settings: &AirSettings) -> DaysByStation {
        self.stations
            .into_iter()
            .map(|(station, mut stream)| {
                stream.close(settings);
                (station, stream.days)
            })
            .collect()
    }
}

/// [`read_station_days`] in one pass over each file, the files read in parallel; `None` when a station-day
/// comes back after another day of the station, in one file or in two.
fn stream_station_days(
    inputs: &[PathBuf],
    from: NaiveDate,
    to: NaiveDate,
    settings: &AirSettings,
) -> Result<Option<StationDays>, AirAssessmentError> {
    let files = in_parallel(inputs, |input: &PathBuf| {
        file_station_days(input, from, to, settings)
    });
    // In the order of the inputs: the first error is that of the first file in error.
    let mut stations = DaysByStation::new();
    for file in files {
        let Some(file) = file? else {
            return Ok(None);
        };
        for (station, days) in file {
            match stations.entry(station) {
                Entry::Vacant(entry) => {
                    entry.insert(days);
                }
                Entry::Occupied(mut entry) => {
                    for (date, values) in days {
                        if entry.get_mut().insert(date, values).is_some() {
                            return Ok(None);
                        }
                    }
                }
            }
        }
    }
    Ok(Some(StationDays { stations }))
}

/// The daily values of one file's stations, or `None` when a station-day comes back after another day of the
/// station. A UCI Beijing file in its plain form is read straight from its bytes; any other file, or one that is
/// not plain after all, with the CSV reader (which also names errors).
fn file_station_days(
    input: &Path,
    from: NaiveDate,
    to: NaiveDate,
    settings: &AirSettings,
) -> Result<Option<DaysByStation>, AirAssessmentError> {
    // A file that cannot be read whole is left to the CSV reader, which reports why.
    if let Ok(bytes) = std::fs::read(input) {
        let mut days = FileDays::default();
        let read = read_plain_uci(input, &bytes, from, to, |row| match row {
            UciRow::Wanted {
                station,
                date,
                hour,
                values,
            } => days.add(station, date, hour, values, settings),
            UciRow::Skipped { station } => {
                days.declare(station);
                ControlFlow::Continue(())
            }
        });
        match read {
            Some(ControlFlow::Continue(())) => return Ok(Some(days.finish(settings))),
            Some(ControlFlow::Break(())) => return Ok(None),
            None => {}
        }
    }
    let mut days = FileDays::default();
    let mut reader = open_station_file(input)?.only_dates(from, to);
    for station in reader.header_stations() {
        days.declare(&station);
    }
    for record in reader.by_ref() {
        let record = record?;
        let added = days.add(
            &record.station,
            record.date,
            record.hour,
            record.values,
            settings,
        );
        if added.is_break() {
            return Ok(None);
        }
    }
    for station in reader.skipped_stations() {
        days.declare(station);
    }
    Ok(Some(days.finish(settings)))
}

/// `work` done for every item on as many threads as there are cores; the results in the order of the items.
fn in_parallel<I: Sync, T: Send>(items: &[I], work: impl Fn(&I) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(items.len());
    if threads <= 1 {
        return items.iter().map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, T)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(index) else {
                            return done;
                        };
                        done.push((index, work(item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    done.sort_by_key(|&(index, _)| index);
    done.into_iter().map(|(_, result)| result).collect()
}

/// Puts an hour's values into its day; a later record of the same hour replaces an earlier one.
fn set_hour(day: &mut DayHours, hour: u8, values: [Option<i32>; 6]) {
    for (pollutant_hours, value) in day.hours.iter_mut().zip(values) {
        pollutant_hours[usize::from(hour)] = value.unwrap_or(standards::aggregate::MISSING_HOUR);
    }
}

/// Assessment of one station or of the area, for the period and per calendar month.
#[derive(Clone, Debug, Serialize)]
pub struct AssessedUnit {
    pub name: String,
    pub stations: Vec<String>,
    pub period: PeriodAssessment,
    pub months: Vec<PeriodAssessment>,
    /// The same period a year earlier, when the input files cover it.
    pub same_period_last_year: Option<YearOnYear>,
}

/// The same period one year earlier (29 February becomes 28 February).
pub fn same_period_last_year(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    let back = |date: NaiveDate| {
        date.with_year(date.year() - 1)
            .or_else(|| date.pred_opt().and_then(|d| d.with_year(d.year() - 1)))
            .unwrap_or(date)
    };
    (back(from), back(to))
}

/// Comparison with the same period a year earlier (改善率 / 变化率, as in 环办监测〔2018〕19号).
#[derive(Clone, Debug, Serialize)]
pub struct YearOnYear {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub valid_days: u32,
    pub composite_index: Option<Exact>,
    pub pm25_mean: Option<Exact>,
    pub good_day_ratio_percent: Option<Exact>,
    /// (now − before)/before × 100 %, 1 decimal; negative means improved.
    pub composite_change_percent: Option<Exact>,
    pub pm25_change_percent: Option<Exact>,
    /// Difference of the good-day ratios, percentage points.
    pub good_day_ratio_change_points: Option<Exact>,
}

fn year_on_year(now: &PeriodAssessment, before: &PeriodAssessment) -> Option<YearOnYear> {
    if before.valid_days == 0 {
        return None;
    }
    let pm25 = |p: &PeriodAssessment| p.pollutants[Pollutant::Pm25.index()].mean;
    let composite = |p: &PeriodAssessment| p.composite_index.as_ref().map(|c| c.value);
    let change =
        |a: Option<Exact>, b: Option<Exact>| a.zip(b).and_then(|(a, b)| change_percent(a, b));
    Some(YearOnYear {
        from: before.from,
        to: before.to,
        valid_days: before.valid_days,
        composite_index: composite(before),
        pm25_mean: pm25(before),
        good_day_ratio_percent: before.good_day_ratio_percent,
        composite_change_percent: change(composite(now), composite(before)),
        pm25_change_percent: change(pm25(now), pm25(before)),
        good_day_ratio_change_points: now
            .good_day_ratio_percent
            .zip(before.good_day_ratio_percent)
            .map(|(a, b)| a - b),
    })
}

/// A station's place among the stations of the report (ascending: smaller is better; ties share a rank).
#[derive(Clone, Debug, Serialize)]
pub struct StationRank {
    pub station: String,
    pub composite_index: Exact,
    pub rank: usize,
    pub composite_change_percent: Option<Exact>,
    pub change_rank: Option<usize>,
}

fn rank_stations(units: &[AssessedUnit]) -> Vec<StationRank> {
    let indices: Vec<(String, Exact)> = units
        .iter()
        .filter_map(|u| Some((u.name.clone(), u.period.composite_index.as_ref()?.value)))
        .collect();
    let changes: Vec<(String, Exact)> = units
        .iter()
        .filter_map(|u| {
            Some((
                u.name.clone(),
                u.same_period_last_year.as_ref()?.composite_change_percent?,
            ))
        })
        .collect();
    let change_ranks = rank_ascending(&changes);
    rank_ascending(&indices)
        .into_iter()
        .map(|(station, rank, composite_index)| {
            let change = change_ranks.iter().find(|(s, _, _)| *s == station);
            StationRank {
                composite_change_percent: change.map(|c| c.2),
                change_rank: change.map(|c| c.1),
                station,
                composite_index,
                rank,
            }
        })
        .collect()
}

/// The full air assessment report.
#[derive(Clone, Debug, Serialize)]
pub struct AirReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// How the area value is formed.
    pub method: &'static str,
    pub settings: AirSettings,
    pub area: AssessedUnit,
    pub per_station: Option<Vec<AssessedUnit>>,
    /// With `per_station`: stations ranked by composite index and by its change on the year before.
    pub station_ranking: Option<Vec<StationRank>>,
}

fn assess_unit(
    name: String,
    stations: Vec<String>,
    days: &[DailyValues],
    from: NaiveDate,
    to: NaiveDate,
    settings: &AirSettings,
) -> AssessedUnit {
    let period = assess_period(days, from, to, settings);
    let months = calendar_months(from, to)
        .into_iter()
        .map(|(start, end)| assess_period(days, start, end, settings))
        .collect();
    let (before_from, before_to) = same_period_last_year(from, to);
    let before = assess_period(days, before_from, before_to, settings);
    AssessedUnit {
        name,
        stations,
        same_period_last_year: year_on_year(&period, &before),
        period,
        months,
    }
}

/// Builds the report for the area formed by `selected` stations (all stations when `None`).
pub fn build_air_report(
    days: &StationDays,
    selected: Option<&[String]>,
    from: NaiveDate,
    to: NaiveDate,
    per_station: bool,
    settings: &AirSettings,
) -> Result<AirReport, AirAssessmentError> {
    if from > to {
        return Err(AirAssessmentError::EmptyPeriod { from, to });
    }
    let known: BTreeSet<&String> = days.stations.keys().collect();
    let stations: Vec<String> = match selected {
        Some(list) => {
            for station in list {
                if !known.contains(station) {
                    let known = known
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ");
                    return Err(AirAssessmentError::UnknownStation {
                        station: station.clone(),
                        known,
                    });
                }
            }
            let unique: BTreeSet<&String> = list.iter().collect();
            unique.into_iter().cloned().collect()
        }
        None => known.into_iter().cloned().collect(),
    };
    let has_data = stations.iter().any(|s| {
        days.stations
            .get(s)
            .is_some_and(|days| days.range(from..=to).next().is_some())
    });
    if !has_data {
        return Err(AirAssessmentError::NoData { from, to });
    }

    let no_days = BTreeMap::new();
    let station_days: Vec<(&String, &BTreeMap<NaiveDate, DailyValues>)> = stations
        .iter()
        .map(|station| (station, days.stations.get(station).unwrap_or(&no_days)))
        .collect();

    // The area's days cover the year before too, for the year-on-year comparison.
    let (before_from, _) = same_period_last_year(from, to);
    let empty_days: BTreeMap<NaiveDate, DailyValues> = before_from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| (d, station_daily_values(&DayHours::empty(d), settings)))
        .collect();
    let area_days: Vec<DailyValues> = empty_days
        .iter()
        .map(|(date, empty)| {
            let per_station: Vec<&DailyValues> = station_days
                .iter()
                .map(|(_, days)| days.get(date).unwrap_or(empty))
                .collect();
            area_daily_values(*date, &per_station, settings)
        })
        .collect();
    let area_name = format!("area of {} station(s)", stations.len());
    let area = assess_unit(area_name, stations.clone(), &area_days, from, to, settings);

    // Each station on its own: the stations are independent, so they are assessed on every core.
    let per_station = per_station.then(|| {
        in_parallel(&station_days, |(station, days)| {
            let days: Vec<DailyValues> = days.values().cloned().collect();
            assess_unit(
                (*station).clone(),
                vec![(*station).clone()],
                &days,
                from,
                to,
                settings,
            )
        })
    });
    let station_ranking = per_station.as_deref().map(rank_stations);
    Ok(AirReport {
        from,
        to,
        method: "station daily values (≥ 20 h; O3 daily max 8-h from ≥ 14 of 17 windows) averaged over the valid stations each day, then the AQI and period statistics of the averages (HJ 663, HJ 633 §4.2.2)",
        settings: settings.clone(),
        area,
        per_station,
        station_ranking,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use standards::aggregate::HOURLY_UNIT;
    use standards::exact::Exact;
    use standards::pollutant::Pollutant;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn full_day(hours: &mut StationHours, station: &str, on: NaiveDate, pm25: i64) {
        for hour in 0..24 {
            let mut values = [Some(10 * HOURLY_UNIT as i32); 6];
            values[Pollutant::Co.index()] = Some(HOURLY_UNIT as i32 / 2);
            values[Pollutant::Pm25.index()] = Some((pm25 * HOURLY_UNIT) as i32);
            hours.insert(&HourlyRecord {
                station: station.into(),
                date: on,
                hour,
                values,
            });
        }
    }

    /// The report of 2016-01-01 for all stations, with per-station figures.
    fn one_day_report(hours: &StationHours) -> AirReport {
        build_air_report(
            &hours.daily_values(&AirSettings::default()),
            None,
            date(2016, 1, 1),
            date(2016, 1, 1),
            true,
            &AirSettings::default(),
        )
        .unwrap()
    }

    #[test]
    fn area_averages_concentrations_before_the_aqi() {
        let mut hours = StationHours::default();
        // Station A PM2.5 20 (IAQI 29), B 130 (IAQI 172): the area mean 75 gives IAQI 100 — not the mean of the
        // IAQIs (100.5) nor the worst station.
        full_day(&mut hours, "A", date(2016, 1, 1), 20);
        full_day(&mut hours, "B", date(2016, 1, 1), 130);
        let report = one_day_report(&hours);
        let area = &report.area.period;
        let pm25 = area
            .pollutants
            .iter()
            .find(|p| p.pollutant == Pollutant::Pm25)
            .unwrap();
        assert_eq!(pm25.mean, Some(Exact::from_int(75)));
        assert_eq!((area.good_days, area.days_per_level[1]), (1, 1));
        let per_station = report.per_station.unwrap();
        assert_eq!(
            per_station[1].period.days_per_level[3], 1,
            "station B alone is 中度污染"
        );
        assert_eq!(report.area.months.len(), 1);
    }

    #[test]
    fn year_on_year_change_and_station_ranking() {
        let mut hours = StationHours::default();
        full_day(&mut hours, "A", date(2015, 1, 1), 40);
        full_day(&mut hours, "A", date(2016, 1, 1), 30);
        full_day(&mut hours, "B", date(2015, 1, 1), 40);
        full_day(&mut hours, "B", date(2016, 1, 1), 50);
        let report = one_day_report(&hours);
        let area = report.area.same_period_last_year.as_ref().unwrap();
        // Area PM2.5 40 both years: no change.
        assert_eq!(
            (area.from, area.pm25_mean),
            (date(2015, 1, 1), Some(Exact::from_int(40)))
        );
        assert_eq!(area.pm25_change_percent, Some(Exact::ZERO));
        let ranking = report.station_ranking.unwrap();
        assert_eq!((ranking[0].station.as_str(), ranking[0].rank), ("A", 1));
        // A improved (PM2.5 30 vs 40), B worsened: A leads the change ranking too.
        assert_eq!(ranking[0].change_rank, Some(1));
        assert!(ranking[0].composite_change_percent.unwrap().is_negative());
        assert_eq!(ranking[1].change_rank, Some(2));
        assert_eq!(
            same_period_last_year(date(2016, 2, 29), date(2016, 3, 31)),
            (date(2015, 2, 28), date(2015, 3, 31))
        );
    }

    #[test]
    fn unknown_stations_and_empty_periods_are_errors() {
        let mut hours = StationHours::default();
        full_day(&mut hours, "A", date(2016, 1, 1), 20);
        let unknown = build_air_report(
            &hours.daily_values(&AirSettings::default()),
            Some(&["Z".into()]),
            date(2016, 1, 1),
            date(2016, 1, 1),
            false,
            &AirSettings::default(),
        );
        assert!(
            unknown
                .unwrap_err()
                .to_string()
                .contains("unknown station \"Z\"")
        );
        let reversed = build_air_report(
            &hours.daily_values(&AirSettings::default()),
            None,
            date(2016, 1, 2),
            date(2016, 1, 1),
            false,
            &AirSettings::default(),
        );
        assert!(matches!(
            reversed,
            Err(AirAssessmentError::EmptyPeriod { .. })
        ));
        hours.declare_station("B");
        let none = build_air_report(
            &hours.daily_values(&AirSettings::default()),
            Some(&["B".into()]),
            date(2016, 1, 1),
            date(2016, 1, 1),
            false,
            &AirSettings::default(),
        );
        assert!(matches!(none, Err(AirAssessmentError::NoData { .. })));
    }
}
