//! The targets of section 二 of the 2024 work plan (《2024年生态环境保护工作要点》), seeded for every year from
//! 2024 to the current one and marked `seeded`. Where the plan gives no figure ("达到全市目标要求", "完成全市下达的
//! …目标"), the threshold is left empty and the page shows 待市下达 until the figure is entered; no number is
//! invented.

use crate::model::{Comparison, Indicator};

/// The first year the platform tracks.
pub const FIRST_YEAR: i32 = 2024;

/// One seeded target: code, title, indicator, comparison, threshold, unit, owner, the plan's words, note.
pub struct SeedTarget {
    pub code: &'static str,
    pub title: &'static str,
    pub indicator: Indicator,
    pub comparison: Comparison,
    pub threshold: Option<f64>,
    pub unit: &'static str,
    pub owner: &'static str,
    pub plan_wording: &'static str,
    pub note: &'static str,
}

/// Section 二 of the 2024 plan, in its order.
pub const PLAN_2024: &[SeedTarget] = &[
    SeedTarget {
        code: "pm25_annual_mean",
        title: "全区 PM2.5 年均浓度",
        indicator: Indicator::Pm25AnnualMean,
        comparison: Comparison::Le,
        threshold: Some(39.0),
        unit: "µg/m³",
        owner: "大气环境科",
        plan_wording: "全区PM2.5年均浓度控制在39微克/立方米左右",
        note: "规划原文为“39微克/立方米左右”：按 ≤ 39 判定，未另设容差。",
    },
    SeedTarget {
        code: "good_day_ratio",
        title: "优良天数比例",
        indicator: Indicator::GoodDayRatio,
        comparison: Comparison::Ge,
        threshold: None,
        unit: "%",
        owner: "大气环境科",
        plan_wording: "优良天数比例达到全市目标要求",
        note: "规划未给出数值：目标值待市下达后录入。",
    },
    SeedTarget {
        code: "heavy_pollution_days",
        title: "重污染天数",
        indicator: Indicator::HeavyPollutionDays,
        comparison: Comparison::Le,
        threshold: None,
        unit: "天",
        owner: "大气环境科",
        plan_wording: "完成全市下达的重污染天数控制目标",
        note: "规划未给出数值：目标值待市下达后录入。",
    },
    SeedTarget {
        code: "water_good_share",
        title: "国控、市控断面优良水质（I–III 类）比例",
        indicator: Indicator::WaterGoodShare,
        comparison: Comparison::Ge,
        threshold: Some(11.1),
        unit: "%",
        owner: "水生态环境科",
        plan_wording: "地表水国控、市控断面优良水质（达到或优于III类）比例达到11.1%",
        note: "",
    },
    SeedTarget {
        code: "water_worse_than_v",
        title: "劣V类水体断面",
        indicator: Indicator::WaterWorseThanVSections,
        comparison: Comparison::Le,
        threshold: Some(0.0),
        unit: "个",
        owner: "水生态环境科",
        plan_wording: "无劣V类水体断面",
        note: "",
    },
    SeedTarget {
        code: "water_function_zone_compliance",
        title: "水功能区水质达标率",
        indicator: Indicator::WaterTargetCompliance,
        comparison: Comparison::Ge,
        threshold: Some(100.0),
        unit: "%",
        owner: "水生态环境科",
        plan_wording: "水功能区水质达标率达到100%",
        note: "平台以各断面代表其所在水功能区，按断面水质目标评价。",
    },
    SeedTarget {
        code: "construction_land_safe_use",
        title: "重点建设用地安全利用率",
        indicator: Indicator::Reported,
        comparison: Comparison::Ge,
        threshold: None,
        unit: "%",
        owner: "土壤与固体废物科",
        plan_wording: "重点建设用地安全利用有效保障，安全利用率达到全市目标要求",
        note: "平台无法计算，由责任部门报送并附佐证；目标值待市下达后录入。",
    },
    SeedTarget {
        code: "emission_reduction_projects",
        title: "主要污染物重点工程减排任务完成率",
        indicator: Indicator::Reported,
        comparison: Comparison::Ge,
        threshold: Some(100.0),
        unit: "%",
        owner: "大气环境科、水生态环境科",
        plan_wording: "完成全市下达的大气、水等主要污染物重点工程减排任务",
        note: "“完成”按任务完成率 100% 判定；由责任部门报送并附佐证。",
    },
];
