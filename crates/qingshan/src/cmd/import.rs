//! `qingshan import readings`: monitoring data files into the readings store (crates/readings/src/import.rs
//! does the work; this adds the command line and the progress bar).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use readings::import::{Format, ImportError, ImportRequest, PointsMap};

use crate::cmd::serve::{DatabaseArgs, init_logging, runtime};

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub what: ImportWhat,
}

#[derive(Debug, Subcommand)]
pub enum ImportWhat {
    /// Hourly or minute readings: UCI Beijing, CNEMC long, or the generic CSV (docs/readings.md).
    /// Idempotent; a file with bad rows is refused whole unless --skip-bad.
    Readings(ImportReadingsArgs),
}

#[derive(Debug, Args)]
pub struct ImportReadingsArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Files to import (all of the same format).
    #[arg(long = "file", required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
    /// uci (UCI Beijing multi-site), cnemc (CNEMC long: date,hour,type,<stations…>) or csv
    /// (point,factor,time,period,value,flag).
    #[arg(long, value_parser = ["uci", "cnemc", "csv"])]
    pub format: String,
    /// CSV mapping the files' station names to points: station,code,name,level,kind,street.
    #[arg(long)]
    pub points_map: Option<PathBuf>,
    /// Import the good rows and list the bad ones instead of refusing the file.
    #[arg(long)]
    pub skip_bad: bool,
    /// Refuse stations the registry does not know instead of registering them.
    #[arg(long)]
    pub strict: bool,
}

pub fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    match args.what {
        ImportWhat::Readings(args) => run_readings(args),
    }
}

fn run_readings(args: ImportReadingsArgs) -> anyhow::Result<ExitCode> {
    let format = Format::parse(&args.format)
        .ok_or_else(|| anyhow::anyhow!("unknown format {:?}", args.format))?;
    let points_map = match &args.points_map {
        Some(path) => PointsMap::read(path)?,
        None => PointsMap::default(),
    };
    let request = ImportRequest {
        files: args.files.clone(),
        format,
        points_map,
        skip_bad: args.skip_bad,
        strict: args.strict,
        actor: std::env::var("USER").unwrap_or_else(|_| "cli".to_string()),
    };
    // The stages' timings are debug lines (`QINGSHAN_LOG=readings=debug`): nothing is logged unless asked, so
    // that the summary stays the command's only output.
    if std::env::var_os("QINGSHAN_LOG").is_some() {
        init_logging();
    }
    runtime()?.block_on(async {
        let db = args.db.open().await?;
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} records ({per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let started = std::time::Instant::now();
        let result = readings::import::run(&db, &request, &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await;
        bar.finish_and_clear();
        db.close().await;
        match result {
            Ok(summary) => {
                print!("{summary}");
                let seconds = started.elapsed().as_secs_f64();
                let values = summary.outcome.values_written + summary.outcome.values_unchanged;
                println!(
                    "done in {seconds:.1} s ({:.0} values/s)",
                    values as f64 / seconds.max(1e-9)
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(ImportError::Other(e)) => Err(e),
            Err(refused) => {
                eprintln!("错误 error: {refused}");
                Ok(ExitCode::FAILURE)
            }
        }
    })
}
