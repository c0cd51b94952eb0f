//! The only SQL of the area: the streets, and the ranking settings.

use kernel::Db;
use sqlx::AnyConnection;

/// A street (街道) of the district.
#[derive(Clone, Debug, PartialEq)]
pub struct Street {
    pub id: i64,
    pub name: String,
}

pub async fn streets(db: &Db) -> Result<Vec<Street>, sqlx::Error> {
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM streets ORDER BY code, id")
        .fetch_all(db.pool())
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name)| Street { id, name })
        .collect())
}

pub async fn setting(db: &Db, key: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM ranking_settings WHERE key = $1")
        .bind(key)
        .fetch_optional(db.pool())
        .await
}

/// Stores one setting (insert or replace).
pub async fn put_setting(
    conn: &mut AnyConnection,
    key: &str,
    value: &str,
    by: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ranking_settings (key, value, updated_by, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_by = excluded.updated_by, \
         updated_at = excluded.updated_at",
    )
    .bind(key)
    .bind(value)
    .bind(by)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
