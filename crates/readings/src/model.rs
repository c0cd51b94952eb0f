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

/// The data flag of a value (`-Flag`, HJ 212-2017 Table 8), as the platform stores, serves and judges it: one
/// type for the readings, the API and the alarm rules, serialised as its letter. The letters on the wire are
/// read by the protocol crate (`hj212::DataFlag`, lower-case letters seen in the field accepted) and converted
/// with `From`.
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
        hj212::DataFlag::from(self).letter()
    }

    /// One letter, either case, surrounding blanks ignored.
    pub fn parse(text: &str) -> Option<DataFlag> {
        hj212::DataFlag::parse(text.trim()).map(DataFlag::from)
    }

    /// Only normal data count as valid in statistics and judge exceedances; every other flag marks the value as
    /// not usable; marked data do not judge exceedances (生态环境部《污染物排放自动监测设备标记规则》).
    pub fn is_normal(self) -> bool {
        self == DataFlag::N
    }

    /// The marks an operator sets that take data out of the exceedance judgement: stopped, maintenance, manual.
    pub fn is_operator_mark(self) -> bool {
        matches!(self, DataFlag::F | DataFlag::M | DataFlag::S)
    }
}

impl From<hj212::DataFlag> for DataFlag {
    fn from(flag: hj212::DataFlag) -> DataFlag {
        match flag {
            hj212::DataFlag::Normal => DataFlag::N,
            hj212::DataFlag::Stopped => DataFlag::F,
            hj212::DataFlag::Maintenance => DataFlag::M,
            hj212::DataFlag::ManualSet => DataFlag::S,
            hj212::DataFlag::Fault => DataFlag::D,
            hj212::DataFlag::Calibration => DataFlag::C,
            hj212::DataFlag::AboveRange => DataFlag::T,
            hj212::DataFlag::CommunicationFault => DataFlag::B,
        }
    }
}

impl From<DataFlag> for hj212::DataFlag {
    fn from(flag: DataFlag) -> hj212::DataFlag {
        match flag {
            DataFlag::N => hj212::DataFlag::Normal,
            DataFlag::F => hj212::DataFlag::Stopped,
            DataFlag::M => hj212::DataFlag::Maintenance,
            DataFlag::S => hj212::DataFlag::ManualSet,
            DataFlag::D => hj212::DataFlag::Fault,
            DataFlag::C => hj212::DataFlag::Calibration,
            DataFlag::T => hj212::DataFlag::AboveRange,
            DataFlag::B => hj212::DataFlag::CommunicationFault,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_either_case_and_write_upper_case() {
        for letter in "NFMSDCTB".chars() {
            let flag = DataFlag::parse(&letter.to_string()).unwrap();
            assert_eq!(flag.as_char(), letter);
            assert_eq!(
                DataFlag::parse(&format!(" {} ", letter.to_ascii_lowercase())),
                Some(flag)
            );
            assert_eq!(DataFlag::from(hj212::DataFlag::from(flag)), flag);
        }
        assert_eq!(DataFlag::parse("X"), None);
        assert_eq!(DataFlag::parse("NN"), None);
        assert_eq!(DataFlag::parse(""), None);
        assert!(DataFlag::M.is_operator_mark() && !DataFlag::D.is_operator_mark());
        assert!(DataFlag::N.is_normal() && !DataFlag::T.is_normal());
    }
}
