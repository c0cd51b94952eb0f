//! Inputs (series, outlet context, device-health tallies) and outputs (findings) of the rules.

use serde::{Deserialize, Serialize};

/// HJ 212 factor codes the rules look up by themselves (HJ 212-2017 Appendix B).
pub mod factor_codes {
    /// 氧含量 O2, % (dry).
    pub const OXYGEN: &str = "a19001";
    /// 烟气温度 flue-gas temperature, °C.
    pub const FLUE_TEMPERATURE: &str = "a01012";
    /// 废气流量 flue-gas flow.
    pub const FLUE_FLOW: &str = "a00000";
    /// 温度 ambient air temperature, °C (when the point reports it).
    pub const AMBIENT_TEMPERATURE: &str = "a01001";
}

/// The data flag of a sample: the platform's one type, owned by the readings store.
pub use readings::model::DataFlag;

/// What one sample stands for, as reported by the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Minute,
    Hour,
}

impl Period {
    pub fn seconds(self) -> i64 {
        match self {
            Period::Minute => 60,
            Period::Hour => 3600,
        }
    }
}

/// One value of one factor. `ts` is the UTC second the period begins.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub ts: i64,
    /// `None`: reported without a value. NaN and infinities are treated as `None` by every rule.
    pub value: Option<f64>,
    #[serde(default)]
    pub flag: DataFlag,
}

/// The samples of one factor at one point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// HJ 212 factor code, e.g. `a21026`.
    pub factor: String,
    pub period: Period,
    /// Any order; duplicates of a timestamp keep the first occurrence.
    pub samples: Vec<Sample>,
}

/// The averaging period an emission limit is defined on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Averaging {
    Hour,
    /// China Standard Time calendar day.
    Day,
}

impl Averaging {
    pub fn seconds(self) -> i64 {
        match self {
            Averaging::Hour => 3600,
            Averaging::Day => 86_400,
        }
    }
}

/// One limit of the outlet's permit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmissionLimit {
    pub factor: String,
    /// In the factor's unit (mg/m³ dry standard for flue gas, mg/L for water).
    pub value: f64,
    pub averaging: Averaging,
    /// The limit applies to the converted (折算, reference-O2) concentration.
    pub on_converted: bool,
}

/// Measuring range of one analyser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstrumentRange {
    pub factor: String,
    pub low: f64,
    pub high: f64,
}

/// Method detection limit of one analyser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionLimit {
    pub factor: String,
    pub value: f64,
}

/// What the rules need to know about the outlet, from the permit and the device register.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutletContext {
    pub limits: Vec<EmissionLimit>,
    /// 基准含氧量 in %, e.g. 9 for a coal boiler (GB 13271-2014). `None`: no conversion.
    pub reference_oxygen: Option<f64>,
    pub ranges: Vec<InstrumentRange>,
    pub detection_limits: Vec<DetectionLimit>,
    /// How often the device should report, in seconds (60 for minute data).
    pub reporting_interval_s: i64,
    /// Flue-gas flow at full load in the flow factor's unit; `None`: the rules take the series' own 90th
    /// percentile.
    pub rated_flow: Option<f64>,
    /// Ambient temperature in °C when the point does not report `a01001`; `None`: temperature checks that
    /// need it are skipped.
    pub ambient_temperature: Option<f64>,
}

impl OutletContext {
    pub fn limit(&self, factor: &str) -> Option<&EmissionLimit> {
        self.limits.iter().find(|limit| limit.factor == factor)
    }

    pub fn range(&self, factor: &str) -> Option<&InstrumentRange> {
        self.ranges.iter().find(|range| range.factor == factor)
    }

    pub fn detection_limit(&self, factor: &str) -> Option<f64> {
        self.detection_limits
            .iter()
            .find(|limit| limit.factor == factor)
            .map(|limit| limit.value)
    }
}

/// Device time against receive time of one packet, from the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockCheck {
    /// `DataTime`/`QN` time of the packet (UTC s).
    pub device_ts: i64,
    /// When the gateway received it (UTC s).
    pub received_ts: i64,
}

/// Packets received and CRC failures counted by the gateway over `[from_ts, to_ts)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrcTally {
    pub from_ts: i64,
    pub to_ts: i64,
    pub packets: u32,
    pub failures: u32,
}

/// The time range the rules judge: `[from, to)` in UTC seconds. Data outside it are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub from: i64,
    pub to: i64,
}

impl Window {
    pub fn contains(&self, ts: i64) -> bool {
        self.from <= ts && ts < self.to
    }
}

/// Everything one point reported over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointInput {
    pub window: Window,
    pub series: Vec<Series>,
    #[serde(default)]
    pub clock_checks: Vec<ClockCheck>,
    #[serde(default)]
    pub crc_tallies: Vec<CrcTally>,
}

