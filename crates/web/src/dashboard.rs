//! The leader's dashboard (总览, `/`): the year's targets, the real-time AQI of every station and yesterday's
//! district AQI, the water sections by class, open alarms, the monthly trends, and the district map with its
//! layers. Everything is computed by the areas (air, water, targets, alarms); this module only gathers and
//! draws. The same figures are served as JSON at `/api/v1/dashboard`; the base map (district and streets) comes
//! from [`crate::map`].
//!
//! The whole dashboard is kept per view stamp (data stamp, minute, role and street: [`gathered`]), so a request
//! of unchanged figures computes nothing. Beneath it, the parts every view shares are kept on the readings' data
//! version alone, so that an audited change elsewhere (a login, a complaint) does not recompute them: the
//! monthly trend (two years of station days; per CST day, station set and data version, at most ten minutes)
//! and the real-time and sections tiles (per data version and minute, with the registry's rows in the key).

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{Datelike, Duration, Months, NaiveDate};
use kernel::cache::FlightCache;
use kernel::web::{Chrome, JsonBody, PageResult, render};
use kernel::{Action, AppError, AppResult, AppState, Db, Principal};
use readings::service::ViewStamp;
use serde::Serialize;
use standards::aggregate::DailyValues;
use standards::aqi::AqiLevel;
use standards::assessment::{MonthMeans, monthly_means};
use standards::pollutant::Pollutant;
use standards::settings::AirSettings;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        .route("/api/v1/dashboard", get(api))
}

/// A station's real-time AQI for the table and the map.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StationNow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub level: String,
    pub level_label: &'static str,
    pub street: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// CST time of the hour (`MM-DD HH:00`), empty when no recent hour.
    pub hour: String,
    pub aqi: Option<u32>,
    /// The AQI as shown: the number, `>500` beyond the table, `—` without data.
    pub aqi_text: String,
    pub aqi_level: String,
    pub colour: String,
    pub primary: String,
    pub pm25: Option<f64>,
    /// HJ 633 edition that made the figure.
    pub standard: String,
}

/// A water section's latest monthly result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SectionNow {
    pub id: i64,
    pub name: String,
    pub level_label: &'static str,
    pub street: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    pub month: String,
    pub class: String,
    pub class_rank: Option<usize>,
    pub target: String,
    pub meets_target: Option<bool>,
    pub cwqi: String,
    pub main_pollutants: String,
}

/// One month of the trend: this year and last year. The month in progress is compared with the same days of
/// last year's month (去年同期), never with last year's whole month.
#[derive(Debug, Clone, Serialize, Default, utoipa::ToSchema)]
pub struct MonthTrend {
    pub month: u32,
    /// The axis label: `3月`, or `12月（截至6日）` for the month in progress.
    pub label: String,
    /// For the month in progress, the last day of both years' figures (`12-06`); `None` for a whole month.
    pub through: Option<String>,
    pub pm25: Option<f64>,
    pub pm25_last_year: Option<f64>,
    pub good_ratio: Option<f64>,
    pub good_ratio_last_year: Option<f64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = DashboardMapPoint)]
pub struct MapPoint {
    pub kind: &'static str,
    pub id: i64,
    pub name: String,
    pub lon: f64,
    pub lat: f64,
    pub label: String,
    pub colour: String,
    /// What the colour means: the label of its entry in [`Dashboard::map_legend`].
    pub legend: String,
    pub href: String,
}

/// One colour the map draws, and what it means. The markers' colours and the legend are both taken from this
/// list ([`map_legend`]), so that the legend cannot disagree with the map.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MapLegendEntry {
    /// `aqi` (stations, by real-time AQI), `water` (sections, by class) or `enterprise`.
    pub group: &'static str,
    pub label: String,
    pub colour: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DistrictDay {
    pub date: String,
    pub aqi: Option<u32>,
    pub aqi_text: String,
    pub level: String,
    pub colour: String,
    pub primary: String,
    pub pm25: Option<f64>,
    pub standard: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub district: String,
    pub district_code: String,
    pub today: String,
    pub year: i32,
    /// 街道 scope of the caller, if any.
    pub street: Option<String>,
    pub yesterday: Option<DistrictDay>,
    pub stations: Vec<StationNow>,
    pub sections: Vec<SectionNow>,
    /// Sections per class I … 劣V in their latest month.
    pub class_counts: [usize; 6],
    pub targets: Option<Vec<targets::model::TargetStatus>>,
    pub alarms: Option<alarms::model::OpenSummary>,
    pub trend: Vec<MonthTrend>,
    pub map_points: Vec<MapPoint>,
    /// Every colour of the map's markers with its meaning, in legend order.
    pub map_legend: Vec<MapLegendEntry>,
    pub streets: Vec<MapPoint>,
}

