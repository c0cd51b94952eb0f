//! The heavy computations on a station-year of hourly values (8,760 hours): the polar plot (binned and kernel
//! smoothed), the rose, the time variation, monthly means + Theil–Sen, and Theil–Sen + Mann–Kendall on the 365
//! daily means (66,430 pair slopes). Pure computation, no database.
//!
//! `cargo bench -p analysis --bench analyses`

use analysis::trend;
use analysis::wind::{self, PolarSettings, WindHour};
use kernel::rng::SplitMix64;

fn main() {
    divan::main();
}

const HOURS: i64 = 8_760;
/// 2024-01-01 00:00 CST.
const START: i64 = 1_704_038_400;

fn station_year() -> (Vec<WindHour>, Vec<(i64, f64)>) {
    let mut mix = SplitMix64::new(1);
    let mut wind_hours = Vec::new();
    let mut series = Vec::new();
    for h in 0..HOURS {
        let direction = mix.unit() * 360.0;
        let speed = mix.unit() * 12.0;
        let value = 20.0
            + 60.0 * mix.unit()
            + if (30.0..60.0).contains(&direction) {
                80.0
            } else {
                0.0
            };
        wind_hours.push(WindHour {
            value,
            direction,
            speed: Some(speed),
        });
        series.push((START + h * 3600, value));
    }
    (wind_hours, series)
}

#[divan::bench]
fn polar_plot_smoothed(bencher: divan::Bencher) {
    let (hours, _) = station_year();
    bencher.bench(|| wind::polar_plot(divan::black_box(&hours), &PolarSettings::default()));
}

#[divan::bench]
fn polar_plot_binned(bencher: divan::Bencher) {
    let (hours, _) = station_year();
    let settings = PolarSettings {
        bandwidth: 0.0,
        ..PolarSettings::default()
    };
    bencher.bench(|| wind::polar_plot(divan::black_box(&hours), &settings));
}

#[divan::bench]
fn pollution_rose(bencher: divan::Bencher) {
    let (hours, _) = station_year();
    bencher.bench(|| wind::pollution_rose(divan::black_box(&hours), 16));
}

#[divan::bench]
fn time_variation(bencher: divan::Bencher) {
    let (_, series) = station_year();
    bencher.bench(|| analysis::variation::time_variation(divan::black_box(&series)));
}

#[divan::bench]
fn monthly_theil_sen(bencher: divan::Bencher) {
    let (_, series) = station_year();
    bencher.bench(|| {
        let months = trend::monthly_means(divan::black_box(&series), (2024, 1), (2024, 12));
        trend::trend(months, true)
    });
}

#[divan::bench]
fn daily_theil_sen_and_mann_kendall(bencher: divan::Bencher) {
    let (_, series) = station_year();
    let daily: Vec<(f64, f64)> = analysis::compare::daily_means(&series, 20)
        .iter()
        .enumerate()
        .map(|(i, (_, _, v))| (i as f64 / 365.0, *v))
        .collect();
    bencher.bench(|| {
        let ys: Vec<f64> = daily.iter().map(|p| p.1).collect();
        let mk = trend::mann_kendall(&ys).unwrap();
        trend::sen_slope(divan::black_box(&daily), mk.var_s)
    });
}