/// Which rule produced a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleId {
    Exceedance,
    Offline,
    LowCapture,
    ClockDrift,
    CrcFailures,
    ConstantValue,
    LowVariation,
    DetectionLimitPinned,
    NarrowBand,
    NegativeValue,
    OverRange,
    StepThenFlat,
    HoveringUnderLimit,
    ReflaggedExceedance,
    OxygenContradictsOperation,
    TemperatureAtAmbient,
}

impl RuleId {
    pub const ALL: [RuleId; 16] = [
        RuleId::Exceedance,
        RuleId::Offline,
        RuleId::LowCapture,
        RuleId::ClockDrift,
        RuleId::CrcFailures,
        RuleId::ConstantValue,
        RuleId::LowVariation,
        RuleId::DetectionLimitPinned,
        RuleId::NarrowBand,
        RuleId::NegativeValue,
        RuleId::OverRange,
        RuleId::StepThenFlat,
        RuleId::HoveringUnderLimit,
        RuleId::ReflaggedExceedance,
        RuleId::OxygenContradictsOperation,
        RuleId::TemperatureAtAmbient,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RuleId::Exceedance => "exceedance",
            RuleId::Offline => "offline",
            RuleId::LowCapture => "low_capture",
            RuleId::ClockDrift => "clock_drift",
            RuleId::CrcFailures => "crc_failures",
            RuleId::ConstantValue => "constant_value",
            RuleId::LowVariation => "low_variation",
            RuleId::DetectionLimitPinned => "detection_limit_pinned",
            RuleId::NarrowBand => "narrow_band",
            RuleId::NegativeValue => "negative_value",
            RuleId::OverRange => "over_range",
            RuleId::StepThenFlat => "step_then_flat",
            RuleId::HoveringUnderLimit => "hovering_under_limit",
            RuleId::ReflaggedExceedance => "reflagged_exceedance",
            RuleId::OxygenContradictsOperation => "oxygen_contradicts_operation",
            RuleId::TemperatureAtAmbient => "temperature_at_ambient",
        }
    }

    pub fn parse(code: &str) -> Option<RuleId> {
        RuleId::ALL.into_iter().find(|rule| rule.code() == code)
    }

    /// 中文 name for pages and tickets.
    pub fn name_zh(self) -> &'static str {
        match self {
            RuleId::Exceedance => "超标排放",
            RuleId::Offline => "数据中断（离线）",
            RuleId::LowCapture => "数据采集率低",
            RuleId::ClockDrift => "设备时钟偏差",
            RuleId::CrcFailures => "CRC校验频繁失败",
            RuleId::ConstantValue => "恒值异常",
            RuleId::LowVariation => "数据波动过小",
            RuleId::DetectionLimitPinned => "长期处于检出限附近",
            RuleId::NarrowBand => "长期在量程2%内波动",
            RuleId::NegativeValue => "负值",
            RuleId::OverRange => "超量程",
            RuleId::StepThenFlat => "突升突降后保持平稳",
            RuleId::HoveringUnderLimit => "贴限排放",
            RuleId::ReflaggedExceedance => "超标数据事后标记为停运/维护/手工",
            RuleId::OxygenContradictsOperation => "氧含量与运行工况矛盾",
            RuleId::TemperatureAtAmbient => "烟温与运行工况矛盾",
        }
    }

    /// Whether the rule is about the device rather than the enterprise's emissions.
    pub fn is_device_health(self) -> bool {
        matches!(
            self,
            RuleId::Offline | RuleId::LowCapture | RuleId::ClockDrift | RuleId::CrcFailures
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
}

/// One value quoted as evidence: the sample or aggregate at `ts` (UTC s).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvidenceValue {
    pub ts: i64,
    pub value: f64,
}

/// What a rule found. `[from_ts, to_ts)` lies within the input window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: RuleId,
    /// `None` for point-level findings (offline, clock drift, CRC failures).
    pub factor: Option<String>,
    pub from_ts: i64,
    pub to_ts: i64,
    pub severity: Severity,
    /// For the officer, in Chinese, with the numbers that triggered the rule.
    pub evidence: String,
    /// The values the rule judged (hourly means for exceedance, the run's samples for patterns), at most
    /// [`MAX_EVIDENCE_VALUES`].
    pub values: Vec<EvidenceValue>,
}

/// Keeps stored alarms small: a four-hour constant run of minute data would otherwise quote 240 values.
pub const MAX_EVIDENCE_VALUES: usize = 48;

