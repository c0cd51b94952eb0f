//! Falsified or abnormal data patterns (as regulators' lists name them: "自动监控数据异常的18种情况", on-site
//! inspection checklists): constant values, near-zero variation,
//! pinned at the detection limit, narrow band within 2 % of range, negative and over-range values, step then
//! flat, hovering just under the limit.

use crate::model::{Finding, OutletContext, RuleId, Severity, factor_codes};
use crate::prepare::{
    Clean, CleanSeries, Prepared, cst_block_start, cst_span, evidence_values, factor_name, finding,
    hourly_means, mean, median, normal_cdf, num, percent, period_end, runs, std_dev,
};
use crate::rules::exceedance::judged_values;
use crate::settings::{ExceedanceSettings, PatternSettings};

/// Normal samples with a value: what the pattern rules judge.
fn valid_points(series: &CleanSeries) -> Vec<(i64, f64)> {
    series
        .samples
        .iter()
        .filter_map(|s| s.valid().map(|v| (s.ts, v)))
        .collect()
}

fn same_value(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance * a.abs().max(b.abs()).max(1.0)
}

/// Runs of identical normal values lasting at least `constant_min_s`; any other sample breaks a run.
pub(crate) fn constant_values(prepared: &Prepared, settings: &PatternSettings) -> Vec<Finding> {
    let window = prepared.window;
    let mut out = Vec::new();
    for (factor, series) in &prepared.series {
        let period = series.period.seconds();
        let samples = &series.samples;
        let mut start = 0;
        while start < samples.len() {
            let Some(level) = samples[start].valid() else {
                start += 1;
                continue;
            };
            let mut end = start + 1;
            while end < samples.len()
                && samples[end]
                    .valid()
                    .is_some_and(|v| same_value(v, level, settings.constant_tolerance))
            {
                end += 1;
            }
            let (from, to) = (
                samples[start].ts,
                period_end(samples[end - 1].ts, period, window),
            );
            // Two equal values either side of a long gap are no constant run: the span must be covered.
            let span = to.saturating_sub(from);
            let covered =
                (end - start) as f64 >= settings.min_block_coverage * (span / period) as f64;
            if span >= settings.constant_min_s && covered {
                let zero = level == 0.0;
                let evidence = format!(
                    "{} 在 {} 连续 {} 个数据恒为 {}，持续 {} 小时（阈值 {} 小时）{}。",
                    factor_name(factor),
                    cst_span(from, to),
                    end - start,
                    num(level),
                    num(to.saturating_sub(from) as f64 / 3600.0),
                    num(settings.constant_min_s as f64 / 3600.0),
                    if zero {
                        "；恒为零可能是停运未标记"
                    } else {
                        ""
                    },
                );
                let severity = if zero {
                    Severity::Medium
                } else {
                    Severity::High
                };
                let values = evidence_values(
                    samples[start..end]
                        .iter()
                        .filter_map(|s| s.valid().map(|v| (s.ts, v))),
                );
                out.push(finding(
                    window,
                    RuleId::ConstantValue,
                    Some(factor),
                    (from, to),
                    severity,
                    evidence,
                    values,
                ));
            }
            start = end;
        }
    }
    out
}

/// CST-aligned blocks of `block_s` that hold at least one point, with their points.
fn blocks(points: &[(i64, f64)], block_s: i64) -> Vec<(i64, Vec<(i64, f64)>)> {
    let mut out: Vec<(i64, Vec<(i64, f64)>)> = Vec::new();
    for &(ts, value) in points {
        let start = cst_block_start(ts, block_s);
        match out.last_mut() {
            Some((at, members)) if *at == start => members.push((ts, value)),
            _ => out.push((start, vec![(ts, value)])),
        }
    }
    out
}

fn values_of(points: &[(i64, f64)]) -> Vec<f64> {
    points.iter().map(|p| p.1).collect()
}

/// One finding per CST-aligned block of `points` that has `enough` points and that `judge` turns into
/// evidence, given the block's points and its span within the window.
fn judge_blocks(
    prepared: &Prepared,
    (rule, severity): (RuleId, Severity),
    factor: &str,
    points: &[(i64, f64)],
    block_s: i64,
    enough: impl Fn(usize) -> bool,
    judge: impl Fn(&[(i64, f64)], (i64, i64)) -> Option<String>,
) -> Vec<Finding> {
    let window = prepared.window;
    let block_s = block_s.max(3600);
    blocks(points, block_s)
        .into_iter()
        .filter(|(_, members)| enough(members.len()))
        .filter_map(|(start, members)| {
            let span = (
                start.max(window.from),
                start.saturating_add(block_s).min(window.to),
            );
            let evidence = judge(&members, span)?;
            Some(finding(
                window,
                rule,
                Some(factor),
                span,
                severity,
                evidence,
                evidence_values(members),
            ))
        })
        .collect()
}

