//! Seeding and the whole chain on both backends: hourly readings written through the readings store → air
//! service area days → the targets' progress.

use chrono::NaiveDate;
use kernel::Db;
use kernel::audit::{AuditFilter, search};
use kernel::time::{DAY_SECONDS, cst_day_start};
use kernel::{PageQuery, time::cst_local_to_ts};
use readings::model::{DataFlag, Period, Reading};
use readings::store::{NewSource, create_source, write};
use registry::model::{PointKind, PointRegistration};
use targets::model::{Indicator, Status};
use targets::service::{ensure_seeded, status_for_year};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub async fn station(db: &Db, code: &str, level: &str) -> i64 {
    registry::service::register_point(
        db,
        "test",
        &PointRegistration {
            code: code.to_string(),
            name: code.to_string(),
            kind: PointKind::AirStation,
            level: level.parse().unwrap(),
            street_id: None,
            lon: None,
            lat: None,
            owner: "test".to_string(),
            simulated: false,
        },
    )
    .await
    .unwrap()
    .id
}

/// 24 hours of the six pollutants on each CST day `first..first+days`, PM2.5 `pm25[i]` on day i, the others
/// constant and low.
pub async fn write_days(db: &Db, point_id: i64, first: NaiveDate, pm25: &[f64]) {
    let source = create_source(
        db,
        &NewSource {
            kind: "file",
            name: format!("test-{point_id}"),
            checksum: None,
            received_by: "test".to_string(),
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    let mut readings = Vec::new();
    for (i, pm) in pm25.iter().enumerate() {
        let start = cst_day_start(first) + i as i64 * DAY_SECONDS;
        for h in 0..24 {
            let ts = start + h * 3600;
            for (factor, value) in [
                ("a21026", 5.0),
                ("a21004", 20.0),
                ("a34002", *pm),
                ("a34004", *pm),
                ("a21005", 0.5),
                ("a05024", 60.0),
            ] {
                readings.push(Reading {
                    point_id,
                    factor: factor.to_string(),
                    ts,
                    period: Period::Hour,
                    value: Some(value),
                    flag: DataFlag::N,
                });
            }
        }
    }
    write(db, source, &readings).await.unwrap();
}

testkit::db_test!(seeds_every_year_once_from_the_plan, |db| {
    assert_eq!(
        ensure_seeded(&db, 2026).await.unwrap(),
        vec![2024, 2025, 2026]
    );
    assert!(ensure_seeded(&db, 2026).await.unwrap().is_empty());
    for year in 2024..=2026 {
        let statuses = status_for_year(
            &db,
            year,
            cst_local_to_ts(date(2026, 12, 1).and_hms_opt(9, 0, 0).unwrap()),
        )
        .await
        .unwrap();
        assert_eq!(statuses.len(), 8);
        assert!(
            statuses
                .iter()
                .all(|s| s.target.seeded && s.target.year == year)
        );
        let pm = &statuses[0].target;
        assert_eq!(
            (pm.code.as_str(), pm.threshold, pm.indicator),
            ("pm25_annual_mean", Some(39.0), Indicator::Pm25AnnualMean)
        );
        assert!(pm.plan_wording.contains("左右"));
        let good = statuses
            .iter()
            .find(|s| s.target.code == "good_day_ratio")
            .unwrap();
        assert_eq!(good.target.threshold, None);
        assert_eq!(good.requirement, "待市下达");
        let water = statuses
            .iter()
            .find(|s| s.target.code == "water_good_share")
            .unwrap();
        assert_eq!(water.target.threshold, Some(11.1));
        let land = statuses
            .iter()
            .find(|s| s.target.code == "construction_land_safe_use")
            .unwrap();
        assert_eq!(
            (land.target.indicator, land.status),
            (Indicator::Reported, Status::AwaitingThreshold)
        );
    }
    // One audit entry per seeded year.
    let filter = AuditFilter {
        action: Some("seed".to_string()),
        entity: Some("target".to_string()),
        ..AuditFilter::default()
    };
    assert_eq!(
        search(&db, &filter, &PageQuery::default())
            .await
            .unwrap()
            .total,
        3
    );
    // A later year is seeded when it comes.
    assert_eq!(ensure_seeded(&db, 2027).await.unwrap(), vec![2027]);
});

testkit::db_test!(computes_the_district_figures_from_stored_hours, |db| {
    ensure_seeded(&db, 2025).await.unwrap();
    // Two assessment stations and a micro-station the district figure must ignore.
    let national = station(&db, "1021A", "national").await;
    let municipal = station(&db, "M01", "municipal").await;
    let micro = station(&db, "W01", "micro").await;
    write_days(&db, national, date(2025, 1, 1), &[40.0, 50.0, 60.0]).await;
    write_days(&db, municipal, date(2025, 1, 1), &[20.0, 20.0, 20.0]).await;
    write_days(&db, micro, date(2025, 1, 1), &[500.0, 500.0, 500.0]).await;
    // Seen on 4 January 2025: 1–3 January are complete, 362 days remain.
    let now = cst_local_to_ts(date(2025, 1, 4).and_hms_opt(12, 0, 0).unwrap());
    let statuses = status_for_year(&db, 2025, now).await.unwrap();
    let pm = statuses
        .iter()
        .find(|s| s.target.code == "pm25_annual_mean")
        .unwrap();
    // Area days: (40+20)/2 = 30, (50+20)/2 = 35, (60+20)/2 = 40 → mean 35.
    assert_eq!((pm.value, pm.basis), (Some(35.0), Some(3)));
    assert_eq!(pm.through, Some(date(2025, 1, 3)));
    // Required: (39 × 365 − 105)/362 = 14,130/362 = 39.03… → 39.0; not below the mean so far (35) → on track.
    let p = pm.projection.as_ref().unwrap();
    assert_eq!((p.remaining_days, p.required), (362, Some(39.0)));
    assert_eq!(pm.status, Status::OnTrack, "{}", pm.reason);
    // AQI of the area days (PM2.5 30, 35, 40 → IAQI 43, 50, 57): all good; no heavy day.
    let good = statuses
        .iter()
        .find(|s| s.target.code == "good_day_ratio")
        .unwrap();
    assert_eq!(
        (good.value, good.basis, good.status),
        (Some(100.0), Some(3), Status::AwaitingThreshold)
    );
    let heavy = statuses
        .iter()
        .find(|s| s.target.code == "heavy_pollution_days")
        .unwrap();
    assert_eq!(heavy.value, Some(0.0));
    // No water section: no data.
    let water = statuses
        .iter()
        .find(|s| s.target.code == "water_good_share")
        .unwrap();
    assert_eq!(water.status, Status::NoData);
    // The same data seen from 2026: last year's value of 2026's target is 2025's same period.
    let now = cst_local_to_ts(date(2026, 1, 4).and_hms_opt(12, 0, 0).unwrap());
    ensure_seeded(&db, 2026).await.unwrap();
    let statuses = status_for_year(&db, 2026, now).await.unwrap();
    let pm = statuses
        .iter()
        .find(|s| s.target.code == "pm25_annual_mean")
        .unwrap();
    assert_eq!((pm.value, pm.last_year_value), (None, Some(35.0)));
    assert_eq!(pm.status, Status::NoData);
});
