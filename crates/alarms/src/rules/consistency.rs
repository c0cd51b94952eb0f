//! Physically inconsistent combinations of O2, flue temperature and flow ("自动监控数据异常的18种情况": "O2 says
//! stopped but other parameters disagree"; flue temperature vs operation).

use std::collections::BTreeMap;

use crate::model::{Finding, OutletContext, RuleId, Severity, factor_codes};
use crate::prepare::{
    Prepared, cst_span, evidence_values, finding, num, percent, period_end, quantile, runs,
};
use crate::settings::ConsistencySettings;

fn valid_map(prepared: &Prepared, factor: &str) -> BTreeMap<i64, f64> {
    prepared
        .series
        .get(factor)
        .map(|series| {
            series
                .samples
                .iter()
                .filter_map(|s| s.valid().map(|v| (s.ts, v)))
                .collect()
        })
        .unwrap_or_default()
}

/// Rated flow from the context, else the 90th percentile of the normal flow values (needs 10 of them).
fn rated_flow(context: &OutletContext, flows: &BTreeMap<i64, f64>) -> Option<f64> {
    let rated = match context.rated_flow {
        Some(rated) => rated,
        None if flows.len() >= 10 => quantile(&flows.values().copied().collect::<Vec<_>>(), 0.9),
        None => return None,
    };
    (rated.is_finite() && rated > 0.0).then_some(rated)
}

/// One instant where the readings contradict each other.
#[derive(Debug, Clone, Copy)]
struct Instant {
    ts: i64,
    contradicts: bool,
    subject: f64,
    flow: f64,
    temperature: Option<f64>,
    ambient: Option<f64>,
}

pub(crate) fn inconsistencies(
    prepared: &Prepared,
    context: &OutletContext,
    settings: &ConsistencySettings,
) -> Vec<Finding> {
    let flows = valid_map(prepared, factor_codes::FLUE_FLOW);
    let Some(rated) = rated_flow(context, &flows) else {
        return Vec::new();
    };
    let temperatures = valid_map(prepared, factor_codes::FLUE_TEMPERATURE);
    let ambients = valid_map(prepared, factor_codes::AMBIENT_TEMPERATURE);
    let ambient_at = |ts: i64| ambients.get(&ts).copied().or(context.ambient_temperature);
    let mut out = Vec::new();

    // O2 near air while flow (and, when known, temperature) say the stack is running.
    if let Some(oxygen) = prepared.series.get(factor_codes::OXYGEN) {
        let instants: Vec<Instant> = oxygen
            .samples
            .iter()
            .filter_map(|s| {
                let (o2, flow) = (s.valid()?, *flows.get(&s.ts)?);
                let temperature = temperatures.get(&s.ts).copied();
                let ambient = ambient_at(s.ts);
                let hot = match (temperature, ambient) {
                    (Some(t), Some(a)) => t >= a + settings.running_temperature_rise,
                    _ => true,
                };
                let running = flow >= settings.running_flow_share * rated && hot;
                Some(Instant {
                    ts: s.ts,
                    contradicts: o2 >= settings.stopped_oxygen && running,
                    subject: o2,
                    flow,
                    temperature,
                    ambient,
                })
            })
            .collect();
        let period = oxygen.period.seconds();
        out.extend(report(prepared, &instants, period, settings, |run, (from, to)| {
            format!(
                "{} 氧含量 {}～{}%（接近空气 21%，通常表示停炉或漏风），同时烟气流量 {}～{}（额定约 {}，≥{}）{}，工况与氧含量矛盾，持续 {} 小时。",
                cst_span(from, to),
                num(min_of(run, |i| i.subject)),
                num(max_of(run, |i| i.subject)),
                num(min_of(run, |i| i.flow)),
                num(max_of(run, |i| i.flow)),
                num(rated),
                percent(settings.running_flow_share),
                temperature_note(run),
                num(to.saturating_sub(from) as f64 / 3600.0),
            )
        }, RuleId::OxygenContradictsOperation, factor_codes::OXYGEN));
    }

    // Flue temperature at ambient with full flow: combustion gas is never at ambient.
    if let Some(temperature) = prepared.series.get(factor_codes::FLUE_TEMPERATURE) {
        let instants: Vec<Instant> = temperature
            .samples
            .iter()
            .filter_map(|s| {
                let (t, flow, ambient) = (s.valid()?, *flows.get(&s.ts)?, ambient_at(s.ts)?);
                let contradicts = (t - ambient).abs() <= settings.ambient_tolerance
                    && flow >= settings.full_flow_share * rated;
                Some(Instant {
                    ts: s.ts,
                    contradicts,
                    subject: t,
                    flow,
                    temperature: Some(t),
                    ambient: Some(ambient),
                })
            })
            .collect();
        let period = temperature.period.seconds();
        out.extend(report(prepared, &instants, period, settings, |run, (from, to)| {
            format!(
                "{} 烟气温度 {}～{}℃，与环境温度（约 {}℃）相差不超过 {}℃，同时烟气流量 {}～{}（额定约 {} 的 {} 以上），满负荷排气不可能处于环境温度。",
                cst_span(from, to),
                num(min_of(run, |i| i.subject)),
                num(max_of(run, |i| i.subject)),
                num(run[0].ambient.unwrap_or(f64::NAN)),
                num(settings.ambient_tolerance),
                num(min_of(run, |i| i.flow)),
                num(max_of(run, |i| i.flow)),
                num(rated),
                percent(settings.full_flow_share),
            )
        }, RuleId::TemperatureAtAmbient, factor_codes::FLUE_TEMPERATURE));
    }
    out
}

fn temperature_note(run: &[Instant]) -> String {
    match (run[0].temperature, run[0].ambient) {
        (Some(t), Some(a)) => format!("、烟温 {}℃（环境约 {}℃）", num(t), num(a)),
        _ => String::new(),
    }
}

fn min_of(run: &[Instant], pick: fn(&Instant) -> f64) -> f64 {
    run.iter().map(pick).fold(f64::INFINITY, f64::min)
}

fn max_of(run: &[Instant], pick: fn(&Instant) -> f64) -> f64 {
    run.iter().map(pick).fold(f64::NEG_INFINITY, f64::max)
}

/// Runs of contradicting instants (no gap longer than two periods) lasting at least `min_duration_s`.
fn report(
    prepared: &Prepared,
    instants: &[Instant],
    period: i64,
    settings: &ConsistencySettings,
    evidence: impl Fn(&[Instant], (i64, i64)) -> String,
    rule: RuleId,
    factor: &str,
) -> Vec<Finding> {
    let window = prepared.window;
    runs(
        instants,
        |i| i.contradicts,
        |a, b| b.ts.saturating_sub(a.ts) <= period.saturating_mul(2),
    )
    .into_iter()
    .filter_map(|run| {
        let run = &instants[run];
        let (from, to) = (run[0].ts, period_end(run[run.len() - 1].ts, period, window));
        (to.saturating_sub(from) >= settings.min_duration_s).then(|| {
            let values = evidence_values(run.iter().map(|i| (i.ts, i.subject)));
            finding(
                window,
                rule,
                Some(factor),
                (from, to),
                Severity::Medium,
                evidence(run, (from, to)),
                values,
            )
        })
    })
    .collect()
}
