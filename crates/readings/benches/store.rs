//! Readings store benchmarks (BENCHMARKS.md, "Readings store"):
//! - `import_*`: hourly rows with 11 factors into a fresh SQLite database (the import path, without parsing),
//!   and a real UCI Beijing station file through `import::run` (parsing, points, roll-ups included);
//! - `series_point_year`: one factor of a point-year of hourly rows, as the series API reads it;
//! - `rollup_day_300_minute_points`: recomputing one day of 300 minute-level points (1,440 rows × 6 factors
//!   each), on SQLite and, with `QINGSHAN_TEST_POSTGRES_URL`, on PostgreSQL.
//!
//! `cargo bench -p readings --bench store` (release profile).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use readings::model::{Cell, DataFlag, Period};
use readings::store::{self, DirtyDay, NewSource, Row};
use registry::model::{PointKind, PointRegistration};
use testkit::TestDb;

fn main() {
    divan::main();
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    })
}

const START: i64 = 1_704_038_400;
const AIR: [&str; 11] = [
    "a34004", "a34002", "a21026", "a21004", "a21005", "a05024", "a01007", "a01008", "a01001",
    "a01002", "a01006",
];

async fn point(db: &kernel::Db, code: &str, kind: PointKind) -> i64 {
    registry::service::register_point(
        db,
        "bench",
        &PointRegistration {
            code: code.into(),
            name: code.into(),
            kind,
            level: readings::import::default_level(kind),
            street_id: None,
            lon: None,
            lat: None,
            owner: "bench".into(),
            simulated: false,
        },
    )
    .await
    .expect("point")
    .id
}

async fn source(db: &kernel::Db) -> i64 {
    store::create_source(
        db,
        &NewSource {
            kind: "file",
            name: "bench".into(),
            checksum: None,
            received_by: "bench".into(),
            idempotency_key: None,
        },
    )
    .await
    .expect("source")
}

fn hourly_rows(point_id: i64, hours: i64) -> Vec<Row> {
    (0..hours)
        .map(|h| {
            let mut row = Row::new(point_id, Period::Hour, START + h * 3600);
            for (i, code) in AIR.iter().enumerate() {
                row.set(
                    code,
                    Cell {
                        value: Some(10.0 + (h % 97) as f64 + i as f64),
                        flag: DataFlag::N,
                    },
                );
            }
            row
        })
        .collect()
}

/// 8,760 hourly rows × 11 factors = 96,360 readings per iteration into a fresh SQLite file.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn import_sqlite_96k_readings(bencher: divan::Bencher) {
    let rt = runtime();
    bencher
        .counter(divan::counter::ItemsCount::new(8_760usize * AIR.len()))
        .with_inputs(|| {
            rt.block_on(async {
                let db = TestDb::sqlite().await;
                let p = point(&db.db, "B1", PointKind::AirStation).await;
                let s = source(&db.db).await;
                let rows = hourly_rows(p, 8_760);
                (db, s, rows)
            })
        })
        .bench_local_values(|(db, s, rows)| {
            rt.block_on(async {
                store::write_rows(&db.db, s, rows).await.expect("write");
            });
            db
        });
}

/// The whole station file (four years, the figure BENCHMARKS.md records), from the shared research data: the
/// repository's `fixtures/beijing` holds one year of it only.
fn beijing_file() -> Option<PathBuf> {
    testkit::shared_data("beijing-multisite/PRSA_Data_Dongsi_20130301-20170228.csv")
}

/// One real UCI station file (35,064 station-hours, ≈ 0.5 M readings) through `import::run`.
#[divan::bench(sample_count = 3, sample_size = 1)]
fn import_sqlite_beijing_station_file(bencher: divan::Bencher) {
    let Some(file) = beijing_file() else {
        return;
    };
    let rt = runtime();
    bencher
        .with_inputs(|| rt.block_on(TestDb::sqlite()))
        .bench_local_values(|db| {
            rt.block_on(async {
                let request = readings::import::ImportRequest {
                    files: vec![file.clone()],
                    format: readings::import::Format::Uci,
                    points_map: Default::default(),
                    skip_bad: false,
                    strict: false,
                    actor: "bench".into(),
                };
                readings::import::run(&db.db, &request, &mut |_, _| {})
                    .await
                    .expect("import");
            });
            db
        });
}

struct SeriesFixture {
    db: TestDb,
    point: i64,
}

fn series_fixture() -> &'static SeriesFixture {
    static F: OnceLock<SeriesFixture> = OnceLock::new();
    F.get_or_init(|| {
        runtime().block_on(async {
            let db = TestDb::sqlite().await;
            let p = point(&db.db, "S1", PointKind::AirStation).await;
            let s = source(&db.db).await;
            store::write_rows(&db.db, s, hourly_rows(p, 8_784))
                .await
                .expect("write");
            SeriesFixture { db, point: p }
        })
    })
}

/// A point-year (8,784 hours) of one factor, one page of 10,000, as `GET …/series?period=raw` reads it.
#[divan::bench]
fn series_point_year_sqlite() {
    let f = series_fixture();
    runtime().block_on(async {
        let (rows, total) = store::factor_series(
            &f.db.db,
            f.point,
            "a34004",
            &Period::ALL,
            START,
            START + 366 * 86_400,
            10_000,
            0,
        )
        .await
        .expect("series");
        assert_eq!((rows.len(), total), (8_784, 8_784));
    });
}

const MINUTE_FACTORS: [&str; 6] = ["a21026", "a21002", "a34013", "a19001", "a01012", "a01011"];

/// 300 outlets × 1,440 minutes × 6 factors (2.6 M readings) for one day, and the dirty set of that day.
async fn minute_fixture(db: &kernel::Db) -> BTreeSet<DirtyDay> {
    let s = source(db).await;
    let mut dirty = BTreeSet::new();
    for i in 0..300 {
        let p = point(db, &format!("OUT{i:03}"), PointKind::Outlet).await;
        let rows: Vec<Row> = (0..1_440)
            .map(|m| {
                let mut row = Row::new(p, Period::Minute, START + m * 60);
                for (j, code) in MINUTE_FACTORS.iter().enumerate() {
                    row.set(
                        code,
                        Cell {
                            value: Some(5.0 + ((m + j as i64) % 13) as f64),
                            flag: DataFlag::N,
                        },
                    );
                }
                row
            })
            .collect();
        dirty.extend(store::write_rows(db, s, rows).await.expect("write").dirty);
    }
    dirty
}

fn rollup_bench(bencher: divan::Bencher, db: TestDb) {
    let rt = runtime();
    let dirty = rt.block_on(minute_fixture(&db.db));
    assert_eq!(dirty.len(), 300);
    bencher.bench_local(|| {
        rt.block_on(async {
            readings::rollup::recompute(&db.db, &dirty)
                .await
                .expect("rollup");
        });
    });
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn rollup_day_300_minute_points_sqlite(bencher: divan::Bencher) {
    let db = runtime().block_on(TestDb::sqlite());
    rollup_bench(bencher, db);
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn rollup_day_300_minute_points_postgres(bencher: divan::Bencher) {
    let Some(db) = runtime().block_on(TestDb::postgres()) else {
        return;
    };
    rollup_bench(bencher, db);
}
