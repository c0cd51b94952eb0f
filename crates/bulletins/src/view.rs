//! The bulletin and the ranking as shown: the figures formatted for the pages, and the bulletin's body, which is
//! both the page of a draft and the stored HTML of an issued bulletin (so that the two look the same). No HTTP
//! types.

use askama::Template;

use crate::model::*;

// --- display ---------------------------------------------------------------------------------------------

fn fixed(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "—".to_string(), |v| format!("{v:.decimals$}"))
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_string(), |v| format!("{v:.1}%"))
}

fn signed(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_string(), |v| format!("{v:+.1}%"))
}

fn rank_cell(rank: Option<usize>, tied: bool) -> String {
    match rank {
        Some(r) if tied => format!("{r}（并列）"),
        Some(r) => r.to_string(),
        None => "不排名".to_string(),
    }
}

/// The positions on the weighted criteria, in the method's order: `1 / 7 / 1` (empty when not ranked).
fn positions(list: &[CriterionRank]) -> String {
    let shown: Vec<String> = list
        .iter()
        .filter_map(|p| Some(p.position?.to_string()))
        .collect();
    shown.join(" / ")
}

/// The header of the positions column: the weighted criteria in order.
fn positions_header(method: &MethodNote) -> String {
    let labels: Vec<String> = method
        .weights
        .iter()
        .map(|w| format!("{} {}%", w.label, w.weight))
        .collect();
    format!("各项位次（{}）", labels.join(" / "))
}

/// One air line as shown.
pub(crate) struct AirLine {
    pub(crate) ranked: bool,
    pub(crate) rank: String,
    pub(crate) street: String,
    pub(crate) stations: usize,
    pub(crate) days: String,
    pub(crate) pm25: String,
    pub(crate) pm25_last: String,
    pub(crate) pm25_change: String,
    pub(crate) composite: String,
    pub(crate) composite_last: String,
    pub(crate) composite_change: String,
    pub(crate) good: String,
    pub(crate) positions: String,
    pub(crate) score: String,
    pub(crate) note: String,
}

pub(crate) struct WaterLine {
    pub(crate) ranked: bool,
    pub(crate) rank: String,
    pub(crate) street: String,
    pub(crate) sections: usize,
    pub(crate) meeting: String,
    pub(crate) compliance: String,
    pub(crate) cwqi: String,
    pub(crate) cwqi_last: String,
    pub(crate) cwqi_change: String,
    pub(crate) positions: String,
    pub(crate) score: String,
    pub(crate) note: String,
}

pub(crate) struct SectionView {
    pub(crate) name: String,
    pub(crate) street: String,
    pub(crate) class: String,
    pub(crate) target: String,
    pub(crate) meets: &'static str,
    pub(crate) cwqi: String,
    pub(crate) last_class: String,
    pub(crate) last_cwqi: String,
}

/// The tables and chart data shared by the ranking page and the bulletin page.
pub(crate) struct Tables {
    pub(crate) period: String,
    /// GB 3095's minimum of valid days for the month's statistics, when the period is a whole month.
    pub(crate) required_days: Option<u32>,
    pub(crate) air_positions: String,
    pub(crate) water_positions: String,
    pub(crate) air_method: MethodNote,
    pub(crate) water_method: MethodNote,
    pub(crate) standards_note: String,
    pub(crate) air: Vec<AirLine>,
    pub(crate) water: Vec<WaterLine>,
    pub(crate) sections: Vec<SectionView>,
    pub(crate) air_chart: String,
    pub(crate) water_chart: String,
}

pub(crate) fn tables(r: &Ranking) -> Tables {
    let p = &r.period;
    let period = format!(
        "{} 至 {}{}，去年同期 {} 至 {}",
        p.from,
        p.to,
        if p.partial {
            "（本月未结束，截至昨日）"
        } else {
            ""
        },
        p.last_year_from,
        p.last_year_to
    );
    let air = r
        .air
        .iter()
        .map(|a| AirLine {
            ranked: a.placing.rank.is_some(),
            rank: rank_cell(a.placing.rank, a.placing.tied),
            street: a.street.clone(),
            stations: a.stations,
            days: a.now.valid_days.to_string(),
            pm25: fixed(a.now.pm25, 0),
            pm25_last: fixed(a.last_year.pm25, 0),
            pm25_change: signed(a.pm25_change),
            composite: fixed(a.now.composite, 2),
            composite_last: fixed(a.last_year.composite, 2),
            composite_change: signed(a.composite_change),
            good: format!("{} 天 / {}", a.now.good_days, percent(a.now.good_ratio)),
            positions: positions(&a.placing.positions),
            score: fixed(a.placing.score, 2),
            note: a.placing.unranked_reason.clone().unwrap_or_default(),
        })
        .collect();
    let water = r
        .water
        .iter()
        .map(|w| WaterLine {
            ranked: w.placing.rank.is_some(),
            rank: rank_cell(w.placing.rank, w.placing.tied),
            street: w.street.clone(),
            sections: w.sections,
            meeting: format!("{}/{}", w.now.sections_meeting, w.now.sections_with_data),
            compliance: percent(w.now.compliance),
            cwqi: fixed(w.now.cwqi, 2),
            cwqi_last: fixed(w.last_year.cwqi, 2),
            cwqi_change: signed(w.cwqi_change),
            positions: positions(&w.placing.positions),
            score: fixed(w.placing.score, 2),
            note: w.placing.unranked_reason.clone().unwrap_or_default(),
        })
        .collect();
    let street_name = |id: Option<i64>| {
        r.water
            .iter()
            .find(|w| Some(w.street_id) == id)
            .map_or_else(|| "—".to_string(), |w| w.street.clone())
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_string());
    let sections = r
        .sections
        .iter()
        .map(|s| SectionView {
            name: s.name.clone(),
            street: street_name(s.street_id),
            class: opt(&s.class),
            target: opt(&s.target_class),
            meets: match s.meets_target {
                Some(true) => "达标",
                Some(false) => "未达标",
                None => "—",
            },
            cwqi: fixed(s.cwqi, 2),
            last_class: opt(&s.last_year_class),
            last_cwqi: fixed(s.last_year_cwqi, 2),
        })
        .collect();
    let with_composite: Vec<&AirRow> = r.air.iter().filter(|a| a.now.composite.is_some()).collect();
    let air_chart = serde_json::json!({
        "streets": with_composite.iter().map(|a| a.street.clone()).collect::<Vec<_>>(),
        "composite": with_composite.iter().map(|a| a.now.composite).collect::<Vec<_>>(),
        "pm25": with_composite.iter().map(|a| a.now.pm25).collect::<Vec<_>>(),
    });
    let with_cwqi: Vec<&WaterRow> = r.water.iter().filter(|w| w.now.cwqi.is_some()).collect();
    let water_chart = serde_json::json!({
        "streets": with_cwqi.iter().map(|w| w.street.clone()).collect::<Vec<_>>(),
        "cwqi": with_cwqi.iter().map(|w| w.now.cwqi).collect::<Vec<_>>(),
        "compliance": with_cwqi.iter().map(|w| w.now.compliance).collect::<Vec<_>>(),
    });
    Tables {
        period,
        required_days: r.air.iter().find_map(|a| a.now.required_days),
        air_positions: positions_header(&r.air_method),
        water_positions: positions_header(&r.water_method),
        air_method: r.air_method.clone(),
        water_method: r.water_method.clone(),
        standards_note: r.standards_note.clone(),
        air,
        water,
        sections,
        air_chart: air_chart.to_string(),
        water_chart: water_chart.to_string(),
    }
}

