//! Synthetic outlet data for the rule tests: a coal boiler on ultra-low limits with daily load swings,
//! slow process drift and analyser noise, reported every minute.

#![allow(dead_code)]

use alarms::{
    Averaging, DataFlag, DetectionLimit, EmissionLimit, InstrumentRange, OutletContext, Period,
    PointInput, Sample, Series, Window,
};

/// 2026-12-01 00:00 CST.
pub const START: i64 = 1_796_054_400;
pub const DAY: i64 = 86_400;
pub const HOUR: i64 = 3600;

pub const SO2: &str = "a21026";
pub const NOX: &str = "a21002";
pub const PM: &str = "a34013";
pub const O2: &str = "a19001";
pub const TEMPERATURE: &str = "a01012";
pub const FLOW: &str = "a00000";

/// xorshift64*: deterministic noise without a dependency.
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Noise {
        Noise(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-12);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Ultra-low coal boiler: 10/35/50 mg/m³ at 6 % O2, hourly.
pub fn context() -> OutletContext {
    let limit = |factor: &str, value: f64| EmissionLimit {
        factor: factor.into(),
        value,
        averaging: Averaging::Hour,
        on_converted: true,
    };
    let range = |factor: &str, low: f64, high: f64| InstrumentRange {
        factor: factor.into(),
        low,
        high,
    };
    OutletContext {
        limits: vec![limit(SO2, 35.0), limit(NOX, 50.0), limit(PM, 10.0)],
        reference_oxygen: Some(6.0),
        ranges: vec![
            range(SO2, 0.0, 200.0),
            range(NOX, 0.0, 200.0),
            range(PM, 0.0, 50.0),
            range(O2, 0.0, 25.0),
            range(TEMPERATURE, 0.0, 300.0),
            range(FLOW, 0.0, 200.0),
        ],
        detection_limits: vec![
            DetectionLimit {
                factor: SO2.into(),
                value: 2.0,
            },
            DetectionLimit {
                factor: NOX.into(),
                value: 2.0,
            },
            DetectionLimit {
                factor: PM.into(),
                value: 0.5,
            },
        ],
        reporting_interval_s: 60,
        rated_flow: Some(100.0),
        ambient_temperature: Some(10.0),
    }
}

/// Minute series of every factor over `days` from [`START`]: load 0.65–0.95 with a daily cycle and an AR(1)
/// drift; concentrations follow the load with their own drift and noise; O2 moves against the load.
pub fn clean_outlet(days: i64, seed: u64) -> PointInput {
    let mut noise = Noise::new(seed);
    let minutes = days * DAY / 60;
    let factors = [SO2, NOX, PM, O2, TEMPERATURE, FLOW];
    let mut series: Vec<Series> = factors
        .iter()
        .map(|f| Series {
            factor: (*f).into(),
            period: Period::Minute,
            samples: Vec::new(),
        })
        .collect();
    let (mut drift, mut so2_drift, mut nox_drift) = (0.0, 0.0, 0.0);
    for minute in 0..minutes {
        let ts = START + minute * 60;
        let phase = 2.0 * std::f64::consts::PI * (minute % 1440) as f64 / 1440.0;
        drift = 0.995 * drift + 0.004 * noise.normal();
        so2_drift = 0.99 * so2_drift + 0.3 * noise.normal();
        nox_drift = 0.99 * nox_drift + 0.4 * noise.normal();
        let load = (0.8 + 0.12 * (phase - 2.0).sin() + drift).clamp(0.5, 1.0);
        let values = [
            16.0 * load / 0.8 + so2_drift + 0.8 * noise.normal(),
            24.0 * load / 0.8 + nox_drift + 1.0 * noise.normal(),
            (3.0 * load / 0.8 + 0.3 * noise.normal()).max(0.6),
            9.0 - 3.0 * (load - 0.8) + 0.15 * noise.normal(),
            120.0 + 25.0 * (load - 0.8) + 0.8 * noise.normal(),
            100.0 * load + 1.5 * noise.normal(),
        ];
        for (one, value) in series.iter_mut().zip(values) {
            one.samples.push(Sample {
                ts,
                value: Some(round3(value)),
                flag: DataFlag::N,
            });
        }
    }
    PointInput {
        window: Window {
            from: START,
            to: START + days * DAY,
        },
        series,
        clock_checks: Vec::new(),
        crc_tallies: Vec::new(),
    }
}

/// Devices report three decimals.
pub fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

pub fn series_mut<'a>(input: &'a mut PointInput, factor: &str) -> &'a mut Vec<Sample> {
    &mut input
        .series
        .iter_mut()
        .find(|s| s.factor == factor)
        .expect("factor")
        .samples
}

/// Applies `change` to every sample of `factor` in `[from, to)`.
pub fn edit(
    input: &mut PointInput,
    factor: &str,
    from: i64,
    to: i64,
    mut change: impl FnMut(&mut Sample),
) {
    for sample in series_mut(input, factor)
        .iter_mut()
        .filter(|s| from <= s.ts && s.ts < to)
    {
        change(sample);
    }
}
