//! The bulletin as XLSX: one sheet per table, Chinese headers, numbers as numbers (an empty cell where there
//! is no value), and a sheet with the method and sources.

use kernel::AppError;
use kernel::export::MAX_COLUMN_WIDTH;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use crate::model::{Bulletin, IssueMark, MethodNote};

fn xlsx(e: XlsxError) -> AppError {
    AppError::Internal(anyhow::anyhow!("xlsx: {e}"))
}

/// A cell value of a row.
enum Cell {
    Text(String),
    Number(Option<f64>),
}

fn text(value: impl Into<String>) -> Cell {
    Cell::Text(value.into())
}

fn num(value: Option<f64>) -> Cell {
    Cell::Number(value)
}

fn int(value: impl TryInto<u32>) -> Cell {
    Cell::Number(value.try_into().ok().map(f64::from))
}

fn rank(value: Option<usize>) -> Cell {
    Cell::Number(value.and_then(|r| u32::try_from(r).ok()).map(f64::from))
}

/// One sheet: a title row (the bulletin's title, the sheet, the period) across the table, the bold header row,
/// then the rows; columns fitted to their widest cell (a Chinese character counts two:
/// `kernel::export::column_width`), longer text wrapped, and the title and header frozen so that they stay in
/// view while scrolling.
fn sheet(
    book: &mut Workbook,
    name: &str,
    title: &str,
    headers: &[&str],
    rows: &[Vec<Cell>],
) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold().set_text_wrap();
    let title_format = Format::new().set_bold().set_font_size(14);
    let wrap = Format::new().set_text_wrap();
    let sheet: &mut Worksheet = book.add_worksheet();
    sheet.set_name(name)?;
    let last_col = headers.len().saturating_sub(1) as u16;
    if last_col > 0 {
        sheet.merge_range(0, 0, 0, last_col, title, &title_format)?;
    } else {
        sheet.write_string_with_format(0, 0, title, &title_format)?;
    }
    sheet.set_row_height(0, 24)?;
    for (col, header) in headers.iter().enumerate() {
        sheet.write_string_with_format(HEADER_ROW, col as u16, *header, &bold)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let r = r as u32 + HEADER_ROW + 1;
        for (col, cell) in row.iter().enumerate() {
            let col = col as u16;
            match cell {
                Cell::Text(t) if kernel::export::display_width(t) as f64 > MAX_COLUMN_WIDTH => {
                    sheet.write_string_with_format(r, col, t, &wrap)?;
                }
                Cell::Text(t) => {
                    sheet.write_string(r, col, t)?;
                }
                Cell::Number(Some(v)) => {
                    sheet.write_number(r, col, *v)?;
                }
                Cell::Number(None) => {}
            }
        }
    }
    for (col, header) in headers.iter().enumerate() {
        let shown: Vec<String> = rows
            .iter()
            .filter_map(|row| row.get(col))
            .map(|cell| match cell {
                Cell::Text(t) => t.clone(),
                // As Excel shows a number in a column of the General format: at most 11 characters.
                Cell::Number(Some(v)) => format!("{v}").chars().take(11).collect(),
                Cell::Number(None) => String::new(),
            })
            .collect();
        let width = kernel::export::column_width(
            std::iter::once(*header).chain(shown.iter().map(String::as_str)),
        );
        sheet.set_column_width(col as u16, width)?;
    }
    sheet.set_freeze_panes(HEADER_ROW + 1, 0)?;
    Ok(())
}

/// The row of the column headers (the title row is above it).
pub const HEADER_ROW: u32 = 1;

/// Sheet names, in order.
pub const SHEETS: [&str; 6] = [
    "空气排名",
    "水质排名",
    "断面",
    "区域概况",
    "年度目标",
    "说明",
];

pub const AIR_HEADERS: [&str; 15] = [
    "排名",
    "街道",
    "微站数",
    "有效天数",
    "PM2.5（μg/m³）",
    "去年同期PM2.5",
    "PM2.5同比变化率（%）",
    "综合指数",
    "去年同期综合指数",
    "综合指数同比变化率（%）",
    "优良天数",
    "优良天数比例（%）",
    "加权位次得分",
    "并列",
    "未排名原因",
];

