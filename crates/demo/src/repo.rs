//! The demo's own SQL: how many users there are, for the summary printed at start (the registry's counts come
//! from `registry::service::counts`).

use kernel::Db;

pub async fn users(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM users")
        .fetch_one(db.pool())
        .await
}
