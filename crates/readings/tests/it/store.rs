//! The store on both backends: idempotent writes, conflicts kept, dirty days, partitions, roll-ups, the audit
//! tier and month locks.

use std::collections::BTreeSet;

use kernel::Db;
use readings::audit::{self, NewCorrection};
use readings::model::{DataFlag, Period, Reading};
use readings::store::{self, DirtyDay, NewSource};
use readings::{Cell, rollup};
use registry::model::PointKind;

use crate::support::{self, principal};

fn reading(point_id: i64, factor: &str, ts: i64, value: f64) -> Reading {
    Reading {
        point_id,
        factor: factor.into(),
        ts,
        period: Period::Hour,
        value: Some(value),
        flag: DataFlag::N,
    }
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

/// 2024-01-01 00:00 CST.
const DAY_START: i64 = 1_704_038_400;

testkit::db_test!(writes_are_idempotent_and_keep_the_first_value, |db| {
    let point = support::point(&db, "T1", PointKind::AirStation, None).await;
    let src = source(&db).await;
    let mut batch: Vec<Reading> = (0..48)
        .flat_map(|h| {
            [
                reading(point, "a34004", DAY_START + h * 3600, 30.0 + h as f64),
                reading(point, "a21005", DAY_START + h * 3600, 0.8),
            ]
        })
        .collect();
    batch.push(Reading {
        flag: DataFlag::D,
        value: None,
        ..reading(point, "x12345", DAY_START, 0.0)
    });
    let first = store::write(&db, src, &batch).await.unwrap();
    assert_eq!(first.rows_inserted, 48);
    assert_eq!(first.values_written, 97);
    assert_eq!(first.conflicts, 0);
    let days: BTreeSet<i64> = first.dirty.iter().map(|d| d.day).collect();
    assert_eq!(days.len(), 2, "two CST days");

    let again = store::write(&db, src, &batch).await.unwrap();
    assert_eq!(
        (
            again.rows_inserted,
            again.rows_updated,
            again.values_written
        ),
        (0, 0, 0)
    );
    assert_eq!(again.values_unchanged, 97);
    assert!(again.dirty.is_empty(), "nothing to recompute");

    // A different value for a stored cell is a conflict and is not written; a new factor is added.
    let changed = store::write(
        &db,
        src,
        &[
            reading(point, "a34004", DAY_START, 999.0),
            reading(point, "a34002", DAY_START, 50.0),
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        (
            changed.conflicts,
            changed.values_written,
            changed.rows_updated
        ),
        (1, 1, 1)
    );
    assert_eq!(changed.conflict_samples[0].stored_value, Some(30.0));
    assert_eq!(
        changed.dirty.into_iter().collect::<Vec<_>>(),
        vec![DirtyDay {
            point_id: point,
            day: kernel::time::cst_day_number(DAY_START)
        }]
    );
    let rows = store::rows(&db, point, &[Period::Hour], DAY_START, DAY_START + 3600)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].get("a34004"),
        Some(Cell {
            value: Some(30.0),
            flag: DataFlag::N
        })
    );
    assert_eq!(rows[0].get("a34002").and_then(|c| c.value), Some(50.0));
    assert_eq!(
        rows[0].get("x12345"),
        Some(Cell {
            value: None,
            flag: DataFlag::D
        }),
        "extra factor kept with its flag"
    );
});

testkit::db_test!(years_far_apart_land_in_partitions_or_default, |db| {
    let point = support::point(&db, "T2", PointKind::Outlet, None).await;
    let src = source(&db).await;
    let times = [0_i64, 946_684_800, 1_704_038_400, 4_200_000_000];
    let batch: Vec<Reading> = times
        .iter()
        .map(|&t| reading(point, "a21026", t, 1.0))
        .collect();
    let out = store::write(&db, src, &batch).await.unwrap();
    assert_eq!(out.rows_inserted, 4);
    let rows = store::rows(&db, point, &[Period::Hour], i64::MIN, i64::MAX)
        .await
        .unwrap();
    assert_eq!(rows.iter().map(|r| r.ts).collect::<Vec<_>>(), times);
});

