//! Statistics of a year, the map of cases, and persistent sources (the same enterprise or place again and
//! again).

use std::collections::{BTreeSet, HashMap};

use chrono::{Datelike, NaiveDate};
use kernel::time::{DAY_SECONDS, cst_day_start};
use kernel::{Action, AppError, AppResult, Db, Principal};

use super::cases::{month_range, parse_optional};
use super::deadlines::{context, date_text};
use super::settings::settings;
use crate::model::*;
use crate::repo;

/// What a case without a street is listed under.
const NO_STREET: &str = "（未定街道）";

fn year_range(year: i32) -> AppResult<(i64, i64)> {
    let first = NaiveDate::from_ymd_opt(year, 1, 1)
        .ok_or_else(|| AppError::validation("year", "out of range"))?;
    let next = NaiveDate::from_ymd_opt(year + 1, 1, 1)
        .ok_or_else(|| AppError::validation("year", "out of range"))?;
    Ok((cst_day_start(first), cst_day_start(next)))
}

pub async fn statistics(
    db: &Db,
    principal: &Principal,
    year: i32,
    today: NaiveDate,
) -> AppResult<Statistics> {
    principal.require(crate::COMPLAINT, Action::Read)?;
    context(db).await?;
    let (from, to) = year_range(year)?;
    let scope = principal.street_scope();
    let by = |rows, label: fn(&str) -> String| repo::counts(rows, label);
    let street_names: HashMap<i64, String> = registry::service::streets(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let street_name = |id: &Option<i64>| {
        id.and_then(|id| street_names.get(&id).cloned())
            .unwrap_or_else(|| NO_STREET.to_string())
    };
    let mut street_counts: Vec<(String, i64)> = repo::count_by_street(db, from, to, scope)
        .await?
        .iter()
        .map(|(id, n)| (street_name(id), *n))
        .collect();
    street_counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let by_street = by(street_counts, |k| k.to_string());
    let by_category = by(
        repo::count_by(db, "category", from, to, scope).await?,
        |k| Category::parse(k).map_or(k.to_string(), |c| c.label().to_string()),
    );
    let by_channel = by(repo::count_by(db, "channel", from, to, scope).await?, |k| {
        Channel::parse(k).map_or(k.to_string(), |c| c.label().to_string())
    });
    let by_state = by(repo::count_by(db, "state", from, to, scope).await?, |k| {
        State::parse(k).map_or(k.to_string(), |c| c.label().to_string())
    });
    let facts = repo::case_facts(db, from, to, scope).await?;
    let mut months = [0_i64; 12];
    let mut noise: std::collections::BTreeMap<String, [i64; 4]> = Default::default();
    let mut repeats = 0;
    for (at, street, category, repeat) in &facts {
        let month = kernel::time::to_cst(*at).month0() as usize;
        if let Some(m) = months.get_mut(month) {
            *m += 1;
        }
        repeats += i64::from(*repeat != 0);
        if let Some(source) = Category::parse(category).and_then(Category::noise_source) {
            let row = noise.entry(street_name(street)).or_default();
            let slot = match source {
                NoiseSource::Traffic => 0,
                NoiseSource::Construction => 1,
                NoiseSource::Industrial => 2,
                NoiseSource::SocialLife => 3,
            };
            row[slot] += 1;
        }
    }
    Ok(Statistics {
        year,
        total: i64::try_from(facts.len()).unwrap_or(i64::MAX),
        by_street,
        by_category,
        by_channel,
        by_month: months
            .iter()
            .enumerate()
            .map(|(i, n)| Count {
                key: format!("{year}-{:02}", i + 1),
                label: format!("{}月", i + 1),
                count: *n,
            })
            .collect(),
        by_state,
        noise_survey: noise
            .into_iter()
            .map(
                |(street, [traffic, construction, industrial, social_life])| NoiseSurveyRow {
                    street,
                    traffic,
                    construction,
                    industrial,
                    social_life,
                },
            )
            .collect(),
        repeats,
        overdue_open: repo::count_overdue_open(db, &date_text(today), scope).await?,
    })
}

pub async fn map_points(
    db: &Db,
    principal: &Principal,
    year: i32,
    month: Option<&str>,
    category: Option<&str>,
) -> AppResult<Vec<MapPoint>> {
    principal.require(crate::COMPLAINT, Action::Read)?;
    let (from, to) = match month.map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => {
            month_range(m).ok_or_else(|| AppError::validation("month", "must be YYYY-MM"))?
        }
        None => year_range(year)?,
    };
    let category = parse_optional(
        "category",
        &category.map(str::to_string),
        Category::parse,
        Category::codes(),
    )?;
    Ok(repo::map_points(db, from, to, category, principal.street_scope()).await?)
}

pub async fn persistent_sources(
    db: &Db,
    principal: &Principal,
    now: i64,
) -> AppResult<Vec<PersistentSource>> {
    principal.require(crate::COMPLAINT, Action::Read)?;
    let settings = settings(db).await?;
    let since = now - settings.persistent_window_days * DAY_SECONDS;
    let groups = repo::persistent_sources(
        db,
        since,
        settings.persistent_min_cases,
        principal.street_scope(),
    )
    .await?;
    let streets: HashMap<i64, String> = registry::service::streets(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let enterprise_ids: BTreeSet<i64> = groups.iter().filter_map(|g| g.enterprise_id).collect();
    let enterprises: HashMap<i64, registry::model::Enterprise> =
        registry::service::enterprises_by_ids(db, &enterprise_ids.into_iter().collect::<Vec<_>>())
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
    Ok(groups
        .into_iter()
        .filter_map(|g| {
            // An enterprise's group is named by the registry and lies in the enterprise's street.
            let (label, street_id) = match g.enterprise_id.map(|id| enterprises.get(&id)) {
                Some(enterprise) => {
                    let enterprise = enterprise?;
                    (enterprise.name.clone(), Some(enterprise.street_id))
                }
                None => (g.label.unwrap_or_default(), g.street_id),
            };
            Some(PersistentSource {
                kind: if g.enterprise_id.is_some() {
                    "enterprise"
                } else {
                    "place"
                }
                .to_string(),
                enterprise_id: g.enterprise_id,
                root_case_id: g.root_id,
                label,
                street_name: street_id.and_then(|id| streets.get(&id).cloned()),
                category: Category::parse(&g.category)?,
                cases: g.cases,
                open_cases: g.open_cases,
                last_received_at: g.last_received_at,
            })
        })
        .collect())
}
