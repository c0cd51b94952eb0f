//! The district's streets (街道) and departments (部门) from a file the bureau fills in: the template
//! ([`template_xlsx`], [`template_csv`]), then a preview that lists every bad row and cell, and an import that
//! writes nothing until the whole file is clean.
//!
//! Matching makes a second import of the same file change nothing: a street is the stored one with the same
//! code, else the same name (so a street first entered by hand with a short code gets its official code); a
//! department is the stored one with the same name. A blank optional cell leaves the stored value as it is.
//! Every record created or changed gets its own audit entry, in the import's transaction.

use std::collections::{HashMap, HashSet};

use kernel::audit::{self, Actor};
use kernel::time::now_ts;
use kernel::{Action, AppError, AppResult, Db};
use serde::Serialize;
use sqlx::AnyConnection;

use crate::model::{Department, DepartmentInput, DepartmentKind, Street, StreetInput};
use crate::repo;
use crate::sheet::{
    EXAMPLE_MARK, RowError, Table, TableRow, TemplateColumn, TemplateSheet, header_key, read_tables,
};

/// Which records a table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    Streets,
    Departments,
}

impl OrgKind {
    /// The sheet's name in the template (and how a workbook's sheets are recognised).
    pub fn sheet_name(self) -> &'static str {
        match self {
            OrgKind::Streets => "街道",
            OrgKind::Departments => "部门",
        }
    }

    pub fn parse(text: &str) -> Option<OrgKind> {
        match text.trim() {
            "streets" | "街道" => Some(OrgKind::Streets),
            "departments" | "部门" => Some(OrgKind::Departments),
            _ => None,
        }
    }

    fn columns(self) -> &'static [TemplateColumn] {
        match self {
            OrgKind::Streets => STREET_COLUMNS,
            OrgKind::Departments => DEPARTMENT_COLUMNS,
        }
    }
}

/// Whether an import only says what it would do, or does it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    Preview,
    Apply,
}

/// A file to import. `kind` says what a CSV file (or a sheet not named 街道/部门) holds; with a kind, the
/// sheets of the other kind are left out.
#[derive(Debug, Clone)]
pub struct OrgSource {
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub kind: Option<OrgKind>,
}

/// What an import found and did (or, in preview, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct OrgImportReport {
    /// Every bad row and cell; when there is any, nothing was (or would be) imported.
    pub errors: Vec<RowError>,
    /// One line per row: what it creates, changes, or that it matches a stored record already.
    pub changes: Vec<PlannedChange>,
    pub streets: ChangeCounts,
    pub departments: ChangeCounts,
    /// The sheets that were not read (the template's 说明, or the other kind when one was asked for).
    pub skipped_sheets: Vec<String>,
    /// Whether the changes were written.
    pub applied: bool,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct ChangeCounts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeAction {
    Create,
    Update,
    Unchanged,
}

impl ChangeAction {
    pub fn label(self) -> &'static str {
        match self {
            ChangeAction::Create => "新增",
            ChangeAction::Update => "修改",
            ChangeAction::Unchanged => "无变化",
        }
    }
}

/// One row's effect.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedChange {
    pub sheet: String,
    pub row: u32,
    pub kind: OrgKind,
    pub action: ChangeAction,
    pub name: String,
    /// What changes (`代码 zgz → 120110001000`), empty for a new or unchanged record.
    pub detail: String,
}

