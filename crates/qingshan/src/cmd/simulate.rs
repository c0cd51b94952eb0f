//! `qingshan simulate`: drives simulated HJ 212 devices against a gateway.
//!
//! The devices must be registered in the gateway's database, so the simulator opens the same database
//! (`--database` / `--data-dir`, as `serve`; `--data-dir data/demo` for the demo): it takes the first N active
//! registered devices (the demo's, with their MNs, passwords and, for HJ 212-2025 devices, keys) and, when there
//! are fewer, registers the missing ones as simulated outlets `QS-SIM-0001`… (`--protocol 2025`:
//! `QS-SIM25-0001`… with an SM4 key each; `monitoring_points.simulated = 1`).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use ingest::simulate::{self, Behaviour, SimDevice, SimProtocol};

use super::serve::{DatabaseArgs, init_logging, runtime};

#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Number of devices.
    #[arg(long, default_value_t = 10)]
    pub devices: usize,
    /// Address of the HJ 212 gateway.
    #[arg(long, default_value = "127.0.0.1:9212")]
    pub target: SocketAddr,
    /// Packets per second per device. Each packet is the next minute's data, starting from the backlog
    /// (rate × duration minutes ago, at most a day); a device that reaches the present sends each minute as it
    /// ends.
    #[arg(long, default_value_t = 1.0)]
    pub rate: f64,
    /// Seconds to run (default: until Ctrl-C).
    #[arg(long)]
    pub duration: Option<u64>,
    /// Send some packets with a bad CRC, behind garbage, split over writes, and drop some connections.
    #[arg(long)]
    pub faults: bool,
    /// Edition of the devices registered for the run when the database has too few: 2017 (the registered
    /// devices of any edition are driven first, each in its own), 2005, or 2025 (each with an SM4 key; its
    /// packets encrypted). With 2005 or 2025 only simulated devices of that edition are driven.
    #[arg(long, default_value = "2017", value_parser = ["2005", "2017", "2025"])]
    pub protocol: String,
}

/// A day of minutes: the longest backlog a run starts with.
const MAX_BACKLOG_MINUTES: f64 = 1440.0;

pub fn run(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    init_logging();
    if args.devices == 0 || !(args.rate > 0.0 && args.rate <= 1000.0) {
        anyhow::bail!("--devices must be at least 1 and --rate in (0, 1000]");
    }
    runtime()?.block_on(async {
        // The master key of the server's data directory opens the devices' keys.
        let db = super::serve::with_master_key(args.db.open().await?, &args.db.data_dir)?;
        let protocol = SimProtocol::parse(&args.protocol)
            .ok_or_else(|| anyhow::anyhow!("--protocol must be 2005, 2017 or 2025"))?;
        let mut devices: Vec<SimDevice> = match protocol {
            SimProtocol::Hj2017 => {
                ingest::devices::active_for_simulation(&db, args.devices).await?
            }
            SimProtocol::Hj2005 | SimProtocol::Hj2025 => Vec::new(),
        };
        let registered = devices.len();
        let mut number = 1;
        while devices.len() < args.devices {
            let device = ingest::devices::register_simulated(&db, number, protocol).await?;
            number += 1;
            if !devices.iter().any(|d| d.mn == device.mn) {
                devices.push(device);
            }
        }
        db.close().await;
        println!(
            "simulating {} HJ 212-{} device(s) ({} registered before, {} added as QS-SIM…) against {}{}",
            devices.len(),
            protocol.label(),
            registered,
            devices.len() - registered,
            args.target,
            if args.faults { " with faults" } else { "" }
        );
        let run_for = args.duration.map_or(Duration::from_secs(365 * 86_400), Duration::from_secs);
        let backlog = (args.rate * run_for.as_secs_f64()).min(MAX_BACKLOG_MINUTES);
        let now_minute = kernel::time::now_ts() / 60 * 60;
        let behaviour = Behaviour {
            target: args.target,
            rate: args.rate,
            faults: args.faults,
            ack_timeout: Duration::from_secs(10),
            first_minute: now_minute - 60 * backlog as i64,
            live: true,
        };
        let started = Instant::now();
        let deadline = started + run_for;
        let tasks: Vec<_> = devices
            .into_iter()
            .enumerate()
            .map(|(i, device)| {
                tokio::spawn(simulate::run_device(device, i as u64 + 1, behaviour.clone(), deadline))
            })
            .collect();
        let all = futures_join(tasks);
        tokio::select! {
            stats = all => {
                let mut total = simulate::DeviceStats::default();
                for s in stats {
                    total.sent += s.sent;
                    total.acknowledged += s.acknowledged;
                    total.resent += s.resent;
                    total.bad_crc_sent += s.bad_crc_sent;
                    total.reconnects += s.reconnects;
                    total.ack_latencies_ms.extend(s.ack_latencies_ms);
                }
                let seconds = started.elapsed().as_secs_f64();
                println!(
                    "{} packets sent in {seconds:.1} s, {} acknowledged, {} resent, {} with a bad CRC on purpose, {} reconnects; ack latency p50 {:.1} ms, p99 {:.1} ms",
                    total.sent,
                    total.acknowledged,
                    total.resent,
                    total.bad_crc_sent,
                    total.reconnects,
                    simulate::percentile(&mut total.ack_latencies_ms, 50.0),
                    simulate::percentile(&mut total.ack_latencies_ms, 99.0),
                );
            }
            _ = tokio::signal::ctrl_c() => println!("stopped"),
        }
        Ok(ExitCode::SUCCESS)
    })
}

async fn futures_join(
    tasks: Vec<tokio::task::JoinHandle<simulate::DeviceStats>>,
) -> Vec<simulate::DeviceStats> {
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        if let Ok(stats) = task.await {
            out.push(stats);
        }
    }
    out
}
