//! Rules: the street figures from the standards engine, the weighted ranking, the settings (with audit), the
//! bulletin. No HTTP types.
//!
//! Every figure comes from `standards`: the area days of a street's micro-stations are assessed with
//! `standards::assessment::assess_period` (PM2.5 mean, good days, composite index by 环办监测〔2018〕19号),
//! change rates with `standards::composite::change_percent`, ties with `standards::composite::rank_ascending`,
//! the street CWQI with `standards::water::mean_of_samples` and `assess_section`, class shares with
//! `class_shares`.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use kernel::audit::{self, AuditEntry};
use kernel::cache::FlightCache;
use kernel::time::{cst_day, cst_day_start, format_cst, now_ts};
use kernel::{Action, AppError, AppResult, Db, Principal};
use standards::aggregate::DailyValues;
use standards::assessment::{assess_period, minimum_valid_days};
use standards::composite::change_percent;
use standards::exact::Exact;
use standards::pollutant::Pollutant;
use standards::settings::{AirSettings, WaterSettings};
use standards::water::{
    WaterBody, WaterClass, WaterItem, assess_section, class_shares, mean_of_samples,
};

use crate::model::*;
use crate::ranking::{Candidate, rank_weighted};
use crate::repo;

const SETTINGS_KEY: &str = "ranking";

// --- settings --------------------------------------------------------------------------------------------

/// The stored settings, or the defaults (first presets) when none are stored.
pub async fn settings(db: &Db) -> AppResult<RankingSettings> {
    Ok(match repo::setting(db, SETTINGS_KEY).await? {
        Some(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
            tracing::warn!("stored ranking settings unreadable ({e}); using the defaults");
            RankingSettings::default()
        }),
        None => RankingSettings::default(),
    })
}

/// Resolves an update into settings: a preset's weights, or custom weights that sum to 100.
pub fn resolve_settings(update: SettingsUpdate) -> AppResult<RankingSettings> {
    let air_weights = if update.air_preset == CUSTOM {
        let w = update
            .air_weights
            .ok_or_else(|| AppError::validation("air_weights", "custom weighting needs weights"))?;
        check_sum("air_weights", &w.as_array())?;
        w
    } else {
        AIR_PRESETS
            .iter()
            .find(|p| p.key == update.air_preset)
            .ok_or_else(|| AppError::validation("air_preset", "unknown preset"))?
            .weights
    };
    let water_weights = if update.water_preset == CUSTOM {
        let w = update.water_weights.ok_or_else(|| {
            AppError::validation("water_weights", "custom weighting needs weights")
        })?;
        check_sum("water_weights", &w.as_array())?;
        w
    } else {
        WATER_PRESETS
            .iter()
            .find(|p| p.key == update.water_preset)
            .ok_or_else(|| AppError::validation("water_preset", "unknown preset"))?
            .weights
    };
    let number_format = match update.number_format {
        Some(format) => {
            let format = format.trim().to_string();
            check_number_format(&format)?;
            format
        }
        None => DEFAULT_NUMBER_FORMAT.to_string(),
    };
    Ok(RankingSettings {
        air_preset: update.air_preset,
        air_weights,
        water_preset: update.water_preset,
        water_weights,
        number_format,
    })
}

fn check_sum(field: &str, weights: &[u32]) -> AppResult<()> {
    let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
    if total != 100 {
        return Err(AppError::validation(
            field,
            format!("weights must sum to 100 (they sum to {total})"),
        ));
    }
    Ok(())
}

/// Changes the weighting (monitoring department, administrator), with an audit entry before → after.
pub async fn update_settings(
    db: &Db,
    principal: &Principal,
    update: SettingsUpdate,
) -> AppResult<RankingSettings> {
    principal.require(crate::BULLETIN, Action::Update)?;
    let keep_number_format = update.number_format.is_none();
    let mut new = resolve_settings(update)?;
    let before = settings(db).await?;
    if keep_number_format {
        new.number_format = before.number_format.clone();
    }
    let value = serde_json::to_string(&new).map_err(|e| AppError::Internal(e.into()))?;
    let mut tx = db.begin_write().await?;
    repo::put_setting(&mut tx, SETTINGS_KEY, &value, &principal.username, now_ts()).await?;
    let entry = AuditEntry::by(principal, "update", "ranking_settings", SETTINGS_KEY)
        .summary(format!(
            "排名权重：空气 {}，水 {}",
            new.air_preset, new.water_preset
        ))
        .before(&before)
        .after(&new);
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(new)
}

