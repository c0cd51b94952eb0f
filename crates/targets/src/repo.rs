//! The targets' SQL, and the only place it lives. Portable across SQLite and PostgreSQL: `$n` placeholders,
//! flags as BIGINT 0/1, times as Unix seconds. Every function takes a connection, so the service can run
//! several of them (and the audit entry) in one transaction.

use kernel::db::flag;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::model::{Comparison, Indicator, Target, TargetFields};

type Conn = AnyConnection;
type SqlResult<T> = Result<T, sqlx::Error>;

const COLUMNS: &str = "id, year, code, title, indicator, comparison, threshold, unit, owner, plan_wording, note, \
     reported_value, evidence, reported_at, reported_by, seeded, position, created_at, updated_at";

fn decode_error(column: &str, text: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: format!("unexpected value {text:?}").into(),
    }
}

fn target_from_row(row: &AnyRow) -> SqlResult<Target> {
    let indicator: String = row.try_get("indicator")?;
    let comparison: String = row.try_get("comparison")?;
    let year: i64 = row.try_get("year")?;
    Ok(Target {
        id: row.try_get("id")?,
        year: i32::try_from(year).map_err(|_| decode_error("year", &year.to_string()))?,
        code: row.try_get("code")?,
        title: row.try_get("title")?,
        indicator: Indicator::parse(&indicator)
            .ok_or_else(|| decode_error("indicator", &indicator))?,
        comparison: Comparison::parse(&comparison)
            .ok_or_else(|| decode_error("comparison", &comparison))?,
        threshold: row.try_get("threshold")?,
        unit: row.try_get("unit")?,
        owner: row.try_get("owner")?,
        plan_wording: row.try_get("plan_wording")?,
        note: row.try_get("note")?,
        reported_value: row.try_get("reported_value")?,
        evidence: row.try_get("evidence")?,
        reported_at: row.try_get("reported_at")?,
        reported_by: row.try_get("reported_by")?,
        seeded: row.try_get::<i64, _>("seeded")? != 0,
        position: row.try_get("position")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The targets of one year, in their order.
pub async fn list(conn: &mut Conn, year: i32) -> SqlResult<Vec<Target>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM targets WHERE year = $1 ORDER BY position, id"
    )))
    .bind(i64::from(year))
    .fetch_all(conn)
    .await?;
    rows.iter().map(target_from_row).collect()
}

pub async fn get(conn: &mut Conn, id: i64) -> SqlResult<Option<Target>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM targets WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(target_from_row).transpose()
}

/// The years that have targets, newest first.
pub async fn years(conn: &mut Conn) -> SqlResult<Vec<i32>> {
    let years: Vec<i64> =
        sqlx::query_scalar("SELECT DISTINCT year FROM targets ORDER BY year DESC")
            .fetch_all(conn)
            .await?;
    Ok(years
        .into_iter()
        .filter_map(|y| i32::try_from(y).ok())
        .collect())
}

pub async fn count_of_year(conn: &mut Conn, year: i32) -> SqlResult<i64> {
    sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM targets WHERE year = $1")
        .bind(i64::from(year))
        .fetch_one(conn)
        .await
}

/// A new target; `reported_by` names who reported `fields.reported_value`, if any.
#[allow(clippy::too_many_arguments)]
pub async fn insert(
    conn: &mut Conn,
    year: i32,
    code: &str,
    indicator: Indicator,
    fields: &TargetFields,
    seeded: bool,
    position: i64,
    reported_by: Option<&str>,
    now: i64,
) -> SqlResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO targets (year, code, title, indicator, comparison, threshold, unit, owner, plan_wording, \
         note, reported_value, evidence, reported_at, reported_by, seeded, position, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17) RETURNING id",
    )
    .bind(i64::from(year))
    .bind(code)
    .bind(&fields.title)
    .bind(indicator.as_str())
    .bind(fields.comparison.as_str())
    .bind(fields.threshold)
    .bind(&fields.unit)
    .bind(&fields.owner)
    .bind(&fields.plan_wording)
    .bind(&fields.note)
    .bind(fields.reported_value)
    .bind(&fields.evidence)
    .bind(fields.reported_value.map(|_| now))
    .bind(reported_by.filter(|_| fields.reported_value.is_some()))
    .bind(flag(seeded))
    .bind(position)
    .bind(now)
    .fetch_one(conn)
    .await
}

/// Replaces the editable fields. The report's time and author change only when `report` is `Some`.
pub async fn update(
    conn: &mut Conn,
    id: i64,
    fields: &TargetFields,
    report: Option<(i64, &str)>,
    now: i64,
) -> SqlResult<u64> {
    let done = sqlx::query(
        "UPDATE targets SET title = $1, comparison = $2, threshold = $3, unit = $4, owner = $5, \
         plan_wording = $6, note = $7, reported_value = $8, evidence = $9, \
         reported_at = CASE WHEN $10 = 1 THEN $11 ELSE reported_at END, \
         reported_by = CASE WHEN $10 = 1 THEN $12 ELSE reported_by END, updated_at = $13 WHERE id = $14",
    )
    .bind(&fields.title)
    .bind(fields.comparison.as_str())
    .bind(fields.threshold)
    .bind(&fields.unit)
    .bind(&fields.owner)
    .bind(&fields.plan_wording)
    .bind(&fields.note)
    .bind(fields.reported_value)
    .bind(&fields.evidence)
    .bind(flag(report.is_some()))
    .bind(report.map(|(at, _)| at))
    .bind(report.map(|(_, by)| by.to_string()))
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The next position at the end of a year's list.
pub async fn next_position(conn: &mut Conn, year: i32) -> SqlResult<i64> {
    let max: Option<i64> =
        sqlx::query_scalar("SELECT CAST(MAX(position) AS BIGINT) FROM targets WHERE year = $1")
            .bind(i64::from(year))
            .fetch_one(conn)
            .await?;
    Ok(max.map_or(0, |m| m + 1))
}
