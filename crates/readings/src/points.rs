//! The monitoring points the readings belong to, read (and, for imports, registered) with SQL of our own:
//! the registry area owns the full record; this module needs only code, kind and street.

use kernel::{Db, Principal, Role};
use serde::Serialize;
use sqlx::Row as _;

/// What the readings area needs to know of a point.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PointInfo {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// `air_station`, `water_section` or `outlet`.
    pub kind: String,
    pub street_id: Option<i64>,
}

const COLUMNS: &str = "id, code, name, kind, street_id";

fn decode(row: &sqlx::any::AnyRow) -> Result<PointInfo, sqlx::Error> {
    Ok(PointInfo {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
        street_id: row.try_get("street_id")?,
    })
}

pub async fn get(db: &Db, id: i64) -> Result<Option<PointInfo>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM monitoring_points WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(decode).transpose()
}

pub async fn by_code(db: &Db, code: &str) -> Result<Option<PointInfo>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM monitoring_points WHERE code = $1"
    )))
    .bind(code)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(decode).transpose()
}

/// Every point, ordered by id.
pub async fn all(db: &Db) -> Result<Vec<PointInfo>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM monitoring_points ORDER BY id"
    )))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(decode).collect()
}

/// The Chinese label of a point's level (国控, 市控, 区控, 微站, 企业).
pub fn level_label(level: &str) -> &'static str {
    match level {
        "national" => "国控",
        "municipal" => "市控",
        "district" => "区控",
        "micro" => "微站",
        "enterprise" => "企业",
        _ => "其他",
    }
}

/// Active points of one kind (e.g. `air_station`), ordered by id.
pub async fn of_kind(db: &Db, kind: &str) -> Result<Vec<PointInfo>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM monitoring_points WHERE kind = $1 AND active = 1 ORDER BY id"
    )))
    .bind(kind)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(decode).collect()
}

/// A point to register (imports meeting a station the registry does not know).
#[derive(Debug, Clone)]
pub struct NewPoint {
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    /// `national`, `municipal`, `district`, `micro` or `enterprise`.
    pub level: String,
    pub street_id: Option<i64>,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub owner: String,
}

pub async fn register(db: &Db, point: &NewPoint) -> Result<i64, sqlx::Error> {
    let now = kernel::time::now_ts();
    sqlx::query_scalar(
        "INSERT INTO monitoring_points (code, name, kind, level, street_id, lon, lat, owner, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
    )
    .bind(&point.code)
    .bind(&point.name)
    .bind(point.kind)
    .bind(&point.level)
    .bind(point.street_id)
    .bind(point.lon)
    .bind(point.lat)
    .bind(&point.owner)
    .bind(now)
    .fetch_one(db.pool())
    .await
}

/// Whether the caller may see this point's data: the public sees air stations and water sections only; a
/// street officer sees the points of their street; other roles that may read readings see every point.
pub fn visible_to(principal: &Principal, point: &PointInfo) -> bool {
    if principal.role == Role::Public {
        return matches!(point.kind.as_str(), "air_station" | "water_section");
    }
    principal.sees_street(point.street_id)
}

/// The point, if it exists and the caller may see it; otherwise 404 (existence is not revealed).
pub async fn visible(
    db: &Db,
    principal: &Principal,
    id: i64,
) -> Result<PointInfo, kernel::AppError> {
    match get(db, id).await? {
        Some(point) if visible_to(principal, &point) => Ok(point),
        _ => Err(kernel::AppError::not_found("monitoring point not found")),
    }
}
