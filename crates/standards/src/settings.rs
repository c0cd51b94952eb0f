//! Every rule not verified in the official text (tagged as in docs/standards-engine.md: [M] background
//! knowledge, [I] inferred, [V2] a secondary source; or a question open for the bureau) is a named setting
//! here, with the documented default. Results carry the settings they were computed with.

use chrono::NaiveDate;
use serde::Serialize;

/// GB 3095 functional zone class (GB 3095-2026 §4.1). A district such as Dongli is Class 2 (unverified).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneClass {
    Class1,
    Class2,
}

/// Which days count as valid for the good-day ratio (优良天数比例).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DayValidity {
    /// Default [M]: national practice counts a day only when all six pollutants have a valid daily value.
    AllSixPollutants,
    /// HJ 633-2026 §5.3.1: a day with a missing pollutant still counts when its AQI (from the others) is > 100.
    PublishableAqi,
}

/// The sand-and-dust deduction of the good-day ratio (环办监测〔2016〕120号, unverified; from 2026 the exceptional
/// events of HJ 663-2026). The bureau's convention is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SandDustConvention {
    /// Default: no deduction.
    None,
    /// National 2023 pair (85.5 % → 86.8 %) [I]: sand-dust days that are not good leave the denominator.
    ExcludeFromDenominator,
    /// Tianjin 2023 (244 d / 365 = 66.8 %) [I]: sand-dust days are re-evaluated without PM10 and PM2.5.
    ReevaluateWithoutPm,
}

/// Which GB 3095 limits judge a period that may straddle the 2026-03-01 switch (a question open for the bureau).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitsSelection {
    /// Default: the edition (and phase) in force on the last day of the period.
    InForceAtPeriodEnd,
    /// The edition in force on the first day of the period.
    InForceAtPeriodStart,
}

/// The composite index denominators and weights (环办监测〔2018〕19号).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompositeIndexVariant {
    /// Default [V2]: 环办监测〔2018〕19号, unweighted, GB 3095-2012 Class 2 denominators 60/40/70/35/4/160.
    Ranking2018,
    /// Reported by one third-party code base as "HJ 663-2026", NOT verified: weights PM2.5 ×3, NO2 ×2, O3 ×2,
    /// and the GB 3095-2026 transition-phase Class 2 limits as denominators (SO2 60, NO2 40, PM10 60,
    /// PM2.5 30, CO 4, O3 160).
    WeightedUnverified2026,
}

/// Settings of the air assessment. `Default` gives the documented defaults.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AirSettings {
    pub zone_class: ZoneClass,
    /// Round daily values (station and area) half to even to the reporting precision (integers; CO one
    /// decimal) before they enter the AQI, period means and percentiles. HJ 633-2026 §4.2.2 requires it for
    /// the AQI; for HJ 633-2012 it is reporting practice [M], and official period figures are computed from
    /// the published daily values [I]. Default: true.
    pub round_daily_values: bool,
    /// Accept a 24-h mean with fewer than 20 hours when it already exceeds the 24-h limit, as the O3 8-h rule
    /// does (many implementations do this; unverified in HJ 663's text). Default: false.
    pub daily_mean_exceedance_exception: bool,
    /// Minimum valid hours for the O3 daily max 1-h (used by the HJ 633-2012 daily AQI). Not stated in the
    /// standards; default 20, the same as a daily mean [M].
    pub o3_max_1h_min_hours: u32,
    pub day_validity: DayValidity,
    pub sand_dust: SandDustConvention,
    pub limits_selection: LimitsSelection,
    pub composite: CompositeIndexVariant,
    /// Minimum share (percent) of the area's stations that must have a valid daily value for the area's daily
    /// value to be valid. HJ 663-2013 may require 75 % [M: unverified]; default none (any valid station).
    pub area_min_station_share_percent: Option<u32>,
    /// Dates of sand-and-dust days (exceptional events), used by `sand_dust`.
    pub sand_dust_dates: Vec<NaiveDate>,
}

impl Default for AirSettings {
    fn default() -> Self {
        AirSettings {
            zone_class: ZoneClass::Class2,
            round_daily_values: true,
            daily_mean_exceedance_exception: false,
            o3_max_1h_min_hours: 20,
            day_validity: DayValidity::AllSixPollutants,
            sand_dust: SandDustConvention::None,
            limits_selection: LimitsSelection::InForceAtPeriodEnd,
            composite: CompositeIndexVariant::Ranking2018,
            area_min_station_share_percent: None,
            sand_dust_dates: Vec::new(),
        }
    }
}

/// How a mean pH is formed from several samples (unverified: the 2020 water statistics rule was not read).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PhAveraging {
    /// Default: mean of the hydrogen-ion activities 10^−pH, then −log10 — the only implementation found
    /// (`sm1lewc/Journey.SurfaceWater`) does this [V2 secondary, unverified against the official text].
    HydrogenIon,
    /// Arithmetic mean of the pH values.
    Arithmetic,
}

/// Threshold of the I–III share below which a ≥ 40 % 劣V share means 重度污染 (环办〔2011〕22号; its exact
/// wording is unverified).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeverePollutionThreshold {
    /// Default: I–III < 75 %, the wording of the Shenzhen bureau Q&A [V2].
    Below75Percent,
    /// "Some versions": I–III < 60 %.
    Below60Percent,
}

/// Settings of the water assessment. `Default` gives the documented defaults.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WaterSettings {
    pub ph_averaging: PhAveraging,
    /// Round averaged concentrations half to even to the reporting decimals of the 2020 statistics rule
    /// (《地表水环境质量监测数据统计技术规定（试行）》 as a third party implements it; unverified against the
    /// text) before classifying. Default true.
    pub round_to_reporting_decimals: bool,
    /// A basin with at least this many sections uses the proportion method; fewer average the concentrations.
    /// "5 个（含）以上" [M]; default 5.
    pub proportion_method_min_sections: usize,
    pub severe_pollution_threshold: SeverePollutionThreshold,
}

impl Default for WaterSettings {
    fn default() -> Self {
        WaterSettings {
            ph_averaging: PhAveraging::HydrogenIon,
            round_to_reporting_decimals: true,
            proportion_method_min_sections: 5,
            severe_pollution_threshold: SeverePollutionThreshold::Below75Percent,
        }
    }
}
