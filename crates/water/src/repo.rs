//! The only SQL of the water area: which sections exist.

use kernel::Db;
use serde::Serialize;
use sqlx::Row as _;

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

/// Active water sections, national first, then by code.
pub async fn sections(db: &Db) -> Result<Vec<Section>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, code, name, level, street_id, water_body, water_kind, target_class, lon, lat, simulated \
         FROM monitoring_points WHERE kind = 'water_section' AND active = 1 \
         ORDER BY CASE level WHEN 'national' THEN 0 WHEN 'municipal' THEN 1 ELSE 2 END, code",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let simulated: i64 = row.try_get("simulated")?;
            Ok(Section {
                id: row.try_get("id")?,
                code: row.try_get("code")?,
                name: row.try_get("name")?,
                level: row.try_get("level")?,
                street_id: row.try_get("street_id")?,
                water_body: row.try_get("water_body")?,
                water_kind: row.try_get("water_kind")?,
                target_class: row.try_get("target_class")?,
                lon: row.try_get("lon")?,
                lat: row.try_get("lat")?,
                simulated: simulated != 0,
            })
        })
        .collect()
}