use readings::points::level_label;
use registry::model::PointKind;

async fn district(db: &Db) -> AppResult<(String, String)> {
    Ok(match registry::service::the_district(db).await? {
        Some(district) => (district.code, district.name),
        None => (String::new(), "（未配置区县）".to_string()),
    })
}

/// Key dischargers with coordinates, of the caller's street if scoped.
async fn key_dischargers(db: &Db, street: Option<i64>) -> AppResult<Vec<MapPoint>> {
    let mut out = Vec::new();
    for enterprise in registry::service::enterprises(db).await? {
        if !enterprise.key_discharger || street.is_some_and(|own| own != enterprise.street_id) {
            continue;
        }
        let (Some(lon), Some(lat)) = (enterprise.lon, enterprise.lat) else {
            continue;
        };
        out.push(MapPoint {
            kind: "enterprise",
            id: enterprise.id,
            name: enterprise.name,
            lon,
            lat,
            label: ENTERPRISE_LEGEND.into(),
            colour: ENTERPRISE_COLOUR.into(),
            legend: ENTERPRISE_LEGEND.into(),
            href: format!("/registry/enterprises/{}", enterprise.id),
        });
    }
    Ok(out)
}

/// The database (its URL: tests run several at once in one process), the readings' data version, the last day
/// and the stations.
type TrendKey = (String, i64, NaiveDate, Vec<i64>);

/// Ten minutes bound what the key does not see (none of the trend's inputs so far); new readings and
/// corrections change the data version, hence the key, at once.
static TREND_CACHE: FlightCache<TrendKey, Vec<MonthTrend>> =
    FlightCache::new(std::time::Duration::from_secs(600), 8);

/// Monthly PM2.5 mean and good-day ratio of the district area (HJ 663 over `stations`), this year to
/// `through` and last year (`standards::assessment::monthly_means`): whole months, and for the month in progress
/// the same days of last year. Computed once per data version (concurrent requests wait for one computation).
async fn monthly_trend(
    db: &Db,
    stations: &[i64],
    through: NaiveDate,
) -> anyhow::Result<Arc<Vec<MonthTrend>>> {
    let key = (
        db.url(),
        readings::service::data_version(db).await?,
        through,
        stations.to_vec(),
    );
    TREND_CACHE
        .get_or_try_compute(key, || compute_trend(db, stations, through))
        .await
}

