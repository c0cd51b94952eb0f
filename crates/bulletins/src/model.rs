//! Domain types: the month, the ranking criteria and their weights (a stored setting with presets), the ranked
//! rows, and the bulletin.

use chrono::{Datelike, NaiveDate};
use kernel::AppError;
use serde::{Deserialize, Serialize};

/// A calendar month, parsed from `YYYY-MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    /// Parses `YYYY-MM` (years 2000–2100); anything else is a 422 naming `month`.
    pub fn parse(text: &str) -> Result<Month, AppError> {
        let bad =
            || AppError::validation("month", format!("must be a month YYYY-MM, not {text:?}"));
        let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 || !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if !(2000..=2100).contains(&year) || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }

    /// The month containing `day`.
    pub fn of(day: NaiveDate) -> Month {
        Month {
            year: day.year(),
            month: day.month(),
        }
    }

    pub fn previous(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    pub fn first_day(self) -> NaiveDate {
        // Cannot fail: a Month is only built from a validated year and a month of 1–12.
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("validated month")
    }

    pub fn last_day(self) -> NaiveDate {
        let (y, m) = if self.month == 12 {
            (self.year + 1, 1)
        } else {
            (self.year, self.month + 1)
        };
        // Cannot fail: a Month is only built from a validated year and a month of 1–12.
        NaiveDate::from_ymd_opt(y, m, 1)
            .and_then(|d| d.pred_opt())
            .expect("validated month")
    }

    /// `YYYY-MM`.
    pub fn key(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    /// `2025年3月`.
    pub fn label(self) -> String {
        format!("{}年{}月", self.year, self.month)
    }
}

/// The period a ranking covers: the month, or its complete days so far when the month is still running, and
/// the same days of the month a year earlier (同期).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = RankingPeriod)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub last_year_from: NaiveDate,
    pub last_year_to: NaiveDate,
    /// The month is not over yet: the period ends with yesterday (CST).
    pub partial: bool,
}

impl Period {
    /// The period of `month` as seen on `today` (CST): a month with no complete day yet is a 422.
    pub fn of(month: Month, today: NaiveDate) -> Result<Period, AppError> {
        let from = month.first_day();
        let yesterday = today.pred_opt().unwrap_or(today);
        if from > yesterday {
            return Err(AppError::validation(
                "month",
                format!("{} has no complete day yet", month.key()),
            ));
        }
        let to = month.last_day().min(yesterday);
        let shift = |d: NaiveDate| {
            // Cannot fail: only 29 February has no twin a year earlier, and the 28th does.
            NaiveDate::from_ymd_opt(d.year() - 1, d.month(), d.day())
                .or_else(|| NaiveDate::from_ymd_opt(d.year() - 1, d.month(), d.day() - 1))
                .expect("a day of the previous year")
        };
        Ok(Period {
            from,
            to,
            last_year_from: shift(from),
            last_year_to: shift(to),
            partial: to < month.last_day(),
        })
    }
}

/// Whether a smaller or a larger value of a criterion is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Lower,
    Higher,
}

/// One ranking criterion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Criterion {
    pub key: &'static str,
    pub label: &'static str,
    pub better: Better,
}

/// The air criteria, in the order of [`AirWeights`].
pub const AIR_CRITERIA: [Criterion; 5] = [
    Criterion {
        key: "composite",
        label: "综合指数",
        better: Better::Lower,
    },
    Criterion {
        key: "composite_change",
        label: "综合指数同比变化率",
        better: Better::Lower,
    },
    Criterion {
        key: "pm25",
        label: "PM2.5浓度",
        better: Better::Lower,
    },
    Criterion {
        key: "pm25_change",
        label: "PM2.5同比变化率",
        better: Better::Lower,
    },
    Criterion {
        key: "good_ratio",
        label: "优良天数比例",
        better: Better::Higher,
    },
];

/// The water criteria, in the order of [`WaterWeights`].
pub const WATER_CRITERIA: [Criterion; 3] = [
    Criterion {
        key: "cwqi",
        label: "水质指数CWQI",
        better: Better::Lower,
    },
    Criterion {
        key: "cwqi_change",
        label: "CWQI同比变化率",
        better: Better::Lower,
    },
    Criterion {
        key: "compliance",
        label: "断面达标率",
        better: Better::Higher,
    },
];

