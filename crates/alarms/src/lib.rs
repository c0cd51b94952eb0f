//! Alarms (报警) for online-monitored outlets: exceedance, device health and falsified-data rules over
//! series of samples, and the alarm lifecycle from raised to closed.
//!
//! The rules are pure (no I/O, no async, no database: `rules`, `lifecycle`, `reconcile`, `stats`,
//! `settings`, the first half of `model`): a worker loads a point's samples for a window (at least
//! [`Settings::lookback_s`] long), calls [`evaluate`], lets [`reconcile`] say which stored alarms to extend
//! and which to raise ([`Alarm::raise`]), and drives each alarm with [`Alarm::apply`]. `docs/alarms.md`
//! documents every rule.
//!
//! Around them, the area (在线监控报警): `service` (the worker over the stored outlet data of
//! `crates/readings`, the lifecycle of stored alarms, statistics, inspection leads (线索) for enforcement,
//! the outlets' permits and limits), `repo` (its SQL), `http` (pages under `/alarms`, JSON under
//! `/api/v1/alarms`) and `demo` (the demo's outlet minute data with planted patterns).

pub mod demo;
pub mod http;
pub mod lifecycle;
pub mod model;
mod prepare;
pub mod reconcile;
pub mod repo;
pub mod rules;
pub mod service;
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
