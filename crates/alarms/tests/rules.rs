//! Every rule on synthetic outlet data: the planted pattern must be found, the clean series must not be.

mod sim;

use alarms::{
    Averaging, ClockCheck, CrcTally, DataFlag, Finding, OutletContext, Period, PointInput, RuleId,
    Sample, Series, Settings, Severity, Window, converted_concentration, evaluate,
    evaluate_reflagging,
};
use sim::*;

fn run(input: &PointInput) -> Vec<Finding> {
    evaluate(input, &context(), &Settings::default())
}

fn of(findings: &[Finding], rule: RuleId) -> Vec<&Finding> {
    findings.iter().filter(|f| f.rule == rule).collect()
}

fn only(findings: &[Finding], rule: RuleId) -> &Finding {
    let found = of(findings, rule);
    assert_eq!(found.len(), 1, "{rule:?}: {findings:#?}");
    found[0]
}

fn none_of(findings: &[Finding], rule: RuleId) {
    assert!(
        of(findings, rule).is_empty(),
        "{rule:?} fired: {findings:#?}"
    );
}

#[test]
fn clean_noisy_outlets_raise_nothing() {
    for seed in 1..=6 {
        let findings = run(&clean_outlet(7, seed));
        assert!(findings.is_empty(), "seed {seed}: {findings:#?}");
    }
}

// ---- Exceedance ----

#[test]
fn converted_concentration_follows_formula_28_and_guards_o2() {
    let converted = converted_concentration(30.0, 12.0, 6.0, 19.0).unwrap();
    assert!((converted - 50.0).abs() < 1e-12);
    assert_eq!(converted_concentration(30.0, 19.0, 6.0, 19.0), None);
    assert_eq!(converted_concentration(30.0, 21.0, 6.0, 25.0), None);
    assert_eq!(converted_concentration(f64::NAN, 9.0, 6.0, 19.0), None);
}

#[test]
fn exceedance_of_converted_hourly_means_is_found_for_exactly_the_exceeded_hours() {
    let mut input = clean_outlet(2, 1);
    let (from, to) = (START + 30 * HOUR, START + 33 * HOUR);
    // 33 mg/m³ measured is under 35, but at 12 % O2 it converts to 55.
    edit(&mut input, SO2, from, to, |s| {
        s.value = Some(33.0 + (s.ts % 7) as f64 * 0.1)
    });
    edit(&mut input, O2, from, to, |s| {
        s.value = Some(12.0 + (s.ts % 5) as f64 * 0.01)
    });
    let findings = run(&input);
    let found = only(&findings, RuleId::Exceedance);
    assert_eq!(
        (found.factor.as_deref(), found.from_ts, found.to_ts),
        (Some(SO2), from, to)
    );
    assert_eq!(found.values.len(), 3);
    assert_eq!(found.severity, Severity::High, "55/35 ≥ 1.5");
    assert!(found.evidence.contains("折算"), "{}", found.evidence);

    // The same measured values against a limit on measured values do not exceed.
    let mut measured = context();
    measured
        .limits
        .iter_mut()
        .for_each(|l| l.on_converted = false);
    let findings = evaluate(&input, &measured, &Settings::default());
    none_of(&findings, RuleId::Exceedance);
}

#[test]
fn hours_with_o2_at_the_guard_or_without_o2_are_not_judged() {
    let mut input = clean_outlet(2, 2);
    let (from, to) = (START + 30 * HOUR, START + 32 * HOUR);
    edit(&mut input, SO2, from, to, |s| s.value = Some(30.0));
    edit(&mut input, O2, from, START + 31 * HOUR, |s| {
        s.value = Some(19.5)
    });
    edit(&mut input, O2, START + 31 * HOUR, to, |s| {
        s.flag = DataFlag::D
    });
    none_of(&run(&input), RuleId::Exceedance);
}

#[test]
fn marked_data_and_short_hours_are_not_judged() {
    let mut input = clean_outlet(2, 3);
    edit(&mut input, SO2, START + 30 * HOUR, START + 31 * HOUR, |s| {
        s.value = Some(80.0);
        s.flag = DataFlag::M;
    });
    // 40 of 60 minutes: below the 45 valid minutes an hourly mean needs.
    edit(&mut input, SO2, START + 35 * HOUR, START + 36 * HOUR, |s| {
        s.value = Some(80.0);
        if s.ts % HOUR >= 40 * 60 {
            s.flag = DataFlag::D;
        }
    });
    none_of(&run(&input), RuleId::Exceedance);
}

