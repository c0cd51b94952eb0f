//! File imports: UCI Beijing, CNEMC long and the generic readings CSV (docs/readings.md), in two passes.
//!
//! Pass 1 reads every file, names every bad row and every station; nothing is written if a row is bad (unless
//! `skip_bad`), or, with `strict`, if a station is unknown. Pass 2 reads the files again and writes them in
//! batches; one `reading_sources` row per file, found again by checksum, so re-importing a file changes
//! nothing. Afterwards the roll-ups of exactly the (point, day) pairs that changed are recomputed: from the rows
//! just written where those are all the day holds (`rollup::FromImport`), from the store otherwise.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::station_files::open_station_file;
use chrono::{DateTime, NaiveDate, NaiveDateTime};
use kernel::file_error::{FileError, LineIndex};
use kernel::{AppError, Db};
use registry::model::{PointKind, PointLevel, PointRegistration};
use sha2::Digest;
use standards::pollutant::Pollutant;

use crate::model::{Cell, DataFlag, Period};
use crate::points;
use crate::store::{self, NewSource, Row, WriteOutcome};
use crate::{factors, rollup};

/// The file layouts `qingshan import readings --format` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// UCI Beijing multi-site (`No,year,month,day,hour,PM2.5,…,station`), hours in CST.
    Uci,
    /// CNEMC long (`date,hour,type,<station codes…>`), hours in CST.
    Cnemc,
    /// The generic readings CSV: `point,factor,time,period,value,flag`.
    Csv,
}

impl Format {
    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "uci" => Some(Format::Uci),
            "cnemc" => Some(Format::Cnemc),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// One parsed record: a station (or point code) and a wide row without its point id yet.
#[derive(Debug, Clone)]
pub struct Record {
    pub station: String,
    pub row: Row,
}

/// How stations of the files map to points (`--points-map`): CSV with header
/// `station,code,name,level,kind,street` (every column but `station` optional).
#[derive(Debug, Clone, Default)]
pub struct PointsMap(HashMap<String, MappedPoint>);

#[derive(Debug, Clone, Default)]
pub struct MappedPoint {
    pub code: Option<String>,
    pub name: Option<String>,
    pub level: Option<PointLevel>,
    pub kind: Option<PointKind>,
    pub street: Option<String>,
}

/// The kind given to a station the points map does not describe: the station files are air data.
pub const DEFAULT_KIND: PointKind = PointKind::AirStation;

/// The level given to a station the registry does not know and the points map gives none: `district` (区控),
/// the lowest fixed-station tier, which the monitoring department can raise afterwards; an outlet point is the
/// enterprise's own (the only level the registry allows it).
pub fn default_level(kind: PointKind) -> PointLevel {
    match kind {
        PointKind::Outlet => PointLevel::Enterprise,
        PointKind::AirStation | PointKind::WaterSection => PointLevel::District,
    }
}

impl PointsMap {
    pub fn read(path: &Path) -> anyhow::Result<PointsMap> {
        let file = std::fs::File::open(path)
            .map_err(|e| anyhow::anyhow!("{}: cannot open: {e}", path.display()))?;
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(LineIndex::new(file));
        let headers = reader.headers()?.clone();
        let find = |name: &str| {
            headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
        };
        let station = find("station").ok_or_else(|| {
            anyhow::anyhow!("{}: the header needs a `station` column", path.display())
        })?;
        let mut map = HashMap::new();
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => anyhow::bail!("{}: {e}", path.display()),
            }
            let line = reader
                .get_mut()
                .line_at(record.position().map_or(0, |p| p.byte()));
            let cell = |name: &str| {
                find(name)
                    .and_then(|c| record.get(c))
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            let closed = |column: &str, texts: Vec<&str>| -> anyhow::Result<Option<String>> {
                match cell(column) {
                    Some(text) if !texts.contains(&text.as_str()) => anyhow::bail!(
                        "{}, line {line}: {column} {text:?} is not one of {}",
                        path.display(),
                        texts.join(", ")
                    ),
                    other => Ok(other),
                }
            };
            let level = closed("level", PointLevel::texts())?.and_then(|t| t.parse().ok());
            let kind = closed("kind", PointKind::texts())?.and_then(|t| t.parse().ok());
            let mapped = MappedPoint {
                code: cell("code"),
                name: cell("name"),
                level,
                kind,
                street: cell("street"),
            };
            let key = record.get(station).unwrap_or("").trim().to_string();
            map.insert(key, mapped);
        }
        Ok(PointsMap(map))
    }
}