impl Finding {
    /// Same rule and factor, and the spans overlap or touch: the worker keeps one alarm for both.
    pub fn continues(&self, other: &Finding) -> bool {
        self.rule == other.rule
            && self.factor == other.factor
            && self.from_ts <= other.to_ts
            && other.from_ts <= self.to_ts
    }

    /// One finding for both: the union of the spans, the higher severity, the evidence of `later` (the newer
    /// run describes the episode as it is now), values merged by time and thinned again.
    pub fn merged(&self, later: Finding) -> Finding {
        let mut values = self.values.clone();
        values.extend(later.values);
        values.sort_by_key(|v| v.ts);
        values.dedup_by_key(|v| v.ts);
        Finding {
            rule: self.rule,
            factor: self.factor.clone(),
            from_ts: self.from_ts.min(later.from_ts),
            to_ts: self.to_ts.max(later.to_ts),
            severity: self.severity.max(later.severity),
            evidence: later.evidence,
            values: crate::prepare::evidence_values(values.into_iter().map(|v| (v.ts, v.value))),
        }
    }
}

// --- The area's records: stored alarms, outlet permits, inspection leads ------------------------------------
//
// What the worker stores and the pages and API show. Codes are the pure types' snake_case names
// (`RuleId::code`, `exceedance`; states `raised|verified|handled|closed`; verdicts `true|equipment_fault|
// false_positive`), so that a stored row converts back to an [`crate::Alarm`] for the lifecycle.

/// The gap of an offline alarm (`service::data_gap`).
#[derive(Debug, Clone, PartialEq)]
pub struct DataGap {
    pub from_ts: i64,
    pub to_ts: i64,
    /// Its length in hours.
    pub hours: f64,
    /// The last record before the gap, within two hours of it.
    pub last_before: Option<i64>,
    /// The first record at or after its end, within two hours of it: `None` while the point is still silent.
    pub first_after: Option<i64>,
    /// When records arrived around the gap (UTC s, thinned to `service::MAX_ARRIVALS`).
    pub arrivals: Vec<i64>,
}

/// One quoted value of an alarm's evidence.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EvidencePoint {
    pub ts: i64,
    pub value: f64,
}

/// A stored alarm with the names the pages need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AlarmRecord {
    pub id: i64,
    pub enterprise_id: i64,
    pub enterprise_name: String,
    pub street_id: Option<i64>,
    pub street_name: Option<String>,
    pub outlet_id: Option<i64>,
    pub outlet_name: Option<String>,
    pub point_id: i64,
    pub point_code: String,
    pub point_name: String,
    /// Rule code, e.g. `exceedance`, `constant_value`.
    pub rule: String,
    pub rule_name: String,
    /// HJ 212 factor code; `None` for point-level rules (offline).
    pub factor: Option<String>,
    pub factor_name: Option<String>,
    /// The finding's span `[from_ts, to_ts)`, Unix seconds.
    pub from_ts: i64,
    pub to_ts: i64,
    /// `low`, `medium`, `high`.
    pub severity: String,
    pub evidence: String,
    pub values: Vec<EvidencePoint>,
    /// `raised`, `verified`, `handled`, `closed`.
    pub state: String,
    /// `true`, `equipment_fault`, `false_positive`.
    pub verdict: Option<String>,
    pub verified_by: Option<String>,
    pub verified_at: Option<i64>,
    pub verify_note: Option<String>,
    pub handled_by: Option<String>,
    pub handled_at: Option<i64>,
    pub handle_note: Option<String>,
    pub closed_by: Option<String>,
    pub closed_at: Option<i64>,
    pub close_note: Option<String>,
    pub raised_at: i64,
    pub updated_at: i64,
    /// When the next step is due (`None` once closed), by the settings' deadlines.
    pub deadline: Option<i64>,
    pub overdue: bool,
    pub simulated: bool,
    /// Optimistic concurrency: send it back with an action to refuse a stale one (409).
    pub version: i64,
}

/// List filters (`/alarms`, `GET /api/v1/alarms`). Empty parameters count as absent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlarmFilter {
    /// `raised`, `verified`, `handled`, `closed`, or `open` (anything not closed).
    #[param(schema_with = state_filter_schema)]
    pub state: Option<String>,
    /// Rule code (`exceedance`, `offline`, …).
    #[param(schema_with = rule_filter_schema)]
    pub rule: Option<String>,
    pub enterprise_id: Option<i64>,
    pub street_id: Option<i64>,
    pub point_id: Option<i64>,
    /// `YYYY-MM`: alarms raised in that China Standard Time month.
    pub month: Option<String>,
}

/// The `state` filters `service::list` understands.
fn state_filter_schema() -> utoipa::openapi::schema::Object {
    kernel::web::text_choice(
        "An alarm state, or `open` (anything not closed)",
        &["open", "raised", "verified", "handled", "closed"],
    )
}

