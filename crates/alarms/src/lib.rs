//! Alarms (报警) for online-monitored outlets: exceedance, device health and falsified-data rules over
//! series of samples, and the alarm lifecycle from raised to closed.
//!
//! Pure: no I/O, no async, no database. A worker loads a point's samples for a window (at least
//! [`Settings::lookback_s`] long), calls [`evaluate`], lets [`reconcile`] say which stored alarms to extend
//! and which to raise ([`Alarm::raise`]), and drives each alarm with [`Alarm::apply`]. `docs/alarms.md`
//! documents every rule.

pub mod lifecycle;
pub mod model;
mod prepare;
pub mod reconcile;
pub mod rules;
pub mod settings;
pub mod stats;

pub use lifecycle::{
    Action, Alarm, AlarmState, Deadlines, InspectionLead, LifecycleError, Step, Verdict,
    Verification,
};
pub use model::{
    Averaging, ClockCheck, CrcTally, DataFlag, DetectionLimit, EmissionLimit, EvidenceValue,
    Finding, InstrumentRange, OutletContext, Period, PointInput, RuleId, Sample, Series, Severity,
    Window, factor_codes,
};
pub use reconcile::{KnownFinding, Outcome, reconcile};
pub use rules::{coalesce, converted_concentration, evaluate, evaluate_reflagging};
pub use settings::Settings;
pub use stats::{MonthStats, monthly_stats};