/// What an import is asked to do.
#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub files: Vec<PathBuf>,
    pub format: Format,
    pub points_map: PointsMap,
    pub skip_bad: bool,
    pub strict: bool,
    /// Who runs it (recorded with each source).
    pub actor: String,
}

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{} bad row(s); nothing imported (use --skip-bad to import the good rows):\n{}", .0.len(), list(.0))]
    BadRows(Vec<FileError>),
    #[error("{} station(s) unknown to the registry; nothing imported (--strict): {}", .0.len(), .0.join(", "))]
    UnknownStations(Vec<String>),
    /// The registry refused the point of a station it did not know (the error names the field).
    #[error("station {station}: the registry refuses its point; nothing imported: {error}")]
    PointRefused { station: String, error: AppError },
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

fn list(rows: &[FileError]) -> String {
    rows.iter()
        .map(|r| format!("  {r}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportSummary {
    pub files: usize,
    /// Files whose checksum had been imported before (their rows were compared, not re-attributed).
    pub files_seen_before: usize,
    pub records: u64,
    pub outcome: WriteOutcome,
    /// Bad rows skipped (`skip_bad`).
    pub skipped: Vec<FileError>,
    /// Points registered for stations the registry did not know: (code, name).
    pub new_points: Vec<(String, String)>,
    pub rollups: u64,
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.outcome;
        writeln!(
            f,
            "{} file(s) ({} imported before), {} record(s): {} row(s) new, {} row(s) completed, {} value(s) written, {} unchanged, {} conflict(s) (stored values kept)",
            self.files,
            self.files_seen_before,
            self.records,
            o.rows_inserted,
            o.rows_updated,
            o.values_written,
            o.values_unchanged,
            o.conflicts
        )?;
        for c in &o.conflict_samples {
            writeln!(
                f,
                "  conflict: point {} {} {} {}: stored {:?} {:?}, file {:?} {:?}",
                c.point_id,
                c.factor,
                c.period.as_str(),
                kernel::time::format_cst(c.ts),
                c.stored_value,
                c.stored_flag,
                c.sent_value,
                c.sent_flag
            )?;
        }
        writeln!(
            f,
            "{} roll-up value(s) recomputed for {} point-day(s)",
            self.rollups,
            o.dirty.len()
        )?;
        if !self.new_points.is_empty() {
            writeln!(
                f,
                "{} new monitoring point(s) registered:",
                self.new_points.len()
            )?;
            for (code, name) in &self.new_points {
                writeln!(f, "  {code} {name}")?;
            }
        }
        if !self.skipped.is_empty() {
            writeln!(f, "{} bad row(s) skipped:", self.skipped.len())?;
            for row in &self.skipped {
                writeln!(f, "  {row}")?;
            }
        }
        Ok(())
    }
}

/// Reads every record of one file, calling `each` with a record or a bad row.
pub fn read_file(
    path: &Path,
    format: Format,
    each: &mut dyn FnMut(Result<Record, FileError>),
) -> Result<(), FileError> {
    match format {
        Format::Uci | Format::Cnemc => read_station_file(path, format, each),
        Format::Csv => read_generic_csv(path, each),
    }
}

fn pollutant_code(p: Pollutant) -> &'static str {
    match p {
        Pollutant::So2 => "a21026",
        Pollutant::No2 => "a21004",
        Pollutant::Pm10 => "a34002",
        Pollutant::Pm25 => "a34004",
        Pollutant::Co => "a21005",
        Pollutant::O3 => "a05024",
    }
}

/// UCI's 16-point compass → degrees; `cv` (calm and variable) has no direction.
fn compass_degrees(text: &str) -> Option<Option<f64>> {
    const POINTS: [&str; 16] = [
        "N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW",
        "NW", "NNW",
    ];
    if text.eq_ignore_ascii_case("cv") {
        return Some(None);
    }
    POINTS
        .iter()
        .position(|p| p.eq_ignore_ascii_case(text))
        .map(|i| Some(i as f64 * 22.5))
}

