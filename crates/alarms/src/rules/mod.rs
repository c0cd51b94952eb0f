//! The rules. A worker calls [`evaluate`] per point and window, [`evaluate_reflagging`] when a stored series
//! changed its flags, and [`coalesce`] to fold a new run's findings into the ones already stored.

mod consistency;
mod exceedance;
mod health;
mod patterns;

pub use exceedance::converted_concentration;

use crate::model::{Finding, OutletContext, PointInput};
use crate::prepare::Prepared;
use crate::settings::Settings;

/// Every rule on one point's window. Deterministic; ordered by start, rule, factor. Never panics: see
/// [`crate::prepare`] for how odd input (NaN, unsorted, duplicates, empty) is treated.
pub fn evaluate(input: &PointInput, context: &OutletContext, settings: &Settings) -> Vec<Finding> {
    let prepared = Prepared::new(input);
    if prepared.is_empty_window() {
        return Vec::new();
    }
    let mut out = Vec::new();
    out.extend(exceedance::exceedances(
        &prepared,
        context,
        &settings.exceedance,
    ));
    out.extend(health::offline(&prepared, context, &settings.health));
    out.extend(health::low_capture(&prepared, &settings.health));
    out.extend(health::clock_drift(
        &prepared,
        &input.clock_checks,
        &settings.health,
    ));
    out.extend(health::crc_failures(
        &prepared,
        &input.crc_tallies,
        &settings.health,
    ));
    out.extend(patterns::constant_values(&prepared, &settings.patterns));
    out.extend(patterns::low_variation(
        &prepared,
        context,
        &settings.patterns,
        &settings.exceedance,
    ));
    out.extend(patterns::detection_limit_pinned(
        &prepared,
        context,
        &settings.patterns,
    ));
    out.extend(patterns::narrow_band(
        &prepared,
        context,
        &settings.patterns,
    ));
    out.extend(patterns::out_of_range(&prepared, context));
    out.extend(patterns::step_then_flat(&prepared, &settings.patterns));
    out.extend(patterns::hovering_under_limit(
        &prepared,
        context,
        &settings.patterns,
        &settings.exceedance,
    ));
    out.extend(consistency::inconsistencies(
        &prepared,
        context,
        &settings.consistency,
    ));
    sort(&mut out);
    out
}

/// Exceedances in `earlier` (the series as first received) that `later` (the same window now) marks as
/// stopped, maintenance or manual. Findings lie within `earlier.window`.
pub fn evaluate_reflagging(
    earlier: &PointInput,
    later: &PointInput,
    context: &OutletContext,
    settings: &Settings,
) -> Vec<Finding> {
    let (earlier, later) = (Prepared::new(earlier), Prepared::new(later));
    if earlier.is_empty_window() {
        return Vec::new();
    }
    let mut out = exceedance::reflagged(&earlier, &later, context, &settings.exceedance);
    sort(&mut out);
    out
}

/// Folds findings of the same rule and factor whose spans overlap or touch into one (the union of the spans,
/// the higher severity, the evidence of the latest-starting one, values merged by time). Lets a worker that
/// re-runs over overlapping windows keep one alarm per episode.
pub fn coalesce(findings: Vec<Finding>) -> Vec<Finding> {
    let mut sorted = findings;
    sorted.sort_by(|a, b| {
        (a.rule, &a.factor, a.from_ts, a.to_ts).cmp(&(b.rule, &b.factor, b.from_ts, b.to_ts))
    });
    let mut out: Vec<Finding> = Vec::new();
    for next in sorted {
        match out.last_mut() {
            Some(current) if current.continues(&next) => *current = current.merged(next),
            _ => out.push(next),
        }
    }
    sort(&mut out);
    out
}

fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| (a.from_ts, a.rule, &a.factor).cmp(&(b.from_ts, b.rule, &b.factor)));
}
