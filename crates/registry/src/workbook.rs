//! The registry workbook (基础信息登记表): the XLSX a bureau keeps its registry in, as the platform hands it out
//! (template, export) and reads it back (import). This module knows the layout — the sheets, their Chinese
//! column headers, which columns are required, the closed lists offered as drop-downs — and how to write and
//! read the file; what the rows mean for the registry is `service::workbook`.
//!
//! Layout: a 说明 sheet first (how to fill it in, which sheets the user may import), then one sheet per kind —
//! 企业, 厂区, 排放口, 监测点位, 监测设备 — each with its header in row 1 (frozen, required columns marked `*`),
//! and in the template an example row in row 2 (grey italic). Example rows name the example enterprise
//! ([`EXAMPLE_USCC`]), point ([`EXAMPLE_POINT`]) or device ([`EXAMPLE_MN`]); the importer skips every row that
//! does, so leaving them in is harmless. Rows are located as Excel shows them: the header is row 1.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use kernel::AppError;
use rust_xlsxwriter::{
    Color, DataValidation, DataValidationErrorStyle, Format, Formula, Workbook, XlsxError,
};
use serde::Serialize;
use utoipa::ToSchema;

// ---------------------------------------------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------------------------------------------

/// A closed list offered as a drop-down (data validation) in a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Choice {
    /// The district's street names.
    Street,
    YesNo,
    EnterpriseStatus,
    PointKind,
    PointLevel,
    Medium,
    OutletKind,
    WaterKind,
    TargetClass,
    Protocol,
    CrcMode,
}

/// One column of a sheet.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub header: &'static str,
    pub required: bool,
    /// Width in characters.
    pub width: f64,
    /// Kept as text in Excel (codes with leading zeros, MNs of 14–24 digits that Excel would round).
    pub text: bool,
    pub choice: Option<Choice>,
    /// How to fill it in (the 说明 sheet).
    pub note: &'static str,
}

const fn col(header: &'static str, width: f64, note: &'static str) -> Column {
    Column {
        header,
        required: false,
        width,
        text: false,
        choice: None,
        note,
    }
}

impl Column {
    const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    const fn text(mut self) -> Self {
        self.text = true;
        self
    }
    const fn choice(mut self, choice: Choice) -> Self {
        self.choice = Some(choice);
        self
    }
}

/// The kinds of record the workbook holds, one sheet each, in the order they are imported (a row may refer
/// only to records of the sheets before it or already registered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SheetKind {
    Enterprises,
    Sites,
    Outlets,
    Points,
    Devices,
}

/// A data sheet: its name (the tab) and columns.
#[derive(Debug)]
pub struct SheetLayout {
    pub kind: SheetKind,
    pub name: &'static str,
    /// What a row is and how it is matched (the 说明 sheet).
    pub purpose: &'static str,
    pub columns: &'static [Column],
}

impl SheetLayout {
    /// The position of the column with this header.
    pub fn index(&self, header: &str) -> usize {
        self.columns
            .iter()
            .position(|c| c.header == header)
            .unwrap_or(usize::MAX)
    }
}

/// The 企业 sheet's columns, by position.
pub mod ent {
    pub const USCC: usize = 0;
    pub const NAME: usize = 1;
    pub const STREET: usize = 2;
    pub const ADDRESS: usize = 3;
    pub const INDUSTRY_CODE: usize = 4;
    pub const INDUSTRY_NAME: usize = 5;
    pub const STATUS: usize = 6;
    pub const KEY: usize = 7;
    pub const KEY_CATEGORIES: usize = 8;
    pub const LEGAL: usize = 9;
    pub const PHONE: usize = 10;
    pub const LON: usize = 11;
    pub const LAT: usize = 12;
    /// The first of the four identifier columns, in the order of `Program::ALL`.
    pub const IDENTIFIERS: usize = 13;
}

/// The 厂区 sheet's columns.
pub mod site {
    pub const USCC: usize = 0;
    pub const NAME: usize = 1;
    pub const ADDRESS: usize = 2;
    pub const STREET: usize = 3;
    pub const LON: usize = 4;
    pub const LAT: usize = 5;
}

