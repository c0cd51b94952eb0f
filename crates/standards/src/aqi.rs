//! Air Quality Index, HJ 633-2012 and HJ 633-2026, chosen by the date of the data.
//!
//! IAQI is computed on the exact concentration with rational arithmetic and rounded up ("全部进位取整数");
//! under HJ 633-2026 the concentration is first rounded half to even to an integer (CO: one decimal).

use chrono::NaiveDate;
use serde::Serialize;

use crate::exact::Exact;
use crate::pollutant::Pollutant;

/// The edition of HJ 633 that produced a result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum AqiStandard {
    #[serde(rename = "HJ 633-2012")]
    Hj633_2012,
    #[serde(rename = "HJ 633-2026")]
    Hj633_2026,
}

/// HJ 633-2026 takes effect on this date (HJ 633-2026, 实施日期 2026-03-01); data of earlier dates use
/// HJ 633-2012.
pub fn hj633_2026_effective_date() -> NaiveDate {
    // Cannot fail: a constant, valid date.
    NaiveDate::from_ymd_opt(2026, 3, 1).expect("valid constant date")
}

impl AqiStandard {
    /// The edition in force on the date the data belong to.
    pub fn for_date(date: NaiveDate) -> AqiStandard {
        if date < hj633_2026_effective_date() {
            Self::Hj633_2012
        } else {
            Self::Hj633_2026
        }
    }

    pub const fn code(self) -> &'static str {
        match self {
            Self::Hj633_2012 => "HJ 633-2012",
            Self::Hj633_2026 => "HJ 633-2026",
        }
    }

    /// HJ 633-2026 §4.2.2–4.2.3 round concentrations before the IAQI; HJ 633-2012 states no such rule.
    pub const fn rounds_concentrations_first(self) -> bool {
        matches!(self, Self::Hj633_2026)
    }
}

/// Daily report (日报) or real-time hourly report (实时报).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    Daily,
    Hourly,
}

/// One column of the IAQI table: a pollutant with an averaging time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Indicator {
    #[serde(rename = "SO2_24h")]
    So2Daily,
    #[serde(rename = "SO2_1h")]
    So2Hourly,
    #[serde(rename = "NO2_24h")]
    No2Daily,
    #[serde(rename = "NO2_1h")]
    No2Hourly,
    #[serde(rename = "PM10_24h")]
    Pm10Daily,
    #[serde(rename = "PM10_1h")]
    Pm10Hourly,
    #[serde(rename = "CO_24h")]
    CoDaily,
    #[serde(rename = "CO_1h")]
    CoHourly,
    #[serde(rename = "O3_1h")]
    O3Hourly,
    #[serde(rename = "O3_8h")]
    O3EightHour,
    #[serde(rename = "PM2.5_24h")]
    Pm25Daily,
    #[serde(rename = "PM2.5_1h")]
    Pm25Hourly,
}

impl Indicator {
    pub const ALL: [Indicator; 12] = [
        Self::So2Daily,
        Self::So2Hourly,
        Self::No2Daily,
        Self::No2Hourly,
        Self::Pm10Daily,
        Self::Pm10Hourly,
        Self::CoDaily,
        Self::CoHourly,
        Self::O3Hourly,
        Self::O3EightHour,
        Self::Pm25Daily,
        Self::Pm25Hourly,
    ];

    pub const fn pollutant(self) -> Pollutant {
        match self {
            Self::So2Daily | Self::So2Hourly => Pollutant::So2,
            Self::No2Daily | Self::No2Hourly => Pollutant::No2,
            Self::Pm10Daily | Self::Pm10Hourly => Pollutant::Pm10,
            Self::CoDaily | Self::CoHourly => Pollutant::Co,
            Self::O3Hourly | Self::O3EightHour => Pollutant::O3,
            Self::Pm25Daily | Self::Pm25Hourly => Pollutant::Pm25,
        }
    }

