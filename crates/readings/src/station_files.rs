//! Readers for hourly station data files, as streaming iterators of typed hourly records.
//!
//! Two formats:
//! - **UCI Beijing** (`No,year,month,day,hour,PM2.5,PM10,SO2,NO2,CO,O3,…,station`): one row per station-hour,
//!   every pollutant in µg/m³ *including CO*, which is converted here to mg/m³; `NA` is missing.
//! - **CNEMC long** (`date,hour,type,<station codes…>`): one row per hour and type, one column per station;
//!   `date` is `YYYYMMDD` (or `YYYY-MM-DD`), types other than the six 1-h pollutants (AQI, `_24h`, `O3_8h`…)
//!   are skipped; an empty cell is missing. CO in mg/m³, the others µg/m³. The hour label is taken as given
//!   (0–23 of that date) [M: CNEMC's end-of-hour labelling is not verified].
//!
//! Values are held as fixed-point integers in ten-thousandths of the unit (`standards::aggregate`), so
//! nothing is rounded on reading; a value that cannot be held exactly is an error naming file, line, column.

use std::collections::{BTreeSet, VecDeque};
use std::fs::File;
use std::io::Read;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use standards::aggregate::{HOURLY_DECIMALS, HOURLY_UNIT};
use standards::exact::Exact;
use standards::pollutant::Pollutant;

/// One station-hour: values in ten-thousandths of µg/m³ (CO: of mg/m³), `None` when missing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HourlyRecord {
    pub station: String,
    pub date: NaiveDate,
    /// Hour-beginning label 0–23.
    pub hour: u8,
    pub values: [Option<i32>; 6],
}

use kernel::byte_scan::{bytes_equal, words};
use kernel::file_error::{FileError, LineIndex};

/// Why a header is neither layout.
const UNRECOGNISED_HEADER: &str = "unrecognised header; expected the UCI Beijing columns (No,year,month,day,hour,PM2.5,PM10,SO2,NO2,CO,O3,…,station) or the CNEMC long format (date,hour,type,<station codes…>)";

/// The recognised file layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileFormat {
    UciBeijing,
    CnemcLong,
}

/// The unit conversion of a value on reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scale {
    /// Already in the unit of the standards.
    Same,
    /// µg/m³ of CO, which the standards give in mg/m³.
    Thousandth,
}

impl Scale {
    fn of(pollutant: Pollutant) -> Scale {
        // UCI gives CO in µg/m³; the standards use mg/m³.
        if pollutant == Pollutant::Co {
            Scale::Thousandth
        } else {
            Scale::Same
        }
    }

    fn factor(self) -> Exact {
        match self {
            Scale::Same => Exact::ONE,
            Scale::Thousandth => Exact::new(1, 1000),
        }
    }

    /// The power of ten from the text's unit to fixed-point ten-thousandths of the standards' unit.
    fn shift(self) -> u32 {
        match self {
            Scale::Same => HOURLY_DECIMALS,
            Scale::Thousandth => HOURLY_DECIMALS - 3,
        }
    }
}

/// Parses a decimal text into fixed-point ten-thousandths of the standards' unit.
fn to_fixed_point(text: &str, scale: Scale) -> Result<i32, String> {
    match plain_fixed_point(text, scale.shift()) {
        Some(value) => Ok(value),
        None => exact_fixed_point(text, scale.factor()),
    }
}

/// [`to_fixed_point`] in rational arithmetic: any decimal text, exact, with the reason when it does not fit.
fn exact_fixed_point(text: &str, factor: Exact) -> Result<i32, String> {
    let value = Exact::parse_decimal(text).map_err(|e| format!("{text:?}: {e}"))?;
    if value.is_negative() {
        return Err(format!("{text:?}: negative concentration"));
    }
    let scaled = value * factor * Exact::from_int(HOURLY_UNIT);
    if scaled.denominator() != 1 {
        return Err(format!(
            "{text:?}: more than {HOURLY_DECIMALS} decimal places after unit conversion"
        ));
    }
    i32::try_from(scaled.numerator()).map_err(|_| format!("{text:?}: value too large"))
}

/// A plain decimal (`123`, `4.5`) times 10^`shift`, by integer arithmetic, when that is an `i32` integer;
/// `None` leaves the text to the exact rational path (and its error messages). Most cells of a data file
/// take this way, at a fraction of the cost.
fn plain_fixed_point(text: &str, shift: u32) -> Option<i32> {
    // One pass over the bytes: this runs for nearly every value of every file.
    let (mut digits, mut whole_digits) = (0i64, 0u32);
    let mut decimals: Option<u32> = None;
    for &byte in text.as_bytes() {
        match (byte, &mut decimals) {
            (b'0'..=b'9', None) => whole_digits += 1,
            (b'0'..=b'9', Some(decimals)) => *decimals += 1,
            (b'.', None) => decimals = Some(0),
            _ => return None,
        }
        // At most 9 + 4 digits: no overflow in i64.
        if whole_digits > 9 || decimals.is_some_and(|decimals| decimals > shift) {
            return None;
        }
        if byte != b'.' {
            digits = digits * 10 + i64::from(byte - b'0');
        }
    }
    let decimals = match decimals {
        // `5.`: left to the exact way.
        Some(0) => return None,
        Some(decimals) => decimals,
        None => 0,
    };
    if whole_digits == 0 {
        return None;
    }
    i32::try_from(digits * 10i64.pow(shift - decimals)).ok()
}