#[test]
fn day_limits_judge_cst_day_means_not_single_hours() {
    let mut context = context();
    context.limits = vec![alarms::EmissionLimit {
        factor: SO2.into(),
        value: 35.0,
        averaging: Averaging::Day,
        on_converted: false,
    }];
    let mut input = clean_outlet(3, 4);
    edit(&mut input, SO2, START + 30 * HOUR, START + 31 * HOUR, |s| {
        s.value = Some(100.0)
    });
    let settings = Settings::default();
    none_of(&evaluate(&input, &context, &settings), RuleId::Exceedance);
    edit(&mut input, SO2, START + DAY, START + 2 * DAY, |s| {
        s.value = Some(40.0 + (s.ts % 3) as f64)
    });
    let findings = evaluate(&input, &context, &settings);
    let found = only(&findings, RuleId::Exceedance);
    assert_eq!((found.from_ts, found.to_ts), (START + DAY, START + 2 * DAY));
}

// ---- Device health ----

#[test]
fn offline_gap_of_all_factors_is_found_and_a_short_gap_is_not() {
    let mut input = clean_outlet(2, 5);
    let (from, to) = (START + 20 * HOUR, START + 22 * HOUR);
    for series in &mut input.series {
        series.samples.retain(|s| s.ts < from || s.ts >= to);
    }
    // 50 minutes without data elsewhere: under the one-hour threshold.
    for series in &mut input.series {
        series
            .samples
            .retain(|s| s.ts < START + 30 * HOUR || s.ts >= START + 30 * HOUR + 50 * 60);
    }
    let findings = run(&input);
    let found = only(&findings, RuleId::Offline);
    assert_eq!((found.from_ts, found.to_ts), (from, to));
}

#[test]
fn data_stopping_before_the_window_ends_is_offline_until_the_end() {
    let mut input = clean_outlet(1, 6);
    input.window.to += 3 * HOUR;
    let found = run(&input)
        .into_iter()
        .find(|f| f.rule == RuleId::Offline)
        .expect("offline");
    assert_eq!(
        (found.from_ts, found.to_ts),
        (START + DAY, START + DAY + 3 * HOUR)
    );
}

#[test]
fn low_capture_of_one_factor_over_a_day_is_found() {
    let mut input = clean_outlet(2, 7);
    // Every fifth minute of day 2 lost: 80 % capture.
    series_mut(&mut input, NOX).retain(|s| s.ts < START + DAY || (s.ts / 60) % 5 != 0);
    let findings = run(&input);
    let found = only(&findings, RuleId::LowCapture);
    assert_eq!(
        (found.factor.as_deref(), found.from_ts, found.to_ts),
        (Some(NOX), START + DAY, START + 2 * DAY)
    );
    assert!(found.evidence.contains("80%"), "{}", found.evidence);
}

#[test]
fn clock_drift_is_the_median_offset_so_late_resends_are_not_drift() {
    let checks = |offsets: &[i64]| -> Vec<ClockCheck> {
        offsets
            .iter()
            .enumerate()
            .map(|(i, offset)| {
                let received_ts = START + i as i64 * HOUR;
                ClockCheck {
                    device_ts: received_ts + offset,
                    received_ts,
                }
            })
            .collect()
    };
    let mut input = clean_outlet(1, 8);
    input.clock_checks = checks(&[610, 605, 620, 600, 615]);
    let findings = run(&input);
    let found = only(&findings, RuleId::ClockDrift);
    assert!(found.evidence.contains("快"), "{}", found.evidence);
    input.clock_checks = checks(&[2, -1, -86_400, 0, -90_000, 1, 3]);
    none_of(&run(&input), RuleId::ClockDrift);
}