// --- inputs ----------------------------------------------------------------------------------------------

/// One water section's result for a period, as the ranking needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct SectionInput {
    pub point_id: i64,
    pub name: String,
    pub street_id: Option<i64>,
    pub body: WaterBody,
    pub target_class: Option<WaterClass>,
    pub class: Option<WaterClass>,
    pub cwqi: Option<Exact>,
    /// The section's mean concentration of each item in the period.
    pub items: Vec<(WaterItem, Exact)>,
}

/// Everything a ranking is computed from, fetched from the air and water areas.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub streets: Vec<crate::sources::Street>,
    /// Micro-stations per street.
    pub stations: BTreeMap<i64, usize>,
    /// Water sections per street (registry).
    pub sections: BTreeMap<i64, usize>,
    /// Area days of each street's micro-stations: this period, and the same period last year.
    pub air_now: BTreeMap<i64, Vec<DailyValues>>,
    pub air_last_year: BTreeMap<i64, Vec<DailyValues>>,
    /// Section results (sections with samples only).
    pub water_now: Vec<SectionInput>,
    pub water_last_year: Vec<SectionInput>,
}

// --- air -------------------------------------------------------------------------------------------------

/// Exact air figures of an area over a period.
#[derive(Clone, Debug, Default)]
struct AirExact {
    figures: AirFigures,
    pm25: Option<Exact>,
    composite: Option<Exact>,
    good_ratio: Option<Exact>,
    enough_days: bool,
}

fn air_figures(days: &[DailyValues], from: NaiveDate, to: NaiveDate) -> AirExact {
    let assessment = assess_period(days, from, to, &AirSettings::default());
    let pm25 = assessment
        .pollutants
        .iter()
        .find(|p| p.pollutant == Pollutant::Pm25)
        .and_then(|p| p.mean);
    let composite = assessment.composite_index.as_ref().map(|c| c.value);
    let required = minimum_valid_days(from, to).map(|(_, n)| n);
    let f = |v: Option<Exact>| v.map(Exact::to_f64);
    AirExact {
        figures: AirFigures {
            valid_days: assessment.valid_days,
            good_days: assessment.good_days,
            good_ratio: f(assessment.good_day_ratio_percent),
            pm25: f(pm25),
            composite: f(composite),
            days_per_level: assessment.days_per_level,
            required_days: required,
        },
        pm25,
        composite,
        good_ratio: assessment.good_day_ratio_percent,
        enough_days: assessment.valid_days > 0
            && required.is_none_or(|n| assessment.valid_days >= n),
    }
}

fn too_few_days(figures: &AirFigures, when: &str) -> String {
    match figures.required_days {
        _ if figures.valid_days == 0 => format!("{when}无有效日数据"),
        Some(n) => format!(
            "{when}有效天数不足（{} 天，月统计至少需 {n} 天，GB 3095）",
            figures.valid_days
        ),
        None => format!("{when}无有效日数据"),
    }
}

fn change(
    now: Option<Exact>,
    before: Option<Exact>,
    last_year_ok: bool,
    what: &str,
) -> Result<Exact, String> {
    match (now, before) {
        (_, _) if !last_year_ok => Err(format!("去年同期数据不足，无法计算{what}同比变化率")),
        (Some(n), Some(b)) => {
            change_percent(n, b).ok_or_else(|| format!("去年同期{what}为 0，无法计算变化率"))
        }
        (None, _) => Err(format!("缺少{what}")),
        (_, None) => Err(format!("去年同期缺少{what}")),
    }
}

