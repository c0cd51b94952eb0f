//! Assembling the station and section views from the air and water services; scoping by the readings rules
//! (the public sees stations and sections, a street officer only their street's, 404 otherwise).

use chrono::{Duration, Months, NaiveDate};
use kernel::{Action, AppError, AppResult, Db, Principal};
use readings::model::Period;
use readings::points::{self, level_label};
use registry::model::PointKind;
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
        };
        if points::sees(principal, row.kind, s.street_id) {
            out.push(row);
        }
    }
    Ok(out)
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
    let mut calendar = Vec::with_capacity(days.len());
    let mut level_days = [0u32; 6];
    let mut days_without_aqi = 0;
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
        match (day.aqi.aqi, level) {
            (_, Some(level)) => level_days[level.number() as usize - 1] += 1,
            (_, None) => days_without_aqi += 1,
        }
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
            level: level.map(|l| l.category().to_string()).unwrap_or_default(),
            colour: level.map(AqiLevel::hex).unwrap_or_else(|| "#dddddd".into()),
            primary: day
                .aqi
                .primary_pollutants
                .iter()
                .map(|i| i.pollutant().code())
                .collect::<Vec<_>>()
                .join("、"),
            pm25: day.values.value(Pollutant::Pm25).map(|v| v.to_f64()),
            standard: day.aqi.standard.code().to_string(),
        });
    }
    let mut exceedance_days: Vec<CalendarDay> = calendar
        .iter()
        .filter(|d| d.aqi.is_some_and(|a| a > 100) || d.level.contains("污染"))
        .cloned()
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
        calendar,
        level_days,
        days_without_aqi,
        exceedance_days,
        exceedances,
        coverage,
        recent,
    })
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
            m.hours_valid += u32::from(day.values.support[Pollutant::Pm25.index()]);
        }
    }
    for m in &mut out {
        m.percent = if m.hours_expected == 0 {
            0.0
        } else {
            (f64::from(m.hours_valid) * 1000.0 / f64::from(m.hours_expected)).round() / 10.0
        };
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