/// Weights (percent, summing to 100) of the air criteria's rank positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AirWeights {
    pub composite: u32,
    pub composite_change: u32,
    pub pm25: u32,
    pub pm25_change: u32,
    pub good_ratio: u32,
}

impl AirWeights {
    pub fn as_array(self) -> [u32; 5] {
        [
            self.composite,
            self.composite_change,
            self.pm25,
            self.pm25_change,
            self.good_ratio,
        ]
    }
}

/// Weights (percent, summing to 100) of the water criteria's rank positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WaterWeights {
    pub cwqi: u32,
    pub cwqi_change: u32,
    pub compliance: u32,
}

impl WaterWeights {
    pub fn as_array(self) -> [u32; 3] {
        [self.cwqi, self.cwqi_change, self.compliance]
    }
}

/// A named weighting with where it comes from and how sure we are of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Preset<W> {
    pub key: &'static str,
    pub label: &'static str,
    /// The source and how sure it is, in plain Chinese for the page and the bulletin (见于官方月报, 未查到, 平台暂定).
    pub source: &'static str,
    pub weights: W,
}

/// The air presets: Tianjin's district ranking rules and 环办监测〔2018〕19号 (each `source` names its document).
pub const AIR_PRESETS: [Preset<AirWeights>; 3] = [
    Preset {
        key: "tianjin_2021",
        label: "天津区排名 2021–2023：PM2.5浓度30%＋PM2.5改善率30%＋优良天数比率40%（排名位次加权）",
        source: "天津市生态环境局月报（2021–2023）原文“按照 PM2.5 浓度、PM2.5 改善率和优良天数比率排名位次数值各占 30%、30% 和 40% 的权重进行排名”（见于官方月报，未查到对应的规范性文件）",
        weights: AirWeights {
            composite: 0,
            composite_change: 0,
            pm25: 30,
            pm25_change: 30,
            good_ratio: 40,
        },
    },
    Preset {
        key: "tianjin_2017",
        label: "天津区排名 2017–2020：综合指数50%＋综合指数改善率50%",
        source: "《〈天津市清新空气行动考核和责任追究办法（试行）〉补充办法》及 2016–2020 月报“按照综合指数和综合指数改善率各占 50% 权重进行排名”；原文未说明按数值还是按位次加权，本平台按位次加权（平台暂定）",
        weights: AirWeights {
            composite: 50,
            composite_change: 50,
            pm25: 0,
            pm25_change: 0,
            good_ratio: 0,
        },
    },
    Preset {
        key: "composite_2024",
        label: "综合指数（2024 年起月报措辞“综合指数越小，表明空气质量越好”）",
        source: "2024 年天津月报以综合指数表述排名，具体规则未查到；城市排名依综合指数排序，见环办监测〔2018〕19号",
        weights: AirWeights {
            composite: 100,
            composite_change: 0,
            pm25: 0,
            pm25_change: 0,
            good_ratio: 0,
        },
    },
];

/// The water presets: 《天津市地表水环境区域补偿办法》 and 环办监测〔2017〕51号 (each `source` names its document).
pub const WATER_PRESETS: [Preset<WaterWeights>; 2] = [
    Preset {
        key: "tianjin_compensation_2023",
        label: "天津地表水区域补偿办法（2023）：综合污染指数与同比变化率位次相加",
        source: "《天津市地表水环境区域补偿办法》（2023-03-08 施行）按综合污染指数、同比变化率、出入境浓度比值三项位次之和排名；街道没有出入境断面对，第三项不计，前两项等权（平台暂定）；以 CWQI 代替综合污染指数（平台暂定）",
        weights: WaterWeights {
            cwqi: 50,
            cwqi_change: 50,
            compliance: 0,
        },
    },
    Preset {
        key: "cwqi_status",
        label: "CWQI 状况排名（环办监测〔2017〕51号，CWQI 越小越好）",
        source: "《城市地表水环境质量排名技术规定（试行）》（环办监测〔2017〕51号）状况排名；天津区级水质排名方法未查到",
        weights: WaterWeights {
            cwqi: 100,
            cwqi_change: 0,
            compliance: 0,
        },
    },
];