fn air_rows(inputs: &Inputs, period: &Period, weights: AirWeights) -> Vec<AirRow> {
    let mut candidates = Vec::new();
    let mut rows = Vec::new();
    for street in &inputs.streets {
        let stations = inputs.stations.get(&street.id).copied().unwrap_or(0);
        let empty = Vec::new();
        let now = air_figures(
            inputs.air_now.get(&street.id).unwrap_or(&empty),
            period.from,
            period.to,
        );
        let last = air_figures(
            inputs.air_last_year.get(&street.id).unwrap_or(&empty),
            period.last_year_from,
            period.last_year_to,
        );
        let composite_change = change(now.composite, last.composite, last.enough_days, "综合指数");
        let pm25_change = change(now.pm25, last.pm25, last.enough_days, "PM2.5");
        let missing = |v: Option<Exact>, what: &str| {
            v.ok_or_else(|| format!("缺少{what}（六项污染物月统计不全）"))
        };
        let ineligible = if stations == 0 {
            Some("街道内无空气微站".to_string())
        } else if !now.enough_days {
            Some(too_few_days(&now.figures, "本月"))
        } else {
            None
        };
        candidates.push(Candidate {
            ineligible,
            values: vec![
                missing(now.composite, "综合指数"),
                composite_change.clone(),
                now.pm25.ok_or_else(|| "缺少PM2.5月均浓度".to_string()),
                pm25_change.clone(),
                now.good_ratio
                    .ok_or_else(|| "无有效日，无法计算优良天数比例".to_string()),
            ],
        });
        rows.push(AirRow {
            street_id: street.id,
            street: street.name.clone(),
            stations,
            now: now.figures,
            last_year: last.figures,
            composite_change: composite_change.ok().map(Exact::to_f64),
            pm25_change: pm25_change.ok().map(Exact::to_f64),
            placing: Placing::default(),
        });
    }
    place(&mut rows, &candidates, &AIR_CRITERIA, &weights.as_array());
    rows
}

/// Ranks the rows (same order as the candidates) and sorts them: ranked streets by rank, then the unranked
/// ones in street order.
fn place<T: Placed>(
    rows: &mut [T],
    candidates: &[Candidate],
    criteria: &[Criterion],
    weights: &[u32],
) {
    let ranked = rank_weighted(candidates, criteria, weights);
    for (row, r) in rows.iter_mut().zip(ranked) {
        *row.placing_mut() = Placing {
            positions: criteria
                .iter()
                .zip(weights)
                .zip(&r.positions)
                .filter(|((_, w), _)| **w > 0)
                .map(|((c, w), p)| CriterionRank {
                    criterion: c.key,
                    label: c.label,
                    weight: *w,
                    position: *p,
                })
                .collect(),
            score: r.score.map(|s| s.round_half_even(2).to_f64()),
            rank: r.rank,
            tied: r.tied,
            unranked_reason: r.reason,
        };
    }
    // A stable sort keeps the street order among the unranked and among equal ranks.
    rows.sort_by_key(|r| {
        let rank = r.placing().rank;
        (rank.is_none(), rank)
    });
}

// --- water -----------------------------------------------------------------------------------------------

#[derive(Clone, Debug, Default)]
struct WaterExact {
    figures: WaterFigures,
    cwqi: Option<Exact>,
    compliance: Option<Exact>,
}

/// The CWQI of several sections: each item's concentration averaged over the sections first, then the single
/// indices summed (环办监测〔2017〕51号); rivers and lakes separately, weighted by their section counts [M].
fn combined_cwqi(sections: &[&SectionInput]) -> Option<Exact> {
    let settings = WaterSettings::default();
    let mut total = Exact::ZERO;
    let mut counted = 0i64;
    for body in [WaterBody::River, WaterBody::Lake] {
        let of_body: Vec<&&SectionInput> = sections.iter().filter(|s| s.body == body).collect();
        if of_body.is_empty() {
            continue;
        }
        let mut per_item: BTreeMap<WaterItem, Vec<Exact>> = BTreeMap::new();
        for section in &of_body {
            for (item, value) in &section.items {
                per_item.entry(*item).or_default().push(*value);
            }
        }
        let means: Vec<(WaterItem, Exact)> = per_item
            .iter()
            .filter_map(|(item, values)| Some((*item, mean_of_samples(*item, values, &settings)?)))
            .collect();
        let cwqi = assess_section(&means, body).cwqi?;
        let n = of_body.len() as i64;
        total = total + cwqi * Exact::from_int(n);
        counted += n;
    }
    (counted > 0).then(|| (total / Exact::from_int(counted)).round_half_even(2))
}

