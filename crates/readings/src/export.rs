//! The readings export (a point-month, or a whole month of every visible point): the plan checked before
//! anything is read, then the values one point at a time — streamed as CSV, or written into a workbook off the
//! async threads.

use std::io;

use futures_util::Stream;
use kernel::{Action, AppError, AppResult, Db, Principal};

use chrono::NaiveDate;

use crate::audit;
use crate::factors;
use crate::model::{DataFlag, Period};
use crate::points::{self, PointInfo};
use crate::service::times;
use crate::store;

/// A checked export request.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// One point, or every point the caller may see.
    pub point: Option<i64>,
    /// What the file name says of the span: `2024-03` for a month, `2024-03-01_2024-03-15` for days.
    pub month: String,
    /// The span `[from, to)` in Unix seconds.
    pub from: i64,
    pub to: i64,
    /// Factor codes to export; empty for all.
    pub factors: Vec<String>,
    /// Periods to export; empty for all.
    pub periods: Vec<Period>,
}

/// The longest span of days one export may cover (a year: a station's hours fit a workbook many times over).
pub const MAX_EXPORT_DAYS: i64 = 366;

impl ExportRequest {
    /// The month `YYYY-MM` (`month` names the parameter in errors).
    pub fn new(point: Option<i64>, month: Option<&str>) -> AppResult<ExportRequest> {
        let month = month
            .map(str::to_string)
            .ok_or_else(|| AppError::validation("month", "required, YYYY-MM"))?;
        let (from, to) = audit::parse_month(&month)
            .and_then(|(y, m)| audit::month_span(y, m))
            .ok_or_else(|| AppError::validation("month", "expected YYYY-MM"))?;
        Ok(ExportRequest {
            point,
            month,
            from,
            to,
            factors: Vec::new(),
            periods: Vec::new(),
        })
    }

    /// The CST days `from..=to` (at most [`MAX_EXPORT_DAYS`]).
    pub fn days(point: Option<i64>, from: NaiveDate, to: NaiveDate) -> AppResult<ExportRequest> {
        if to < from {
            return Err(AppError::validation("to", "结束日期不能早于开始日期"));
        }
        if (to - from).num_days() + 1 > MAX_EXPORT_DAYS {
            return Err(AppError::validation(
                "to",
                format!("一次最多导出 {MAX_EXPORT_DAYS} 天"),
            ));
        }
        Ok(ExportRequest {
            point,
            month: format!("{from}_{to}"),
            from: kernel::time::cst_day_start(from),
            to: kernel::time::cst_day_start(to + chrono::Duration::days(1)),
            factors: Vec::new(),
            periods: Vec::new(),
        })
    }

    /// Only these factors (catalogued codes; `field` names the parameter in errors).
    pub fn with_factors(mut self, field: &str, codes: &[String]) -> AppResult<ExportRequest> {
        for code in codes {
            if factors::by_code(code).is_none() {
                return Err(AppError::validation(
                    field,
                    format!("未知的监测因子 {code}"),
                ));
            }
        }
        self.factors = codes.to_vec();
        Ok(self)
    }

    /// Only these periods.
    pub fn with_periods(mut self, periods: &[Period]) -> ExportRequest {
        self.periods = periods.to_vec();
        self
    }
}

/// One exported value.
struct ExportLine {
    factor: String,
    time_cst: String,
    period: Period,
    value: Option<f64>,
    flag: DataFlag,
    audited: Option<f64>,
    valid: bool,
    time_utc: String,
}

/// The values of one point in the export, its code beside them.
struct PointLines {
    code: String,
    lines: Vec<ExportLine>,
}

const EXPORT_HEADER: [&str; 9] = [
    "point",
    "factor",
    "time",
    "period",
    "value",
    "flag",
    "audited_value",
    "valid",
    "time_utc",
];
/// Values per workbook: an XLSX sheet holds 1,048,576 rows. A CSV is streamed and has no such bound.
const MAX_XLSX_LINES: usize = 1_000_000;
/// CSV bytes gathered before they are sent on.
const CSV_CHUNK: usize = 64 * 1024;