/// The 排放口 sheet's columns.
pub mod outlet {
    pub const USCC: usize = 0;
    pub const CODE: usize = 1;
    pub const NAME: usize = 2;
    pub const MEDIUM: usize = 3;
    pub const KIND: usize = 4;
    pub const SITE: usize = 5;
    pub const ONLINE: usize = 6;
    pub const LON: usize = 7;
    pub const LAT: usize = 8;
}

/// The 监测点位 sheet's columns.
pub mod point {
    pub const CODE: usize = 0;
    pub const NAME: usize = 1;
    pub const KIND: usize = 2;
    pub const LEVEL: usize = 3;
    pub const STREET: usize = 4;
    pub const USCC: usize = 5;
    pub const OUTLET: usize = 6;
    pub const OWNER: usize = 7;
    pub const WATER_BODY: usize = 8;
    pub const WATER_KIND: usize = 9;
    pub const TARGET_CLASS: usize = 10;
    pub const LON: usize = 11;
    pub const LAT: usize = 12;
    pub const ACTIVE: usize = 13;
}

/// The 监测设备 sheet's columns.
pub mod device {
    pub const MN: usize = 0;
    pub const POINT: usize = 1;
    pub const PROTOCOL: usize = 2;
    pub const CRC: usize = 3;
    pub const MODEL: usize = 4;
    pub const ACTIVE: usize = 5;
    pub const PASSWORD: usize = 6;
}

const LON_NOTE: &str = "十进制度，如 117.3521（经度、纬度同时填写或同时留空）";
const LAT_NOTE: &str = "十进制度，如 39.1204";
const USCC_REF_NOTE: &str = "所属企业的统一社会信用代码（企业表中或已登记的企业）";

pub const ENTERPRISES: SheetLayout = SheetLayout {
    kind: SheetKind::Enterprises,
    name: "企业",
    purpose: "一行一家企业，按统一社会信用代码匹配：已登记的更新，未登记的新增。",
    columns: &[
        col(
            "统一社会信用代码",
            22.0,
            "18 位，按 GB 32100-2015 核对校验码",
        )
        .required()
        .text(),
        col("企业名称", 30.0, "营业执照上的名称").required(),
        col("所属街道", 14.0, "从下拉列表选择街道名称")
            .required()
            .choice(Choice::Street),
        col("地址", 30.0, "生产经营场所地址").required(),
        col(
            "行业代码",
            10.0,
            "GB/T 4754-2017 代码：字母加 2–4 位数字，如 C3120",
        )
        .required()
        .text(),
        col("行业名称", 16.0, "如 炼钢").required(),
        col(
            "企业状态",
            10.0,
            "在产、在建、停产或关闭；新增时留空为在产，更新时留空不变（变更记入状态历史）",
        )
        .choice(Choice::EnterpriseStatus),
        col("重点排污单位", 12.0, "是 或 否（留空为否）").choice(Choice::YesNo),
        col(
            "重点类别",
            20.0,
            "重点排污单位的类别，多个用顿号分隔：水环境、大气环境、土壤、声环境、环境风险",
        ),
        col("法定代表人", 10.0, ""),
        col("联系电话", 16.0, "数字、空格、- + ( )").text(),
        col("经度", 11.0, LON_NOTE),
        col("纬度", 11.0, LAT_NOTE),
        col(
            "排污许可证编号",
            26.0,
            "多个用顿号分隔；导入只增加编号，删除请在企业档案页操作",
        )
        .text(),
        col("危险废物产生/经营单位编码", 22.0, "同上").text(),
        col("污染源编码", 18.0, "同上").text(),
        col("突发环境事件应急预案备案编号", 26.0, "同上").text(),
    ],
};

pub const SITES: SheetLayout = SheetLayout {
    kind: SheetKind::Sites,
    name: "厂区",
    purpose: "一行一个厂区（场所），按 企业 + 厂区名称 匹配。",
    columns: &[
        col("企业统一社会信用代码", 22.0, USCC_REF_NOTE)
            .required()
            .text(),
        col("厂区名称", 20.0, "同一企业内不重复").required(),
        col("地址", 30.0, "").required(),
        col("所属街道", 14.0, "留空为企业所在街道").choice(Choice::Street),
        col("经度", 11.0, LON_NOTE),
        col("纬度", 11.0, LAT_NOTE),
    ],
};