fn rule_filter_schema() -> utoipa::openapi::schema::Object {
    kernel::web::text_choice(
        "The rule that raised the alarm",
        &RuleId::ALL.map(RuleId::code),
    )
}

/// An officer's step (`POST /api/v1/alarms/{id}/actions`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AlarmActionBody {
    /// `verify`, `handle` or `close`.
    pub action: String,
    /// For `verify`: `true`, `equipment_fault` or `false_positive`.
    pub verdict: Option<String>,
    /// Required: the reason of a verdict, the result of the handling, the closing remark.
    pub note: String,
    /// The version the officer saw; a different current version is a 409.
    pub version: Option<i64>,
}

/// One factor of an outlet's permit: the emission limit and the analyser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutletLimit {
    /// HJ 212 factor code.
    pub factor: String,
    /// Emission limit in the factor's unit; `None`: monitored without a limit.
    pub limit: Option<f64>,
    /// `hour` or `day`.
    pub averaging: String,
    /// The limit applies to the converted (折算) concentration at the reference O2.
    #[serde(default)]
    pub on_converted: bool,
    pub range_low: Option<f64>,
    pub range_high: Option<f64>,
    pub detection_limit: Option<f64>,
}

/// What the rules need of an outlet, from its discharge permit and the applicable standard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutletPermit {
    pub outlet_id: i64,
    /// 基准含氧量 in %.
    pub reference_oxygen: Option<f64>,
    /// Flue-gas flow at full load (the flow factor's unit).
    pub rated_flow: Option<f64>,
    /// Where the figures come from, e.g. `GB 16171-2012 表6；排污许可证`.
    pub basis: String,
    pub limits: Vec<OutletLimit>,
    #[serde(default)]
    pub simulated: bool,
}

/// 线索: an off-site inspection lead handed to enforcement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Lead {
    pub id: i64,
    /// `alarm` (one alarm verified as true) or `repeated_exceedance` (an enterprise's month).
    pub kind: String,
    pub enterprise_id: i64,
    pub enterprise_name: String,
    pub alarm_id: Option<i64>,
    pub month: Option<String>,
    pub alarm_ids: Vec<i64>,
    pub summary: String,
    pub note: String,
    pub created_by: String,
    pub created_at: i64,
}

/// A lead that could be made: an alarm of a falsified-data kind verified as true, or an enterprise with
/// repeated exceedance alarms in a month (not dismissed as false positives).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LeadCandidate {
    pub kind: String,
    pub enterprise_id: i64,
    pub enterprise_name: String,
    pub alarm_id: Option<i64>,
    pub month: Option<String>,
    pub alarm_ids: Vec<i64>,
    pub summary: String,
}

/// Turning an alarm or an enterprise-month into a lead (`POST /api/v1/alarms/leads`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewLead {
    /// `alarm` (needs `alarm_id`) or `repeated_exceedance` (needs `enterprise_id` and `month`).
    pub kind: String,
    pub alarm_id: Option<i64>,
    pub enterprise_id: Option<i64>,
    pub month: Option<String>,
    /// Why enforcement should look (required).
    pub note: String,
}

/// Count of open alarms of one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleCount {
    pub rule: String,
    pub name: String,
    pub count: i64,
}

/// Open (not closed) alarms, by rule: what the dashboard shows.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OpenSummary {
    pub total: i64,
    /// Of them past the deadline of their next step.
    pub overdue: i64,
    pub by_rule: Vec<RuleCount>,
}

/// Statistics of one enterprise and CST month (`stats::monthly_stats`) with names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EnterpriseMonthStats {
    pub enterprise_id: i64,
    pub enterprise_name: String,
    pub month: String,
    pub total: u32,
    pub by_rule: Vec<RuleCount>,
    pub verified: u32,
    pub verified_true: u32,
    pub equipment_fault: u32,
    pub false_positive: u32,
    /// False positives / verified; `None` while none is verified.
    pub false_positive_rate: Option<f64>,
    pub open: u32,
    pub overdue: u32,
}

/// What one run of the worker did.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EvaluationSummary {
    /// Monitored outlet points considered.
    pub points: usize,
    /// Points whose window was judged.
    pub evaluated: usize,
    pub raised: usize,
    pub extended: usize,
    /// Samples read from the store.
    pub samples: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_codes_are_unique_and_parse_back() {
        for rule in RuleId::ALL {
            assert_eq!(RuleId::parse(rule.code()), Some(rule));
            assert!(!rule.name_zh().is_empty());
        }
        let mut codes: Vec<&str> = RuleId::ALL.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), RuleId::ALL.len());
    }
}
