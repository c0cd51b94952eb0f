//! The only SQL of the air area: which air stations exist.

use kernel::Db;
use kernel::db::SqlBuilder;
use serde::Serialize;
use sqlx::Row as _;

/// An air station as the air figures need it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Station {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// `national`, `municipal`, `district` or `micro`.
    pub level: String,
    pub street_id: Option<i64>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub simulated: bool,
}

/// Active air stations of these levels (and of one street if given), national first, then by code.
pub async fn air_stations(
    db: &Db,
    levels: &[&str],
    street_id: Option<i64>,
) -> Result<Vec<Station>, sqlx::Error> {
    let mut b = SqlBuilder::new(
        "SELECT id, code, name, level, street_id, lon, lat, simulated FROM monitoring_points \
         WHERE kind = 'air_station' AND active = 1 AND level IN (",
    );
    for (i, level) in levels.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.push_bind(level.to_string());
    }
    b.push(")");
    if let Some(street) = street_id {
        b.push(" AND street_id = ").push_bind(street);
    }
    b.push(
        " ORDER BY CASE level WHEN 'national' THEN 0 WHEN 'municipal' THEN 1 WHEN 'district' THEN 2 ELSE 3 END, code",
    );
    let rows = b.build().fetch_all(db.pool()).await?;
    rows.iter()
        .map(|row| {
            let simulated: i64 = row.try_get("simulated")?;
            Ok(Station {
                id: row.try_get("id")?,
                code: row.try_get("code")?,
                name: row.try_get("name")?,
                level: row.try_get("level")?,
                street_id: row.try_get("street_id")?,
                lon: row.try_get("lon")?,
                lat: row.try_get("lat")?,
                simulated: simulated != 0,
            })
        })
        .collect()
}
