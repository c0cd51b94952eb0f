//! Monitoring data (issue 4): the readings store, platform roll-ups with coverage, the audit tier (数据审核)
//! with month confirmation, file imports, the `/api/v1` readings API and the demo's simulated air history.
//!
//! The logical model is narrow ([`Reading`]: point, factor, time, period, value, flag); the stored layout is
//! one wide sparse row per (point, period, time) — see `migrations/*/20261201000003_readings.sql` and
//! `docs/readings.md`.

pub mod audit;
pub mod export;
pub mod factors;
pub mod http;
pub mod import;
pub mod model;
pub mod points;
pub mod retention;
pub mod rollup;
pub mod service;
pub mod simulate;
pub mod station_files;
pub mod store;

pub use model::{Cell, DataFlag, Period, Reading};
pub use store::{DirtyDay, Row, WriteOutcome};
