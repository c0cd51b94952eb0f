//! The analyses' request parameters and the envelope every answer comes in.

use chrono::NaiveDate;
use registry::model::PointKind;
use serde::{Deserialize, Serialize};

/// Parameters of every analysis (each endpoint reads the ones it needs and ignores the rest).
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalysisQuery {
    /// Monitoring point id; default the national station 1021A when the caller may see it, else the first air
    /// station the caller may see.
    pub point: Option<i64>,
    /// HJ 212 factor code; default a34004 (PM2.5).
    pub factor: Option<String>,
    /// First CST day `YYYY-MM-DD`; default one year before `to`.
    pub from: Option<String>,
    /// Last CST day (inclusive); default today.
    pub to: Option<String>,
    /// Rose: direction sectors, one of 4, 8, 12, 16, 36 (default 16).
    #[param(schema_with = sectors_schema)]
    pub sectors: Option<usize>,
    /// Polar plot: kernel bandwidth in m/s (0 = binned means only; default 1, at most 5).
    pub bandwidth: Option<f64>,
    /// Polar plot: least hours for a bin's mean (default 3, 1–100).
    pub min_count: Option<usize>,
    /// Trend: deseasonalise the monthly means (default false).
    pub deseasonalise: Option<bool>,
    /// Calendar: the year (default the year of `to`).
    pub year: Option<i32>,
    /// Before/after: the date of the change (required there).
    pub date: Option<String>,
    /// Before/after: days in each window (default 90, 7–365).
    pub days: Option<u32>,
}

/// The point an analysis ran on.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PointRef {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: PointKind,
}

/// The factor an analysis ran on.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FactorRef {
    pub code: String,
    pub name: String,
    pub unit: String,
}

/// What was asked, validated.
#[derive(Debug, Clone)]
pub struct Selection {
    pub point: PointRef,
    pub factor: FactorRef,
    /// CST days, both inclusive.
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Selection {
    /// `[start, end)` in Unix seconds.
    pub fn span(&self) -> (i64, i64) {
        (
            kernel::time::cst_day_start(self.from),
            kernel::time::cst_day_start(self.to) + kernel::time::DAY_SECONDS,
        )
    }
}

/// Every analysis answer: what it ran on, the question it answers, plain-language notes (no wind data, too few
/// months …) and the numbers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Analysis<T> {
    pub point: PointRef,
    pub factor: FactorRef,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The question this analysis answers (中文).
    pub question: &'static str,
    /// The method, in one line (details in docs/analysis.md).
    pub method: &'static str,
    pub notes: Vec<String>,
    pub result: T,
}

/// The pollution rose, or why there is none.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoseResult {
    /// The point has wind direction data in the period.
    pub wind: bool,
    pub rose: crate::wind::Rose,
}

/// The polar plot, or why there is none.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PolarResult {
    /// The point has wind direction and speed data in the period.
    pub wind: bool,
    pub polar: crate::wind::Polar,
}

/// The points a caller may analyse, for the page's chooser.
#[derive(Debug, Clone, Serialize)]
pub struct PointChoice {
    pub id: i64,
    pub label: String,
    pub kind_label: &'static str,
}

/// The chooser's group of a point kind (shorter than the registry's labels).
pub fn kind_label(kind: PointKind) -> &'static str {
    match kind {
        PointKind::AirStation => "空气站",
        PointKind::WaterSection => "水质断面",
        PointKind::Outlet => "排放口",
    }
}

fn sectors_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Integer)
        .description(Some("Rose: direction sectors (default 16)"))
        .enum_values(Some(crate::wind::SECTOR_CHOICES))
        .build()
}
