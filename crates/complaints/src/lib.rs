//! Complaints and petitions (信访投诉): one intake queue for the 12369 environmental hotline and its WeChat
//! account (12369环保举报), the 12345 citizen hotline (政务服务便民热线), letters and visits (来信、来访, under the
//! 信访工作条例), handovers from central and municipal inspection teams (督察交办), grid officers (网格员) and the
//! bureau's own patrols (巡查发现).
//!
//! A case moves through an explicit state machine (受理 / 不予受理 → 交办 → 办理 → 答复 → 办结 or 重新办理), with
//! statutory clocks counted on the official working-day calendar ([`kernel::calendar`]), extensions (延期) with
//! the leader's approval, escalation (督办) of overdue work, repeat detection (重复信访) with links to the earlier
//! cases and a persistent-sources list, and the 24-hour duty roster (24小时值班) that receives intake outside
//! office hours. Street officers (街道) see only their street's cases; the reporter's name and phone are shown
//! only to the petition office (信访办) and administrators.

pub mod demo;
pub mod evidence;
pub mod export;
pub mod http;
pub mod model;
pub mod repo;
pub mod service;

pub use model::{Category, Channel, Complaint, State};