fn water_figures(sections: &[&SectionInput]) -> WaterExact {
    let with_target: Vec<&&SectionInput> = sections
        .iter()
        .filter(|s| s.target_class.is_some() && s.class.is_some())
        .collect();
    let meeting = with_target
        .iter()
        .filter(|s| s.class <= s.target_class)
        .count();
    let compliance = (!with_target.is_empty()).then(|| {
        (Exact::from_int(meeting as i64 * 100) / Exact::from_int(with_target.len() as i64))
            .round_half_even(1)
    });
    let cwqi = combined_cwqi(sections);
    WaterExact {
        figures: WaterFigures {
            sections_with_data: sections.len(),
            sections_meeting: meeting,
            sections_without_target: sections.len() - with_target.len(),
            cwqi: cwqi.map(Exact::to_f64),
            compliance: compliance.map(Exact::to_f64),
        },
        cwqi,
        compliance,
    }
}

fn of_street(list: &[SectionInput], street_id: i64) -> Vec<&SectionInput> {
    list.iter()
        .filter(|s| s.street_id == Some(street_id))
        .collect()
}

fn water_rows(inputs: &Inputs, weights: WaterWeights) -> Vec<WaterRow> {
    let mut candidates = Vec::new();
    let mut rows = Vec::new();
    for street in &inputs.streets {
        let sections = inputs.sections.get(&street.id).copied().unwrap_or(0);
        let now_sections = of_street(&inputs.water_now, street.id);
        let now = water_figures(&now_sections);
        let last = water_figures(&of_street(&inputs.water_last_year, street.id));
        let cwqi_change = match (now.cwqi, last.cwqi) {
            (Some(n), Some(b)) => {
                change_percent(n, b).ok_or_else(|| "去年同期 CWQI 为 0".to_string())
            }
            (None, _) => Err("本月无可计算 CWQI 的监测数据".to_string()),
            (_, None) => Err("去年同期无监测数据，无法计算 CWQI 变化率".to_string()),
        };
        let ineligible = if sections == 0 {
            Some("街道内无水质断面".to_string())
        } else if now_sections.is_empty() {
            Some("本月各断面无监测数据".to_string())
        } else {
            None
        };
        candidates.push(Candidate {
            ineligible,
            values: vec![
                now.cwqi
                    .ok_or_else(|| "本月无可计算 CWQI 的监测数据".to_string()),
                cwqi_change.clone(),
                now.compliance
                    .ok_or_else(|| "断面均无目标类别，无法计算达标率".to_string()),
            ],
        });
        rows.push(WaterRow {
            street_id: street.id,
            street: street.name.clone(),
            sections,
            now: now.figures,
            last_year: last.figures,
            cwqi_change: cwqi_change.ok().map(Exact::to_f64),
            placing: Placing::default(),
        });
    }
    place(&mut rows, &candidates, &WATER_CRITERIA, &weights.as_array());
    rows
}

fn section_lines(inputs: &Inputs, points: &[SectionPoint]) -> Vec<SectionLine> {
    points
        .iter()
        .map(|p| {
            let now = inputs.water_now.iter().find(|s| s.point_id == p.id);
            let last = inputs.water_last_year.iter().find(|s| s.point_id == p.id);
            let label = |c: Option<WaterClass>| c.map(|c| c.label().to_string());
            SectionLine {
                point_id: p.id,
                name: p.name.clone(),
                street_id: p.street_id,
                class: label(now.and_then(|s| s.class)),
                target_class: label(now.or(last).and_then(|s| s.target_class)),
                meets_target: now.and_then(|s| Some(s.class? <= s.target_class?)),
                cwqi: now.and_then(|s| s.cwqi).map(Exact::to_f64),
                last_year_class: label(last.and_then(|s| s.class)),
                last_year_cwqi: last.and_then(|s| s.cwqi).map(Exact::to_f64),
            }
        })
        .collect()
}

