//! Imports: a real Beijing excerpt against an independent computation, idempotent re-import, bad files refused
//! whole, --strict, the generic CSV, new points registered through the registry's checks and audit log.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kernel::Db;
use readings::import::{self, Format, ImportError, ImportRequest, PointsMap};
use readings::model::Period;
use readings::{points, rollup};
use registry::model::PointKind;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/PRSA_Data_Dongsi_excerpt_20130723-20130815.csv")
}

fn request(files: Vec<PathBuf>, format: Format) -> ImportRequest {
    ImportRequest {
        files,
        format,
        points_map: PointsMap::default(),
        skip_bad: false,
        strict: false,
        actor: "test".into(),
    }
}

/// Daily PM2.5 (count of hours, mean) per CST date, computed straight from the file with the csv crate.
fn independent_daily_pm25(path: &Path) -> BTreeMap<chrono::NaiveDate, (i64, f64)> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    let (y, m, d, pm) = (col("year"), col("month"), col("day"), col("PM2.5"));
    let mut sums: BTreeMap<chrono::NaiveDate, (i64, f64)> = BTreeMap::new();
    for record in reader.records() {
        let r = record.unwrap();
        let date = chrono::NaiveDate::from_ymd_opt(
            r[y].parse().unwrap(),
            r[m].parse().unwrap(),
            r[d].parse().unwrap(),
        )
        .unwrap();
        let entry = sums.entry(date).or_default();
        if let Ok(v) = r[pm].parse::<f64>() {
            entry.0 += 1;
            entry.1 += v;
        }
    }
    sums.into_iter()
        .map(|(date, (n, sum))| (date, (n, if n > 0 { sum / n as f64 } else { f64::NAN })))
        .collect()
}

async fn count_readings(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM readings")
        .fetch_one(db.pool())
        .await
        .unwrap()
}

testkit::db_test!(
    beijing_excerpt_daily_values_match_an_independent_computation,
    |db| {
        let summary = import::run(&db, &request(vec![fixture()], Format::Uci), &mut |_, _| {})
            .await
            .unwrap();
        assert_eq!(summary.records, 576);
        assert_eq!(
            summary.new_points,
            vec![("Dongsi".to_string(), "Dongsi".to_string())]
        );
        let point = points::by_code(&db, "Dongsi").await.unwrap().unwrap();
        assert_eq!(point.kind, PointKind::AirStation);
        let expected = independent_daily_pm25(&fixture());
        assert_eq!(expected.len(), 24);
        let from = kernel::time::cst_day_start(*expected.keys().next().unwrap());
        let days = rollup::stored(
            &db,
            point.id,
            Some("a34004"),
            Period::Day,
            from,
            from + 24 * 86_400,
        )
        .await
        .unwrap();
        let by_date: BTreeMap<_, _> = days
            .iter()
            .map(|r| (kernel::time::cst_day(r.ts), r))
            .collect();
        let mut checked_invalid = 0;
        for (date, (n, mean)) in &expected {
            match by_date.get(date) {
                None => assert_eq!(*n, 0, "{date}: no roll-up although {n} hours"),
                Some(r) => {
                    assert_eq!((r.n, r.n_valid, r.expected), (*n, *n, 24), "{date}");
                    assert_eq!(r.valid, *n >= 20, "{date}: GB 3095 needs 20 valid hours");
                    assert!(
                        (r.mean.unwrap() - mean).abs() < 1e-9,
                        "{date}: {:?} vs {mean}",
                        r.mean
                    );
                    if !r.valid {
                        checked_invalid += 1;
                    }
                }
            }
        }
        assert_eq!(
            checked_invalid, 3,
            "days of 18, 12 and 10 hours are invalid"
        );
        // Weather columns came along: wind direction and speed, temperature, pressure, and DEWP/RAIN as extras.
        let rows = readings::store::rows(&db, point.id, &[Period::Hour], from, from + 3600)
            .await
            .unwrap();
        let row = &rows[0];
        assert_eq!(row.get("a01008").and_then(|c| c.value), Some(202.5)); // SSW
        assert_eq!(row.get("a01007").and_then(|c| c.value), Some(1.9));
        assert_eq!(row.get("a21005"), None, "CO NA at this hour");
        assert_eq!(row.get("a34002").and_then(|c| c.value), Some(150.0));
        assert_eq!(row.get("dewp").and_then(|c| c.value), Some(17.6));

        // Re-import: nothing changes.
        let before = count_readings(&db).await;
        let again = import::run(&db, &request(vec![fixture()], Format::Uci), &mut |_, _| {})
            .await
            .unwrap();
        assert_eq!(again.files_seen_before, 1);
        assert_eq!(
            (
                again.outcome.rows_inserted,
                again.outcome.values_written,
                again.outcome.conflicts
            ),
            (0, 0, 0)
        );
        assert!(again.new_points.is_empty());
        assert_eq!(again.rollups, 0);
        assert_eq!(count_readings(&db).await, before);
        let sources: i64 =
            sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM reading_sources")
                .fetch_one(db.pool())
                .await
                .unwrap();
        assert_eq!(sources, 1);
    }
);

