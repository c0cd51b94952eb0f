//! The ceiling an import is measured against (BENCHMARKS.md, "Readings store"): the rows of the given files,
//! parsed beforehand (not timed), written with nothing but plain multi-row `INSERT INTO readings` statements
//! into a fresh database — no read of what is stored, no merge, no `ON CONFLICT`, no sources, no roll-ups — in
//! transactions of 8,000 rows, through the same driver and statement shape (`kernel::db::BulkStatement`) as the
//! store.
//!
//! `cargo run --release -p readings --example import_ceiling -- [--database URL] --format uci FILE…`

use std::time::Instant;

use kernel::db::{BulkStatement, MAX_PARAMETERS};
use readings::factors::CATALOGUE;
use readings::import::{Format, read_file};
use readings::store::Row;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = tempfile::tempdir()?;
    let mut url = kernel::db::sqlite_url_for_dir(dir.path());
    let mut format = Format::Uci;
    let mut files = Vec::new();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--database" => url = it.next().unwrap_or_default(),
            "--format" => {
                let text = it.next().unwrap_or_default();
                format =
                    Format::parse(&text).ok_or_else(|| anyhow::anyhow!("unknown format {text}"))?;
            }
            _ => files.push(std::path::PathBuf::from(arg)),
        }
    }
    let db = kernel::Db::connect(&url).await?;
    db.migrate().await?;

    // Parse (not timed): one point id per station, as the import would assign.
    let mut stations: Vec<String> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    for file in &files {
        read_file(file, format, &mut |r| {
            if let Ok(mut record) = r {
                let id = match stations.iter().position(|s| *s == record.station) {
                    Some(i) => i,
                    None => {
                        stations.push(record.station.clone());
                        stations.len() - 1
                    }
                };
                record.row.point_id = id as i64 + 1;
                rows.push(record.row);
            }
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    rows.sort_by_key(|r| (r.point_id, r.period, r.ts));
    let values: usize = rows.iter().map(|r| r.iter().count()).sum();

    let started = Instant::now();
    for batch in rows.chunks(8_000) {
        let mut tx = db.begin_write().await?;
        let used: Vec<usize> = (0..CATALOGUE.len())
            .filter(|&i| batch.iter().any(|r| r.cells[i].is_some()))
            .collect();
        let per_statement = (MAX_PARAMETERS / (6 + used.len())).clamp(1, 500);
        for chunk in batch.chunks(per_statement) {
            let mut b =
                BulkStatement::new(db.backend(), "INSERT INTO readings (point_id, period, ts");
            for &i in &used {
                b.push(", ").push(CATALOGUE[i].column);
            }
            b.push(", flags, extra, source_id) VALUES ");
            for (n, row) in chunk.iter().enumerate() {
                b.push(if n == 0 { "(" } else { ", (" });
                b.bind(row.point_id)
                    .push(", ")
                    .bind(row.period.as_str().to_string())
                    .push(", ")
                    .bind(row.ts);
                for &i in &used {
                    b.push(", ").bind(row.cells[i].and_then(|c| c.value));
                }
                b.push(", ")
                    .bind(row.flags_text())
                    .push(", ")
                    .bind(row.extra_json())
                    .push(", ")
                    .bind(1_i64)
                    .push(")");
            }
            b.execute(&mut tx).await?;
        }
        tx.commit().await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{} rows, {values} values inserted in {elapsed:.2} s: {:.0} values/s",
        rows.len(),
        values as f64 / elapsed
    );
    db.close().await;
    Ok(())
}