#[test]
fn repeated_crc_failures_are_merged_and_occasional_ones_ignored() {
    let tally = |hour: i64, packets: u32, failures: u32| CrcTally {
        from_ts: START + hour * HOUR,
        to_ts: START + (hour + 1) * HOUR,
        packets,
        failures,
    };
    let mut input = clean_outlet(1, 9);
    input.crc_tallies = vec![
        tally(1, 60, 1),
        tally(2, 60, 20),
        tally(3, 60, 30),
        tally(4, 60, 2),
        tally(5, 60, 2),
    ];
    let findings = run(&input);
    let found = only(&findings, RuleId::CrcFailures);
    assert_eq!(
        (found.from_ts, found.to_ts),
        (START + 2 * HOUR, START + 4 * HOUR)
    );
}

// ---- Patterns ----

#[test]
fn constant_values_for_four_hours_are_found_and_three_and_a_half_are_not() {
    let mut input = clean_outlet(2, 10);
    let from = START + 26 * HOUR;
    edit(&mut input, NOX, from, from + 4 * HOUR, |s| {
        s.value = Some(31.5)
    });
    edit(&mut input, SO2, from, from + 3 * HOUR + 30 * 60, |s| {
        s.value = Some(18.2)
    });
    let findings = run(&input);
    let found = only(&findings, RuleId::ConstantValue);
    assert_eq!(
        (found.factor.as_deref(), found.from_ts, found.to_ts),
        (Some(NOX), from, from + 4 * HOUR)
    );
    assert_eq!(found.severity, Severity::High);
}

#[test]
fn near_zero_variation_of_hourly_means_over_a_day_is_found() {
    let mut input = clean_outlet(3, 11);
    let mut noise = Noise::new(99);
    // Hand-written values with added noise: 20 ± 1 % per minute, no load response.
    edit(&mut input, SO2, START + DAY, START + 2 * DAY, |s| {
        s.value = Some(round3(20.0 * (1.0 + 0.01 * noise.normal())))
    });
    let findings = run(&input);
    let found = only(&findings, RuleId::LowVariation);
    assert_eq!(
        (found.factor.as_deref(), found.from_ts, found.to_ts),
        (Some(SO2), START + DAY, START + 2 * DAY)
    );
    none_of(&findings, RuleId::ConstantValue);
}

#[test]
fn values_pinned_at_the_detection_limit_are_found() {
    let mut input = clean_outlet(2, 12);
    let mut noise = Noise::new(5);
    edit(&mut input, PM, START + DAY, START + 2 * DAY, |s| {
        s.value = Some(round3(0.5 + 0.03 * noise.uniform()))
    });
    let findings = run(&input);
    let found = only(&findings, RuleId::DetectionLimitPinned);
    assert_eq!(
        (found.factor.as_deref(), found.from_ts),
        (Some(PM), START + DAY)
    );
}

#[test]
fn three_days_within_two_percent_of_range_are_found() {
    let mut input = clean_outlet(6, 13);
    let mut noise = Noise::new(6);
    // Load-following in the hourly means (so not "low variation"), but never more than 3 of the 200 span.
    edit(&mut input, SO2, START, START + 6 * DAY, |s| {
        let phase = (s.ts % DAY) as f64 / DAY as f64 * std::f64::consts::TAU;
        s.value = Some(round3(20.0 + 1.2 * phase.sin() + 0.1 * noise.normal()));
    });
    let findings = run(&input);
    // 3-day blocks are counted from Monday 1970-01-05 CST; START happens to begin one.
    let found = of(&findings, RuleId::NarrowBand);
    let spans: Vec<_> = found
        .iter()
        .map(|f| (f.factor.as_deref(), f.from_ts, f.to_ts))
        .collect();
    assert_eq!(
        spans,
        vec![
            (Some(SO2), START, START + 3 * DAY),
            (Some(SO2), START + 3 * DAY, START + 6 * DAY)
        ]
    );
    none_of(&findings, RuleId::LowVariation);
}

#[test]
fn negative_and_over_range_values_are_found() {
    let mut input = clean_outlet(1, 14);
    edit(
        &mut input,
        NOX,
        START + 5 * HOUR,
        START + 5 * HOUR + 600,
        |s| s.value = Some(-2.0),
    );
    edit(
        &mut input,
        SO2,
        START + 8 * HOUR,
        START + 8 * HOUR + 300,
        |s| s.value = Some(250.0),
    );
    edit(
        &mut input,
        SO2,
        START + 9 * HOUR,
        START + 9 * HOUR + 120,
        |s| {
            s.value = None;
            s.flag = DataFlag::T;
        },
    );
    let findings = run(&input);
    let negative = only(&findings, RuleId::NegativeValue);
    assert_eq!(
        (negative.from_ts, negative.to_ts),
        (START + 5 * HOUR, START + 5 * HOUR + 600)
    );
    let over = of(&findings, RuleId::OverRange);
    assert_eq!(over.len(), 2, "{findings:#?}");
    assert_eq!(
        (over[0].from_ts, over[0].to_ts),
        (START + 8 * HOUR, START + 8 * HOUR + 300)
    );
    assert!(over[1].evidence.contains("未知"), "{}", over[1].evidence);
}