const UCI_HEADER: &str = "\"No\",\"year\",\"month\",\"day\",\"hour\",\"PM2.5\",\"PM10\",\"SO2\",\"NO2\",\"CO\",\"O3\",\"TEMP\",\"PRES\",\"DEWP\",\"RAIN\",\"wd\",\"WSPM\",\"station\"\n";

testkit::db_test!(a_file_with_bad_rows_is_refused_whole, |db| {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    let text = format!(
        "{UCI_HEADER}1,2024,1,1,0,9,9,3,17,300,89,-0.5,1024.5,-21.4,0,\"NNW\",5.7,\"Alpha\"\n\
         2,2024,1,1,1,abc,9,3,17,300,89,-0.5,1024.5,-21.4,0,\"NNW\",5.7,\"Alpha\"\n\
         3,2024,1,1,2,9,9,3,17,300,89,-0.5,1024.5,-21.4,0,\"XYZ\",5.7,\"Alpha\"\n\
         4,2024,1,1,3,9,9,3,17,300,89,-0.5,1024.5,-21.4,0,\"N\",5.7,\"Alpha\"\n"
    );
    std::fs::write(&path, text).unwrap();
    let err = import::run(
        &db,
        &request(vec![path.clone()], Format::Uci),
        &mut |_, _| {},
    )
    .await
    .unwrap_err();
    let ImportError::BadRows(bad) = &err else {
        panic!("{err}")
    };
    assert_eq!(bad.len(), 2);
    assert_eq!(
        (bad[0].line, bad[0].column.clone()),
        (3, Some((6, "PM2.5".to_string())))
    );
    assert_eq!(
        (bad[1].line, bad[1].column.clone()),
        (4, Some((16, "wd".to_string())))
    );
    assert!(
        err.to_string().contains("bad.csv, line 4, column 16 (wd)"),
        "{err}"
    );
    assert_eq!(count_readings(&db).await, 0, "nothing imported");
    assert!(
        points::by_code(&db, "Alpha").await.unwrap().is_none(),
        "no point registered"
    );

    let mut skipping = request(vec![path.clone()], Format::Uci);
    skipping.skip_bad = true;
    let summary = import::run(&db, &skipping, &mut |_, _| {}).await.unwrap();
    assert_eq!((summary.records, summary.skipped.len()), (2, 2));
    assert_eq!(count_readings(&db).await, 2);

    // --strict refuses unknown stations.
    let other = dir.path().join("other.csv");
    std::fs::write(
        &other,
        format!("{UCI_HEADER}1,2024,1,1,0,9,9,3,17,300,89,-0.5,1024.5,-21.4,0,\"N\",1,\"Beta\"\n"),
    )
    .unwrap();
    let mut strict = request(vec![other], Format::Uci);
    strict.strict = true;
    let err = import::run(&db, &strict, &mut |_, _| {}).await.unwrap_err();
    assert!(
        matches!(err, ImportError::UnknownStations(ref s) if s == &vec!["Beta".to_string()]),
        "{err}"
    );
});