/// Whether a block of `block_s` holds enough of a series' points (`period_s` apart) to be judged.
fn covered(count: usize, block_s: i64, period_s: i64, settings: &PatternSettings) -> bool {
    count >= 2
        && count as f64 >= settings.min_block_coverage * (block_s.max(3600) / period_s) as f64
}

fn is_steady(factor: &str, settings: &PatternSettings) -> bool {
    settings.steady_factors.iter().any(|f| f == factor)
}

/// Coefficient of variation of the hourly means per block, for factors not exempt as naturally steady.
pub(crate) fn low_variation(
    prepared: &Prepared,
    context: &OutletContext,
    settings: &PatternSettings,
    exceedance: &ExceedanceSettings,
) -> Vec<Finding> {
    let block = settings.low_variation_block_s;
    let mut out = Vec::new();
    for (factor, series) in prepared
        .series
        .iter()
        .filter(|(f, _)| !is_steady(f, settings))
    {
        let floor = context.detection_limit(factor).unwrap_or(0.0).max(1e-9);
        let hours = hourly_means(series, exceedance.min_minutes_per_hour);
        let enough = |count: usize| covered(count, block, 3600, settings);
        out.extend(judge_blocks(prepared, (RuleId::LowVariation, Severity::Medium), factor, &hours, block, enough, |points, (from, to)| {
            let values = values_of(points);
            let level = mean(&values);
            let cv = std_dev(&values) / level.abs();
            (level.abs() > floor && cv < settings.low_variation_max_cv).then(|| {
                format!(
                    "{} 在 {} 的 {} 个小时均值几乎不变：均值 {}，变异系数 {}（阈值 {}），正常生产中负荷变化应使小时均值有明显波动。",
                    factor_name(factor),
                    cst_span(from, to),
                    points.len(),
                    num(level),
                    percent(cv),
                    percent(settings.low_variation_max_cv),
                )
            })
        }));
    }
    out
}

/// Blocks where most normal samples sit at the detection limit (method 检出限; inspection checklists: data
/// "hovering around the detection limit").
pub(crate) fn detection_limit_pinned(
    prepared: &Prepared,
    context: &OutletContext,
    settings: &PatternSettings,
) -> Vec<Finding> {
    let block = settings.pinned_block_s;
    let mut out = Vec::new();
    for (factor, series) in &prepared.series {
        let Some(limit) = context
            .detection_limit(factor)
            .filter(|l| l.is_finite() && *l > 0.0)
        else {
            continue;
        };
        let ceiling = limit * (1.0 + settings.pinned_tolerance);
        let enough = |count: usize| covered(count, block, series.period.seconds(), settings);
        let points = valid_points(series);
        out.extend(judge_blocks(prepared, (RuleId::DetectionLimitPinned, Severity::Low), factor, &points, block, enough, |points, (from, to)| {
            let at_limit = points.iter().filter(|p| p.1 <= ceiling).count();
            let share = at_limit as f64 / points.len() as f64;
            (share >= settings.pinned_min_share).then(|| {
                format!(
                    "{} 在 {} 的 {} 个有效数据中 {} 个（{}）不高于检出限 {} 的 {} 倍，数据长期徘徊在检出限附近。",
                    factor_name(factor),
                    cst_span(from, to),
                    points.len(),
                    at_limit,
                    percent(share),
                    num(limit),
                    num(1.0 + settings.pinned_tolerance),
                )
            })
        }));
    }
    out
}

