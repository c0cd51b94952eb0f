//! The gateway's promise, tested from outside the process: the real `qingshan serve` is killed (SIGKILL)
//! while devices stream packets, and every packet it acknowledged is in the store when it comes back.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ingest::simulate::{Outlet, Rng, SimDevice, minute_packet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const DEVICES: usize = 8;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn start_server(data_dir: &std::path::Path, hj212: SocketAddr) -> Child {
    Command::new(env!("CARGO_BIN_EXE_qingshan"))
        .args(["serve", "--http", &format!("127.0.0.1:{}", free_port())])
        .args(["--hj212", &hj212.to_string()])
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("QINGSHAN_DATABASE_URL")
        .env("QINGSHAN_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start qingshan serve")
}

async fn wait_for(addr: SocketAddr) {
    let started = Instant::now();
    while TcpStream::connect(addr).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the gateway did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn qn_of(reply: &str) -> Option<String> {
    reply
        .split(';')
        .find_map(|f| f.split("QN=").nth(1))
        .map(str::to_string)
}

/// Streams minute uploads (pipelined: it does not wait for replies) and collects the QNs acknowledged until
/// the connection dies.
async fn stream_device(addr: SocketAddr, device: SimDevice, seed: u64) -> (HashSet<String>, usize) {
    let Ok(stream) = TcpStream::connect(addr).await else {
        return (HashSet::new(), 0);
    };
    let (mut reader, mut writer) = stream.into_split();
    let mut sender = tokio::spawn(async move {
        let mut rng = Rng::new(seed);
        let mut outlet = Outlet::new(&mut rng);
        let mut sent = 0;
        for n in 0..200_000i64 {
            let cp = outlet.minute_cp(&mut rng, 1_767_225_600 + 60 * n);
            let qn = format!(
                "{:017}",
                20_260_101_000_000_000 + seed * 10_000_000 + n as u64
            );
            if writer
                .write_all(&minute_packet(&device, &qn, &cp))
                .await
                .is_err()
            {
                break;
            }
            sent += 1;
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        sent
    });
    let mut acknowledged = HashSet::new();
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = reader.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
        while let Some(end) = buffer.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = buffer.drain(..end + 2).collect();
            if let Some(qn) = qn_of(&String::from_utf8_lossy(&line)) {
                acknowledged.insert(qn);
            }
        }
    }
    // Writes fail soon after the server is gone; a sender still going after that is stopped.
    let sent = match tokio::time::timeout(Duration::from_secs(5), &mut sender).await {
        Ok(sent) => sent.unwrap_or(0),
        Err(_) => {
            sender.abort();
            0
        }
    };
    (acknowledged, sent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_packet_survives_sigkill() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = kernel::db::sqlite_url_for_dir(dir.path());
    let db = kernel::Db::connect(&url).await.expect("open");
    db.migrate().await.expect("migrate");
    let mut devices = Vec::new();
    for number in 1..=DEVICES {
        let device =
            ingest::devices::register_simulated(&db, number, ingest::simulate::SimProtocol::Hj2017)
                .await
                .expect("register");
        devices.push(device);
    }
    db.close().await;

    let hj212: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut server = start_server(dir.path(), hj212);
    wait_for(hj212).await;
    let streams: Vec<_> = devices
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, d)| tokio::spawn(stream_device(hj212, d, i as u64 + 1)))
        .collect();
    // Mid-stream: packets are being received, batched, committed and acknowledged when the process dies.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.kill().expect("SIGKILL");
    let _ = server.wait();
    let mut acknowledged = HashSet::new();
    let mut sent = 0;
    for s in streams {
        let (acks, n) = s.await.expect("device task");
        acknowledged.extend(acks);
        sent += n;
    }
    assert!(
        acknowledged.len() >= 50,
        "too few acknowledgements to prove anything: {}",
        acknowledged.len()
    );

    let mut server = start_server(dir.path(), hj212);
    wait_for(hj212).await;
    let db = kernel::Db::connect(&url).await.expect("reopen");
    let stored: HashSet<String> = sqlx::query_scalar("SELECT qn FROM hj212_packets")
        .fetch_all(db.pool())
        .await
        .expect("stored packets")
        .into_iter()
        .collect();
    let values: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM readings WHERE period = 'minute' AND a21026 IS NOT NULL",
    )
    .fetch_one(db.pool())
    .await
    .expect("stored readings");
    db.close().await;
    server.kill().expect("stop the second server");
    let _ = server.wait();

    let lost: Vec<&String> = acknowledged.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged packets missing after SIGKILL: {lost:?}",
        lost.len()
    );
    assert!(
        values >= acknowledged.len() as i64,
        "{values} minute rows for {} acks",
        acknowledged.len()
    );
    eprintln!(
        "{sent} packets sent, {} acknowledged before SIGKILL, {} stored (unacknowledged ones may be stored too)",
        acknowledged.len(),
        stored.len()
    );
}