async fn compute_trend(
    db: &Db,
    stations: &[i64],
    through: NaiveDate,
) -> anyhow::Result<Vec<MonthTrend>> {
    let year = through.year();
    let from = NaiveDate::from_ymd_opt(year - 1, 1, 1).unwrap_or(through);
    let days = air::service::area_days(db, stations, from, through).await?;
    let daily: Vec<DailyValues> = days.into_iter().map(|day| day.values).collect();
    let months: BTreeMap<(i32, u32), MonthMeans> =
        monthly_means(&daily, from, through, &AirSettings::default())
            .into_iter()
            .map(|m| ((m.year, m.month), m))
            .collect();
    let pm25 = |y: i32, m: u32| {
        months
            .get(&(y, m))
            .and_then(|m| m.pm25_mean)
            .map(|v| v.to_f64())
    };
    let ratio = |y: i32, m: u32| {
        months
            .get(&(y, m))
            .and_then(|m| m.good_day_ratio_percent)
            .map(|v| v.to_f64())
    };
    // The month of `through` is in progress unless `through` is its last day: last year's figure for it covers
    // the same days (1st to `through`'s day), as the targets' 去年同期 does.
    let month_start = NaiveDate::from_ymd_opt(year, through.month(), 1).unwrap_or(through);
    let in_progress = (through + Duration::days(1)).month() == through.month();
    let same_days_last_year = if in_progress {
        let (ly_from, ly_to) = air::assessment::same_period_last_year(month_start, through);
        monthly_means(&daily, ly_from, ly_to, &AirSettings::default())
            .into_iter()
            .next()
    } else {
        None
    };
    let trend: Vec<MonthTrend> = (1..=12)
        .map(|m| {
            let partial = in_progress && m == through.month();
            let last_year = same_days_last_year.as_ref().filter(|_| partial);
            MonthTrend {
                month: m,
                label: if partial {
                    format!("{m}月（截至{}日）", through.day())
                } else {
                    format!("{m}月")
                },
                through: partial.then(|| through.format("%m-%d").to_string()),
                pm25: pm25(year, m),
                pm25_last_year: match last_year {
                    Some(l) => l.pm25_mean.map(|v| v.to_f64()),
                    None => pm25(year - 1, m),
                },
                good_ratio: ratio(year, m),
                good_ratio_last_year: match last_year {
                    Some(l) => l.good_day_ratio_percent.map(|v| v.to_f64()),
                    None => ratio(year - 1, m),
                },
            }
        })
        .collect();
    Ok(trend)
}

/// A dashboard gathered once, with its two serialisations (the API's body and the page's embedded data).
pub struct Gathered {
    pub dashboard: Dashboard,
    pub json: JsonBody,
    script_json: String,
}

/// Up to 32 (role, street) views at once. Within a minute and a data stamp the dashboard is the same for
/// every caller of one view; the minute bounds what the stamp cannot see (the clock's 6-hour look-back of the
/// real-time tile, and changes made by another process to records that are not audited).
static DASHBOARD_CACHE: FlightCache<ViewStamp, Gathered> =
    FlightCache::new(std::time::Duration::from_secs(60), 32);

/// The dashboard of this caller at `now`, gathered once per view, data stamp and minute: 200 concurrent
/// leaders make one computation, and each of them a cheap read of the two versions (issue 15).
pub async fn gathered(db: &Db, principal: &Principal, now: i64) -> AppResult<Arc<Gathered>> {
    let key = readings::service::view_stamp(db, principal, now).await?;
    DASHBOARD_CACHE
        .get_or_try_compute(key, || async {
            let dashboard = gather(db, principal, now).await?;
            let json = JsonBody::of(&dashboard)?;
            let script_json = kernel::web::script_json(&dashboard)?;
            Ok::<_, AppError>(Gathered {
                dashboard,
                json,
                script_json,
            })
        })
        .await
}

/// Everything the dashboard shows, for this caller at `now`: one function per tile, called in this order.
pub async fn gather(db: &Db, principal: &Principal, now: i64) -> AppResult<Dashboard> {
    let (district_code, district_name) = district(db).await?;
    let today = kernel::time::cst_day(now);
    let yesterday_date = today - Duration::days(1);
    let streets = Streets(registry::service::streets(db).await?);
    let scope = principal.street_scope();
    let assessment_ids: Vec<i64> = air::service::assessment_stations(db)
        .await
        .map_err(AppError::Internal)?
        .iter()
        .map(|s| s.id)
        .collect();
    let yesterday = yesterday_aqi(db, &assessment_ids, yesterday_date).await?;
    let stations = realtime_aqi(db, principal, now, &streets).await?;
    let (sections, class_counts) = sections_by_class(db, principal, today, &streets).await?;
    let targets = targets_progress(db, principal, today, now).await?;
    let alarms = open_alarms(db, principal).await?;
    let trend = monthly_trend(db, &assessment_ids, yesterday_date)
        .await
        .map_err(AppError::Internal)?
        .as_ref()
        .clone();
    let map_points = map_points(db, principal, &stations, &sections).await?;
    Ok(Dashboard {
        district: district_name,
        district_code,
        today: today.format("%Y-%m-%d").to_string(),
        year: today.year(),
        street: scope.map(|id| streets.name(Some(id))),
        yesterday,
        stations,
        sections,
        class_counts,
        targets,
        alarms,
        trend,
        map_points,
        map_legend: map_legend(),
        streets: streets.map_labels(scope),
    })
}

