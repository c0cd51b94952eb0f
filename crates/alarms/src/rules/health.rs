//! Device health: offline, low capture, clock drift, repeated CRC failures.

use crate::model::{ClockCheck, CrcTally, Finding, OutletContext, RuleId, Severity};
use crate::prepare::{
    Prepared, cst, cst_block_start, cst_span, evidence_values, factor_name, finding, median, num,
    percent, runs,
};
use crate::settings::HealthSettings;

/// Gaps with no sample of any factor (any flag: a packet came) of at least the offline threshold, including
/// before the first and after the last sample of the window.
pub(crate) fn offline(
    prepared: &Prepared,
    context: &OutletContext,
    settings: &HealthSettings,
) -> Vec<Finding> {
    let window = prepared.window;
    if prepared.is_empty_window() {
        return Vec::new();
    }
    let interval = context.reporting_interval_s.max(1);
    let threshold = settings
        .offline_after_s
        .max(interval.saturating_mul(3))
        .max(60);
    let mut arrivals: Vec<i64> = prepared
        .series
        .values()
        .flat_map(|series| series.samples.iter().map(|s| s.ts))
        .collect();
    arrivals.sort_unstable();
    arrivals.dedup();
    // A gap starts where the last period before it ends.
    let mut gaps = Vec::new();
    let mut covered_until = window.from;
    for ts in arrivals {
        if ts.saturating_sub(covered_until) >= threshold {
            gaps.push((covered_until, ts));
        }
        covered_until = covered_until.max(ts.saturating_add(interval));
    }
    if window.to.saturating_sub(covered_until) >= threshold {
        gaps.push((covered_until, window.to));
    }
    gaps.into_iter()
        .map(|(from, to)| {
            let hours = to.saturating_sub(from) as f64 / 3600.0;
            let severity = if hours >= 24.0 {
                Severity::High
            } else {
                Severity::Medium
            };
            let evidence = format!(
                "{} 无任何数据上传，持续 {} 小时（阈值 {} 分钟）。",
                cst_span(from, to),
                num(hours),
                threshold / 60,
            );
            finding(
                window,
                RuleId::Offline,
                None,
                (from, to),
                severity,
                evidence,
                Vec::new(),
            )
        })
        .collect()
}

/// At most this many capture blocks are judged per factor, the latest ones: a year of days. Bounds the work
/// when a caller passes an enormous window.
pub const MAX_CAPTURE_BLOCKS: i64 = 366;

/// Per factor and CST-aligned block lying wholly in the window: normal samples / expected samples.
pub(crate) fn low_capture(prepared: &Prepared, settings: &HealthSettings) -> Vec<Finding> {
    let window = prepared.window;
    let block = settings.capture_block_s.max(3600);
    // Whole blocks: from the first block boundary at or after `from` to the last one at or before `to`.
    let last_end = cst_block_start(window.to, block);
    let mut first_start = cst_block_start(window.from, block);
    if first_start < window.from {
        first_start = first_start.saturating_add(block);
    }
    let count =
        ((i128::from(last_end) - i128::from(first_start)) / i128::from(block)).max(0) as i64;
    let count = count.min(MAX_CAPTURE_BLOCKS);
    let mut out = Vec::new();
    for (factor, series) in &prepared.series {
        let expected = (block / series.period.seconds()) as f64;
        for index in (1..=count).rev() {
            // Within [first_start, last_end] by construction of `count`, so the i128 result fits.
            let start = (i128::from(last_end) - i128::from(index) * i128::from(block)) as i64;
            let end = start.saturating_add(block);
            let samples = &series.samples;
            let (first, past) = (
                samples.partition_point(|s| s.ts < start),
                samples.partition_point(|s| s.ts < end),
            );
            let normal = samples[first..past]
                .iter()
                .filter(|s| s.valid().is_some())
                .count();
            let rate = normal as f64 / expected;
            if rate < settings.min_capture_rate {
                let evidence = format!(
                    "{} 在 {} 有效数据 {} 个，应有 {} 个，采集率 {}（要求不低于 {}）。",
                    factor_name(factor),
                    cst_span(start, end),
                    normal,
                    num(expected),
                    percent(rate),
                    percent(settings.min_capture_rate),
                );
                let severity = if rate < 0.5 {
                    Severity::Medium
                } else {
                    Severity::Low
                };
                out.push(finding(
                    window,
                    RuleId::LowCapture,
                    Some(factor),
                    (start, end),
                    severity,
                    evidence,
                    Vec::new(),
                ));
            }
        }
    }
    out
}