/// `custom`: weights of the bureau's own choosing.
pub const CUSTOM: &str = "custom";

/// The stored ranking settings (editable by the monitoring department).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RankingSettings {
    /// A preset key of [`AIR_PRESETS`] or `custom`.
    pub air_preset: String,
    pub air_weights: AirWeights,
    /// A preset key of [`WATER_PRESETS`] or `custom`.
    pub water_preset: String,
    pub water_weights: WaterWeights,
    /// The document number (文号) of an issued bulletin: `{year}` is the year of issue, `{seq}` the issue's
    /// sequence number in that year (docs/bulletins.md).
    #[serde(default = "default_number_format")]
    #[schema(example = "东丽环通〔{year}〕{seq}号")]
    pub number_format: String,
}

/// The bureau's number for its environmental bulletins (东丽区生态环境局 通报): 东丽环通〔2026〕10号.
pub const DEFAULT_NUMBER_FORMAT: &str = "东丽环通〔{year}〕{seq}号";

fn default_number_format() -> String {
    DEFAULT_NUMBER_FORMAT.to_string()
}

/// Checks a number format: `{seq}` once (the number must differ between issues), `{year}` at most once, no other
/// placeholder, at most 40 characters.
pub fn check_number_format(format: &str) -> Result<(), AppError> {
    let bad = |why: &str| AppError::validation("number_format", why.to_string());
    if format.trim().is_empty() || format.chars().count() > 40 {
        return Err(bad("must be 1–40 characters"));
    }
    if format.matches("{seq}").count() != 1 {
        return Err(bad(
            "must hold {seq} (the sequence number of the year) once",
        ));
    }
    if format.matches("{year}").count() > 1 {
        return Err(bad("may hold {year} at most once"));
    }
    let rest = format.replace("{seq}", "").replace("{year}", "");
    if rest.contains('{') || rest.contains('}') {
        return Err(bad("only {year} and {seq} may stand in braces"));
    }
    Ok(())
}

/// The number of the `sequence`-th bulletin issued in `year`.
pub fn bulletin_number(format: &str, year: i32, sequence: i64) -> String {
    format
        .replace("{year}", &year.to_string())
        .replace("{seq}", &sequence.to_string())
}

impl Default for RankingSettings {
    fn default() -> Self {
        RankingSettings {
            air_preset: AIR_PRESETS[0].key.to_string(),
            air_weights: AIR_PRESETS[0].weights,
            water_preset: WATER_PRESETS[0].key.to_string(),
            water_weights: WATER_PRESETS[0].weights,
            number_format: default_number_format(),
        }
    }
}

/// What a client sends to change the settings: a preset (its weights are taken) or `custom` with weights.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct SettingsUpdate {
    pub air_preset: String,
    pub air_weights: Option<AirWeights>,
    pub water_preset: String,
    pub water_weights: Option<WaterWeights>,
    /// A new number format for issued bulletins (see [`RankingSettings::number_format`]); absent: unchanged.
    #[serde(default)]
    pub number_format: Option<String>,
}

/// The rank of one street on one criterion.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CriterionRank {
    pub criterion: &'static str,
    pub label: &'static str,
    pub weight: u32,
    /// Rank position among the ranked streets (ties share a position); `None` when the street is not ranked.
    pub position: Option<usize>,
}

/// The air figures of one street for one period (its micro-stations' area days, HJ 663 spatial means).
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AirFigures {
    /// Days with a valid daily AQI (all six pollutants).
    pub valid_days: u32,
    pub good_days: u32,
    /// 优良天数比例, percent, 1 decimal.
    pub good_ratio: Option<f64>,
    /// PM2.5 period mean, µg/m³, integer.
    pub pm25: Option<f64>,
    /// 综合指数 (环办监测〔2018〕19号), 2 decimals.
    pub composite: Option<f64>,
    /// Days per AQI level 一级 … 六级.
    pub days_per_level: [u32; 6],
    /// The GB 3095 minimum of valid days for a monthly statistic, when the period is a whole month.
    pub required_days: Option<u32>,
}

/// One street's line of the air ranking.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AirRow {
    pub street_id: i64,
    pub street: String,
    /// Micro-stations of the street.
    pub stations: usize,
    pub now: AirFigures,
    pub last_year: AirFigures,
    /// (now − last year)/last year × 100 %, 1 decimal; negative = improved.
    pub composite_change: Option<f64>,
    pub pm25_change: Option<f64>,
    #[serde(flatten)]
    pub placing: Placing,
}

