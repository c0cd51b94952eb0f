//! The alarm lifecycle as a pure state machine: raised → verified (true / equipment fault / false positive)
//! → handled → closed, with deadlines. A false positive needs no handling and may be closed straight away.
//!
//! Every step returns a new [`Alarm`]; the store keeps the old one as history if it wants.

use serde::{Deserialize, Serialize};

use crate::model::{Finding, RuleId, Severity};

/// The district officer's conclusion after checking the alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The enterprise really exceeded or the data really are abnormal.
    True,
    /// The monitoring equipment failed (the operator must repair and report).
    EquipmentFault,
    /// The rule fired on legitimate data.
    FalsePositive,
}

impl Verdict {
    pub fn name_zh(self) -> &'static str {
        match self {
            Verdict::True => "属实",
            Verdict::EquipmentFault => "设备故障",
            Verdict::FalsePositive => "误报",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmState {
    Raised,
    Verified,
    Handled,
    Closed,
}

/// Who did a step, when, and what they wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Account name or id of the officer.
    pub by: String,
    /// UTC seconds.
    pub at: i64,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub verdict: Verdict,
    pub step: Step,
}

/// What an officer does to an alarm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    Verify { verdict: Verdict, step: Step },
    Handle { step: Step },
    Close { step: Step },
}

impl Action {
    fn step(&self) -> &Step {
        match self {
            Action::Verify { step, .. } | Action::Handle { step } | Action::Close { step } => step,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Action::Verify { .. } => "verify",
            Action::Handle { .. } => "handle",
            Action::Close { .. } => "close",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("cannot {action} an alarm that is {from:?}")]
    IllegalTransition {
        from: AlarmState,
        action: &'static str,
    },
    #[error("a note is required")]
    EmptyNote,
    #[error("the officer is required")]
    MissingOfficer,
    #[error("the step is dated before the previous one")]
    BeforePreviousStep,
    #[error("only an alarm verified as true can become an inspection lead")]
    NotVerifiedTrue,
}

/// Time allowed for each step (our choice; the bureau can change them): verification within a day keeps the
/// data fresh enough to check with the operator, handling within a week fits a repair or a correction order,
/// closing within three days of handling is the desk review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Deadlines {
    pub verify_within_s: i64,
    pub handle_within_s: i64,
    pub close_within_s: i64,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            verify_within_s: 86_400,
            handle_within_s: 7 * 86_400,
            close_within_s: 3 * 86_400,
        }
    }
}

/// One alarm raised from a finding at one point of one enterprise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    /// Assigned by the store.
    pub id: i64,
    pub enterprise_id: i64,
    pub point_id: i64,
    pub finding: Finding,
    pub raised_at: i64,
    pub state: AlarmState,
    pub verification: Option<Verification>,
    pub handling: Option<Step>,
    pub closure: Option<Step>,
}

impl Alarm {
    pub fn raise(
        id: i64,
        enterprise_id: i64,
        point_id: i64,
        finding: Finding,
        raised_at: i64,
    ) -> Alarm {
        Alarm {
            id,
            enterprise_id,
            point_id,
            finding,
            raised_at,
            state: AlarmState::Raised,
            verification: None,
            handling: None,
            closure: None,
        }
    }

