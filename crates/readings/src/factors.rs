//! The factor catalogue: every HJ 212 factor code that has a column of its own in the `readings` table.
//!
//! Codes are HJ 212-2017 Appendix B / the ambient-air list (HJ 212-2017, ST=22). A code not listed here
//! is still stored, in the row's `extra` JSON. Adding a factor = a migration `ALTER TABLE readings ADD COLUMN
//! <code> DOUBLE PRECISION` on both backends + one line below (the column is named after the code).

/// One catalogued factor.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Factor {
    /// HJ 212-2017 code, e.g. `a34004`.
    pub code: &'static str,
    /// Its column in `readings` (the code itself).
    pub column: &'static str,
    /// 中文 name.
    pub name: &'static str,
    /// Unit as carried by the devices; ambient gases are µg/m³ (CO mg/m³), flue gas mg/m³.
    pub unit: &'static str,
    /// Plausible range: a value outside it is kept but never counted valid in roll-ups.
    pub min: f64,
    pub max: f64,
}

impl Factor {
    /// The unit at a point of this kind: a code measured both in ambient air and in flue gas (SO2) carries both
    /// units as `µg/m³ (废气 mg/m³)`; an outlet reads the flue-gas one, every other point the first.
    pub fn unit_for(&self, kind: registry::model::PointKind) -> &'static str {
        match self.unit.split_once(" (废气 ") {
            Some((_, flue)) if kind == registry::model::PointKind::Outlet => {
                flue.trim_end_matches(')')
            }
            Some((ambient, _)) => ambient,
            None => self.unit,
        }
    }
}

const fn factor(
    code: &'static str,
    name: &'static str,
    unit: &'static str,
    min: f64,
    max: f64,
) -> Factor {
    Factor {
        code,
        column: code,
        name,
        unit,
        min,
        max,
    }
}

/// The catalogue, in column order of the migrations `20261201000003_readings.sql` and
/// `20261201000005_water_factors.sql`.
pub const CATALOGUE: &[Factor] = &[
    // Ambient air (ST=22).
    factor("a34004", "PM2.5", "µg/m³", 0.0, 2000.0),
    factor("a34002", "PM10", "µg/m³", 0.0, 5000.0),
    factor("a21026", "二氧化硫 SO2", "µg/m³ (废气 mg/m³)", 0.0, 20000.0),
    factor("a21004", "二氧化氮 NO2", "µg/m³", 0.0, 5000.0),
    factor("a21005", "一氧化碳 CO", "mg/m³", 0.0, 5000.0),
    factor("a05024", "臭氧 O3", "µg/m³", 0.0, 2000.0),
    factor("a01007", "风速", "m/s", 0.0, 75.0),
    factor("a01008", "风向", "°", 0.0, 360.0),
    factor("a01001", "温度", "°C", -60.0, 60.0),
    factor("a01002", "湿度", "%", 0.0, 100.0),
    factor("a01006", "气压", "hPa", 500.0, 1100.0),
    // Flue gas outlets (ST=31).
    factor("a21002", "氮氧化物 NOx", "mg/m³", 0.0, 20000.0),
    factor("a34013", "烟尘 颗粒物", "mg/m³", 0.0, 10000.0),
    factor("a19001", "氧含量 O2", "%", 0.0, 25.0),
    factor("a01012", "烟气温度", "°C", -40.0, 1200.0),
    factor("a01011", "烟气流速", "m/s", 0.0, 100.0),
    factor("a00000", "废气流量", "m³/s", 0.0, 100000.0),
    // Wastewater outlets and sections (ST=32).
    factor("w01018", "化学需氧量 COD", "mg/L", 0.0, 100000.0),
    factor("w21003", "氨氮 NH3-N", "mg/L", 0.0, 10000.0),
    factor("w21011", "总磷 TP", "mg/L", 0.0, 1000.0),
    factor("w21001", "总氮 TN", "mg/L", 0.0, 10000.0),
    factor("w01001", "pH", "无量纲", 0.0, 14.0),
    factor("w00000", "污水流量", "L/s", 0.0, 100000.0),
    // Surface-water sections: the other GB 3838 Table 1 items (migration 20261201000005_water_factors.sql).
    factor("w01010", "水温", "℃", -5.0, 50.0),
    factor("w01009", "溶解氧 DO", "mg/L", 0.0, 30.0),
    factor("w01019", "高锰酸盐指数 CODMn", "mg/L", 0.0, 1000.0),
    factor("w01017", "五日生化需氧量 BOD5", "mg/L", 0.0, 10000.0),
    factor("w20122", "铜 Cu", "mg/L", 0.0, 100.0),
    factor("w20123", "锌 Zn", "mg/L", 0.0, 100.0),
    factor("w21017", "氟化物 F", "mg/L", 0.0, 100.0),
    factor("w20128", "硒 Se", "mg/L", 0.0, 10.0),
    factor("w20141", "砷 As", "mg/L", 0.0, 10.0),
    factor("w20111", "汞 Hg", "mg/L", 0.0, 1.0),
    factor("w20115", "镉 Cd", "mg/L", 0.0, 10.0),
    factor("w20117", "六价铬 Cr6+", "mg/L", 0.0, 100.0),
    factor("w20120", "铅 Pb", "mg/L", 0.0, 100.0),
    factor("w21016", "氰化物 CN", "mg/L", 0.0, 100.0),
    factor("w23002", "挥发酚", "mg/L", 0.0, 100.0),
    factor("w22001", "石油类", "mg/L", 0.0, 1000.0),
    factor("w19002", "阴离子表面活性剂 LAS", "mg/L", 0.0, 100.0),
    factor("w21019", "硫化物", "mg/L", 0.0, 100.0),
    factor("w02003", "粪大肠菌群", "个/L", 0.0, 1000000000.0),
];

