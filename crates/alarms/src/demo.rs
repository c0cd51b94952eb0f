//! The demo's outlet data for the alarms: a permit (limits, reference O2, analyser ranges) for every
//! monitored outlet of a simulated enterprise, and minute data for the last few days of the first gas outlets
//! with planted patterns for the worker to find — repeated SO2 exceedances, a constant NOx value, a zero flat
//! line of particulates, a two-hour gap, a step followed by a flat line — next to clean outlets that must
//! stay silent. Deterministic for a seed; written once (a `simulation` source), flagged simulated.

use kernel::Db;
use kernel::rng::SplitMix64;
use kernel::time::DAY_SECONDS;
use readings::model::{Cell, DataFlag, Period};
use readings::store::{self, NewSource, Row};
use registry::model::Medium;

use crate::model::{OutletLimit, OutletPermit};
use crate::repo;

const ACTOR: &str = "demo";
const MINUTE: i64 = 60;
const HOUR: i64 = 3600;
/// Days of minute history before the live devices take over.
pub const HISTORY_DAYS: i64 = 3;

/// What is planted at one outlet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plant {
    /// SO2 far above the limit for two hours at 02:00 CST on each history day (three separate episodes).
    Exceedances,
    /// NOx written as one constant for six hours from 09:00 CST on the second day.
    ConstantValue,
    /// Particulates at exactly 0 for five hours from 13:00 CST on the second day (possibly an unmarked stop).
    ZeroFlatLine,
    /// Nothing at all for two hours from 20:00 CST on the first day (the logger was off).
    Gap,
    /// SO2 falls by two thirds at 10:00 CST on the third day and stays flat (±0.2 %) for three hours.
    StepThenFlat,
    /// Nothing planted.
    Clean,
}

/// The planted outlets, in order of their monitoring point id among the gas outlets.
pub const PLANTS: [Plant; 8] = [
    Plant::Exceedances,
    Plant::ConstantValue,
    Plant::ZeroFlatLine,
    Plant::Gap,
    Plant::StepThenFlat,
    Plant::Clean,
    Plant::Clean,
    Plant::Clean,
];

/// The planted history's generator: the platform's one, on a stream of its own (the seed mixed with a constant
/// of this module, so that it does not repeat the district's draws).
fn planting_rng(seed: u64) -> SplitMix64 {
    SplitMix64::new(seed ^ 0x5EED_A1A2_0000_0007)
}