struct Located<'a> {
    file: &'a Path,
    line: u64,
    headers: &'a csv::StringRecord,
}

impl Located<'_> {
    fn cell(&self, column: usize, message: impl Into<String>) -> FileError {
        FileError::cell(
            self.file,
            self.line,
            column + 1,
            self.headers.get(column).unwrap_or(""),
            message,
        )
    }
}

fn parse_int<T: std::str::FromStr>(
    at: &Located,
    record: &csv::StringRecord,
    column: usize,
) -> Result<T, FileError> {
    let text = record.get(column).unwrap_or("").trim();
    text.parse()
        .map_err(|_| at.cell(column, format!("{text:?} is not an integer")))
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y%m%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d"))
        .ok()
}

/// Column positions of a UCI Beijing file, found once from the header.
#[derive(Clone, Copy, Debug)]
struct UciColumns {
    pollutants: [usize; 6],
    station: usize,
    year: usize,
    month: usize,
    day: usize,
    hour: usize,
}

/// A streaming reader over one station data file.
pub struct StationFileReader<R: Read> {
    file: PathBuf,
    /// Over a [`LineIndex`], which locates records on their physical lines.
    reader: csv::Reader<LineIndex<R>>,
    /// The physical line of the row read last.
    line: u64,
    headers: csv::StringRecord,
    format: FileFormat,
    /// UCI: column index per pollutant, and of `station`.
    uci_columns: Option<UciColumns>,
    /// CNEMC: records of the hour being assembled (with the line of the hour's first row), and ready records
    /// with theirs.
    pending: Option<(NaiveDate, u8, u64, Vec<HourlyRecord>)>,
    ready: VecDeque<(u64, HourlyRecord)>,
    /// The physical line of the record returned last (CNEMC: the first row of its hour).
    record_line: u64,
    record: csv::StringRecord,
    finished: bool,
    /// Only rows of these dates (inclusive) are returned; the others are skipped before their values are read.
    dates: Option<(NaiveDate, NaiveDate)>,
    /// Stations of the skipped rows (UCI; CNEMC stations are all in the header).
    skipped_stations: BTreeSet<String>,
}

/// Opens a station data file and detects its format from the header.
pub fn open_station_file(path: &Path) -> Result<StationFileReader<File>, FileError> {
    let file = File::open(path).map_err(|error| FileError::cannot_open(path, &error))?;
    StationFileReader::new(path, file)
}

