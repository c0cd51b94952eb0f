//! The targets' domain types: the indicator a target measures, its comparison, the stored target, the input
//! that creates or edits one, and the progress (`TargetStatus`) computed for it.

use chrono::NaiveDate;
use kernel::AppError;
use kernel::validate::{optional, required};
use serde::{Deserialize, Serialize};
use standards::exact::Exact;

/// What a target measures, and so how its value is obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    /// PM2.5 年均浓度: the mean of the district's area days (HJ 663), µg/m³.
    Pm25AnnualMean,
    /// 优良天数比例: good days (AQI ≤ 100) / valid days, %.
    GoodDayRatio,
    /// 重污染天数: days with AQI > 200.
    HeavyPollutionDays,
    /// 优良水质（I–III 类）断面比例 of the national and municipal sections, %.
    WaterGoodShare,
    /// 劣V类断面个数.
    WaterWorseThanVSections,
    /// 水功能区水质达标率: sections meeting their target class / assessed sections, %.
    WaterTargetCompliance,
    /// Reported by the owner with evidence (建设用地安全利用率, 减排工程完成率, …): the platform cannot compute it.
    Reported,
}

impl Indicator {
    pub const ALL: [Indicator; 7] = [
        Self::Pm25AnnualMean,
        Self::GoodDayRatio,
        Self::HeavyPollutionDays,
        Self::WaterGoodShare,
        Self::WaterWorseThanVSections,
        Self::WaterTargetCompliance,
        Self::Reported,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pm25AnnualMean => "pm25_annual_mean",
            Self::GoodDayRatio => "good_day_ratio",
            Self::HeavyPollutionDays => "heavy_pollution_days",
            Self::WaterGoodShare => "water_good_share",
            Self::WaterWorseThanVSections => "water_worse_than_v_sections",
            Self::WaterTargetCompliance => "water_target_compliance",
            Self::Reported => "reported",
        }
    }

    pub fn parse(text: &str) -> Option<Indicator> {
        Self::ALL.into_iter().find(|i| i.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pm25AnnualMean => "PM2.5 年均浓度",
            Self::GoodDayRatio => "优良天数比例",
            Self::HeavyPollutionDays => "重污染天数",
            Self::WaterGoodShare => "优良水质断面比例",
            Self::WaterWorseThanVSections => "劣V类断面个数",
            Self::WaterTargetCompliance => "水功能区水质达标率",
            Self::Reported => "报送指标",
        }
    }

    /// The unit the value is expressed in.
    pub fn unit(self) -> &'static str {
        match self {
            Self::Pm25AnnualMean => "µg/m³",
            Self::GoodDayRatio | Self::WaterGoodShare | Self::WaterTargetCompliance => "%",
            Self::HeavyPollutionDays => "天",
            Self::WaterWorseThanVSections => "个",
            Self::Reported => "",
        }
    }

    /// Computed by the platform from the audited data (as opposed to reported by the owner).
    pub fn is_computed(self) -> bool {
        self != Self::Reported
    }

    /// The only comparison that makes sense for a computed indicator (lower is better, or higher).
    pub fn natural_comparison(self) -> Option<Comparison> {
        match self {
            Self::Pm25AnnualMean | Self::HeavyPollutionDays | Self::WaterWorseThanVSections => {
                Some(Comparison::Le)
            }
            Self::GoodDayRatio | Self::WaterGoodShare | Self::WaterTargetCompliance => {
                Some(Comparison::Ge)
            }
            Self::Reported => None,
        }
    }

    /// What the `basis` of a status counts.
    pub fn basis_unit(self) -> &'static str {
        match self {
            Self::Pm25AnnualMean | Self::GoodDayRatio | Self::HeavyPollutionDays => "个有效日",
            Self::WaterGoodShare | Self::WaterWorseThanVSections | Self::WaterTargetCompliance => {
                "个断面"
            }
            Self::Reported => "",
        }
    }

    /// Whether the value is a percentage (0–100).
    pub fn is_percent(self) -> bool {
        self.unit() == "%"
    }

    /// How the value is computed, in the words the target page shows.
    pub fn computation(self) -> &'static str {
        match self {
            Self::Pm25AnnualMean => {
                "全区评价点位（国控、市控站，不含微站）逐日区域日均值（HJ 663：各站有效日均值的算术平均）的算术平均，取整；审核后数据"
            }
            Self::GoodDayRatio => {
                "区域日 AQI（按当日有效的 HJ 633 版本）≤ 100 的天数 / 有效天数（六项均有效）× 100%，保留 1 位小数"
            }
            Self::HeavyPollutionDays => "区域日 AQI > 200（重度及严重污染）的天数",
            Self::WaterGoodShare => {
                "国控、市控断面按年内全部样品均值（GB 3838，环办〔2011〕22号单因子法）定类，I–III 类断面数 / 评价断面数 × 100%"
            }
            Self::WaterWorseThanVSections => "按年内样品均值定类为劣V类的断面个数",
            Self::WaterTargetCompliance => {
                "按年内样品均值定类达到各断面水质目标的断面数 / 有目标的评价断面数 × 100%（以断面代表其所在水功能区）"
            }
            Self::Reported => "平台无法计算：由责任部门报送数值并附佐证材料",
        }
    }
}

