//! The logical model: narrow readings (one value of one factor at one point and time).

use serde::{Deserialize, Serialize};

/// What a value stands for, as reported by the device (HJ 212 CN 2011 real-time, 2051 minute, 2061 hour,
/// 2031 day) or the file.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Rtd,
    Minute,
    Hour,
    Day,
}

impl Period {
    pub const ALL: [Period; 4] = [Period::Rtd, Period::Minute, Period::Hour, Period::Day];

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Rtd => "rtd",
            Period::Minute => "minute",
            Period::Hour => "hour",
            Period::Day => "day",
        }
    }

    pub fn parse(text: &str) -> Option<Period> {
        Period::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

/// HJ 212 data flag (`-Flag`, HJ 212-2017 Table 8). Lower-case letters seen in the field are accepted.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
pub enum DataFlag {
    /// 正常 normal.
    #[default]
    N,
    /// 停运 instrument stopped.
    F,
    /// 维护 maintenance.
    M,
    /// 手工输入的设定值 manual set value.
    S,
    /// 故障 fault.
    D,
    /// 校准 calibration.
    C,
    /// 超测量上限 above the measuring range (not "above the emission limit").
    T,
    /// 通讯异常 instrument↔logger communication abnormal.
    B,
}

impl DataFlag {
    pub fn as_char(self) -> char {
        match self {
            DataFlag::N => 'N',
            DataFlag::F => 'F',
            DataFlag::M => 'M',
            DataFlag::S => 'S',
            DataFlag::D => 'D',
            DataFlag::C => 'C',
            DataFlag::T => 'T',
            DataFlag::B => 'B',
        }
    }

    pub fn parse(text: &str) -> Option<DataFlag> {
        let mut chars = text.trim().chars();
        let c = chars.next()?;
        if chars.next().is_some() {
            return None;
        }
        Some(match c.to_ascii_uppercase() {
            'N' => DataFlag::N,
            'F' => DataFlag::F,
            'M' => DataFlag::M,
            'S' => DataFlag::S,
            'D' => DataFlag::D,
            'C' => DataFlag::C,
            'T' => DataFlag::T,
            'B' => DataFlag::B,
            _ => return None,
        })
    }

    /// Only normal data count as valid in statistics; every other flag marks the value as not usable.
    pub fn is_normal(self) -> bool {
        self == DataFlag::N
    }
}

/// One reading: one factor's value at one point and instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reading {
    pub point_id: i64,
    /// HJ 212 factor code, e.g. `a34004`.
    pub factor: String,
    /// Unix seconds (UTC) of the period's beginning.
    pub ts: i64,
    pub period: Period,
    /// `None`: the device reported the factor without a value (normally with a flag saying why).
    pub value: Option<f64>,
    #[serde(default)]
    pub flag: DataFlag,
}

/// One stored cell: value and flag of one factor in one row. A cell exists when it has a value or an abnormal
/// flag; a missing value with flag N is no cell at all.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    pub value: Option<f64>,
    pub flag: DataFlag,
}

impl Cell {
    pub fn is_present(&self) -> bool {
        self.value.is_some() || !self.flag.is_normal()
    }

    /// Same value (bit-for-bit after the store's round trip, so 0.1 + 0.2 style noise counts as a change)
    /// and same flag.
    pub fn same_as(&self, other: &Cell) -> bool {
        self.flag == other.flag
            && match (self.value, other.value) {
                (None, None) => true,
                (Some(a), Some(b)) => a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()),
                _ => false,
            }
    }
}

/// The span a reading's time must fall in, whatever brings it (push API, station files, the generic CSV):
/// 2000-01-01 00:00 UTC up to, not including, 2100-01-01 00:00 UTC. A time outside is a device or file clock
/// gone wrong (HJ 212 devices reset to 1900, placeholder dates such as 9999), never a measurement.
pub const READING_TIME_SPAN: std::ops::Range<i64> = 946_684_800..4_102_444_800;

/// Checks a reading's time against [`READING_TIME_SPAN`].
pub fn check_reading_time(ts: i64) -> Result<(), &'static str> {
    if READING_TIME_SPAN.contains(&ts) {
        Ok(())
    } else {
        Err("outside 2000–2099")
    }
}