/// Where a street stands in one table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Placing {
    /// The street's position on each weighted criterion.
    pub positions: Vec<CriterionRank>,
    /// Σ weight × position / 100, 2 decimals: smaller is better.
    pub score: Option<f64>,
    pub rank: Option<usize>,
    /// Shares its rank with another street (并列).
    pub tied: bool,
    /// Why the street is shown but not ranked.
    pub unranked_reason: Option<String>,
}

/// A line of a ranking table.
pub trait Placed {
    fn street(&self) -> &str;
    fn placing(&self) -> &Placing;
    fn placing_mut(&mut self) -> &mut Placing;
}

/// Both row kinds carry their street's name and placing.
macro_rules! placed {
    ($($row:ty),*) => {$(
        impl Placed for $row {
            fn street(&self) -> &str {
                &self.street
            }
            fn placing(&self) -> &Placing {
                &self.placing
            }
            fn placing_mut(&mut self) -> &mut Placing {
                &mut self.placing
            }
        }
    )*};
}

placed!(AirRow, WaterRow);

/// The water figures of one street for one period.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WaterFigures {
    /// Sections with samples in the period.
    pub sections_with_data: usize,
    /// Of those, sections whose class meets their target class.
    pub sections_meeting: usize,
    /// Sections with samples but no target class.
    pub sections_without_target: usize,
    /// Street CWQI: item concentrations averaged over the sections, then the single indices summed
    /// (环办监测〔2017〕51号; river and lake CWQI weighted by section counts), 2 decimals.
    pub cwqi: Option<f64>,
    /// 断面达标率, percent, 1 decimal.
    pub compliance: Option<f64>,
}

/// An active water section and its street.
#[derive(Clone, Debug, PartialEq)]
pub struct SectionPoint {
    pub id: i64,
    pub name: String,
    pub street_id: Option<i64>,
}

/// One section of a street, as shown under the water table.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SectionLine {
    pub point_id: i64,
    pub name: String,
    pub street_id: Option<i64>,
    pub class: Option<String>,
    pub target_class: Option<String>,
    pub meets_target: Option<bool>,
    pub cwqi: Option<f64>,
    pub last_year_class: Option<String>,
    pub last_year_cwqi: Option<f64>,
}

/// One street's line of the water ranking.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WaterRow {
    pub street_id: i64,
    pub street: String,
    /// Water sections of the street (registry).
    pub sections: usize,
    pub now: WaterFigures,
    pub last_year: WaterFigures,
    /// ΔCWQI = (now − last year)/last year × 100 %, 1 decimal; negative = improved.
    pub cwqi_change: Option<f64>,
    #[serde(flatten)]
    pub placing: Placing,
}

/// The weighting a table was ranked by.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MethodNote {
    pub preset: String,
    pub label: String,
    pub source: String,
    /// The criteria with a weight.
    pub weights: Vec<WeightNote>,
}

/// One weighted criterion of a method.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WeightNote {
    pub criterion: String,
    pub label: String,
    /// Percent.
    pub weight: u32,
}

/// The monthly street ranking.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Ranking {
    /// `YYYY-MM`.
    pub month: String,
    pub period: Period,
    pub air_method: MethodNote,
    pub water_method: MethodNote,
    /// Ranked streets first (by rank), then the unranked ones.
    pub air: Vec<AirRow>,
    pub water: Vec<WaterRow>,
    pub sections: Vec<SectionLine>,
    /// Composite index variant and AQI editions used.
    pub standards_note: String,
}

/// The district's figures of the month (the assessment stations' area days; every section).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DistrictFigures {
    /// Assessment (national and municipal) stations used for the district's air.
    pub air_stations: usize,
    pub now: AirFigures,
    pub last_year: AirFigures,
    pub pm25_change: Option<f64>,
    pub composite_change: Option<f64>,
    /// Sections with samples in the month, per class I, II, III, IV, V, 劣V.
    pub sections_per_class: [usize; 6],
    pub sections_with_data: usize,
    /// I–III share, percent, 1 decimal.
    pub good_water_share: Option<f64>,
    pub sections_meeting: usize,
}