/// What an export covers, checked before anything is read or streamed.
pub struct ExportPlan {
    points: Vec<PointInfo>,
    from: i64,
    to: i64,
    factors: Vec<String>,
    periods: Vec<Period>,
    /// The file name without its extension.
    pub stem: String,
}

/// Checks the request. A whole month of every visible point (no `point`) is a bulk export, which the public may
/// not make: it is the one export that reads every station's month, and the public's interest (a station's data)
/// is served one point at a time. Staff and street officers (their street's points) may.
pub async fn plan(
    db: &Db,
    principal: &Principal,
    request: &ExportRequest,
) -> AppResult<ExportPlan> {
    principal.require(crate::READING, Action::Read)?;
    let ExportRequest {
        point,
        ref month,
        from,
        to,
        ..
    } = *request;
    let points: Vec<PointInfo> = match point {
        Some(id) => vec![points::visible(db, principal, id).await?],
        None if principal.role == kernel::Role::Public => {
            return Err(AppError::forbidden(
                "公众每次只能导出一个点位的数据：请指定点位（point）",
            ));
        }
        None => points::all(db)
            .await?
            .into_iter()
            .filter(|p| points::visible_to(principal, p))
            .collect(),
    };
    let stem = match point {
        Some(id) => format!("readings-{id}-{month}"),
        None => format!("readings-{month}"),
    };
    Ok(ExportPlan {
        points,
        from,
        to,
        factors: request.factors.clone(),
        periods: request.periods.clone(),
        stem,
    })
}

/// Every value of one point in the plan's span (of its factors and periods), with its audited value.
async fn point_lines(db: &Db, point: &PointInfo, plan: &ExportPlan) -> AppResult<PointLines> {
    let (from, to) = (plan.from, plan.to);
    let periods: &[Period] = if plan.periods.is_empty() {
        &Period::ALL
    } else {
        &plan.periods
    };
    let rows = store::rows(db, point.id, periods, from, to).await?;
    let mut lines = Vec::new();
    if !rows.is_empty() {
        let corrections = audit::latest_corrections(db, point.id, from, to).await?;
        for row in &rows {
            let (time_utc, time_cst) = times(row.ts);
            let wanted =
                |factor: &str| plan.factors.is_empty() || plan.factors.iter().any(|f| f == factor);
            for (factor, cell) in row.iter().filter(|(f, _)| wanted(f)) {
                let a = corrections.apply(row.period, row.ts, factor, cell);
                lines.push(ExportLine {
                    factor: factor.to_string(),
                    time_cst: time_cst.clone(),
                    period: row.period,
                    value: cell.value,
                    flag: cell.flag,
                    audited: a.value,
                    valid: a.valid,
                    time_utc: time_utc.clone(),
                });
            }
        }
    }
    Ok(PointLines {
        code: point.code.clone(),
        lines,
    })
}

fn csv_record(out: &mut csv::Writer<Vec<u8>>, code: &str, l: &ExportLine) -> csv::Result<()> {
    let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    out.write_record([
        code,
        &l.factor,
        &l.time_cst,
        l.period.as_str(),
        &num(l.value),
        &l.flag.as_char().to_string(),
        &num(l.audited),
        if l.valid { "1" } else { "0" },
        &l.time_utc,
    ])
}

/// The plan's CSV: the first six columns are the generic import format (so an export can be imported
/// elsewhere); then the audited value, validity and the UTC time. Read and sent one point at a time by a task
/// of its own, which holds `slot` until it ends; a failure part-way ends the stream with an error (the client
/// sees a truncated file) and is logged.
pub fn csv_stream(
    db: Db,
    plan: ExportPlan,
    slot: kernel::export::ExportSlot,
) -> impl Stream<Item = Result<Vec<u8>, io::Error>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, io::Error>>(4);
    tokio::spawn(async move {
        let _slot = slot;
        let mut out = csv::Writer::from_writer(Vec::with_capacity(CSV_CHUNK));
        if out.write_record(EXPORT_HEADER).is_err() {
            return;
        }
        for point in &plan.points {
            let lines = match point_lines(&db, point, &plan).await {
                Ok(lines) => lines,
                Err(e) => {
                    tracing::warn!(
                        "CSV export {} stopped at point {}: {e}",
                        plan.stem,
                        point.id
                    );
                    let _ = tx.send(Err(io::Error::other(e.to_string()))).await;
                    return;
                }
            };
            for line in &lines.lines {
                if csv_record(&mut out, &lines.code, line).is_err() {
                    return;
                }
                if out.get_ref().len() >= CSV_CHUNK {
                    let chunk = match out.into_inner() {
                        Ok(chunk) => chunk,
                        Err(_) => return,
                    };
                    out = csv::Writer::from_writer(Vec::with_capacity(CSV_CHUNK));
                    // The client is gone: stop reading.
                    if tx.send(Ok(chunk)).await.is_err() {
                        return;
                    }
                }
            }
        }
        if let Ok(rest) = out.into_inner()
            && !rest.is_empty()
        {
            let _ = tx.send(Ok(rest)).await;
        }
    });
    // Fused: the compression layer polls a finished body once more, and an unfused `unfold` panics on that.
    futures_util::StreamExt::fuse(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }))
}