testkit::db_test!(rollups_follow_corrections_and_raw_stays, |db| {
    let point = support::point(&db, "T3", PointKind::AirStation, None).await;
    let src = source(&db).await;
    // 21 hours of PM2.5 = 10, one of them a wild 900.
    let mut batch: Vec<Reading> = (0..21)
        .map(|h| reading(point, "a34004", DAY_START + h * 3600, 10.0))
        .collect();
    batch[5].value = Some(900.0);
    let out = store::write(&db, src, &batch).await.unwrap();
    rollup::recompute(&db, &out.dirty).await.unwrap();
    let day = |db: Db| async move {
        rollup::stored(
            &db,
            point,
            Some("a34004"),
            Period::Day,
            DAY_START,
            DAY_START + 86_400,
        )
        .await
        .unwrap()
        .remove(0)
    };
    let before = day(db.clone()).await;
    assert_eq!(
        (before.n, before.n_valid, before.expected, before.valid),
        (21, 21, 24, true)
    );
    assert!((before.mean.unwrap() - (20.0 * 10.0 + 900.0) / 21.0).abs() < 1e-9);

    let monitor = principal(kernel::Role::Monitoring, None);
    let correction = |value: Option<f64>, invalid: bool| NewCorrection {
        period: Period::Hour,
        ts: DAY_START + 5 * 3600,
        factor: "a34004".into(),
        value,
        invalid,
        reason: "仪器漂移".into(),
    };
    let (record, dirty) = audit::correct(&db, &monitor, point, &correction(Some(12.0), false))
        .await
        .unwrap();
    assert_eq!((record.version, record.raw_value), (1, Some(900.0)));
    rollup::recompute(&db, &BTreeSet::from([dirty]))
        .await
        .unwrap();
    let corrected = day(db.clone()).await;
    assert!((corrected.mean.unwrap() - (200.0 + 12.0) / 21.0).abs() < 1e-9);

    // Marking it invalid (version 2) drops the day below 21 valid hours but still ≥ 20: valid, mean 10.
    let (record, dirty) = audit::correct(&db, &monitor, point, &correction(None, true))
        .await
        .unwrap();
    assert_eq!(record.version, 2);
    rollup::recompute(&db, &BTreeSet::from([dirty]))
        .await
        .unwrap();
    let invalidated = day(db.clone()).await;
    assert_eq!(
        (invalidated.n, invalidated.n_valid, invalidated.valid),
        (21, 20, true)
    );
    assert_eq!(invalidated.mean, Some(10.0));

    // The raw value is untouched.
    let raw = store::rows(
        &db,
        point,
        &[Period::Hour],
        DAY_START + 5 * 3600,
        DAY_START + 5 * 3600 + 1,
    )
    .await
    .unwrap();
    assert_eq!(raw[0].get("a34004").and_then(|c| c.value), Some(900.0));

    // A correction without a reason, or of a reading that does not exist, is refused naming the field.
    let err = audit::correct(
        &db,
        &monitor,
        point,
        &NewCorrection {
            reason: " ".into(),
            ..correction(Some(1.0), false)
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, kernel::AppError::Validation { ref field, .. } if field == "reason"));
    let err = audit::correct(
        &db,
        &monitor,
        point,
        &NewCorrection {
            ts: DAY_START + 23 * 3600,
            ..correction(Some(1.0), false)
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, kernel::AppError::Validation { ref field, .. } if field == "ts"));
});

testkit::db_test!(locked_month_refuses_corrections_until_reopened, |db| {
    let point = support::point(&db, "T4", PointKind::AirStation, None).await;
    let src = source(&db).await;
    store::write(&db, src, &[reading(point, "a21004", DAY_START, 40.0)])
        .await
        .unwrap();
    let monitor = principal(kernel::Role::Monitoring, None);
    let lock = audit::lock_month(&db, &monitor, "2024-01").await.unwrap();
    assert!(lock.locked);
    let correction = NewCorrection {
        period: Period::Hour,
        ts: DAY_START,
        factor: "a21004".into(),
        value: Some(41.0),
        invalid: false,
        reason: "复核".into(),
    };
    let err = audit::correct(&db, &monitor, point, &correction)
        .await
        .unwrap_err();
    assert!(matches!(err, kernel::AppError::Conflict(_)), "{err:?}");
    let err = audit::reopen_month(&db, &monitor, "2024-01", "")
        .await
        .unwrap_err();
    assert!(matches!(err, kernel::AppError::Validation { ref field, .. } if field == "reason"));
    let reopened = audit::reopen_month(&db, &monitor, "2024-01", "省站通知补充审核")
        .await
        .unwrap();
    assert!(!reopened.locked);
    assert_eq!(reopened.reopen_reason.as_deref(), Some("省站通知补充审核"));
    audit::correct(&db, &monitor, point, &correction)
        .await
        .unwrap();
    let err = audit::reopen_month(&db, &monitor, "2024-01", "again")
        .await
        .unwrap_err();
    assert!(matches!(err, kernel::AppError::Conflict(_)));
});
