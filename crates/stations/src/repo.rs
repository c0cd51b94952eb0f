//! The only SQL of the area: street names for display.

use std::collections::HashMap;

use kernel::Db;
use sqlx::Row as _;

pub async fn street_names(db: &Db) -> Result<HashMap<i64, String>, sqlx::Error> {
    let rows = sqlx::query("SELECT id, name FROM streets")
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("id")?, row.try_get("name")?)))
        .collect()
}
