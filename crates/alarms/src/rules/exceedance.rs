//! Exceedance of the permit's limits on the limit's averaging period, on converted (折算) values where the
//! limit is defined on them, and exceedances re-flagged afterwards as stopped/maintenance/manual.

use std::collections::BTreeMap;

use crate::model::{
    Averaging, EmissionLimit, Finding, OutletContext, RuleId, Severity, factor_codes,
};
use crate::prepare::{
    Prepared, cst_block_start, cst_span, evidence_values, factor_name, finding, hourly_means, num,
    runs,
};
use crate::settings::ExceedanceSettings;

/// C_zs = C × (21 − O2_ref)/(21 − O2) (HJ 212-2017 App. D formula (28), after HJ/T 75-2007).
/// `None` when O2 is at or above the guard (the factor explodes towards 21 %) or any input is not finite.
pub fn converted_concentration(
    measured: f64,
    oxygen: f64,
    reference_oxygen: f64,
    oxygen_guard: f64,
) -> Option<f64> {
    let guard = oxygen_guard.min(21.0);
    if !(measured.is_finite() && oxygen.is_finite() && reference_oxygen.is_finite())
        || oxygen >= guard
    {
        return None;
    }
    let value = measured * (21.0 - reference_oxygen) / (21.0 - oxygen);
    value.is_finite().then_some(value)
}

/// One value on the limit's averaging period, as judged against the limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Judged {
    pub ts: i64,
    pub end: i64,
    pub value: f64,
}

/// The values the limit is judged on: hourly means of normal data (≥ 45 valid minutes), converted when the
/// limit says so and a reference O2 is set (hours without O2 or with O2 at the guard are not judged), then
/// CST-day means of those hours (≥ 20 hours) for day limits.
pub(crate) fn judged_values(
    prepared: &Prepared,
    context: &OutletContext,
    limit: &EmissionLimit,
    settings: &ExceedanceSettings,
) -> Vec<Judged> {
    let Some(series) = prepared.series.get(&limit.factor) else {
        return Vec::new();
    };
    let hours = hourly_means(series, settings.min_minutes_per_hour);
    let hours: Vec<(i64, f64)> = match (limit.on_converted, context.reference_oxygen) {
        (true, Some(reference)) => {
            let oxygen: BTreeMap<i64, f64> = prepared
                .series
                .get(factor_codes::OXYGEN)
                .map(|o2| {
                    hourly_means(o2, settings.min_minutes_per_hour)
                        .into_iter()
                        .collect()
                })
                .unwrap_or_default();
            hours
                .into_iter()
                .filter_map(|(ts, measured)| {
                    let o2 = *oxygen.get(&ts)?;
                    Some((
                        ts,
                        converted_concentration(measured, o2, reference, settings.oxygen_guard)?,
                    ))
                })
                .collect()
        }
        // No reference O2 set: the measured dry-standard value is the one reported (formula (28) note).
        _ => hours,
    };
    let window = prepared.window;
    match limit.averaging {
        Averaging::Hour => hours
            .into_iter()
            .map(|(ts, value)| Judged {
                ts,
                end: ts.saturating_add(3600).min(window.to),
                value,
            })
            .collect(),
        Averaging::Day => {
            let mut days: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
            for (ts, value) in hours {
                days.entry(cst_block_start(ts, 86_400))
                    .or_default()
                    .push(value);
            }
            days.into_iter()
                .filter(|(_, values)| values.len() >= settings.min_hours_per_day)
                .map(|(day, values)| Judged {
                    ts: day.max(window.from),
                    end: day.saturating_add(86_400).min(window.to),
                    value: values.iter().sum::<f64>() / values.len() as f64,
                })
                .collect()
        }
    }
}

fn usable(limit: &EmissionLimit) -> bool {
    limit.value.is_finite() && limit.value > 0.0
}

fn basis(limit: &EmissionLimit, context: &OutletContext) -> String {
    let kind = match limit.averaging {
        Averaging::Hour => "小时均值",
        Averaging::Day => "日均值",
    };
    match (limit.on_converted, context.reference_oxygen) {
        (true, Some(reference)) => format!("折算（基准氧含量 {}%）{kind}", num(reference)),
        _ => format!("实测{kind}"),
    }
}