testkit::db_test!(generic_csv_imports_with_offsets_and_flags, |db| {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("generic.csv");
    std::fs::write(
        &path,
        "point,factor,time,period,value,flag\n\
         OUT-1,a21026,2024-03-01T00:00:00Z,minute,35.2,N\n\
         OUT-1,a21026,2024-03-01 08:01,minute,36.0,\n\
         OUT-1,a19001,2024-03-01T08:01:00+08:00,minute,,D\n\
         OUT-1,w99999,2024-03-01T08:01:00+08:00,minute,1.5,N\n",
    )
    .unwrap();
    let map = dir.path().join("map.csv");
    std::fs::write(
        &map,
        "station,code,name,level,kind\nOUT-1,OUT-1,一号排口,enterprise,outlet\n",
    )
    .unwrap();
    let mut req = request(vec![path], Format::Csv);
    req.points_map = PointsMap::read(&map).unwrap();
    let summary = import::run(&db, &req, &mut |_, _| {}).await.unwrap();
    assert_eq!((summary.records, summary.outcome.rows_inserted), (4, 2));
    let point = points::by_code(&db, "OUT-1").await.unwrap().unwrap();
    assert_eq!(
        (point.kind.as_str(), point.name.as_str()),
        ("outlet", "一号排口")
    );
    let rows = readings::store::rows(&db, point.id, &[Period::Minute], 0, i64::MAX)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[1].get("a19001").map(|c| (c.value, c.flag)),
        Some((None, readings::DataFlag::D))
    );
    assert_eq!(rows[1].get("w99999").and_then(|c| c.value), Some(1.5));
});

// `import readings` took times in 1900 and 9999 while the push API refused anything outside 2000–2099: one rule
// (`readings::model::READING_TIME_SPAN`) for every way in, each out-of-span row named with its line.
testkit::db_test!(
    times_outside_2000_to_2099_are_refused_by_every_import,
    |db| {
        let dir = tempfile::tempdir().unwrap();
        let generic = dir.path().join("generic.csv");
        std::fs::write(
            &generic,
            "point,factor,time,period,value,flag\n\
         OUT-9,a21026,2024-03-01T00:00:00Z,minute,35.2,N\n\
         OUT-9,a21026,1900-01-01 08:00,minute,36.0,N\n\
         OUT-9,a21026,9999-12-31T23:00:00Z,minute,36.0,N\n\
         OUT-9,a21026,1999-12-31T23:59:59Z,minute,36.0,N\n\
         OUT-9,a21026,2100-01-01T00:00:00Z,minute,36.0,N\n\
         OUT-9,a21026,2099-12-31T23:59:00Z,minute,36.0,N\n",
        )
        .unwrap();
        let err = import::run(&db, &request(vec![generic], Format::Csv), &mut |_, _| {})
            .await
            .unwrap_err();
        let ImportError::BadRows(bad) = &err else {
            panic!("{err}")
        };
        assert_eq!(
            bad.iter().map(|b| b.line).collect::<Vec<_>>(),
            vec![3, 4, 5, 6],
            "{err}"
        );
        assert!(
            bad.iter().all(|b| b.why.contains("outside 2000–2099")),
            "{err}"
        );
        assert_eq!(count_readings(&db).await, 0, "nothing imported");

        let station = dir.path().join("station.csv");
        std::fs::write(
            &station,
            format!(
                "{UCI_HEADER}1,2024,1,1,0,9,9,3,17,300,89,-0.5,1024.5,-21.4,0,\"N\",5.7,\"Alpha\"\n\
             2,1900,1,1,1,9,9,3,17,300,89,-0.5,1024.5,-21.4,0,\"N\",5.7,\"Alpha\"\n"
            ),
        )
        .unwrap();
        let err = import::run(&db, &request(vec![station], Format::Uci), &mut |_, _| {})
            .await
            .unwrap_err();
        let ImportError::BadRows(bad) = &err else {
            panic!("{err}")
        };
        assert_eq!(
            bad.iter().map(|b| b.line).collect::<Vec<_>>(),
            vec![3],
            "{err}"
        );
        assert_eq!(count_readings(&db).await, 0, "nothing imported");
    }
);