/// The district's streets with their centres, for the tables' street names and the map's labels.
struct Streets(Vec<registry::model::Street>);

impl Streets {
    /// The street's name; empty without a street.
    fn name(&self, id: Option<i64>) -> String {
        id.and_then(|id| self.0.iter().find(|s| s.id == id))
            .map(|s| s.name.clone())
            .unwrap_or_default()
    }

    /// Each street's id and name, part of the cached tiles' keys (a renamed street shows at once).
    fn names(&self) -> Vec<(i64, String)> {
        self.0.iter().map(|s| (s.id, s.name.clone())).collect()
    }

    /// A label at each street's centre (only the caller's own street for a street officer).
    fn map_labels(&self, scope: Option<i64>) -> Vec<MapPoint> {
        self.0
            .iter()
            .filter(|s| scope.is_none_or(|own| own == s.id))
            .filter_map(|street| {
                Some(MapPoint {
                    kind: "street",
                    id: street.id,
                    name: street.name.clone(),
                    lon: street.center_lon?,
                    lat: street.center_lat?,
                    label: street.name.clone(),
                    colour: "#333333".into(),
                    legend: String::new(),
                    href: String::new(),
                })
            })
            .collect()
    }
}

/// Whether the caller may see a monitoring point of `kind` in `street`.
fn sees_point(principal: &Principal, kind: PointKind, street: Option<i64>) -> bool {
    readings::points::sees(principal, kind, street)
}

/// Yesterday's official district day (the assessment stations as one HJ 663 area).
async fn yesterday_aqi(
    db: &Db,
    assessment_ids: &[i64],
    yesterday_date: NaiveDate,
) -> AppResult<Option<DistrictDay>> {
    Ok(
        air::service::area_days(db, assessment_ids, yesterday_date, yesterday_date)
            .await
            .map_err(AppError::Internal)?
            .into_iter()
            .next()
            .map(|day| {
                let level = day.aqi.level;
                DistrictDay {
                    date: yesterday_date.format("%Y-%m-%d").to_string(),
                    aqi: day.aqi.aqi,
                    aqi_text: air::service::aqi_text(&day.aqi),
                    level: level.map(|l| l.category().to_string()).unwrap_or_default(),
                    colour: level
                        .map(AqiLevel::hex)
                        .unwrap_or_else(|| NO_DATA_COLOUR.into()),
                    primary: air::service::primary_text(&day.aqi),
                    pm25: day.values.value(Pollutant::Pm25).map(|v| v.to_f64()),
                    standard: day.aqi.standard.code().to_string(),
                }
            }),
    )
}

/// Every visible station's latest hour (within the last 6 hours).
async fn realtime_aqi(
    db: &Db,
    principal: &Principal,
    now: i64,
    streets: &Streets,
) -> AppResult<Vec<StationNow>> {
    // The registry's stations and streets are read on every computation of the dashboard and are part of the
    // key, so that a station added, renamed or moved shows at once; only the figures from the readings are kept.
    let stations = air::service::all_stations(db)
        .await
        .map_err(AppError::Internal)?;
    let key = (
        db.url(),
        data_version(db).await?,
        now.div_euclid(60),
        stations.clone(),
        streets.names(),
    );
    let all = REALTIME_CACHE
        .get_or_try_compute(key, || all_realtime(db, now, streets, stations))
        .await?;
    Ok(all
        .iter()
        .filter(|(street, _)| sees_point(principal, PointKind::AirStation, *street))
        .map(|(_, station)| station.clone())
        .collect())
}

/// The readings' data version (every roll-up bumps it), part of the keys of the cached tiles.
async fn data_version(db: &Db) -> AppResult<i64> {
    readings::service::data_version(db)
        .await
        .map_err(AppError::Internal)
}

