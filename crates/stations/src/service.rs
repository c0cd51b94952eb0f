//! Assembling the station and section views from the air and water services; scoping by the readings rules
//! (the public sees stations and sections, a street officer only their street's, 404 otherwise).

use std::collections::HashMap;

use chrono::{Datelike, Duration, Months, NaiveDate};
use kernel::cache::FlightCache;
use kernel::{Action, AppError, AppResult, Db, Principal};
use readings::model::Period;
use readings::points::{self, level_label};
use registry::model::PointKind;
use standards::aggregate::DailyValues;
use standards::aqi::AqiLevel;
use standards::pollutant::Pollutant;
use standards::settings::ZoneClass;
use standards::water::{WaterBody, WaterItem};

use crate::model::*;

/// The GB 3838 items drawn month by month on a section page.
const KEY_ITEMS: [WaterItem; 6] = [
    WaterItem::DissolvedOxygen,
    WaterItem::PermanganateIndex,
    WaterItem::Cod,
    WaterItem::Bod5,
    WaterItem::Ammonia,
    WaterItem::TotalPhosphorus,
];

fn internal(e: anyhow::Error) -> AppError {
    AppError::Internal(e)
}

/// Air stations and water sections the caller may see.
pub async fn list(db: &Db, principal: &Principal) -> AppResult<Vec<PlaceRow>> {
    principal.require(readings::READING, Action::Read)?;
    let streets = registry::service::streets(db).await?;
    let street = |id: Option<i64>| {
        id.and_then(|id| streets.iter().find(|s| s.id == id))
            .map(|s| s.name.clone())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for s in air::service::all_stations(db).await.map_err(internal)? {
        let row = PlaceRow {
            id: s.id,
            code: s.code,
            name: s.name,
            kind: PointKind::AirStation,
            level_label: level_label(&s.level).into(),
            level: s.level,
            street: street(s.street_id),
            latest: None,
            coverage: None,
        };
        if points::sees(principal, row.kind, s.street_id) {
            out.push(row);
        }
    }
    for s in water::service::sections(db).await? {
        let row = PlaceRow {
            id: s.id,
            code: s.code,
            name: s.name,
            kind: PointKind::WaterSection,
            level_label: level_label(&s.level).into(),
            level: s.level,
            street: street(s.street_id),
            latest: None,
            coverage: None,
        };
        if points::sees(principal, row.kind, s.street_id) {
            out.push(row);
        }
    }
    Ok(out)
}

/// How the list is sorted (`?sort=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Code,
    Name,
    Level,
    Street,
    Aqi,
    Coverage,
}

impl SortKey {
    pub const ALL: [SortKey; 6] = [
        Self::Code,
        Self::Name,
        Self::Level,
        Self::Street,
        Self::Aqi,
        Self::Coverage,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Code => "code",
            Self::Name => "name",
            Self::Level => "level",
            Self::Street => "street",
            Self::Aqi => "aqi",
            Self::Coverage => "coverage",
        }
    }
}

/// The list's search and order, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOrder {
    /// Part of a name or code, case-insensitive; empty for all.
    pub q: String,
    pub sort: SortKey,
    pub descending: bool,
}

impl ListOrder {
    /// From the query's `q`, `sort` (default `level`: national first) and `order` (`asc`, `desc`).
    pub fn parse(q: Option<&str>, sort: Option<&str>, order: Option<&str>) -> AppResult<ListOrder> {
        let q = q.map(str::trim).unwrap_or_default();
        if q.chars().count() > 100 {
            return Err(AppError::validation("q", "搜索词不能超过 100 个字"));
        }
        let sort = match sort.map(str::trim).filter(|s| !s.is_empty()) {
            None => SortKey::Level,
            Some(text) => SortKey::ALL
                .into_iter()
                .find(|k| k.as_str() == text)
                .ok_or_else(|| {
                    AppError::validation(
                        "sort",
                        "排序字段须为 code（编码）、name（名称）、level（级别）、street（街道）、aqi（最新 AQI）或 coverage（本月完整率）",
                    )
                })?,
        };
        let descending = match order.map(str::trim).filter(|s| !s.is_empty()) {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => {
                return Err(AppError::validation(
                    "order",
                    "排序方向须为 asc（升序）或 desc（降序）",
                ));
            }
        };
        Ok(ListOrder {
            q: q.to_string(),
            sort,
            descending,
        })
    }
}