/// UCI weather columns: (header, factor code or extra key).
const UCI_WEATHER: [(&str, &str); 5] = [
    ("TEMP", "a01001"),
    ("PRES", "a01006"),
    ("WSPM", "a01007"),
    ("DEWP", "dewp"),
    ("RAIN", "rain"),
];

fn read_station_file(
    path: &Path,
    format: Format,
    each: &mut dyn FnMut(Result<Record, FileError>),
) -> Result<(), FileError> {
    let mut reader = open_station_file(path)?;
    let detected = match reader.format() {
        crate::station_files::FileFormat::UciBeijing => Format::Uci,
        crate::station_files::FileFormat::CnemcLong => Format::Cnemc,
    };
    if detected != format {
        return Err(FileError::line(
            path,
            1,
            format!("the header is that of the {detected:?} format, not {format:?}"),
        ));
    }
    while let Some(next) = reader.next() {
        let record = match next {
            Ok(record) => record,
            Err(e) => {
                each(Err(e));
                continue;
            }
        };
        let Some(local) = record.date.and_hms_opt(u32::from(record.hour), 0, 0) else {
            continue;
        };
        let ts = kernel::time::cst_local_to_ts(local);
        if let Err(why) = crate::model::check_reading_time(ts) {
            each(Err(FileError::line(
                path,
                reader.record_line(),
                format!("{local} is {why}"),
            )));
            continue;
        }
        let mut row = Row::new(0, Period::Hour, ts);
        for p in Pollutant::ALL {
            if let Some(v) = record.values[p.index()] {
                row.set(
                    pollutant_code(p),
                    Cell {
                        value: Some(f64::from(v) / 10_000.0),
                        flag: DataFlag::N,
                    },
                );
            }
        }
        if format == Format::Uci {
            let (line, cells) = reader.last_row();
            let mut bad = None;
            for (column, (header, text)) in cells.enumerate() {
                let text = text.trim();
                if text.is_empty() || text.eq_ignore_ascii_case("NA") {
                    continue;
                }
                let located = |why: String| FileError {
                    file: path.to_path_buf(),
                    line,
                    column: Some((column + 1, header.to_string())),
                    why,
                };
                if header.eq_ignore_ascii_case("wd") {
                    match compass_degrees(text) {
                        Some(Some(deg)) => row.set(
                            "a01008",
                            Cell {
                                value: Some(deg),
                                flag: DataFlag::N,
                            },
                        ),
                        Some(None) => {}
                        None => bad = Some(located(format!("{text:?} is not a compass direction"))),
                    }
                } else if let Some((_, code)) = UCI_WEATHER
                    .iter()
                    .find(|(h, _)| h.eq_ignore_ascii_case(header))
                {
                    match text.parse::<f64>() {
                        Ok(v) if v.is_finite() => row.set(
                            code,
                            Cell {
                                value: Some(v),
                                flag: DataFlag::N,
                            },
                        ),
                        _ => bad = Some(located(format!("{text:?} is not a number"))),
                    }
                }
            }
            if let Some(bad) = bad {
                each(Err(bad));
                continue;
            }
        }
        each(Ok(Record {
            station: record.station,
            row,
        }));
    }
    Ok(())
}

/// Parses the generic CSV's time: RFC 3339 with an offset (`2024-01-01T08:00:00+08:00`, `…Z`), or a local
/// time without offset (`2024-01-01 08:00`, `2024-01-01T08:00:00`), which is China Standard Time.
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp());
    }
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(local) = NaiveDateTime::parse_from_str(text, format) {
            return Some(kernel::time::cst_local_to_ts(local));
        }
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .map(kernel::time::cst_day_start)
}

/// The generic CSV's columns, in the order `qingshan import` documents (others may follow and are ignored).
pub const CSV_COLUMNS: [&str; 6] = ["point", "factor", "time", "period", "value", "flag"];

