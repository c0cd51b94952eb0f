//! The six basic air pollutants of GB 3095 / HJ 633 and their reporting conventions.

use serde::Serialize;

use crate::exact::Exact;

/// A basic air pollutant. Concentrations are in µg/m³, except CO in mg/m³.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Pollutant {
    #[serde(rename = "SO2")]
    So2,
    #[serde(rename = "NO2")]
    No2,
    #[serde(rename = "PM10")]
    Pm10,
    #[serde(rename = "PM2.5")]
    Pm25,
    #[serde(rename = "CO")]
    Co,
    #[serde(rename = "O3")]
    O3,
}

impl Pollutant {
    /// In the order of the official tables.
    pub const ALL: [Pollutant; 6] = [
        Self::So2,
        Self::No2,
        Self::Pm10,
        Self::Pm25,
        Self::Co,
        Self::O3,
    ];

    /// Position in [`Pollutant::ALL`], for per-pollutant arrays.
    pub const fn index(self) -> usize {
        match self {
            Self::So2 => 0,
            Self::No2 => 1,
            Self::Pm10 => 2,
            Self::Pm25 => 3,
            Self::Co => 4,
            Self::O3 => 5,
        }
    }

    pub const fn code(self) -> &'static str {
        match self {
            Self::So2 => "SO2",
            Self::No2 => "NO2",
            Self::Pm10 => "PM10",
            Self::Pm25 => "PM2.5",
            Self::Co => "CO",
            Self::O3 => "O3",
        }
    }

    pub const fn chinese_name(self) -> &'static str {
        match self {
            Self::So2 => "二氧化硫",
            Self::No2 => "二氧化氮",
            Self::Pm10 => "可吸入颗粒物",
            Self::Pm25 => "细颗粒物",
            Self::Co => "一氧化碳",
            Self::O3 => "臭氧",
        }
    }

    pub const fn unit(self) -> &'static str {
        match self {
            Self::Co => "mg/m³",
            _ => "µg/m³",
        }
    }

    /// Reporting precision (HJ 633-2026 §4.2.2; official bulletins): integers, CO one decimal.
    pub const fn reporting_decimals(self) -> u32 {
        match self {
            Self::Co => 1,
            _ => 0,
        }
    }

    /// Rounds a concentration half to even to the reporting precision (GB/T 8170).
    pub fn round_for_reporting(self, concentration: Exact) -> Exact {
        concentration.round_half_even(self.reporting_decimals())
    }

    /// Parses a pollutant code as written in data files and on the command line.
    pub fn from_code(code: &str) -> Option<Pollutant> {
        match code.trim().to_ascii_uppercase().as_str() {
            "SO2" => Some(Self::So2),
            "NO2" => Some(Self::No2),
            "PM10" => Some(Self::Pm10),
            "PM2.5" | "PM25" | "PM2_5" => Some(Self::Pm25),
            "CO" => Some(Self::Co),
            "O3" => Some(Self::O3),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_matches_position_in_all() {
        for (position, pollutant) in Pollutant::ALL.iter().enumerate() {
            assert_eq!(pollutant.index(), position);
            assert_eq!(Pollutant::from_code(pollutant.code()), Some(*pollutant));
        }
        assert_eq!(Pollutant::from_code("pm25"), Some(Pollutant::Pm25));
        assert_eq!(Pollutant::from_code("NOx"), None);
    }

    #[test]
    fn reporting_rounds_co_to_one_decimal_and_others_to_integers() {
        let value = Exact::parse_decimal("0.85").unwrap();
        assert_eq!(
            Pollutant::Co.round_for_reporting(value),
            Exact::parse_decimal("0.8").unwrap()
        );
        assert_eq!(
            Pollutant::Pm25.round_for_reporting(Exact::parse_decimal("74.5").unwrap()),
            Exact::from_int(74)
        );
        assert_eq!(
            Pollutant::Pm25.round_for_reporting(Exact::parse_decimal("75.5").unwrap()),
            Exact::from_int(76)
        );
    }
}