/// The plan's workbook (one sheet, numbers as numbers, at most [`MAX_XLSX_LINES`] values), written on a
/// blocking thread, row by row to a temporary file (rust_xlsxwriter's constant-memory mode), while this side
/// reads one point at a time.
pub async fn workbook(db: &Db, plan: &ExportPlan) -> AppResult<Vec<u8>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<PointLines>(2);
    let writer = kernel::export::build_off_thread(move || write_workbook(rx));
    let reader = async move {
        let mut total = 0usize;
        for point in &plan.points {
            let lines = point_lines(db, point, plan).await?;
            total += lines.lines.len();
            if total > MAX_XLSX_LINES {
                return Err(AppError::validation(
                    "point",
                    format!(
                        "more than {MAX_XLSX_LINES} values in this export: export one point at a time"
                    ),
                ));
            }
            if tx.send(lines).await.is_err() {
                break;
            }
        }
        Ok(())
    };
    // Reading and writing run together; when reading fails, its sender is dropped, the writer finishes early
    // and its workbook is discarded.
    let (read, bytes) = tokio::join!(reader, writer);
    read?;
    bytes
}

/// Writes the points received until the sender is gone into one workbook (on a blocking thread).
fn write_workbook(mut points: tokio::sync::mpsc::Receiver<PointLines>) -> AppResult<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let xlsx = |e: rust_xlsxwriter::XlsxError| AppError::Internal(anyhow::anyhow!("xlsx: {e}"));
    let mut book = Workbook::new();
    let sheet = book.add_worksheet_with_constant_memory();
    sheet.set_name("监测数据").map_err(xlsx)?;
    let bold = Format::new().set_bold();
    let titles = [
        "点位",
        "因子",
        "时间（北京时间）",
        "周期",
        "原始值",
        "标记",
        "审核值",
        "有效",
        "时间（UTC）",
    ];
    for (col, title) in (0u16..).zip(titles) {
        sheet
            .set_column_width(col, if col == 2 || col == 8 { 26 } else { 10 })
            .map_err(xlsx)?;
        sheet
            .write_string_with_format(0, col, title, &bold)
            .map_err(xlsx)?;
    }
    let mut row = 0u32;
    while let Some(point) = points.blocking_recv() {
        for l in &point.lines {
            row += 1;
            sheet.write_string(row, 0, &point.code).map_err(xlsx)?;
            sheet.write_string(row, 1, &l.factor).map_err(xlsx)?;
            sheet.write_string(row, 2, &l.time_cst).map_err(xlsx)?;
            sheet
                .write_string(row, 3, l.period.as_str())
                .map_err(xlsx)?;
            if let Some(v) = l.value {
                sheet.write_number(row, 4, v).map_err(xlsx)?;
            }
            sheet
                .write_string(row, 5, l.flag.as_char().to_string())
                .map_err(xlsx)?;
            if let Some(v) = l.audited {
                sheet.write_number(row, 6, v).map_err(xlsx)?;
            }
            sheet
                .write_number(row, 7, if l.valid { 1.0 } else { 0.0 })
                .map_err(xlsx)?;
            sheet.write_string(row, 8, &l.time_utc).map_err(xlsx)?;
        }
    }
    book.save_to_buffer().map_err(xlsx)
}
