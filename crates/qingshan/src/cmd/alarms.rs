//! `qingshan alarms evaluate`: runs the alarm rules over the stored outlet data by hand (the server does it
//! every minute; crates/alarms/src/service.rs does the work).

use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::cmd::serve::{DatabaseArgs, runtime};

#[derive(Debug, Args)]
pub struct AlarmsArgs {
    #[command(subcommand)]
    pub what: AlarmsWhat,
}

#[derive(Debug, Subcommand)]
pub enum AlarmsWhat {
    /// Judges the outlets' minute and hour data. Without --from/--to: every point whose last whole hour has not
    /// been judged yet (what the server's periodic job does). With them: that span for every point (at most 92
    /// days), whatever was judged before. Idempotent: a rerun stores no alarm twice.
    Evaluate(EvaluateArgs),
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Start: RFC 3339, or a CST date/time (2026-11-20, 2026-11-20 08:00), or Unix seconds.
    #[arg(long, requires = "to")]
    pub from: Option<String>,
    /// End (exclusive), in the same forms.
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// Only this outlet monitoring point (id).
    #[arg(long, requires = "from")]
    pub point: Option<i64>,
}

fn parse_time(text: &str, what: &str) -> anyhow::Result<i64> {
    text.trim()
        .parse::<i64>()
        .ok()
        .or_else(|| readings::import::parse_time(text))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--{what} {text:?} is not a time (RFC 3339, CST date/time or Unix seconds)"
            )
        })
}

pub fn run(args: AlarmsArgs) -> anyhow::Result<ExitCode> {
    match args.what {
        AlarmsWhat::Evaluate(args) => evaluate(args),
    }
}

fn evaluate(args: EvaluateArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let db = args.db.open().await?;
        let now = kernel::time::now_ts();
        let started = std::time::Instant::now();
        let summary = match (&args.from, &args.to) {
            (Some(from), Some(to)) => {
                let (from, to) = (parse_time(from, "from")?, parse_time(to, "to")?);
                alarms::service::evaluate_range(&db, from, to, args.point, now)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?
            }
            _ => alarms::service::evaluate_due(&db, now).await?,
        };
        println!(
            "{} outlet points, {} judged ({} samples): {} alarms raised, {} extended, in {:.1} s",
            summary.points,
            summary.evaluated,
            summary.samples,
            summary.raised,
            summary.extended,
            started.elapsed().as_secs_f64()
        );
        db.close().await;
        Ok(ExitCode::SUCCESS)
    })
}
