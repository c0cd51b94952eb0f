//! No rule panics on arbitrary input, findings stay within the window, and sample order does not matter.

mod sim;

use alarms::{
    Averaging, ClockCheck, CrcTally, DataFlag, DetectionLimit, EmissionLimit, Finding,
    InstrumentRange, KnownFinding, OutletContext, Period, PointInput, RuleId, Sample, Series,
    Settings, Window, coalesce, evaluate, evaluate_reflagging, reconcile,
};
use proptest::prelude::*;
use sim::{FLOW, NOX, O2, PM, SO2, START, TEMPERATURE};

const FACTORS: [&str; 8] = [SO2, NOX, PM, O2, TEMPERATURE, FLOW, "a01001", "zz999"];

fn flag() -> impl Strategy<Value = DataFlag> {
    prop::sample::select(vec![
        DataFlag::N,
        DataFlag::N,
        DataFlag::N,
        DataFlag::F,
        DataFlag::M,
        DataFlag::S,
        DataFlag::D,
        DataFlag::C,
        DataFlag::T,
        DataFlag::B,
    ])
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -50.0..250.0f64,
        1 => prop::num::f64::ANY,
        1 => prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, -0.0, 21.0, 1e308, -1e308]),
    ]
}

fn value() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![1 => Just(None), 6 => number().prop_map(Some)]
}

/// Timestamps near [`START`], on minute boundaries mostly, unsorted and with duplicates.
fn timestamp() -> impl Strategy<Value = i64> + Clone {
    prop_oneof![
        6 => (0i64..3 * 1440).prop_map(|m| START + m * 60),
        1 => (START - 86_400)..(START + 4 * 86_400),
    ]
}

fn series(ts: impl Strategy<Value = i64> + Clone) -> impl Strategy<Value = Series> {
    (
        prop::sample::select(FACTORS.to_vec()),
        prop::sample::select(vec![Period::Minute, Period::Hour]),
        prop::collection::vec((ts, value(), flag()), 0..400),
    )
        .prop_map(|(factor, period, samples)| Series {
            factor: factor.into(),
            period,
            samples: samples
                .into_iter()
                .map(|(ts, value, flag)| Sample { ts, value, flag })
                .collect(),
        })
}