impl OrgImportReport {
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }

    /// Whether the file changes anything.
    pub fn changes_anything(&self) -> bool {
        self.changes
            .iter()
            .any(|c| c.action != ChangeAction::Unchanged)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The template
// ---------------------------------------------------------------------------------------------------------------

pub const STREET_COLUMNS: &[TemplateColumn] = &[
    TemplateColumn {
        header: "名称",
        required: true,
        text: false,
        example: "示例：张贵庄街道",
        note: "街道（乡、镇）的全称，与统计用区划代码表一致，如 张贵庄街道。",
    },
    TemplateColumn {
        header: "代码",
        required: true,
        text: true,
        example: "120110001000",
        note: "12 位统计用区划代码（乡级）：前 6 位是本区的行政区划代码（GB/T 2260），第 7–9 位是街道，末 3 位为 000；只填前 9 位也可以。",
    },
    TemplateColumn {
        header: "中心经度",
        required: false,
        text: false,
        example: "117.305",
        note: "街道中心的经度（度，73–136），用于地图；可留空，与中心纬度同填或同不填。",
    },
    TemplateColumn {
        header: "中心纬度",
        required: false,
        text: false,
        example: "39.103",
        note: "街道中心的纬度（度，3–54）；可留空。",
    },
];

pub const DEPARTMENT_COLUMNS: &[TemplateColumn] = &[
    TemplateColumn {
        header: "名称",
        required: true,
        text: false,
        example: "示例：大气环境科",
        note: "部门全称，如 大气环境科、城市管理委员会；再次导入时按名称对应已有部门。",
    },
    TemplateColumn {
        header: "类别",
        required: true,
        text: false,
        example: "局内科室",
        note: "局内科室（本局的科室、站、队）或 外部门（公安、城管、住建等协同单位）。",
    },
    TemplateColumn {
        header: "代码",
        required: false,
        text: true,
        example: "air",
        note: "系统内的简短代码：字母、数字、- 或 _，最多 32 个字符；留空则自动生成。",
    },
    TemplateColumn {
        header: "职责",
        required: false,
        text: false,
        example: "大气污染防治、重污染天气应对",
        note: "可留空；信访投诉交办时显示。",
    },
];

/// The template's sheets, in order.
pub const TEMPLATE_SHEETS: [TemplateSheet; 2] = [
    TemplateSheet {
        name: "街道",
        columns: STREET_COLUMNS,
    },
    TemplateSheet {
        name: "部门",
        columns: DEPARTMENT_COLUMNS,
    },
];

const TEMPLATE_NOTES: &[&str] = &[
    "每个工作表的第 2 行是示例（灰色），导入前请删除或改成真实数据：以“示例”开头的行不会被导入。",
    "文件中任何一行有错，整个文件都不导入；请按错误提示（工作表、行号、列名）改正后重新导入。",
    "再次导入同一文件不会重复新增：街道按代码或名称、部门按名称对应已有记录；留空的可选列不改动已有的值。",
    "也可以每类各用一个 CSV 文件（UTF-8 或 GBK 编码，第一行为表头，列名同本模板）。",
];

/// The organisation workbook: sheets 街道 and 部门 with an example row each, and 说明.
pub fn template_xlsx() -> AppResult<Vec<u8>> {
    crate::sheet::template_xlsx(&TEMPLATE_SHEETS, TEMPLATE_NOTES)
}

/// The CSV template of one kind.
pub fn template_csv(kind: OrgKind) -> String {
    crate::sheet::template_csv(&TemplateSheet {
        name: kind.sheet_name(),
        columns: kind.columns(),
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Reading the rows
// ---------------------------------------------------------------------------------------------------------------

/// Other headers people write for a template column.
fn column_aliases(header: &str) -> &'static [&'static str] {
    match header {
        "名称" => &["街道名称", "部门名称", "单位名称"],
        "代码" => &["统计用区划代码", "区划代码", "街道代码", "部门代码"],
        "中心经度" => &["经度"],
        "中心纬度" => &["纬度"],
        "类别" => &["类型", "部门类别"],
        "职责" => &["主要职责"],
        _ => &[],
    }
}

/// Where each template column is in `table` (None: absent); errors for unknown, repeated or missing columns.
fn locate_columns(
    table: &Table,
    columns: &[TemplateColumn],
    errors: &mut Vec<RowError>,
) -> Vec<Option<usize>> {
    let mut found: Vec<Option<usize>> = vec![None; columns.len()];
    for (index, header) in table.header.iter().enumerate() {
        let key = header_key(header);
        if key.is_empty() {
            continue;
        }
        let spec = columns
            .iter()
            .position(|c| c.header == key || column_aliases(c.header).contains(&key.as_str()));
        match spec {
            Some(spec) if found[spec].is_some() => errors.push(RowError::cell(
                &table.sheet,
                table.header_row,
                header,
                format!("列「{}」出现了两次", columns[spec].header),
            )),
            Some(spec) => found[spec] = Some(index),
            None => errors.push(RowError::cell(
                &table.sheet,
                table.header_row,
                header,
                format!(
                    "无法识别的列；「{}」工作表的列为：{}",
                    table.sheet,
                    columns
                        .iter()
                        .map(|c| c.header)
                        .collect::<Vec<_>>()
                        .join("、")
                ),
            )),
        }
    }
    for (spec, column) in columns.iter().enumerate() {
        if column.required && found[spec].is_none() {
            errors.push(RowError::row(
                &table.sheet,
                table.header_row,
                format!("表头缺少必填列「{}」", column.header),
            ));
        }
    }
    found
}

/// A row's cells by template column.
struct Cells<'a> {
    table: &'a Table,
    row: &'a TableRow,
    at: &'a [Option<usize>],
    columns: &'static [TemplateColumn],
}

impl Cells<'_> {
    fn text(&self, column: usize) -> &str {
        self.at[column].map_or("", |i| self.row.get(i))
    }

    /// The header the user wrote for `column` (their spelling, for the error).
    fn header(&self, column: usize) -> String {
        self.at[column]
            .and_then(|i| self.table.header.get(i).cloned())
            .unwrap_or_else(|| self.columns[column].header.to_string())
    }

    fn error(&self, column: usize, why: impl Into<String>) -> RowError {
        RowError::cell(&self.table.sheet, self.row.row, &self.header(column), why)
    }

    /// A required cell of at most `max` characters.
    fn required(&self, column: usize, max: usize, errors: &mut Vec<RowError>) -> Option<String> {
        let text = self.text(column);
        if text.is_empty() {
            errors.push(self.error(column, "必填，不能为空"));
            None
        } else {
            self.at_most(column, text, max, errors)
        }
    }

    fn optional(&self, column: usize, max: usize, errors: &mut Vec<RowError>) -> Option<String> {
        let text = self.text(column);
        if text.is_empty() {
            None
        } else {
            self.at_most(column, text, max, errors)
        }
    }

    fn at_most(
        &self,
        column: usize,
        text: &str,
        max: usize,
        errors: &mut Vec<RowError>,
    ) -> Option<String> {
        if text.chars().count() > max {
            errors.push(self.error(column, format!("不能超过 {max} 个字符")));
            None
        } else {
            Some(text.to_string())
        }
    }

    fn number(
        &self,
        column: usize,
        range: std::ops::RangeInclusive<f64>,
        errors: &mut Vec<RowError>,
    ) -> Result<Option<f64>, ()> {
        let text = self.text(column);
        if text.is_empty() {
            return Ok(None);
        }
        match text.parse::<f64>() {
            Ok(v) if range.contains(&v) => Ok(Some(v)),
            Ok(_) => {
                errors.push(self.error(
                    column,
                    format!(
                        "「{text}」超出范围，应在 {} 到 {} 之间",
                        range.start(),
                        range.end()
                    ),
                ));
                Err(())
            }
            Err(_) => {
                errors.push(self.error(column, format!("「{text}」不是数字")));
                Err(())
            }
        }
    }

    /// The template's example row left in the file.
    fn is_example(&self) -> bool {
        self.row
            .cells
            .iter()
            .map(|c| c.trim())
            .find(|c| !c.is_empty())
            .is_some_and(|c| c.starts_with(EXAMPLE_MARK))
    }
}

/// The rows of `table` by template column, less the template's example row left in the file (refused).
fn data_rows<'a>(
    table: &'a Table,
    at: &'a [Option<usize>],
    columns: &'static [TemplateColumn],
    errors: &mut Vec<RowError>,
) -> Vec<Cells<'a>> {
    let mut rows = Vec::new();
    for row in &table.rows {
        let cells = Cells {
            table,
            row,
            at,
            columns,
        };
        if cells.is_example() {
            errors.push(RowError::row(
                &table.sheet,
                row.row,
                "这是模板的示例行，请删除或改成真实数据后再导入",
            ));
        } else {
            rows.push(cells);
        }
    }
    rows
}