/// The permit the demo gives an outlet of an industry: limits with a reference O2 by the standard for that
/// industry (环大气〔2019〕35号, GB 16171-2012, GB 13271-2014, GB 18918-2002; each `basis` names it), analyser
/// ranges and detection limits.
pub fn demo_permit(outlet_id: i64, medium: Medium, industry: &str) -> OutletPermit {
    let gas = |factor: &str, limit: Option<f64>, high: f64, detection: f64| OutletLimit {
        factor: factor.into(),
        limit,
        averaging: "hour".into(),
        on_converted: limit.is_some(),
        range_low: Some(0.0),
        range_high: Some(high),
        detection_limit: Some(detection),
    };
    let measured = |factor: &str, high: f64| OutletLimit {
        factor: factor.into(),
        limit: None,
        averaging: "hour".into(),
        on_converted: false,
        range_low: Some(0.0),
        range_high: Some(high),
        detection_limit: None,
    };
    if medium == Medium::Water {
        let water = |factor: &str, limit: f64, high: f64, detection: f64| OutletLimit {
            factor: factor.into(),
            limit: Some(limit),
            averaging: "day".into(),
            on_converted: false,
            range_low: Some(0.0),
            range_high: Some(high),
            detection_limit: Some(detection),
        };
        return OutletPermit {
            outlet_id,
            reference_oxygen: None,
            rated_flow: None,
            basis: "模拟：GB 18918-2002 一级A（COD 50、氨氮 5、总磷 0.5、总氮 15 mg/L，日均值）"
                .into(),
            limits: vec![
                water("w01018", 50.0, 500.0, 4.0),
                water("w21003", 5.0, 50.0, 0.05),
                water("w21011", 0.5, 10.0, 0.01),
                water("w21001", 15.0, 100.0, 0.05),
            ],
            simulated: true,
        };
    }
    // (reference O2, PM, SO2, NOx, basis)
    let (o2, pm, so2, nox, basis) = match industry {
        "C3110" | "C3120" | "C3130" => (
            8.0,
            10.0,
            50.0,
            200.0,
            "模拟：钢铁超低排放（环大气〔2019〕35号）其他主要污染源 10/50/200 mg/m³，基准氧 8 %",
        ),
        "C2521" => (
            8.0,
            30.0,
            50.0,
            500.0,
            "模拟：GB 16171-2012 表5 焦炉烟囱 30/50/500 mg/m³，基准氧 8 %",
        ),
        "D4430" => (
            3.5,
            30.0,
            100.0,
            400.0,
            "模拟：GB 13271-2014 表1 燃气锅炉 30/100/400 mg/m³，基准氧 3.5 %",
        ),
        _ => (
            8.0,
            30.0,
            100.0,
            240.0,
            "模拟：按行业排放标准取值 30/100/240 mg/m³，基准氧 8 %",
        ),
    };
    OutletPermit {
        outlet_id,
        reference_oxygen: Some(o2),
        rated_flow: Some(60.0),
        basis: basis.into(),
        limits: vec![
            gas("a34013", Some(pm), 100.0, 0.5),
            gas("a21026", Some(so2), 500.0, 3.0),
            gas("a21002", Some(nox), 1000.0, 3.0),
            measured("a19001", 25.0),
            measured("a01012", 300.0),
            measured("a00000", 200.0),
        ],
        simulated: true,
    }
}

/// The minute rows of one outlet over `[start, end)` (both minute-aligned), with `plant` planted. `start`
/// should be a CST midnight: the plants are placed by CST hour of the history's days.
pub fn outlet_minutes(seed: u64, point_id: i64, plant: Plant, start: i64, end: i64) -> Vec<Row> {
    let mut rng = planting_rng(seed.wrapping_mul(1_000_003).wrapping_add(point_id as u64));
    let mut level = [
        25.0 + 5.0 * rng.unit(),  // SO2
        50.0 + 10.0 * rng.unit(), // NOx
        5.0 + rng.unit(),         // particulates
        9.5,                      // O2
        60.0 + 5.0 * rng.unit(),  // flue temperature
        40.0 + 5.0 * rng.unit(),  // flow
    ];
    let codes = ["a21026", "a21002", "a34013", "a19001", "a01012", "a00000"];
    let spread = [1.0, 2.0, 0.3, 0.2, 0.5, 1.0];
    let day = |n: i64| start + n * DAY_SECONDS;
    let in_span = |ts: i64, from: i64, hours: i64| ts >= from && ts < from + hours * HOUR;
    let mut rows = Vec::new();
    let mut ts = start;
    let mut before_step = None;
    while ts < end {
        let hour = (ts + 8 * HOUR).rem_euclid(DAY_SECONDS) / HOUR;
        let load = if (8..20).contains(&hour) { 1.1 } else { 0.85 };
        let centres = [25.0 * load, 50.0 * load, 5.0 * load, 9.5, 60.0, 40.0 * load];
        for i in 0..6 {
            level[i] += 0.1 * (centres[i] - level[i]) + spread[i] * rng.approximately_normal();
            level[i] = level[i].max(0.0);
        }
        let mut values = level;
        match plant {
            Plant::Exceedances => {
                if (0..HISTORY_DAYS).any(|d| in_span(ts, day(d) + 2 * HOUR, 2)) {
                    values[0] = 90.0 + 5.0 * rng.unit();
                }
            }
            Plant::ConstantValue => {
                if in_span(ts, day(1) + 9 * HOUR, 6) {
                    values[1] = 42.0;
                }
            }
            Plant::ZeroFlatLine => {
                if in_span(ts, day(1) + 13 * HOUR, 5) {
                    values[2] = 0.0;
                }
            }
            Plant::Gap => {
                if in_span(ts, day(0) + 20 * HOUR, 2) {
                    ts += MINUTE;
                    continue;
                }
            }
            Plant::StepThenFlat => {
                let step = day(2) + 10 * HOUR;
                if ts == step - MINUTE {
                    before_step = Some(values[0]);
                }
                if in_span(ts, step, 3) {
                    let base = before_step.unwrap_or(25.0) / 3.0;
                    values[0] = base * (1.0 + 0.002 * (rng.unit() - 0.5));
                }
            }
            Plant::Clean => {}
        }
        let mut row = Row::new(point_id, Period::Minute, ts);
        for (code, value) in codes.iter().zip(values) {
            row.set(
                code,
                Cell {
                    value: Some((value * 1000.0).round() / 1000.0),
                    flag: DataFlag::N,
                },
            );
        }
        rows.push(row);
        ts += MINUTE;
    }
    rows
}