/// The stations and sections the caller may see that match `order.q`, each air station with its latest AQI and
/// this month's coverage so far, sorted by `order` (rows without the sorted figure last, either way).
pub async fn list_with_status(
    db: &Db,
    principal: &Principal,
    order: &ListOrder,
    now: i64,
) -> AppResult<Vec<PlaceRow>> {
    let needle = order.q.to_lowercase();
    let mut rows: Vec<PlaceRow> = list(db, principal)
        .await?
        .into_iter()
        .filter(|r| {
            needle.is_empty()
                || r.name.to_lowercase().contains(&needle)
                || r.code.to_lowercase().contains(&needle)
        })
        .collect();
    let statuses = air_statuses(db, now).await?;
    for row in rows.iter_mut().filter(|r| r.kind == PointKind::AirStation) {
        if let Some((latest, coverage)) = statuses.get(&row.id) {
            row.latest = latest.clone();
            row.coverage = Some(coverage.clone());
        }
    }
    sort_rows(&mut rows, order);
    Ok(rows)
}

/// Database URL, readings data version, minute: the statuses change with new hours (the data version) and with
/// the clock through the hour in progress, so a minute is as fresh as computing them per request.
type StatusKey = (String, i64, i64);

/// Every air station's status, computed once for all callers (each list is cut from it) and at most once at a
/// time (concurrent requests wait for one computation).
static STATUS_CACHE: FlightCache<StatusKey, HashMap<i64, (Option<LatestAqi>, CoverageSoFar)>> =
    FlightCache::new(std::time::Duration::from_secs(60), 4);

/// Each air station's latest AQI and this month's coverage so far, by station id.
async fn air_statuses(
    db: &Db,
    now: i64,
) -> AppResult<std::sync::Arc<HashMap<i64, (Option<LatestAqi>, CoverageSoFar)>>> {
    let key = (
        db.url(),
        readings::service::data_version(db)
            .await
            .map_err(internal)?,
        now.div_euclid(60),
    );
    STATUS_CACHE
        .get_or_try_compute(key, || compute_air_statuses(db, now))
        .await
}

async fn compute_air_statuses(
    db: &Db,
    now: i64,
) -> AppResult<HashMap<i64, (Option<LatestAqi>, CoverageSoFar)>> {
    let stations = air::service::all_stations(db).await.map_err(internal)?;
    let ids: Vec<i64> = stations.iter().map(|s| s.id).collect();
    let today = kernel::time::cst_day(now);
    let month_start = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
    let hour_start = now - now.rem_euclid(3600);
    let hours_elapsed =
        u32::try_from((hour_start - kernel::time::cst_day_start(month_start)) / 3600).unwrap_or(0);
    let all_days = air::service::station_days(db, &ids, month_start, today)
        .await
        .map_err(internal)?;
    let mut out = HashMap::new();
    for id in ids {
        // A month back at most: an older last hour says more by its absence (—) than by its value.
        let latest = air::service::latest_hour(db, id, now, 24 * 31)
            .await
            .map_err(internal)?;
        let latest = latest.map(|l| LatestAqi {
            ts: l.ts,
            hour: kernel::time::to_cst(l.ts).format("%m-%d %H:00").to_string(),
            aqi: l.aqi.aqi,
            aqi_text: air::service::aqi_text(&l.aqi),
            level: l
                .aqi
                .level
                .map(|v| v.category().to_string())
                .unwrap_or_default(),
            colour: l
                .aqi
                .level
                .map(AqiLevel::hex)
                .unwrap_or_else(|| "#cccccc".into()),
            primary: air::service::primary_text(&l.aqi),
            stale: l.ts < hour_start - 3 * 3600,
        });
        let days: Vec<air::service::StationDay> = all_days
            .iter()
            .filter(|d| d.point_id == id)
            .cloned()
            .collect();
        // Hours before the current one only: the hour in progress is not yet due.
        let hours_valid = pm25_hours(&days).min(hours_elapsed);
        let coverage = CoverageSoFar {
            month: month_start.format("%Y-%m").to_string(),
            hours_valid,
            hours_elapsed,
            percent: percent_1(hours_valid, hours_elapsed),
        };
        out.insert(id, (latest, coverage));
    }
    Ok(out)
}