#[test]
fn a_step_followed_by_a_flat_line_is_found() {
    let mut input = clean_outlet(2, 15);
    let step = START + 30 * HOUR;
    let mut noise = Noise::new(7);
    edit(&mut input, SO2, step, step + 3 * HOUR, |s| {
        s.value = Some(round3(8.0 + 0.01 * noise.uniform()))
    });
    let findings = run(&input);
    let found = only(&findings, RuleId::StepThenFlat);
    assert_eq!(
        (found.factor.as_deref(), found.from_ts, found.to_ts),
        (Some(SO2), step, step + 3 * HOUR)
    );
    assert!(found.evidence.contains("突降"), "{}", found.evidence);
}

/// A week of hourly values (hourly-reporting outlet, limit on measured values) from `value(noise)`.
fn hourly_week(value: impl Fn(&mut Noise) -> f64) -> (PointInput, OutletContext) {
    hourly_week_seeded(21, value)
}

fn hourly_week_seeded(seed: u64, value: impl Fn(&mut Noise) -> f64) -> (PointInput, OutletContext) {
    let mut noise = Noise::new(seed);
    let samples = (0..7 * 24)
        .map(|h| Sample {
            ts: START + h * HOUR,
            value: Some(round3(value(&mut noise))),
            flag: DataFlag::N,
        })
        .collect();
    let input = PointInput {
        window: Window {
            from: START,
            to: START + 7 * DAY,
        },
        series: vec![Series {
            factor: SO2.into(),
            period: Period::Hour,
            samples,
        }],
        clock_checks: Vec::new(),
        crc_tallies: Vec::new(),
    };
    let mut context = context();
    context.limits.retain(|l| l.factor == SO2);
    context.limits[0].on_converted = false;
    context.reporting_interval_s = 3600;
    (input, context)
}

#[test]
fn values_pressed_just_under_the_limit_are_found() {
    for seed in 1..=8 {
        // True emissions around 36 ± 3; everything above 31.5 rewritten into [31.5, 34.9).
        let (input, context) = hourly_week_seeded(seed, |noise| {
            let real = 36.0 + 3.0 * noise.normal();
            if real >= 31.5 {
                31.5 + 3.4 * noise.uniform()
            } else {
                real
            }
        });
        let findings = evaluate(&input, &context, &Settings::default());
        // Weeks begin on Monday: START is a Tuesday, so the week judged is START to the next Monday.
        let found = only(&findings, RuleId::HoveringUnderLimit);
        assert_eq!(
            (found.from_ts, found.to_ts),
            (START, START + 6 * DAY),
            "seed {seed}"
        );
        none_of(&findings, RuleId::Exceedance);
    }
}

#[test]
fn honest_running_close_to_the_limit_is_not_hovering() {
    for seed in 1..=8 {
        // Around 32 ± 2.5: often in the band, and it exceeds as often as its spread says.
        let (input, context) = hourly_week_seeded(seed, |noise| 32.0 + 2.5 * noise.normal());
        let findings = evaluate(&input, &context, &Settings::default());
        none_of(&findings, RuleId::HoveringUnderLimit);
        assert!(!of(&findings, RuleId::Exceedance).is_empty());
        // And far from the limit, nothing at all.
        let (input, context) = hourly_week_seeded(seed, |noise| 15.0 + 3.0 * noise.normal());
        let findings = evaluate(&input, &context, &Settings::default());
        assert!(findings.is_empty(), "seed {seed}: {findings:#?}");
    }
}

