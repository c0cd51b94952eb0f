//! The two schemas (SQLite and PostgreSQL migrations) must define the same tables with the same columns and
//! nullability, and the portable-SQL rules must hold on both backends.

use std::collections::BTreeMap;

use sqlx::Row;
use testkit::TestDb;

type Columns = BTreeMap<String, BTreeMap<String, bool>>;

async fn sqlite_columns(db: &kernel::Db) -> Columns {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut out = Columns::new();
    for table in tables {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT name, \"notnull\" AS nn, pk FROM pragma_table_info('{table}')"
        )))
        .fetch_all(db.pool())
        .await
        .unwrap();
        let columns = rows
            .iter()
            .map(|r| {
                let name: String = r.get("name");
                let not_null: i64 = r.get("nn");
                let pk: i64 = r.get("pk");
                (name, not_null == 1 || pk == 1)
            })
            .collect();
        out.insert(table, columns);
    }
    out
}

/// Partitions (e.g. of `readings`) are storage detail of their parent table, not tables of the schema.
async fn postgres_columns(db: &kernel::Db) -> Columns {
    let rows = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c, is_nullable::text AS n FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
         AND table_name::text NOT IN (SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid)",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut out = Columns::new();
    for r in rows {
        let table: String = r.get("t");
        let column: String = r.get("c");
        let nullable: String = r.get("n");
        out.entry(table)
            .or_default()
            .insert(column, nullable == "NO");
    }
    out
}

#[tokio::test]
async fn schemas_agree() {
    let sqlite = TestDb::sqlite().await;
    let Some(postgres) = TestDb::postgres().await else {
        return;
    };
    let a = sqlite_columns(&sqlite.db).await;
    let b = postgres_columns(&postgres.db).await;
    assert!(!a.is_empty());
    let tables_a: Vec<_> = a.keys().collect();
    let tables_b: Vec<_> = b.keys().collect();
    assert_eq!(tables_a, tables_b, "same tables");
    for (table, columns) in &a {
        assert_eq!(
            Some(columns),
            b.get(table),
            "columns and nullability of {table}"
        );
    }
}

testkit::db_test!(portable_sql_rules_hold, |db| {
    // Flags (0/1), i64 seconds, doubles, NULLs and CAST aggregates decode the same on both backends.
    sqlx::query("INSERT INTO district (code, name, city, center_lon, center_lat, simulated) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind("120110")
        .bind("东丽区")
        .bind("天津市")
        .bind(117.31_f64)
        .bind(Option::<f64>::None)
        .bind(kernel::db::flag(true))
        .execute(db.pool())
        .await
        .unwrap();
    let row =
        sqlx::query("SELECT name, center_lon, center_lat, simulated FROM district WHERE code = $1")
            .bind("120110")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(row.get::<String, _>("name"), "东丽区");
    assert_eq!(row.get::<f64, _>("center_lon"), 117.31);
    assert_eq!(row.get::<Option<f64>, _>("center_lat"), None);
    assert_eq!(row.get::<i64, _>("simulated"), 1);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO streets (code, name, district_code, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind("s1")
    .bind("张贵庄街道")
    .bind("120110")
    .bind(1_700_000_000_i64)
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert!(id > 0);
    let (count, avg): (i64, f64) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT), CAST(AVG(created_at) AS DOUBLE PRECISION) FROM streets",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!((count, avg), (1, 1_700_000_000.0));
    let dup = sqlx::query(
        "INSERT INTO streets (code, name, district_code, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind("s1")
    .bind("另一个")
    .bind("120110")
    .bind(0_i64)
    .execute(db.pool())
    .await
    .unwrap_err();
    assert!(kernel::db::is_unique_violation(&dup));
    let fk = sqlx::query(
        "INSERT INTO streets (code, name, district_code, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind("s2")
    .bind("无区")
    .bind("999999")
    .bind(0_i64)
    .execute(db.pool())
    .await
    .unwrap_err();
    assert!(kernel::db::is_foreign_key_violation(&fk));
});

testkit::db_test!(a_null_float_then_a_value_binds_on_both, |db| {
    // sqlx's Any driver sends a NULL f64 as a NULL *f32*; PostgreSQL's cached statement then expected 4 bytes for
    // the next, non-NULL f64 ("incorrect binary data format in bind parameter 4": this test failed so). Db::connect
    // turns the statement cache off on PostgreSQL for this reason; this test keeps it honest.
    // One connection, so that the second statement meets the first one's cached preparation.
    let mut conn = db.pool().acquire().await.unwrap();
    for (code, lat) in [
        ("1", None),
        ("2", Some(39.1_f64)),
        ("3", None),
        ("4", Some(39.2)),
    ] {
        sqlx::query("INSERT INTO district (code, name, city, center_lat) VALUES ($1, $2, $3, $4)")
            .bind(code)
            .bind("区")
            .bind("市")
            .bind(lat)
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    drop(conn);
    let sum: f64 =
        sqlx::query_scalar("SELECT CAST(SUM(center_lat) AS DOUBLE PRECISION) FROM district")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert!((sum - 78.3).abs() < 1e-9);
});

// The audit version moves with every entry, in the entry's own transaction: a rolled-back change leaves it, a
// committed one moves it once per entry (migration 21; the whole-page caches key on it).
testkit::db_test!(the_audit_version_moves_with_committed_entries_only, |db| {
    use kernel::audit::{self, AuditEntry};
    let start = audit::version(&db).await.unwrap();
    let entry = AuditEntry::system("test", "update", "thing", 1);

    let mut tx = db.begin_write().await.unwrap();
    audit::record(&mut *tx, &entry).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(audit::version(&db).await.unwrap(), start, "rolled back");

    let mut tx = db.begin_write().await.unwrap();
    audit::record(&mut *tx, &entry).await.unwrap();
    audit::record(&mut *tx, &entry).await.unwrap();
    // Not visible to other connections before the commit.
    assert_eq!(
        audit::version(&db).await.unwrap(),
        start,
        "not committed yet"
    );
    tx.commit().await.unwrap();
    assert_eq!(
        audit::version(&db).await.unwrap(),
        start + 2,
        "one step per entry"
    );
});
