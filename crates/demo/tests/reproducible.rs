//! The same seed gives the same district whenever it is created: a demo created later holds exactly the same
//! hourly air data, water samples and complaints for the dates an earlier one covers. (Issue: two demos of one
//! seed created half an hour apart held different 2024 hours, because every draw came from one sequence whose
//! length depended on the moment of creation.)
//!
//! Generation, not storage, is under test here, so both demos are SQLite files.

use readings::simulate::HISTORY_START;

const DAY: i64 = 86_400;

async fn created_until(until: i64) -> testkit::TestDb {
    let test_db = testkit::TestDb::sqlite().await;
    demo::ensure(&test_db.db, demo::DEFAULT_SEED, demo::History::Until(until))
        .await
        .unwrap();
    test_db
}

/// The rows of `sql` (whose one parameter is the cutoff) as text, one string per row; every selected column is
/// cast to TEXT in the query so that one reader serves both comparisons.
async fn rows_as_text(db: &kernel::Db, sql: String, cutoff: i64) -> Vec<String> {
    use sqlx::Row;
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(cutoff)
        .fetch_all(db.pool())
        .await
        .unwrap()
        .iter()
        .map(|row| {
            (0..row.len())
                .map(|column| row.get::<Option<String>, _>(column).unwrap_or_default())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Every stored value of the air stations and water sections before `cutoff`, in a fixed order.
async fn station_values(db: &kernel::Db, cutoff: i64) -> Vec<String> {
    let columns = [
        "p.code", "r.period", "r.ts", "r.a34004", "r.a34002", "r.a21026", "r.a21004", "r.a21005",
        "r.a05024", "r.a01007", "r.a01008", "r.w01010", "r.w01009", "r.w01019",
    ];
    let sql = format!(
        "SELECT {} FROM readings r JOIN monitoring_points p ON p.id = r.point_id \
         WHERE p.kind IN ('air_station', 'water_section') AND r.ts < $1 ORDER BY p.code, r.period, r.ts",
        as_text(&columns)
    );
    rows_as_text(db, sql, cutoff).await
}

/// The complaints received before `cutoff`: what was received, when, where and from whom.
async fn complaints_received(db: &kernel::Db, cutoff: i64) -> Vec<String> {
    let columns = [
        "channel",
        "category",
        "title",
        "street_id",
        "enterprise_id",
        "received_at",
        "lon",
        "lat",
    ];
    let sql = format!(
        "SELECT {} FROM complaints WHERE received_at < $1 ORDER BY received_at, id",
        as_text(&columns)
    );
    rows_as_text(db, sql, cutoff).await
}

fn as_text(columns: &[&str]) -> String {
    columns
        .iter()
        .map(|column| format!("CAST({column} AS TEXT)"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_created_later_holds_the_same_data_for_the_same_dates() {
    let earlier = created_until(HISTORY_START + 40 * DAY).await;
    let later = created_until(HISTORY_START + 75 * DAY).await;
    let cutoff = HISTORY_START + 40 * DAY;

    let (a, b) = (
        station_values(&earlier.db, cutoff).await,
        station_values(&later.db, cutoff).await,
    );
    assert!(a.len() > 45 * 24 * 35, "{} rows", a.len());
    assert_eq!(a.len(), b.len());
    if let Some((x, y)) = a.iter().zip(&b).find(|(x, y)| x != y) {
        panic!("the same hour differs between the two demos:\n{x}\n{y}");
    }
    // The later demo has more: the dates after the earlier one's creation.
    assert!(
        station_values(&later.db, HISTORY_START + 75 * DAY)
            .await
            .len()
            > a.len() + 45 * 24 * 30
    );

    let (a, b) = (
        complaints_received(&earlier.db, cutoff - DAY).await,
        complaints_received(&later.db, cutoff - DAY).await,
    );
    assert!(a.len() > 20, "{} complaints", a.len());
    assert_eq!(a, b);
}
