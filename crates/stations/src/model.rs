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
}

/// One day of an air station's calendar.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CalendarDay {
    /// `YYYY-MM-DD` (CST).
    pub date: String,
    /// `None`: no AQI that day (too few valid hours).
    pub aqi: Option<u32>,
    pub level: String,
    pub colour: String,
    pub primary: String,
    /// Daily PM2.5, µg/m³.
    pub pm25: Option<f64>,
    pub standard: String,
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
    pub calendar: Vec<CalendarDay>,
    /// Days per AQI level 一级 … 六级, and days without an AQI.
    pub level_days: [u32; 6],
    pub days_without_aqi: u32,
    /// Days with AQI > 100, newest first.
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
