//! What the rankings read from the other areas: the streets (registry::service), air area days (air::service)
//! and water section results (water::service), turned into the ranking's inputs.

use chrono::NaiveDate;
use kernel::{AppError, AppResult, Db};
use standards::aggregate::DailyValues;

use crate::model::SectionPoint as Point;
use crate::service::SectionInput;

fn internal(e: anyhow::Error) -> AppError {
    AppError::Internal(e)
}

/// A street (街道) of the district.
#[derive(Clone, Debug, PartialEq)]
pub struct Street {
    pub id: i64,
    pub name: String,
}

/// The district's streets, by code.
pub async fn streets(db: &Db) -> AppResult<Vec<Street>> {
    let mut streets = registry::service::streets(db).await?;
    streets.sort_by(|a, b| (&a.code, a.id).cmp(&(&b.code, b.id)));
    Ok(streets
        .into_iter()
        .map(|s| Street {
            id: s.id,
            name: s.name,
        })
        .collect())
}

/// The HJ 663 area days of the stations `ids` over `from..=to` (no stations: no days).
pub async fn area_days(
    db: &Db,
    ids: &[i64],
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<DailyValues>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(air::service::area_days(db, ids, from, to)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|day| day.values)
        .collect())
}

/// The district's assessment stations (national and municipal).
pub async fn assessment_stations(db: &Db) -> AppResult<Vec<i64>> {
    Ok(air::service::assessment_stations(db)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|s| s.id)
        .collect())
}

/// The active micro-stations as (station, street).
pub async fn micro_stations(db: &Db) -> AppResult<Vec<(i64, Option<i64>)>> {
    Ok(air::service::micro_stations(db, None)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|s| (s.id, s.street_id))
        .collect())
}

/// Every active section over `from..=to` (water::service): the sections as points, and the results of those
/// with samples as the ranking's inputs (mean item concentrations, class, CWQI, target).
pub async fn sections(
    db: &Db,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<(Vec<Point>, Vec<SectionInput>)> {
    let results = water::service::section_results(db, from, to)
        .await
        .map_err(internal)?;
    let points = results
        .iter()
        .map(|r| Point {
            id: r.section.id,
            name: r.section.name.clone(),
            street_id: r.section.street_id,
        })
        .collect();
    let inputs = results
        .into_iter()
        .filter_map(|r| {
            let assessment = r.assessment?;
            Some(SectionInput {
                point_id: r.section.id,
                name: r.section.name,
                street_id: r.section.street_id,
                body: assessment.body,
                target_class: r.target,
                class: assessment.class,
                cwqi: assessment.cwqi,
                items: assessment.items.iter().map(|i| (i.item, i.value)).collect(),
            })
        })
        .collect();
    Ok((points, inputs))
}