fn method<W: Copy>(
    preset: &str,
    presets: &[Preset<W>],
    criteria: &[Criterion],
    weights: &[u32],
) -> MethodNote {
    let (label, source) = presets
        .iter()
        .find(|p| p.key == preset)
        .map(|p| (p.label.to_string(), p.source.to_string()))
        .unwrap_or_else(|| {
            (
                "自定义权重".to_string(),
                "监测科设定的权重（排名位次加权）[本局自定]".to_string(),
            )
        });
    MethodNote {
        preset: preset.to_string(),
        label,
        source,
        weights: criteria
            .iter()
            .zip(weights)
            .filter(|(_, w)| **w > 0)
            .map(|(c, w)| WeightNote {
                criterion: c.key.to_string(),
                label: c.label.to_string(),
                weight: *w,
            })
            .collect(),
    }
}

/// The ranking from fetched inputs (pure).
pub fn compute_ranking(
    month: Month,
    period: Period,
    inputs: &Inputs,
    section_points: &[SectionPoint],
    settings: &RankingSettings,
) -> Ranking {
    Ranking {
        month: month.key(),
        period,
        air_method: method(
            &settings.air_preset,
            &AIR_PRESETS,
            &AIR_CRITERIA,
            &settings.air_weights.as_array(),
        ),
        water_method: method(
            &settings.water_preset,
            &WATER_PRESETS,
            &WATER_CRITERIA,
            &settings.water_weights.as_array(),
        ),
        air: air_rows(inputs, &period, settings.air_weights),
        water: water_rows(inputs, settings.water_weights),
        sections: section_lines(inputs, section_points),
        standards_note: "空气：街道微站日均值按 HJ 663 空间平均为街道日值，日 AQI 按当日有效的 HJ 633 版本；\
月均值、优良天数与综合指数按 HJ 663 / GB 3095 / 环办监测〔2018〕19号（未加权，二级标准限值为分母）。\
水：断面按 GB 3838-2002 与环办〔2011〕22号单因子评价，CWQI 按环办监测〔2017〕51号（街道 CWQI 先平均各项浓度再求和）。"
            .to_string(),
    }
}

// --- fetching --------------------------------------------------------------------------------------------

/// Fetches the inputs of `period` from the air and water areas.
pub async fn fetch_inputs(db: &Db, period: &Period) -> AppResult<(Inputs, Vec<SectionPoint>)> {
    let streets = crate::sources::streets(db).await?;
    let micro = crate::sources::micro_stations(db).await?;
    let (sections, water_now) = crate::sources::sections(db, period.from, period.to).await?;
    let (_, water_last_year) =
        crate::sources::sections(db, period.last_year_from, period.last_year_to).await?;
    let mut inputs = Inputs {
        streets,
        ..Inputs::default()
    };
    let mut by_street: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (id, street) in &micro {
        if let Some(street) = street {
            by_street.entry(*street).or_default().push(*id);
        }
    }
    for p in &sections {
        if let Some(street) = p.street_id {
            *inputs.sections.entry(street).or_default() += 1;
        }
    }
    for (street, ids) in &by_street {
        inputs.stations.insert(*street, ids.len());
        inputs.air_now.insert(
            *street,
            crate::sources::area_days(db, ids, period.from, period.to).await?,
        );
        inputs.air_last_year.insert(
            *street,
            crate::sources::area_days(db, ids, period.last_year_from, period.last_year_to).await?,
        );
    }
    inputs.water_now = water_now;
    inputs.water_last_year = water_last_year;
    Ok((inputs, sections))
}

