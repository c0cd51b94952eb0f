//! The monitoring points the readings belong to, as the readings area shows them. The registry owns the points
//! (`registry::service` reads and registers them); this module keeps the part of a point the readings API
//! returns and the rule of who may see a point's data.

use kernel::{AppError, AppResult, Db, Principal, Role};
use registry::model::{MonitoringPoint, PointKind};
use serde::Serialize;

/// What the readings area needs to know of a point.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PointInfo {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: PointKind,
    pub street_id: Option<i64>,
}

impl From<MonitoringPoint> for PointInfo {
    fn from(point: MonitoringPoint) -> PointInfo {
        PointInfo {
            id: point.id,
            code: point.code,
            name: point.name,
            kind: point.kind,
            street_id: point.street_id,
        }
    }
}

pub async fn get(db: &Db, id: i64) -> AppResult<Option<PointInfo>> {
    Ok(registry::service::point(db, id).await?.map(PointInfo::from))
}

pub async fn by_code(db: &Db, code: &str) -> AppResult<Option<PointInfo>> {
    Ok(registry::service::point_by_code(db, code)
        .await?
        .map(PointInfo::from))
}

/// Every point, ordered by id.
pub async fn all(db: &Db) -> AppResult<Vec<PointInfo>> {
    let points = registry::service::points(db).await?;
    Ok(points.into_iter().map(PointInfo::from).collect())
}

/// Active points of one kind, ordered by id.
pub async fn of_kind(db: &Db, kind: PointKind) -> AppResult<Vec<PointInfo>> {
    let points = registry::service::active_points(db, kind).await?;
    Ok(points.into_iter().map(PointInfo::from).collect())
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

/// Whether the caller may see the data of a point of this kind and street: the public sees air stations and
/// water sections only; a street officer sees the points of their street; other roles that may read readings
/// see every point.
pub fn sees(principal: &Principal, kind: PointKind, street_id: Option<i64>) -> bool {
    if principal.role == Role::Public {
        return kind.is_public();
    }
    principal.sees_street(street_id)
}

/// [`sees`] for a point.
pub fn visible_to(principal: &Principal, point: &PointInfo) -> bool {
    sees(principal, point.kind, point.street_id)
}

/// The point, if it exists and the caller may see it; otherwise 404 (existence is not revealed).
pub async fn visible(db: &Db, principal: &Principal, id: i64) -> AppResult<PointInfo> {
    match get(db, id).await? {
        Some(point) if visible_to(principal, &point) => Ok(point),
        _ => Err(AppError::not_found("monitoring point not found")),
    }
}