impl<R: Read> StationFileReader<R> {
    /// Reads from any source; `name` is used in error messages.
    pub fn new(name: &Path, source: R) -> Result<Self, FileError> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(LineIndex::new(source));
        let headers = reader
            .headers()
            .map_err(|e| FileError::line(name, 1, e.to_string()))?
            .clone();
        let names: Vec<String> = headers
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
            .collect();
        let find = |wanted: &str| names.iter().position(|n| n.eq_ignore_ascii_case(wanted));
        let (format, uci_columns) = if names
            .first()
            .is_some_and(|n| n.eq_ignore_ascii_case("date"))
            && find("hour") == Some(1)
            && find("type") == Some(2)
        {
            (FileFormat::CnemcLong, None)
        } else if let (Some(_), Some(station)) = (find("year"), find("station")) {
            let unknown = || FileError::line(name, 1, UNRECOGNISED_HEADER);
            let mut pollutants = [0usize; 6];
            for pollutant in Pollutant::ALL {
                pollutants[pollutant.index()] = find(pollutant.code()).ok_or_else(unknown)?;
            }
            let columns = UciColumns {
                pollutants,
                station,
                year: find("year").ok_or_else(unknown)?,
                month: find("month").ok_or_else(unknown)?,
                day: find("day").ok_or_else(unknown)?,
                hour: find("hour").ok_or_else(unknown)?,
            };
            (FileFormat::UciBeijing, Some(columns))
        } else {
            return Err(FileError::line(name, 1, UNRECOGNISED_HEADER));
        };
        Ok(StationFileReader {
            file: name.to_path_buf(),
            reader,
            line: 0,
            headers: csv::StringRecord::from(names),
            format,
            uci_columns,
            pending: None,
            ready: VecDeque::new(),
            record_line: 0,
            record: csv::StringRecord::new(),
            finished: false,
            dates: None,
            skipped_stations: BTreeSet::new(),
        })
    }

    /// Returns only the rows dated `from..=to`. The others are skipped as soon as their date is read, so their
    /// values are neither parsed nor checked: a file of several years costs little more than the rows wanted.
    pub fn only_dates(mut self, from: NaiveDate, to: NaiveDate) -> Self {
        self.dates = Some((from, to));
        self
    }

    /// The stations of the rows skipped by [`Self::only_dates`] so far (UCI files name stations on rows only).
    pub fn skipped_stations(&self) -> impl Iterator<Item = &str> {
        self.skipped_stations.iter().map(String::as_str)
    }

    fn wanted(&self, date: NaiveDate) -> bool {
        self.dates
            .is_none_or(|(from, to)| from <= date && date <= to)
    }

    pub fn format(&self) -> FileFormat {
        self.format
    }

    /// Station names (UCI) or codes (CNEMC) declared by the header; UCI names are only known from the rows.
    pub fn header_stations(&self) -> Vec<String> {
        match self.format {
            FileFormat::CnemcLong => self.headers.iter().skip(3).map(str::to_string).collect(),
            FileFormat::UciBeijing => Vec::new(),
        }
    }

    /// The line number and the (header, raw cell) pairs of the row read last: for callers that want the
    /// columns this reader does not interpret, such as the UCI weather columns (TEMP, PRES, DEWP, RAIN, wd,
    /// WSPM). For UCI files each record returned by the iterator is the row read last.
    pub fn last_row(&self) -> (u64, impl Iterator<Item = (&str, &str)>) {
        (self.line, self.headers.iter().zip(self.record.iter()))
    }

    /// The physical line of the record the iterator returned last: its row (UCI), or the first row of its hour
    /// (CNEMC, whose records are assembled from several rows).
    pub fn record_line(&self) -> u64 {
        match self.format {
            FileFormat::UciBeijing => self.line,
            FileFormat::CnemcLong => self.record_line,
        }
    }

    /// Reads the next row; its physical line (header = 1) is kept in `self.line`.
    fn read_record(&mut self) -> Option<Result<u64, FileError>> {
        match self.reader.read_record(&mut self.record) {
            Ok(true) => {
                let start = self.record.position().map_or(0, |p| p.byte());
                self.line = self.reader.get_mut().line_at(start);
                Some(Ok(self.line))
            }
            Ok(false) => None,
            Err(e) => {
                let start = e.position().map_or(0, |p| p.byte());
                let line = self.reader.get_mut().line_at(start);
                Some(Err(FileError::line(&self.file, line, e.to_string())))
            }
        }
    }

    fn next_uci(&mut self) -> Option<Result<HourlyRecord, FileError>> {
        loop {
            let line = match self.read_record()? {
                Ok(line) => line,
                Err(e) => return Some(Err(e)),
            };
            let columns = self.uci_columns?;
            let at = Located {
                file: &self.file,
                line,
                headers: &self.headers,
            };
            let date = match uci_date(&at, &self.record, columns) {
                Ok(date) => date,
                Err(e) => return Some(Err(e)),
            };
            if self.wanted(date) {
                return Some(self.uci_record(line, date, columns));
            }
            let station = self.record.get(columns.station).unwrap_or("").trim();
            if !station.is_empty() && !self.skipped_stations.contains(station) {
                self.skipped_stations.insert(station.to_string());
            }
        }
    }

    /// The record of the UCI row read last, dated `date`.
    fn uci_record(
        &self,
        line: u64,
        date: NaiveDate,
        columns: UciColumns,
    ) -> Result<HourlyRecord, FileError> {
        let at = Located {
            file: &self.file,
            line,
            headers: &self.headers,
        };
        let record = &self.record;
        let parse = || -> Result<HourlyRecord, FileError> {
            let hour: u8 = parse_int(&at, record, columns.hour)?;
            if hour > 23 {
                return Err(at.cell(columns.hour, format!("hour {hour} is outside 0–23")));
            }
            let mut values = [None; 6];
            for pollutant in Pollutant::ALL {
                let index = columns.pollutants[pollutant.index()];
                let text = record.get(index).unwrap_or("").trim();
                if text.is_empty() || text.eq_ignore_ascii_case("NA") {
                    continue;
                }
                values[pollutant.index()] = Some(
                    to_fixed_point(text, Scale::of(pollutant)).map_err(|m| at.cell(index, m))?,
                );
            }
            let station = record.get(columns.station).unwrap_or("").trim().to_string();
            if station.is_empty() {
                return Err(at.cell(columns.station, "empty station name"));
            }
            Ok(HourlyRecord {
                station,
                date,
                hour,
                values,
            })
        };
        parse()
    }

    fn next_cnemc(&mut self) -> Option<Result<HourlyRecord, FileError>> {
        loop {
            if let Some((line, record)) = self.ready.pop_front() {
                self.record_line = line;
                return Some(Ok(record));
            }
            if self.finished {
                return None;
            }
            let line = match self.read_record() {
                Some(Ok(line)) => line,
                Some(Err(e)) => return Some(Err(e)),
                None => {
                    self.finished = true;
                    if let Some((_, _, line, records)) = self.pending.take() {
                        self.ready.extend(records.into_iter().map(|r| (line, r)));
                    }
                    continue;
                }
            };
            if let Err(e) = self.absorb_cnemc_row(line) {
                return Some(Err(e));
            }
        }
    }

    fn absorb_cnemc_row(&mut self, line: u64) -> Result<(), FileError> {
        let at = Located {
            file: &self.file,
            line,
            headers: &self.headers,
        };
        let record = &self.record;
        let date_text = record.get(0).unwrap_or("");
        let date = parse_date(date_text)
            .ok_or_else(|| at.cell(0, format!("{date_text:?} is not a date (YYYYMMDD)")))?;
        if !self.wanted(date) {
            return Ok(());
        }
        let hour: u8 = parse_int(&at, record, 1)?;
        if hour > 23 {
            return Err(at.cell(1, format!("hour {hour} is outside 0–23")));
        }
        let kind = record.get(2).unwrap_or("").trim();
        let Some(pollutant) = Pollutant::from_code(kind) else {
            return Ok(()); // AQI, *_24h, O3_8h …: derived values, recomputed by the engine.
        };
        if record.len() != self.headers.len() {
            return Err(FileError::line(
                &self.file,
                line,
                format!(
                    "{} fields, but the header has {}",
                    record.len(),
                    self.headers.len()
                ),
            ));
        }
        let same_hour = self
            .pending
            .as_ref()
            .is_some_and(|(d, h, _, _)| *d == date && *h == hour);
        if !same_hour {
            if let Some((_, _, first_line, records)) = self.pending.take() {
                self.ready
                    .extend(records.into_iter().map(|r| (first_line, r)));
            }
            let stations = self.headers.iter().skip(3);
            let records = stations
                .map(|s| HourlyRecord {
                    station: s.to_string(),
                    date,
                    hour,
                    values: [None; 6],
                })
                .collect();
            self.pending = Some((date, hour, line, records));
        }
        // Cannot fail: the hour was set just above when it was missing.
        let (_, _, _, records) = self.pending.as_mut().expect("pending hour set above");
        for (offset, target) in records.iter_mut().enumerate() {
            let column = offset + 3;
            let text = record.get(column).unwrap_or("").trim();
            if text.is_empty() || text.eq_ignore_ascii_case("NA") {
                continue;
            }
            let value = to_fixed_point(text, Scale::Same).map_err(|m| at.cell(column, m))?;
            target.values[pollutant.index()] = Some(value);
        }
        Ok(())
    }
}

