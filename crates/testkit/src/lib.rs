//! Test support shared by every crate's tests.
//!
//! Storage tests run on SQLite always and on PostgreSQL when `QINGSHAN_TEST_POSTGRES_URL` is set (`.ci/run`
//! sets it to the local server). Each test gets its own database: a temporary SQLite file, or a fresh schema
//! on the PostgreSQL server, dropped afterwards. Write such tests with [`db_test!`], which generates one test
//! per backend. A local run without the URL skips the PostgreSQL half with a message; a run with
//! `QINGSHAN_REQUIRE_POSTGRES=1` (`.ci/run` sets it) fails instead, so that CI cannot pass by skipping.
//!
//! Real data the tests read lives in the repository's `fixtures/`; the few tests that need more than it holds
//! read the shared research data through [`shared_data`], which fails when it is missing.

use std::path::PathBuf;

use kernel::Db;
use rand::Rng;

pub const POSTGRES_URL_VAR: &str = "QINGSHAN_TEST_POSTGRES_URL";

/// Set to `1` to make every PostgreSQL half fail, instead of skipping, when [`POSTGRES_URL_VAR`] is unset.
pub const REQUIRE_POSTGRES_VAR: &str = "QINGSHAN_REQUIRE_POSTGRES";

/// Set to `1` to let the tests that need the shared research data skip, with a message, when it is missing.
pub const ALLOW_MISSING_SHARED_DATA_VAR: &str = "QINGSHAN_ALLOW_MISSING_SHARED_DATA";

fn flag_is_set(var: &str) -> bool {
    std::env::var(var).is_ok_and(|value| value == "1")
}

/// A file or folder of the shared research data (the `data` folder of the `shared` folder beside the work tree),
/// for the tests that need more than `fixtures/` holds (several stations, several years).
///
/// Panics when it is missing, unless `QINGSHAN_ALLOW_MISSING_SHARED_DATA=1`: then it says the test was skipped
/// and returns `None`.
pub fn shared_data(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(relative);
    if path.exists() {
        return Some(path);
    }
    assert!(
        flag_is_set(ALLOW_MISSING_SHARED_DATA_VAR),
        "{} is missing: this test needs the shared research data (set {ALLOW_MISSING_SHARED_DATA_VAR}=1 to skip it)",
        path.display()
    );
    eprintln!(
        "skipped: {} is missing and {ALLOW_MISSING_SHARED_DATA_VAR}=1",
        path.display()
    );
    None
}

/// A migrated, empty database that cleans up after itself.
pub struct TestDb {
    pub db: Db,
    _dir: Option<tempfile::TempDir>,
    pg_schema: Option<(String, String)>,
}

impl TestDb {
    /// A fresh SQLite file in a temporary directory.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = kernel::db::sqlite_url_for_dir(dir.path());
        let db = Db::connect(&url).await.expect("open SQLite");
        db.migrate().await.expect("migrate SQLite");
        TestDb {
            db,
            _dir: Some(dir),
            pg_schema: None,
        }
    }

    /// A fresh schema on the PostgreSQL server named by `QINGSHAN_TEST_POSTGRES_URL`, or `None` (with a
    /// message saying so) when the variable is unset. Panics when the server cannot be reached, and when the
    /// variable is unset while `QINGSHAN_REQUIRE_POSTGRES=1`.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(base) = std::env::var(POSTGRES_URL_VAR) else {
            assert!(
                !flag_is_set(REQUIRE_POSTGRES_VAR),
                "{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is unset: the PostgreSQL half of this test must run"
            );
            eprintln!(
                "skipped on PostgreSQL: set {POSTGRES_URL_VAR} (e.g. postgres://postgres@127.0.0.1:5432/test) to run it"
            );
            return None;
        };
        let schema = format!("qs_test_{:016x}", rand::thread_rng().r#gen::<u64>());
        sqlx::any::install_default_drivers();
        let admin = sqlx::AnyPool::connect(&base)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {base}: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await
            .expect("create test schema");
        admin.close().await;
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        let db = Db::connect(&url).await.expect("open PostgreSQL");
        db.migrate().await.expect("migrate PostgreSQL");
        Some(TestDb {
            db,
            _dir: None,
            pg_schema: Some((base, schema)),
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((base, schema)) = self.pg_schema.take() else {
            return;
        };
        // Drop cannot await, and the test's runtime may be the one blocked here: a short-lived runtime on its
        // own thread removes the schema over a connection of its own. The test's idle connections hold no locks.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async move {
                    if let Ok(admin) = sqlx::AnyPool::connect(&base).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP SCHEMA IF EXISTS {schema} CASCADE"
                        )))
                        .execute(&admin)
                        .await;
                        admin.close().await;
                    }
                });
            }
        })
        .join();
    }
}

/// Defines a storage test that runs once per backend: `mod $name { fn sqlite(); fn postgres(); }`.
///
/// ```ignore
/// testkit::db_test!(creates_enterprise, |db| {
///     let id = registry::repo::insert(&db, …).await.unwrap();
///     assert!(id > 0);
/// });
/// ```
#[macro_export]
macro_rules! db_test {
    ($name:ident, |$db:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let test_db = $crate::TestDb::sqlite().await;
                let $db: kernel::Db = test_db.db.clone();
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(test_db) = $crate::TestDb::postgres().await else {
                    return;
                };
                let $db: kernel::Db = test_db.db.clone();
                $body
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_shared_data_fails_unless_skipping_is_allowed() {
        let outcome = std::panic::catch_unwind(|| shared_data("no-such-folder/no-such-file.csv"));
        if flag_is_set(ALLOW_MISSING_SHARED_DATA_VAR) {
            assert!(matches!(outcome, Ok(None)));
        } else {
            assert!(outcome.is_err(), "a missing file must fail the test");
        }
    }
}