fn sort_rows(rows: &mut [PlaceRow], order: &ListOrder) {
    use std::cmp::Ordering;
    let tier = |r: &PlaceRow| {
        r.level
            .parse::<registry::model::PointLevel>()
            .map(|l| l.tier())
            .unwrap_or(usize::MAX)
    };
    // The figure a row is sorted by; `None` sorts last in both directions.
    let figure = |r: &PlaceRow| -> Option<f64> {
        match order.sort {
            // Above 500 there is no number, but the day is worse than any that has one.
            SortKey::Aqi => r.latest.as_ref().and_then(|l| {
                l.aqi
                    .map(f64::from)
                    .or_else(|| (l.aqi_text == ">500").then_some(501.0))
            }),
            SortKey::Coverage => r.coverage.as_ref().and_then(|c| c.percent),
            _ => None,
        }
    };
    rows.sort_by(|a, b| {
        let by_key = match order.sort {
            SortKey::Code => a.code.cmp(&b.code),
            SortKey::Name => a.name.cmp(&b.name),
            SortKey::Level => tier(a).cmp(&tier(b)),
            SortKey::Street => a.street.cmp(&b.street),
            SortKey::Aqi | SortKey::Coverage => match (figure(a), figure(b)) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => return Ordering::Less,
                (None, Some(_)) => return Ordering::Greater,
                (None, None) => Ordering::Equal,
            },
        };
        let by_key = if order.descending {
            by_key.reverse()
        } else {
            by_key
        };
        by_key.then_with(|| (tier(a), &a.code).cmp(&(tier(b), &b.code)))
    });
}

/// Hours with a valid audited PM2.5 value (the hours behind each day's value, valid or not as a day).
fn pm25_hours(days: &[air::service::StationDay]) -> u32 {
    days.iter()
        .map(|d| u32::from(d.values.support[Pollutant::Pm25.index()]))
        .sum()
}

/// part / whole × 100, 1 decimal; `None` when whole is 0.
fn percent_1(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| (f64::from(part) * 1000.0 / f64::from(whole)).round() / 10.0)
}

/// A station or section the caller may see, or 404.
pub async fn place(db: &Db, principal: &Principal, id: i64) -> AppResult<PlaceRow> {
    principal.require(readings::READING, Action::Read)?;
    let point = points::get(db, id).await?;
    let Some(point) =
        point.filter(|p| matches!(p.kind, PointKind::AirStation | PointKind::WaterSection))
    else {
        return Err(AppError::not_found("站点或断面不存在"));
    };
    if !points::visible_to(principal, &point) {
        return Err(AppError::not_found("站点或断面不存在"));
    }
    list(db, principal)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .ok_or_else(|| AppError::not_found("站点或断面不存在"))
}

/// The year's days to show: 1 January to the last complete CST day (or 31 December for a past year).
fn year_span(year: i32, today: NaiveDate) -> AppResult<(NaiveDate, Option<NaiveDate>)> {
    let from = NaiveDate::from_ymd_opt(year, 1, 1)
        .filter(|_| (2000..=2100).contains(&year))
        .ok_or_else(|| AppError::validation("year", "a year between 2000 and 2100"))?;
    let last = NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(from);
    let through = (today - Duration::days(1)).min(last);
    Ok((from, (through >= from).then_some(through)))
}