pub const OUTLETS: SheetLayout = SheetLayout {
    kind: SheetKind::Outlets,
    name: "排放口",
    purpose: "一行一个排放口，按 企业 + 排放口编号 匹配。",
    columns: &[
        col("企业统一社会信用代码", 22.0, USCC_REF_NOTE)
            .required()
            .text(),
        col(
            "排放口编号",
            12.0,
            "排污许可证上的编号，如 DA001（废气）、DW001（废水）",
        )
        .required()
        .text(),
        col("排放口名称", 20.0, "").required(),
        col("排放介质", 10.0, "废气 或 废水")
            .required()
            .choice(Choice::Medium),
        col("排放口类型", 14.0, "主要排放口、一般排放口或特殊排放口")
            .required()
            .choice(Choice::OutletKind),
        col("所属厂区", 16.0, "厂区表或已登记的厂区名称，可留空"),
        col("在线监测", 10.0, "是 或 否（留空为否）").choice(Choice::YesNo),
        col("经度", 11.0, LON_NOTE),
        col("纬度", 11.0, LAT_NOTE),
    ],
};

pub const POINTS: SheetLayout = SheetLayout {
    kind: SheetKind::Points,
    name: "监测点位",
    purpose: "一行一个监测点位（空气站、水质断面、排放口在线监测），按点位编码匹配。",
    columns: &[
        col("点位编码", 14.0, "字母、数字、- 和 _，如 1021A")
            .required()
            .text(),
        col("点位名称", 20.0, "").required(),
        col("点位类型", 16.0, "空气站、水质断面或排放口在线监测")
            .required()
            .choice(Choice::PointKind),
        col(
            "级别",
            10.0,
            "国控、市控、区控、微站；排放口在线监测为企业自控",
        )
        .required()
        .choice(Choice::PointLevel),
        col(
            "所属街道",
            14.0,
            "空气站必填；排放口在线监测取企业所在街道，可留空",
        )
        .choice(Choice::Street),
        col(
            "企业统一社会信用代码",
            22.0,
            "排放口在线监测必填：排放口所属企业",
        )
        .text(),
        col("排放口编号", 12.0, "排放口在线监测必填：该企业的排放口编号").text(),
        col("运维单位", 20.0, "点位的运维或管理单位").required(),
        col("水体名称", 14.0, "水质断面必填，如 北塘排水河"),
        col("水体类型", 10.0, "水质断面必填：河流 或 湖库").choice(Choice::WaterKind),
        col("目标水质类别", 12.0, "水质断面：Ⅰ–Ⅴ（GB 3838-2002）").choice(Choice::TargetClass),
        col("经度", 11.0, LON_NOTE),
        col("纬度", 11.0, LAT_NOTE),
        col("启用", 8.0, "是 或 否；新增时留空为是，更新时留空不变").choice(Choice::YesNo),
    ],
};

pub const DEVICES: SheetLayout = SheetLayout {
    kind: SheetKind::Devices,
    name: "监测设备",
    purpose: "一行一台 HJ 212 数采仪，按 MN 匹配。",
    columns: &[
        col("MN", 26.0, "设备唯一标识（HJ 212），字母和数字，最多 24 位")
            .required()
            .text(),
        col("点位编码", 14.0, "监测点位表或已登记的点位编码")
            .required()
            .text(),
        col(
            "协议版本",
            16.0,
            "HJ/T 212-2005、HJ 212-2017 或 HJ 212-2025",
        )
        .required()
        .choice(Choice::Protocol),
        col(
            "CRC 校验",
            18.0,
            "严格校验、接受 Modbus 变体或不校验；新增时留空为严格校验，更新时留空不变",
        )
        .choice(Choice::CrcMode),
        col("型号", 16.0, ""),
        col("启用", 8.0, "是 或 否；新增时留空为是，更新时留空不变").choice(Choice::YesNo),
        col(
            "访问密码",
            14.0,
            "新设备必填；已登记设备留空则不变。导出时从不写出密码",
        )
        .text(),
    ],
};

/// The data sheets, in import order.
pub const SHEETS: [&SheetLayout; 5] = [&ENTERPRISES, &SITES, &OUTLETS, &POINTS, &DEVICES];

