//! What the station and section pages show.

use serde::Serialize;

/// One row of the list of stations and sections.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlaceRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// An air station or a water section.
    pub kind: registry::model::PointKind,
    pub level: String,
    pub level_label: String,
    pub street: String,
    /// Air stations in the list: the latest reported hour's real-time AQI (`air::service::latest_hour`).
    pub latest: Option<LatestAqi>,
    /// Air stations in the list: this month's coverage so far.
    pub coverage: Option<CoverageSoFar>,
}

/// A station's latest hour: its real-time AQI by the HJ 633 edition in force.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LatestAqi {
    /// The hour's beginning, Unix seconds (UTC), and as shown (`12-07 14:00`, CST).
    pub ts: i64,
    pub hour: String,
    pub aqi: Option<u32>,
    /// The number, `>500`, or `—` (no AQI from that hour's values).
    pub aqi_text: String,
    /// 优 … 严重污染; empty without a level.
    pub level: String,
    pub colour: String,
    /// 首要污染物 (PM2.5, O3, …).
    pub primary: String,
    /// More than three hours old.
    pub stale: bool,
}

/// Valid hours of the current CST month so far (an hour with a valid audited PM2.5 value, as the station page's
/// monthly coverage counts them) against the complete hours elapsed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CoverageSoFar {
    /// `YYYY-MM`.
    pub month: String,
    pub hours_valid: u32,
    pub hours_elapsed: u32,
    /// hours_valid / hours_elapsed, percent, 1 decimal; `None` in the month's first hour.
    pub percent: Option<f64>,
}

/// One day of an air station's calendar.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CalendarDay {
    /// `YYYY-MM-DD` (CST).
    pub date: String,
    /// `None`: no number — too few valid hours, or above 500 where the HJ 633 tables end (`aqi_text` `>500`).
    pub aqi: Option<u32>,
    /// The AQI as shown: the number, `>500`, or `—`.
    pub aqi_text: String,
    /// 优 … 严重污染; empty without a level.
    pub level: String,
    pub colour: String,
    pub primary: String,
    /// Daily PM2.5, µg/m³.
    pub pm25: Option<f64>,
    pub standard: String,
    /// The day counts in `counts` (all six daily values valid).
    pub counted: bool,
}

/// Days of a year over a GB 3095 class II 24-h (O3: 8-h) limit, per pollutant.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PollutantExceedance {
    pub pollutant: String,
    pub days: u32,
    /// The highest daily value, at reporting precision.
    pub max: Option<f64>,
}

/// Data coverage of one month.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MonthCoverage {
    /// `YYYY-MM`.
    pub month: String,
    /// Calendar days of the month up to the last complete day.
    pub days: u32,
    /// Days with a valid daily value of all six pollutants (GB 3095: ≥ 20 hours each).
    pub valid_days: u32,
    /// Hours expected and hours with a valid PM2.5 value.
    pub hours_expected: u32,
    pub hours_valid: u32,
    /// hours_valid / hours_expected, percent, 1 decimal.
    pub percent: f64,
}

/// One pollutant's hourly series.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Series {
    pub code: String,
    pub name: String,
    pub unit: String,
    /// (Unix milliseconds, value).
    pub points: Vec<(i64, f64)>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AirStationView {
    pub place: PlaceRow,
    pub year: i32,
    /// The last day shown (`YYYY-MM-DD`): yesterday in the current year, 31 December before; `None` before the
    /// year's first complete day.
    pub through: Option<String>,
    /// `截至 12月6日` for a year in progress, `全年` for a past year.
    pub through_label: String,
    pub calendar: Vec<CalendarDay>,
    /// The days of 1 January … `through` as every page counts them (`air::service::day_counts`).
    pub counts: air::service::DayCounts,
    /// The same days of last year (去年同期: 1 January to the same date), counted the same way.
    pub last_year: Option<air::service::DayCounts>,
    /// `2025-01-01 至 2025-12-06`.
    pub last_year_span: String,
    /// Counted days with AQI > 100 (超标, levels 3–6), newest first.
    pub exceedance_days: Vec<CalendarDay>,
    pub exceedances: Vec<PollutantExceedance>,
    pub coverage: Vec<MonthCoverage>,
    /// The last 7 days of hourly values.
    pub recent: Vec<Series>,
}

/// A water section in one month (or the year).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SectionMonth {
    /// `YYYY-MM`, or the year for the annual row.
    pub period: String,
    pub samples: usize,
    pub class: String,
    pub meets_target: Option<bool>,
    pub cwqi: Option<f64>,
    pub main_pollutants: String,
    /// Key items' values (mg/L) in the order of `SectionView::key_items`.
    pub key_values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyItem {
    pub code: String,
    pub name: String,
    /// The class III limit for this section's water body (DO: the minimum).
    pub class_iii_limit: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SectionView {
    pub place: PlaceRow,
    pub year: i32,
    pub target: String,
    pub water_body: String,
    pub key_items: Vec<KeyItem>,
    pub months: Vec<SectionMonth>,
    pub annual: SectionMonth,
    /// Months of the year so far that have at least one sample, and months elapsed.
    pub months_sampled: u32,
    pub months_elapsed: u32,
}
