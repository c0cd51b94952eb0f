//! Surface water: GB 3838-2002 classes, 《地表水环境质量评价办法（试行）》(环办〔2011〕22号) section and basin
//! assessment, CWQI (环办监测〔2017〕51号) and the lake trophic index.

use serde::Serialize;

use crate::exact::Exact;
use crate::settings::{PhAveraging, SeverePollutionThreshold, WaterSettings};

/// The standard texts behind every water result.
pub const WATER_STANDARDS: &str = "GB 3838-2002; 环办〔2011〕22号; CWQI 环办监测〔2017〕51号";

/// River or lake/reservoir: lakes use the lake TP limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaterBody {
    River,
    Lake,
}

/// The 24 basic items of GB 3838-2002 Table 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum WaterItem {
    #[serde(rename = "water_temperature")]
    WaterTemperature,
    #[serde(rename = "pH")]
    Ph,
    #[serde(rename = "DO")]
    DissolvedOxygen,
    #[serde(rename = "CODMn")]
    PermanganateIndex,
    #[serde(rename = "COD")]
    Cod,
    #[serde(rename = "BOD5")]
    Bod5,
    #[serde(rename = "NH3-N")]
    Ammonia,
    #[serde(rename = "TP")]
    TotalPhosphorus,
    #[serde(rename = "TN")]
    TotalNitrogen,
    #[serde(rename = "Cu")]
    Copper,
    #[serde(rename = "Zn")]
    Zinc,
    #[serde(rename = "F")]
    Fluoride,
    #[serde(rename = "Se")]
    Selenium,
    #[serde(rename = "As")]
    Arsenic,
    #[serde(rename = "Hg")]
    Mercury,
    #[serde(rename = "Cd")]
    Cadmium,
    #[serde(rename = "Cr6")]
    Chromium6,
    #[serde(rename = "Pb")]
    Lead,
    #[serde(rename = "CN")]
    Cyanide,
    #[serde(rename = "phenol")]
    VolatilePhenol,
    #[serde(rename = "petroleum")]
    Petroleum,
    #[serde(rename = "LAS")]
    Surfactant,
    #[serde(rename = "sulfide")]
    Sulfide,
    #[serde(rename = "fecal_coliform")]
    FecalColiform,
}

use WaterItem::*;

