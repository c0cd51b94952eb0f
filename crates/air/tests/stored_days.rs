//! The stored station days follow the readings, on SQLite and PostgreSQL: random hours and corrections
//! (deterministic seed) written through the paths the API takes, and after every round the stored days equal a
//! recomputation from the raw hours, day by day.

use chrono::{Duration, NaiveDate};
use kernel::Db;
use kernel::rng::SplitMix64;
use kernel::time::cst_day_start;
use readings::audit::NewCorrection;
use readings::model::{DataFlag, Period, Reading};
use readings::store::{self, NewSource};

mod support;
use support::{monitor, station};

const FACTORS: [&str; 6] = ["a21026", "a21004", "a34002", "a34004", "a21005", "a05024"];
const DAYS: i64 = 6;

fn first_day() -> NaiveDate {
    // Spans the HJ 633-2026 effective date (2026-03-01), so both editions are stored.
    NaiveDate::from_ymd_opt(2026, 2, 26).unwrap()
}

fn last_day() -> NaiveDate {
    first_day() + Duration::days(DAYS - 1)
}

/// A random value of a factor with at most two decimals (CO in mg/m³).
fn value(rng: &mut SplitMix64, factor: &str) -> f64 {
    match factor {
        "a21005" => rng.int_in(1..400) as f64 / 100.0,
        _ => rng.int_in(0..3000) as f64 / 10.0,
    }
}