/// The factors an air station measures: the six of GB 3095 and the weather (HJ 212-2017, ST=22).
const AIR_STATION: &[&str] = &[
    "a34004", "a34002", "a21026", "a21004", "a21005", "a05024", "a01007", "a01008", "a01001",
    "a01002", "a01006",
];
/// An outlet's: flue gas (ST=31) or wastewater (ST=32) — which one the registry's outlet medium says.
const OUTLET: &[&str] = &[
    "a21026", "a21002", "a34013", "a19001", "a01012", "a01011", "a00000", "w01018", "w21003",
    "w21011", "w21001", "w01001", "w00000",
];

/// The factors a point of `kind` is catalogued with, for a point that has no data yet: an air station's six
/// pollutants and weather, an outlet's flue-gas and wastewater factors, a water section's GB 3838-2002 Table 1
/// items. In catalogue order.
pub fn typical_for(kind: registry::model::PointKind) -> Vec<&'static Factor> {
    use registry::model::PointKind;
    CATALOGUE
        .iter()
        .filter(|f| match kind {
            PointKind::AirStation => AIR_STATION.contains(&f.code),
            PointKind::Outlet => OUTLET.contains(&f.code),
            // Every water code but the outlets' flows.
            PointKind::WaterSection => f.code.starts_with('w') && f.code != "w00000",
        })
        .collect()
}

/// A factor's index in [`CATALOGUE`] (its column slot).
pub fn index_of(code: &str) -> Option<usize> {
    CATALOGUE.iter().position(|f| f.code == code)
}

pub fn by_code(code: &str) -> Option<&'static Factor> {
    CATALOGUE.iter().find(|f| f.code == code)
}

/// Whether `code` looks like an HJ 212 factor code (letter + digits/letters, ≤ 12 chars), so that it can be
/// stored as a key of `extra` and named in flags without escaping.
pub fn is_plausible_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 12
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Wind direction is averaged as a vector, not arithmetically.
pub const WIND_DIRECTION: &str = "a01008";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_codes_are_unique_and_match_the_migration() {
        let mut codes: Vec<_> = CATALOGUE.iter().map(|f| f.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), CATALOGUE.len());
        // A column is created by the readings table or added later by an ALTER TABLE.
        let has_column = |sql: &[&str], column: &str| {
            sql.iter().any(|text| {
                text.contains(&format!("    {column} DOUBLE PRECISION"))
                    || text.contains(&format!("ADD COLUMN {column} DOUBLE PRECISION"))
            })
        };
        let sqlite = [
            include_str!("../../../migrations/sqlite/20261201000003_readings.sql"),
            include_str!("../../../migrations/sqlite/20261201000005_water_factors.sql"),
        ];
        let postgres = [
            include_str!("../../../migrations/postgres/20261201000003_readings.sql"),
            include_str!("../../../migrations/postgres/20261201000005_water_factors.sql"),
        ];
        for f in CATALOGUE {
            assert!(has_column(&sqlite, f.column), "{} has no column", f.code);
            assert!(
                has_column(&postgres, f.column),
                "{} has no PostgreSQL column",
                f.code
            );
            assert!(f.min < f.max);
        }
    }
}