pub async fn air_station(
    db: &Db,
    principal: &Principal,
    id: i64,
    year: i32,
    now: i64,
) -> AppResult<AirStationView> {
    let place = place(db, principal, id).await?;
    if place.kind != PointKind::AirStation {
        return Err(AppError::not_found("空气站点不存在"));
    }
    let today = kernel::time::cst_day(now);
    let (from, through) = year_span(year, today)?;
    let days = match through {
        Some(through) => air::service::station_days(db, &[id], from, through)
            .await
            .map_err(internal)?,
        None => Vec::new(),
    };
    let values: Vec<DailyValues> = days.iter().map(|d| d.values.clone()).collect();
    let counts = match through {
        Some(through) => air::service::day_counts(&values, from, through),
        None => air::service::DayCounts::default(),
    };
    // 去年同期: last year's same days, so that a year in progress is compared like with like.
    let (last_year, last_year_span) = match through {
        Some(through) => {
            let (ly_from, ly_to) = air::assessment::same_period_last_year(from, through);
            let ly_days = air::service::station_days(db, &[id], ly_from, ly_to)
                .await
                .map_err(internal)?;
            let ly_values: Vec<DailyValues> = ly_days.into_iter().map(|d| d.values).collect();
            (
                Some(air::service::day_counts(&ly_values, ly_from, ly_to)),
                format!("{ly_from} 至 {ly_to}"),
            )
        }
        None => (None, String::new()),
    };
    let mut calendar = Vec::with_capacity(days.len());
    let mut exceedances: Vec<PollutantExceedance> = Pollutant::ALL
        .iter()
        .map(|p| PollutantExceedance {
            pollutant: p.code().to_string(),
            days: 0,
            max: None,
        })
        .collect();
    for day in &days {
        let level = day.aqi.level;
        let limits = standards::limits::Gb3095::for_date(day.values.date);
        for pollutant in Pollutant::ALL {
            if let Some(value) = day.values.value(pollutant) {
                let e = &mut exceedances[pollutant.index()];
                let v = value.to_f64();
                e.max = Some(e.max.map_or(v, |m: f64| m.max(v)));
                if value > limits.daily_limit(pollutant, ZoneClass::Class2) {
                    e.days += 1;
                }
            }
        }
        calendar.push(CalendarDay {
            date: day.values.date.format("%Y-%m-%d").to_string(),
            aqi: day.aqi.aqi,
            aqi_text: air::service::aqi_text(&day.aqi),
            level: level.map(|l| l.category().to_string()).unwrap_or_default(),
            colour: level.map(AqiLevel::hex).unwrap_or_else(|| "#dddddd".into()),
            primary: air::service::primary_text(&day.aqi),
            pm25: day.values.value(Pollutant::Pm25).map(|v| v.to_f64()),
            standard: day.aqi.standard.code().to_string(),
            counted: day.valid,
        });
    }
    // The days behind `counts.exceedance_days`: counted, level 三级 or worse.
    let mut exceedance_days: Vec<CalendarDay> = days
        .iter()
        .zip(&calendar)
        .filter(|(d, _)| d.valid && d.aqi.level.is_some_and(|l| l >= AqiLevel::Three))
        .map(|(_, c)| c.clone())
        .collect();
    exceedance_days.reverse();
    let coverage = match through {
        Some(through) => coverage(&days, from, through),
        None => Vec::new(),
    };
    let recent = recent_series(db, id, now).await?;
    Ok(AirStationView {
        place,
        year,
        through: through.map(|t| t.format("%Y-%m-%d").to_string()),
        through_label: through_label(through, year),
        calendar,
        counts,
        last_year,
        last_year_span,
        exceedance_days,
        exceedances,
        coverage,
        recent,
    })
}

/// How far a year's figures reach: `全年` for a whole year, `截至 12月6日` for a year in progress.
fn through_label(through: Option<NaiveDate>, year: i32) -> String {
    match through {
        Some(t) if NaiveDate::from_ymd_opt(year, 12, 31) == Some(t) => "全年".into(),
        Some(t) => format!("截至 {}月{}日", t.month(), t.day()),
        None => "尚无完整的一天".into(),
    }
}

/// Month by month: valid days of all six pollutants, and valid PM2.5 hours against the hours expected.
fn coverage(
    days: &[air::service::StationDay],
    from: NaiveDate,
    through: NaiveDate,
) -> Vec<MonthCoverage> {
    let mut out: Vec<MonthCoverage> = Vec::new();
    let mut date = from;
    while date <= through {
        let month = date.format("%Y-%m").to_string();
        if out.last().is_none_or(|m| m.month != month) {
            out.push(MonthCoverage {
                month: month.clone(),
                days: 0,
                valid_days: 0,
                hours_expected: 0,
                hours_valid: 0,
                percent: 0.0,
            });
        }
        if let Some(m) = out.last_mut() {
            m.days += 1;
            m.hours_expected += 24;
        }
        date += Duration::days(1);
    }
    for day in days {
        let month = day.values.date.format("%Y-%m").to_string();
        if let Some(m) = out.iter_mut().find(|m| m.month == month) {
            if day.values.all_six_valid() {
                m.valid_days += 1;
            }
            m.hours_valid += pm25_hours(std::slice::from_ref(day));
        }
    }
    for m in &mut out {
        m.percent = percent_1(m.hours_valid, m.hours_expected).unwrap_or(0.0);
    }
    out
}