fn read_generic_csv(
    path: &Path,
    each: &mut dyn FnMut(Result<Record, FileError>),
) -> Result<(), FileError> {
    let file = std::fs::File::open(path).map_err(|e| FileError::cannot_open(path, &e))?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(LineIndex::new(file));
    let headers = reader
        .headers()
        .map_err(|e| FileError::line(path, 1, e.to_string()))?
        .clone();
    let mut columns = [0usize; 6];
    for (i, name) in CSV_COLUMNS.iter().enumerate() {
        columns[i] = headers
            .iter()
            .position(|h| {
                h.trim()
                    .trim_start_matches('\u{feff}')
                    .eq_ignore_ascii_case(name)
            })
            .or(if *name == "flag" {
                Some(usize::MAX)
            } else {
                None
            })
            .ok_or_else(|| {
                FileError::line(
                    path,
                    1,
                    format!(
                        "the header has no `{name}` column (expected {})",
                        CSV_COLUMNS.join(",")
                    ),
                )
            })?;
    }
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let start = e.position().map_or(0, |p| p.byte());
                let line = reader.get_mut().line_at(start);
                each(Err(FileError::line(path, line, e.to_string())));
                continue;
            }
        }
        let start = record.position().map_or(0, |p| p.byte());
        let line = reader.get_mut().line_at(start);
        let cell = |i: usize| record.get(columns[i]).unwrap_or("").trim();
        let bad = |i: usize, why: String| FileError {
            file: path.to_path_buf(),
            line,
            column: Some((columns[i] + 1, CSV_COLUMNS[i].to_string())),
            why,
        };
        let parsed = (|| {
            let point = cell(0);
            if point.is_empty() {
                return Err(bad(0, "empty point code".into()));
            }
            let factor = cell(1);
            if !factors::is_plausible_code(factor) {
                return Err(bad(1, format!("{factor:?} is not an HJ 212 factor code")));
            }
            let ts = parse_time(cell(2)).ok_or_else(|| {
                bad(
                    2,
                    format!(
                        "{:?} is not a time (2024-01-01T08:00:00+08:00, or CST 2024-01-01 08:00)",
                        cell(2)
                    ),
                )
            })?;
            crate::model::check_reading_time(ts)
                .map_err(|why| bad(2, format!("{:?} is {why}", cell(2))))?;
            let period = Period::parse(cell(3)).ok_or_else(|| {
                bad(
                    3,
                    format!("{:?} is not a period (rtd, minute, hour, day)", cell(3)),
                )
            })?;
            let value = match cell(4) {
                "" => None,
                text => Some(
                    text.parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite())
                        .ok_or_else(|| bad(4, format!("{text:?} is not a number")))?,
                ),
            };
            let flag = match cell(5) {
                "" => DataFlag::N,
                text => DataFlag::parse(text).ok_or_else(|| {
                    bad(
                        5,
                        format!("{text:?} is not an HJ 212 flag (N F M S D C T B)"),
                    )
                })?,
            };
            if value.is_none() && flag.is_normal() {
                return Err(bad(4, "empty value with flag N: nothing to store".into()));
            }
            let mut row = Row::new(0, period, ts);
            row.set(factor, Cell { value, flag });
            Ok(Record {
                station: point.to_string(),
                row,
            })
        })();
        each(parsed);
    }
    Ok(())
}

fn checksum(path: &Path) -> anyhow::Result<String> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("{}: cannot open: {e}", path.display()))?;
    let mut hasher = sha2::Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// What pass 1 learns of one file.
struct Scan {
    records: u64,
    stations: BTreeSet<String>,
    bad: Vec<FileError>,
    checksum: String,
}

fn scan_file(path: &Path, format: Format) -> Result<Scan, ImportError> {
    let mut scan = Scan {
        records: 0,
        stations: BTreeSet::new(),
        bad: Vec::new(),
        checksum: String::new(),
    };
    read_file(path, format, &mut |r| match r {
        Ok(record) => {
            scan.records += 1;
            if !scan.stations.contains(&record.station) {
                scan.stations.insert(record.station);
            }
        }
        Err(b) => scan.bad.push(b),
    })
    .map_err(|b| ImportError::BadRows(vec![b]))?;
    scan.checksum = checksum(path)?;
    Ok(scan)
}

/// Rows written per store call at most (each call is its own transactions and dirty set).
const IMPORT_BATCH: usize = 8_000;