/// (item, code, Chinese name, HJ 212 factor code, reporting decimals, limits I–V as decimal text).
/// Limits: GB 3838-2002 Table 1; decimals: the 2020 statistics rule (《地表水环境质量监测数据统计技术规定
/// （试行）》) as implemented by a third party, unverified against the text.
type ItemRow = (
    WaterItem,
    &'static str,
    &'static str,
    &'static str,
    u32,
    [&'static str; 5],
);
const ITEMS: [ItemRow; 24] = [
    (
        WaterTemperature,
        "water_temperature",
        "水温",
        "w01010",
        1,
        ["", "", "", "", ""],
    ),
    (Ph, "pH", "pH值", "w01001", 0, ["6", "6", "6", "6", "6"]),
    (
        DissolvedOxygen,
        "DO",
        "溶解氧",
        "w01009",
        1,
        ["7.5", "6", "5", "3", "2"],
    ),
    (
        PermanganateIndex,
        "CODMn",
        "高锰酸盐指数",
        "w01019",
        1,
        ["2", "4", "6", "10", "15"],
    ),
    (
        Cod,
        "COD",
        "化学需氧量",
        "w01018",
        1,
        ["15", "15", "20", "30", "40"],
    ),
    (
        Bod5,
        "BOD5",
        "五日生化需氧量",
        "w01017",
        1,
        ["3", "3", "4", "6", "10"],
    ),
    (
        Ammonia,
        "NH3-N",
        "氨氮",
        "w21003",
        2,
        ["0.15", "0.5", "1.0", "1.5", "2.0"],
    ),
    (
        TotalPhosphorus,
        "TP",
        "总磷",
        "w21011",
        3,
        ["0.02", "0.1", "0.2", "0.3", "0.4"],
    ),
    (
        TotalNitrogen,
        "TN",
        "总氮",
        "w21001",
        2,
        ["0.2", "0.5", "1.0", "1.5", "2.0"],
    ),
    (
        Copper,
        "Cu",
        "铜",
        "w20122",
        3,
        ["0.01", "1.0", "1.0", "1.0", "1.0"],
    ),
    (
        Zinc,
        "Zn",
        "锌",
        "w20123",
        3,
        ["0.05", "1.0", "1.0", "2.0", "2.0"],
    ),
    (
        Fluoride,
        "F",
        "氟化物",
        "w21017",
        3,
        ["1.0", "1.0", "1.0", "1.5", "1.5"],
    ),
    (
        Selenium,
        "Se",
        "硒",
        "w20128",
        4,
        ["0.01", "0.01", "0.01", "0.02", "0.02"],
    ),
    (
        Arsenic,
        "As",
        "砷",
        "w20141",
        4,
        ["0.05", "0.05", "0.05", "0.1", "0.1"],
    ),
    (
        Mercury,
        "Hg",
        "汞",
        "w20111",
        5,
        ["0.00005", "0.00005", "0.0001", "0.001", "0.001"],
    ),
    (
        Cadmium,
        "Cd",
        "镉",
        "w20115",
        5,
        ["0.001", "0.005", "0.005", "0.005", "0.01"],
    ),
    (
        Chromium6,
        "Cr6",
        "铬（六价）",
        "w20117",
        3,
        ["0.01", "0.05", "0.05", "0.05", "0.1"],
    ),
    (
        Lead,
        "Pb",
        "铅",
        "w20120",
        3,
        ["0.01", "0.01", "0.05", "0.05", "0.1"],
    ),
    (
        Cyanide,
        "CN",
        "氰化物",
        "w21016",
        3,
        ["0.005", "0.05", "0.2", "0.2", "0.2"],
    ),
    (
        VolatilePhenol,
        "phenol",
        "挥发酚",
        "w23002",
        4,
        ["0.002", "0.002", "0.005", "0.01", "0.1"],
    ),
    (
        Petroleum,
        "petroleum",
        "石油类",
        "w22001",
        2,
        ["0.05", "0.05", "0.05", "0.5", "1.0"],
    ),
    (
        Surfactant,
        "LAS",
        "阴离子表面活性剂",
        "w19002",
        2,
        ["0.2", "0.2", "0.2", "0.3", "0.3"],
    ),
    (
        Sulfide,
        "sulfide",
        "硫化物",
        "w21019",
        3,
        ["0.05", "0.1", "0.2", "0.5", "1.0"],
    ),
    (
        FecalColiform,
        "fecal_coliform",
        "粪大肠菌群",
        "w02003",
        0,
        ["200", "2000", "10000", "20000", "40000"],
    ),
];

/// Lake and reservoir TP limits I–V.
const LAKE_TP: [&str; 5] = ["0.01", "0.025", "0.05", "0.1", "0.2"];

impl WaterItem {
    pub const ALL: [WaterItem; 24] = {
        let mut all = [WaterTemperature; 24];
        let mut i = 0;
        while i < 24 {
            all[i] = ITEMS[i].0;
            i += 1;
        }
        all
    };

    /// The 21 assessed items: all but water temperature, total nitrogen and fecal coliform (环办〔2011〕22号).
    pub fn is_assessed(self) -> bool {
        !matches!(self, WaterTemperature | TotalNitrogen | FecalColiform)
    }

    fn row(self) -> &'static ItemRow {
        // Cannot fail: ITEMS has a row for every item (tested).
        ITEMS
            .iter()
            .find(|row| row.0 == self)
            .expect("every item has a row")
    }

    pub fn code(self) -> &'static str {
        self.row().1
    }

    pub fn chinese_name(self) -> &'static str {
        self.row().2
    }

    /// The HJ 212-2017 factor code (the column name in the readings store).
    pub fn hj212_code(self) -> &'static str {
        self.row().3
    }

    pub fn reporting_decimals(self) -> u32 {
        self.row().4
    }

    /// Reads an item by its code, Chinese name or HJ 212 factor code (case-insensitive).
    pub fn from_name(name: &str) -> Option<WaterItem> {
        let name = name.trim();
        let aliases: &[(&str, WaterItem)] = &[
            ("temperature", WaterTemperature),
            ("dissolved_oxygen", DissolvedOxygen),
            ("permanganate_index", PermanganateIndex),
            ("codcr", Cod),
            ("nh3n", Ammonia),
            ("nh3_n", Ammonia),
            ("ammonia", Ammonia),
            ("total_phosphorus", TotalPhosphorus),
            ("total_nitrogen", TotalNitrogen),
            ("fluoride", Fluoride),
            ("cr(vi)", Chromium6),
            ("cyanide", Cyanide),
            ("volatile_phenol", VolatilePhenol),
            ("oil", Petroleum),
            ("s2-", Sulfide),
            ("fecal coliform", FecalColiform),
        ];
        ITEMS
            .iter()
            .find(|row| {
                row.1.eq_ignore_ascii_case(name)
                    || row.2 == name
                    || row.3.eq_ignore_ascii_case(name)
            })
            .map(|row| row.0)
            .or_else(|| {
                aliases
                    .iter()
                    .find(|(alias, _)| alias.eq_ignore_ascii_case(name))
                    .map(|(_, item)| *item)
            })
    }

    /// The class limits I–V; `None` for water temperature (no fixed limits).
    pub fn limits(self, body: WaterBody) -> Option<[Exact; 5]> {
        let texts = if self == TotalPhosphorus && body == WaterBody::Lake {
            &LAKE_TP
        } else {
            &self.row().5
        };
        if texts[0].is_empty() {
            return None;
        }
        // Cannot fail: the limits are decimal constants of the table (tested).
        Some(texts.map(|t| Exact::parse_decimal(t).expect("limit constants are decimals")))
    }

    /// The class III limit (the CWQI reference and the exceedance reference).
    pub fn class_iii_limit(self, body: WaterBody) -> Option<Exact> {
        self.limits(body).map(|l| l[2])
    }
}