/// The ranking of `month` as seen on `today`. Every bureau role reads it; a street officer sees the whole
/// table, as the ranking is published among the streets (docs/bulletins.md).
pub async fn ranking(
    db: &Db,
    principal: &Principal,
    month: Month,
    today: NaiveDate,
) -> AppResult<Ranking> {
    principal.require(crate::BULLETIN, Action::Read)?;
    let key = (db.url(), data_stamp(db).await?, month, today);
    let ranking = RANKING_CACHE
        .get_or_try_compute(key, || async {
            let period = Period::of(month, today)?;
            let settings = settings(db).await?;
            let (inputs, section_points) = fetch_inputs(db, &period).await?;
            Ok::<_, AppError>(compute_ranking(
                month,
                period,
                &inputs,
                &section_points,
                &settings,
            ))
        })
        .await?;
    Ok(ranking.as_ref().clone())
}

/// The database, the data stamp (readings and every audited change: the registry, the targets, the ranking
/// settings), the month and the day it is seen on: a ranking or bulletin takes a second to compute from every
/// street's days and is the same for every reader, so it is computed once per stamp (issue 15). The minute-long
/// limit bounds changes the stamp cannot see (made by another process outside the audit log).
type FiguresKey = (String, readings::service::DataStamp, Month, NaiveDate);

static RANKING_CACHE: FlightCache<FiguresKey, Ranking> =
    FlightCache::new(std::time::Duration::from_secs(60), 16);

static BULLETIN_CACHE: FlightCache<FiguresKey, Bulletin> =
    FlightCache::new(std::time::Duration::from_secs(60), 16);

async fn data_stamp(db: &Db) -> AppResult<readings::service::DataStamp> {
    readings::service::data_stamp(db)
        .await
        .map_err(AppError::Internal)
}

fn standing<T: Placed>(rows: &[T], worst: bool) -> Option<Standing> {
    let rank_of = |r: &T| r.placing().rank;
    let name = |r: &T| r.street().to_string();
    let ranks: Vec<usize> = rows.iter().filter_map(&rank_of).collect();
    let rank = if worst {
        ranks.iter().max()
    } else {
        ranks.iter().min()
    }
    .copied()?;
    Some(Standing {
        rank,
        streets: rows
            .iter()
            .filter(|r| rank_of(r) == Some(rank))
            .map(name)
            .collect(),
    })
}

/// The district's month figures: the assessment stations' area days, and every section's class.
async fn district(db: &Db, period: &Period, inputs: &Inputs) -> AppResult<DistrictFigures> {
    let stations = crate::sources::assessment_stations(db).await?;
    let now_days = crate::sources::area_days(db, &stations, period.from, period.to).await?;
    let last_days =
        crate::sources::area_days(db, &stations, period.last_year_from, period.last_year_to)
            .await?;
    let now = air_figures(&now_days, period.from, period.to);
    let last = air_figures(&last_days, period.last_year_from, period.last_year_to);
    let classes: Vec<WaterClass> = inputs.water_now.iter().filter_map(|s| s.class).collect();
    let shares = class_shares(&classes);
    let all: Vec<&SectionInput> = inputs.water_now.iter().collect();
    let water = water_figures(&all);
    Ok(DistrictFigures {
        air_stations: stations.len(),
        pm25_change: change(now.pm25, last.pm25, last.enough_days, "PM2.5")
            .ok()
            .map(Exact::to_f64),
        composite_change: change(now.composite, last.composite, last.enough_days, "综合指数")
            .ok()
            .map(Exact::to_f64),
        now: now.figures,
        last_year: last.figures,
        sections_per_class: shares.per_class,
        sections_with_data: shares.sections,
        good_water_share: shares.good_share_percent.map(Exact::to_f64),
        sections_meeting: water.figures.sections_meeting,
    })
}

/// The year's targets as of the end of the period (its last day counted).
async fn targets(db: &Db, month: Month, period: &Period) -> AppResult<(Vec<TargetLine>, String)> {
    let day_after = period.to.succ_opt().unwrap_or(period.to);
    let statuses = targets::service::status_for_year(db, month.year, cst_day_start(day_after))
        .await
        .map_err(AppError::Internal)?;
    let lines: Vec<TargetLine> = statuses
        .into_iter()
        .map(|s| TargetLine {
            title: s.target.title,
            owner: s.target.owner,
            requirement: s.requirement,
            value: s.value_text,
            last_year: s.last_year_text,
            status: s.status_label.to_string(),
            reason: s.reason,
        })
        .collect();
    let note = if lines.is_empty() {
        format!("{} 年未录入年度目标。", month.year)
    } else {
        format!(
            "{} 年度目标截至 {} 的完成情况（按已审核数据重新计算，见年度目标页面）。",
            month.year, period.to
        )
    };
    Ok((lines, note))
}

