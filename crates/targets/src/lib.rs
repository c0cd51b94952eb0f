//! 年度目标 — the year's targets of the bureau (issue #5, section 二 of the 2024 work plan).
//!
//! A target is data (`targets` table, editable per year by the monitoring department): its indicator (computed
//! from the audited data — PM2.5 annual mean, good-day ratio, heavy-pollution days, water section shares — or
//! reported by its owner with evidence, such as 建设用地安全利用率), its comparison (≤, ≥, =), the value (empty:
//! 待市下达) and its owner (责任部门). Its progress is recomputed on each request: the value so far this year,
//! the same period last year, the trend, what the rest of the year must do, and a status (on track / at risk /
//! lost, met / missed at the year's end). Links: `air::service` (area days per HJ 663), `water::service`
//! (section results per GB 3838), `standards` (every statistic). Rules: docs/targets.md.

pub mod http;
pub mod model;
pub mod progress;
pub mod repo;
pub mod seed;
pub mod service;