/// Database URL, readings data version, minute, the stations and the streets' names: the real-time tile changes
/// with new hours (the data version), with the registry, and with the clock only through the 6-hour look-back, so
/// a minute is as fresh as computing it per request.
type RealtimeKey = (
    String,
    i64,
    i64,
    Vec<air::service::Station>,
    Vec<(i64, String)>,
);

/// The tiles of every caller are cut from one computation over all stations (filtered per caller after).
static REALTIME_CACHE: FlightCache<RealtimeKey, Vec<(Option<i64>, StationNow)>> =
    FlightCache::new(std::time::Duration::from_secs(60), 4);

/// Every air station's real-time row with its street.
async fn all_realtime(
    db: &Db,
    now: i64,
    streets: &Streets,
    registered: Vec<air::service::Station>,
) -> AppResult<Vec<(Option<i64>, StationNow)>> {
    let mut stations = Vec::new();
    for station in registered {
        let latest = air::service::latest_hour(db, station.id, now, 6)
            .await
            .map_err(AppError::Internal)?;
        let aqi_text = latest
            .as_ref()
            .map(|l| air::service::aqi_text(&l.aqi))
            .unwrap_or_else(|| "—".into());
        let (hour, aqi, level, primary, pm25, standard) = match &latest {
            Some(l) => (
                kernel::time::to_cst(l.ts).format("%m-%d %H:00").to_string(),
                l.aqi.aqi,
                l.aqi.level,
                air::service::primary_text(&l.aqi),
                l.values[Pollutant::Pm25.index()],
                l.aqi.standard.code().to_string(),
            ),
            None => (
                String::new(),
                None,
                None,
                String::new(),
                None,
                String::new(),
            ),
        };
        stations.push((
            station.street_id,
            StationNow {
                id: station.id,
                code: station.code.clone(),
                name: station.name.clone(),
                level_label: level_label(&station.level),
                level: station.level.clone(),
                street: streets.name(station.street_id),
                lon: station.lon,
                lat: station.lat,
                hour,
                aqi,
                aqi_text,
                aqi_level: level.map(|l| l.category().to_string()).unwrap_or_default(),
                colour: level
                    .map(AqiLevel::hex)
                    .unwrap_or_else(|| NO_DATA_COLOUR.into()),
                primary,
                pm25,
                standard,
            },
        ));
    }
    Ok(stations)
}

/// Water sections: each one's latest month with samples in the last twelve months, and how many sections are
/// in each class (I … 劣V).
async fn sections_by_class(
    db: &Db,
    principal: &Principal,
    today: NaiveDate,
    streets: &Streets,
) -> AppResult<(Vec<SectionNow>, [usize; 6])> {
    // As for the real-time tile: the registry's sections and streets are part of the key.
    let registered = water::service::sections(db).await?;
    let key = (
        db.url(),
        data_version(db).await?,
        today,
        registered.clone(),
        streets.names(),
    );
    let all = SECTIONS_CACHE
        .get_or_try_compute(key, || all_sections(db, today, streets, registered))
        .await?;
    let mut class_counts = [0usize; 6];
    let mut sections = Vec::new();
    for (street, section) in all.iter() {
        if !sees_point(principal, PointKind::WaterSection, *street) {
            continue;
        }
        if let Some(rank) = section.class_rank {
            class_counts[rank] += 1;
        }
        sections.push(section.clone());
    }
    Ok((sections, class_counts))
}

/// Database URL, readings data version, CST day, the sections and the streets' names.
type SectionsKey = (
    String,
    i64,
    NaiveDate,
    Vec<water::service::Section>,
    Vec<(i64, String)>,
);

/// As [`REALTIME_CACHE`], for the water sections' latest months.
static SECTIONS_CACHE: FlightCache<SectionsKey, Vec<(Option<i64>, SectionNow)>> =
    FlightCache::new(std::time::Duration::from_secs(60), 4);

