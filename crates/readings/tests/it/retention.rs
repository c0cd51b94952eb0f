//! Retention: the sweep removes old real-time and minute rows only, keeps hourly roll-ups derived from them
//! even when the day is recomputed afterwards, and the settings are checked and audited.

use std::collections::BTreeSet;

use kernel::Role;
use kernel::time::DAY_SECONDS;
use readings::audit::{self, NewCorrection};
use readings::model::{DataFlag, Period, Reading};
use readings::retention::{self, RetentionInput};
use readings::rollup;
use readings::store::{self, NewSource};
use registry::model::PointKind;

use crate::support::{self, principal};

fn reading(point_id: i64, period: Period, ts: i64, factor: &str, value: f64) -> Reading {
    Reading {
        point_id,
        factor: factor.into(),
        ts,
        period,
        value: Some(value),
        flag: DataFlag::default(),
    }
}

testkit::db_test!(sweep_keeps_hours_and_days, |db| {
    let point = support::point(&db, "OUT1", PointKind::Outlet, None).await;
    let source = store::create_source(
        &db,
        &NewSource {
            kind: "api",
            name: "retention test".into(),
            checksum: None,
            received_by: "test".into(),
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    let now = 1_780_000_000; // a fixed instant: the test does not depend on the clock
    // The CST day that starts 30 days before now: 60 minutes of SO2 = 10 in its first hour, real-time values,
    // and a reported hour of NOx; and one minute today (kept).
    let day = kernel::time::cst_day_number(now - 30 * DAY_SECONDS);
    let day_start = day * DAY_SECONDS - 8 * 3600;
    let mut rows: Vec<Reading> = (0..60)
        .map(|m| reading(point, Period::Minute, day_start + m * 60, "a21026", 10.0))
        .collect();
    rows.push(reading(point, Period::Rtd, day_start + 30, "a21026", 11.0));
    rows.push(reading(
        point,
        Period::Hour,
        day_start + 3600,
        "a21002",
        50.0,
    ));
    rows.push(reading(point, Period::Minute, now - 600, "a21026", 12.0));
    let outcome = store::write(&db, source, &rows).await.unwrap();
    rollup::recompute(&db, &outcome.dirty).await.unwrap();
    let hour_before = rollup::stored(
        &db,
        point,
        Some("a21026"),
        Period::Hour,
        day_start,
        day_start + DAY_SECONDS,
    )
    .await
    .unwrap();
    assert_eq!(hour_before.len(), 1);
    assert_eq!(hour_before[0].mean, Some(10.0));
    assert_eq!(hour_before[0].n_valid, 60);

    // Keep 10 days of minute and real-time data.
    let monitor = principal(Role::Monitoring, None);
    retention::update(
        &db,
        &monitor,
        &RetentionInput {
            rtd_days: Some(10),
            minute_days: Some(10),
        },
    )
    .await
    .unwrap();
    let swept = retention::sweep(&db, now).await.unwrap();
    assert_eq!(swept.minute_rows, 60);
    assert_eq!(swept.rtd_rows, 1);
    let left: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM readings WHERE period IN ('minute', 'rtd')",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(left, 1, "today's minute stays");
    let hours: i64 =
        sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM readings WHERE period = 'hour'")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(hours, 1, "reported hours are never swept");
    // A second sweep at the same instant finds nothing.
    assert_eq!(retention::sweep(&db, now).await.unwrap().minute_rows, 0);

    // A correction of the day's NOx hour recomputes the day: the SO2 hour derived from the swept minutes stays.
    let (_, dirty) = audit::correct(
        &db,
        &monitor,
        point,
        &NewCorrection {
            period: Period::Hour,
            ts: day_start + 3600,
            factor: "a21002".into(),
            value: Some(40.0),
            invalid: false,
            reason: "比对监测".into(),
        },
    )
    .await
    .unwrap();
    rollup::recompute(&db, &BTreeSet::from([dirty]))
        .await
        .unwrap();
    let hour_after = rollup::stored(
        &db,
        point,
        Some("a21026"),
        Period::Hour,
        day_start,
        day_start + DAY_SECONDS,
    )
    .await
    .unwrap();
    assert_eq!(
        hour_after, hour_before,
        "the swept minutes' hour is kept as it was"
    );
    let so2_day = rollup::stored(
        &db,
        point,
        Some("a21026"),
        Period::Day,
        day_start,
        day_start + DAY_SECONDS,
    )
    .await
    .unwrap();
    assert_eq!(so2_day.len(), 1);
    assert_eq!(so2_day[0].mean, Some(10.0));
    let nox_day = rollup::stored(
        &db,
        point,
        Some("a21002"),
        Period::Day,
        day_start,
        day_start + DAY_SECONDS,
    )
    .await
    .unwrap();
    assert_eq!(nox_day[0].mean, Some(40.0), "the correction counts");
});

testkit::db_test!(settings_are_checked_and_audited, |db| {
    let monitor = principal(Role::Monitoring, None);
    let err = retention::update(
        &db,
        &monitor,
        &RetentionInput {
            rtd_days: None,
            minute_days: Some(7),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), http::StatusCode::UNPROCESSABLE_ENTITY);
    let officer = principal(Role::StreetOfficer, Some(1));
    let err = retention::update(
        &db,
        &officer,
        &RetentionInput {
            rtd_days: Some(5),
            minute_days: None,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.status(), http::StatusCode::FORBIDDEN);
    let after = retention::update(
        &db,
        &monitor,
        &RetentionInput {
            rtd_days: Some(5),
            minute_days: None,
        },
    )
    .await
    .unwrap();
    let rtd = after.iter().find(|r| r.period == "rtd").unwrap();
    assert_eq!(rtd.keep_days, 5);
    assert_eq!(rtd.updated_by, monitor.username);
    let minute = after.iter().find(|r| r.period == "minute").unwrap();
    assert_eq!(minute.keep_days, 400, "unchanged");
    let audited: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE entity = 'reading_retention'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(
        audited, 1,
        "the refused changes left no trace but the accepted one"
    );
});