// A station the registry does not know is registered through the registry: checked (a points map that makes an
// outlet national is refused, naming the field, and registers nothing) and audited (who imported it).
testkit::db_test!(new_points_are_checked_and_audited_by_the_registry, |db| {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("generic.csv");
    std::fs::write(
        &path,
        "point,factor,time,period,value,flag\n\
         NEW-1,a21026,2024-03-01T00:00:00Z,minute,35.2,N\n\
         OUT-9,a21026,2024-03-01T00:00:00Z,minute,35.2,N\n",
    )
    .unwrap();
    let map = dir.path().join("map.csv");
    std::fs::write(
        &map,
        "station,code,name,level,kind\nOUT-9,OUT-9,九号排口,national,outlet\n",
    )
    .unwrap();
    let mut req = request(vec![path.clone()], Format::Csv);
    req.points_map = PointsMap::read(&map).unwrap();
    let err = import::run(&db, &req, &mut |_, _| {}).await.unwrap_err();
    match &err {
        ImportError::PointRefused { station, error } => {
            assert_eq!(station, "OUT-9");
            assert!(error.status().is_client_error(), "{error:?}");
            assert!(
                matches!(error, kernel::AppError::Validation { field, .. } if field == "level"),
                "{error:?}"
            );
        }
        other => panic!("expected the point refused, got {other}"),
    }
    assert!(err.to_string().contains("OUT-9"), "{err}");
    assert!(points::by_code(&db, "NEW-1").await.unwrap().is_none());
    assert_eq!(count_readings(&db).await, 0, "nothing imported");

    // Without the map the outlet is an air station of the default level, and both points are audited.
    let summary = import::run(&db, &request(vec![path], Format::Csv), &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!(summary.new_points.len(), 2);
    let point = points::by_code(&db, "NEW-1").await.unwrap().unwrap();
    let entries = kernel::audit::search(
        &db,
        &kernel::audit::AuditFilter {
            entity: Some("monitoring_point".into()),
            entity_id: Some(point.id.to_string()),
            ..Default::default()
        },
        &kernel::PageQuery::default(),
    )
    .await
    .unwrap();
    assert_eq!(entries.total, 1);
    let entry = &entries.items[0];
    assert_eq!(
        (entry.action.as_str(), entry.actor.as_str()),
        ("create", "test")
    );
    assert_eq!(entry.after.as_ref().unwrap()["kind"], "air_station");
    assert_eq!(entry.after.as_ref().unwrap()["level"], "district");
});

// A points map naming an outlet without a level gives it the enterprise level (the only one an outlet point
// may have), not the stations' default.
testkit::db_test!(an_outlet_without_a_level_is_the_enterprises_own, |db| {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("generic.csv");
    std::fs::write(
        &path,
        "point,factor,time,period,value,flag\nOUT-2,a21026,2024-03-01T00:00:00Z,minute,35.2,N\n",
    )
    .unwrap();
    let map = dir.path().join("map.csv");
    std::fs::write(&map, "station,kind\nOUT-2,outlet\n").unwrap();
    let mut req = request(vec![path], Format::Csv);
    req.points_map = PointsMap::read(&map).unwrap();
    import::run(&db, &req, &mut |_, _| {}).await.unwrap();
    let point = registry::service::point_by_code(&db, "OUT-2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (point.kind, point.level),
        (PointKind::Outlet, registry::model::PointLevel::Enterprise)
    );
});

// Issue 14: a bad row on line 5 of a file with CRLF line ends (as Excel and Windows write CSV) was reported as
// "line 4", and blank lines moved the count too. Every file error names the line an editor shows.
testkit::db_test!(bad_rows_are_named_by_their_physical_line, |db| {
    let dir = tempfile::tempdir().unwrap();
    let generic = dir.path().join("crlf.csv");
    std::fs::write(
        &generic,
        "point,factor,time,period,value,flag\r\n\
         OUT-7,a21026,2024-03-01T00:00:00Z,minute,35.2,N\r\n\
         OUT-7,a21026,2024-03-01T00:01:00Z,minute,35.3,N\r\n\
         OUT-7,a21026,2024-03-01T00:02:00Z,minute,35.4,N\r\n\
         OUT-7,a21026,2024-03-01T00:03:00Z,minute,abc,N\r\n\
         \r\n\
         OUT-7,a21026,2024-03-01T00:04:00Z,minute,xyz,N\r\n",
    )
    .unwrap();
    let err = import::run(&db, &request(vec![generic], Format::Csv), &mut |_, _| {})
        .await
        .unwrap_err();
    let ImportError::BadRows(bad) = &err else {
        panic!("{err}")
    };
    assert_eq!(
        bad.iter().map(|b| b.line).collect::<Vec<_>>(),
        vec![5, 7],
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("crlf.csv, line 5, column 5 (value)"),
        "{err}"
    );

    let station = dir.path().join("station-crlf.csv");
    std::fs::write(
        &station,
        format!(
            "{}1,2024,1,1,0,9,9,3,17,300,89,-0.5,1024.5,-21.4,0,\"N\",5.7,\"Alpha\"\r\n\
             2,2024,1,1,1,9,9,3,17,300,89,-0.5,1024.5,-21.4,0,\"N\",5.7,\"Alpha\"\r\n\
             3,2024,1,1,2,9,9,3,17,300,89,-0.5,1024.5,-21.4,0,\"N\",5.7,\"Alpha\"\r\n\
             4,2024,1,1,3,abc,9,3,17,300,89,-0.5,1024.5,-21.4,0,\"N\",5.7,\"Alpha\"\r\n",
            UCI_HEADER.replace('\n', "\r\n")
        ),
    )
    .unwrap();
    let err = import::run(&db, &request(vec![station], Format::Uci), &mut |_, _| {})
        .await
        .unwrap_err();
    let ImportError::BadRows(bad) = &err else {
        panic!("{err}")
    };
    assert_eq!(
        (bad[0].line, bad[0].column.clone()),
        (5, Some((6, "PM2.5".to_string()))),
        "{err}"
    );
    assert_eq!(count_readings(&db).await, 0, "nothing imported");
});

/// What one import run reports: records, files seen before, new points, roll-ups, the store's outcome (dirty
/// days included).
type Run = (
    u64,
    usize,
    Vec<(String, String)>,
    u64,
    readings::WriteOutcome,
);
/// A resend without its arrival time.
type Resent = (Period, i64, String, Option<f64>);

/// Everything an import run reports and leaves stored, for comparing the two backends.
#[derive(Debug, PartialEq)]
struct Observed {
    runs: Vec<Run>,
    /// Per point code: every stored row, and the resends.
    stored: BTreeMap<String, (Vec<readings::Row>, Vec<Resent>)>,
}

async fn import_sequence(db: &Db, dir: &Path) -> Observed {
    let second = dir.join("second.csv");
    let mut runs = Vec::new();
    for (files, format) in [
        (vec![fixture()], Format::Uci),
        // The same file again: every value unchanged, over the span path (a point's many rows).
        (vec![fixture()], Format::Uci),
        // A few rows per point: a conflict, an unchanged value, a new factor and a flag-only extra on stored
        // rows, a new row after the stored span, a new point with a flagged value.
        (vec![second.clone()], Format::Csv),
        (vec![second.clone()], Format::Csv),
    ] {
        let summary = import::run(db, &request(files, format), &mut |_, _| {})
            .await
            .unwrap();
        runs.push((
            summary.records,
            summary.files_seen_before,
            summary.new_points,
            summary.rollups,
            summary.outcome,
        ));
    }
    let mut stored = BTreeMap::new();
    for code in ["Dongsi", "Other"] {
        let point = points::by_code(db, code).await.unwrap().unwrap();
        let rows = readings::store::rows(db, point.id, &Period::ALL, i64::MIN, i64::MAX)
            .await
            .unwrap();
        let resends = readings::store::resends(db, point.id, i64::MIN, i64::MAX)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.period, r.ts, r.factor, r.value))
            .collect();
        stored.insert(code.to_string(), (rows, resends));
    }
    Observed { runs, stored }
}