/// A GB 3838 water quality class.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WaterClass {
    I,
    II,
    III,
    IV,
    V,
    /// 劣V: worse than class V.
    WorseThanV,
}

impl WaterClass {
    pub const ALL: [WaterClass; 6] = [
        Self::I,
        Self::II,
        Self::III,
        Self::IV,
        Self::V,
        Self::WorseThanV,
    ];

    pub const fn label(self) -> &'static str {
        match self {
            Self::I => "I",
            Self::II => "II",
            Self::III => "III",
            Self::IV => "IV",
            Self::V => "V",
            Self::WorseThanV => "劣V",
        }
    }

    /// 水质状况 of a section class (环办〔2011〕22号).
    pub const fn quality_level(self) -> QualityLevel {
        match self {
            Self::I | Self::II => QualityLevel::Excellent,
            Self::III => QualityLevel::Good,
            Self::IV => QualityLevel::LightlyPolluted,
            Self::V => QualityLevel::ModeratelyPolluted,
            Self::WorseThanV => QualityLevel::SeverelyPolluted,
        }
    }
}

impl Serialize for WaterClass {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.label())
    }
}

/// 水质状况: qualitative level with its colour [colours M].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QualityLevel {
    Excellent,
    Good,
    LightlyPolluted,
    ModeratelyPolluted,
    SeverelyPolluted,
}

impl QualityLevel {
    pub const fn name(self) -> &'static str {
        ["优", "良好", "轻度污染", "中度污染", "重度污染"][self as usize]
    }

    pub const fn colour(self) -> &'static str {
        ["blue", "green", "yellow", "orange", "red"][self as usize]
    }
}

impl Serialize for QualityLevel {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("QualityLevel", 2)?;
        s.serialize_field("name", self.name())?;
        s.serialize_field("colour", self.colour())?;
        s.end()
    }
}

/// The class of one item's value: the best class whose limit is met (≤; DO ≥; pH within 6–9).
pub fn item_class(item: WaterItem, value: Exact, body: WaterBody) -> Option<WaterClass> {
    if item == Ph {
        let within = value >= Exact::from_int(6) && value <= Exact::from_int(9);
        return Some(if within {
            WaterClass::I
        } else {
            WaterClass::WorseThanV
        });
    }
    let limits = item.limits(body)?;
    let meets = |limit: Exact| {
        if item == DissolvedOxygen {
            value >= limit
        } else {
            value <= limit
        }
    };
    Some(
        limits
            .iter()
            .position(|&l| meets(l))
            .map_or(WaterClass::WorseThanV, |i| WaterClass::ALL[i]),
    )
}

/// The CWQI single index: C/C_III; DO C_III/C; pH (7 − pH)/(7 − 6) or (pH − 7)/(9 − 7).
pub fn cwqi_single_index(item: WaterItem, value: Exact, body: WaterBody) -> Option<Exact> {
    if !item.is_assessed() {
        return None;
    }
    let seven = Exact::from_int(7);
    match item {
        Ph if value <= seven => Some(seven - value),
        Ph => Some((value - seven) / Exact::from_int(2)),
        DissolvedOxygen if value == Exact::ZERO => None,
        DissolvedOxygen => Some(item.class_iii_limit(body)? / value),
        _ => Some(value / item.class_iii_limit(body)?),
    }
}