pub const WATER_HEADERS: [&str; 12] = [
    "排名",
    "街道",
    "断面数",
    "有监测断面数",
    "达标断面数",
    "断面达标率（%）",
    "CWQI",
    "去年同期CWQI",
    "CWQI同比变化率（%）",
    "加权位次得分",
    "并列",
    "未排名原因",
];

fn method_rows(what: &str, m: &MethodNote) -> Vec<Vec<Cell>> {
    let mut rows = vec![
        vec![text(format!("{what}排名方法")), text(m.label.clone())],
        vec![text(format!("{what}方法来源")), text(m.source.clone())],
    ];
    for w in &m.weights {
        rows.push(vec![
            text(format!("{what}权重：{}（%）", w.label)),
            int(w.weight),
        ]);
    }
    rows
}

/// A sheet's title row: the bulletin's title with the number of an issued one, what the sheet holds, the
/// period, and the issue date of an issued one.
pub fn sheet_title(b: &Bulletin, sheet: &str, issued: Option<&IssueMark>) -> String {
    let p = &b.ranking.period;
    format!(
        "{}{}：{sheet}（统计时段 {} 至 {}{}{}）",
        b.title,
        issued
            .map(|m| format!("（{}）", m.number))
            .unwrap_or_default(),
        p.from,
        p.to,
        if p.partial { "，本月未结束" } else { "" },
        issued
            .map(|m| format!("；{}发布", m.issued_on))
            .unwrap_or_default()
    )
}