/// The PostgreSQL store writes through COPY and SQLite through multi-row statements: the same imports give the
/// same outcomes (rows, values, conflicts, dirty days, roll-ups) and leave the same rows on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_import_the_same() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("second.csv"),
        "point,factor,time,period,value,flag\n\
         Dongsi,a34004,2013-07-23 00:00,hour,99,\n\
         Dongsi,a34002,2013-07-23 01:00,hour,106,\n\
         Dongsi,a21005,2013-07-23 00:00,hour,0.8,\n\
         Dongsi,x12345,2013-07-23 02:00,hour,,D\n\
         Dongsi,a34004,2013-08-20 00:00,hour,40,\n\
         Other,a34004,2013-07-23 00:00,hour,12.25,\n\
         Other,a21026,2013-07-23 00:00,hour,3,D\n",
    )
    .unwrap();
    let sqlite = testkit::TestDb::sqlite().await;
    let on_sqlite = import_sequence(&sqlite.db, dir.path()).await;
    // What the sequence must show, so that the comparison compares something.
    let third = &on_sqlite.runs[2].4;
    assert_eq!(
        (
            third.rows_inserted,
            third.rows_updated,
            third.values_written,
            third.values_unchanged,
            third.conflicts
        ),
        (2, 2, 5, 1, 1)
    );
    assert_eq!(on_sqlite.runs[1].4.values_written, 0);
    assert!(on_sqlite.runs[1].4.values_unchanged > 5_000);
    assert_eq!(on_sqlite.runs[3].4.conflicts, 1);
    assert_eq!(on_sqlite.stored["Dongsi"].1.len(), 2, "two resends kept");
    let Some(postgres) = testkit::TestDb::postgres().await else {
        return;
    };
    let on_postgres = import_sequence(&postgres.db, dir.path()).await;
    assert_eq!(on_sqlite.runs, on_postgres.runs);
    assert_eq!(on_sqlite.stored, on_postgres.stored);
}

