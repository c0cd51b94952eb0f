//! Fixtures: points and a constructed hourly series written through the readings store.

use kernel::auth::AuthMethod;
use kernel::rng::SplitMix64;
use kernel::{Db, Principal, Role};
use readings::model::{DataFlag, Period, Reading};
use readings::store::{self, NewSource};
use registry::model::{PointKind, PointLevel, PointRegistration};

pub async fn point(db: &Db, code: &str, kind: PointKind, street_id: Option<i64>) -> i64 {
    let level = match kind {
        PointKind::Outlet => PointLevel::Enterprise,
        PointKind::AirStation | PointKind::WaterSection => PointLevel::National,
    };
    registry::service::register_point(
        db,
        "test",
        &PointRegistration {
            code: code.into(),
            name: format!("测试点位 {code}"),
            kind,
            level,
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

pub fn principal(role: Role, street_id: Option<i64>) -> Principal {
    Principal {
        user_id: 1,
        username: role.as_str().into(),
        display_name: role.label().into(),
        role,
        street_id,
        department_id: None,
        method: AuthMethod::Token,
    }
}

/// 2023-01-01 00:00 CST.
pub fn start() -> i64 {
    kernel::time::cst_day_start(chrono::NaiveDate::from_ymd_opt(2023, 1, 1).unwrap())
}

/// Hours of the constructed series: two years from 2023-01-01 CST.
pub const HOURS: i64 = 2 * 365 * 24;

/// Writes two years of hours at `point_id`: the six pollutants, and, with `wind`, direction and speed. PM2.5 is
/// 30 + noise, +150 when the wind comes from the north-east (35–55°) at 2–5 m/s, and −10 µg/m³ after
/// 2024-07-01 (a planted improvement).
pub async fn write_series(db: &Db, point_id: i64, wind: bool) {
    let source = store::create_source(
        db,
        &NewSource {
            kind: "api",
            name: "analysis test".into(),
            checksum: None,
            received_by: "test".into(),
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    let step = kernel::time::cst_day_start(chrono::NaiveDate::from_ymd_opt(2024, 7, 1).unwrap());
    let mut mix = SplitMix64::new(42);
    let mut readings = Vec::new();
    for h in 0..HOURS {
        let ts = start() + h * 3600;
        let direction = (mix.unit() * 360.0).floor();
        let speed = ((0.5 + mix.unit() * 6.0) * 10.0).round() / 10.0;
        let source_hour = wind && (35.0..55.0).contains(&direction) && (2.0..5.0).contains(&speed);
        let pm25 = 30.0 + (mix.unit() * 10.0).round() + if source_hour { 150.0 } else { 0.0 }
            - if ts >= step { 10.0 } else { 0.0 };
        let mut r = |factor: &str, value: f64| {
            readings.push(Reading {
                point_id,
                factor: factor.into(),
                ts,
                period: Period::Hour,
                value: Some(value),
                flag: DataFlag::N,
            })
        };
        r("a34004", pm25);
        r("a34002", pm25 * 1.5);
        r("a21026", 8.0);
        r("a21004", 30.0);
        r("a21005", 0.6);
        r("a05024", 60.0);
        if wind {
            r("a01008", direction);
            r("a01007", speed);
        }
    }
    for chunk in readings.chunks(50_000) {
        store::write(db, source, chunk).await.unwrap();
    }
}