fn context() -> impl Strategy<Value = OutletContext> {
    let limit = (
        prop::sample::select(FACTORS.to_vec()),
        number(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(factor, value, daily, on_converted)| EmissionLimit {
            factor: factor.into(),
            value,
            averaging: if daily {
                Averaging::Day
            } else {
                Averaging::Hour
            },
            on_converted,
        });
    let range = (prop::sample::select(FACTORS.to_vec()), number(), number()).prop_map(
        |(factor, low, high)| InstrumentRange {
            factor: factor.into(),
            low,
            high,
        },
    );
    let detection =
        (prop::sample::select(FACTORS.to_vec()), number()).prop_map(|(factor, value)| {
            DetectionLimit {
                factor: factor.into(),
                value,
            }
        });
    (
        prop::collection::vec(limit, 0..4),
        prop::option::of(number()),
        prop::collection::vec(range, 0..4),
        prop::collection::vec(detection, 0..3),
        prop_oneof![Just(60i64), Just(3600), any::<i64>()],
        prop::option::of(number()),
        prop::option::of(number()),
    )
        .prop_map(
            |(
                limits,
                reference_oxygen,
                ranges,
                detection_limits,
                reporting_interval_s,
                rated_flow,
                ambient,
            )| {
                OutletContext {
                    limits,
                    reference_oxygen,
                    ranges,
                    detection_limits,
                    reporting_interval_s,
                    rated_flow,
                    ambient_temperature: ambient,
                }
            },
        )
}

fn input(
    ts: impl Strategy<Value = i64> + Clone,
    window: impl Strategy<Value = Window>,
) -> impl Strategy<Value = PointInput> {
    let clock = (ts.clone(), any::<i64>()).prop_map(|(received_ts, device_ts)| ClockCheck {
        device_ts,
        received_ts,
    });
    let crc = (ts.clone(), any::<i64>(), any::<u32>(), any::<u32>()).prop_map(
        |(from_ts, to_ts, packets, failures)| CrcTally {
            from_ts,
            to_ts,
            packets,
            failures,
        },
    );
    (
        window,
        prop::collection::vec(series(ts), 0..6),
        prop::collection::vec(clock, 0..6),
        prop::collection::vec(crc, 0..6),
    )
        .prop_map(|(window, series, clock_checks, crc_tallies)| PointInput {
            window,
            series,
            clock_checks,
            crc_tallies,
        })
}

fn near_window() -> impl Strategy<Value = Window> {
    ((START - 86_400)..(START + 86_400), -3600i64..(4 * 86_400)).prop_map(|(from, length)| Window {
        from,
        to: from + length,
    })
}

fn extreme_window() -> impl Strategy<Value = Window> {
    prop_oneof![
        Just(Window {
            from: i64::MIN,
            to: i64::MAX
        }),
        any::<(i64, i64)>().prop_map(|(from, to)| Window { from, to }),
    ]
}

fn extreme_timestamp() -> impl Strategy<Value = i64> + Clone {
    prop_oneof![
        any::<i64>(),
        prop::sample::select(vec![i64::MIN, i64::MIN + 1, i64::MAX, i64::MAX - 59, 0, -1]),
    ]
}

fn settings() -> impl Strategy<Value = Settings> {
    prop_oneof![
        3 => Just(Settings::default()),
        1 => (any::<i64>(), any::<i64>(), any::<usize>(), -1.0..2.0f64).prop_map(|(seconds, block, count, share)| {
            let mut settings = Settings::default();
            settings.health.offline_after_s = seconds;
            settings.health.capture_block_s = block;
            settings.patterns.constant_min_s = seconds;
            settings.patterns.flat_min_s = seconds;
            settings.patterns.low_variation_block_s = block;
            settings.patterns.narrow_band_block_s = block;
            settings.patterns.pinned_block_s = block;
            settings.patterns.hovering_block_s = block;
            settings.patterns.flat_min_samples = count % 1000;
            settings.patterns.hovering_min_values = count % 1000;
            settings.exceedance.min_minutes_per_hour = count % 100;
            settings.health.min_capture_rate = share;
            settings.consistency.min_duration_s = seconds;
            settings
        }),
    ]
}

fn assert_within(findings: &[Finding], window: Window) {
    for finding in findings {
        assert!(
            window.from <= finding.from_ts
                && finding.from_ts <= finding.to_ts
                && finding.to_ts <= window.to,
            "{finding:#?} outside {window:?}"
        );
        assert!(finding.values.len() <= alarms::model::MAX_EVIDENCE_VALUES);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn findings_lie_within_the_window(input in input(timestamp(), near_window()), context in context(), settings in settings()) {
        let findings = evaluate(&input, &context, &settings);
        assert_within(&findings, input.window);
        assert_within(&coalesce(findings.clone()), input.window);
        // Rules over runs of samples stay within the span of their factor's samples in the window.
        for finding in findings.iter().filter(|f| matches!(f.rule, RuleId::ConstantValue | RuleId::NegativeValue | RuleId::OverRange | RuleId::StepThenFlat)) {
            let factor = finding.factor.as_deref().expect("factor");
            let series = input.series.iter().find(|s| s.factor == factor).expect("series");
            let inside: Vec<i64> = series.samples.iter().map(|s| s.ts).filter(|ts| input.window.contains(*ts)).collect();
            let first = inside.iter().min().expect("samples");
            let last = inside.iter().max().expect("samples") + series.period.seconds();
            prop_assert!(*first <= finding.from_ts && finding.to_ts <= last, "{:?} outside {}..{}", finding, first, last);
        }
        // A worker re-running the same window, open or closed alarms alike, stores nothing new.
        for open in [true, false] {
            let known: Vec<KnownFinding> =
                coalesce(findings.clone()).into_iter().map(|finding| KnownFinding { finding, open }).collect();
            prop_assert_eq!(reconcile(&known, findings.clone()), Vec::new());
        }
    }

    #[test]
    fn extreme_timestamps_do_not_panic(input in input(extreme_timestamp(), extreme_window()), context in context(), settings in settings()) {
        let findings = evaluate(&input, &context, &settings);
        assert_within(&findings, input.window);
        let reflagged = evaluate_reflagging(&input, &input, &context, &settings);
        assert_within(&reflagged, input.window);
    }

    #[test]
    fn reflagging_stays_within_the_earlier_window(
        earlier in input(timestamp(), near_window()),
        later in input(timestamp(), near_window()),
        context in context(),
    ) {
        let findings = evaluate_reflagging(&earlier, &later, &context, &Settings::default());
        assert_within(&findings, earlier.window);
    }

    #[test]
    fn sample_order_does_not_matter(input in input(timestamp(), near_window()), context in context(), seed in any::<u64>()) {
        // Unique timestamps per series: with duplicates the first occurrence wins, which order does change.
        let mut input = input;
        for series in &mut input.series {
            series.samples.sort_by_key(|s| s.ts);
            series.samples.dedup_by_key(|s| s.ts);
        }
        let mut shuffled = input.clone();
        let mut noise = sim::Noise::new(seed);
        for series in &mut shuffled.series {
            for i in (1..series.samples.len()).rev() {
                let j = (noise.uniform() * (i + 1) as f64) as usize;
                series.samples.swap(i, j.min(i));
            }
        }
        let settings = Settings::default();
        prop_assert_eq!(format!("{:?}", evaluate(&input, &context, &settings)), format!("{:?}", evaluate(&shuffled, &context, &settings)));
    }
}