/// Blocks whose normal samples all lie within a band of 2 % of the instrument span.
pub(crate) fn narrow_band(
    prepared: &Prepared,
    context: &OutletContext,
    settings: &PatternSettings,
) -> Vec<Finding> {
    let block = settings.narrow_band_block_s;
    let mut out = Vec::new();
    for (factor, series) in prepared
        .series
        .iter()
        .filter(|(f, _)| !is_steady(f, settings))
    {
        let Some(range) = context.range(factor) else {
            continue;
        };
        let span = range.high - range.low;
        if !(span.is_finite() && span > 0.0) {
            continue;
        }
        let enough = |count: usize| covered(count, block, series.period.seconds(), settings);
        let points = valid_points(series);
        out.extend(judge_blocks(prepared, (RuleId::NarrowBand, Severity::Medium), factor, &points, block, enough, |points, (from, to)| {
            let values = values_of(points);
            let low = values.iter().copied().fold(f64::INFINITY, f64::min);
            let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (high - low <= settings.narrow_band_share * span).then(|| {
                format!(
                    "{} 在 {} 的 {} 个有效数据全部落在 {}～{} 之间，波动幅度 {} 不超过量程 {}～{} 的 {}。",
                    factor_name(factor),
                    cst_span(from, to),
                    points.len(),
                    num(low),
                    num(high),
                    num(high - low),
                    num(range.low),
                    num(range.high),
                    percent(settings.narrow_band_share),
                )
            })
        }));
    }
    out
}

/// Negative normal values (below the range's low end when that is negative) and normal values above the
/// range or samples flagged T, as runs.
pub(crate) fn out_of_range(prepared: &Prepared, context: &OutletContext) -> Vec<Finding> {
    let window = prepared.window;
    let mut out = Vec::new();
    for (factor, series) in &prepared.series {
        let period = series.period.seconds();
        let range = context.range(factor);
        let floor = range
            .map(|r| r.low.min(0.0))
            .filter(|l| l.is_finite())
            .unwrap_or(0.0);
        let negative_allowed = factor == factor_codes::AMBIENT_TEMPERATURE;
        let is_negative = |s: &Clean| !negative_allowed && s.valid().is_some_and(|v| v < floor);
        // Calibration, fault and communication values are test gas or garbage, not the flue gas.
        let is_over = |s: &Clean| {
            s.flag == crate::DataFlag::T
                || range.is_some_and(|r| s.valid().is_some_and(|v| v > r.high))
        };
        let samples = &series.samples;
        for (rule, test) in [
            (
                RuleId::NegativeValue,
                &is_negative as &dyn Fn(&Clean) -> bool,
            ),
            (RuleId::OverRange, &is_over),
        ] {
            for run in runs(samples, test, |_, _| true) {
                let run = &samples[run];
                let (from, to) = (run[0].ts, period_end(run[run.len() - 1].ts, period, window));
                let values: Vec<(i64, f64)> = run
                    .iter()
                    .filter_map(|s| s.value.map(|v| (s.ts, v)))
                    .collect();
                let evidence = match rule {
                    RuleId::NegativeValue => format!(
                        "{} 在 {} 连续 {} 个正常标记数据为负值，最低 {}。",
                        factor_name(factor),
                        cst_span(from, to),
                        run.len(),
                        extreme(&values, f64::min),
                    ),
                    _ => format!(
                        "{} 在 {} 连续 {} 个数据超出仪器量程{}或标记为 T（超测量上限），最高 {}；超量程时段的真实浓度未知。",
                        factor_name(factor),
                        cst_span(from, to),
                        run.len(),
                        range
                            .map(|r| format!(" {}～{} ", num(r.low), num(r.high)))
                            .unwrap_or_default(),
                        extreme(&values, f64::max),
                    ),
                };
                let severity = if rule == RuleId::OverRange {
                    Severity::Medium
                } else {
                    Severity::Low
                };
                out.push(finding(
                    window,
                    rule,
                    Some(factor),
                    (from, to),
                    severity,
                    evidence,
                    evidence_values(values),
                ));
            }
        }
    }
    out
}

/// The lowest or highest value for the evidence, "未知" when the run has no value (flag T alone).
fn extreme(points: &[(i64, f64)], pick: fn(f64, f64) -> f64) -> String {
    points
        .iter()
        .map(|p| p.1)
        .reduce(pick)
        .map(num)
        .unwrap_or_else(|| "未知".into())
}

