//! Reader for section sample files: a CSV with the header `section,water_body,date,item,value`.
//!
//! - `section`: the section (断面) name or code;
//! - `water_body`: `river` (河流) or `lake` (湖库; also `reservoir`) — lakes use the lake TP limits;
//! - `date`: `YYYY-MM-DD`;
//! - `item`: a GB 3838 item by code (`pH`, `DO`, `CODMn`, `COD`, `BOD5`, `NH3-N`, `TP`, `TN`, `Cu`, `Zn`, `F`,
//!   `Se`, `As`, `Hg`, `Cd`, `Cr6`, `Pb`, `CN`, `phenol`, `petroleum`, `LAS`, `sulfide`, `fecal_coliform`,
//!   `water_temperature`), Chinese name (氨氮) or HJ 212 factor code (w21003); for lakes also the trophic state
//!   parameters `chla` (叶绿素a, mg/m³) and `SD` (透明度, m);
//! - `value`: a plain decimal in mg/L (pH dimensionless, fecal coliform 个/L, temperature ℃). Values below the
//!   detection limit ("<0.01", "ND") are rejected: the official rule for them is unknown (½ × the detection
//!   limit is common, unverified).

use std::fs::File;
use std::io::Read;
use std::path::Path;

use chrono::NaiveDate;
use kernel::file_error::{FileError, LineIndex};
use standards::exact::Exact;
use standards::water::{WaterBody, WaterItem};

/// What a sample measures: a GB 3838 item, or a trophic state parameter of a lake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SampleItem {
    Standard(WaterItem),
    /// Chlorophyll a, mg/m³.
    Chlorophyll,
    /// Secchi depth (transparency), m.
    Transparency,
}

impl SampleItem {
    pub fn from_name(name: &str) -> Option<SampleItem> {
        if let Some(item) = WaterItem::from_name(name) {
            return Some(SampleItem::Standard(item));
        }
        let name = name.trim();
        match name.to_ascii_lowercase().as_str() {
            "chla" | "chl-a" | "chlorophyll_a" | "叶绿素a" => Some(SampleItem::Chlorophyll),
            "sd" | "transparency" | "透明度" => Some(SampleItem::Transparency),
            _ => None,
        }
    }
}

/// One measured value of one item at one section on one date.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub section: String,
    pub body: WaterBody,
    pub date: NaiveDate,
    pub item: SampleItem,
    pub value: Exact,
}

pub const COLUMNS: [&str; 5] = ["section", "water_body", "date", "item", "value"];

fn parse_body(text: &str) -> Option<WaterBody> {
    match text.trim().to_ascii_lowercase().as_str() {
        "river" | "河流" | "河" => Some(WaterBody::River),
        "lake" | "reservoir" | "湖库" | "湖泊" | "水库" | "湖" => Some(WaterBody::Lake),
        _ => None,
    }
}

/// Reads every sample of a file.
pub fn read_samples_file(path: &Path) -> Result<Vec<Sample>, FileError> {
    let file = File::open(path).map_err(|error| FileError::cannot_open(path, &error))?;
    read_samples(path, file)
}

