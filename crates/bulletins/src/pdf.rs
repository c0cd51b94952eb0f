//! The bulletin as PDF, written directly (no PDF library).
//!
//! All text is set in Noto Sans SC, embedded as a subset of the glyphs the bulletin uses (`font.rs`: where the
//! face comes from, its licence, and the ToUnicode map that keeps the text extractable), so that the document
//! prints the same on every machine, whatever fonts it has (docs/bulletins.md). A4 portrait, tables and
//! horizontal bar charts drawn as vector graphics.

mod font;

use std::fmt::Write as _;

use kernel::AppError;

use crate::model::{AirRow, Bulletin, IssueMark, MethodNote, Placed, Standing, WaterRow};

const PAGE_W: f64 = 595.0;
const PAGE_H: f64 = 842.0;
const MARGIN: f64 = 50.0;
const BOTTOM: f64 = 60.0;

fn text_width(text: &str, size: f64) -> f64 {
    font::font().text_width(text, size)
}

/// The UTF-16BE hex of a text string outside content streams (the document title in /Info).
fn utf16_hex(text: &str) -> String {
    text.encode_utf16().map(|u| format!("{u:04X}")).collect()
}

/// Pages of content streams being written.
struct Writer {
    pages: Vec<String>,
    page: String,
    y: f64,
    glyphs: font::GlyphsUsed,
}

impl Writer {
    fn new() -> Writer {
        Writer {
            pages: Vec::new(),
            page: String::new(),
            y: PAGE_H - MARGIN,
            glyphs: font::GlyphsUsed::default(),
        }
    }

    fn new_page(&mut self) {
        let done = std::mem::take(&mut self.page);
        self.pages.push(done);
        self.y = PAGE_H - MARGIN;
    }

    /// Starts a new page unless `height` still fits.
    fn ensure(&mut self, height: f64) {
        if self.y - height < BOTTOM {
            self.new_page();
        }
    }

    /// Text at (x, y) in the embedded font.
    fn text_at(&mut self, x: f64, y: f64, size: f64, text: &str) {
        let glyphs = self.glyphs.encode(text);
        let _ = writeln!(
            self.page,
            "BT /F1 {size} Tf {x:.1} {y:.1} Td {glyphs} Tj ET"
        );
    }

    /// One line at the left margin (or indented), then moves down.
    fn line(&mut self, size: f64, indent: f64, text: &str) {
        let height = size * 1.5;
        self.ensure(height);
        self.y -= height;
        self.text_at(MARGIN + indent, self.y, size, text);
    }

    /// A paragraph wrapped to the text width.
    fn paragraph(&mut self, size: f64, text: &str) {
        let width = PAGE_W - 2.0 * MARGIN;
        let mut current = String::new();
        for c in text.chars() {
            current.push(c);
            if text_width(&current, size) > width {
                current.pop();
                let full = std::mem::take(&mut current);
                self.line(size, 0.0, &full);
                current.push(c);
            }
        }
        if !current.is_empty() {
            self.line(size, 0.0, &current);
        }
    }

    /// A table row at fixed column positions (x offsets from the margin); cells are clipped to their column.
    fn row(&mut self, size: f64, columns: &[f64], cells: &[String], bold_rule: bool) {
        let height = size * 1.6;
        self.ensure(height);
        self.y -= height;
        for (i, cell) in cells.iter().enumerate() {
            let x = MARGIN + columns[i];
            let limit = columns
                .get(i + 1)
                .map_or(PAGE_W - MARGIN - x, |next| next - columns[i] - 3.0);
            let mut shown = String::new();
            for c in cell.chars() {
                shown.push(c);
                if text_width(&shown, size) > limit {
                    shown.pop();
                    break;
                }
            }
            self.text_at(x, self.y, size, &shown);
        }
        let width = if bold_rule { 0.8 } else { 0.3 };
        let rule_y = self.y - size * 0.45;
        let _ = writeln!(
            self.page,
            "{width} w {MARGIN:.1} {rule_y:.1} m {:.1} {rule_y:.1} l S",
            PAGE_W - MARGIN
        );
    }