/// The district figures as shown.
struct DistrictView {
    pub(crate) stations: usize,
    pub(crate) days: String,
    pub(crate) levels: Vec<(&'static str, u32, u32)>,
    pub(crate) pm25: String,
    pub(crate) pm25_last: String,
    pub(crate) pm25_change: String,
    pub(crate) composite: String,
    pub(crate) composite_last: String,
    pub(crate) composite_change: String,
    pub(crate) good: String,
    pub(crate) good_last: String,
    pub(crate) classes: Vec<(&'static str, usize)>,
    pub(crate) sections: usize,
    pub(crate) good_water: String,
    pub(crate) meeting: usize,
}

fn standing(s: &Option<Standing>) -> String {
    s.as_ref().map_or_else(
        || "无（本月没有可排名的街道）".to_string(),
        |s| format!("{}（第 {} 名）", s.streets.join("、"), s.rank),
    )
}

/// The bulletin's body (everything below the page's own links), as shown on its page and stored when issued.
#[derive(Template)]
#[template(path = "bulletins_bulletin_body.html")]
struct Body {
    pub(crate) title: String,
    /// The document number and issue date of an issued bulletin.
    pub(crate) issued: Option<IssueMark>,
    pub(crate) generated_at: String,
    pub(crate) d: DistrictView,
    pub(crate) air_best: String,
    pub(crate) air_worst: String,
    pub(crate) water_best: String,
    pub(crate) water_worst: String,
    pub(crate) targets_note: String,
    pub(crate) targets: Vec<TargetLine>,
    pub(crate) t: Tables,
}

/// The HTML of the bulletin's body; `issued`: its number and CST issue date when it is being issued.
pub fn body(b: &Bulletin, issued: Option<IssueMark>) -> Result<String, askama::Error> {
    let d = &b.district;
    const LEVELS: [&str; 6] = ["优", "良", "轻度污染", "中度污染", "重度污染", "严重污染"];
    const CLASSES: [&str; 6] = ["I 类", "II 类", "III 类", "IV 类", "V 类", "劣V 类"];
    let view = DistrictView {
        stations: d.air_stations,
        days: format!(
            "{} 天（去年同期 {} 天）",
            d.now.valid_days, d.last_year.valid_days
        ),
        levels: (0..6)
            .map(|i| {
                (
                    LEVELS[i],
                    d.now.days_per_level[i],
                    d.last_year.days_per_level[i],
                )
            })
            .collect(),
        pm25: fixed(d.now.pm25, 0),
        pm25_last: fixed(d.last_year.pm25, 0),
        pm25_change: signed(d.pm25_change),
        composite: fixed(d.now.composite, 2),
        composite_last: fixed(d.last_year.composite, 2),
        composite_change: signed(d.composite_change),
        good: format!("{} 天 / {}", d.now.good_days, percent(d.now.good_ratio)),
        good_last: format!(
            "{} 天 / {}",
            d.last_year.good_days,
            percent(d.last_year.good_ratio)
        ),
        classes: (0..6)
            .map(|i| (CLASSES[i], d.sections_per_class[i]))
            .collect(),
        sections: d.sections_with_data,
        good_water: percent(d.good_water_share),
        meeting: d.sections_meeting,
    };
    Body {
        title: b.title.clone(),
        issued,
        generated_at: b.generated_at.clone(),
        d: view,
        air_best: standing(&b.air_best),
        air_worst: standing(&b.air_worst),
        water_best: standing(&b.water_best),
        water_worst: standing(&b.water_worst),
        targets_note: b.targets_note.clone(),
        targets: b.targets.clone(),
        t: tables(&b.ranking),
    }
    .render()
}