    pub const fn code(self) -> &'static str {
        match self {
            Self::So2Daily => "SO2_24h",
            Self::So2Hourly => "SO2_1h",
            Self::No2Daily => "NO2_24h",
            Self::No2Hourly => "NO2_1h",
            Self::Pm10Daily => "PM10_24h",
            Self::Pm10Hourly => "PM10_1h",
            Self::CoDaily => "CO_24h",
            Self::CoHourly => "CO_1h",
            Self::O3Hourly => "O3_1h",
            Self::O3EightHour => "O3_8h",
            Self::Pm25Daily => "PM2.5_24h",
            Self::Pm25Hourly => "PM2.5_1h",
        }
    }

    /// The indicators that make up a report in an edition (the daily and real-time reports of HJ 633-2012 and 2026).
    ///
    /// HJ 633-2012 real-time: the six 1-h values plus the O3 8-h and PM 24-h moving averages (the PM 1-h
    /// value has no breakpoints there). HJ 633-2026 real-time: the six 1-h values. HJ 633-2012 daily: six
    /// 24-h/8-h values plus the O3 daily max 1-h. HJ 633-2026 daily: six values, O3 only as its 8-h max.
    pub fn in_report(standard: AqiStandard, report: ReportKind) -> &'static [Indicator] {
        use Indicator::*;
        match (standard, report) {
            (AqiStandard::Hj633_2012, ReportKind::Daily) => &[
                So2Daily,
                No2Daily,
                Pm10Daily,
                CoDaily,
                O3Hourly,
                O3EightHour,
                Pm25Daily,
            ],
            (AqiStandard::Hj633_2026, ReportKind::Daily) => &[
                So2Daily,
                No2Daily,
                Pm10Daily,
                CoDaily,
                O3EightHour,
                Pm25Daily,
            ],
            (AqiStandard::Hj633_2012, ReportKind::Hourly) => &[
                So2Hourly,
                No2Hourly,
                Pm10Daily,
                CoHourly,
                O3Hourly,
                O3EightHour,
                Pm25Daily,
            ],
            (AqiStandard::Hj633_2026, ReportKind::Hourly) => &[
                So2Hourly, No2Hourly, Pm10Hourly, CoHourly, O3Hourly, Pm25Hourly,
            ],
        }
    }
}

/// The IAQI values of the table rows.
pub const IAQI_ROWS: [i64; 8] = [0, 50, 100, 150, 200, 300, 400, 500];

/// The breakpoints of an indicator's column (HJ 633-2012 Table 1, HJ 633-2026 Table 3),
/// µg/m³ except CO in mg/m³. Shorter columns end where the table has "—". `None`: not defined in that edition.
pub fn breakpoints(standard: AqiStandard, indicator: Indicator) -> Option<&'static [i64]> {
    const SO2_24H: [i64; 8] = [0, 50, 150, 475, 800, 1600, 2100, 2620];
    const SO2_1H: [i64; 5] = [0, 150, 500, 650, 800];
    const NO2_24H: [i64; 8] = [0, 40, 80, 180, 280, 565, 750, 940];
    const NO2_1H: [i64; 8] = [0, 100, 200, 700, 1200, 2340, 3090, 3840];
    const PM10_2012: [i64; 8] = [0, 50, 150, 250, 350, 420, 500, 600];
    const PM10_2026: [i64; 8] = [0, 50, 120, 250, 350, 420, 500, 600];
    const CO_24H: [i64; 8] = [0, 2, 4, 14, 24, 36, 48, 60];
    const CO_1H: [i64; 8] = [0, 5, 10, 35, 60, 90, 120, 150];
    const O3_1H: [i64; 8] = [0, 160, 200, 300, 400, 800, 1000, 1200];
    const O3_8H: [i64; 6] = [0, 100, 160, 215, 265, 800];
    const PM25_2012: [i64; 8] = [0, 35, 75, 115, 150, 250, 350, 500];
    const PM25_2026: [i64; 8] = [0, 35, 60, 115, 150, 250, 350, 500];
    use AqiStandard::*;
    use Indicator::*;
    Some(match (standard, indicator) {
        (_, So2Daily) => &SO2_24H,
        (_, So2Hourly) => &SO2_1H,
        (_, No2Daily) => &NO2_24H,
        (_, No2Hourly) => &NO2_1H,
        (_, CoDaily) => &CO_24H,
        (_, CoHourly) => &CO_1H,
        (_, O3Hourly) => &O3_1H,
        (_, O3EightHour) => &O3_8H,
        (Hj633_2012, Pm10Daily) => &PM10_2012,
        (Hj633_2012, Pm25Daily) => &PM25_2012,
        (Hj633_2012, Pm10Hourly | Pm25Hourly) => return None,
        // HJ 633-2026 §4.2.4: PM 1-h values are indexed against the daily column.
        (Hj633_2026, Pm10Daily | Pm10Hourly) => &PM10_2026,
        (Hj633_2026, Pm25Daily | Pm25Hourly) => &PM25_2026,
    })
}

