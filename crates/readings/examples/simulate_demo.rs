//! Times the demo's simulated air history on a fresh SQLite file (or `--database URL`):
//! `cargo run --release -p readings --example simulate_demo -- [stations] [--database URL]`.

use registry::model::{PointKind, PointLevel, PointRegistration};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let stations: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(45);
    let dir = tempfile::tempdir()?;
    let url = match args.iter().position(|a| a == "--database") {
        Some(i) => args.get(i + 1).cloned().unwrap_or_default(),
        None => kernel::db::sqlite_url_for_dir(dir.path()),
    };
    let db = kernel::Db::connect(&url).await?;
    db.migrate().await?;
    for i in 0..stations {
        registry::service::register_point(
            &db,
            "demo",
            &PointRegistration {
                code: format!("SIM{i:03}"),
                name: format!("模拟站 {i}"),
                kind: PointKind::AirStation,
                level: PointLevel::District,
                street_id: None,
                lon: None,
                lat: None,
                owner: "demo".into(),
                simulated: true,
            },
        )
        .await?;
    }
    let now = kernel::time::now_ts();
    let summary = readings::simulate::simulate_air_history(&db, 20240101, now).await?;
    println!("{summary}");
    if let Ok(meta) = std::fs::metadata(dir.path().join("qingshan.db")) {
        println!("SQLite file: {:.0} MB", meta.len() as f64 / 1e6);
    }
    Ok(())
}