/// The instructions sheet's name.
pub const README_SHEET: &str = "说明";
/// The hidden sheet holding the drop-down lists.
const LISTS_SHEET: &str = "选项";

/// The example enterprise's code: every row naming it is an example row and is skipped on import. A valid
/// code (check character included) so that the example shows the format; no real enterprise has serial
/// number 0000000 under registration authority 9, type 1 in Dongli.
pub const EXAMPLE_USCC: &str = "91120110MA0000000A";
/// The example point's code (an example row of 监测点位 and 监测设备).
pub const EXAMPLE_POINT: &str = "EXAMPLE-01";
/// The example device's MN.
pub const EXAMPLE_MN: &str = "EXAMPLE00000000000001";

/// The Excel column letters of a 0-based column index (0 → A, 26 → AA).
pub fn column_letter(index: usize) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(char::from(b'A' + rem as u8));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Reports
// ---------------------------------------------------------------------------------------------------------------

/// One problem of an import: where (sheet, physical Excel row with the header as row 1, column) and why, in
/// Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CellProblem {
    pub sheet: String,
    /// The row as Excel numbers it (the header is row 1); 0 for the workbook as a whole.
    pub row: u32,
    /// The column's header (without the `*`), when the problem is in one cell or column.
    pub column: Option<String>,
    /// Its letter, e.g. `A`.
    pub column_letter: Option<String>,
    pub reason: String,
}

/// What the import does with one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowAction {
    Create,
    Update,
}

/// A row that creates or changes a record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RowChange {
    pub sheet: String,
    pub row: u32,
    pub action: RowAction,
    /// The record by its natural key (USCC, code, MN) and name.
    pub record: String,
    /// The columns whose values change (for an update).
    pub fields: Vec<String>,
}

/// One sheet's counts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SheetSummary {
    pub kind: SheetKind,
    pub sheet: String,
    /// Whether the caller may create and change these records (else only unchanged rows pass).
    pub writable: bool,
    /// Why not, or another word about the sheet (absent, read-only…).
    pub note: Option<String>,
    /// Data rows read (examples and empty rows not counted).
    pub rows: u32,
    pub created: u32,
    pub updated: u32,
    pub unchanged: u32,
    /// Rows with a problem (or depending on one), not imported.
    pub rejected: u32,
    /// Example rows skipped.
    pub examples: u32,
}

/// What an import found and did: the preview before, the result after.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkbookReport {
    /// Whether the good rows were written (false for a preview, or when bad rows stopped the import).
    pub applied: bool,
    pub dry_run: bool,
    pub good_rows_only: bool,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    pub sheets: Vec<SheetSummary>,
    /// Every bad row and cell, by sheet and row.
    pub problems: Vec<CellProblem>,
    /// Every row that creates or changes a record.
    pub changes: Vec<RowChange>,
    pub created: u32,
    pub updated: u32,
    pub unchanged: u32,
    pub rejected: u32,
}

// ---------------------------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------------------------

/// A cell to write.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Text(String),
    Number(f64),
    Empty,
}

impl Out {
    pub fn text(value: impl Into<String>) -> Out {
        let value = value.into();
        if value.is_empty() {
            Out::Empty
        } else {
            Out::Text(value)
        }
    }

    pub fn opt_text(value: Option<&str>) -> Out {
        value.map_or(Out::Empty, Out::text)
    }

    pub fn number(value: Option<f64>) -> Out {
        value.map_or(Out::Empty, Out::Number)
    }

    pub fn yes_no(value: bool) -> Out {
        Out::text(if value { YES } else { NO })
    }
}

pub const YES: &str = "是";
pub const NO: &str = "否";

/// What the workbook is written with: the values of the closed lists, the rows of each sheet, the 说明 lines.
pub struct WorkbookContent {
    pub street_names: Vec<String>,
    /// Rows per sheet, in the order of [`SHEETS`].
    pub rows: [Vec<Vec<Out>>; 5],
    /// Example rows (the template), in the order of [`SHEETS`].
    pub examples: Option<[Vec<Out>; 5]>,
    /// Lines at the top of the 说明 sheet (title, who, when, scope).
    pub preface: Vec<String>,
    /// Per sheet, a note for the 说明 sheet (e.g. "您只能查看本表").
    pub sheet_notes: [Option<String>; 5],
}