/// The last 7 days of hourly values of the six pollutants (raw tier as stored, flagged values left out).
async fn recent_series(db: &Db, id: i64, now: i64) -> AppResult<Vec<Series>> {
    let from = now - 7 * 86_400;
    let rows = readings::store::rows(db, id, &[Period::Hour], from, now + 1).await?;
    let mut out = Vec::new();
    for pollutant in Pollutant::ALL {
        let code = air::service::factor_code(pollutant);
        let Some(slot) = readings::factors::index_of(code) else {
            continue;
        };
        let points: Vec<(i64, f64)> = rows
            .iter()
            .filter_map(|row| {
                let cell = row.cells[slot]?;
                readings::audit::raw_is_valid(code, &cell).then_some((row.ts * 1000, cell.value?))
            })
            .collect();
        out.push(Series {
            code: pollutant.code().to_string(),
            name: pollutant.chinese_name().to_string(),
            unit: if pollutant == Pollutant::Co {
                "mg/m³".into()
            } else {
                "µg/m³".into()
            },
            points,
        });
    }
    Ok(out)
}

pub async fn water_section(
    db: &Db,
    principal: &Principal,
    id: i64,
    year: i32,
    now: i64,
) -> AppResult<SectionView> {
    let place = place(db, principal, id).await?;
    if place.kind != PointKind::WaterSection {
        return Err(AppError::not_found("水质断面不存在"));
    }
    let section = water::service::sections(db)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| AppError::not_found("水质断面不存在"))?;
    let today = kernel::time::cst_day(now);
    let (from, through) = year_span(year, today)?;
    let body = if section.water_kind.as_deref() == Some("lake") {
        WaterBody::Lake
    } else {
        WaterBody::River
    };
    let key_items: Vec<KeyItem> = KEY_ITEMS
        .iter()
        .map(|item| KeyItem {
            code: item.hj212_code().to_string(),
            name: item.chinese_name().to_string(),
            class_iii_limit: item.class_iii_limit(body).map(|l| l.to_f64()),
        })
        .collect();
    let mut months = Vec::new();
    let mut months_sampled = 0;
    let mut months_elapsed = 0;
    if let Some(through) = through {
        let mut start = from;
        while start <= through {
            let next = start + Months::new(1);
            let end = (next - Duration::days(1)).min(through);
            let result = water::service::section_result(db, section.clone(), start, end)
                .await
                .map_err(internal)?;
            months_elapsed += 1;
            if result.samples > 0 {
                months_sampled += 1;
            }
            months.push(section_row(start.format("%Y-%m").to_string(), &result));
            start = next;
        }
    }
    let annual = match through {
        Some(through) => {
            let result = water::service::section_result(db, section.clone(), from, through)
                .await
                .map_err(internal)?;
            section_row(
                format!("{year} 年（截至 {}）", through.format("%m-%d")),
                &result,
            )
        }
        None => SectionMonth {
            period: year.to_string(),
            samples: 0,
            class: String::new(),
            meets_target: None,
            cwqi: None,
            main_pollutants: String::new(),
            key_values: vec![None; KEY_ITEMS.len()],
        },
    };
    Ok(SectionView {
        place,
        year,
        target: section
            .target_class
            .and_then(water::service::target_class)
            .map(|c| format!("{}类", c.label()))
            .unwrap_or_default(),
        water_body: format!(
            "{}（{}）",
            section.water_body.clone().unwrap_or_default(),
            if body == WaterBody::Lake {
                "湖库"
            } else {
                "河流"
            }
        ),
        key_items,
        months,
        annual,
        months_sampled,
        months_elapsed,
    })
}

fn section_row(period: String, result: &water::service::SectionResult) -> SectionMonth {
    let value_of = |item: WaterItem| {
        result
            .assessment
            .as_ref()
            .and_then(|a| a.items.iter().find(|r| r.item == item))
            .map(|r| r.value.to_f64())
    };
    SectionMonth {
        period,
        samples: result.samples,
        class: result
            .class()
            .map(|c| format!("{}类", c.label()))
            .unwrap_or_default(),
        meets_target: result.meets_target,
        cwqi: result.cwqi().map(|c| c.to_f64()),
        main_pollutants: result
            .assessment
            .as_ref()
            .map(|a| {
                a.main_pollutants
                    .iter()
                    .map(|p| {
                        format!(
                            "{}（超{}倍）",
                            p.item.chinese_name(),
                            p.exceedance_multiple.to_decimal_string(2)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("、")
            })
            .unwrap_or_default(),
        key_values: KEY_ITEMS.iter().map(|i| value_of(*i)).collect(),
    }
}
