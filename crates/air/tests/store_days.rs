//! Station and area days from stored readings, on SQLite and PostgreSQL: the values are worked out by hand.

use chrono::NaiveDate;
use kernel::Db;
use kernel::time::cst_day_start;
use readings::model::{DataFlag, Period, Reading};
use readings::store::{self, NewSource};
use standards::exact::Exact;
use standards::pollutant::Pollutant;

mod support;
use support::{monitor, station};

/// `hours` hourly PM2.5 values from 00:00 CST of `date`, all equal to `value`, plus a flagged hour if `bad`.
async fn write_pm25(db: &Db, point_id: i64, date: NaiveDate, hours: i64, value: f64, bad: bool) {
    let source = store::create_source(
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
    .unwrap();
    let start = cst_day_start(date);
    let mut readings: Vec<Reading> = (0..hours)
        .map(|h| Reading {
            point_id,
            factor: "a34004".into(),
            ts: start + h * 3600,
            period: Period::Hour,
            value: Some(value),
            flag: DataFlag::default(),
        })
        .collect();
    if bad {
        // A flagged hour with an absurd value must not count.
        readings.push(Reading {
            point_id,
            factor: "a34004".into(),
            ts: start + 23 * 3600,
            period: Period::Hour,
            value: Some(999.0),
            flag: DataFlag::parse("D").unwrap(),
        });
    }
    store::write(db, source, &readings).await.unwrap();
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, d).unwrap()
}

testkit::db_test!(station_and_area_days_follow_gb3095_and_hj663, |db| {
    let a = station(&db, "A", "national").await;
    let b = station(&db, "B", "municipal").await;
    let micro = station(&db, "M", "micro").await;
    // Day 1: A 20 hours of 80 (valid), B 19 hours of 40 (not valid: < 20 hours).
    write_pm25(&db, a, day(1), 20, 80.0, true).await;
    write_pm25(&db, b, day(1), 19, 40.0, false).await;
    // Day 2: both valid, 24 hours of 75 and 76 → area mean 75.5 → reported 76 (half to even).
    write_pm25(&db, a, day(2), 24, 75.0, false).await;
    write_pm25(&db, b, day(2), 24, 76.0, false).await;

    let stations = air::service::assessment_stations(&db).await.unwrap();
    assert_eq!(
        stations.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![a, b],
        "micro-station {micro} is not an assessment station"
    );
    let days = air::service::station_days(&db, &[a, b], day(1), day(2))
        .await
        .unwrap();
    assert_eq!(days.len(), 4);
    let a1 = days
        .iter()
        .find(|d| d.point_id == a && d.values.date == day(1))
        .unwrap();
    assert_eq!(a1.values.value(Pollutant::Pm25), Some(Exact::from_int(80)));
    assert_eq!(a1.values.support[Pollutant::Pm25.index()], 20);
    let b1 = days
        .iter()
        .find(|d| d.point_id == b && d.values.date == day(1))
        .unwrap();
    assert_eq!(b1.values.value(Pollutant::Pm25), None);

    let area = air::service::area_days(&db, &[a, b], day(1), day(2))
        .await
        .unwrap();
    assert_eq!(area.len(), 2);
    assert_eq!(
        area[0].values.value(Pollutant::Pm25),
        Some(Exact::from_int(80))
    );
    assert_eq!(area[0].stations_reporting, 1);
    assert_eq!(
        area[1].values.value(Pollutant::Pm25),
        Some(Exact::from_int(76))
    );
    // PM2.5 76 → IAQI ceil(100 + (76-75)·50/40) = ceil(101.25) = 102 (HJ 633-2012 on 2024-01-02).
    assert_eq!(area[1].aqi.aqi, Some(102));
    // Day 1 AQI from PM2.5 80: ceil(100 + 5·50/40) = ceil(106.25) = 107.
    assert_eq!(area[0].aqi.aqi, Some(107));
});

testkit::db_test!(corrections_change_the_day, |db| {
    let a = station(&db, "A", "national").await;
    write_pm25(&db, a, day(3), 24, 50.0, false).await;
    // Mark 5 hours invalid: 19 valid hours left → the day is no longer valid.
    for h in 0..5 {
        readings::audit::correct(
            &db,
            &monitor(),
            a,
            &readings::audit::NewCorrection {
                period: Period::Hour,
                ts: cst_day_start(day(3)) + h * 3600,
                factor: "a34004".into(),
                value: None,
                invalid: true,
                reason: "仪器校准".into(),
            },
        )
        .await
        .unwrap();
    }
    let days = air::service::station_days(&db, &[a], day(3), day(3))
        .await
        .unwrap();
    assert_eq!(days[0].values.value(Pollutant::Pm25), None);
    assert_eq!(days[0].values.support[Pollutant::Pm25.index()], 19);
});