/// A row of a UCI Beijing file as [`read_plain_uci`] gives it, the station borrowed from the file's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UciRow<'a> {
    /// A row dated in the range asked for: what [`HourlyRecord`] holds.
    Wanted {
        station: &'a str,
        date: NaiveDate,
        hour: u8,
        values: [Option<i32>; 6],
    },
    /// A row outside the range: its values are not read, its station (never empty) still belongs to the file.
    Skipped { station: &'a str },
}

/// Reads a UCI Beijing file held whole in memory straight from its bytes, giving `each` the rows of the file in
/// order, as [`StationFileReader::only_dates`] would (same records, same values, same skipped stations), until
/// `each` breaks. This is the fast way of the assessment, with no CSV layer, no line index and no string per
/// field: it reads only the plain form these files have — one row per line (LF or CR LF), fields either bare or
/// wholly in quotes without a quote inside, no blank line, every wanted value valid. For anything else (another
/// layout, escaped quotes, a line break in quotes, a value in error, …) it answers `None`, having perhaps given
/// `each` some rows already, which the caller drops before reading the file with [`StationFileReader`]: that
/// reads any CSV and names the first error by line and column.
pub fn read_plain_uci<'a>(
    name: &Path,
    bytes: &'a [u8],
    from: NaiveDate,
    to: NaiveDate,
    mut each: impl FnMut(UciRow<'a>) -> ControlFlow<()>,
) -> Option<ControlFlow<()>> {
    let header_end = bytes.iter().position(|&byte| byte == b'\n')?;
    let mut fields = Vec::new();
    // The header as the general reader reads it, once plain: the same columns by construction.
    let header = std::str::from_utf8(&bytes[..header_end]).ok()?;
    for_each_plain_row(header, &mut fields, |_| Some(ControlFlow::Continue(())))?
        .continue_value()?;
    let reader = StationFileReader::new(name, &bytes[..=header_end]).ok()?;
    let columns = reader.uci_columns?;
    let last_column = columns
        .pollutants
        .into_iter()
        .chain([
            columns.station,
            columns.year,
            columns.month,
            columns.day,
            columns.hour,
        ])
        .max()?;
    // Rows come by the hour: the date of the row before is nearly always this row's.
    let mut last_date: Option<((i32, u32, u32), NaiveDate)> = None;
    // The general reader refuses a row that is not UTF-8 wherever the bad byte is.
    let body = std::str::from_utf8(&bytes[header_end + 1..]).ok()?;
    // A final line end ends the last row; it does not start another.
    let body = body.strip_suffix('\n').unwrap_or(body);
    if body.is_empty() {
        return Some(ControlFlow::Continue(()));
    }
    for_each_plain_row(body, &mut fields, |fields| {
        if fields.len() <= last_column || fields.iter().all(|field| field.is_empty()) {
            return None;
        }
        let field = |column: usize| trim_field(fields[column]);
        let number = |column: usize| -> Option<u32> {
            let digits = field(column);
            (!digits.is_empty() && digits.len() <= 9 && digits.bytes().all(|b| b.is_ascii_digit()))
                .then(|| {
                    digits
                        .bytes()
                        .fold(0, |value, digit| value * 10 + u32::from(digit - b'0'))
                })
        };
        let ymd = (
            i32::try_from(number(columns.year)?).ok()?,
            number(columns.month)?,
            number(columns.day)?,
        );
        let date = match last_date {
            Some((seen, date)) if seen == ymd => date,
            _ => {
                let date = NaiveDate::from_ymd_opt(ymd.0, ymd.1, ymd.2)?;
                last_date = Some((ymd, date));
                date
            }
        };
        let station = field(columns.station);
        let row = if from <= date && date <= to {
            let hour = u8::try_from(number(columns.hour)?)
                .ok()
                .filter(|&hour| hour <= 23)?;
            let mut values = [None; 6];
            for pollutant in Pollutant::ALL {
                let text = field(columns.pollutants[pollutant.index()]);
                if text.is_empty() || text.eq_ignore_ascii_case("NA") {
                    continue;
                }
                values[pollutant.index()] = Some(to_fixed_point(text, Scale::of(pollutant)).ok()?);
            }
            if station.is_empty() {
                return None;
            }
            UciRow::Wanted {
                station,
                date,
                hour,
                values,
            }
        } else if station.is_empty() {
            return Some(ControlFlow::Continue(()));
        } else {
            UciRow::Skipped { station }
        };
        Some(each(row))
    })
}