/// Runs an import. `progress` is called with the number of records written so far (pass 2) and the total.
pub async fn run(
    db: &Db,
    request: &ImportRequest,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ImportSummary, ImportError> {
    // Pass 1: every bad row, every station, the record count, the checksums; files side by side on the
    // machine's cores (their results taken in file order, so that the bad rows are listed in that order).
    let stage = Instant::now();
    let mut bad: Vec<FileError> = Vec::new();
    let mut stations: BTreeSet<String> = BTreeSet::new();
    let mut total = 0u64;
    let mut checksums: Vec<String> = Vec::with_capacity(request.files.len());
    let parallel = std::thread::available_parallelism().map_or(1, usize::from);
    for files in request.files.chunks(parallel) {
        let scans: Vec<_> = files
            .iter()
            .map(|file| {
                let (file, format) = (file.clone(), request.format);
                tokio::task::spawn_blocking(move || scan_file(&file, format))
            })
            .collect();
        for scan in scans {
            let scan = scan
                .await
                .map_err(|e| anyhow::anyhow!("file reader failed: {e}"))??;
            total += scan.records;
            stations.extend(scan.stations);
            bad.extend(scan.bad);
            checksums.push(scan.checksum);
        }
    }
    tracing::debug!(
        records = total,
        seconds = stage.elapsed().as_secs_f64(),
        "import pass 1: files parsed, checked and hashed"
    );
    if !bad.is_empty() && !request.skip_bad {
        return Err(ImportError::BadRows(bad));
    }
    // Stations → points.
    let stage = Instant::now();
    let mut ids: HashMap<String, i64> = HashMap::new();
    let mut unknown = Vec::new();
    for station in &stations {
        let mapped = request
            .points_map
            .0
            .get(station)
            .cloned()
            .unwrap_or_default();
        let code = mapped.code.clone().unwrap_or_else(|| station.clone());
        match points::by_code(db, &code)
            .await
            .map_err(anyhow::Error::from)?
        {
            Some(point) => {
                ids.insert(station.clone(), point.id);
            }
            None => unknown.push((station.clone(), code, mapped)),
        }
    }
    if request.strict && !unknown.is_empty() {
        return Err(ImportError::UnknownStations(
            unknown.into_iter().map(|(s, ..)| s).collect(),
        ));
    }
    let mut summary = ImportSummary {
        files: request.files.len(),
        skipped: bad,
        ..ImportSummary::default()
    };
    let mut registrations = Vec::with_capacity(unknown.len());
    for (station, code, mapped) in unknown {
        let street_id = match &mapped.street {
            Some(street) => Some(
                registry::service::find_street(db, street)
                    .await
                    .map_err(anyhow::Error::from)?
                    .ok_or_else(|| {
                        anyhow::anyhow!("points map: street {street:?} of {station} is unknown")
                    })?
                    .id,
            ),
            None => None,
        };
        let kind = mapped.kind.unwrap_or(DEFAULT_KIND);
        let registration = PointRegistration {
            code,
            name: mapped.name.clone().unwrap_or_else(|| station.clone()),
            kind,
            level: mapped.level.unwrap_or_else(|| default_level(kind)),
            street_id,
            lon: None,
            lat: None,
            owner: format!("导入 imported by {}", request.actor),
            simulated: false,
        };
        registrations.push((station, registration));
    }
    if !registrations.is_empty() {
        // One transaction: a point the registry refuses leaves none registered.
        let mut tx = db.begin_write().await.map_err(anyhow::Error::from)?;
        let mut registered = Vec::with_capacity(registrations.len());
        for (station, registration) in registrations {
            let point =
                registry::service::register_point_in(&mut tx, &request.actor, &registration)
                    .await
                    .map_err(|error| match error {
                        AppError::Internal(cause) => ImportError::Other(cause),
                        error => ImportError::PointRefused {
                            station: station.clone(),
                            error,
                        },
                    })?;
            registered.push((station, point));
        }
        tx.commit().await.map_err(anyhow::Error::from)?;
        for (station, point) in registered {
            ids.insert(station, point.id);
            summary.new_points.push((point.code, point.name));
        }
    }
    tracing::debug!(
        seconds = stage.elapsed().as_secs_f64(),
        "import: stations matched to points"
    );
    // Pass 2: write, file by file, in batches.
    let stage = Instant::now();
    let (mut writing, mut rolling) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    let mut rollups = rollup::FromImport::default();
    let mut done = 0u64;
    for (file, sum) in request.files.iter().zip(checksums) {
        let existing = store::file_source_with_checksum(db, &sum)
            .await
            .map_err(anyhow::Error::from)?;
        let source_id = match existing {
            Some(id) => {
                summary.files_seen_before += 1;
                id
            }
            None => store::create_source(
                db,
                &NewSource {
                    kind: "file",
                    name: file.display().to_string(),
                    checksum: Some(sum),
                    received_by: request.actor.clone(),
                    idempotency_key: None,
                },
            )
            .await
            .map_err(anyhow::Error::from)?,
        };
        // The reader is synchronous: it runs on a blocking thread and hands batches over a bounded channel,
        // so memory holds a few batches, never the file.
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<Row>>(4);
        let reader_ids = ids.clone();
        let (path, format) = (file.clone(), request.format);
        let reader = tokio::task::spawn_blocking(move || {
            let mut batch: Vec<Row> = Vec::with_capacity(IMPORT_BATCH);
            let mut closed = false;
            let result = read_file(&path, format, &mut |r| {
                // Bad rows were counted in pass 1 (and are skipped here); so were the stations.
                if let Ok(mut record) = r
                    && let Some(&id) = reader_ids.get(&record.station)
                {
                    record.row.point_id = id;
                    batch.push(record.row);
                    if batch.len() >= IMPORT_BATCH && !closed {
                        // The batch goes without the rows of its last (point, CST day), which begin the next
                        // one: a day of a sorted file is then rolled up from one batch's rows
                        // (`rollup::FromImport`), and a batch is still one transaction of the store.
                        let day = |row: &Row| (row.point_id, kernel::time::cst_day_number(row.ts));
                        let last = day(&batch[batch.len() - 1]);
                        let split = batch
                            .iter()
                            .rposition(|row| day(row) != last)
                            .map_or(batch.len(), |i| i + 1);
                        let next = batch.split_off(split);
                        let full = std::mem::replace(&mut batch, next);
                        closed = sender.blocking_send(full).is_err();
                    }
                }
            });
            if !batch.is_empty() && !closed {
                let _ = sender.blocking_send(batch);
            }
            result
        });
        while let Some(mut rows) = receiver.recv().await {
            let n = rows.len() as u64;
            let write = Instant::now();
            let outcome = store::write_rows_kept(db, source_id, &mut rows).await?;
            let roll = Instant::now();
            rollups.add_batch(db, &rows, &outcome).await?;
            writing += roll - write;
            rolling += roll.elapsed();
            summary.outcome.absorb(outcome);
            done += n;
            summary.records += n;
            progress(done, total);
        }
        reader
            .await
            .map_err(|e| anyhow::anyhow!("file reader failed: {e}"))?
            .map_err(|b| ImportError::BadRows(vec![b]))?;
    }
    tracing::debug!(
        seconds = stage.elapsed().as_secs_f64(),
        in_store_writes = writing.as_secs_f64(),
        rolling_up = rolling.as_secs_f64(),
        "import pass 2: files read again, written and rolled up"
    );
    let stage = Instant::now();
    summary.rollups = rollups.finish(db, &summary.outcome.dirty).await?;
    tracing::debug!(
        rollups = summary.rollups,
        seconds = stage.elapsed().as_secs_f64(),
        "import: roll-ups stored"
    );
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_with_offset_or_cst() {
        assert_eq!(parse_time("2024-01-01T00:00:00Z"), Some(1_704_067_200));
        assert_eq!(parse_time("2024-01-01T08:00:00+08:00"), Some(1_704_067_200));
        assert_eq!(parse_time("2024-01-01 08:00"), Some(1_704_067_200));
        assert_eq!(parse_time("2024-01-01T08:00:00"), Some(1_704_067_200));
        assert_eq!(parse_time("2024-01-01"), Some(1_704_038_400));
        assert_eq!(parse_time("01/01/2024"), None);
    }

    #[test]
    fn compass() {
        assert_eq!(compass_degrees("N"), Some(Some(0.0)));
        assert_eq!(compass_degrees("wsw"), Some(Some(247.5)));
        assert_eq!(compass_degrees("cv"), Some(None));
        assert_eq!(compass_degrees("X"), None);
    }
}
