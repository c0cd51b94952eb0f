//! A running gateway on an ephemeral port, registered devices, a raw TCP device, the sample corpus.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use kernel::Db;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Running {
    /// Stops the gateway and waits until its writer has stored everything it was given.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("gateway task").expect("gateway ran");
        }
    }
}

pub async fn start(db: &Db, config: ingest::Config) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(ingest::run(db.clone(), listener, config, async move {
        let _ = stopped.await;
    }));
    Running {
        addr,
        stop: Some(stop),
        task: Some(task),
    }
}

/// A monitoring point and a device on it; returns (device id, point id).
pub async fn register(
    db: &Db,
    mn: &str,
    password: &str,
    protocol: &str,
    crc_mode: &str,
) -> (i64, i64) {
    let now = kernel::time::now_ts();
    let point_id: i64 = sqlx::query_scalar(
        "INSERT INTO monitoring_points (code, name, kind, level, owner, created_at, updated_at) \
         VALUES ($1, $2, 'outlet', 'enterprise', 'test', $3, $3) RETURNING id",
    )
    .bind(format!("P-{mn}"))
    .bind(format!("point of {mn}"))
    .bind(now)
    .fetch_one(db.pool())
    .await
    .expect("insert point");
    let device_id: i64 = sqlx::query_scalar(
        "INSERT INTO devices (mn, password, protocol, crc_mode, point_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(mn)
    .bind(password)
    .bind(protocol)
    .bind(crc_mode)
    .bind(point_id)
    .bind(now)
    .fetch_one(db.pool())
    .await
    .expect("insert device");
    (device_id, point_id)
}

pub async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(db.pool())
        .await
        .expect("count")
}

/// Sends `chunks` (with a pause between them, so they arrive as separate reads) and collects replies until
/// `expected_replies` CRLF-terminated lines came or `wait` passed without any.
pub async fn exchange(
    addr: SocketAddr,
    chunks: &[Vec<u8>],
    expected_replies: usize,
    wait: Duration,
) -> Vec<String> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    for chunk in chunks {
        stream.write_all(chunk).await.expect("send");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    read_replies(&mut stream, expected_replies, wait).await
}

pub async fn read_replies(stream: &mut TcpStream, expected: usize, wait: Duration) -> Vec<String> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let lines = String::from_utf8_lossy(&received)
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .count();
        if lines >= expected {
            break;
        }
        match tokio::time::timeout(wait, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
    String::from_utf8_lossy(&received)
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The sample corpus's packets (`fixtures/hj212/samples.txt`, one per line, comments skipped).
pub fn samples() -> Vec<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/hj212/samples.txt");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    text.lines()
        .filter(|l| l.starts_with("##"))
        .map(str::to_string)
        .collect()
}

/// An HJ 212-2017 minute upload asking for an acknowledgement.
pub fn minute_packet(mn: &str, password: &str, qn: &str, data_time: &str, so2: f64) -> Vec<u8> {
    let header = hj212::encode::Header {
        qn: Some(qn),
        st: "31",
        cn: 2051,
        pw: password,
        mn,
        flag: Some(5),
        subpacket: None,
        backfill: false,
    };
    let cp = format!(
        "DataTime={data_time};a21026-Avg={so2},a21026-Max={so2},a21026-Flag=N;a19001-Avg=9.5,a19001-Flag=N"
    );
    hj212::encode::encode(&header, &cp).expect("encodes")
}

/// An HJ 212-2025 packet (Flag 9: acknowledgement wanted), in clear.
pub fn packet_2025(mn: &str, password: &str, qn: &str, cn: u16, flag: u8, cp: &str) -> Vec<u8> {
    let header = hj212::encode::Header {
        qn: Some(qn),
        st: "31",
        cn,
        pw: password,
        mn,
        flag: Some(flag),
        subpacket: None,
        backfill: false,
    };
    hj212::encode::encode(&header, cp).expect("encodes")
}

/// An HJ 212-2025 minute upload with its CP SM4-encrypted under `key`.
pub fn encrypted_minute(
    mn: &str,
    password: &str,
    key: &[u8; 16],
    qn: &str,
    data_time: &str,
    so2: f64,
) -> Vec<u8> {
    let cp = format!(
        "DataTime={data_time};a21026-Min={so2},a21026-Avg={so2},a21026-Max={so2},a21026-Flag=N;a19001-Avg=9.5,a19001-Flag=N"
    );
    let plain = packet_2025(mn, password, qn, 2051, 9, &cp);
    hj212::sm4::encrypt_packet(key, &plain).expect("has a CP")
}

/// Stores a key for a device as the gateway would find it; returns its id.
pub async fn add_key(db: &Db, device_id: i64, key: &[u8; 16], sk_created_at: i64) -> i64 {
    let text = std::str::from_utf8(key).expect("ascii key");
    let print = ingest::model::fingerprint(key);
    let mut conn = db.pool().acquire().await.expect("connection");
    ingest::repo::insert_key(
        &mut conn,
        db.master_key(),
        &ingest::repo::KeyRow {
            device_id,
            key_text: text,
            fingerprint: &print,
            state: ingest::model::KeyState::Current,
            source: "registered",
            sk_created_at,
            issued_qn: None,
            created_by: None,
        },
        kernel::time::now_ts(),
    )
    .await
    .expect("insert key")
}

/// Reads replies one line at a time from an open stream; the raw bytes of each frame (ciphertext included).
pub async fn read_frames(
    stream: &mut TcpStream,
    expected: usize,
    wait: Duration,
) -> Vec<hj212::Frame> {
    let mut decoder = hj212::FrameDecoder::new();
    let mut frames = Vec::new();
    let mut buffer = [0u8; 4096];
    while frames.len() < expected {
        match tokio::time::timeout(wait, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => decoder.push(&buffer[..n]),
        }
        frames.extend(decoder.by_ref().flatten());
    }
    frames
}
