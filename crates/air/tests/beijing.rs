//! The whole air assessment on the real Beijing data (UCI). One station-year (Dongsi 2015) is in the repository
//! (`fixtures/beijing`); the tests of twelve stations and of two stations read the shared research data
//! (`testkit::shared_data`), and fail when it is missing.

use std::path::{Path, PathBuf};

use air::assessment::{build_air_report, read_station_days, read_station_hours};
use chrono::NaiveDate;
use standards::exact::Exact;
use standards::pollutant::Pollutant;
use standards::settings::AirSettings;

/// Dongsi, 2015-01-01 00:00 to 2015-12-31 23:00.
fn dongsi_2015() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/beijing/PRSA_Data_Dongsi_2015.csv")
}

/// The twelve station files, 2013-03 to 2017-02.
fn data_dir() -> Option<PathBuf> {
    testkit::shared_data("beijing-multisite")
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    files
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn beijing_2016_area_of_twelve_stations() {
    let Some(dir) = data_dir() else { return };
    let files = all_files(&dir);
    assert_eq!(files.len(), 12);
    let (from, to) = (date(2016, 1, 1), date(2016, 12, 31));
    let days = read_station_days(&files, from, to, &AirSettings::default()).unwrap();
    assert_eq!(days.stations.len(), 12);
    let report = build_air_report(&days, None, from, to, true, &AirSettings::default()).unwrap();
    let area = &report.area.period;

    // Internal consistency.
    assert_eq!(area.days_in_period, 366);
    assert_eq!(area.days_per_level.iter().sum::<u32>(), area.valid_days);
    assert!(
        area.valid_days >= 324,
        "the area has a valid AQI on most days: {}",
        area.valid_days
    );
    assert_eq!(report.area.months.len(), 12);
    assert_eq!(
        report.area.months.iter().map(|m| m.valid_days).sum::<u32>(),
        area.valid_days
    );
    assert_eq!(report.per_station.as_ref().unwrap().len(), 12);
    for p in &area.pollutants {
        assert!(p.statistics_valid.unwrap_or(true), "{:?}", p.pollutant);
    }

    // Against the published Beijing 2016 figures (municipal bulletin, 35 stations; these 12 are the national
    // stations, so concentrations agree closely, not exactly): PM2.5 73, PM10 92, NO2 48, SO2 10 µg/m³; 198 good
    // days and 39 heavy-pollution days (figures recalled from the bulletin [M], not in the stored reference).
    // The day counts agree exactly.
    assert_eq!((area.good_days, area.heavy_pollution_days), (198, 39));
    let mean = |pollutant: Pollutant| area.pollutants[pollutant.index()].mean.unwrap();
    let near = |value: Exact, published: i64, tolerance: i64| {
        (value - Exact::from_int(published)).to_f64().abs() <= tolerance as f64
    };
    assert!(
        near(mean(Pollutant::Pm25), 73, 6),
        "PM2.5 {}",
        mean(Pollutant::Pm25)
    );
    assert!(
        near(mean(Pollutant::Pm10), 92, 10),
        "PM10 {}",
        mean(Pollutant::Pm10)
    );
    assert!(
        near(mean(Pollutant::No2), 48, 6),
        "NO2 {}",
        mean(Pollutant::No2)
    );
    assert!(
        near(mean(Pollutant::So2), 10, 4),
        "SO2 {}",
        mean(Pollutant::So2)
    );
    assert!(
        (185..=215).contains(&area.good_days),
        "good days {}",
        area.good_days
    );
    assert_eq!(
        area.attains_all,
        Some(false),
        "Beijing 2016 did not attain PM2.5"
    );
}

#[test]
fn one_station_whole_year_2015_and_unknown_station() {
    let file = dongsi_2015();
    let (from, to) = (date(2015, 1, 1), date(2015, 12, 31));
    let days = read_station_days(
        std::slice::from_ref(&file),
        from,
        to,
        &AirSettings::default(),
    )
    .unwrap();
    let report = build_air_report(
        &days,
        Some(&["Dongsi".to_string()]),
        from,
        to,
        false,
        &AirSettings::default(),
    )
    .unwrap();
    let period = &report.area.period;
    assert_eq!(
        period.validity_rule,
        Some("calendar year: ≥ 324 daily values")
    );
    assert!(period.valid_days > 300 && period.good_days < period.valid_days);
    assert!(period.composite_index.is_some());
    let error = build_air_report(
        &days,
        Some(&["Dongli".to_string()]),
        from,
        to,
        false,
        &AirSettings::default(),
    );
    assert!(
        error
            .unwrap_err()
            .to_string()
            .contains("unknown station \"Dongli\"")
    );
}

/// The same hours written in the CNEMC long format (`date,hour,type,<stations…>`, CO in mg/m³) give the same
/// report as the UCI files: both readers, the unit conversion and the area assessment agree end to end.
#[test]
fn cnemc_long_format_of_the_same_hours_gives_the_same_report() {
    let Some(dir) = data_dir() else { return };
    let files = [
        dir.join("PRSA_Data_Dongsi_20130301-20170228.csv"),
        dir.join("PRSA_Data_Tiantan_20130301-20170228.csv"),
    ];
    let (from, to) = (date(2014, 1, 1), date(2014, 2, 28));
    let hours = read_station_hours(&files, from, to).unwrap();
    let settings = AirSettings::default();
    let uci = build_air_report(
        &hours.daily_values(&settings),
        None,
        from,
        to,
        true,
        &settings,
    )
    .unwrap();

    let stations: Vec<&String> = hours.stations.keys().collect();
    let mut text = format!(
        "date,hour,type,{}\n",
        stations
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    );
    for day in from.iter_days().take_while(|d| *d <= to) {
        for hour in 0..24 {
            for pollutant in Pollutant::ALL {
                let cells: Vec<String> = stations
                    .iter()
                    .map(|s| {
                        let value = hours.stations[*s]
                            .get(&day)
                            .map(|d| d.hours[pollutant.index()][hour]);
                        match value {
                            Some(v) if v != standards::aggregate::MISSING_HOUR => {
                                Exact::from_scaled(v.into(), standards::aggregate::HOURLY_DECIMALS)
                                    .to_string()
                            }
                            _ => String::new(),
                        }
                    })
                    .collect();
                text.push_str(&format!(
                    "{},{hour},{},{}\n",
                    day.format("%Y%m%d"),
                    pollutant.code(),
                    cells.join(",")
                ));
            }
            // A derived row, which the reader must skip.
            text.push_str(&format!(
                "{},{hour},AQI,{}\n",
                day.format("%Y%m%d"),
                vec!["999"; stations.len()].join(",")
            ));
        }
    }
    let path = std::env::temp_dir().join(format!("qingshan-cnemc-{}.csv", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let days = read_station_days(std::slice::from_ref(&path), from, to, &settings).unwrap();
    let cnemc = build_air_report(&days, None, from, to, true, &settings).unwrap();
    std::fs::remove_file(&path).unwrap();

    let json = |report| serde_json::to_value(report).unwrap();
    assert_eq!(json(&uci), json(&cnemc));
    assert_eq!(uci.area.period.valid_days, 50);
}

/// Daily values read in one pass, a day per station at a time, are those of all the hours held at once: on the
/// twelve files over several years, and on a file whose rows run backwards (which takes the second way).
#[test]
fn streamed_daily_values_equal_those_of_the_hours() {
    let settings = AirSettings::default();
    let same = |files: &[PathBuf], from, to| {
        let streamed = read_station_days(files, from, to, &settings).unwrap();
        let held = read_station_hours(files, from, to)
            .unwrap()
            .daily_values(&settings);
        assert_eq!(streamed.stations, held.stations);
        streamed
    };
    let dongsi = same(&[dongsi_2015()], date(2015, 3, 15), date(2015, 7, 20));
    assert_eq!(dongsi.stations["Dongsi"].len(), 128);

    let text = std::fs::read_to_string(dongsi_2015()).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1..].reverse();
    let path = std::env::temp_dir().join(format!("qingshan-backwards-{}.csv", std::process::id()));
    std::fs::write(&path, lines.join("\n")).unwrap();
    let backwards = same(
        std::slice::from_ref(&path),
        date(2015, 3, 15),
        date(2015, 7, 20),
    );
    std::fs::remove_file(&path).unwrap();
    assert_eq!(backwards.stations, dongsi.stations);

    let Some(dir) = data_dir() else { return };
    let all = same(&all_files(&dir), date(2013, 6, 1), date(2016, 5, 31));
    assert_eq!(all.stations.len(), 12);
}
