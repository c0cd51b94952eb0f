//! The demo's own SQL: the district row and the question "is the demo already here?".

use kernel::Db;

pub async fn district_exists(db: &Db, code: &str) -> Result<bool, sqlx::Error> {
    let n: i64 =
        sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM district WHERE code = $1")
            .bind(code)
            .fetch_one(db.pool())
            .await?;
    Ok(n > 0)
}

/// (table, rows) counts for the summary printed at start.
pub async fn counts(db: &Db) -> Result<Vec<(&'static str, i64)>, sqlx::Error> {
    let mut out = Vec::new();
    for (label, sql) in [
        ("streets", "SELECT CAST(COUNT(*) AS BIGINT) FROM streets"),
        (
            "enterprises",
            "SELECT CAST(COUNT(*) AS BIGINT) FROM enterprises",
        ),
        (
            "monitoring points",
            "SELECT CAST(COUNT(*) AS BIGINT) FROM monitoring_points",
        ),
        ("devices", "SELECT CAST(COUNT(*) AS BIGINT) FROM devices"),
        ("users", "SELECT CAST(COUNT(*) AS BIGINT) FROM users"),
    ] {
        let n: i64 = sqlx::query_scalar(sql).fetch_one(db.pool()).await?;
        out.push((label, n));
    }
    Ok(out)
}
