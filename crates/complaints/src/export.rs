//! The XLSX export of a filtered list (导出). Rows come from the service already masked for the caller, so
//! the reporter's data appears in full only for roles that may see it.

use kernel::AppError;
use rust_xlsxwriter::{Format, Workbook};

use crate::model::ComplaintView;

const HEADERS: &[&str] = &[
    "案件编号",
    "来源渠道",
    "类别",
    "状态",
    "标题",
    "被投诉对象",
    "地址",
    "街道",
    "受理时间",
    "登记时间（北京时间）",
    "受理期限",
    "办理期限",
    "延期（日）",
    "是否逾期",
    "重复信访",
    "重复次数",
    "非工作时间来件",
    "举报人",
    "联系电话",
    "答复结果",
    "处理措施",
    "案件/处罚文号",
    "回访评价",
    "模拟数据",
    "期限暂定（待国务院通知）",
    "督察交办期限",
    "交办编号",
];

pub fn workbook(rows: &[ComplaintView]) -> Result<Vec<u8>, AppError> {
    let xlsx = |e: rust_xlsxwriter::XlsxError| AppError::Internal(anyhow::anyhow!("xlsx: {e}"));
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("信访投诉").map_err(xlsx)?;
    let bold = Format::new().set_bold();
    for (col, title) in HEADERS.iter().enumerate() {
        let col = u16::try_from(col).unwrap_or(u16::MAX);
        sheet
            .write_string_with_format(0, col, *title, &bold)
            .map_err(xlsx)?;
    }
    // Each column as wide as its widest cell (a Chinese character counts two: kernel::export::column_width).
    let mut widths: Vec<f64> = HEADERS
        .iter()
        .map(|h| kernel::export::column_width([*h]))
        .collect();
    for (index, row) in rows.iter().enumerate() {
        let r = u32::try_from(index + 1)
            .map_err(|_| AppError::BadRequest("too many rows".to_string()))?;
        let c = &row.complaint;
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let when = |v: Option<i64>| v.map(kernel::time::format_cst).unwrap_or_default();
        let object = c
            .enterprise_name
            .clone()
            .unwrap_or_else(|| c.object_name.clone());
        let cells: Vec<String> = vec![
            c.case_no.clone(),
            row.channel_label.to_string(),
            row.category_label.to_string(),
            row.state_label.to_string(),
            c.title.clone(),
            object,
            c.address.clone(),
            text(&c.street_name),
            when(c.accepted_at),
            kernel::time::format_cst(c.received_at),
            text(&c.acceptance_due),
            text(&c.handling_due),
            c.extension_days.to_string(),
            if row.clock_status.overdue { "是" } else { "" }.to_string(),
            if c.is_repeat { "是" } else { "" }.to_string(),
            c.repeat_count.to_string(),
            if c.after_hours { "是" } else { "" }.to_string(),
            text(&c.reporter_name),
            text(&c.reporter_phone),
            text(&c.reply_result),
            text(&c.reply_measures),
            text(&c.penalty_case_ref),
            c.satisfaction
                .map(|s| s.label().to_string())
                .unwrap_or_default(),
            if c.simulated { "模拟" } else { "" }.to_string(),
            if c.calendar_provisional { "是" } else { "" }.to_string(),
            text(&c.handover_deadline),
            c.handover_ref.clone(),
        ];
        for (col, value) in cells.iter().enumerate() {
            if let Some(width) = widths.get_mut(col) {
                *width = width.max(kernel::export::column_width([value.as_str()]));
            }
            let col = u16::try_from(col).unwrap_or(u16::MAX);
            sheet.write_string(r, col, value).map_err(xlsx)?;
        }
    }
    for (col, width) in widths.iter().enumerate() {
        let col = u16::try_from(col).unwrap_or(u16::MAX);
        sheet.set_column_width(col, *width).map_err(xlsx)?;
    }
    // The header stays in view while scrolling.
    sheet.set_freeze_panes(1, 0).map_err(xlsx)?;
    book.save_to_buffer().map_err(xlsx)
}