/// Reads samples from any source; `name` is used in error messages.
pub fn read_samples(name: &Path, source: impl Read) -> Result<Vec<Sample>, FileError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(LineIndex::new(source));
    let line_error = |line: u64, message: String| FileError::line(name, line, message);
    let headers = reader
        .headers()
        .map_err(|e| line_error(1, e.to_string()))?
        .clone();
    let names: Vec<String> = headers
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    if names != COLUMNS {
        return Err(line_error(
            1,
            format!(
                "expected the header {:?}, found {:?}",
                COLUMNS.join(","),
                names.join(",")
            ),
        ));
    }
    let mut samples = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let start = e.position().map_or(0, |p| p.byte());
                return Err(line_error(reader.get_mut().line_at(start), e.to_string()));
            }
        }
        let line = reader
            .get_mut()
            .line_at(record.position().map_or(0, |p| p.byte()));
        if record.len() != COLUMNS.len() {
            return Err(line_error(
                line,
                format!("{} fields, expected {}", record.len(), COLUMNS.len()),
            ));
        }
        let cell = |column: usize, message: String| {
            FileError::cell(name, line, column + 1, COLUMNS[column], message)
        };
        let text = |column: usize| record.get(column).unwrap_or("").trim();
        let section = text(0).to_string();
        if section.is_empty() {
            return Err(cell(0, "empty section".into()));
        }
        let body = parse_body(text(1))
            .ok_or_else(|| cell(1, format!("{:?} is neither river nor lake", text(1))))?;
        let date = NaiveDate::parse_from_str(text(2), "%Y-%m-%d")
            .map_err(|_| cell(2, format!("{:?} is not a date (YYYY-MM-DD)", text(2))))?;
        let item = SampleItem::from_name(text(3)).ok_or_else(|| {
            cell(
                3,
                format!(
                    "{:?} is neither a GB 3838 Table 1 item nor chla/SD",
                    text(3)
                ),
            )
        })?;
        let value = Exact::parse_decimal(text(4)).map_err(|e| {
            let below_detection = text(4).starts_with('<') || text(4).eq_ignore_ascii_case("ND");
            if below_detection {
                cell(4, format!("{:?}: below-detection values are not accepted (the rule is unverified); give a number", text(4)))
            } else {
                cell(4, format!("{:?}: {e}", text(4)))
            }
        })?;
        if value.is_negative() {
            return Err(cell(4, format!("{:?}: negative value", text(4))));
        }
        if item == SampleItem::Standard(WaterItem::Ph) && value > Exact::from_int(14) {
            return Err(cell(4, format!("{:?}: pH outside 0–14", text(4))));
        }
        samples.push(Sample {
            section,
            body,
            date,
            item,
            value,
        });
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<Sample>, FileError> {
        read_samples(Path::new("w.csv"), text.as_bytes())
    }

    #[test]
    fn reads_samples_with_item_aliases() {
        let samples = read("section,water_body,date,item,value\nA,river,2024-01-05,NH3-N,0.52\nL,湖库,2024-01-05,w21011,0.04\n").unwrap();
        assert_eq!(samples.len(), 2);
        assert_eq!(
            (samples[0].item, samples[0].body),
            (SampleItem::Standard(WaterItem::Ammonia), WaterBody::River)
        );
        assert_eq!(
            (samples[1].item, samples[1].body),
            (
                SampleItem::Standard(WaterItem::TotalPhosphorus),
                WaterBody::Lake
            )
        );
        assert_eq!(samples[1].value, Exact::parse_decimal("0.04").unwrap());
    }

    #[test]
    fn errors_name_the_physical_line_in_crlf_files() {
        let text = "section,water_body,date,item,value\r\nA,river,2024-01-05,COD,1\r\nA,river,2024-02-05,COD,1\r\n\r\nA,sea,2024-03-05,COD,1\r\n";
        let err = read(text).unwrap_err();
        assert_eq!(
            (err.line, err.column.clone()),
            (5, Some((2, "water_body".to_string()))),
            "{err}"
        );
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let header = "section,water_body,date,item,value\n";
        let cases = [
            ("A,sea,2024-01-05,COD,1\n", "line 2, column 2 (water_body)"),
            ("A,river,2024-02-30,COD,1\n", "line 2, column 3 (date)"),
            (
                "A,river,2024-01-05,chlorophyll,1\n",
                "line 2, column 4 (item)",
            ),
            ("A,river,2024-01-05,COD,1.2.3\n", "line 2, column 5 (value)"),
            ("A,river,2024-01-05,COD,<0.5\n", "below-detection"),
            ("A,river,2024-01-05,pH,15\n", "pH outside 0–14"),
            ("A,river,2024-01-05,COD\n", "line 2: 4 fields"),
        ];
        for (row, expected) in cases {
            let message = read(&format!("{header}{row}")).unwrap_err().to_string();
            assert!(message.contains(expected), "{message}");
        }
        assert!(
            read("a,b\n")
                .unwrap_err()
                .to_string()
                .contains("expected the header")
        );
    }
}