/// Median signed offset (device − receive) of the checks received in the window. The median keeps a few
/// legitimately late re-sends from looking like a wrong clock.
pub(crate) fn clock_drift(
    prepared: &Prepared,
    checks: &[ClockCheck],
    settings: &HealthSettings,
) -> Vec<Finding> {
    let window = prepared.window;
    let mut inside: Vec<&ClockCheck> = checks
        .iter()
        .filter(|c| window.contains(c.received_ts))
        .collect();
    if inside.len() < settings.min_clock_checks.max(1) {
        return Vec::new();
    }
    inside.sort_by_key(|c| c.received_ts);
    let offsets: Vec<f64> = inside
        .iter()
        .map(|c| c.device_ts.saturating_sub(c.received_ts) as f64)
        .collect();
    let offset = median(&offsets);
    if offset.abs() <= settings.max_clock_offset_s as f64 {
        return Vec::new();
    }
    let from = inside[0].received_ts;
    let to = inside[inside.len() - 1].received_ts.saturating_add(1);
    let direction = if offset > 0.0 { "快" } else { "慢" };
    let evidence = format!(
        "{} 期间 {} 次时间比对，设备时间比平台接收时间{} {} 秒（中位数，阈值 {} 秒），数据时段可能错位，需校时（HJ 212 指令 1012）。",
        cst_span(from, to),
        inside.len(),
        direction,
        num(offset.abs()),
        settings.max_clock_offset_s,
    );
    let values = evidence_values(inside.iter().map(|c| {
        (
            c.received_ts,
            c.device_ts.saturating_sub(c.received_ts) as f64,
        )
    }));
    let severity = if offset.abs() >= 3600.0 {
        Severity::Medium
    } else {
        Severity::Low
    };
    vec![finding(
        window,
        RuleId::ClockDrift,
        None,
        (from, to),
        severity,
        evidence,
        values,
    )]
}

/// Tallies with enough failures, both in count and in share; adjacent ones merged.
pub(crate) fn crc_failures(
    prepared: &Prepared,
    tallies: &[CrcTally],
    settings: &HealthSettings,
) -> Vec<Finding> {
    let window = prepared.window;
    let mut inside: Vec<&CrcTally> = tallies
        .iter()
        .filter(|t| window.contains(t.from_ts) && t.to_ts >= t.from_ts)
        .collect();
    inside.sort_by_key(|t| t.from_ts);
    let bad = |t: &&CrcTally| {
        let packets = t.packets.max(t.failures).max(1);
        t.failures >= settings.crc_min_failures
            && f64::from(t.failures) / f64::from(packets) >= settings.crc_min_share
    };
    runs(&inside, bad, |a, b| b.from_ts <= a.to_ts)
        .into_iter()
        .map(|run| {
            let run = &inside[run];
            let from = run[0].from_ts;
            let to = run.iter().map(|t| t.to_ts).max().unwrap_or(from);
            let failures: u64 = run.iter().map(|t| u64::from(t.failures)).sum();
            let packets: u64 = run.iter().map(|t| u64::from(t.packets.max(t.failures))).sum();
            let evidence = format!(
                "{} 收到 {} 个数据包，其中 {} 个 CRC 校验失败（{}），自 {} 起持续；可能是设备 CRC 算法不符或数据在传输中被改动。",
                cst_span(from, to),
                packets,
                failures,
                percent(failures as f64 / packets.max(1) as f64),
                cst(from),
            );
            let values = evidence_values(run.iter().map(|t| (t.from_ts, f64::from(t.failures))));
            finding(window, RuleId::CrcFailures, None, (from, to), Severity::Low, evidence, values)
        })
        .collect()
}