    /// When the last step happened.
    fn last_step_at(&self) -> i64 {
        [
            Some(self.raised_at),
            self.verification.as_ref().map(|v| v.step.at),
            self.handling.as_ref().map(|s| s.at),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(self.raised_at)
    }

    pub fn verdict(&self) -> Option<Verdict> {
        self.verification.as_ref().map(|v| v.verdict)
    }

    /// The alarm after `action`, or why the action is refused. Notes and officers are required; steps may
    /// not be dated before the previous one.
    pub fn apply(&self, action: Action) -> Result<Alarm, LifecycleError> {
        let step = action.step();
        if step.note.trim().is_empty() {
            return Err(LifecycleError::EmptyNote);
        }
        if step.by.trim().is_empty() {
            return Err(LifecycleError::MissingOfficer);
        }
        let illegal = LifecycleError::IllegalTransition {
            from: self.state,
            action: action.name(),
        };
        let mut next = self.clone();
        match (self.state, self.verdict(), action.clone()) {
            (AlarmState::Raised, _, Action::Verify { verdict, step }) => {
                next.verification = Some(Verification { verdict, step });
                next.state = AlarmState::Verified;
            }
            (
                AlarmState::Verified,
                Some(Verdict::True | Verdict::EquipmentFault),
                Action::Handle { step },
            ) => {
                next.handling = Some(step);
                next.state = AlarmState::Handled;
            }
            (AlarmState::Verified, Some(Verdict::FalsePositive), Action::Close { step })
            | (AlarmState::Handled, _, Action::Close { step }) => {
                next.closure = Some(step);
                next.state = AlarmState::Closed;
            }
            _ => return Err(illegal),
        }
        if action.step().at < self.last_step_at() {
            return Err(LifecycleError::BeforePreviousStep);
        }
        Ok(next)
    }

    /// When the next step is due, `None` once closed.
    pub fn deadline(&self, deadlines: &Deadlines) -> Option<i64> {
        let due = |from: i64, within: i64| Some(from.saturating_add(within));
        match self.state {
            AlarmState::Raised => due(self.raised_at, deadlines.verify_within_s),
            AlarmState::Verified => {
                let at = self
                    .verification
                    .as_ref()
                    .map_or(self.raised_at, |v| v.step.at);
                match self.verdict() {
                    Some(Verdict::FalsePositive) => due(at, deadlines.close_within_s),
                    _ => due(at, deadlines.handle_within_s),
                }
            }
            AlarmState::Handled => {
                let at = self.handling.as_ref().map_or(self.raised_at, |s| s.at);
                due(at, deadlines.close_within_s)
            }
            AlarmState::Closed => None,
        }
    }

    pub fn is_overdue(&self, now: i64, deadlines: &Deadlines) -> bool {
        self.deadline(deadlines).is_some_and(|due| now > due)
    }

    /// The off-site inspection lead for the enforcement area. Only alarms verified as true qualify, in any
    /// later state; the lead carries what the enforcement officer needs without reading the alarm.
    pub fn inspection_lead(&self) -> Result<InspectionLead, LifecycleError> {
        let Some(Verification {
            verdict: Verdict::True,
            step,
        }) = &self.verification
        else {
            return Err(LifecycleError::NotVerifiedTrue);
        };
        Ok(InspectionLead {
            alarm_id: self.id,
            enterprise_id: self.enterprise_id,
            point_id: self.point_id,
            rule: self.finding.rule,
            factor: self.finding.factor.clone(),
            from_ts: self.finding.from_ts,
            to_ts: self.finding.to_ts,
            severity: self.finding.severity,
            summary: format!("{}：{}", self.finding.rule.name_zh(), self.finding.evidence),
            verified_by: step.by.clone(),
            verified_at: step.at,
            verification_note: step.note.clone(),
        })
    }
}

/// A clue for off-site enforcement (非现场执法, 生态环境部《关于严格规范生态环境行政检查 大力提升执法质效的通知》,
/// 2025). A check it triggers is a case (个案) check, not counted against routine inspection caps
/// (国办发〔2024〕54号; e.g. 浙环发〔2025〕13号).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectionLead {
    pub alarm_id: i64,
    pub enterprise_id: i64,
    pub point_id: i64,
    pub rule: RuleId,
    pub factor: Option<String>,
    pub from_ts: i64,
    pub to_ts: i64,
    pub severity: Severity,
    /// Rule name and the finding's evidence, in Chinese.
    pub summary: String,
    pub verified_by: String,
    pub verified_at: i64,
    pub verification_note: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alarm() -> Alarm {
        let finding = Finding {
            rule: RuleId::Exceedance,
            factor: Some("a21026".into()),
            from_ts: 0,
            to_ts: 3600,
            severity: Severity::High,
            evidence: "超标".into(),
            values: Vec::new(),
        };
        Alarm::raise(7, 1, 2, finding, 4000)
    }

    fn step(at: i64, note: &str) -> Step {
        Step {
            by: "officer-1".into(),
            at,
            note: note.into(),
        }
    }

    fn verify(verdict: Verdict, at: i64) -> Action {
        Action::Verify {
            verdict,
            step: step(at, "现场核实"),
        }
    }

    #[test]
    fn true_alarm_goes_through_every_state_and_becomes_a_lead() {
        let raised = alarm();
        assert!(raised.inspection_lead().is_err());
        let verified = raised.apply(verify(Verdict::True, 5000)).unwrap();
        assert_eq!(verified.state, AlarmState::Verified);
        let handled = verified
            .apply(Action::Handle {
                step: step(6000, "责令整改"),
            })
            .unwrap();
        let closed = handled
            .apply(Action::Close {
                step: step(7000, "复核完毕"),
            })
            .unwrap();
        assert_eq!(closed.state, AlarmState::Closed);
        let lead = closed.inspection_lead().unwrap();
        assert_eq!(
            (lead.alarm_id, lead.enterprise_id, lead.verified_at),
            (7, 1, 5000)
        );
        assert!(lead.summary.starts_with("超标排放"));
    }

