//! Tables a bureau fills in by hand — an XLSX workbook or a CSV file — read into rows of text, with every
//! problem located as the user sees the file in Excel: the sheet, the physical row (the header is row 1, so
//! the first data row is row 2, blank rows counted) and the column's header. Also the downloadable templates:
//! Chinese headers, an example row, and a 说明 sheet that explains each column.
//!
//! No rules about what a row means live here (the importers in `service::` say that), so any of the
//! registry's imports can read its files and report its errors this way.

use std::fmt;
use std::io::Cursor;

use calamine::{Data, Reader};
use kernel::AppError;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// Largest file read (a district's streets and departments are a few kilobytes; enterprises a few hundred).
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// The first cell of a template's example row starts with this; a row that still does is refused, so the
/// example is never imported as a record.
pub const EXAMPLE_MARK: &str = "示例";

/// A problem in an uploaded table: where (sheet, physical row, column header) and why, in Chinese.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// The sheet of a workbook, or the file name of a CSV file.
    pub sheet: String,
    /// The row as Excel numbers it (the header is row 1); 0 when the problem is the whole file.
    pub row: u32,
    /// The column's header, when the problem is in one cell.
    pub column: Option<String>,
    pub why: String,
}

impl RowError {
    pub fn file(sheet: impl Into<String>, why: impl Into<String>) -> RowError {
        RowError {
            sheet: sheet.into(),
            row: 0,
            column: None,
            why: why.into(),
        }
    }

    pub fn row(sheet: &str, row: u32, why: impl Into<String>) -> RowError {
        RowError {
            sheet: sheet.to_string(),
            row,
            column: None,
            why: why.into(),
        }
    }

    pub fn cell(sheet: &str, row: u32, column: &str, why: impl Into<String>) -> RowError {
        RowError {
            sheet: sheet.to_string(),
            row,
            column: Some(column.to_string()),
            why: why.into(),
        }
    }
}

impl fmt::Display for RowError {
    /// `工作表「街道」第 5 行「代码」列：…`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "工作表「{}」", self.sheet)?;
        if self.row > 0 {
            write!(f, "第 {} 行", self.row)?;
        }
        if let Some(column) = &self.column {
            write!(f, "「{column}」列")?;
        }
        write!(f, "：{}", self.why)
    }
}

/// One sheet of a workbook, or a CSV file: its header and its non-blank rows.
#[derive(Debug, Clone)]
pub struct Table {
    /// The sheet's name, or the CSV file's name.
    pub sheet: String,
    /// The header's cells, trimmed.
    pub header: Vec<String>,
    /// The physical row of the header.
    pub header_row: u32,
    pub rows: Vec<TableRow>,
}

/// A row below the header with at least one non-blank cell.
#[derive(Debug, Clone)]
pub struct TableRow {
    /// The physical row (header = its own row number, usually 1).
    pub row: u32,
    pub cells: Vec<String>,
}

impl TableRow {
    /// The trimmed text of column `index` ("" past the end).
    pub fn get(&self, index: usize) -> &str {
        self.cells.get(index).map(|c| c.trim()).unwrap_or("")
    }
}

/// A header as written, without the marks templates and people add: spaces, a required-field `*`, and a
/// note in parentheses (`代码（12位）` is `代码`).
pub fn header_key(text: &str) -> String {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let text = text.trim_start_matches('*').trim_end_matches('*');
    let cut = text.find(['（', '(']).unwrap_or(text.len());
    text[..cut].trim_end_matches('*').to_string()
}

/// Reads a file by its content: XLSX (a ZIP), else CSV in UTF-8 (with or without a byte-order mark) or, as
/// Excel on Chinese Windows saves "CSV", GB 18030. Old `.xls` files are refused with the way out.
pub fn read_tables(file_name: &str, bytes: &[u8]) -> Result<Vec<Table>, RowError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(RowError::file(
            file_name,
            format!("文件过大（上限 {} MB）", MAX_FILE_BYTES / 1024 / 1024),
        ));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return read_xlsx(file_name, bytes);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(RowError::file(
            file_name,
            "这是旧版 Excel（.xls）文件，请在 Excel 中“另存为” .xlsx 或 CSV 后再导入",
        ));
    }
    read_csv(file_name, bytes).map(|table| vec![table])
}

/// A cell as the user sees it: whole numbers without `.0` (a code Excel stored as a number stays a code).
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        other => other.to_string(),
    }
}

fn read_xlsx(file_name: &str, bytes: &[u8]) -> Result<Vec<Table>, RowError> {
    let unreadable = |e: &dyn fmt::Display| {
        RowError::file(
            file_name,
            format!("不是可读取的 XLSX 文件（{e}），请用 Excel 或 WPS 另存为 .xlsx 后再导入"),
        )
    };
    let mut book: calamine::Xlsx<_> =
        calamine::Xlsx::new(Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let mut tables = Vec::new();
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).map_err(|e| unreadable(&e))?;
        // The range starts at its first non-empty cell: its row index (0-based) places every row physically.
        let Some((first_row, _)) = range.start() else {
            continue;
        };
        let mut rows = range
            .rows()
            .zip(first_row + 1..)
            .map(|(cells, number)| TableRow {
                row: number,
                cells: cells.iter().map(cell_text).collect(),
            });
        let Some(header) = rows.next() else { continue };
        tables.push(Table {
            sheet: name.clone(),
            header: header.cells.iter().map(|c| c.trim().to_string()).collect(),
            header_row: header.row,
            rows: rows
                .filter(|r| r.cells.iter().any(|c| !c.trim().is_empty()))
                .collect(),
        });
    }
    Ok(tables)
}

