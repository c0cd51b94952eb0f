//! Section results from the samples in the readings store: what the dashboard, the targets, the street rankings
//! and the bulletins read for water.
//!
//! Samples are `period = 'day'` readings of a `water_section` point (the sampling day), one column per GB 3838
//! item named by its HJ 212 code (`standards::water::WaterItem::code` ⇄ `readings::factors`). The audited tier
//! counts: corrections apply, invalid or flagged values are left out. For a period, each item's samples are
//! averaged (`standards::water::mean_of_samples`: arithmetic, pH by hydrogen ion, rounded to the reporting
//! decimals), then the section is classed by the single-factor method over the 21 assessed items, with CWQI and
//! main pollutants (`standards::water::assess_section`).

use chrono::{Duration, NaiveDate};
use kernel::Db;
use kernel::time::cst_day_start;
use readings::audit;
use readings::factors;
use readings::model::Period;
use readings::store;
use registry::model::PointKind;
use serde::Serialize;
use standards::exact::Exact;
use standards::settings::WaterSettings;
use standards::water::{
    SectionAssessment, WaterBody, WaterClass, WaterItem, assess_section, mean_of_samples,
};

/// A surface-water monitoring section (断面).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// `national` (国控), `municipal` (市控) or `district`.
    pub level: String,
    pub street_id: Option<i64>,
    pub water_body: Option<String>,
    /// `river` or `lake`.
    pub water_kind: Option<String>,
    /// The class the section must reach (1–5 for I–V).
    pub target_class: Option<i64>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub simulated: bool,
}

/// Active water sections from the registry, by control tier (national first), then by code.
pub async fn sections(db: &Db) -> anyhow::Result<Vec<Section>> {
    let mut points = registry::service::active_points(db, PointKind::WaterSection).await?;
    points.sort_by(|a, b| (a.level.tier(), &a.code).cmp(&(b.level.tier(), &b.code)));
    Ok(points
        .into_iter()
        .map(|p| Section {
            id: p.id,
            code: p.code,
            name: p.name,
            level: p.level.as_str().to_string(),
            street_id: p.street_id,
            water_body: p.water_body,
            water_kind: p.water_kind.map(|k| k.as_str().to_string()),
            target_class: p.target_class,
            lon: p.lon,
            lat: p.lat,
            simulated: p.simulated,
        })
        .collect())
}

/// One section over one period.
#[derive(Debug, Clone, Serialize)]
pub struct SectionResult {
    pub section: Section,
    /// Sampling days in the period with at least one valid value.
    pub samples: usize,
    /// `None` when the section has no valid sample in the period.
    pub assessment: Option<SectionAssessment>,
    /// The section's target class, I–V.
    pub target: Option<WaterClass>,
    /// Whether the class is at or better than the target (`None`: no class or no target).
    pub meets_target: Option<bool>,
}

impl SectionResult {
    pub fn class(&self) -> Option<WaterClass> {
        self.assessment.as_ref().and_then(|a| a.class)
    }

    pub fn cwqi(&self) -> Option<Exact> {
        self.assessment.as_ref().and_then(|a| a.cwqi)
    }
}

/// The class I–V of a stored target (1–5).
pub fn target_class(value: i64) -> Option<WaterClass> {
    WaterClass::ALL
        .get(usize::try_from(value).ok()?.checked_sub(1)?)
        .copied()
        .filter(|c| *c != WaterClass::WorseThanV)
}

/// Every active section over the CST days `from..=to`.
pub async fn section_results(
    db: &Db,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<Vec<SectionResult>> {
    let sections = sections(db).await?;
    let mut out = Vec::with_capacity(sections.len());
    for section in sections {
        out.push(section_result(db, section, from, to).await?);
    }
    Ok(out)
}

/// One section over the CST days `from..=to`.
pub async fn section_result(
    db: &Db,
    section: Section,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<SectionResult> {
    let start = cst_day_start(from);
    let end = cst_day_start(to + Duration::days(1));
    let rows = store::rows(db, section.id, &[Period::Day], start, end).await?;
    let corrections = audit::latest_corrections(db, section.id, start, end).await?;
    let mut per_item: Vec<(WaterItem, Vec<Exact>)> = Vec::new();
    let mut sampling_days = 0;
    for row in &rows {
        let mut any = false;
        for item in WaterItem::ALL {
            let Some(slot) = factors::index_of(item.hj212_code()) else {
                continue;
            };
            let Some(cell) = row.cells[slot] else {
                continue;
            };
            let audited = corrections.apply(Period::Day, row.ts, item.hj212_code(), cell);
            let Some(value) = audited.value.filter(|_| audited.valid) else {
                continue;
            };
            let Some(exact) = Exact::from_f64_shortest(value).filter(|v| !v.is_negative()) else {
                continue;
            };
            any = true;
            match per_item.iter_mut().find(|(i, _)| *i == item) {
                Some((_, values)) => values.push(exact),
                None => per_item.push((item, vec![exact])),
            }
        }
        sampling_days += usize::from(any);
    }
    let settings = WaterSettings::default();
    let means: Vec<(WaterItem, Exact)> = per_item
        .iter()
        .filter_map(|(item, values)| Some((*item, mean_of_samples(*item, values, &settings)?)))
        .collect();
    let body = match section.water_kind.as_deref() {
        Some("lake") => WaterBody::Lake,
        _ => WaterBody::River,
    };
    let assessment = (!means.is_empty()).then(|| assess_section(&means, body));
    let target = section.target_class.and_then(target_class);
    let class = assessment.as_ref().and_then(|a| a.class);
    let meets_target = match (class, target) {
        (Some(class), Some(target)) => Some(class <= target),
        _ => None,
    };
    Ok(SectionResult {
        section,
        samples: sampling_days,
        assessment,
        target,
        meets_target,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_classes_are_one_to_five() {
        assert_eq!(target_class(1), Some(WaterClass::I));
        assert_eq!(target_class(3), Some(WaterClass::III));
        assert_eq!(target_class(5), Some(WaterClass::V));
        assert_eq!(target_class(0), None);
        assert_eq!(target_class(6), None);
        assert_eq!(target_class(-1), None);
    }

    #[test]
    fn every_item_has_a_column() {
        for item in WaterItem::ALL {
            assert!(factors::index_of(item.hj212_code()).is_some(), "{item:?}");
        }
    }
}