/// What the demo loader wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DemoSummary {
    pub permits: usize,
    pub outlets: usize,
    pub rows: usize,
    pub already_present: bool,
}

impl std::fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.already_present {
            return write!(f, "outlet minute data already present");
        }
        write!(
            f,
            "{} outlet permits, {} outlets × {} days of minute data ({} rows)",
            self.permits, self.outlets, HISTORY_DAYS, self.rows
        )
    }
}

/// Writes the permits of every monitored outlet of a simulated enterprise (those without one) and the
/// minute history of the first gas outlets up to `until` (exclusive, minute-aligned; the demo passes the
/// minute its live devices start from), starting at the CST midnight [`HISTORY_DAYS`] days before, and
/// their roll-ups. Written once per seed.
pub async fn simulate_outlet_history(
    db: &Db,
    seed: u64,
    until: i64,
) -> anyhow::Result<DemoSummary> {
    let name = format!("demo outlet minute data, seed {seed}");
    if repo::source_exists(db, "simulation", &name).await? {
        return Ok(DemoSummary {
            already_present: true,
            ..DemoSummary::default()
        });
    }
    let mut summary = DemoSummary::default();
    let outlets = registry::service::monitored_outlets(db).await?;
    for outlet in &outlets {
        let outlet_id = outlet.outlet_id;
        if !outlet.simulated || repo::permit(db, outlet_id).await?.is_some() {
            continue;
        }
        let permit = demo_permit(outlet_id, outlet.medium, &outlet.industry_code);
        crate::service::seed_permit(db, ACTOR, &permit)
            .await
            .map_err(|e| anyhow::anyhow!("demo permit of outlet {outlet_id}: {e}"))?;
        summary.permits += 1;
    }
    let until = until - until.rem_euclid(MINUTE);
    let today = kernel::time::cst_day(until);
    let start = kernel::time::cst_day_start(today) - HISTORY_DAYS * DAY_SECONDS;
    let source_id = store::create_source(
        db,
        &NewSource {
            kind: "simulation",
            name,
            checksum: None,
            received_by: ACTOR.into(),
            idempotency_key: None,
        },
    )
    .await?;
    let gas_points = outlets
        .iter()
        .filter(|o| o.medium == Medium::Gas && o.simulated)
        .map(|o| o.point_id);
    let mut rows = Vec::new();
    for (point_id, plant) in gas_points.zip(PLANTS) {
        rows.extend(outlet_minutes(seed, point_id, plant, start, until));
        summary.outlets += 1;
    }
    summary.rows = rows.len();
    let outcome = store::write_rows(db, source_id, rows).await?;
    readings::rollup::recompute(db, &outcome.dirty).await?;
    Ok(summary)
}
