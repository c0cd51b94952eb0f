//! How long `status_for_year` takes on the full demo district (2024-01-01 to now, SQLite in a temporary
//! directory): `cargo run --release -p targets --example measure_status`.

use std::time::Instant;

use chrono::Datelike;
use kernel::Db;
use kernel::time::{cst_day, now_ts};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = Db::connect(&kernel::db::sqlite_url_for_dir(dir.path())).await?;
    db.migrate().await?;
    let started = Instant::now();
    demo::ensure(&db, demo::DEFAULT_SEED, demo::History::UntilNow).await?;
    println!("demo loaded in {:.1} s", started.elapsed().as_secs_f64());
    let this_year = cst_day(now_ts()).year();
    targets::service::ensure_seeded(&db, this_year).await?;
    for year in 2024..=this_year {
        for run in 1..=3 {
            let started = Instant::now();
            let statuses = targets::service::status_for_year(&db, year, now_ts()).await?;
            let pm = statuses
                .iter()
                .find(|s| s.target.code == "pm25_annual_mean");
            println!(
                "{year} run {run}: {} targets in {:.0} ms (PM2.5 {} · {})",
                statuses.len(),
                started.elapsed().as_secs_f64() * 1000.0,
                pm.map_or("—".to_string(), |s| s.value_text.clone()),
                pm.map_or("—", |s| s.status_label),
            );
        }
    }
    Ok(())
}