    /// A horizontal bar chart: one bar per (label, value), scaled to the largest value.
    fn bars(&mut self, title: &str, unit: &str, bars: &[(String, f64)], decimals: usize) {
        if bars.is_empty() {
            return;
        }
        self.line(10.0, 0.0, title);
        let max = bars
            .iter()
            .map(|b| b.1)
            .fold(0.0_f64, f64::max)
            .max(f64::MIN_POSITIVE);
        let full = PAGE_W - 2.0 * MARGIN - 150.0;
        for (label, value) in bars {
            self.ensure(14.0);
            self.y -= 14.0;
            self.text_at(MARGIN, self.y, 9.0, label);
            let w = (value / max * full).max(0.5);
            let _ = writeln!(
                self.page,
                "0.12 0.44 0.26 rg {:.1} {:.1} {w:.1} 9 re f 0 g",
                MARGIN + 90.0,
                self.y - 1.0
            );
            self.text_at(
                MARGIN + 95.0 + w,
                self.y,
                8.0,
                &format!("{value:.decimals$}{unit}"),
            );
        }
        self.y -= 6.0;
    }

    fn finish(mut self) -> (Vec<String>, font::GlyphsUsed) {
        if !self.page.is_empty() || self.pages.is_empty() {
            self.new_page();
        }
        (self.pages, self.glyphs)
    }
}

fn opt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "—".to_string(), |v| format!("{v:.decimals$}"))
}

fn signed(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_string(), |v| format!("{v:+.1}%"))
}

fn rank_text(rank: Option<usize>, tied: bool) -> String {
    match rank {
        Some(r) if tied => format!("{r}(并列)"),
        Some(r) => r.to_string(),
        None => "不排名".to_string(),
    }
}

fn standing(label: &str, s: &Option<Standing>) -> String {
    match s {
        Some(s) => format!("{label}：{}（第 {} 名）", s.streets.join("、"), s.rank),
        None => format!("{label}：无（本月没有可排名的街道）"),
    }
}

fn air_table(w: &mut Writer, rows: &[AirRow]) {
    let cols = [
        0.0, 48.0, 118.0, 158.0, 208.0, 258.0, 308.0, 358.0, 408.0, 448.0,
    ];
    let head = [
        "排名",
        "街道",
        "PM2.5",
        "同比",
        "综合指数",
        "同比",
        "优良天数",
        "优良比例",
        "得分",
        "微站",
    ];
    w.row(8.5, &cols, &head.map(String::from), true);
    for r in rows {
        w.row(
            8.5,
            &cols,
            &[
                rank_text(r.placing.rank, r.placing.tied),
                r.street.clone(),
                opt(r.now.pm25, 0),
                signed(r.pm25_change),
                opt(r.now.composite, 2),
                signed(r.composite_change),
                format!("{}/{}", r.now.good_days, r.now.valid_days),
                r.now
                    .good_ratio
                    .map_or_else(|| "—".into(), |v| format!("{v:.1}%")),
                opt(r.placing.score, 2),
                r.stations.to_string(),
            ],
            false,
        );
    }
}

fn water_table(w: &mut Writer, rows: &[WaterRow]) {
    let cols = [0.0, 48.0, 118.0, 163.0, 223.0, 283.0, 338.0, 393.0, 448.0];
    let head = [
        "排名",
        "街道",
        "断面数",
        "达标断面",
        "达标率",
        "CWQI",
        "去年CWQI",
        "变化率",
        "得分",
    ];
    w.row(8.5, &cols, &head.map(String::from), true);
    for r in rows {
        w.row(
            8.5,
            &cols,
            &[
                rank_text(r.placing.rank, r.placing.tied),
                r.street.clone(),
                r.sections.to_string(),
                format!("{}/{}", r.now.sections_meeting, r.now.sections_with_data),
                r.now
                    .compliance
                    .map_or_else(|| "—".into(), |v| format!("{v:.1}%")),
                opt(r.now.cwqi, 2),
                opt(r.last_year.cwqi, 2),
                signed(r.cwqi_change),
                opt(r.placing.score, 2),
            ],
            false,
        );
    }
}