/// Consecutive exceeded periods into one finding each.
pub(crate) fn exceedances(
    prepared: &Prepared,
    context: &OutletContext,
    settings: &ExceedanceSettings,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for limit in context.limits.iter().filter(|limit| usable(limit)) {
        let judged = judged_values(prepared, context, limit, settings);
        for run in runs(&judged, |j| j.value > limit.value, |a, b| a.end == b.ts) {
            let run = &judged[run];
            let worst = run.iter().map(|j| j.value).fold(f64::MIN, f64::max);
            let ratio = worst / limit.value;
            let severity = if ratio >= settings.high_ratio {
                Severity::High
            } else {
                Severity::Medium
            };
            let (from, to) = (run[0].ts, run[run.len() - 1].end);
            let evidence = format!(
                "{} {}在 {} 共 {} 个时段超过排放限值 {}，最高 {}（限值的 {} 倍）。",
                factor_name(&limit.factor),
                basis(limit, context),
                cst_span(from, to),
                run.len(),
                num(limit.value),
                num(worst),
                num(ratio),
            );
            let values = evidence_values(run.iter().map(|j| (j.ts, j.value)));
            out.push(finding(
                prepared.window,
                RuleId::Exceedance,
                Some(&limit.factor),
                (from, to),
                severity,
                evidence,
                values,
            ));
        }
    }
    out
}

/// Periods that exceeded in the `earlier` version and whose normal samples the `later` version marks F, M
/// or S: at least half of them, so one maintenance minute in an exceeded hour is not enough.
pub(crate) fn reflagged(
    earlier: &Prepared,
    later: &Prepared,
    context: &OutletContext,
    settings: &ExceedanceSettings,
) -> Vec<Finding> {
    let mut out = Vec::new();
    for limit in context.limits.iter().filter(|limit| usable(limit)) {
        let (Some(before), Some(after)) = (
            earlier.series.get(&limit.factor),
            later.series.get(&limit.factor),
        ) else {
            continue;
        };
        let after_flags: BTreeMap<i64, crate::DataFlag> =
            after.samples.iter().map(|s| (s.ts, s.flag)).collect();
        let judged = judged_values(earlier, context, limit, settings);
        let remarked: Vec<(Judged, usize, Vec<char>)> = judged
            .into_iter()
            .filter(|j| j.value > limit.value)
            .filter_map(|j| {
                let normal_before: Vec<i64> = before
                    .samples
                    .iter()
                    .filter(|s| j.ts <= s.ts && s.ts < j.end && s.valid().is_some())
                    .map(|s| s.ts)
                    .collect();
                let mut marks: Vec<char> = normal_before
                    .iter()
                    .filter_map(|ts| after_flags.get(ts).filter(|flag| flag.is_operator_mark()))
                    .map(|flag| flag.as_char())
                    .collect();
                let count = marks.len();
                marks.sort_unstable();
                marks.dedup();
                (count > 0 && count * 2 >= normal_before.len()).then_some((j, count, marks))
            })
            .collect();
        for run in runs(&remarked, |_| true, |a, b| a.0.end == b.0.ts) {
            let run = &remarked[run];
            let (from, to) = (run[0].0.ts, run[run.len() - 1].0.end);
            let worst = run.iter().map(|r| r.0.value).fold(f64::MIN, f64::max);
            let count: usize = run.iter().map(|r| r.1).sum();
            let mut marks: Vec<char> = run.iter().flat_map(|r| r.2.iter().copied()).collect();
            marks.sort_unstable();
            marks.dedup();
            let marks: String = marks.into_iter().collect();
            let evidence = format!(
                "{} 在 {} 原为正常数据且{}超过限值 {}（最高 {}），之后其中 {} 个数据被改标为 {}（停运F/维护M/手工S）。标记数据不参与超标判定，需核实标记依据。",
                factor_name(&limit.factor),
                cst_span(from, to),
                basis(limit, context),
                num(limit.value),
                num(worst),
                count,
                marks,
            );
            let values = evidence_values(run.iter().map(|r| (r.0.ts, r.0.value)));
            out.push(finding(
                earlier.window,
                RuleId::ReflaggedExceedance,
                Some(&limit.factor),
                (from, to),
                Severity::High,
                evidence,
                values,
            ));
        }
    }
    out
}
