//! A small constructed district whose rankings are worked out by hand (see `main.rs`).
//!
//! Streets (codes s1…s5, so in this order):
//! - 甲 (a): one micro-station, every hour of March 2025 SO2 10, NO2 30, PM10 60, PM2.5 30, CO 1.0, O3 100;
//!   March 2024 the same but PM2.5 40. Sections S1 (target III) and S2 (target IV).
//! - 乙 (b): two micro-stations, PM2.5 40 and 50 (area mean 45), otherwise as 甲; March 2024 PM2.5 45 at both.
//!   Section S3 (target III).
//! - 丙 (c): nothing (no micro-station, no section).
//! - 丁 (d): one micro-station with only 10 days of March 2025; section S4 without samples.
//! - 戊 (e): one micro-station identical to 甲's (a tie).
//!
//! A national station with 甲's values is the district's assessment station.

use chrono::NaiveDate;
use kernel::Db;
use kernel::time::cst_day_start;
use readings::model::{DataFlag, Period, Reading};
use readings::store::{self, NewSource};
use registry::model::{PointKind, PointRegistration};
use standards::pollutant::Pollutant;

pub struct Fixture {
    pub a: i64,
    pub b: i64,
    pub c: i64,
    pub d: i64,
    pub e: i64,
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

async fn street(db: &Db, code: &str, name: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO streets (code, name, district_code, created_at) VALUES ($1, $2, '120110', 0) RETURNING id",
    )
    .bind(code)
    .bind(name)
    .fetch_one(db.pool())
    .await
    .unwrap()
}

async fn air_station(db: &Db, code: &str, level: &str, street_id: Option<i64>) -> i64 {
    registry::service::register_point(
        db,
        "test",
        &PointRegistration {
            code: code.into(),
            name: format!("站 {code}"),
            kind: PointKind::AirStation,
            level: level.parse().unwrap(),
            street_id,
            lon: None,
            lat: None,
            owner: "测试".into(),
            simulated: false,
        },
    )
    .await
    .unwrap()
    .id
}

async fn section(db: &Db, code: &str, street_id: i64, target: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO monitoring_points (code, name, kind, level, street_id, owner, water_kind, target_class, \
         created_at, updated_at) VALUES ($1, $2, 'water_section', 'district', $3, '测试', 'river', $4, 0, 0) \
         RETURNING id",
    )
    .bind(code)
    .bind(format!("断面{code}"))
    .bind(street_id)
    .bind(target)
    .fetch_one(db.pool())
    .await
    .unwrap()
}

async fn source(db: &Db) -> i64 {
    store::create_source(
        db,
        &NewSource {
            kind: "api",
            name: "test".into(),
            checksum: None,
            received_by: "test".into(),
            idempotency_key: None,
        },
    )
    .await
    .unwrap()
}

/// Every hour of `days` days from `first`: the six pollutants at constant values (PM2.5 given).
async fn write_air(db: &Db, point_id: i64, first: NaiveDate, days: i64, pm25: f64) {
    let values = [
        (Pollutant::So2, 10.0),
        (Pollutant::No2, 30.0),
        (Pollutant::Pm10, 60.0),
        (Pollutant::Pm25, pm25),
        (Pollutant::Co, 1.0),
        (Pollutant::O3, 100.0),
    ];
    let start = cst_day_start(first);
    let mut readings = Vec::new();
    for hour in 0..days * 24 {
        for (pollutant, value) in values {
            readings.push(Reading {
                point_id,
                factor: air::service::factor_code(pollutant).into(),
                ts: start + hour * 3600,
                period: Period::Hour,
                value: Some(value),
                flag: DataFlag::default(),
            });
        }
    }
    let source = source(db).await;
    store::write(db, source, &readings).await.unwrap();
}

/// One daily sample of COD, NH3-N and TP.
async fn write_water(db: &Db, point_id: i64, day: NaiveDate, cod: f64, nh3n: f64, tp: f64) {
    let readings: Vec<Reading> = [("w01018", cod), ("w21003", nh3n), ("w21011", tp)]
        .into_iter()
        .map(|(factor, value)| Reading {
            point_id,
            factor: factor.into(),
            ts: cst_day_start(day),
            period: Period::Day,
            value: Some(value),
            flag: DataFlag::default(),
        })
        .collect();
    let source = source(db).await;
    store::write(db, source, &readings).await.unwrap();
}

/// Builds the district (adds to an existing one, e.g. the HTTP test app's two streets).
pub async fn build(db: &Db) -> Fixture {
    let districts: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM district")
        .fetch_one(db.pool())
        .await
        .unwrap();
    if districts == 0 {
        sqlx::query(
            "INSERT INTO district (code, name, city, simulated) VALUES ('120110', '东丽区', '天津市', 1)",
        )
        .execute(db.pool())
        .await
        .unwrap();
    }
    let a = street(db, "s1", "甲街道").await;
    let b = street(db, "s2", "乙街道").await;
    let c = street(db, "s3", "丙街道").await;
    let d = street(db, "s4", "丁街道").await;
    let e = street(db, "s5", "戊街道").await;
    let march = date(2025, 3, 1);
    let march_last_year = date(2024, 3, 1);

    let wa = air_station(db, "WZ-A", "micro", Some(a)).await;
    write_air(db, wa, march, 31, 30.0).await;
    write_air(db, wa, march_last_year, 31, 40.0).await;
    let wb1 = air_station(db, "WZ-B1", "micro", Some(b)).await;
    let wb2 = air_station(db, "WZ-B2", "micro", Some(b)).await;
    write_air(db, wb1, march, 31, 40.0).await;
    write_air(db, wb2, march, 31, 50.0).await;
    write_air(db, wb1, march_last_year, 31, 45.0).await;
    write_air(db, wb2, march_last_year, 31, 45.0).await;
    let wd = air_station(db, "WZ-D", "micro", Some(d)).await;
    write_air(db, wd, march, 10, 20.0).await;
    let we = air_station(db, "WZ-E", "micro", Some(e)).await;
    write_air(db, we, march, 31, 30.0).await;
    write_air(db, we, march_last_year, 31, 40.0).await;
    let national = air_station(db, "GK-1", "national", None).await;
    write_air(db, national, march, 31, 30.0).await;
    write_air(db, national, march_last_year, 31, 40.0).await;

    let s1 = section(db, "S1", a, 3).await;
    let s2 = section(db, "S2", a, 4).await;
    let s3 = section(db, "S3", b, 3).await;
    section(db, "S4", d, 3).await;
    write_water(db, s1, date(2025, 3, 5), 20.0, 0.5, 0.1).await;
    write_water(db, s2, date(2025, 3, 5), 30.0, 1.5, 0.3).await;
    write_water(db, s3, date(2025, 3, 5), 40.0, 1.0, 0.2).await;
    write_water(db, s1, date(2024, 3, 5), 20.0, 1.0, 0.2).await;
    write_water(db, s2, date(2024, 3, 5), 30.0, 1.5, 0.3).await;
    write_water(db, s3, date(2024, 3, 5), 40.0, 1.0, 0.2).await;
    Fixture { a, b, c, d, e }
}
