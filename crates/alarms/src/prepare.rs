//! Cleaning of the inputs every rule shares, and small helpers (hourly means, statistics, Chinese text).
//!
//! Behaviour on odd input, for every rule: samples are sorted by time; a timestamp seen twice keeps its first
//! sample; samples outside the window are dropped; NaN and ±infinity count as a missing value (the flag is
//! kept). A window with `to <= from` yields no findings.

use std::collections::BTreeMap;

use crate::model::{
    EvidenceValue, Finding, MAX_EVIDENCE_VALUES, Period, PointInput, Sample, Window,
};

/// A sample whose value, if any, is finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Clean {
    pub ts: i64,
    pub value: Option<f64>,
    pub flag: crate::DataFlag,
}

impl Clean {
    /// The value when the flag is normal: what exceedance and pattern rules judge.
    pub fn valid(&self) -> Option<f64> {
        if self.flag.is_normal() {
            self.value
        } else {
            None
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CleanSeries {
    pub period: Period,
    pub samples: Vec<Clean>,
}

/// The input with every series cleaned, keyed by factor code (a factor given twice keeps its first series).
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub window: Window,
    pub series: BTreeMap<String, CleanSeries>,
}

impl Prepared {
    pub fn new(input: &PointInput) -> Prepared {
        let window = input.window;
        let mut series = BTreeMap::new();
        if window.to > window.from {
            for one in &input.series {
                series
                    .entry(one.factor.clone())
                    .or_insert_with(|| CleanSeries {
                        period: one.period,
                        samples: clean(&one.samples, window),
                    });
            }
        }
        Prepared { window, series }
    }

    pub fn is_empty_window(&self) -> bool {
        self.window.to <= self.window.from
    }
}

pub(crate) fn clean(samples: &[Sample], window: Window) -> Vec<Clean> {
    let mut out: Vec<Clean> = samples
        .iter()
        .filter(|sample| window.contains(sample.ts))
        .map(|sample| Clean {
            ts: sample.ts,
            value: sample.value.filter(|value| value.is_finite()),
            flag: sample.flag,
        })
        .collect();
    out.sort_by_key(|sample| sample.ts);
    out.dedup_by_key(|sample| sample.ts);
    out
}

/// End of the period that begins at `ts`, never past the window.
pub(crate) fn period_end(ts: i64, period_s: i64, window: Window) -> i64 {
    ts.saturating_add(period_s).min(window.to).max(ts)
}

/// Hourly means of the normal values, UTC-hour aligned (which is also CST-hour aligned). Minute data need
/// `min_minutes` valid minutes (HJ 212 App. D: 45); hourly data are taken as they are.
pub(crate) fn hourly_means(series: &CleanSeries, min_minutes: usize) -> Vec<(i64, f64)> {
    match series.period {
        Period::Hour => series
            .samples
            .iter()
            .filter_map(|sample| sample.valid().map(|value| (hour_of(sample.ts), value)))
            .collect(),
        Period::Minute => {
            let mut out = Vec::new();
            let mut current: Option<(i64, f64, usize)> = None;
            for sample in &series.samples {
                let Some(value) = sample.valid() else {
                    continue;
                };
                let hour = hour_of(sample.ts);
                match &mut current {
                    Some((at, sum, count)) if *at == hour => {
                        *sum += value;
                        *count += 1;
                    }
                    _ => {
                        if let Some(done) = current.take() {
                            push_mean(&mut out, done, min_minutes);
                        }
                        current = Some((hour, value, 1));
                    }
                }
            }
            if let Some(done) = current {
                push_mean(&mut out, done, min_minutes);
            }
            out
        }
    }
}

fn push_mean(out: &mut Vec<(i64, f64)>, (hour, sum, count): (i64, f64, usize), min: usize) {
    let mean = sum / count as f64;
    if count >= min && mean.is_finite() {
        out.push((hour, mean));
    }
}

pub(crate) fn hour_of(ts: i64) -> i64 {
    ts.saturating_sub(ts.rem_euclid(3600))
}

/// CST is UTC+8 all year.
pub(crate) const CST_OFFSET_S: i64 = 8 * 3600;

/// Monday 1970-01-05 00:00 CST, in UTC seconds: where blocks are counted from.
const BLOCK_ANCHOR: i64 = 4 * 86_400 - CST_OFFSET_S;

/// Start (UTC s) of the block of `block_s` seconds holding `ts`. Blocks are counted from a CST Monday
/// midnight, so days begin at CST midnight and weeks on Monday, and every run of the worker cuts the same
/// blocks whatever its window.
pub(crate) fn cst_block_start(ts: i64, block_s: i64) -> i64 {
    let block_s = block_s.max(1);
    let offset = (ts as i128 - BLOCK_ANCHOR as i128).div_euclid(block_s as i128) * block_s as i128;
    (BLOCK_ANCHOR as i128 + offset).clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

pub(crate) fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

pub(crate) fn std_dev(values: &[f64]) -> f64 {
    let m = mean(values);
    (values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / values.len() as f64).sqrt()
}

/// Median of finite values (sorts a copy).
pub(crate) fn median(values: &[f64]) -> f64 {
    quantile(values, 0.5)
}

pub(crate) fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let low = position.floor() as usize;
    let high = position.ceil() as usize;
    sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64)
}

/// Standard normal CDF (Abramowitz–Stegun 7.1.26 erf, error < 1.5e-7: plenty for a share estimate).
pub(crate) fn normal_cdf(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// Evenly thinned to at most [`MAX_EVIDENCE_VALUES`], first and last kept.
pub(crate) fn evidence_values(points: impl IntoIterator<Item = (i64, f64)>) -> Vec<EvidenceValue> {
    let all: Vec<EvidenceValue> = points
        .into_iter()
        .map(|(ts, value)| EvidenceValue { ts, value })
        .collect();
    if all.len() <= MAX_EVIDENCE_VALUES {
        return all;
    }
    let last = all.len() - 1;
    (0..MAX_EVIDENCE_VALUES)
        .map(|i| all[i * last / (MAX_EVIDENCE_VALUES - 1)])
        .collect()
}

/// CST local time for the evidence text, e.g. `2026-12-01 08:00`.
pub(crate) fn cst(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts.saturating_add(CST_OFFSET_S), 0)
        .map(|time| time.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| ts.to_string())
}

/// A span for the evidence text: `2026-12-01 08:00 至 2026-12-01 12:00`.
pub(crate) fn cst_span(from: i64, to: i64) -> String {
    format!("{} 至 {}", cst(from), cst(to))
}

/// 中文 name of the common outlet factors, the code otherwise.
pub(crate) fn factor_name(code: &str) -> String {
    let name = match code {
        "a21026" => "二氧化硫",
        "a21002" => "氮氧化物",
        "a34013" => "颗粒物",
        "a19001" => "氧含量",
        "a01012" => "烟气温度",
        "a01011" => "烟气流速",
        "a00000" => "废气流量",
        "a01001" => "环境温度",
        "w01018" => "化学需氧量",
        "w21003" => "氨氮",
        "w21011" => "总磷",
        "w21001" => "总氮",
        "w01001" => "pH",
        "w00000" => "污水流量",
        _ => return code.to_string(),
    };
    format!("{name}({code})")
}

/// Numbers in evidence: up to 3 decimals, trailing zeros dropped.
pub(crate) fn num(value: f64) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

pub(crate) fn percent(share: f64) -> String {
    format!("{}%", num(share * 100.0))
}

/// Builds a finding clamped to the window.
pub(crate) fn finding(
    window: Window,
    rule: crate::RuleId,
    factor: Option<&str>,
    (from_ts, to_ts): (i64, i64),
    severity: crate::Severity,
    evidence: String,
    values: Vec<EvidenceValue>,
) -> Finding {
    let from_ts = from_ts.clamp(window.from, window.to);
    let to_ts = to_ts.clamp(from_ts, window.to);
    Finding {
        rule,
        factor: factor.map(str::to_string),
        from_ts,
        to_ts,
        severity,
        evidence,
        values,
    }
}

/// Maximal runs of consecutive items that satisfy `keep`, where each item also `joins` the one before it
/// (e.g. no time gap). Index ranges into `items`.
pub(crate) fn runs<T>(
    items: &[T],
    keep: impl Fn(&T) -> bool,
    joins: impl Fn(&T, &T) -> bool,
) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (index, item) in items.iter().enumerate() {
        let kept = keep(item);
        if let Some(begin) = start
            && (!kept || !joins(&items[index - 1], item))
        {
            out.push(begin..index);
            start = None;
        }
        if kept && start.is_none() {
            start = Some(index);
        }
    }
    if let Some(begin) = start {
        out.push(begin..items.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DataFlag;

    #[test]
    fn cleaning_sorts_dedups_drops_outside_and_non_finite() {
        let window = Window { from: 0, to: 300 };
        let samples = [
            Sample {
                ts: 120,
                value: Some(f64::NAN),
                flag: DataFlag::N,
            },
            Sample {
                ts: 60,
                value: Some(1.0),
                flag: DataFlag::N,
            },
            Sample {
                ts: 60,
                value: Some(2.0),
                flag: DataFlag::N,
            },
            Sample {
                ts: 600,
                value: Some(3.0),
                flag: DataFlag::N,
            },
            Sample {
                ts: 0,
                value: Some(f64::INFINITY),
                flag: DataFlag::M,
            },
        ];
        let out = clean(&samples, window);
        let got: Vec<_> = out.iter().map(|s| (s.ts, s.value, s.flag)).collect();
        assert_eq!(
            got,
            vec![
                (0, None, DataFlag::M),
                (60, Some(1.0), DataFlag::N),
                (120, None, DataFlag::N)
            ]
        );
    }

    #[test]
    fn cst_blocks_start_at_cst_midnight() {
        // 2026-12-01 00:00 CST = 2026-11-30 16:00 UTC.
        let midnight = 1_796_054_400;
        assert_eq!(cst(midnight), "2026-12-01 00:00");
        assert_eq!(cst_block_start(midnight + 5 * 3600, 86_400), midnight);
        assert_eq!(cst_block_start(midnight - 1, 86_400), midnight - 86_400);
        // Weeks begin on Monday 2026-11-30.
        assert_eq!(
            cst_block_start(midnight + 3 * 86_400, 7 * 86_400),
            midnight - 86_400
        );
    }

    #[test]
    fn normal_cdf_is_close_to_tables() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
        assert!((normal_cdf(-1.0) - 0.158_655).abs() < 1e-5);
    }

    #[test]
    fn runs_split_on_rejected_items_and_broken_joins() {
        let items = [1, 2, 0, 4, 5, 9, 10];
        let got = runs(&items, |v| *v != 0, |a, b| b - a == 1);
        assert_eq!(got, vec![0..2, 3..5, 5..7]);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(num(35.0), "35");
        assert_eq!(num(35.1234), "35.123");
        assert_eq!(num(-0.0001), "0");
        assert_eq!(percent(0.125), "12.5%");
    }
}