fn xlsx(e: XlsxError) -> AppError {
    AppError::Internal(anyhow::anyhow!("xlsx: {e}"))
}

/// The labels of a closed list.
pub fn choice_values(choice: Choice, street_names: &[String]) -> Vec<String> {
    use crate::model::*;
    fn labels<T: Copy>(all: &[T], label: fn(T) -> &'static str) -> Vec<String> {
        all.iter().map(|v| label(*v).to_string()).collect()
    }
    match choice {
        Choice::Street => street_names.to_vec(),
        Choice::YesNo => vec![YES.into(), NO.into()],
        Choice::EnterpriseStatus => labels(EnterpriseStatus::ALL, EnterpriseStatus::label),
        Choice::PointKind => labels(PointKind::ALL, PointKind::label),
        Choice::PointLevel => labels(PointLevel::ALL, PointLevel::label),
        Choice::Medium => labels(Medium::ALL, Medium::label),
        Choice::OutletKind => labels(OutletKind::ALL, OutletKind::label),
        Choice::WaterKind => labels(WaterKind::ALL, WaterKind::label),
        Choice::TargetClass => TARGET_CLASSES.iter().map(|c| c.to_string()).collect(),
        Choice::Protocol => labels(Protocol::ALL, Protocol::label),
        Choice::CrcMode => labels(CrcMode::ALL, CrcMode::label),
    }
}

/// GB 3838-2002 classes Ⅰ–Ⅴ as written on the sheet (value = position + 1).
pub const TARGET_CLASSES: [&str; 5] = ["Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ"];

/// The last row the drop-downs cover (a district's registry stays far below it).
const VALIDATED_ROWS: u32 = 20_000;

/// Writes the workbook.
pub fn write(content: &WorkbookContent) -> Result<Vec<u8>, AppError> {
    write_inner(content).map_err(xlsx)
}