/// (street, value) of the streets that have the value.
fn bars<T: Placed>(rows: &[T], value: impl Fn(&T) -> Option<f64>) -> Vec<(String, f64)> {
    rows.iter()
        .filter_map(|r| Some((r.street().to_string(), value(r)?)))
        .collect()
}

/// A ranking table with its method, the streets not ranked and why, and the best and worst streets.
fn ranking_part<T: Placed>(
    w: &mut Writer,
    heading: &str,
    method: &MethodNote,
    rows: &[T],
    table: fn(&mut Writer, &[T]),
    (what, best, worst): (&str, &Option<Standing>, &Option<Standing>),
) {
    w.line(12.0, 0.0, heading);
    w.paragraph(9.0, &format!("方法：{}", method.label));
    table(w, rows);
    for row in rows.iter().filter(|r| r.placing().rank.is_none()) {
        let why = row.placing().unranked_reason.clone().unwrap_or_default();
        w.paragraph(8.5, &format!("{} 不排名：{why}", row.street()));
    }
    w.line(9.5, 0.0, &standing(&format!("{what}最好"), best));
    w.line(9.5, 0.0, &standing(&format!("{what}最差"), worst));
}

/// The bulletin as a PDF document; `issued`: the number and date of an issued one, under the title (a draft has
/// none).
pub fn document(b: &Bulletin, issued: Option<&IssueMark>) -> Result<Vec<u8>, AppError> {
    let r = &b.ranking;
    let d = &b.district;
    let mut w = Writer::new();
    w.line(16.0, 0.0, &b.title);
    if let Some(mark) = issued {
        w.line(10.0, 0.0, &format!("{}　　{}", mark.number, mark.issued_on));
    }
    let p = &r.period;
    w.line(
        9.0,
        0.0,
        &format!(
            "统计时段：{} 至 {}{}；去年同期：{} 至 {}。生成：{}（北京时间）",
            p.from,
            p.to,
            if p.partial {
                "（本月未结束）"
            } else {
                ""
            },
            p.last_year_from,
            p.last_year_to,
            b.generated_at
        ),
    );

    w.line(12.0, 0.0, "一、全区本月环境质量");
    let levels = ["优", "良", "轻度", "中度", "重度", "严重"];
    let per_level: Vec<String> = levels
        .iter()
        .zip(d.now.days_per_level)
        .map(|(l, n)| format!("{l} {n} 天"))
        .collect();
    w.paragraph(
        9.5,
        &format!(
            "空气（{} 个评价站点）：有效天数 {} 天，优良天数 {} 天，优良天数比例 {}；{}。PM2.5 平均浓度 {} 微克/立方米（去年同期 {}，变化 {}）；综合指数 {}（去年同期 {}，变化 {}）。",
            d.air_stations,
            d.now.valid_days,
            d.now.good_days,
            d.now.good_ratio.map_or_else(|| "—".into(), |v| format!("{v:.1}%")),
            per_level.join("，"),
            opt(d.now.pm25, 0),
            opt(d.last_year.pm25, 0),
            signed(d.pm25_change),
            opt(d.now.composite, 2),
            opt(d.last_year.composite, 2),
            signed(d.composite_change),
        ),
    );
    let classes = ["I", "II", "III", "IV", "V", "劣V"];
    let per_class: Vec<String> = classes
        .iter()
        .zip(d.sections_per_class)
        .map(|(c, n)| format!("{c}类 {n} 个"))
        .collect();
    w.paragraph(
        9.5,
        &format!(
            "地表水：有监测断面 {} 个，{}；I–III 类比例 {}；达到目标的断面 {} 个。",
            d.sections_with_data,
            per_class.join("，"),
            d.good_water_share
                .map_or_else(|| "—".into(), |v| format!("{v:.1}%")),
            d.sections_meeting
        ),
    );

    ranking_part(
        &mut w,
        "二、街道空气质量排名",
        &r.air_method,
        &r.air,
        air_table,
        ("空气", &b.air_best, &b.air_worst),
    );
    w.bars(
        "图 1 各街道综合指数",
        "",
        &bars(&r.air, |a| a.now.composite),
        2,
    );
    w.bars(
        "图 2 各街道 PM2.5 月均浓度（微克/立方米）",
        "",
        &bars(&r.air, |a| a.now.pm25),
        0,
    );
    ranking_part(
        &mut w,
        "三、街道水环境质量排名",
        &r.water_method,
        &r.water,
        water_table,
        ("水质", &b.water_best, &b.water_worst),
    );
    w.bars(
        "图 3 各街道水质指数 CWQI",
        "",
        &bars(&r.water, |a| a.now.cwqi),
        2,
    );

    w.line(12.0, 0.0, "四、年度目标完成情况");
    w.paragraph(9.0, &b.targets_note);
    for (i, t) in b.targets.iter().enumerate() {
        w.paragraph(
            9.0,
            &format!(
                "（{}）{}（{}）：要求 {}，本年累计 {}，去年同期 {}；{}。{}",
                i + 1,
                t.title,
                t.owner,
                t.requirement,
                t.value,
                t.last_year,
                t.status,
                t.reason
            ),
        );
    }
    w.line(12.0, 0.0, "五、说明");
    w.paragraph(8.5, &format!("空气排名依据：{}", r.air_method.source));
    w.paragraph(8.5, &format!("水质排名依据：{}", r.water_method.source));
    w.paragraph(8.5, &r.standards_note);
    let (pages, glyphs) = w.finish();
    assemble(&b.title, &pages, &glyphs)
}