/// Every stored hour and day roll-up of a point, ordered.
async fn stored_rollups(db: &Db, point_id: i64) -> Vec<rollup::Rollup> {
    let mut out = Vec::new();
    for period in [Period::Hour, Period::Day] {
        out.extend(
            rollup::stored(db, point_id, None, period, i64::MIN, i64::MAX)
                .await
                .unwrap(),
        );
    }
    out
}

/// The roll-ups an import stored (from the rows it wrote where it could) are those the store's recomputation
/// gives for every day with readings.
async fn assert_rollups_as_recomputed(db: &Db, code: &str) {
    let point = points::by_code(db, code).await.unwrap().unwrap();
    let imported = stored_rollups(db, point.id).await;
    assert!(!imported.is_empty(), "{code}: roll-ups stored");
    let rows = readings::store::rows(
        db,
        point.id,
        &[Period::Minute, Period::Hour],
        i64::MIN,
        i64::MAX,
    )
    .await
    .unwrap();
    let days = rows
        .iter()
        .map(|r| readings::DirtyDay {
            point_id: point.id,
            day: kernel::time::cst_day_number(r.ts),
        })
        .collect();
    rollup::recompute(db, &days).await.unwrap();
    assert_eq!(imported, stored_rollups(db, point.id).await, "{code}");
}

testkit::db_test!(
    roll_ups_from_the_rows_written_are_those_of_the_store,
    |db| {
        let dir = tempfile::tempdir().unwrap();
        // Six CST days of minutes (more than one batch, each batch ending at a day's end), some flagged; then a
        // second factor on minutes of the first day, in a later batch and on stored rows.
        let mut minutes = String::from("point,factor,time,period,value,flag\n");
        let start = chrono::NaiveDate::from_ymd_opt(2013, 7, 23)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        for m in 0..6 * 1440 {
            let time = start + chrono::Duration::minutes(m);
            let flag = if m % 11 == 0 { "D" } else { "" };
            minutes.push_str(&format!(
                "Minutes,a21026,{},minute,{},{flag}\n",
                time.format("%Y-%m-%d %H:%M"),
                m % 7
            ));
        }
        for m in 0..50 {
            let time = start + chrono::Duration::minutes(m);
            minutes.push_str(&format!(
                "Minutes,a21004,{},minute,{}.5,\n",
                time.format("%Y-%m-%d %H:%M"),
                m % 5
            ));
        }
        std::fs::write(dir.path().join("minutes.csv"), minutes).unwrap();
        // Corrected and overlapping data: a different value for a stored hour (a conflict), a minute in a day that
        // has stored hours, a new day after the stored span.
        std::fs::write(
            dir.path().join("overlap.csv"),
            "point,factor,time,period,value,flag\n\
         Dongsi,a34004,2013-07-23 00:00,hour,99,\n\
         Dongsi,a34004,2013-07-24 05:10,minute,50,\n\
         Dongsi,a34004,2013-08-16 00:00,hour,40,\n\
         Dongsi,a34004,2013-08-16 01:00,hour,41,D\n\
         Minutes,a21026,2013-07-25 10:00,minute,3,\n\
         Minutes,a21026,2013-07-30 10:00,minute,3,\n",
        )
        .unwrap();
        for (file, format) in [
            (fixture(), Format::Uci),
            (dir.path().join("minutes.csv"), Format::Csv),
            (dir.path().join("overlap.csv"), Format::Csv),
            // Again: nothing changes, nothing is rolled up.
            (dir.path().join("overlap.csv"), Format::Csv),
        ] {
            let summary = import::run(&db, &request(vec![file], format), &mut |_, _| {})
                .await
                .unwrap();
            assert_eq!(summary.rollups > 0, !summary.outcome.dirty.is_empty());
            assert_rollups_as_recomputed(&db, "Dongsi").await;
            if points::by_code(&db, "Minutes").await.unwrap().is_some() {
                assert_rollups_as_recomputed(&db, "Minutes").await;
            }
        }
    }
);
