//! Alarm statistics per enterprise and month (CST month of the raising), including the false-positive rate.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::lifecycle::{Alarm, AlarmState, Deadlines, Verdict};
use crate::model::RuleId;
use crate::prepare::CST_OFFSET_S;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthStats {
    pub enterprise_id: i64,
    /// `YYYY-MM` in China Standard Time.
    pub month: String,
    pub total: u32,
    pub by_rule: BTreeMap<RuleId, u32>,
    /// Alarms with a verdict, and how many of each.
    pub verified: u32,
    pub by_verdict: BTreeMap<Verdict, u32>,
    /// False positives / verified alarms; `None` while none is verified (0 would claim a perfect record).
    pub false_positive_rate: Option<f64>,
    /// Not yet closed.
    pub open: u32,
    /// Open and past the deadline of their next step at `now`.
    pub overdue: u32,
}

/// One row per enterprise and month that raised at least one alarm, ordered by enterprise then month.
pub fn monthly_stats(alarms: &[Alarm], now: i64, deadlines: &Deadlines) -> Vec<MonthStats> {
    let mut rows: BTreeMap<(i64, String), MonthStats> = BTreeMap::new();
    for alarm in alarms {
        let month = cst_month(alarm.raised_at);
        let row = rows
            .entry((alarm.enterprise_id, month.clone()))
            .or_insert_with(|| MonthStats {
                enterprise_id: alarm.enterprise_id,
                month,
                total: 0,
                by_rule: BTreeMap::new(),
                verified: 0,
                by_verdict: BTreeMap::new(),
                false_positive_rate: None,
                open: 0,
                overdue: 0,
            });
        row.total += 1;
        *row.by_rule.entry(alarm.finding.rule).or_default() += 1;
        if let Some(verdict) = alarm.verdict() {
            row.verified += 1;
            *row.by_verdict.entry(verdict).or_default() += 1;
        }
        if alarm.state != AlarmState::Closed {
            row.open += 1;
        }
        if alarm.is_overdue(now, deadlines) {
            row.overdue += 1;
        }
    }
    rows.into_values()
        .map(|mut row| {
            let false_positives = row
                .by_verdict
                .get(&Verdict::FalsePositive)
                .copied()
                .unwrap_or(0);
            row.false_positive_rate =
                (row.verified > 0).then(|| f64::from(false_positives) / f64::from(row.verified));
            row
        })
        .collect()
}

fn cst_month(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts.saturating_add(CST_OFFSET_S), 0)
        .map(|time| time.format("%Y-%m").to_string())
        .unwrap_or_else(|| "invalid".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::{Action, Step};
    use crate::model::{Finding, Severity};

    fn alarm(id: i64, enterprise: i64, rule: RuleId, raised_at: i64) -> Alarm {
        let finding = Finding {
            rule,
            factor: None,
            from_ts: raised_at - 3600,
            to_ts: raised_at,
            severity: Severity::Medium,
            evidence: String::new(),
            values: Vec::new(),
        };
        Alarm::raise(id, enterprise, 1, finding, raised_at)
    }

    fn verified(alarm: Alarm, verdict: Verdict) -> Alarm {
        let step = Step {
            by: "officer".into(),
            at: alarm.raised_at + 60,
            note: "核实".into(),
        };
        alarm.apply(Action::Verify { verdict, step }).unwrap()
    }

    #[test]
    fn counts_by_rule_and_verdict_per_enterprise_and_cst_month() {
        // 2026-11-30 16:00 UTC is 2026-12-01 00:00 CST.
        let december = 1_796_054_400;
        let alarms = vec![
            verified(alarm(1, 10, RuleId::Exceedance, december), Verdict::True),
            verified(
                alarm(2, 10, RuleId::Exceedance, december + 60),
                Verdict::FalsePositive,
            ),
            verified(
                alarm(3, 10, RuleId::ConstantValue, december + 120),
                Verdict::FalsePositive,
            ),
            alarm(4, 10, RuleId::Offline, december + 180),
            alarm(5, 10, RuleId::Offline, december - 1),
            alarm(6, 11, RuleId::Offline, december),
        ];
        let now = december + 2 * 86_400;
        let rows = monthly_stats(&alarms, now, &Deadlines::default());
        assert_eq!(rows.len(), 3);
        assert_eq!(
            (rows[0].enterprise_id, rows[0].month.as_str(), rows[0].total),
            (10, "2026-11", 1)
        );
        assert_eq!(rows[0].false_positive_rate, None);
        let december_row = &rows[1];
        assert_eq!(
            (december_row.month.as_str(), december_row.total),
            ("2026-12", 4)
        );
        assert_eq!(december_row.by_rule[&RuleId::Exceedance], 2);
        assert_eq!(december_row.verified, 3);
        assert_eq!(december_row.by_verdict[&Verdict::FalsePositive], 2);
        assert!((december_row.false_positive_rate.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(december_row.open, 4);
        // Only the unverified one is past its one-day verification deadline.
        assert_eq!(december_row.overdue, 1);
        assert_eq!(rows[2].enterprise_id, 11);
    }
}