fn write_inner(content: &WorkbookContent) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let header = Format::new()
        .set_bold()
        .set_background_color(Color::RGB(0xDDEBF7))
        .set_border(rust_xlsxwriter::FormatBorder::Thin);
    let required_header = header.clone().set_font_color(Color::RGB(0xC00000));
    let text = Format::new().set_num_format("@");
    let example = Format::new()
        .set_italic()
        .set_font_color(Color::RGB(0x808080))
        .set_background_color(Color::RGB(0xF2F2F2));
    let example_text = example.clone().set_num_format("@");
    let title = Format::new().set_bold().set_font_size(14);
    let wrap = Format::new().set_text_wrap();
    let bold = Format::new().set_bold();

    // 说明 first: it is what opens.
    let readme = book.add_worksheet();
    readme.set_name(README_SHEET)?;
    readme.set_column_width(0, 16)?;
    readme.set_column_width(1, 26)?;
    readme.set_column_width(2, 8)?;
    readme.set_column_width(3, 70)?;
    let mut r = 0u32;
    for (i, line) in content.preface.iter().enumerate() {
        if i == 0 {
            readme.write_string_with_format(r, 0, line, &title)?;
        } else {
            readme.write_string(r, 0, line)?;
        }
        r += 1;
    }
    r += 1;
    for line in GENERAL_RULES {
        readme.write_string(r, 0, *line)?;
        r += 1;
    }
    r += 1;
    for (index, layout) in SHEETS.iter().enumerate() {
        readme.write_string_with_format(r, 0, layout.name, &bold)?;
        readme.write_string_with_format(r, 1, layout.purpose, &bold)?;
        r += 1;
        if let Some(note) = &content.sheet_notes[index] {
            readme.write_string_with_format(
                r,
                1,
                note,
                &Format::new().set_font_color(Color::RGB(0xC00000)),
            )?;
            r += 1;
        }
        readme.write_string_with_format(r, 1, "列", &header)?;
        readme.write_string_with_format(r, 2, "必填", &header)?;
        readme.write_string_with_format(r, 3, "填写说明", &header)?;
        r += 1;
        for column in layout.columns {
            readme.write_string(r, 1, column.header)?;
            readme.write_string(r, 2, if column.required { YES } else { "" })?;
            readme.write_string_with_format(r, 3, column.note, &wrap)?;
            r += 1;
        }
        r += 1;
    }

    // The drop-down lists live on a hidden sheet so that any number of streets fits (a list typed into the
    // validation itself is limited to 255 characters).
    let choices = [
        Choice::Street,
        Choice::YesNo,
        Choice::EnterpriseStatus,
        Choice::PointKind,
        Choice::PointLevel,
        Choice::Medium,
        Choice::OutletKind,
        Choice::WaterKind,
        Choice::TargetClass,
        Choice::Protocol,
        Choice::CrcMode,
    ];
    let mut ranges: HashMap<Choice, String> = HashMap::new();
    {
        let lists = book.add_worksheet();
        lists.set_name(LISTS_SHEET)?;
        for (c, choice) in choices.iter().enumerate() {
            let values = choice_values(*choice, &content.street_names);
            let c16 = c as u16;
            for (i, value) in values.iter().enumerate() {
                lists.write_string(i as u32, c16, value)?;
            }
            if !values.is_empty() {
                ranges.insert(
                    *choice,
                    format!(
                        "='{LISTS_SHEET}'!${col}$1:${col}${n}",
                        col = column_letter(c),
                        n = values.len()
                    ),
                );
            }
        }
        lists.set_hidden(true);
    }

    for (index, layout) in SHEETS.iter().enumerate() {
        let sheet = book.add_worksheet();
        sheet.set_name(layout.name)?;
        for (c, column) in layout.columns.iter().enumerate() {
            let c16 = c as u16;
            let name = if column.required {
                format!("{}*", column.header)
            } else {
                column.header.to_string()
            };
            let format = if column.required {
                &required_header
            } else {
                &header
            };
            sheet.write_string_with_format(0, c16, &name, format)?;
            sheet.set_column_width(c16, column.width)?;
            if column.text {
                sheet.set_column_format(c16, &text)?;
            }
            if let Some(formula) = column.choice.and_then(|choice| ranges.get(&choice)) {
                let validation = DataValidation::new()
                    .allow_list_formula(Formula::new(formula))
                    .set_error_style(DataValidationErrorStyle::Warning)
                    .set_error_title("不在列表中")?
                    .set_error_message("请从下拉列表中选择；导入时会核对。")?;
                sheet.add_data_validation(1, c16, VALIDATED_ROWS, c16, &validation)?;
            }
        }
        sheet.set_freeze_panes(1, 0)?;
        let mut row = 1u32;
        if let Some(examples) = &content.examples {
            for (c, cell) in examples[index].iter().enumerate() {
                let c16 = c as u16;
                let format = if layout.columns[c].text {
                    &example_text
                } else {
                    &example
                };
                match cell {
                    Out::Text(t) => sheet.write_string_with_format(row, c16, t, format)?,
                    Out::Number(n) => sheet.write_number_with_format(row, c16, *n, format)?,
                    Out::Empty => sheet.write_blank(row, c16, format)?,
                };
            }
            row += 1;
        }
        for values in &content.rows[index] {
            for (c, cell) in values.iter().enumerate() {
                let c16 = c as u16;
                match cell {
                    Out::Text(t) if layout.columns[c].text => {
                        sheet.write_string_with_format(row, c16, t, &text)?
                    }
                    Out::Text(t) => sheet.write_string(row, c16, t)?,
                    Out::Number(n) => sheet.write_number(row, c16, *n)?,
                    Out::Empty => continue,
                };
            }
            row += 1;
        }
    }
    book.worksheet_from_index(1)?.set_active(true);
    book.save_to_buffer()
}

/// The rules of the 说明 sheet.
const GENERAL_RULES: &[&str] = &[
    "填写规则：",
    "1. 每张表第 1 行是表头，请勿修改或删除；带 * 的列为必填。列的顺序可以调整，多余的列会被忽略。",
    "2. 模板中第 2 行（灰色斜体）为示例：凡是使用示例企业（统一社会信用代码 91120110MA0000000A）、示例点位（EXAMPLE-01）或示例设备的行都会被跳过，可以删除，也可以保留。",
    "3. 记录之间用编码相互引用，不用系统内部编号：企业用统一社会信用代码，厂区用名称，排放口用编号，点位用点位编码，街道用名称。",
    "4. 导入前先预览：预览列出每个有误的单元格（表、行号、列、原因）。文件全部无误才会导入；也可以选择只导入无误的行，依赖有误行的记录（如有误企业的排放口）一并不导入。",
    "5. 同一文件重复导入不会产生变化；已登记的记录按表中内容更新，每条变更都记入审计日志。",
    "6. 只能导入有权修改的表：企业、厂区、排放口由执法支队、固废科和街道（本街道）维护；监测点位和监测设备由监测科维护。",
];