#[test]
fn exceedances_reflagged_as_maintenance_afterwards_are_found() {
    let mut earlier = clean_outlet(2, 16);
    let (from, to) = (START + 40 * HOUR, START + 42 * HOUR);
    edit(&mut earlier, SO2, from, to, |s| s.value = Some(45.0));
    let mut later = earlier.clone();
    edit(&mut later, SO2, from, to, |s| s.flag = DataFlag::M);
    let settings = Settings::default();
    let findings = evaluate_reflagging(&earlier, &later, &context(), &settings);
    let found = only(&findings, RuleId::ReflaggedExceedance);
    assert_eq!((found.from_ts, found.to_ts), (from, to));
    assert!(found.evidence.contains('M'), "{}", found.evidence);
    // The later version no longer shows an exceedance by itself.
    none_of(&evaluate(&later, &context(), &settings), RuleId::Exceedance);

    // Unchanged flags, or a few maintenance minutes in an exceeded hour, are not re-flagging.
    assert!(evaluate_reflagging(&earlier, &earlier, &context(), &settings).is_empty());
    let mut few = earlier.clone();
    edit(&mut few, SO2, from, from + 10 * 60, |s| {
        s.flag = DataFlag::M
    });
    assert!(evaluate_reflagging(&earlier, &few, &context(), &settings).is_empty());
}

#[test]
fn o2_at_air_while_flow_and_temperature_say_running_is_found() {
    let mut input = clean_outlet(2, 17);
    let (from, to) = (START + 28 * HOUR, START + 30 * HOUR);
    let mut noise = Noise::new(8);
    edit(&mut input, O2, from, to, |s| {
        s.value = Some(round3(20.6 + 0.1 * noise.normal()))
    });
    let findings = run(&input);
    let found = only(&findings, RuleId::OxygenContradictsOperation);
    assert_eq!((found.from_ts, found.to_ts), (from, to));
}

#[test]
fn a_real_shutdown_is_consistent() {
    let mut input = clean_outlet(2, 18);
    let (from, to) = (START + 28 * HOUR, START + 34 * HOUR);
    let mut noise = Noise::new(9);
    for (factor, level, spread) in [
        (O2, 20.6, 0.1),
        (FLOW, 3.0, 1.0),
        (TEMPERATURE, 12.0, 1.5),
        (SO2, 1.0, 0.5),
        (NOX, 1.5, 0.5),
        (PM, 0.8, 0.2),
    ] {
        edit(&mut input, factor, from, to, |s| {
            s.value = Some(round3((level + spread * noise.normal()).abs()))
        });
    }
    let findings = run(&input);
    none_of(&findings, RuleId::OxygenContradictsOperation);
    none_of(&findings, RuleId::TemperatureAtAmbient);
    none_of(&findings, RuleId::Exceedance);
}

#[test]
fn flue_temperature_at_ambient_with_full_flow_is_found() {
    let mut input = clean_outlet(2, 19);
    let (from, to) = (START + 12 * HOUR, START + 14 * HOUR);
    let mut noise = Noise::new(10);
    edit(&mut input, TEMPERATURE, from, to, |s| {
        s.value = Some(round3(11.0 + 0.5 * noise.normal()))
    });
    edit(&mut input, FLOW, from, to, |s| {
        s.value = Some(round3(92.0 + 1.5 * noise.normal()))
    });
    let findings = run(&input);
    let found = only(&findings, RuleId::TemperatureAtAmbient);
    assert_eq!((found.from_ts, found.to_ts), (from, to));
}

#[test]
fn evidence_is_chinese_and_values_are_bounded() {
    let mut input = clean_outlet(2, 20);
    edit(&mut input, NOX, START + 26 * HOUR, START + 32 * HOUR, |s| {
        s.value = Some(31.5)
    });
    for finding in run(&input) {
        assert!(
            finding
                .evidence
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
        );
        assert!(finding.values.len() <= alarms::model::MAX_EVIDENCE_VALUES);
    }
}

#[test]
fn coalesce_folds_overlapping_runs_of_the_worker() {
    let mut input = clean_outlet(2, 21);
    edit(&mut input, NOX, START + 20 * HOUR, START + 30 * HOUR, |s| {
        s.value = Some(31.5)
    });
    let settings = Settings::default();
    let mut first = input.clone();
    first.window.to = START + 26 * HOUR;
    let mut second = input.clone();
    second.window.from = START + 24 * HOUR;
    let mut both = evaluate(&first, &context(), &settings);
    both.extend(evaluate(&second, &context(), &settings));
    let merged = alarms::coalesce(both);
    let constant = only(&merged, RuleId::ConstantValue);
    assert_eq!(
        (constant.from_ts, constant.to_ts),
        (START + 20 * HOUR, START + 30 * HOUR)
    );
}