    #[test]
    fn false_positive_closes_without_handling_and_is_no_lead() {
        let verified = alarm().apply(verify(Verdict::FalsePositive, 5000)).unwrap();
        assert!(matches!(
            verified.apply(Action::Handle {
                step: step(6000, "x")
            }),
            Err(LifecycleError::IllegalTransition {
                from: AlarmState::Verified,
                action: "handle"
            })
        ));
        let closed = verified
            .apply(Action::Close {
                step: step(6000, "维护期间数据"),
            })
            .unwrap();
        assert_eq!(closed.state, AlarmState::Closed);
        assert_eq!(
            closed.inspection_lead(),
            Err(LifecycleError::NotVerifiedTrue)
        );
    }

    #[test]
    fn equipment_fault_is_handled_but_is_no_lead() {
        let verified = alarm()
            .apply(verify(Verdict::EquipmentFault, 5000))
            .unwrap();
        assert!(matches!(
            verified.apply(Action::Close {
                step: step(6000, "x")
            }),
            Err(LifecycleError::IllegalTransition { .. })
        ));
        let handled = verified
            .apply(Action::Handle {
                step: step(6000, "更换探头"),
            })
            .unwrap();
        assert_eq!(handled.state, AlarmState::Handled);
        assert_eq!(
            handled.inspection_lead(),
            Err(LifecycleError::NotVerifiedTrue)
        );
    }

    #[test]
    fn illegal_steps_are_refused() {
        let raised = alarm();
        assert!(matches!(
            raised.apply(Action::Handle {
                step: step(5000, "x")
            }),
            Err(LifecycleError::IllegalTransition { .. })
        ));
        assert!(matches!(
            raised.apply(Action::Close {
                step: step(5000, "x")
            }),
            Err(LifecycleError::IllegalTransition { .. })
        ));
        let verified = raised.apply(verify(Verdict::True, 5000)).unwrap();
        assert!(matches!(
            verified.apply(verify(Verdict::FalsePositive, 6000)),
            Err(LifecycleError::IllegalTransition { .. })
        ));
        let closed = verified
            .apply(Action::Handle {
                step: step(6000, "x"),
            })
            .and_then(|a| {
                a.apply(Action::Close {
                    step: step(7000, "x"),
                })
            })
            .unwrap();
        for action in [
            verify(Verdict::True, 8000),
            Action::Handle {
                step: step(8000, "x"),
            },
            Action::Close {
                step: step(8000, "x"),
            },
        ] {
            assert!(matches!(
                closed.apply(action),
                Err(LifecycleError::IllegalTransition {
                    from: AlarmState::Closed,
                    ..
                })
            ));
        }
        assert_eq!(
            raised.apply(Action::Verify {
                verdict: Verdict::True,
                step: step(5000, "  ")
            }),
            Err(LifecycleError::EmptyNote)
        );
        let nobody = Step {
            by: String::new(),
            at: 5000,
            note: "x".into(),
        };
        assert_eq!(
            raised.apply(Action::Verify {
                verdict: Verdict::True,
                step: nobody
            }),
            Err(LifecycleError::MissingOfficer)
        );
        assert_eq!(
            raised.apply(verify(Verdict::True, 3999)),
            Err(LifecycleError::BeforePreviousStep)
        );
    }

    #[test]
    fn deadlines_follow_the_state() {
        let deadlines = Deadlines::default();
        let raised = alarm();
        assert_eq!(raised.deadline(&deadlines), Some(4000 + 86_400));
        assert!(!raised.is_overdue(4000 + 86_400, &deadlines));
        assert!(raised.is_overdue(4001 + 86_400, &deadlines));
        let verified = raised.apply(verify(Verdict::True, 5000)).unwrap();
        assert_eq!(verified.deadline(&deadlines), Some(5000 + 7 * 86_400));
        let false_positive = raised.apply(verify(Verdict::FalsePositive, 5000)).unwrap();
        assert_eq!(false_positive.deadline(&deadlines), Some(5000 + 3 * 86_400));
        let handled = verified
            .apply(Action::Handle {
                step: step(6000, "x"),
            })
            .unwrap();
        assert_eq!(handled.deadline(&deadlines), Some(6000 + 3 * 86_400));
        let closed = handled
            .apply(Action::Close {
                step: step(7000, "x"),
            })
            .unwrap();
        assert_eq!(closed.deadline(&deadlines), None);
        assert!(!closed.is_overdue(i64::MAX, &deadlines));
    }
}