const NAME: usize = 0;
// Streets
const STREET_CODE: usize = 1;
const LON: usize = 2;
const LAT: usize = 3;
// Departments
const KIND: usize = 1;
const DEPARTMENT_CODE: usize = 2;
const DUTIES: usize = 3;

struct StreetRow {
    sheet: String,
    row: u32,
    name: String,
    code: String,
    lon: Option<f64>,
    lat: Option<f64>,
}

struct DepartmentRow {
    sheet: String,
    row: u32,
    name: String,
    kind: DepartmentKind,
    code: Option<String>,
    duties: Option<String>,
}

/// A street's 统计用区划代码 (乡级, 12 digits: the district's 6, the street's 3, then 000); 9 digits are
/// completed with 000.
fn street_code(text: &str, district_code: &str) -> Result<String, String> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "「{text}」应为 12 位数字（统计用区划代码，如 {district_code}001000）"
        ));
    }
    let code = match text.len() {
        9 => format!("{text}000"),
        12 => text.to_string(),
        n => {
            return Err(format!(
                "「{text}」是 {n} 位，统计用区划代码应为 12 位（或只填前 9 位）"
            ));
        }
    };
    if !code.starts_with(district_code) {
        return Err(format!(
            "「{text}」不属于本区：前 6 位应为本区的行政区划代码 {district_code}"
        ));
    }
    if !code.ends_with("000") || &code[6..9] == "000" {
        return Err(format!(
            "「{text}」不是乡级（街道）代码：第 7–9 位是街道，不能为 000；末 3 位为 000"
        ));
    }
    Ok(code)
}