/// A flat run (max − min within `flat_band` of its level for `flat_min_s` and `flat_min_samples`) right
/// after a step away from a live (not flat) stretch before it.
pub(crate) fn step_then_flat(prepared: &Prepared, settings: &PatternSettings) -> Vec<Finding> {
    let window = prepared.window;
    let mut out = Vec::new();
    let before_count = settings.flat_min_samples.max(3);
    for (factor, series) in &prepared.series {
        let period = series.period.seconds();
        let points = valid_points(series);
        let mut start = 0;
        while start < points.len() {
            let level = points[start].1;
            let band = settings.flat_band * level.abs().max(1e-6);
            let (mut low, mut high) = (level, level);
            let mut end = start + 1;
            while end < points.len() {
                let value = points[end].1;
                if value.max(high) - value.min(low) > band {
                    break;
                }
                low = low.min(value);
                high = high.max(value);
                end += 1;
            }
            let flat = &points[start..end];
            let (from, to) = (
                flat[0].0,
                period_end(flat[flat.len() - 1].0, period, window),
            );
            let long_enough = flat.len() >= settings.flat_min_samples
                && to.saturating_sub(from) >= settings.flat_min_s;
            if long_enough && start >= before_count {
                let before = &points[start - before_count..start];
                let before_values = values_of(before);
                let (before_mean, before_sd) = (mean(&before_values), std_dev(&before_values));
                let before_range = before_values
                    .iter()
                    .copied()
                    .fold(f64::NEG_INFINITY, f64::max)
                    - before_values.iter().copied().fold(f64::INFINITY, f64::min);
                let flat_level = mean(&values_of(flat));
                let step = (flat_level - before_mean).abs();
                let recent =
                    from.saturating_sub(before[0].0) <= settings.flat_min_s.saturating_mul(2);
                if recent
                    && before_range > band
                    && step >= settings.step_min_ratio * before_mean.abs()
                    && step >= settings.step_min_sigmas * before_sd
                {
                    let direction = if flat_level > before_mean {
                        "突升"
                    } else {
                        "突降"
                    };
                    let evidence = format!(
                        "{} 于 {} 由此前均值 {} {}至 {}，随后 {} 个数据在 {}～{} 之间保持平稳，持续 {} 小时。",
                        factor_name(factor),
                        crate::prepare::cst(from),
                        num(before_mean),
                        direction,
                        num(flat_level),
                        flat.len(),
                        num(low),
                        num(high),
                        num(to.saturating_sub(from) as f64 / 3600.0),
                    );
                    let values = evidence_values(before.iter().chain(flat.iter()).copied());
                    out.push(finding(
                        window,
                        RuleId::StepThenFlat,
                        Some(factor),
                        (from, to),
                        Severity::High,
                        evidence,
                        values,
                    ));
                }
            }
            start = end.max(start + 1);
        }
    }
    out
}

/// 贴限排放: per CST-aligned block of judged values, many in [0.9·limit, limit) while the series' own
/// distribution (median, 1.4826·MAD) predicts values at or above the limit that are not there.
pub(crate) fn hovering_under_limit(
    prepared: &Prepared,
    context: &OutletContext,
    settings: &PatternSettings,
    exceedance: &ExceedanceSettings,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for limit in context
        .limits
        .iter()
        .filter(|l| l.value.is_finite() && l.value > 0.0)
    {
        let judged: Vec<(i64, f64)> = judged_values(prepared, context, limit, exceedance)
            .into_iter()
            .map(|j| (j.ts, j.value))
            .collect();
        let enough = |count: usize| count >= settings.hovering_min_values.max(2);
        let block = settings.hovering_block_s;
        out.extend(judge_blocks(prepared, (RuleId::HoveringUnderLimit, Severity::High), &limit.factor, &judged, block, enough, |points, (from, to)| {
            let n = points.len();
            let values = values_of(points);
            let band_low = settings.hovering_band_from * limit.value;
            let in_band = values.iter().filter(|v| **v >= band_low && **v < limit.value).count();
            let above = values.iter().filter(|v| **v >= limit.value).count();
            let band_share = in_band as f64 / n as f64;
            let centre = median(&values);
            let deviations: Vec<f64> = values.iter().map(|v| (v - centre).abs()).collect();
            let spread = (1.4826 * median(&deviations)).max(1e-6 * limit.value);
            let expected_above = n as f64 * (1.0 - normal_cdf((limit.value - centre) / spread));
            let pressed = band_share >= settings.hovering_min_band_share
                && expected_above >= settings.hovering_min_expected_above
                && above as f64 <= settings.hovering_max_above_ratio * expected_above;
            pressed.then(|| {
                format!(
                    "{} 在 {} 的 {} 个判定值中 {} 个（{}）落在限值 {} 的 {}～100% 之间；按序列自身分布（中位数 {}，稳健标准差 {}）应有约 {} 个达到或超过限值，实际 {} 个，数据疑似被压在限值以下。",
                    factor_name(&limit.factor),
                    cst_span(from, to),
                    n,
                    in_band,
                    percent(band_share),
                    num(limit.value),
                    percent(settings.hovering_band_from),
                    num(centre),
                    num(spread),
                    num(expected_above.round()),
                    above,
                )
            })
        }));
    }
    out
}