/// Objects 1–8 are fixed (catalog, pages, the font's five objects, info); each page adds a page and a content
/// object.
fn assemble(title: &str, pages: &[String], glyphs: &font::GlyphsUsed) -> Result<Vec<u8>, AppError> {
    let first_page = 9;
    let kids: Vec<String> = (0..pages.len())
        .map(|i| format!("{} 0 R", first_page + 2 * i))
        .collect();
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        )
        .into_bytes(),
    ];
    // 3 Type0 font, 4 CIDFontType2, 5 descriptor, 6 font program, 7 ToUnicode.
    let font_objects = glyphs
        .objects(&font::FontObjectIds {
            cid_font: 4,
            descriptor: 5,
            program: 6,
            to_unicode: 7,
        })
        .map_err(|e| AppError::Internal(anyhow::anyhow!("subsetting the PDF font: {e:?}")))?;
    objects.extend(font_objects);
    objects.push(
        format!(
            "<< /Title <FEFF{}> /Producer (Qingshan) >>",
            utf16_hex(title)
        )
        .into_bytes(),
    );
    for (i, content) in pages.iter().enumerate() {
        let content_id = first_page + 2 * i + 1;
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] /Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>"
            )
            .into_bytes(),
        );
        objects.push(
            format!(
                "<< /Length {} >>\nstream\n{content}endstream",
                content.len()
            )
            .into_bytes(),
        );
    }
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for offset in offsets {
        let _ = writeln!(table, "{offset:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {} /Root 1 0 R /Info 8 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend_from_slice(table.as_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_set_as_glyph_ids_of_the_embedded_font() {
        let mut w = Writer::new();
        w.text_at(10.0, 20.0, 9.0, "PM2.5 浓度 35");
        assert!(
            w.page
                .starts_with("BT /F1 9 Tf 10.0 20.0 Td <0001000200030004"),
            "{}",
            w.page
        );
        // Measured with the face's own advances: a CJK character is one em.
        assert!((text_width("浓度", 9.0) - 18.0).abs() < 0.01);
    }

    #[test]
    fn long_documents_flow_onto_new_pages_with_the_font_embedded() {
        let mut w = Writer::new();
        for i in 0..200 {
            w.line(10.0, 0.0, &format!("第 {i} 行 张贵庄街道"));
        }
        let (pages, glyphs) = w.finish();
        assert!(pages.len() >= 4, "{}", pages.len());
        let pdf = assemble("测试", &pages, &glyphs).expect("the PDF is assembled");
        assert!(pdf.starts_with(b"%PDF-1.4"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/FontFile2 6 0 R"));
        assert!(text.contains("/ToUnicode 7 0 R"));
        assert!(!text.contains("STSong"), "no font is left to the viewer");
    }
}