/// Every water section's latest month with its street.
async fn all_sections(
    db: &Db,
    today: NaiveDate,
    streets: &Streets,
    registered: Vec<water::service::Section>,
) -> AppResult<Vec<(Option<i64>, SectionNow)>> {
    let mut sections = Vec::new();
    for section in registered {
        let mut found = None;
        let mut month_start =
            NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap_or(today);
        for _ in 0..12 {
            let month_end = month_start + Months::new(1) - Duration::days(1);
            let result =
                water::service::section_result(db, section.clone(), month_start, month_end)
                    .await
                    .map_err(AppError::Internal)?;
            if result.samples > 0 {
                found = Some((month_start, result));
                break;
            }
            month_start = month_start - Months::new(1);
        }
        let (month, class, target, meets, cwqi, main) = match &found {
            Some((month, r)) => (
                month.format("%Y-%m").to_string(),
                r.class(),
                r.target,
                r.meets_target,
                r.cwqi().map(|c| c.to_decimal_string(2)).unwrap_or_default(),
                r.assessment
                    .as_ref()
                    .map(|a| {
                        a.main_pollutants
                            .iter()
                            .map(|p| p.item.chinese_name())
                            .collect::<Vec<_>>()
                            .join("、")
                    })
                    .unwrap_or_default(),
            ),
            None => (
                String::new(),
                None,
                None,
                None,
                String::new(),
                String::new(),
            ),
        };
        sections.push((
            section.street_id,
            SectionNow {
                id: section.id,
                name: section.name.clone(),
                level_label: level_label(&section.level),
                street: streets.name(section.street_id),
                lon: section.lon,
                lat: section.lat,
                month,
                class: class
                    .map(|c| format!("{}类", c.label()))
                    .unwrap_or_default(),
                class_rank: class.map(|c| c as usize),
                target: target
                    .map(|c| format!("{}类", c.label()))
                    .unwrap_or_default(),
                meets_target: meets,
                cwqi,
                main_pollutants: main,
            },
        ));
    }
    Ok(sections)
}

/// The year's targets with their progress, for those who may read them.
async fn targets_progress(
    db: &Db,
    principal: &Principal,
    today: NaiveDate,
    now: i64,
) -> AppResult<Option<Vec<targets::model::TargetStatus>>> {
    if !principal.can(targets::TARGET, Action::Read) {
        return Ok(None);
    }
    Ok(Some(
        targets::service::status_for_year(db, today.year(), now)
            .await
            .map_err(AppError::Internal)?,
    ))
}

/// The open alarms (of the caller's street when scoped), for those who may read them.
async fn open_alarms(
    db: &Db,
    principal: &Principal,
) -> AppResult<Option<alarms::model::OpenSummary>> {
    if !principal.can(alarms::ALARM, Action::Read) {
        return Ok(None);
    }
    Ok(Some(
        alarms::service::open_summary(db, principal.street_scope())
            .await
            .map_err(AppError::Internal)?,
    ))
}

/// The map's points: stations coloured by their AQI, sections by their class, and the key dischargers for
/// those who may read enterprises.
async fn map_points(
    db: &Db,
    principal: &Principal,
    stations: &[StationNow],
    sections: &[SectionNow],
) -> AppResult<Vec<MapPoint>> {
    let mut map_points = Vec::new();
    for s in stations {
        if let (Some(lon), Some(lat)) = (s.lon, s.lat) {
            map_points.push(MapPoint {
                kind: if s.level == "micro" {
                    "micro"
                } else {
                    "station"
                },
                id: s.id,
                name: s.name.clone(),
                lon,
                lat,
                label: if s.aqi_level.is_empty() {
                    "暂无数据".into()
                } else {
                    format!("AQI {} {}", s.aqi_text, s.aqi_level)
                },
                colour: s.colour.clone(),
                legend: if s.aqi_level.is_empty() {
                    NO_DATA.into()
                } else {
                    s.aqi_level.clone()
                },
                href: format!("/stations/{}", s.id),
            });
        }
    }
    for s in sections {
        if let (Some(lon), Some(lat)) = (s.lon, s.lat) {
            map_points.push(MapPoint {
                kind: "section",
                id: s.id,
                name: s.name.clone(),
                lon,
                lat,
                label: if s.class.is_empty() {
                    "暂无数据".into()
                } else {
                    format!("{} {}", s.month, s.class)
                },
                colour: water_colour(s.class_rank),
                legend: water_legend(s.class_rank).into(),
                href: format!("/stations/{}", s.id),
            });
        }
    }
    if principal.can(registry::ENTERPRISE, Action::Read) {
        map_points.extend(key_dischargers(db, principal.street_scope()).await?);
    }
    Ok(map_points)
}