/// The workbook of a bulletin; `issued`: the number and date of an issued one (a draft has none).
pub fn workbook(b: &Bulletin, issued: Option<&IssueMark>) -> Result<Vec<u8>, AppError> {
    let mut book = Workbook::new();
    let r = &b.ranking;
    let title = |sheet: &str| sheet_title(b, sheet, issued);
    let air: Vec<Vec<Cell>> = r
        .air
        .iter()
        .map(|a| {
            vec![
                rank(a.placing.rank),
                text(a.street.clone()),
                int(a.stations as u32),
                int(a.now.valid_days),
                num(a.now.pm25),
                num(a.last_year.pm25),
                num(a.pm25_change),
                num(a.now.composite),
                num(a.last_year.composite),
                num(a.composite_change),
                int(a.now.good_days),
                num(a.now.good_ratio),
                num(a.placing.score),
                text(if a.placing.tied { "并列" } else { "" }),
                text(a.placing.unranked_reason.clone().unwrap_or_default()),
            ]
        })
        .collect();
    sheet(&mut book, SHEETS[0], &title(SHEETS[0]), &AIR_HEADERS, &air).map_err(xlsx)?;
    let water: Vec<Vec<Cell>> = r
        .water
        .iter()
        .map(|w| {
            vec![
                rank(w.placing.rank),
                text(w.street.clone()),
                int(w.sections as u32),
                int(w.now.sections_with_data as u32),
                int(w.now.sections_meeting as u32),
                num(w.now.compliance),
                num(w.now.cwqi),
                num(w.last_year.cwqi),
                num(w.cwqi_change),
                num(w.placing.score),
                text(if w.placing.tied { "并列" } else { "" }),
                text(w.placing.unranked_reason.clone().unwrap_or_default()),
            ]
        })
        .collect();
    sheet(
        &mut book,
        SHEETS[1],
        &title(SHEETS[1]),
        &WATER_HEADERS,
        &water,
    )
    .map_err(xlsx)?;
    let street_name = |id: Option<i64>| {
        r.water
            .iter()
            .find(|w| Some(w.street_id) == id)
            .map(|w| w.street.clone())
            .unwrap_or_default()
    };
    let sections: Vec<Vec<Cell>> = r
        .sections
        .iter()
        .map(|s| {
            vec![
                text(s.name.clone()),
                text(street_name(s.street_id)),
                text(s.class.clone().unwrap_or_default()),
                text(s.target_class.clone().unwrap_or_default()),
                text(match s.meets_target {
                    Some(true) => "达标",
                    Some(false) => "未达标",
                    None => "",
                }),
                num(s.cwqi),
                text(s.last_year_class.clone().unwrap_or_default()),
                num(s.last_year_cwqi),
            ]
        })
        .collect();
    sheet(
        &mut book,
        SHEETS[2],
        &title(SHEETS[2]),
        &[
            "断面",
            "街道",
            "水质类别",
            "目标类别",
            "是否达标",
            "CWQI",
            "去年同期类别",
            "去年同期CWQI",
        ],
        &sections,
    )
    .map_err(xlsx)?;
    let d = &b.district;
    let mut district = vec![
        vec![text("评价站点数"), int(d.air_stations as u32), text("")],
        vec![
            text("有效天数"),
            int(d.now.valid_days),
            int(d.last_year.valid_days),
        ],
        vec![
            text("优良天数"),
            int(d.now.good_days),
            int(d.last_year.good_days),
        ],
        vec![
            text("优良天数比例（%）"),
            num(d.now.good_ratio),
            num(d.last_year.good_ratio),
        ],
    ];
    for (i, level) in [
        "一级（优）",
        "二级（良）",
        "三级（轻度污染）",
        "四级（中度污染）",
        "五级（重度污染）",
        "六级（严重污染）",
    ]
    .iter()
    .enumerate()
    {
        district.push(vec![
            text(format!("{level}天数")),
            int(d.now.days_per_level[i]),
            int(d.last_year.days_per_level[i]),
        ]);
    }
    district.extend([
        vec![
            text("PM2.5（μg/m³）"),
            num(d.now.pm25),
            num(d.last_year.pm25),
        ],
        vec![text("PM2.5同比变化率（%）"), num(d.pm25_change), text("")],
        vec![
            text("综合指数"),
            num(d.now.composite),
            num(d.last_year.composite),
        ],
        vec![
            text("综合指数同比变化率（%）"),
            num(d.composite_change),
            text(""),
        ],
        vec![
            text("有监测断面数"),
            int(d.sections_with_data as u32),
            text(""),
        ],
    ]);
    for (i, class) in ["I", "II", "III", "IV", "V", "劣V"].iter().enumerate() {
        district.push(vec![
            text(format!("{class}类断面数")),
            int(d.sections_per_class[i] as u32),
            text(""),
        ]);
    }
    district.extend([
        vec![
            text("I–III类断面比例（%）"),
            num(d.good_water_share),
            text(""),
        ],
        vec![
            text("达到目标的断面数"),
            int(d.sections_meeting as u32),
            text(""),
        ],
    ]);
    sheet(
        &mut book,
        SHEETS[3],
        &title(SHEETS[3]),
        &["指标", "本月", "去年同期"],
        &district,
    )
    .map_err(xlsx)?;
    let targets: Vec<Vec<Cell>> = b
        .targets
        .iter()
        .map(|t| {
            vec![
                text(t.title.clone()),
                text(t.owner.clone()),
                text(t.requirement.clone()),
                text(t.value.clone()),
                text(t.last_year.clone()),
                text(t.status.clone()),
                text(t.reason.clone()),
            ]
        })
        .collect();
    sheet(
        &mut book,
        SHEETS[4],
        &title(SHEETS[4]),
        &[
            "目标",
            "责任部门",
            "要求",
            "本年累计",
            "去年同期",
            "状态",
            "说明",
        ],
        &targets,
    )
    .map_err(xlsx)?;
    let p = &r.period;
    let mut notes = vec![
        vec![text("标题"), text(b.title.clone())],
        vec![text("统计时段"), text(format!("{} 至 {}", p.from, p.to))],
        vec![
            text("去年同期"),
            text(format!("{} 至 {}", p.last_year_from, p.last_year_to)),
        ],
    ];
    notes.extend(method_rows("空气", &r.air_method));
    notes.extend(method_rows("水质", &r.water_method));
    notes.extend([
        vec![text("计算依据"), text(r.standards_note.clone())],
        vec![text("年度目标"), text(b.targets_note.clone())],
        vec![text("生成时间（北京时间）"), text(b.generated_at.clone())],
    ]);
    sheet(
        &mut book,
        SHEETS[5],
        &title(SHEETS[5]),
        &["项目", "内容"],
        &notes,
    )
    .map_err(xlsx)?;
    book.save_to_buffer().map_err(xlsx)
}
