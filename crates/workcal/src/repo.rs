//! The only SQL of the calendar area (portable dialect, kernel::db).

use kernel::Db;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// A stored year.
#[derive(Debug, Clone)]
pub struct YearRow {
    pub year: i32,
    pub status: String,
    pub notice: String,
    pub notice_date: Option<String>,
    pub note: String,
    pub version: i64,
    pub updated_by: String,
    pub updated_at: i64,
}

/// A stored day: (day, year, kind, name).
pub type DayRow = (String, i32, String, String);

fn year_from_row(r: &AnyRow) -> Result<YearRow, sqlx::Error> {
    let year: i64 = r.try_get("year")?;
    Ok(YearRow {
        year: i32::try_from(year).map_err(|e| sqlx::Error::Decode(e.into()))?,
        status: r.try_get("status")?,
        notice: r.try_get("notice")?,
        notice_date: r.try_get("notice_date")?,
        note: r.try_get("note")?,
        version: r.try_get("version")?,
        updated_by: r.try_get("updated_by")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const YEAR_COLUMNS: &str = "SELECT year, status, notice, notice_date, note, version, updated_by, updated_at FROM working_calendar_years";

pub async fn years(db: &Db) -> Result<Vec<YearRow>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{YEAR_COLUMNS} ORDER BY year")))
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(year_from_row).collect()
}

pub async fn year(conn: &mut AnyConnection, year: i32) -> Result<Option<YearRow>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{YEAR_COLUMNS} WHERE year = $1"
    )))
    .bind(i64::from(year))
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(year_from_row).transpose()
}

fn day_from_row(r: &AnyRow) -> Result<DayRow, sqlx::Error> {
    let year: i64 = r.try_get("year")?;
    Ok((
        r.try_get("day")?,
        i32::try_from(year).map_err(|e| sqlx::Error::Decode(e.into()))?,
        r.try_get("kind")?,
        r.try_get("name")?,
    ))
}

/// Every stored day (a few hundred rows), for building the calendar.
pub async fn all_days(db: &Db) -> Result<Vec<DayRow>, sqlx::Error> {
    let rows = sqlx::query("SELECT day, year, kind, name FROM working_calendar_days ORDER BY day")
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(day_from_row).collect()
}

pub async fn days_of(conn: &mut AnyConnection, year: i32) -> Result<Vec<DayRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT day, year, kind, name FROM working_calendar_days WHERE year = $1 ORDER BY day",
    )
    .bind(i64::from(year))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(day_from_row).collect()
}

/// The fields of a year to store.
pub struct YearWrite<'a> {
    pub year: i32,
    pub status: &'a str,
    pub notice: &'a str,
    pub notice_date: Option<&'a str>,
    pub note: &'a str,
    pub by: &'a str,
    pub now: i64,
}

pub async fn insert_year(conn: &mut AnyConnection, y: &YearWrite<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO working_calendar_years (year, status, notice, notice_date, note, version, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $7)",
    )
    .bind(i64::from(y.year))
    .bind(y.status)
    .bind(y.notice)
    .bind(y.notice_date)
    .bind(y.note)
    .bind(y.by)
    .bind(y.now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Updates a year at `version`; false when it was changed meanwhile.
pub async fn update_year(
    conn: &mut AnyConnection,
    y: &YearWrite<'_>,
    version: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE working_calendar_years SET status = $1, notice = $2, notice_date = $3, note = $4, \
         version = version + 1, updated_by = $5, updated_at = $6 WHERE year = $7 AND version = $8",
    )
    .bind(y.status)
    .bind(y.notice)
    .bind(y.notice_date)
    .bind(y.note)
    .bind(y.by)
    .bind(y.now)
    .bind(i64::from(y.year))
    .bind(version)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the listed days of a year.
pub async fn replace_days(
    conn: &mut AnyConnection,
    year: i32,
    days: &[(String, &str, String)],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM working_calendar_days WHERE year = $1")
        .bind(i64::from(year))
        .execute(&mut *conn)
        .await?;
    for (day, kind, name) in days {
        sqlx::query(
            "INSERT INTO working_calendar_days (day, year, kind, name) VALUES ($1, $2, $3, $4)",
        )
        .bind(day)
        .bind(i64::from(year))
        .bind(*kind)
        .bind(name)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
