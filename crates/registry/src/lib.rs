//! The district registry (基础信息库): the master data every other area refers to.
//!
//! - 区 / 街道 / 部门 — the district, its 11 streets, the bureau's departments and external agencies.
//! - 企业 — enterprises, keyed by the 统一社会信用代码 (USCC, GB 32100-2015), with industry (国民经济行业分类),
//!   street, 重点排污单位 status, 企业状态 history, 厂区 (sites) and 排放口 (outlets).
//! - One record per enterprise links every program's identifier (排污许可证编号, 危险废物编码, 污染源编码,
//!   应急预案备案编号, and the HJ 212 MNs of its devices): the ECHO pattern, shown as the 企业环境档案 (profile).
//! - 监测点位 — air stations (国控/市控/区控/微站), water sections (断面) and monitored outlets; 监测设备 —
//!   HJ 212 data loggers (MN, password, protocol version, CRC mode) feeding a point.
//!
//! Street officers (街道干部) see and edit only their street's enterprises; the public sees streets, air stations and
//! water sections only. Every change writes an audit entry in the same transaction.

pub mod http;
pub mod model;
pub mod repo;
pub mod service;