/// How the value is compared with the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// ≤ threshold.
    Le,
    /// ≥ threshold.
    Ge,
    /// = threshold.
    Eq,
}

impl Comparison {
    pub const ALL: [Comparison; 3] = [Self::Le, Self::Ge, Self::Eq];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Le => "le",
            Self::Ge => "ge",
            Self::Eq => "eq",
        }
    }

    pub fn parse(text: &str) -> Option<Comparison> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Self::Le => "≤",
            Self::Ge => "≥",
            Self::Eq => "=",
        }
    }

    /// Whether `value` attains `threshold` (exact comparison).
    pub fn holds(self, value: Exact, threshold: Exact) -> bool {
        match self {
            Self::Le => value <= threshold,
            Self::Ge => value >= threshold,
            Self::Eq => value == threshold,
        }
    }
}

/// One stored target of one year.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Target {
    pub id: i64,
    pub year: i32,
    /// Stable key within the year, e.g. `pm25_annual_mean`.
    pub code: String,
    pub title: String,
    pub indicator: Indicator,
    pub comparison: Comparison,
    /// `None`: not set yet (shown as 待市下达 / 待定).
    pub threshold: Option<f64>,
    pub unit: String,
    /// The responsible department (责任部门).
    pub owner: String,
    /// The plan's own words for this target.
    pub plan_wording: String,
    pub note: String,
    /// For reported indicators: the value the owner reported, with its evidence.
    pub reported_value: Option<f64>,
    pub evidence: String,
    /// Unix seconds (UTC) of the last report.
    pub reported_at: Option<i64>,
    pub reported_by: Option<String>,
    /// Seeded from the 2024 work plan (section 二) rather than entered.
    pub seeded: bool,
    pub position: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Target {
    /// The threshold as the exact decimal it was entered as.
    pub fn threshold_exact(&self) -> Option<Exact> {
        self.threshold.and_then(Exact::from_f64_shortest)
    }

    /// `≤ 39 µg/m³`, or `待市下达` when no threshold is set.
    pub fn requirement(&self) -> String {
        match self.threshold {
            Some(t) => format!("{} {}{}", self.comparison.symbol(), fmt_f64(t), self.unit),
            None => "待市下达".to_string(),
        }
    }
}

/// A double without a trailing `.0`.
pub fn fmt_f64(value: f64) -> String {
    format!("{value}")
}

/// Creates or edits a target (API body and form). `year`, `code` and `indicator` are used on creation only.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct TargetInput {
    #[serde(default)]
    pub year: Option<i32>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub indicator: Option<Indicator>,
    pub title: String,
    pub comparison: Comparison,
    /// Empty for 待市下达.
    pub threshold: Option<f64>,
    #[serde(default)]
    pub unit: Option<String>,
    pub owner: String,
    #[serde(default)]
    pub plan_wording: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    /// Reported indicators only.
    #[serde(default)]
    pub reported_value: Option<f64>,
    /// Required with a reported value: what the figure rests on (document number, file, link).
    #[serde(default)]
    pub evidence: Option<String>,
}

/// The checked edit of a target's definition.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetFields {
    pub title: String,
    pub comparison: Comparison,
    pub threshold: Option<f64>,
    pub unit: String,
    pub owner: String,
    pub plan_wording: String,
    pub note: String,
    pub reported_value: Option<f64>,
    pub evidence: String,
}

/// Checks an input against the indicator it is for.
pub fn check_fields(indicator: Indicator, input: &TargetInput) -> Result<TargetFields, AppError> {
    let title = required("title", &input.title, 100)?;
    let owner = required("owner", &input.owner, 100)?;
    if let Some(natural) = indicator.natural_comparison()
        && input.comparison != natural
    {
        return Err(AppError::validation(
            "comparison",
            format!(
                "{} is compared with {} ({})",
                indicator.as_str(),
                natural.as_str(),
                natural.symbol()
            ),
        ));
    }
    if let Some(t) = input.threshold {
        check_number("threshold", t, indicator)?;
    }
    let evidence = optional("evidence", input.evidence.as_deref(), 2000)?.unwrap_or_default();
    if let Some(v) = input.reported_value {
        if indicator.is_computed() {
            return Err(AppError::validation(
                "reported_value",
                "is computed from the data for this indicator and cannot be reported",
            ));
        }
        check_number("reported_value", v, indicator)?;
        if evidence.is_empty() {
            return Err(AppError::validation(
                "evidence",
                "is required with a reported value",
            ));
        }
    }
    let unit = match indicator {
        Indicator::Reported => optional("unit", input.unit.as_deref(), 20)?.unwrap_or_default(),
        computed => computed.unit().to_string(),
    };
    Ok(TargetFields {
        title,
        comparison: input.comparison,
        threshold: input.threshold,
        unit,
        owner,
        plan_wording: optional("plan_wording", input.plan_wording.as_deref(), 1000)?
            .unwrap_or_default(),
        note: optional("note", input.note.as_deref(), 1000)?.unwrap_or_default(),
        reported_value: input.reported_value,
        evidence,
    })
}

