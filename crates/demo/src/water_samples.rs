//! Monthly samples of the demo's nine surface-water sections, 2024-01 to the current month.
//!
//! One sampling day a month (the 8th–14th, as monitoring stations schedule it), every GB 3838 Table 1 item. Each
//! section has a baseline chosen so that its 2024 annual class is the plan's picture — one section in nine (the
//! lake) at class III or better (11.1 %), none worse than V over the year — with a seasonal swing (summer: more
//! organic load, less oxygen), month-to-month noise that puts single months a class up or down (some 劣V
//! months at the worst drain), and a slow improvement from 2025 on, so that rankings and targets have something
//! to show. The values are plausible, not real.

use chrono::{Datelike, Duration, Months, NaiveDate};
use kernel::Db;
use readings::model::{DataFlag, Period, Reading};
use readings::store::{self, NewSource};
use water::service::Section;

use kernel::rng::SplitMix64;

/// Baseline means of the organic/nutrient items (COD, CODMn, BOD5, NH3-N, TP, TN, DO), by section code.
struct Baseline {
    cod: f64,
    cod_mn: f64,
    bod5: f64,
    nh3n: f64,
    tp: f64,
    tn: f64,
    dissolved_oxygen: f64,
}

fn baseline(section: &Section) -> Baseline {
    let lake = section.water_kind.as_deref() == Some("lake");
    // Class III lake / IV rivers / V rivers; 北塘排水河 at the top of V (some months 劣V); 东减河 target IV but V in
    // 2024, reaching IV as it improves.
    let (cod, cod_mn, bod5, nh3n, tp, tn, dissolved_oxygen) = match section.code.as_str() {
        _ if lake => (16.5, 5.0, 3.2, 0.45, 0.042, 1.1, 7.6),
        "DL-GK02" => (36.5, 11.5, 7.8, 1.55, 0.33, 3.2, 3.8),
        "DL-SK-W03" => (31.8, 9.2, 5.6, 1.2, 0.27, 2.6, 4.6),
        _ => match section.target_class {
            Some(5) => (33.5, 10.6, 6.8, 1.35, 0.31, 2.9, 4.2),
            _ => (25.5, 7.6, 4.6, 0.9, 0.23, 2.1, 5.6),
        },
    };
    Baseline {
        cod,
        cod_mn,
        bod5,
        nh3n,
        tp,
        tn,
        dissolved_oxygen,
    }
}

/// Rounds to `decimals` (the sample's reporting precision).
fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// Writes the samples once per seed; returns the number of values written (0 when already present).
pub async fn simulate_water_samples(db: &Db, seed: u64, until: NaiveDate) -> anyhow::Result<usize> {
    let name = format!("demo water samples, seed {seed}");
    if store::source_named(db, "simulation", &name)
        .await?
        .is_some()
    {
        return Ok(0);
    }
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
    let sections = water::service::sections(db).await?;
    let mut readings = Vec::new();
    for section in &sections {
        let mut rng =
            SplitMix64::new(seed ^ (section.id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let base = baseline(section);
        // Cannot fail: a constant, valid date.
        let mut month = NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid date");
        while month <= until {
            let day = month + Duration::days(7 + rng.below(7) as i64);
            if day > until {
                break;
            }
            readings.extend(month_sample(section.id, day, &base, &mut rng));
            month = month + Months::new(1);
        }
    }
    let written = readings.len();
    store::write(db, source_id, &readings).await?;
    Ok(written)
}

fn month_sample(
    point_id: i64,
    day: NaiveDate,
    base: &Baseline,
    rng: &mut SplitMix64,
) -> Vec<Reading> {
    // Summer peak of organic load (cosine over the year, maximum mid-July), improvement of 4 % a year from 2025.
    let phase = (day.ordinal() as f64 - 196.0) / 365.0 * std::f64::consts::TAU;
    let season = 1.0 + 0.08 * phase.cos();
    let years_on = ((day.year() - 2024) as f64 + day.ordinal() as f64 / 365.0 - 1.0).max(0.0);
    let trend = 1.0 - 0.04 * years_on;
    let temperature = 14.0 + 12.0 * phase.cos() + rng.range(-1.5, 1.5);
    let ph = 7.6 + rng.range(-0.4, 0.5);
    let mut noise = |spread: f64| 1.0 + rng.range(-spread, spread);
    let load = season * trend;
    let ts = kernel::time::cst_day_start(day) + 10 * 3600;
    let mut values: Vec<(&str, f64)> = vec![
        ("w01010", round(temperature, 1)),
        ("w01001", round(ph, 2)),
        (
            "w01009",
            round(base.dissolved_oxygen * (2.0 - season) * noise(0.08), 1),
        ),
        ("w01019", round(base.cod_mn * load * noise(0.12), 1)),
        ("w01018", round(base.cod * load * noise(0.12), 0)),
        ("w01017", round(base.bod5 * load * noise(0.15), 1)),
        ("w21003", round(base.nh3n * load * noise(0.18), 3)),
        ("w21011", round(base.tp * load * noise(0.15), 3)),
        ("w21001", round(base.tn * load * noise(0.15), 2)),
        ("w21017", round(0.62 * noise(0.2), 2)),
        ("w22001", round(0.03 * noise(0.3), 2)),
        ("w19002", round(0.08 * noise(0.3), 2)),
        ("w23002", round(0.0012 * noise(0.3), 4)),
        ("w21019", round(0.012 * noise(0.3), 3)),
        ("w21016", round(0.002 * noise(0.3), 3)),
        ("w20122", round(0.004 * noise(0.3), 3)),
        ("w20123", round(0.012 * noise(0.3), 3)),
        ("w20141", round(0.0021 * noise(0.3), 4)),
        ("w20111", round(0.00002 * noise(0.3), 5)),
        ("w20115", round(0.0003 * noise(0.3), 4)),
        ("w20117", round(0.004 * noise(0.3), 3)),
        ("w20120", round(0.0012 * noise(0.3), 4)),
        ("w20128", round(0.0004 * noise(0.3), 4)),
        ("w02003", round(3500.0 * season * noise(0.4), 0)),
    ];
    values.retain(|(_, v)| v.is_finite() && *v >= 0.0);
    values
        .into_iter()
        .map(|(factor, value)| Reading {
            point_id,
            factor: factor.to_string(),
            ts,
            period: Period::Day,
            value: Some(value),
            flag: DataFlag::default(),
        })
        .collect()
}