/// IAQI from a breakpoint column by 式 1, rounded up. `None` above the top of the column.
///
/// Exact: with C = p/q the value is IAQI_Lo + (ΔIAQI·(p − BP_Lo·q)) / (ΔBP·q), and its ceiling is taken on
/// that fraction of integers.
pub fn iaqi_from_column(column: &[i64], concentration: Exact) -> Option<u32> {
    debug_assert!(!concentration.is_negative());
    let top = *column.last()?;
    if concentration > Exact::from_int(top) {
        return None;
    }
    let upper = column
        .iter()
        .position(|&bp| concentration <= Exact::from_int(bp))?;
    if upper == 0 {
        return Some(0);
    }
    let (bp_lo, bp_hi) = (i128::from(column[upper - 1]), i128::from(column[upper]));
    let (iaqi_lo, iaqi_hi) = (
        i128::from(IAQI_ROWS[upper - 1]),
        i128::from(IAQI_ROWS[upper]),
    );
    // IAQI − IAQI_Lo = ΔIAQI·(p − BP_Lo·q) / (ΔBP·q) ≥ 0: its ceiling by integer division, no fraction built.
    let (p, q) = (concentration.numerator(), concentration.denominator());
    let numerator = (iaqi_hi - iaqi_lo) * (p - bp_lo * q);
    let denominator = (bp_hi - bp_lo) * q;
    let above_lo = crate::exact::exact_div(numerator + denominator - 1, denominator);
    u32::try_from(iaqi_lo + above_lo).ok()
}

/// Why a sub-index has a note: a special rule applied, or no value could be given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubIndexNote {
    /// Concentration above the top breakpoint: the standard defines no IAQI; none is invented.
    AboveTable,
    /// HJ 633-2012: SO2 1-h > 800 — no IAQI from the 1-h value; the SO2 24-h IAQI is reported instead.
    So2HourlyAbove800UsesDaily,
    /// HJ 633-2012: SO2 1-h > 800 and no 24-h value given, so nothing can be reported.
    So2HourlyAbove800DailyMissing,
    /// HJ 633-2026: SO2 1-h > 800 — IAQI counts as 200.
    So2HourlyAbove800Is200,
    /// HJ 633-2012: O3 8-h > 800 — the O3 1-h IAQI is reported instead.
    O3EightHourAbove800UsesHourly,
    /// HJ 633-2012: O3 8-h > 800 and no 1-h value given, so nothing can be reported.
    O3EightHourAbove800HourlyMissing,
    /// HJ 633-2026: O3 8-h > 800 — IAQI counts as 300.
    O3EightHourAbove800Is300,
}

impl SubIndexNote {
    /// What the note means, for people.
    pub const fn description(self) -> &'static str {
        match self {
            Self::AboveTable => "above the top of the table: no IAQI defined",
            Self::So2HourlyAbove800UsesDaily => {
                "SO2 1-h > 800: the SO2 24-h IAQI is reported (HJ 633-2012)"
            }
            Self::So2HourlyAbove800DailyMissing => {
                "SO2 1-h > 800: report the 24-h IAQI, but no 24-h value was given"
            }
            Self::So2HourlyAbove800Is200 => "SO2 1-h > 800: IAQI counts as 200 (HJ 633-2026)",
            Self::O3EightHourAbove800UsesHourly => {
                "O3 8-h > 800: the O3 1-h IAQI is reported (HJ 633-2012)"
            }
            Self::O3EightHourAbove800HourlyMissing => {
                "O3 8-h > 800: report the 1-h IAQI, but no 1-h value was given"
            }
            Self::O3EightHourAbove800Is300 => "O3 8-h > 800: IAQI counts as 300 (HJ 633-2026)",
        }
    }
}

/// The sub-index of one indicator.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SubIndex {
    pub indicator: Indicator,
    /// The concentration the IAQI was computed from (after the rounding HJ 633-2026 requires).
    pub concentration: Exact,
    pub iaqi: Option<u32>,
    pub note: Option<SubIndexNote>,
}

/// AQI level (级别), category (类别) and colour, HJ 633 Table 2/Appendix A (identical in both editions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AqiLevel {
    One,
    Two,
    Three,
    Four,
    Five,
    Six,
}