/// The class of one item within a section assessment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ItemResult {
    pub item: WaterItem,
    pub value: Exact,
    pub class: Option<WaterClass>,
    /// Part of the 21 assessed items.
    pub assessed: bool,
    pub cwqi_index: Option<Exact>,
}

/// A main pollution indicator: worse than class III, ranked by exceedance multiple over the III limit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MainPollutant {
    pub item: WaterItem,
    pub class: WaterClass,
    /// (C − C_III)/C_III, 2 decimals.
    pub exceedance_multiple: Exact,
}

/// The assessment of one section (or of averaged sections) for a period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SectionAssessment {
    pub standard: &'static str,
    pub body: WaterBody,
    /// Worst class over the assessed items present (single-factor method); `None` if none is present.
    pub class: Option<WaterClass>,
    pub quality: Option<QualityLevel>,
    pub items: Vec<ItemResult>,
    /// Up to 3, by exceedance multiple (water temperature, pH and DO are not ranked).
    pub main_pollutants: Vec<MainPollutant>,
    /// Σ of the CWQI single indices of the assessed items present, 2 decimals.
    pub cwqi: Option<Exact>,
    /// Assessed items with no value: the class and CWQI cover only the items present.
    pub missing_items: Vec<WaterItem>,
}

/// Single-factor assessment of one section from its (already averaged) item values.
pub fn assess_section(values: &[(WaterItem, Exact)], body: WaterBody) -> SectionAssessment {
    let mut items = Vec::new();
    let mut cwqi_sum = Exact::ZERO;
    let mut any_cwqi = false;
    for &(item, value) in values {
        let cwqi_index = cwqi_single_index(item, value, body);
        if let Some(index) = cwqi_index {
            cwqi_sum = cwqi_sum + index;
            any_cwqi = true;
        }
        items.push(ItemResult {
            item,
            value,
            class: item_class(item, value, body),
            assessed: item.is_assessed(),
            cwqi_index: cwqi_index.map(|i| i.round_half_even(2)),
        });
    }
    items.sort_by_key(|r| r.item);
    let class = items
        .iter()
        .filter(|r| r.assessed)
        .filter_map(|r| r.class)
        .max();
    let mut main_pollutants: Vec<MainPollutant> = items
        .iter()
        .filter(|r| r.assessed && !matches!(r.item, Ph | DissolvedOxygen))
        .filter(|r| r.class.is_some_and(|c| c > WaterClass::III))
        .filter_map(|r| {
            let limit = r.item.class_iii_limit(body)?;
            Some(MainPollutant {
                item: r.item,
                class: r.class?,
                exceedance_multiple: ((r.value - limit) / limit).round_half_even(2),
            })
        })
        .collect();
    main_pollutants.sort_by(|a, b| {
        b.exceedance_multiple
            .cmp(&a.exceedance_multiple)
            .then(a.item.cmp(&b.item))
    });
    main_pollutants.truncate(3);
    let present: Vec<WaterItem> = items.iter().map(|r| r.item).collect();
    let missing_items = WaterItem::ALL
        .into_iter()
        .filter(|i| i.is_assessed() && !present.contains(i))
        .collect();
    SectionAssessment {
        standard: WATER_STANDARDS,
        body,
        class,
        quality: class.map(WaterClass::quality_level),
        items,
        main_pollutants,
        cwqi: any_cwqi.then(|| cwqi_sum.round_half_even(2)),
        missing_items,
    }
}

/// Mean of several samples of one item: arithmetic, except pH per the `ph_averaging` setting; rounded to the
/// item's reporting decimals when `round_to_reporting_decimals` is set (pH is never rounded: the source table's
/// "0 decimals" for pH is doubtful).
pub fn mean_of_samples(
    item: WaterItem,
    samples: &[Exact],
    settings: &WaterSettings,
) -> Option<Exact> {
    if samples.is_empty() {
        return None;
    }
    let arithmetic = samples.iter().copied().sum::<Exact>() / Exact::from_int(samples.len() as i64);
    if item == Ph {
        return Some(match settings.ph_averaging {
            PhAveraging::Arithmetic => arithmetic,
            PhAveraging::HydrogenIon => {
                let mean_h: f64 = samples.iter().map(|p| 10f64.powf(-p.to_f64())).sum::<f64>()
                    / samples.len() as f64;
                // −log10 is irrational in general; keep 4 decimals (far finer than any pH reading).
                let ph = -mean_h.log10();
                Exact::new((ph * 10_000.0).round() as i128, 10_000)
            }
        });
    }
    Some(if settings.round_to_reporting_decimals {
        arithmetic.round_half_even(item.reporting_decimals())
    } else {
        arithmetic
    })
}