/// Calls `row` with the fields of every line of `text` (LF or CR LF; a final line end is not followed by
/// another row) until it breaks, when every field is bare or wholly in quotes with no quote inside (its text
/// without the quotes); `None` for any other use of quotes, a line end in quotes or a CR that does not end a
/// line, which the CSV reader reads differently, and when `row` answers `None`. The bytes that matter (`,`,
/// `"`, CR, LF) are found eight at a time, as this runs over every byte of every file.
fn for_each_plain_row<'a>(
    text: &'a str,
    fields: &mut Vec<&'a str>,
    mut row: impl FnMut(&[&'a str]) -> Option<ControlFlow<()>>,
) -> Option<ControlFlow<()>> {
    let bytes = text.as_bytes();
    fields.clear();
    let mut field_start = 0;
    // Inside a quoted field: where its text starts.
    let mut quoted_from: Option<usize> = None;
    // The field before was quoted, and is already among `fields`.
    let mut closed = false;
    // A row ended at a CR, whose LF is still to come (or the text ended there).
    let mut ended_at_cr = false;
    for (index, word) in words(bytes).enumerate() {
        let mut found = bytes_equal(word, b',')
            | bytes_equal(word, b'"')
            | bytes_equal(word, b'\n')
            | bytes_equal(word, b'\r');
        while found != 0 {
            let at = index * 8 + found.trailing_zeros() as usize / 8;
            found &= found - 1;
            let byte = bytes[at];
            match (byte, quoted_from) {
                (b'"', Some(from)) => {
                    fields.push(&text[from..at]);
                    quoted_from = None;
                    closed = true;
                    if !matches!(bytes.get(at + 1), None | Some(b',' | b'\r' | b'\n')) {
                        return None;
                    }
                }
                (b',', Some(_)) => {}
                (_, Some(_)) => return None,
                (b'"', None) if at == field_start && !closed => quoted_from = Some(at + 1),
                (b'"', None) => return None,
                (b',', None) => {
                    if !closed {
                        fields.push(&text[field_start..at]);
                    }
                    field_start = at + 1;
                    closed = false;
                }
                (b'\n', None) if ended_at_cr && at == field_start => {
                    ended_at_cr = false;
                    field_start = at + 1;
                }
                (_, None) => {
                    if byte == b'\r' {
                        if !matches!(bytes.get(at + 1), None | Some(b'\n')) {
                            return None;
                        }
                        ended_at_cr = true;
                    }
                    if !closed {
                        fields.push(&text[field_start..at]);
                    }
                    if row(fields)?.is_break() {
                        return Some(ControlFlow::Break(()));
                    }
                    fields.clear();
                    field_start = at + 1;
                    closed = false;
                }
            }
        }
    }
    if quoted_from.is_some() {
        return None;
    }
    if ended_at_cr && field_start == bytes.len() {
        return Some(ControlFlow::Continue(()));
    }
    if !closed {
        fields.push(&text[field_start..]);
    }
    row(fields)
}

/// `str::trim`, without looking for Unicode spaces in a field that starts and ends with a visible ASCII
/// character (nearly all of them).
fn trim_field(field: &str) -> &str {
    let bytes = field.as_bytes();
    let visible = |byte: Option<&u8>| byte.is_some_and(u8::is_ascii_graphic);
    if visible(bytes.first()) && visible(bytes.last()) {
        field
    } else {
        field.trim()
    }
}

/// The date of a UCI row, from its year, month and day columns.
fn uci_date(
    at: &Located,
    record: &csv::StringRecord,
    columns: UciColumns,
) -> Result<NaiveDate, FileError> {
    let (year, month, day) = (
        parse_int::<i32>(at, record, columns.year)?,
        parse_int::<u32>(at, record, columns.month)?,
        parse_int::<u32>(at, record, columns.day)?,
    );
    NaiveDate::from_ymd_opt(year, month, day)
        .ok_or_else(|| at.cell(columns.day, format!("{year}-{month}-{day} is not a date")))
}

impl<R: Read> Iterator for StationFileReader<R> {
    type Item = Result<HourlyRecord, FileError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.format {
            FileFormat::UciBeijing => self.next_uci(),
            FileFormat::CnemcLong => self.next_cnemc(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<HourlyRecord>, FileError> {
        StationFileReader::new(Path::new("test.csv"), text.as_bytes())?.collect()
    }

    const UCI_HEADER: &str = "\"No\",\"year\",\"month\",\"day\",\"hour\",\"PM2.5\",\"PM10\",\"SO2\",\"NO2\",\"CO\",\"O3\",\"TEMP\",\"PRES\",\"DEWP\",\"RAIN\",\"wd\",\"WSPM\",\"station\"\n";

    #[test]
    fn reads_uci_rows_and_converts_co_to_mg() {
        let text = format!(
            "{UCI_HEADER}1,2013,3,1,0,9,9,3,17,300,89,-0.5,1024.5,-21.4,0,\"NNW\",5.7,\"Dongsi\"\n2,2013,3,1,1,NA,4,1.7136,16,NA,88,-0.7,1025.1,-22.1,0,\"NW\",3.9,\"Dongsi\"\n"
        );
        let records = read(&text).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].station, "Dongsi");
        assert_eq!(
            records[0].date,
            NaiveDate::from_ymd_opt(2013, 3, 1).unwrap()
        );
        // CO 300 µg/m³ = 0.3 mg/m³ = 3000 ten-thousandths.
        assert_eq!(
            records[0].values,
            [
                Some(30_000),
                Some(170_000),
                Some(90_000),
                Some(90_000),
                Some(3_000),
                Some(890_000)
            ]
        );
        assert_eq!(
            (records[1].hour, records[1].values[Pollutant::Pm25.index()]),
            (1, None)
        );
        assert_eq!(records[1].values[Pollutant::So2.index()], Some(17_136));
        assert_eq!(records[1].values[Pollutant::Co.index()], None);
    }

    #[test]
    fn uci_errors_name_file_line_and_column() {
        let text =
            format!("{UCI_HEADER}1,2013,3,1,0,9,abc,3,17,300,89,0,0,0,0,\"N\",1,\"Dongsi\"\n");
        let message = read(&text).unwrap_err().to_string();
        assert!(
            message.contains("test.csv, line 2, column 7 (PM10)"),
            "{message}"
        );
        let text =
            format!("{UCI_HEADER}1,2013,2,30,0,9,9,3,17,300,89,0,0,0,0,\"N\",1,\"Dongsi\"\n");
        assert!(read(&text).unwrap_err().to_string().contains("not a date"));
        let text =
            format!("{UCI_HEADER}1,2013,2,3,24,9,9,3,17,300,89,0,0,0,0,\"N\",1,\"Dongsi\"\n");
        assert!(
            read(&text)
                .unwrap_err()
                .to_string()
                .contains("column 5 (hour)")
        );
        let text =
            format!("{UCI_HEADER}1,2013,2,3,1,9,-9,3,17,300,89,0,0,0,0,\"N\",1,\"Dongsi\"\n");
        assert!(read(&text).unwrap_err().to_string().contains("negative"));
        let text =
            format!("{UCI_HEADER}1,2013,2,3,1,9.12345,9,3,17,300,89,0,0,0,0,\"N\",1,\"Dongsi\"\n");
        assert!(
            read(&text)
                .unwrap_err()
                .to_string()
                .contains("decimal places")
        );
    }

    #[test]
    fn reads_cnemc_long_format_and_skips_derived_types() {
        let text = "date,hour,type,1021A,1015A\n\
            20240101,0,AQI,80,90\n\
            20240101,0,PM2.5,45,50\n\
            20240101,0,PM2.5_24h,40,41\n\
            20240101,0,CO,0.85,\n\
            20240101,1,PM2.5,47,\n";
        let records = read(text).unwrap();
        assert_eq!(records.len(), 4);
        let first = &records[0];
        assert_eq!((first.station.as_str(), first.hour), ("1021A", 0));
        assert_eq!(first.values[Pollutant::Pm25.index()], Some(450_000));
        assert_eq!(first.values[Pollutant::Co.index()], Some(8_500));
        assert_eq!(records[1].values[Pollutant::Co.index()], None);
        assert_eq!(
            (records[2].hour, records[2].values[Pollutant::Pm25.index()]),
            (1, Some(470_000))
        );
        assert_eq!(records[3].values[Pollutant::Pm25.index()], None);
    }

    #[test]
    fn cnemc_errors_name_file_line_and_column() {
        let text = "date,hour,type,1021A,1015A\n20240101,0,PM10,45,x5\n";
        let message = read(text).unwrap_err().to_string();
        assert!(message.contains("line 2, column 5 (1015A)"), "{message}");
        let text = "date,hour,type,1021A\n2024-13-01,0,PM10,45\n";
        assert!(
            read(text)
                .unwrap_err()
                .to_string()
                .contains("column 1 (date)")
        );
        let text = "date,hour,type,1021A,1015A\n20240101,0,PM10,45\n";
        assert!(read(text).unwrap_err().to_string().contains("fields"));
    }

    #[test]
    fn plain_decimals_take_the_integer_way_to_the_same_values() {
        let per_mille = Scale::Thousandth.factor();
        for text in [
            "0", "7", "123", "4.5", "1.7136", "0.0001", "214748", "12.30", "300", "0.5",
        ] {
            assert_eq!(
                to_fixed_point(text, Scale::Same),
                exact_fixed_point(text, Exact::ONE),
                "{text}"
            );
            assert_eq!(
                to_fixed_point(text, Scale::Thousandth),
                exact_fixed_point(text, per_mille),
                "{text} µg/m³ of CO"
            );
        }
        assert_eq!(plain_fixed_point("1.7136", 4), Some(17_136));
        assert_eq!(plain_fixed_point("300", 1), Some(3_000));
        // Left to the exact way: signs, exponents, too many decimals, too large, odd forms.
        for text in ["-1", "1e3", "1.23456", "999999999", ".5", "5.", "1,5", ""] {
            assert_eq!(plain_fixed_point(text, 4), None, "{text}");
        }
        assert_eq!(plain_fixed_point("1.25", 1), None);
    }

    #[test]
    fn only_dates_skips_other_rows_before_reading_their_values() {
        // The 2013-03-02 row has a value that is not a number: skipped unread, its station still known.
        let text = format!(
            "{UCI_HEADER}1,2013,3,1,0,9,9,3,17,300,89,0,0,0,0,\"N\",1,\"Dongsi\"\n2,2013,3,2,0,x,9,3,17,300,89,0,0,0,0,\"N\",1,\"Tiantan\"\n"
        );
        let day = NaiveDate::from_ymd_opt(2013, 3, 1).unwrap();
        let mut reader = StationFileReader::new(Path::new("test.csv"), text.as_bytes())
            .unwrap()
            .only_dates(day, day);
        let records: Vec<HourlyRecord> = reader.by_ref().map(Result::unwrap).collect();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].station, "Dongsi");
        assert_eq!(reader.skipped_stations().collect::<Vec<_>>(), ["Tiantan"]);
        assert!(
            read(&text).is_err(),
            "read whole, the bad value is an error"
        );
    }

    /// Stations of the rows outside the range, and the records of those in it.
    type Read = (BTreeSet<String>, Vec<HourlyRecord>);

    fn read_plain(text: &[u8], from: NaiveDate, to: NaiveDate) -> Option<Read> {
        let (mut skipped, mut records) = (BTreeSet::new(), Vec::new());
        let flow = read_plain_uci(Path::new("test.csv"), text, from, to, |row| {
            match row {
                UciRow::Wanted {
                    station,
                    date,
                    hour,
                    values,
                } => records.push(HourlyRecord {
                    station: station.to_string(),
                    date,
                    hour,
                    values,
                }),
                UciRow::Skipped { station } => {
                    skipped.insert(station.to_string());
                }
            }
            ControlFlow::Continue(())
        })?;
        assert!(flow.is_continue());
        Some((skipped, records))
    }

    fn read_general(text: &[u8], from: NaiveDate, to: NaiveDate) -> Result<Read, FileError> {
        let mut reader = StationFileReader::new(Path::new("test.csv"), text)?.only_dates(from, to);
        let records = reader.by_ref().collect::<Result<Vec<_>, _>>()?;
        let skipped = reader.skipped_stations().map(str::to_string).collect();
        Ok((skipped, records))
    }

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    const UCI_ROWS: &str = "1,2013,3,1,0,9,9,3,17,300,89,-0.5,1024.5,-21.4,0,\"NNW\",5.7,\"Dongsi\"\n\
        2,2013,3,1,1,NA,4,1.7136,16,NA,88,-0.7,1025.1,-22.1,0,\"NW\",3.9,\"Dongsi\"\n\
        3,2013,3,1,2,,na, 7 ,16.25,1234.5,88,-0.7,1025.1,-22.1,0,\"NW\",3.9, Dongsi \n\
        4,2013,3,2,0,12,13,3,17,300,89,0,0,0,0,NW,1,Tiantan\n\
        5,2013,02,28,23,12,13,3,17,300,89,0,0,0,0,\"N\",1,\"Gucheng\"\n";

    #[test]
    fn plain_uci_rows_read_as_the_csv_reader_reads_them() {
        let lf = format!("{UCI_HEADER}{UCI_ROWS}");
        let crlf = lf.replace('\n', "\r\n");
        let no_final_line_end = lf.trim_end().to_string();
        let header_only = UCI_HEADER.to_string();
        for text in [&lf, &crlf, &no_final_line_end, &header_only] {
            for (from, to) in [
                ("2013-01-01", "2013-12-31"),
                ("2013-03-01", "2013-03-01"),
                ("2013-03-02", "2014-01-01"),
                ("2014-01-01", "2014-12-31"),
            ] {
                let (from, to) = (date(from), date(to));
                let plain = read_plain(text.as_bytes(), from, to);
                assert_eq!(
                    plain.as_ref(),
                    Some(&read_general(text.as_bytes(), from, to).unwrap()),
                    "{text:?} {from} … {to}"
                );
            }
        }
        let (skipped, records) =
            read_plain(lf.as_bytes(), date("2013-03-01"), date("2013-03-01")).unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(
            records[2].values,
            [
                Some(70_000),
                Some(162_500),
                None,
                None,
                Some(12_345),
                Some(880_000)
            ],
            "SO2, NO2, PM10, PM2.5, CO, O3"
        );
        assert_eq!(
            skipped,
            BTreeSet::from(["Gucheng".into(), "Tiantan".into()])
        );
    }

    #[test]
    fn the_fixture_reads_the_same_both_ways() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/beijing/PRSA_Data_Dongsi_2015.csv"
        );
        let bytes = std::fs::read(path).unwrap();
        let (from, to) = (date("2015-03-15"), date("2015-07-20"));
        let plain = read_plain(&bytes, from, to).expect("the UCI files are plain");
        assert_eq!(plain, read_general(&bytes, from, to).unwrap());
        assert_eq!(plain.1.len(), 128 * 24);
    }

    #[test]
    fn anything_but_the_plain_form_is_left_to_the_csv_reader() {
        let (from, to) = (date("2013-01-01"), date("2013-12-31"));
        let row = "1,2013,3,1,0,9,9,3,17,300,89,0,0,0,0,\"N\",1,\"Dongsi\"\n";
        // (what, the rows, whether the CSV reader finds an error in them)
        let cases = [
            (
                "an escaped quote",
                row.replace("\"N\"", "\"N\"\"E\""),
                false,
            ),
            (
                "a line end in quotes",
                row.replace("\"N\"", "\"N\nE\""),
                false,
            ),
            (
                "a quote inside a bare field",
                row.replace("\"N\"", "N\"E"),
                false,
            ),
            ("a blank line", format!("{row}\n{row}"), false),
            ("a short row", format!("{row}1,2013,3,1,1,9\n"), true),
            ("a sign", row.replace(",0,9,", ",+0,9,"), false),
            ("an exponent", row.replace(",300,", ",3e2,"), false),
            (
                "a value that is not a number",
                row.replace(",300,", ",x,"),
                true,
            ),
            ("a negative value", row.replace(",300,", ",-300,"), true),
            ("hour 24", row.replace(",0,9,", ",24,9,"), true),
            ("30 February", row.replace(",3,1,", ",2,30,"), true),
            ("no station", row.replace("\"Dongsi\"", "\"\""), true),
            (
                "text after a quoted field",
                row.replace("\"N\"", "\"N\"E"),
                false,
            ),
            ("a lone CR", row.replace(",0,0,", ",0\r,0,"), false),
            (
                "invalid UTF-8 in a column not read",
                row.replace("\"N\"", "\"\u{FFFD}\""),
                true,
            ),
        ];
        for (what, rows, in_error) in cases {
            let mut text = format!("{UCI_HEADER}{rows}").into_bytes();
            if what.starts_with("invalid UTF-8") {
                let at = text
                    .windows(3)
                    .position(|w| w == "\u{FFFD}".as_bytes())
                    .unwrap();
                text.splice(at..at + 3, [0xff]);
            }
            assert_eq!(read_plain(&text, from, to), None, "{what}");
            if in_error {
                assert!(read_general(&text, from, to).is_err(), "{what}");
            }
        }
        assert_eq!(
            read_plain(b"date,hour,type,1021A\n20240101,0,PM2.5,45\n", from, to),
            None,
            "the CNEMC layout"
        );
    }

    #[test]
    fn each_can_stop_the_plain_reader() {
        let text = format!("{UCI_HEADER}{UCI_ROWS}");
        let mut seen = 0;
        let flow = read_plain_uci(
            Path::new("test.csv"),
            text.as_bytes(),
            date("2013-01-01"),
            date("2013-12-31"),
            |_| {
                seen += 1;
                if seen == 2 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            },
        );
        assert_eq!((flow, seen), (Some(ControlFlow::Break(())), 2));
    }

    #[test]
    fn unknown_header_is_rejected() {
        let message = read("a,b,c\n1,2,3\n").err().unwrap().to_string();
        assert!(message.contains("unrecognised header"), "{message}");
    }
}