// ---------------------------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------------------------

/// One cell as read.
#[derive(Debug, Clone, PartialEq)]
pub enum CellValue {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    /// A date or time: never a valid value of this workbook, but named as such in the error.
    Date(String),
    /// An Excel error value (`#N/A`, `#REF!`…).
    Error(String),
}

impl CellValue {
    fn from_data(data: &Data) -> CellValue {
        match data {
            Data::Empty => CellValue::Empty,
            Data::String(s) if s.trim().is_empty() => CellValue::Empty,
            Data::String(s) => CellValue::Text(s.trim().to_string()),
            Data::Float(f) => CellValue::Number(*f),
            Data::Int(i) => CellValue::Number(*i as f64),
            Data::Bool(b) => CellValue::Bool(*b),
            Data::DateTime(d) => CellValue::Date(d.as_f64().to_string()),
            Data::DateTimeIso(s) | Data::DurationIso(s) => CellValue::Date(s.clone()),
            Data::Error(e) => CellValue::Error(format!("{e:?}")),
        }
    }

    /// The cell as text: numbers without a fraction are written as integers (an MN typed as a number).
    pub fn text(&self) -> String {
        match self {
            CellValue::Empty => String::new(),
            CellValue::Text(s) => s.clone(),
            CellValue::Number(n) if n.fract() == 0.0 && n.abs() < 1e17 => format!("{}", *n as i64),
            CellValue::Number(n) => n.to_string(),
            CellValue::Bool(true) => YES.to_string(),
            CellValue::Bool(false) => NO.to_string(),
            CellValue::Date(d) | CellValue::Error(d) => d.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == CellValue::Empty
    }
}

/// One data row of a sheet.
#[derive(Debug, Clone)]
pub struct SheetRow {
    /// The row as Excel numbers it.
    pub row: u32,
    /// One value per layout column (Empty when the column is absent).
    pub cells: Vec<CellValue>,
}

/// A data sheet as read: where each layout column was found, and its rows.
#[derive(Debug, Clone)]
pub struct ReadSheet {
    /// Whether the workbook has the sheet at all.
    pub present: bool,
    /// For each layout column, its 0-based column in the file.
    pub positions: Vec<Option<usize>>,
    pub rows: Vec<SheetRow>,
}

impl ReadSheet {
    /// The header and letter of a layout column, as the file has it.
    pub fn letter(&self, column: usize) -> Option<String> {
        self.positions
            .get(column)
            .copied()
            .flatten()
            .map(column_letter)
    }
}

/// The workbook as read: every data sheet (absent ones empty) and the problems of its structure.
pub struct ReadBook {
    pub sheets: [ReadSheet; 5],
    pub problems: Vec<CellProblem>,
}

/// The header text without the required mark and spaces.
fn header_key(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '*' && *c != '＊')
        .collect()
}