/// Section class shares and the overall level of a basin or area.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassShares {
    pub sections: usize,
    /// Sections per class I … 劣V.
    pub per_class: [usize; 6],
    /// 优良（I–III 类）比例, percent, 1 decimal.
    pub good_share_percent: Option<Exact>,
    /// 劣V 类比例, percent, 1 decimal.
    pub worse_than_v_share_percent: Option<Exact>,
}

pub fn class_shares(classes: &[WaterClass]) -> ClassShares {
    let mut per_class = [0usize; 6];
    for class in classes {
        per_class[*class as usize] += 1;
    }
    let n = classes.len();
    let share = |count: usize| {
        (n > 0).then(|| {
            (Exact::from_int(count as i64 * 100) / Exact::from_int(n as i64)).round_half_even(1)
        })
    };
    ClassShares {
        sections: n,
        per_class,
        good_share_percent: share(per_class[..3].iter().sum()),
        worse_than_v_share_percent: share(per_class[5]),
    }
}

/// 水质状况 of a basin by the section-class proportion method (≥ 5 sections, 环办〔2011〕22号).
pub fn proportion_method_level(
    shares: &ClassShares,
    settings: &WaterSettings,
) -> Option<QualityLevel> {
    // Compared on the exact shares, not the 1-decimal figures (89.96 % is not ≥ 90 %).
    if shares.sections == 0 {
        return None;
    }
    let share = |count: usize| {
        Exact::from_int(count as i64 * 100) / Exact::from_int(shares.sections as i64)
    };
    let good = share(shares.per_class[..3].iter().sum());
    let worst = share(shares.per_class[5]);
    let pct = |v: i64| Exact::from_int(v);
    let severe_good_below = match settings.severe_pollution_threshold {
        SeverePollutionThreshold::Below75Percent => pct(75),
        SeverePollutionThreshold::Below60Percent => pct(60),
    };
    Some(if good >= pct(90) {
        QualityLevel::Excellent
    } else if good >= pct(75) {
        QualityLevel::Good
    } else if worst < pct(20) {
        QualityLevel::LightlyPolluted
    } else if worst < pct(40) || good >= severe_good_below {
        QualityLevel::ModeratelyPolluted
    } else {
        QualityLevel::SeverelyPolluted
    })
}

/// Lake trophic level index TLI(Σ) (环办〔2011〕22号; formula and weights unverified); inputs chla mg/m³, SD m,
/// others mg/L.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrophicState {
    pub tli: f64,
    pub state: &'static str,
}

pub fn trophic_state(chla: f64, tp: f64, tn: f64, sd: f64, cod_mn: f64) -> Option<TrophicState> {
    if [chla, tp, tn, sd, cod_mn]
        .iter()
        .any(|v| !(v.is_finite() && *v > 0.0))
    {
        return None;
    }
    let correlations = [1.0f64, 0.84, 0.82, -0.83, 0.83];
    let squares_sum: f64 = correlations.iter().map(|r| r * r).sum();
    let partial = [
        10.0 * (2.5 + 1.086 * chla.ln()),
        10.0 * (9.436 + 1.624 * tp.ln()),
        10.0 * (5.453 + 1.694 * tn.ln()),
        10.0 * (5.118 - 1.94 * sd.ln()),
        10.0 * (0.109 + 2.661 * cod_mn.ln()),
    ];
    let tli: f64 = correlations
        .iter()
        .zip(partial)
        .map(|(r, t)| r * r / squares_sum * t)
        .sum();
    let state = match tli {
        t if t < 30.0 => "贫营养",
        t if t <= 50.0 => "中营养",
        t if t <= 60.0 => "轻度富营养",
        t if t <= 70.0 => "中度富营养",
        _ => "重度富营养",
    };
    Some(TrophicState { tli, state })
}

#[cfg(test)]
mod tests;