impl AqiLevel {
    pub const ALL: [AqiLevel; 6] = [
        Self::One,
        Self::Two,
        Self::Three,
        Self::Four,
        Self::Five,
        Self::Six,
    ];

    pub fn for_aqi(aqi: u32) -> AqiLevel {
        match aqi {
            0..=50 => Self::One,
            51..=100 => Self::Two,
            101..=150 => Self::Three,
            151..=200 => Self::Four,
            201..=300 => Self::Five,
            _ => Self::Six,
        }
    }

    pub const fn number(self) -> u8 {
        match self {
            Self::One => 1,
            Self::Two => 2,
            Self::Three => 3,
            Self::Four => 4,
            Self::Five => 5,
            Self::Six => 6,
        }
    }

    pub const fn name(self) -> &'static str {
        ["一级", "二级", "三级", "四级", "五级", "六级"][self.number() as usize - 1]
    }

    pub const fn category(self) -> &'static str {
        ["优", "良", "轻度污染", "中度污染", "重度污染", "严重污染"][self.number() as usize - 1]
    }

    pub const fn colour(self) -> &'static str {
        ["绿色", "黄色", "橙色", "红色", "紫色", "褐红色"][self.number() as usize - 1]
    }

    pub const fn rgb(self) -> [u8; 3] {
        [
            [0, 228, 0],
            [255, 255, 0],
            [255, 126, 0],
            [255, 0, 0],
            [153, 0, 76],
            [126, 0, 35],
        ][self.number() as usize - 1]
    }

    pub fn hex(self) -> String {
        let [r, g, b] = self.rgb();
        format!("#{r:02X}{g:02X}{b:02X}")
    }
}

impl Serialize for AqiLevel {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("AqiLevel", 5)?;
        s.serialize_field("level", &self.number())?;
        s.serialize_field("name", self.name())?;
        s.serialize_field("category", self.category())?;
        s.serialize_field("colour", self.colour())?;
        s.serialize_field("colour_hex", &self.hex())?;
        s.end()
    }
}

/// An input the AQI cannot be computed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AqiInputError {
    Negative(Indicator),
}

impl std::fmt::Display for AqiInputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Negative(indicator) => {
                write!(f, "{} concentration is negative", indicator.code())
            }
        }
    }
}

impl std::error::Error for AqiInputError {}

/// The AQI of one report (a day or an hour) for one station or area.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AqiResult {
    pub standard: AqiStandard,
    pub report: ReportKind,
    pub sub_indices: Vec<SubIndex>,
    /// max IAQI. `None` when no sub-index has a value, or when one lies above its table (then the AQI is
    /// beyond 500 and undefined; `level` is still 六级).
    pub aqi: Option<u32>,
    pub level: Option<AqiLevel>,
    /// 首要污染物: all indicators with the maximum IAQI when AQI > 50.
    pub primary_pollutants: Vec<Indicator>,
    /// 超标污染物 (IAQI > 100), defined only in HJ 633-2012; HJ 633-2026 deleted it.
    pub exceeding_pollutants: Option<Vec<Indicator>>,
    /// Indicators of this report for which no concentration was given.
    pub missing: Vec<Indicator>,
    /// Given indicators that are not part of this report in this edition (e.g. O3 1-h in a 2026 daily report).
    pub not_used: Vec<Indicator>,
    /// Some sub-index lies above the top of its table.
    pub beyond_table: bool,
    /// Whether the AQI may be published: HJ 633-2026 §5.3.1 publishes an AQI with missing pollutants only
    /// when it is > 100; HJ 633-2012 marks the missing indicator NA and publishes the rest.
    pub publishable: bool,
}

