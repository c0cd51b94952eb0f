//! The only SQL of the area: the ranking settings and the issued bulletins.

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

// ---- issued bulletins (bulletin_issues) ----

/// An issued version's particulars, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct IssueRow {
    pub month: String,
    pub version: i64,
    pub number: String,
    pub issued_at: i64,
    pub issued_by: String,
    pub digest: String,
}

const ISSUE_COLUMNS: &str = "month, version, number, issued_at, issued_by, digest";

fn issue_row(row: &sqlx::any::AnyRow) -> Result<IssueRow, sqlx::Error> {
    use sqlx::Row;
    Ok(IssueRow {
        month: row.try_get("month")?,
        version: row.try_get("version")?,
        number: row.try_get("number")?,
        issued_at: row.try_get("issued_at")?,
        issued_by: row.try_get("issued_by")?,
        digest: row.try_get("digest")?,
    })
}

/// The issued versions of `month`, newest first.
pub async fn issues(db: &Db, month: &str) -> Result<Vec<IssueRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {ISSUE_COLUMNS} FROM bulletin_issues WHERE month = $1 ORDER BY version DESC"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(month)
        .fetch_all(db.pool())
        .await?;
    rows.iter().map(issue_row).collect()
}

/// What of a stored bulletin to read: each is one column, so that a read fetches only what it serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Figures,
    Html,
    Xlsx,
    Pdf,
}

impl Part {
    fn column(self) -> &'static str {
        match self {
            Part::Figures => "figures",
            Part::Html => "html",
            Part::Xlsx => "xlsx",
            Part::Pdf => "pdf",
        }
    }
}

/// One part of the stored bulletin of `month`: of `version`, or of the newest version when `None`.
pub async fn issue_part(
    db: &Db,
    month: &str,
    version: Option<i64>,
    part: Part,
) -> Result<Option<(IssueRow, PartValue)>, sqlx::Error> {
    use sqlx::Row;
    let column = part.column();
    let sql = match version {
        Some(_) => format!(
            "SELECT {ISSUE_COLUMNS}, {column} FROM bulletin_issues WHERE month = $1 AND version = $2"
        ),
        None => format!(
            "SELECT {ISSUE_COLUMNS}, {column} FROM bulletin_issues WHERE month = $1 \
             ORDER BY version DESC LIMIT 1"
        ),
    };
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(month);
    if let Some(v) = version {
        query = query.bind(v);
    }
    let Some(row) = query.fetch_optional(db.pool()).await? else {
        return Ok(None);
    };
    let value = match part {
        Part::Figures | Part::Html => PartValue::Text(row.try_get(column)?),
        Part::Xlsx | Part::Pdf => PartValue::Bytes(row.try_get(column)?),
    };
    Ok(Some((issue_row(&row)?, value)))
}

/// A stored part: text (figures, HTML) or bytes (XLSX, PDF).
#[derive(Clone, Debug, PartialEq)]
pub enum PartValue {
    Text(String),
    Bytes(Vec<u8>),
}

impl PartValue {
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            PartValue::Text(text) => text.into_bytes(),
            PartValue::Bytes(bytes) => bytes,
        }
    }
}

/// The next version of `month` and the next sequence number of `year`, read in the issuing transaction.
pub async fn next_numbers(
    conn: &mut AnyConnection,
    month: &str,
    year: i32,
) -> Result<(i64, i64), sqlx::Error> {
    let version: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(MAX(version), 0) + 1 AS BIGINT) FROM bulletin_issues WHERE month = $1",
    )
    .bind(month)
    .fetch_one(&mut *conn)
    .await?;
    let sequence: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(MAX(sequence), 0) + 1 AS BIGINT) FROM bulletin_issues WHERE year = $1",
    )
    .bind(i64::from(year))
    .fetch_one(&mut *conn)
    .await?;
    Ok((version, sequence))
}

/// A bulletin to store as issued.
pub struct NewIssue<'a> {
    pub row: &'a IssueRow,
    pub year: i32,
    pub sequence: i64,
    pub figures: &'a str,
    pub html: &'a str,
    pub xlsx: &'a [u8],
    pub pdf: &'a [u8],
}

pub async fn insert_issue(conn: &mut AnyConnection, new: &NewIssue<'_>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO bulletin_issues (month, version, number, year, sequence, issued_at, issued_by, digest, \
         figures, html, xlsx, pdf) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&new.row.month)
    .bind(new.row.version)
    .bind(&new.row.number)
    .bind(i64::from(new.year))
    .bind(new.sequence)
    .bind(new.row.issued_at)
    .bind(&new.row.issued_by)
    .bind(&new.row.digest)
    .bind(new.figures)
    .bind(new.html)
    .bind(new.xlsx.to_vec())
    .bind(new.pdf.to_vec())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