fn street_rows(table: &Table, district_code: &str, errors: &mut Vec<RowError>) -> Vec<StreetRow> {
    let at = locate_columns(table, STREET_COLUMNS, errors);
    if at[NAME].is_none() || at[STREET_CODE].is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for cells in data_rows(table, &at, STREET_COLUMNS, errors) {
        let row = cells.row;
        let before = errors.len();
        let name = cells.required(NAME, 64, errors);
        let code = cells.required(STREET_CODE, 16, errors).and_then(|text| {
            match street_code(&text, district_code) {
                Ok(code) => Some(code),
                Err(why) => {
                    errors.push(cells.error(STREET_CODE, why));
                    None
                }
            }
        });
        let lon = cells.number(LON, 73.0..=136.0, errors);
        let lat = cells.number(LAT, 3.0..=54.0, errors);
        if let (Ok(lon), Ok(lat)) = (lon, lat)
            && lon.is_some() != lat.is_some()
        {
            let missing = if lon.is_none() { LON } else { LAT };
            errors.push(cells.error(missing, "中心经度和中心纬度要同时填写（或都留空）"));
        }
        if errors.len() == before
            && let (Some(name), Some(code), Ok(lon), Ok(lat)) = (name, code, lon, lat)
        {
            out.push(StreetRow {
                sheet: table.sheet.clone(),
                row: row.row,
                name,
                code,
                lon,
                lat,
            });
        }
    }
    out
}

fn department_kind(text: &str) -> Option<DepartmentKind> {
    DepartmentKind::ALL
        .iter()
        .copied()
        .find(|k| k.label() == text || k.as_str() == text)
}

fn department_rows(table: &Table, errors: &mut Vec<RowError>) -> Vec<DepartmentRow> {
    let at = locate_columns(table, DEPARTMENT_COLUMNS, errors);
    if at[NAME].is_none() || at[KIND].is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for cells in data_rows(table, &at, DEPARTMENT_COLUMNS, errors) {
        let row = cells.row;
        let before = errors.len();
        let name = cells.required(NAME, 64, errors);
        let kind = cells
            .required(KIND, 16, errors)
            .and_then(|text| match department_kind(&text) {
                Some(kind) => Some(kind),
                None => {
                    errors.push(cells.error(
                        KIND,
                        format!("「{text}」不是部门类别，应为“局内科室”或“外部门”"),
                    ));
                    None
                }
            });
        let code = cells
            .optional(DEPARTMENT_CODE, 32, errors)
            .and_then(|code| {
                if code
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                {
                    Some(code)
                } else {
                    errors.push(cells.error(
                        DEPARTMENT_CODE,
                        format!("「{code}」只能由字母、数字、- 和 _ 组成"),
                    ));
                    None
                }
            });
        let duties = cells.optional(DUTIES, 500, errors);
        if errors.len() == before
            && let (Some(name), Some(kind)) = (name, kind)
        {
            out.push(DepartmentRow {
                sheet: table.sheet.clone(),
                row: row.row,
                name,
                kind,
                code,
                duties,
            });
        }
    }
    out
}