/// The best or worst street of a table (every street sharing that rank).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Standing {
    pub rank: usize,
    pub streets: Vec<String>,
}

/// One of the year's targets as the bulletin shows it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TargetLine {
    pub title: String,
    /// The responsible department (责任部门).
    pub owner: String,
    /// `≤ 39µg/m³`, or `待市下达` when no threshold is set.
    pub requirement: String,
    /// The value so far this year, as the targets area reports it.
    pub value: String,
    pub last_year: String,
    /// 进度正常, 存在风险, 已无法完成, 已完成, 未完成, 待市下达 …
    pub status: String,
    pub reason: String,
}

/// What an issued bulletin carries on each of its forms (page, XLSX, PDF): its document number (文号) and CST
/// issue date (`2026年12月7日`).
#[derive(Clone, Debug, PartialEq)]
pub struct IssueMark {
    pub number: String,
    pub issued_on: String,
}

/// The monthly bulletin (通报).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Bulletin {
    pub title: String,
    pub ranking: Ranking,
    pub district: DistrictFigures,
    pub air_best: Option<Standing>,
    pub air_worst: Option<Standing>,
    pub water_best: Option<Standing>,
    pub water_worst: Option<Standing>,
    /// The year's targets with their status at the end of the period (targets::service::status_for_year).
    pub targets: Vec<TargetLine>,
    /// What the targets section covers, or why it is empty.
    pub targets_note: String,
    /// CST time the bulletin was generated.
    pub generated_at: String,
}

/// Issuing a month's bulletin (签发): the month, `YYYY-MM`.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct IssueRequest {
    #[schema(example = "2025-03")]
    pub month: String,
}

/// One issued version of a month's bulletin (the stored document's particulars, not its content).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IssuedBulletin {
    /// `YYYY-MM`.
    pub month: String,
    /// 1 for the first issue, 2 for the first reissue, …
    pub version: i64,
    /// The document number (文号), e.g. `东丽环通〔2026〕10号`.
    pub number: String,
    /// Unix seconds (UTC) of the issue.
    pub issued_at: i64,
    /// The issue date (CST), `YYYY-MM-DD`.
    pub issued_on: NaiveDate,
    /// Username of who issued it.
    pub issued_by: String,
    /// SHA-256 (hex) of the figures this version was made from, without their generation time.
    pub digest: String,
}

/// The issued versions of a month, newest first, and whether the data have changed since the newest.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IssueList {
    /// `YYYY-MM`.
    pub month: String,
    pub versions: Vec<IssuedBulletin>,
    /// Whether a fresh computation of the month differs from the newest version's figures: only for a caller who
    /// may issue and a month that has been issued (null otherwise), as it costs a full computation.
    pub current_differs: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_strictly() {
        assert_eq!(
            Month::parse("2025-03").unwrap(),
            Month {
                year: 2025,
                month: 3
            }
        );
        for bad in [
            "2025-3", "2025-13", "2025-00", "25-03", "2025/03", "", "abcd-ef", "1999-12",
        ] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
        let feb = Month::parse("2024-02").unwrap();
        assert_eq!(
            feb.last_day(),
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
        );
        assert_eq!(feb.previous().key(), "2024-01");
        assert_eq!(Month::parse("2024-01").unwrap().previous().key(), "2023-12");
    }

    #[test]
    fn periods_clip_to_yesterday_and_map_leap_days() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let feb = Period::of(Month::parse("2024-02").unwrap(), d(2024, 6, 1)).unwrap();
        assert_eq!((feb.from, feb.to), (d(2024, 2, 1), d(2024, 2, 29)));
        assert_eq!(
            (feb.last_year_from, feb.last_year_to),
            (d(2023, 2, 1), d(2023, 2, 28))
        );
        assert!(!feb.partial);
        let running = Period::of(Month::parse("2025-05").unwrap(), d(2025, 5, 10)).unwrap();
        assert_eq!(running.to, d(2025, 5, 9));
        assert!(running.partial);
        assert!(Period::of(Month::parse("2025-05").unwrap(), d(2025, 5, 1)).is_err());
        assert!(Period::of(Month::parse("2026-01").unwrap(), d(2025, 5, 1)).is_err());
    }
}
