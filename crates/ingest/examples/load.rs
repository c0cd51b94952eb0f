//! Load measurement of the HJ 212 gateway on loopback: N device connections, each sending minute uploads (6
//! factors each) and waiting for the 9014 before the next one; reports readings per second that were
//! acknowledged (hence committed) and the acknowledgement latency.
//!
//! ```sh
//! cargo run --release -p ingest --example load -- [--connections 1000] [--seconds 20] [--database URL] \
//!     [--protocol 2017|2025]
//! ```
//!
//! `--protocol 2025`: the devices speak HJ 212-2025 with their CP SM4-encrypted under a key each, so the
//! gateway decrypts every packet.
//!
//! Without `--database` it uses a fresh SQLite file in a temporary directory; a PostgreSQL URL must point at a
//! migrated, preferably empty database. The gateway runs in this process, on the same two cores as the clients.

use std::time::{Duration, Instant};

use ingest::simulate::{self, Behaviour, SimProtocol};

const READINGS_PER_PACKET: u64 = 6;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let connections: usize = arg(&args, "--connections").map_or(Ok(1000), |v| v.parse())?;
    let protocol = arg(&args, "--protocol").unwrap_or_else(|| "2017".to_string());
    let protocol =
        SimProtocol::parse(&protocol).ok_or_else(|| anyhow::anyhow!("--protocol 2017 or 2025"))?;
    let seconds: u64 = arg(&args, "--seconds").map_or(Ok(20), |v| v.parse())?;
    anyhow::ensure!(
        (1..=15_000).contains(&connections) && (1..=600).contains(&seconds),
        "--connections 1..=15000, --seconds 1..=600"
    );
    let dir = tempfile::tempdir()?;
    let url =
        arg(&args, "--database").unwrap_or_else(|| kernel::db::sqlite_url_for_dir(dir.path()));
    let db = kernel::Db::connect(&url).await?;
    db.migrate().await?;
    let setup = Instant::now();
    let mut devices = Vec::with_capacity(connections);
    for number in 1..=connections {
        devices.push(ingest::devices::register_simulated(&db, number, protocol).await?);
    }
    eprintln!(
        "{connections} devices registered in {:.1} s",
        setup.elapsed().as_secs_f64()
    );

    let listener = ingest::listen("127.0.0.1:0".parse()?)?;
    let target = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let gateway = tokio::spawn(ingest::run(
        db.clone(),
        listener,
        ingest::Config::default(),
        async move {
            let _ = stopped.await;
        },
    ));

    // Every run starts a fresh day of minutes for its devices, so every packet is new data.
    let first_minute = kernel::time::now_ts() / 86_400 * 86_400 - 10 * 86_400;
    let behaviour = Behaviour {
        target,
        rate: 1000.0,
        faults: false,
        ack_timeout: Duration::from_secs(30),
        first_minute,
        live: false,
    };
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let tasks: Vec<_> = devices
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            tokio::spawn(simulate::run_device(
                d,
                i as u64 + 1,
                behaviour.clone(),
                deadline,
            ))
        })
        .collect();
    let mut acknowledged = 0u64;
    let mut sent = 0u64;
    let mut latencies = Vec::new();
    for task in tasks {
        let stats = task.await?;
        acknowledged += stats.acknowledged;
        sent += stats.sent;
        latencies.extend(stats.ack_latencies_ms);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    gateway.await??;
    let stored: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_packets")
        .fetch_one(db.pool())
        .await?;
    println!(
        "backend {}, HJ 212-{}: {connections} connections, {elapsed:.1} s: {sent} packets sent, {acknowledged} acknowledged \
         ({:.0} packets/s, {:.0} readings/s), {stored} packets stored; ack latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        if url.starts_with("sqlite:") {
            "SQLite"
        } else {
            "PostgreSQL"
        },
        protocol.label(),
        acknowledged as f64 / elapsed,
        (acknowledged * READINGS_PER_PACKET) as f64 / elapsed,
        simulate::percentile(&mut latencies, 50.0),
        simulate::percentile(&mut latencies, 99.0),
        simulate::percentile(&mut latencies, 100.0),
    );
    Ok(())
}