// ---- Near misses that must stay silent ----

#[test]
fn a_load_step_to_a_noisy_new_level_is_not_step_then_flat() {
    let mut input = clean_outlet(2, 22);
    let step = START + 30 * HOUR;
    let mut noise = Noise::new(11);
    edit(&mut input, SO2, step, step + 4 * HOUR, |s| {
        s.value = Some(round3(8.0 + 0.5 * noise.normal()))
    });
    assert!(run(&input).is_empty(), "{:#?}", run(&input));
}

#[test]
fn flagged_constants_and_negatives_are_not_patterns() {
    let mut input = clean_outlet(2, 23);
    let from = START + 26 * HOUR;
    // The analyser holds its last value during calibration and reports a fault as -1: both flagged.
    edit(&mut input, NOX, from, from + 5 * HOUR, |s| {
        s.value = Some(31.5);
        s.flag = DataFlag::C;
    });
    edit(&mut input, SO2, from, from + HOUR, |s| {
        s.value = Some(-1.0);
        s.flag = DataFlag::D;
    });
    let findings = run(&input);
    for rule in [
        RuleId::ConstantValue,
        RuleId::NegativeValue,
        RuleId::StepThenFlat,
        RuleId::Exceedance,
    ] {
        none_of(&findings, rule);
    }
    // Five calibration hours leave day 2 with 79 % normal NOx values: low capture rightly fires.
    assert_eq!(of(&findings, RuleId::LowCapture).len(), 1, "{findings:#?}");
}

#[test]
fn low_values_above_the_detection_limit_are_not_pinned() {
    let mut input = clean_outlet(2, 24);
    let mut noise = Noise::new(12);
    // A well-run bag filter: 1.0 ± 0.2, twice the detection limit.
    edit(&mut input, PM, START + DAY, START + 2 * DAY, |s| {
        s.value = Some(round3(1.0 + 0.2 * noise.normal()))
    });
    let findings = run(&input);
    none_of(&findings, RuleId::DetectionLimitPinned);
    none_of(&findings, RuleId::LowVariation);
}

#[test]
fn hourly_reporting_outlets_are_judged_on_their_own_period() {
    let (input, mut context) = hourly_week(|noise| 15.0 + 3.0 * noise.normal());
    context.reporting_interval_s = 60;
    // Hourly data against a minute reporting interval: no offline gaps, full capture.
    assert!(evaluate(&input, &context, &Settings::default()).is_empty());
}

#[test]
fn equal_values_either_side_of_a_gap_are_not_a_constant_run() {
    // Integer readings: the same value before and after a five-hour gap.
    let (mut input, context) = hourly_week(|noise| (15.0 + 3.0 * noise.normal()).round());
    let samples = &mut input.series[0].samples;
    samples.retain(|s| s.ts < START + 30 * HOUR || s.ts > START + 35 * HOUR);
    for sample in samples
        .iter_mut()
        .filter(|s| s.ts == START + 29 * HOUR || s.ts == START + 36 * HOUR)
    {
        sample.value = Some(15.0);
    }
    let findings = evaluate(&input, &context, &Settings::default());
    none_of(&findings, RuleId::ConstantValue);
}

#[test]
fn clean_outlets_with_daily_calibration_and_stray_flags_raise_nothing() {
    let mut input = clean_outlet(7, 25);
    let mut noise = Noise::new(13);
    for factor in [SO2, NOX, O2] {
        for sample in series_mut(&mut input, factor) {
            let minute_of_day = (sample.ts - START).rem_euclid(DAY) / 60;
            // Zero/span check at 03:00 CST for 10 minutes: the analyser reads the test gas.
            if (180..190).contains(&minute_of_day) {
                sample.flag = DataFlag::C;
                sample.value = Some(if minute_of_day < 185 { 0.0 } else { 160.0 });
            } else if noise.uniform() < 0.002 {
                sample.flag = DataFlag::B;
                sample.value = None;
            }
        }
    }
    let findings = run(&input);
    assert!(findings.is_empty(), "{findings:#?}");
}