/// Random hours of random stations, days and factors, written and rolled up as a push does
/// (`readings::service::push`: `store::write`, then `rollup::recompute` of the days it touched).
async fn write_random_hours(
    db: &Db,
    rng: &mut SplitMix64,
    stations: &[i64],
    written: &mut Vec<(i64, i64, &'static str)>,
) {
    let source = store::create_source(
        db,
        &NewSource {
            kind: "api",
            name: "random".into(),
            checksum: None,
            received_by: "test".into(),
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    let mut readings = Vec::new();
    for _ in 0..rng.int_in(20..400) {
        let point_id = *rng.pick(stations);
        let day = first_day() + Duration::days(rng.int_in(0..DAYS));
        let ts = cst_day_start(day) + rng.int_in(0..24) * 3600;
        for factor in FACTORS {
            if rng.chance(0.9) {
                written.push((point_id, ts, factor));
                let flag = if rng.chance(0.05) { "D" } else { "N" };
                readings.push(Reading {
                    point_id,
                    factor: factor.into(),
                    ts,
                    period: Period::Hour,
                    value: Some(value(rng, factor)),
                    flag: DataFlag::parse(flag).unwrap(),
                });
            }
        }
    }
    let outcome = store::write(db, source, &readings).await.unwrap();
    readings::rollup::recompute(db, &outcome.dirty)
        .await
        .unwrap();
}

/// Random corrections (new values, invalid marks) of random hours, through `readings::service::correct`.
async fn correct_random_hours(db: &Db, rng: &mut SplitMix64, written: &[(i64, i64, &'static str)]) {
    for _ in 0..rng.int_in(1..12) {
        let (point_id, ts, factor) = *rng.pick(written);
        let invalid = rng.chance(0.3);
        let input = NewCorrection {
            period: Period::Hour,
            ts,
            factor: factor.into(),
            value: (!invalid).then(|| value(rng, factor)),
            invalid,
            reason: "随机审核".into(),
        };
        readings::service::correct(db, &monitor(), point_id, &input)
            .await
            .unwrap();
    }
}

/// The stored days (as `station_days` answers and as the table holds them) equal the days recomputed from the
/// raw hours, day by day.
async fn assert_stored_days_match_the_hours(db: &Db, stations: &[i64], round: usize) {
    let (from, to) = (first_day(), last_day());
    // A part of the range first, so that later reads meet days stored at different times.
    let part = air::service::station_days(db, &stations[..1], from, from + Duration::days(2))
        .await
        .unwrap();
    let served = air::service::station_days(db, stations, from, to)
        .await
        .unwrap();
    let expected = air::service::station_days_from_hours(db, stations, from, to)
        .await
        .unwrap();
    assert_eq!(served.len(), expected.len(), "round {round}");
    for (s, e) in served.iter().zip(&expected) {
        let key = (round, e.point_id, e.values.date);
        assert_eq!(
            (s.point_id, &s.values, &s.aqi, s.valid),
            (e.point_id, &e.values, &e.aqi, e.valid),
            "{key:?}"
        );
    }
    for p in &part {
        let e = expected
            .iter()
            .find(|e| e.point_id == p.point_id && e.values.date == p.values.date)
            .unwrap();
        assert_eq!((&p.values, p.valid), (&e.values, e.valid), "round {round}");
    }
    let stored = air::repo::station_days(db, stations, from, to)
        .await
        .unwrap();
    assert_eq!(
        stored.len(),
        stations.len() * DAYS as usize,
        "round {round}"
    );
    for row in &stored {
        let e = expected
            .iter()
            .find(|e| e.point_id == row.point_id && e.values.date == row.values.date);
        assert_eq!(row.has_hours, e.is_some(), "round {round} {row:?}");
        if let Some(e) = e {
            assert_eq!(row.values, e.values, "round {round}");
        }
        assert_eq!(row.method, air::service::METHOD);
    }
}

testkit::db_test!(stored_days_follow_random_readings_and_corrections, |db| {
    let stations = [
        station(&db, "S1", "national").await,
        station(&db, "S2", "national").await,
        station(&db, "S3", "national").await,
    ];
    let mut rng = SplitMix64::new(0x5eed_0015);
    let mut written = Vec::new();
    // Nothing yet: every day is stored as a day without hours, then must change when hours arrive.
    assert!(
        air::service::station_days(&db, &stations, first_day(), last_day())
            .await
            .unwrap()
            .is_empty()
    );
    for round in 0..8 {
        write_random_hours(&db, &mut rng, &stations, &mut written).await;
        if round % 2 == 1 {
            correct_random_hours(&db, &mut rng, &written).await;
        }
        assert_stored_days_match_the_hours(&db, &stations, round).await;
    }
    for round in 8..11 {
        correct_random_hours(&db, &mut rng, &written).await;
        assert_stored_days_match_the_hours(&db, &stations, round).await;
    }
    // Something counted: the comparison is not between empty lists.
    let days = air::service::station_days(&db, &stations, first_day(), last_day())
        .await
        .unwrap();
    assert!(
        days.iter().any(|d| d.valid),
        "some day has all six pollutants"
    );
    assert!(days.iter().any(|d| !d.valid), "some day lacks hours");
});

testkit::db_test!(a_stale_stored_day_is_recomputed_once, |db| {
    let a = station(&db, "A", "national").await;
    let mut rng = SplitMix64::new(7);
    write_random_hours(&db, &mut rng, &[a], &mut Vec::new()).await;
    let before = readings::service::data_version(&db).await.unwrap();
    let days = air::service::station_days(&db, &[a], first_day(), last_day())
        .await
        .unwrap();
    // Reading does not bump the data version; a correction does, and only its day is stale.
    assert_eq!(readings::service::data_version(&db).await.unwrap(), before);
    let target = days[0].values.date;
    let input = NewCorrection {
        period: Period::Hour,
        ts: cst_day_start(target),
        factor: "a34004".into(),
        value: Some(123.0),
        invalid: false,
        reason: "复核".into(),
    };
    readings::service::correct(&db, &monitor(), a, &input)
        .await
        .unwrap();
    assert!(readings::service::data_version(&db).await.unwrap() > before);
    let stored = air::repo::station_days(&db, &[a], first_day(), last_day())
        .await
        .unwrap();
    let marks = readings::service::day_versions(&db, &[a], 0, i64::MAX)
        .await
        .unwrap();
    let day_number = |d: NaiveDate| kernel::time::cst_day_number(cst_day_start(d));
    let stale: Vec<NaiveDate> = stored
        .iter()
        .filter(|s| {
            marks
                .get(&(a, day_number(s.values.date)))
                .copied()
                .unwrap_or(0)
                != s.source_version
        })
        .map(|s| s.values.date)
        .collect();
    assert_eq!(stale, vec![target]);
    assert_stored_days_match_the_hours(&db, &[a], 0).await;
});