/// The bulletin's title: 东丽区2025年3月街道环境质量排名通报.
pub fn bulletin_title(month: Month) -> String {
    format!("东丽区{}街道环境质量排名通报", month.label())
}

/// The bulletin of `month`.
pub async fn bulletin(
    db: &Db,
    principal: &Principal,
    month: Month,
    today: NaiveDate,
) -> AppResult<Bulletin> {
    principal.require(crate::BULLETIN, Action::Read)?;
    let key = (db.url(), data_stamp(db).await?, month, today);
    let bulletin = BULLETIN_CACHE
        .get_or_try_compute(key, || compute_bulletin(db, month, today))
        .await?;
    Ok(bulletin.as_ref().clone())
}

async fn compute_bulletin(db: &Db, month: Month, today: NaiveDate) -> AppResult<Bulletin> {
    let period = Period::of(month, today)?;
    let settings = settings(db).await?;
    let (inputs, section_points) = fetch_inputs(db, &period).await?;
    let ranking = compute_ranking(month, period, &inputs, &section_points, &settings);
    let district = district(db, &period, &inputs).await?;
    let (targets, targets_note) = targets(db, month, &period).await?;
    Ok(Bulletin {
        title: bulletin_title(month),
        air_best: standing(&ranking.air, false),
        air_worst: standing(&ranking.air, true),
        water_best: standing(&ranking.water, false),
        water_worst: standing(&ranking.water, true),
        ranking,
        district,
        targets_note,
        targets,
        generated_at: format_cst(now_ts()),
    })
}

// --- issuing ---------------------------------------------------------------------------------------------

/// SHA-256 (hex) of the bulletin's figures without their generation time: equal digests mean that a fresh
/// computation would publish the same numbers.
pub fn figures_digest(b: &Bulletin) -> AppResult<String> {
    use sha2::{Digest, Sha256};
    let timeless = Bulletin {
        generated_at: String::new(),
        ..b.clone()
    };
    let json = serde_json::to_vec(&timeless).map_err(|e| AppError::Internal(e.into()))?;
    Ok(hex::encode(Sha256::digest(&json)))
}

fn issued(row: repo::IssueRow) -> IssuedBulletin {
    IssuedBulletin {
        issued_on: cst_day(row.issued_at),
        month: row.month,
        version: row.version,
        number: row.number,
        issued_at: row.issued_at,
        issued_by: row.issued_by,
        digest: row.digest,
    }
}

