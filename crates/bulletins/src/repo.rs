//! The only SQL of the area: the ranking settings.

use kernel::Db;
use sqlx::AnyConnection;

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