/// Refuses a value that an earlier row of the file has too (`seen` maps it to that row).
fn once_in_file(
    seen: &mut HashMap<String, (String, u32)>,
    value: &str,
    sheet: &str,
    row: u32,
    column: &str,
    what: &str,
) -> Option<RowError> {
    match seen.get(value) {
        Some((first_sheet, first_row)) => Some(RowError::cell(
            sheet,
            row,
            column,
            format!("{what}「{value}」与工作表「{first_sheet}」第 {first_row} 行重复"),
        )),
        None => {
            seen.insert(value.to_string(), (sheet.to_string(), row));
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Planning against the stored records
// ---------------------------------------------------------------------------------------------------------------

enum StreetPlan {
    Create(StreetInput),
    Update { before: Street, after: StreetInput },
}

enum DepartmentPlan {
    Create(DepartmentInput),
    Update {
        before: Department,
        after: DepartmentInput,
    },
}

fn differences(pairs: &[(&str, String, String)]) -> String {
    pairs
        .iter()
        .filter(|(_, before, after)| before != after)
        .map(|(what, before, after)| {
            let before = if before.is_empty() {
                "（空）"
            } else {
                before
            };
            format!("{what} {before} → {after}")
        })
        .collect::<Vec<_>>()
        .join("；")
}

fn coordinate(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn plan_streets(
    rows: Vec<StreetRow>,
    stored: &[Street],
    district_code: &str,
    report: &mut OrgImportReport,
) -> Vec<StreetPlan> {
    let mut plans = Vec::new();
    let mut codes = HashMap::new();
    let mut names = HashMap::new();
    let mut matched: HashMap<i64, u32> = HashMap::new();
    for row in rows {
        let duplicate = once_in_file(&mut codes, &row.code, &row.sheet, row.row, "代码", "代码")
            .or_else(|| once_in_file(&mut names, &row.name, &row.sheet, row.row, "名称", "名称"));
        if let Some(error) = duplicate {
            report.errors.push(error);
            continue;
        }
        let existing = stored
            .iter()
            .find(|s| s.code == row.code)
            .or_else(|| stored.iter().find(|s| s.name == row.name));
        let after = |existing: Option<&Street>| StreetInput {
            code: row.code.clone(),
            name: row.name.clone(),
            district_code: Some(district_code.to_string()),
            center_lon: row.lon.or(existing.and_then(|s| s.center_lon)),
            center_lat: row.lat.or(existing.and_then(|s| s.center_lat)),
        };
        let (action, detail, plan) = match existing {
            None => (
                ChangeAction::Create,
                String::new(),
                Some(StreetPlan::Create(after(None))),
            ),
            Some(street) => {
                if let Some(first) = matched.insert(street.id, row.row) {
                    report.errors.push(RowError::row(
                        &row.sheet,
                        row.row,
                        format!(
                            "与第 {first} 行对应同一条已有街道「{}」（代码 {}）",
                            street.name, street.code
                        ),
                    ));
                    continue;
                }
                if street.name != row.name
                    && let Some(other) = stored
                        .iter()
                        .find(|s| s.id != street.id && s.name == row.name)
                {
                    report.errors.push(RowError::cell(
                        &row.sheet,
                        row.row,
                        "名称",
                        format!(
                            "已有另一条街道「{}」（代码 {}）使用这个名称",
                            other.name, other.code
                        ),
                    ));
                    continue;
                }
                let after = after(Some(street));
                let detail = differences(&[
                    ("代码", street.code.clone(), after.code.clone()),
                    ("名称", street.name.clone(), after.name.clone()),
                    (
                        "中心经度",
                        coordinate(street.center_lon),
                        coordinate(after.center_lon),
                    ),
                    (
                        "中心纬度",
                        coordinate(street.center_lat),
                        coordinate(after.center_lat),
                    ),
                ]);
                if detail.is_empty() {
                    (ChangeAction::Unchanged, detail, None)
                } else {
                    (
                        ChangeAction::Update,
                        detail,
                        Some(StreetPlan::Update {
                            before: street.clone(),
                            after,
                        }),
                    )
                }
            }
        };
        count(&mut report.streets, action);
        report.changes.push(PlannedChange {
            sheet: row.sheet,
            row: row.row,
            kind: OrgKind::Streets,
            action,
            name: row.name,
            detail,
        });
        plans.extend(plan);
    }
    plans
}

fn count(counts: &mut ChangeCounts, action: ChangeAction) {
    match action {
        ChangeAction::Create => counts.created += 1,
        ChangeAction::Update => counts.updated += 1,
        ChangeAction::Unchanged => counts.unchanged += 1,
    }
}

/// A code for a new department the file gave none: `dept-1`, `dept-2`, … whichever is free.
fn free_department_code(taken: &mut HashSet<String>) -> String {
    let code = (1..)
        .map(|n| format!("dept-{n}"))
        .find(|c| !taken.contains(c))
        .unwrap_or_default();
    taken.insert(code.clone());
    code
}

fn plan_departments(
    rows: Vec<DepartmentRow>,
    stored: &[Department],
    report: &mut OrgImportReport,
) -> Vec<DepartmentPlan> {
    let mut names = HashMap::new();
    let mut codes = HashMap::new();
    let duplicates: Vec<RowError> = rows
        .iter()
        .filter_map(|row| {
            once_in_file(&mut names, &row.name, &row.sheet, row.row, "名称", "名称").or_else(|| {
                row.code.as_ref().and_then(|code| {
                    once_in_file(&mut codes, code, &row.sheet, row.row, "代码", "代码")
                })
            })
        })
        .collect();
    if !duplicates.is_empty() {
        // Duplicates make the matching below meaningless; they are what the user fixes first.
        report.errors.extend(duplicates);
        return Vec::new();
    }
    let mut taken: HashSet<String> = stored.iter().map(|d| d.code.clone()).collect();
    taken.extend(rows.iter().filter_map(|r| r.code.clone()));
    let mut plans = Vec::new();
    for row in rows {
        let same_name: Vec<&Department> = stored.iter().filter(|d| d.name == row.name).collect();
        if same_name.len() > 1 {
            report.errors.push(RowError::cell(
                &row.sheet,
                row.row,
                "名称",
                format!(
                    "系统里已有 {} 个名为「{}」的部门，无法确定对应哪一个；请先在“街道与部门”页面改名",
                    same_name.len(),
                    row.name
                ),
            ));
            continue;
        }
        let existing = same_name.first().copied();
        if let Some(code) = &row.code
            && let Some(other) = stored
                .iter()
                .find(|d| &d.code == code && existing.is_none_or(|e| e.id != d.id))
        {
            report.errors.push(RowError::cell(
                &row.sheet,
                row.row,
                "代码",
                format!("代码「{code}」已被部门「{}」使用", other.name),
            ));
            continue;
        }
        let (action, detail, plan) = match existing {
            None => {
                let input = DepartmentInput {
                    code: row
                        .code
                        .clone()
                        .unwrap_or_else(|| free_department_code(&mut taken)),
                    name: row.name.clone(),
                    kind: row.kind,
                    duties: row.duties.clone().unwrap_or_default(),
                };
                (
                    ChangeAction::Create,
                    String::new(),
                    Some(DepartmentPlan::Create(input)),
                )
            }
            Some(department) => {
                let after = DepartmentInput {
                    code: row.code.clone().unwrap_or_else(|| department.code.clone()),
                    name: department.name.clone(),
                    kind: row.kind,
                    duties: row
                        .duties
                        .clone()
                        .unwrap_or_else(|| department.duties.clone()),
                };
                let detail = differences(&[
                    ("代码", department.code.clone(), after.code.clone()),
                    (
                        "类别",
                        department.kind.label().to_string(),
                        after.kind.label().to_string(),
                    ),
                    ("职责", department.duties.clone(), after.duties.clone()),
                ]);
                if detail.is_empty() {
                    (ChangeAction::Unchanged, detail, None)
                } else {
                    (
                        ChangeAction::Update,
                        detail,
                        Some(DepartmentPlan::Update {
                            before: department.clone(),
                            after,
                        }),
                    )
                }
            }
        };
        count(&mut report.departments, action);
        report.changes.push(PlannedChange {
            sheet: row.sheet,
            row: row.row,
            kind: OrgKind::Departments,
            action,
            name: row.name,
            detail,
        });
        plans.extend(plan);
    }
    plans
}

/// Which kind a table holds: its sheet's name, else what was asked, else its header (部门 have a 类别).
fn classify(table: &Table, asked: Option<OrgKind>) -> Option<OrgKind> {
    if let Some(kind) = OrgKind::parse(&table.sheet) {
        return Some(kind);
    }
    if table.sheet == "说明" {
        return None;
    }
    if asked.is_some() {
        return asked;
    }
    let keys: Vec<String> = table.header.iter().map(|h| header_key(h)).collect();
    let has = |column: &str| {
        keys.iter()
            .any(|k| k == column || column_aliases(column).contains(&k.as_str()))
    };
    if has("类别") {
        Some(OrgKind::Departments)
    } else if has("名称") && has("代码") {
        Some(OrgKind::Streets)
    } else {
        None
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The import
// ---------------------------------------------------------------------------------------------------------------

/// Previews or imports `sources` into the installation's district (the administrator; the command line).
pub async fn import(
    db: &Db,
    actor: Actor<'_>,
    sources: &[OrgSource],
    mode: ImportMode,
) -> AppResult<OrgImportReport> {
    actor.require(crate::ORGANISATION, Action::Create)?;
    actor.require(crate::ORGANISATION, Action::Update)?;
    let mut tx = db.begin_write().await?;
    let district = repo::district(&mut tx).await?.ok_or_else(|| {
        AppError::validation(
            "district",
            "尚未设置辖区，请先完成初始设置（/setup 或 qingshan init）；no district is set up yet",
        )
    })?;
    let report = import_in(&mut tx, actor, &district.code, sources, mode).await?;
    if report.applied {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(report)
}

/// [`import`] in the caller's transaction, for the district `district_code` (which `qingshan init` may be
/// creating in the same transaction). Writes only in [`ImportMode::Apply`] and only when every row is clean;
/// `applied` says whether it did.
pub async fn import_in(
    conn: &mut AnyConnection,
    actor: Actor<'_>,
    district_code: &str,
    sources: &[OrgSource],
    mode: ImportMode,
) -> AppResult<OrgImportReport> {
    actor.require(crate::ORGANISATION, Action::Create)?;
    actor.require(crate::ORGANISATION, Action::Update)?;
    let mut report = OrgImportReport::default();
    let mut street_rows_read = Vec::new();
    let mut department_rows_read = Vec::new();
    for source in sources {
        let tables = match read_tables(&source.file_name, &source.bytes) {
            Ok(tables) => tables,
            Err(error) => {
                report.errors.push(error);
                continue;
            }
        };
        let mut used = 0;
        for table in &tables {
            match classify(table, source.kind) {
                Some(kind) if source.kind.is_none_or(|asked| asked == kind) => {
                    used += 1;
                    match kind {
                        OrgKind::Streets => street_rows_read.extend(street_rows(
                            table,
                            district_code,
                            &mut report.errors,
                        )),
                        OrgKind::Departments => {
                            department_rows_read.extend(department_rows(table, &mut report.errors))
                        }
                    }
                }
                _ => report.skipped_sheets.push(table.sheet.clone()),
            }
        }
        if used == 0 {
            report.errors.push(RowError::file(
                &source.file_name,
                match source.kind {
                    Some(kind) => format!("文件中没有「{}」工作表或表格", kind.sheet_name()),
                    None => "文件中没有「街道」或「部门」工作表；请使用下载的模板".to_string(),
                },
            ));
        }
    }
    let stored_streets = repo::list_streets(conn).await?;
    let stored_departments = repo::list_departments(conn).await?;
    let streets = plan_streets(
        street_rows_read,
        &stored_streets,
        district_code,
        &mut report,
    );
    let departments = plan_departments(department_rows_read, &stored_departments, &mut report);
    if mode == ImportMode::Preview || !report.errors.is_empty() {
        return Ok(report);
    }
    let now = now_ts();
    for plan in streets {
        write_street(conn, actor, district_code, plan, now).await?;
    }
    for plan in departments {
        write_department(conn, actor, plan, now).await?;
    }
    report.applied = true;
    Ok(report)
}

async fn write_street(
    conn: &mut AnyConnection,
    actor: Actor<'_>,
    district_code: &str,
    plan: StreetPlan,
    now: i64,
) -> AppResult<()> {
    let (id, before) = match plan {
        StreetPlan::Create(input) => {
            let input = input.parse()?;
            let id = repo::insert_street(conn, &input, district_code, now).await?;
            (id, None)
        }
        StreetPlan::Update { before, after } => {
            let after = after.parse()?;
            repo::update_street(conn, before.id, &after, district_code).await?;
            (before.id, Some(before))
        }
    };
    let after = repo::get_street(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("street"))?;
    let entry = import_entry(actor, "street", "街道", id, &after.name, before, &after);
    audit::record(&mut *conn, &entry).await?;
    Ok(())
}

async fn write_department(
    conn: &mut AnyConnection,
    actor: Actor<'_>,
    plan: DepartmentPlan,
    now: i64,
) -> AppResult<()> {
    let (id, before) = match plan {
        DepartmentPlan::Create(input) => {
            let input = input.parse()?;
            let id = repo::insert_department(conn, &input, now).await?;
            (id, None)
        }
        DepartmentPlan::Update { before, after } => {
            let after = after.parse()?;
            repo::update_department(conn, before.id, &after).await?;
            (before.id, Some(before))
        }
    };
    let after = repo::get_department(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("department"))?;
    let entry = import_entry(actor, "department", "部门", id, &after.name, before, &after);
    audit::record(&mut *conn, &entry).await?;
    Ok(())
}

/// The audit entry of one record an import created (`before` = None) or changed.
fn import_entry<T: Serialize>(
    actor: Actor<'_>,
    entity: &str,
    label: &str,
    id: i64,
    name: &str,
    before: Option<T>,
    after: &T,
) -> kernel::audit::AuditEntry {
    let (action, verb) = match before {
        Some(_) => ("update", "修改"),
        None => ("create", "新增"),
    };
    let entry = actor
        .entry(action, entity, id)
        .summary(format!("从文件导入{verb}{label} {name}"))
        .after(after);
    match &before {
        Some(before) => entry.before(before),
        None => entry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn street_codes_are_township_codes_of_the_district() {
        assert_eq!(
            street_code("120110001000", "120110").as_deref(),
            Ok("120110001000")
        );
        assert_eq!(
            street_code("120110001", "120110").as_deref(),
            Ok("120110001000")
        );
        assert!(street_code("120111001000", "120110").is_err());
        assert!(street_code("120110001001", "120110").is_err());
        assert!(street_code("120110000000", "120110").is_err());
        assert!(street_code("12011000100", "120110").is_err());
        assert!(street_code("zgz", "120110").is_err());
    }

    #[test]
    fn department_kinds_are_read_by_label_or_code() {
        assert_eq!(department_kind("局内科室"), Some(DepartmentKind::Bureau));
        assert_eq!(department_kind("external"), Some(DepartmentKind::External));
        assert_eq!(department_kind("科室"), None);
    }
}
