//! What a worker does with a fresh run's findings, given the findings of alarms it already stored: which
//! alarms to extend and which to raise. Re-running the same window changes nothing.

use serde::{Deserialize, Serialize};

use crate::model::Finding;
use crate::rules::coalesce;

/// The finding of a stored alarm, and whether the alarm is still open (not closed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownFinding {
    pub finding: Finding,
    pub open: bool,
}

/// One thing for the worker to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// Replace the finding of the open alarm `known[index]` (the episode went on).
    Extend { index: usize, finding: Finding },
    /// Raise a new alarm.
    Raise { finding: Finding },
}

/// Fresh findings (coalesced among themselves) against the known ones of the same rule and factor:
/// - lying wholly within a known finding: nothing (already alarmed, whatever the alarm's state);
/// - continuing an open alarm: `Extend` it with the merged finding;
/// - continuing only closed alarms: `Raise` a new alarm for the part after the latest of them (the evidence
///   still describes the whole run), so a closed false positive is not raised again for the same hours;
/// - anything else: `Raise`.
///
/// Several open alarms continuing one fresh finding: the first (lowest index) is extended.
pub fn reconcile(known: &[KnownFinding], fresh: Vec<Finding>) -> Vec<Outcome> {
    let mut out = Vec::new();
    let mut extended: Vec<Option<Finding>> = vec![None; known.len()];
    for finding in coalesce(fresh) {
        let related: Vec<(usize, &KnownFinding)> = known
            .iter()
            .enumerate()
            .filter(|(_, k)| k.finding.continues(&finding))
            .collect();
        let covered = related
            .iter()
            .any(|(_, k)| k.finding.from_ts <= finding.from_ts && finding.to_ts <= k.finding.to_ts);
        if covered {
            continue;
        }
        if let Some(&(index, k)) = related.iter().find(|(_, k)| k.open) {
            let base = extended[index].take().unwrap_or_else(|| k.finding.clone());
            extended[index] = Some(base.merged(finding));
            continue;
        }
        let closed_until = related.iter().map(|(_, k)| k.finding.to_ts).max();
        let mut finding = finding;
        if let Some(until) = closed_until {
            finding.from_ts = finding.from_ts.max(until);
            finding.values.retain(|v| v.ts >= until);
        }
        out.push(Outcome::Raise { finding });
    }
    let mut all: Vec<Outcome> = extended
        .into_iter()
        .enumerate()
        .filter_map(|(index, finding)| {
            let finding = finding.filter(|f| *f != known[index].finding)?;
            Some(Outcome::Extend { index, finding })
        })
        .collect();
    all.extend(out);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EvidenceValue, RuleId, Severity};

    fn finding(rule: RuleId, from_ts: i64, to_ts: i64) -> Finding {
        Finding {
            rule,
            factor: Some("a21026".into()),
            from_ts,
            to_ts,
            severity: Severity::Medium,
            evidence: format!("{from_ts}-{to_ts}"),
            values: vec![
                EvidenceValue {
                    ts: from_ts,
                    value: 1.0,
                },
                EvidenceValue {
                    ts: to_ts - 1,
                    value: 2.0,
                },
            ],
        }
    }

    fn known(finding: Finding, open: bool) -> KnownFinding {
        KnownFinding { finding, open }
    }

    #[test]
    fn the_same_run_again_changes_nothing() {
        let stored = vec![known(finding(RuleId::ConstantValue, 0, 100), true)];
        assert!(reconcile(&stored, vec![finding(RuleId::ConstantValue, 0, 100)]).is_empty());
        assert!(reconcile(&stored, vec![finding(RuleId::ConstantValue, 20, 80)]).is_empty());
    }

    #[test]
    fn a_continuing_episode_extends_the_open_alarm() {
        let stored = vec![known(finding(RuleId::ConstantValue, 0, 100), true)];
        let outcomes = reconcile(&stored, vec![finding(RuleId::ConstantValue, 50, 160)]);
        let [Outcome::Extend { index: 0, finding }] = outcomes.as_slice() else {
            panic!("{outcomes:#?}")
        };
        assert_eq!(
            (finding.from_ts, finding.to_ts, finding.evidence.as_str()),
            (0, 160, "50-160")
        );
    }

    #[test]
    fn a_continuing_episode_after_a_closed_alarm_raises_only_the_new_part() {
        let stored = vec![known(finding(RuleId::ConstantValue, 0, 100), false)];
        let outcomes = reconcile(&stored, vec![finding(RuleId::ConstantValue, 50, 160)]);
        let [Outcome::Raise { finding }] = outcomes.as_slice() else {
            panic!("{outcomes:#?}")
        };
        assert_eq!((finding.from_ts, finding.to_ts), (100, 160));
        assert!(finding.values.iter().all(|v| v.ts >= 100));
    }

    #[test]
    fn other_rules_factors_and_separate_episodes_raise() {
        let stored = vec![known(finding(RuleId::ConstantValue, 0, 100), true)];
        let mut other_factor = finding(RuleId::ConstantValue, 0, 100);
        other_factor.factor = Some("a21002".into());
        let outcomes = reconcile(
            &stored,
            vec![
                finding(RuleId::Exceedance, 0, 100),
                other_factor,
                finding(RuleId::ConstantValue, 200, 300),
            ],
        );
        assert_eq!(outcomes.len(), 3, "{outcomes:#?}");
        assert!(outcomes.iter().all(|o| matches!(o, Outcome::Raise { .. })));
    }
}