/// Issues (签发) the bulletin of `month` at `now`: computes it, builds its page body, XLSX and PDF, and stores
/// them as the next version with the next number of the year of issue, audited. Only a month that is over can be
/// issued: the figures of a running month still grow day by day.
pub async fn issue(
    db: &Db,
    principal: &Principal,
    month: Month,
    now: i64,
) -> AppResult<IssuedBulletin> {
    principal.require(crate::BULLETIN, Action::Create)?;
    let today = cst_day(now);
    if month.last_day() >= today {
        return Err(AppError::validation(
            "month",
            format!(
                "{} is not over yet; a bulletin is issued for a whole month",
                month.key()
            ),
        ));
    }
    let bulletin = bulletin(db, principal, month, today).await?;
    let figures = serde_json::to_string(&bulletin).map_err(|e| AppError::Internal(e.into()))?;
    let digest = figures_digest(&bulletin)?;
    let number_format = settings(db).await?.number_format;
    let year = today.year();
    let issued_on = format!("{}年{}月{}日", today.year(), today.month(), today.day());
    // Every form carries the number, which is only final in the write transaction; the exports take a second
    // or so and are built before it, which they would otherwise hold (on SQLite the one writer of the process).
    // So the numbers are read first, the forms built with them, and the transaction checks that nobody issued
    // in between (else it builds again with the new numbers).
    let mut attempts = 0;
    let (mut tx, row, sequence, html, xlsx, pdf) = loop {
        attempts += 1;
        let peeked = {
            let mut conn = db.pool().acquire().await?;
            repo::next_numbers(&mut conn, &month.key(), year).await?
        };
        let mark = IssueMark {
            number: bulletin_number(&number_format, year, peeked.1),
            issued_on: issued_on.clone(),
        };
        let html = crate::view::body(&bulletin, Some(mark.clone()))
            .map_err(|e| AppError::Internal(e.into()))?;
        let for_exports = bulletin.clone();
        let for_mark = mark.clone();
        let (xlsx, pdf) = kernel::export::build_off_thread(move || {
            Ok((
                crate::export::workbook(&for_exports, Some(&for_mark))?,
                crate::pdf::document(&for_exports, Some(&for_mark))?,
            ))
        })
        .await?;
        let mut tx = db.begin_write().await?;
        let (version, sequence) = repo::next_numbers(&mut tx, &month.key(), year).await?;
        if (version, sequence) == peeked || attempts >= 5 {
            if (version, sequence) != peeked {
                return Err(AppError::Conflict(
                    "bulletins are being issued at the same time; try again".into(),
                ));
            }
            let row = repo::IssueRow {
                month: month.key(),
                version,
                number: mark.number,
                issued_at: now,
                issued_by: principal.username.clone(),
                digest: digest.clone(),
            };
            break (tx, row, sequence, html, xlsx, pdf);
        }
    };
    repo::insert_issue(
        &mut tx,
        &repo::NewIssue {
            row: &row,
            year,
            sequence,
            figures: &figures,
            html: &html,
            xlsx: &xlsx,
            pdf: &pdf,
        },
    )
    .await?;
    let result = issued(row);
    let entry = AuditEntry::by(
        principal,
        "issue",
        "bulletin",
        format!("{}#{}", month.key(), result.version),
    )
    .summary(format!(
        "签发{}排名通报 {}（第 {} 版）",
        month.label(),
        result.number,
        result.version
    ))
    .after(&result);
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(result)
}

/// The issued versions of `month`, newest first (empty: not issued).
pub async fn issues(
    db: &Db,
    principal: &Principal,
    month: Month,
) -> AppResult<Vec<IssuedBulletin>> {
    principal.require(crate::BULLETIN, Action::Read)?;
    Ok(repo::issues(db, &month.key())
        .await?
        .into_iter()
        .map(issued)
        .collect())
}

/// Whether the month's data now give other figures than `newest` was made from. The draft of the current data
/// (cached per data stamp, as every draft is), so it is only done for those who may issue, who need it to decide
/// on a reissue; the readers of an issued bulletin get the stored document without it.
pub async fn differs_from_current(
    db: &Db,
    principal: &Principal,
    newest: &IssuedBulletin,
    today: NaiveDate,
) -> AppResult<Option<bool>> {
    if !principal.can(crate::BULLETIN, Action::Create) {
        return Ok(None);
    }
    let month = Month::parse(&newest.month)?;
    let fresh = bulletin(db, principal, month, today).await?;
    Ok(Some(figures_digest(&fresh)? != newest.digest))
}

/// One stored part of the bulletin of `month` (`version`, or the newest when `None`), with its particulars;
/// `None` when the month has not been issued. A `version` that does not exist is a 404.
pub async fn issued_part(
    db: &Db,
    principal: &Principal,
    month: Month,
    version: Option<i64>,
    part: repo::Part,
) -> AppResult<Option<(IssuedBulletin, repo::PartValue)>> {
    principal.require(crate::BULLETIN, Action::Read)?;
    match repo::issue_part(db, &month.key(), version, part).await? {
        Some((row, value)) => Ok(Some((issued(row), value))),
        None if version.is_some() => Err(AppError::NotFound(format!(
            "{} has no issued version {}",
            month.key(),
            version.unwrap_or_default()
        ))),
        None => Ok(None),
    }
}