fn check_number(field: &str, value: f64, indicator: Indicator) -> Result<(), AppError> {
    if !value.is_finite() || value < 0.0 {
        return Err(AppError::validation(
            field,
            "must be a number of at least 0",
        ));
    }
    if indicator.is_percent() && value > 100.0 {
        return Err(AppError::validation(field, "a percentage is at most 100"));
    }
    if value > 1.0e9 || Exact::from_f64_shortest(value).is_none() {
        return Err(AppError::validation(
            field,
            "must have at most 9 decimal places and be below 10⁹",
        ));
    }
    Ok(())
}

/// A target code: lower-case letters, digits and `_`, 1–40 characters.
pub fn check_code(code: &str) -> Result<String, AppError> {
    let code = code.trim();
    if code.is_empty()
        || code.len() > 40
        || !code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(AppError::validation(
            "code",
            "must be 1–40 characters of a–z, 0–9 and _",
        ));
    }
    Ok(code.to_string())
}

/// Where a target stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// 进度正常: the rest of the year needs no better than last year's same period.
    OnTrack,
    /// 存在风险: the rest of the year must do better than the same period last year.
    AtRisk,
    /// 已无法完成: not reachable even by the best plausible rest of the year.
    Lost,
    /// 已完成: the year is over (or the last day is in) and the target is attained.
    Met,
    /// 未完成: the year is over and the target is not attained.
    Missed,
    /// 待市下达: no threshold entered yet.
    AwaitingThreshold,
    /// 待报送: a reported indicator without a report yet.
    AwaitingReport,
    /// 暂无数据: no valid data so far this year.
    NoData,
    /// 未开始: the year has not begun.
    NotStarted,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Self::OnTrack => "进度正常",
            Self::AtRisk => "存在风险",
            Self::Lost => "已无法完成",
            Self::Met => "已完成",
            Self::Missed => "未完成",
            Self::AwaitingThreshold => "待市下达",
            Self::AwaitingReport => "待报送",
            Self::NoData => "暂无数据",
            Self::NotStarted => "未开始",
        }
    }

    /// CSS class of the status badge.
    pub fn css(self) -> &'static str {
        match self {
            Self::OnTrack | Self::Met => "ok",
            Self::AtRisk => "warn",
            Self::Lost | Self::Missed => "bad",
            _ => "muted",
        }
    }
}

/// The value so far compared with the same period last year.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trend {
    Better,
    Same,
    Worse,
    Unknown,
}

impl Trend {
    pub fn label(self) -> &'static str {
        match self {
            Self::Better => "改善",
            Self::Same => "持平",
            Self::Worse => "变差",
            Self::Unknown => "—",
        }
    }
}

/// What the rest of the year must do.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Projection {
    /// Calendar days left after the last complete day.
    pub remaining_days: u32,
    /// PM2.5: the mean the remaining days must hold (µg/m³); good-day ratio: the share of the remaining days
    /// that must be good (%); heavy days: how many heavy days the rest of the year may still have; water: how
    /// many sections must attain.
    pub required: Option<f64>,
    /// The same remaining period last year (mean, share or count), the yardstick of `at_risk`.
    pub last_year_rest: Option<f64>,
    /// The best the rest of the year can plausibly do (the yardstick of `lost`).
    pub best_plausible: Option<f64>,
    /// The projection in one Chinese sentence.
    pub text: String,
}

/// A target with its progress, computed from the data (once per data stamp, `service::status_for_year`).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TargetStatus {
    pub target: Target,
    pub indicator_label: &'static str,
    pub computation: &'static str,
    /// `≤ 39µg/m³` or `待市下达`.
    pub requirement: String,
    /// First and last complete day counted (CST); `None` before the year begins.
    #[schema(value_type = Option<String>)]
    pub from: Option<NaiveDate>,
    #[schema(value_type = Option<String>)]
    pub through: Option<NaiveDate>,
    /// The value so far, at its reporting precision.
    pub value: Option<f64>,
    pub value_text: String,
    /// Valid days (air) or assessed sections (water) behind the value.
    pub basis: Option<u32>,
    pub last_year_value: Option<f64>,
    pub last_year_text: String,
    pub trend: Trend,
    pub trend_label: &'static str,
    pub projection: Option<Projection>,
    pub status: Status,
    pub status_label: &'static str,
    /// Why the status is what it is, in one Chinese sentence.
    pub reason: String,
}