fn read_csv(file_name: &str, bytes: &[u8]) -> Result<Table, RowError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => {
            let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
            if had_errors {
                return Err(RowError::file(
                    file_name,
                    "既不是 UTF-8 也不是 GBK/GB 18030 编码的文本，请另存为“CSV UTF-8”或 .xlsx",
                ));
            }
            text.into_owned()
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut lines = LineCounter::new(text.as_bytes());
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            // The line a record starts on is its physical row (a quoted cell may span lines). The reader's own
            // line number is that of the blank lines before the record, which it skips.
            Ok(true) => rows.push(TableRow {
                row: record.position().map_or(0, |p| lines.line_of(p.byte())),
                cells: record.iter().map(str::to_string).collect(),
            }),
            Err(e) => {
                let row = e
                    .position()
                    .and_then(|p| u32::try_from(p.line()).ok())
                    .unwrap_or(0);
                return Err(RowError::row(file_name, row, format!("CSV 格式错误：{e}")));
            }
        }
    }
    let mut rows = rows
        .into_iter()
        .filter(|r| r.cells.iter().any(|c| !c.trim().is_empty()));
    let Some(header) = rows.next() else {
        return Err(RowError::file(file_name, "文件是空的，没有表头"));
    };
    Ok(Table {
        sheet: file_name.to_string(),
        header: header.cells.iter().map(|c| c.trim().to_string()).collect(),
        header_row: header.row,
        rows: rows.collect(),
    })
}