/// Reads an uploaded workbook. Anything that is not an XLSX file is a 422 naming `file`.
pub fn read(bytes: &[u8]) -> Result<ReadBook, AppError> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| {
        AppError::validation(
            "file",
            format!(
                "is not an XLSX workbook (不是 XLSX 工作簿，请上传平台提供的模板或导出文件): {e}"
            ),
        )
    })?;
    let names = book.sheet_names();
    let mut problems = Vec::new();
    if !SHEETS
        .iter()
        .any(|l| names.iter().any(|n| n.trim() == l.name))
    {
        return Err(AppError::validation(
            "file",
            format!(
                "has none of the sheets {} (工作簿中没有 企业、厂区、排放口、监测点位、监测设备 中的任何一张表)",
                SHEETS.iter().map(|l| l.name).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let mut sheets: Vec<ReadSheet> = Vec::with_capacity(5);
    for layout in SHEETS {
        let Some(name) = names.iter().find(|n| n.trim() == layout.name).cloned() else {
            sheets.push(ReadSheet {
                present: false,
                positions: vec![None; layout.columns.len()],
                rows: Vec::new(),
            });
            continue;
        };
        let range = book.worksheet_range(&name).map_err(|e| {
            AppError::validation(
                "file",
                format!("sheet {name} cannot be read (无法读取工作表 {name}): {e}"),
            )
        })?;
        let mut positions = vec![None; layout.columns.len()];
        let (Some(start), Some(end)) = (range.start(), range.end()) else {
            sheets.push(ReadSheet {
                present: true,
                positions,
                rows: Vec::new(),
            });
            continue;
        };
        // The header is row 1 (index 0) whatever the used range says.
        let cell = |r: u32, c: u32| -> CellValue {
            range
                .get_value((r, c))
                .map(CellValue::from_data)
                .unwrap_or(CellValue::Empty)
        };
        let mut seen: HashMap<String, usize> = HashMap::new();
        for c in start.1..=end.1 {
            let key = header_key(&cell(0, c).text());
            if key.is_empty() {
                continue;
            }
            if let Some(i) = layout.columns.iter().position(|col| col.header == key) {
                if let Some(first) = seen.get(&key) {
                    problems.push(CellProblem {
                        sheet: layout.name.to_string(),
                        row: 1,
                        column: Some(key.clone()),
                        column_letter: Some(column_letter(c as usize)),
                        reason: format!("表头重复：与 {} 列相同", column_letter(*first)),
                    });
                    continue;
                }
                seen.insert(key, c as usize);
                positions[i] = Some(c as usize);
            }
        }
        let mut missing = false;
        for (i, column) in layout.columns.iter().enumerate() {
            if column.required && positions[i].is_none() {
                missing = true;
                problems.push(CellProblem {
                    sheet: layout.name.to_string(),
                    row: 1,
                    column: Some(column.header.to_string()),
                    column_letter: None,
                    reason: format!("缺少必填列「{}」：表头不能修改或删除", column.header),
                });
            }
        }
        let mut rows = Vec::new();
        if !missing {
            for r in 1.max(start.0)..=end.0 {
                let cells: Vec<CellValue> = positions
                    .iter()
                    .map(|p| p.map_or(CellValue::Empty, |c| cell(r, c as u32)))
                    .collect();
                if cells.iter().all(CellValue::is_empty) {
                    continue;
                }
                rows.push(SheetRow { row: r + 1, cells });
            }
        }
        sheets.push(ReadSheet {
            present: true,
            positions,
            rows,
        });
    }
    let sheets: [ReadSheet; 5] = sheets
        .try_into()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("five sheet layouts, five sheets read")))?;
    Ok(ReadBook { sheets, problems })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_as_excel_writes_them() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
    }

    #[test]
    fn the_example_code_is_a_valid_uscc() {
        assert!(crate::model::Uscc::parse(EXAMPLE_USCC).is_ok());
    }

    #[test]
    fn column_constants_match_the_headers() {
        assert_eq!(ENTERPRISES.columns[ent::LAT].header, "纬度");
        assert_eq!(
            ENTERPRISES.columns.len(),
            ent::IDENTIFIERS + crate::model::Program::ALL.len()
        );
        assert_eq!(SITES.columns[site::LAT].header, "纬度");
        assert_eq!(OUTLETS.columns[outlet::LAT].header, "纬度");
        assert_eq!(POINTS.columns[point::ACTIVE].header, "启用");
        assert_eq!(DEVICES.columns[device::PASSWORD].header, "访问密码");
        for (program, column) in crate::model::Program::ALL
            .iter()
            .zip(&ENTERPRISES.columns[ent::IDENTIFIERS..])
        {
            assert!(
                program.label().starts_with(&column.header[..6]),
                "{}",
                column.header
            );
        }
    }

    #[test]
    fn numbers_read_as_text_keep_their_digits() {
        assert_eq!(CellValue::Number(88888880000001.0).text(), "88888880000001");
        assert_eq!(CellValue::Number(117.35).text(), "117.35");
        assert_eq!(header_key(" 统一社会信用代码* "), "统一社会信用代码");
    }
}