/// The colour of a point without a figure (no recent hour, no sample).
const NO_DATA_COLOUR: &str = "#cccccc";
const NO_DATA: &str = "暂无数据";
const ENTERPRISE_COLOUR: &str = "#5b6b7a";
const ENTERPRISE_LEGEND: &str = "重点排污单位";

/// GB 3838 class colours as the national water quality maps draw them (I and II share one: 优).
fn water_colour(class_rank: Option<usize>) -> String {
    match class_rank {
        Some(0) | Some(1) => "#3b82f6",
        Some(2) => "#22c55e",
        Some(3) => "#facc15",
        Some(4) => "#f97316",
        Some(5) => "#dc2626",
        _ => NO_DATA_COLOUR,
    }
    .to_string()
}

/// The legend label of a class colour (I and II share theirs).
fn water_legend(class_rank: Option<usize>) -> &'static str {
    match class_rank {
        Some(0) | Some(1) => "I–II类",
        Some(2) => "III类",
        Some(3) => "IV类",
        Some(4) => "V类",
        Some(5) => "劣V类",
        _ => NO_DATA,
    }
}

/// Every colour the map's markers can have, with its meaning: the six AQI categories (HJ 633 Appendix A
/// colours), the water classes, and the key dischargers' one colour.
fn map_legend() -> Vec<MapLegendEntry> {
    let entry = |group, label: &str, colour: String| MapLegendEntry {
        group,
        label: label.to_string(),
        colour,
    };
    let mut out: Vec<MapLegendEntry> = AqiLevel::ALL
        .iter()
        .map(|l| entry("aqi", l.category(), l.hex()))
        .collect();
    out.push(entry("aqi", NO_DATA, NO_DATA_COLOUR.into()));
    for rank in [Some(0), Some(2), Some(3), Some(4), Some(5), None] {
        out.push(entry("water", water_legend(rank), water_colour(rank)));
    }
    out.push(entry(
        "enterprise",
        ENTERPRISE_LEGEND,
        ENTERPRISE_COLOUR.into(),
    ));
    out
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage<'a> {
    chrome: Chrome,
    d: &'a Dashboard,
    data_json: &'a str,
}

impl DashboardPage<'_> {
    /// Whether the map shows enterprises (roles that may read them), for the map's caption.
    fn shows_enterprises(&self) -> bool {
        self.d.map_points.iter().any(|p| p.kind == "enterprise")
    }
}

async fn page(State(state): State<AppState>, principal: Principal) -> PageResult {
    // A fresh installation has no district yet: its administrator sets it up first (/setup).
    if let Some(gate) = registry::http::setup_gate(&state, &principal).await? {
        return Ok(gate);
    }
    let gathered = gathered(&state.db, &principal, kernel::time::now_ts()).await?;
    render(&DashboardPage {
        chrome: Chrome::new(&state, &principal, "/"),
        d: &gathered.dashboard,
        data_json: &gathered.script_json,
    })
}

/// The dashboard's figures as JSON (the caller's street only, for a street officer).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(api),
    components(responses(kernel::error::ProblemResponse), schemas(Dashboard)),
    tags((name = "dashboard", description = "总览 The leader's dashboard"))
)]
pub struct ApiDoc;

/// The dashboard's figures: targets, real-time and yesterday's AQI, sections by class, open alarms, trends and
/// the map's points.
#[utoipa::path(get, path = "/api/v1/dashboard", tag = "dashboard", operation_id = "dashboard",
    responses((status = 200, body = Dashboard)))]
async fn api(State(state): State<AppState>, principal: Principal) -> AppResult<JsonBody> {
    let gathered = gathered(&state.db, &principal, kernel::time::now_ts()).await?;
    Ok(gathered.json.clone())
}