/// Computes the AQI for a report from the given concentrations (µg/m³; CO mg/m³).
pub fn compute_aqi(
    standard: AqiStandard,
    report: ReportKind,
    concentrations: &[(Indicator, Exact)],
) -> Result<AqiResult, AqiInputError> {
    if let Some((indicator, _)) = concentrations.iter().find(|(_, c)| c.is_negative()) {
        return Err(AqiInputError::Negative(*indicator));
    }
    let members = Indicator::in_report(standard, report);
    let given = |indicator: Indicator| {
        concentrations
            .iter()
            .find(|(i, _)| *i == indicator)
            .map(|(_, c)| {
                if standard.rounds_concentrations_first() {
                    indicator.pollutant().round_for_reporting(*c)
                } else {
                    *c
                }
            })
    };
    let plain_iaqi = |indicator: Indicator, c: Exact| {
        breakpoints(standard, indicator).and_then(|column| iaqi_from_column(column, c))
    };
    let eight_hundred = Exact::from_int(800);

    let mut sub_indices = Vec::new();
    let mut missing = Vec::new();
    for &indicator in members {
        let Some(c) = given(indicator) else {
            missing.push(indicator);
            continue;
        };
        // HJ 633-2012 reports another indicator's IAQI in place of this one (which may itself be above its table).
        let substitute = |other: Indicator, used: SubIndexNote, other_missing: SubIndexNote| {
            match given(other) {
                Some(other_c) => match plain_iaqi(other, other_c) {
                    Some(iaqi) => (Some(iaqi), Some(used)),
                    None => (None, Some(SubIndexNote::AboveTable)),
                },
                None => (None, Some(other_missing)),
            }
        };
        let (iaqi, note) = match (indicator, standard) {
            (Indicator::So2Hourly, AqiStandard::Hj633_2012) if c > eight_hundred => substitute(
                Indicator::So2Daily,
                SubIndexNote::So2HourlyAbove800UsesDaily,
                SubIndexNote::So2HourlyAbove800DailyMissing,
            ),
            (Indicator::So2Hourly, AqiStandard::Hj633_2026) if c > eight_hundred => {
                (Some(200), Some(SubIndexNote::So2HourlyAbove800Is200))
            }
            (Indicator::O3EightHour, AqiStandard::Hj633_2012) if c > eight_hundred => substitute(
                Indicator::O3Hourly,
                SubIndexNote::O3EightHourAbove800UsesHourly,
                SubIndexNote::O3EightHourAbove800HourlyMissing,
            ),
            (Indicator::O3EightHour, AqiStandard::Hj633_2026) if c > eight_hundred => {
                (Some(300), Some(SubIndexNote::O3EightHourAbove800Is300))
            }
            _ => match plain_iaqi(indicator, c) {
                Some(iaqi) => (Some(iaqi), None),
                None => (None, Some(SubIndexNote::AboveTable)),
            },
        };
        sub_indices.push(SubIndex {
            indicator,
            concentration: c,
            iaqi,
            note,
        });
    }
    let not_used = concentrations
        .iter()
        .map(|(i, _)| *i)
        .filter(|i| !members.contains(i))
        .collect();

    let beyond_table = sub_indices
        .iter()
        .any(|s| s.note == Some(SubIndexNote::AboveTable));
    let max_iaqi = sub_indices.iter().filter_map(|s| s.iaqi).max();
    let aqi = if beyond_table { None } else { max_iaqi };
    let level = if beyond_table {
        Some(AqiLevel::Six)
    } else {
        aqi.map(AqiLevel::for_aqi)
    };
    let primary_pollutants = match aqi {
        Some(value) if value > 50 => sub_indices
            .iter()
            .filter(|s| s.iaqi == Some(value))
            .map(|s| s.indicator)
            .collect(),
        _ if beyond_table => sub_indices
            .iter()
            .filter(|s| s.note == Some(SubIndexNote::AboveTable))
            .map(|s| s.indicator)
            .collect(),
        _ => Vec::new(),
    };
    let exceeding_pollutants = match standard {
        AqiStandard::Hj633_2012 => Some(
            sub_indices
                .iter()
                .filter(|s| {
                    s.iaqi.is_some_and(|v| v > 100) || s.note == Some(SubIndexNote::AboveTable)
                })
                .map(|s| s.indicator)
                .collect(),
        ),
        AqiStandard::Hj633_2026 => None,
    };
    let unresolved = sub_indices
        .iter()
        .any(|s| s.iaqi.is_none() && s.note != Some(SubIndexNote::AboveTable));
    let complete = missing.is_empty() && !unresolved;
    let publishable = match standard {
        AqiStandard::Hj633_2012 => aqi.is_some() || beyond_table,
        AqiStandard::Hj633_2026 => complete || beyond_table || aqi.is_some_and(|v| v > 100),
    };
    Ok(AqiResult {
        standard,
        report,
        sub_indices,
        aqi,
        level,
        primary_pollutants,
        exceeding_pollutants,
        missing,
        not_used,
        beyond_table,
        publishable,
    })
}

#[cfg(test)]
mod tests;