/// The physical line of byte offsets met in increasing order: counts the line breaks once.
struct LineCounter<'a> {
    text: &'a [u8],
    offset: usize,
    line: u32,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a [u8]) -> Self {
        LineCounter {
            text,
            offset: 0,
            line: 1,
        }
    }

    /// The line of the first character at or after `byte` that is not a line break.
    fn line_of(&mut self, byte: u64) -> u32 {
        let mut start = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while start < self.text.len() && matches!(self.text[start], b'\r' | b'\n') {
            start += 1;
        }
        if start >= self.offset {
            let breaks = self.text[self.offset..start]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            self.line = self
                .line
                .saturating_add(u32::try_from(breaks).unwrap_or(u32::MAX));
            self.offset = start;
        }
        self.line
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------------------------------------------

/// One column of a template.
#[derive(Debug, Clone, Copy)]
pub struct TemplateColumn {
    pub header: &'static str,
    pub required: bool,
    /// Kept as text in Excel (codes: a number format would drop leading zeros or show 1.2E+11).
    pub text: bool,
    pub example: &'static str,
    /// What to write, shown in the 说明 sheet.
    pub note: &'static str,
}

/// One sheet of a template.
#[derive(Debug, Clone, Copy)]
pub struct TemplateSheet {
    pub name: &'static str,
    pub columns: &'static [TemplateColumn],
}

fn xlsx_error(e: XlsxError) -> AppError {
    AppError::Internal(anyhow::anyhow!("xlsx template: {e}"))
}

/// The workbook template: one sheet per kind (bold header, frozen, the example row in grey, code columns as
/// text), then 说明 with every column's meaning.
pub fn template_xlsx(sheets: &[TemplateSheet], notes: &[&str]) -> Result<Vec<u8>, AppError> {
    let mut book = Workbook::new();
    let header = Format::new().set_bold().set_background_color(0xDDEBF7);
    let example = Format::new().set_font_color(0x808080).set_italic();
    let example_text = example.clone().set_num_format("@");
    let text = Format::new().set_num_format("@");
    for sheet in sheets {
        let ws = book.add_worksheet();
        ws.set_name(sheet.name).map_err(xlsx_error)?;
        for (col, column) in sheet.columns.iter().enumerate() {
            let col = u16::try_from(col).map_err(|e| AppError::Internal(e.into()))?;
            let width = column
                .header
                .chars()
                .count()
                .max(column.example.chars().count());
            ws.set_column_width(col, (width as f64 * 2.0 + 4.0).min(40.0))
                .map_err(xlsx_error)?;
            if column.text {
                ws.set_column_format(col, &text).map_err(xlsx_error)?;
            }
            ws.write_string_with_format(0, col, column.header, &header)
                .map_err(xlsx_error)?;
            let format = if column.text { &example_text } else { &example };
            ws.write_string_with_format(1, col, column.example, format)
                .map_err(xlsx_error)?;
        }
        ws.set_freeze_panes(1, 0).map_err(xlsx_error)?;
    }
    let ws = book.add_worksheet();
    ws.set_name("说明").map_err(xlsx_error)?;
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    ws.set_column_width(0, 12).map_err(xlsx_error)?;
    ws.set_column_width(1, 14).map_err(xlsx_error)?;
    ws.set_column_width(2, 8).map_err(xlsx_error)?;
    ws.set_column_width(3, 80).map_err(xlsx_error)?;
    for (col, title) in ["工作表", "列", "必填", "填写说明"].iter().enumerate() {
        ws.write_string_with_format(0, col as u16, *title, &bold)
            .map_err(xlsx_error)?;
    }
    let mut row = 1u32;
    for sheet in sheets {
        for column in sheet.columns {
            ws.write_string(row, 0, sheet.name).map_err(xlsx_error)?;
            ws.write_string(row, 1, column.header).map_err(xlsx_error)?;
            ws.write_string(row, 2, if column.required { "是" } else { "" })
                .map_err(xlsx_error)?;
            ws.write_string_with_format(row, 3, column.note, &wrap)
                .map_err(xlsx_error)?;
            row += 1;
        }
    }
    row += 1;
    for note in notes {
        ws.write_string_with_format(row, 3, *note, &wrap)
            .map_err(xlsx_error)?;
        row += 1;
    }
    book.save_to_buffer().map_err(xlsx_error)
}

/// The CSV template of one sheet: the header and the example row, UTF-8 with a byte-order mark (so that Excel
/// opens it as UTF-8).
pub fn template_csv(sheet: &TemplateSheet) -> String {
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    let header: Vec<&str> = sheet.columns.iter().map(|c| c.header).collect();
    let example: Vec<&str> = sheet.columns.iter().map(|c| c.example).collect();
    // Writing into a Vec cannot fail; a failure would only drop the rows, and the template test reads them.
    let _ = writer.write_record(&header);
    let _ = writer.write_record(&example);
    let body = writer.into_inner().unwrap_or_default();
    format!("\u{FEFF}{}", String::from_utf8_lossy(&body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_matched_without_marks_and_notes() {
        assert_eq!(header_key(" 代码（12位） "), "代码");
        assert_eq!(header_key("*名称"), "名称");
        assert_eq!(header_key("名称*"), "名称");
        assert_eq!(header_key("中心 经度(可选)"), "中心经度");
    }

    #[test]
    fn csv_rows_keep_their_physical_numbers() {
        let text = "名称,代码\n\n张贵庄街道,120110001000\n\"多行\n名称\",120110002000\n华明街道,120110003000\n";
        let tables = read_tables("streets.csv", text.as_bytes()).unwrap();
        let rows: Vec<(u32, &str)> = tables[0].rows.iter().map(|r| (r.row, r.get(0))).collect();
        assert_eq!(
            rows,
            [(3, "张贵庄街道"), (4, "多行\n名称"), (6, "华明街道")]
        );
        assert_eq!(tables[0].header_row, 1);
    }

    #[test]
    fn gb18030_csv_as_excel_saves_it_is_read() {
        let (bytes, _, _) = encoding_rs::GB18030.encode("名称,代码\n张贵庄街道,120110001000\n");
        let tables = read_tables("streets.csv", &bytes).unwrap();
        assert_eq!(tables[0].header, ["名称", "代码"]);
        assert_eq!(tables[0].rows[0].get(0), "张贵庄街道");
    }

    #[test]
    fn errors_read_as_the_user_sees_the_file() {
        assert_eq!(
            RowError::cell("街道", 5, "代码", "必须是 12 位数字").to_string(),
            "工作表「街道」第 5 行「代码」列：必须是 12 位数字"
        );
        assert_eq!(
            RowError::file("a.xls", "旧版").to_string(),
            "工作表「a.xls」：旧版"
        );
    }

    #[test]
    fn xls_files_are_refused_with_the_way_out() {
        let err = read_tables("old.xls", &[0xD0, 0xCF, 0x11, 0xE0, 0, 0]).unwrap_err();
        assert!(err.why.contains("另存为"), "{err}");
    }

    const COLUMNS: &[TemplateColumn] = &[
        TemplateColumn {
            header: "名称",
            required: true,
            text: false,
            example: "示例：某某街道",
            note: "街道全称",
        },
        TemplateColumn {
            header: "代码",
            required: true,
            text: true,
            example: "120110001000",
            note: "12 位",
        },
    ];

    #[test]
    fn the_xlsx_template_reads_back_with_its_example_row() {
        let sheets = [TemplateSheet {
            name: "街道",
            columns: COLUMNS,
        }];
        let bytes = template_xlsx(&sheets, &["说明文字"]).unwrap();
        let tables = read_tables("t.xlsx", &bytes).unwrap();
        assert_eq!(tables[0].sheet, "街道");
        assert_eq!(tables[0].header, ["名称", "代码"]);
        assert_eq!(tables[0].rows[0].row, 2);
        assert_eq!(tables[0].rows[0].get(1), "120110001000");
        assert_eq!(tables[1].sheet, "说明");
        let csv = template_csv(&sheets[0]);
        let tables = read_tables("t.csv", csv.as_bytes()).unwrap();
        assert_eq!(tables[0].header, ["名称", "代码"]);
        assert_eq!(tables[0].rows[0].get(0), "示例：某某街道");
    }
}
