//! The TCP side: the accept loop with a global connection limit, one task per connection (idle timeout,
//! bounded decoder buffer, bounded pipeline of pending acknowledgements, write timeout) and the writer task.
//!
//! A connection reads and decodes while earlier packets are being committed: each accepted packet leaves a
//! pending reply in the connection's queue, and the connection's reply task sends the replies in order, each
//! once the writer reports its packet stored. A client that does not read its replies fills its own queue and
//! stops being read; nobody else waits for it.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hj212::{FrameDecoder, FrameError, Packet};
use kernel::Db;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use crate::model::Device;
use crate::repo;
use crate::service::{self, Decision};
use crate::writer::{self, Job, Stored};

/// Limits and sizes of the gateway.
#[derive(Debug, Clone)]
pub struct Config {
    /// Connections held at once; more are closed on accept.
    pub max_connections: usize,
    /// A connection silent this long is closed.
    pub idle_timeout: Duration,
    /// Bytes a connection's decoder may hold (at least one maximal frame).
    pub buffer_cap: usize,
    /// Packets waiting for the writer, all connections together.
    pub queue_capacity: usize,
    /// Packets per write batch at most.
    pub max_batch: usize,
    /// Replies a connection may have pending before it stops reading.
    pub pending_replies: usize,
    /// A reply that cannot be written in this time closes the connection.
    pub write_timeout: Duration,
    /// Quarantined packets one connection may send before it is closed.
    pub max_quarantined_per_connection: usize,
    /// How often the gateway re-reads the registry's devices (registrations and edits apply after this).
    pub device_refresh: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_connections: 12_000,
            idle_timeout: Duration::from_secs(600),
            buffer_cap: hj212::frame::DEFAULT_BUFFER_CAP,
            queue_capacity: 50_000,
            max_batch: 5_000,
            pending_replies: 256,
            write_timeout: Duration::from_secs(30),
            max_quarantined_per_connection: 200,
            device_refresh: Duration::from_secs(30),
        }
    }
}

/// Time a shutdown waits for connections to hand in their last packets and the writer to store them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Devices one connection is recorded as carrying (a real one carries one or a few).
const SEEN_DEVICES: usize = 64;
/// Bytes read per call.
const READ_CHUNK: usize = 8 * 1024;
/// Devices by MN, read from the registry at start and refreshed every `device_refresh`: checking a packet
/// costs no query, however many connections there are.
type Directory = std::sync::RwLock<HashMap<String, Device>>;

struct Shared {
    db: Db,
    config: Config,
    jobs: mpsc::Sender<Job>,
    devices: Directory,
}

async fn load_directory(db: &Db) -> Result<HashMap<String, Device>, sqlx::Error> {
    Ok(repo::all_devices(db)
        .await?
        .into_iter()
        .map(|d| (d.mn.clone(), d))
        .collect())
}

async fn refresh_directory(shared: std::sync::Weak<Shared>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        match load_directory(&shared.db).await {
            Ok(devices) => {
                if let Ok(mut directory) = shared.devices.write() {
                    *directory = devices;
                }
            }
            Err(e) => tracing::warn!("HJ 212 device directory not refreshed: {e}"),
        }
    }
}

/// Runs the gateway on `listener` until `shutdown` resolves; then stops accepting, lets connections finish and
/// the writer store what it was given.
pub async fn run(
    db: Db,
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    repo::mark_all_offline(&db).await?;
    let (jobs, queue) = mpsc::channel(config.queue_capacity.max(1));
    let writer = tokio::spawn(writer::run(db.clone(), queue, config.max_batch.max(1)));
    let limit = Arc::new(Semaphore::new(config.max_connections));
    let (stop, stopped) = watch::channel(false);
    let devices = Directory::new(load_directory(&db).await?);
    let refresh_every = config.device_refresh.max(Duration::from_secs(1));
    let shared = Arc::new(Shared {
        db,
        config,
        jobs,
        devices,
    });
    let refresher = tokio::spawn(refresh_directory(Arc::downgrade(&shared), refresh_every));
    let mut refused_logged_at: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!("HJ 212 accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            if refused_logged_at.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                tracing::warn!(
                    "HJ 212 connection limit ({}) reached: closing new connections",
                    shared.config.max_connections
                );
                refused_logged_at = Some(Instant::now());
            }
            drop(stream);
            continue;
        };
        let shared = shared.clone();
        let stopped = stopped.clone();
        tokio::spawn(async move {
            connection(stream, peer, &shared, stopped).await;
            drop(permit);
        });
    }
    drop(listener);
    refresher.abort();
    let _ = stop.send(true);
    drop(shared);
    // Connections hold the other senders: the writer ends once they have handed in their packets.
    if tokio::time::timeout(DRAIN_TIMEOUT, writer).await.is_err() {
        tracing::warn!("HJ 212 writer did not finish in {DRAIN_TIMEOUT:?}");
    }
    Ok(())
}

/// A reply owed once the writer has stored its packet.
struct PendingReply {
    stored: oneshot::Receiver<Stored>,
    reply: Option<Vec<u8>>,
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: &Shared,
    mut stopped: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let peer = peer.to_string();
    let config = &shared.config;
    let (mut reader, writer) = stream.into_split();
    let (replies, pending) = mpsc::channel(config.pending_replies.max(1));
    let reply_task = tokio::spawn(send_replies(writer, pending, config.write_timeout));
    let mut decoder = FrameDecoder::with_cap(config.buffer_cap);
    let mut buffer = vec![0u8; READ_CHUNK];
    let mut seen: Vec<i64> = Vec::new();
    let mut quarantined = 0usize;
    'read: loop {
        let read = tokio::select! {
            read = tokio::time::timeout(config.idle_timeout, reader.read(&mut buffer)) => read,
            _ = stopped.changed() => break,
        };
        let at_end = match read {
            Err(_) => {
                tracing::debug!("HJ 212 {peer}: idle for {:?}, closing", config.idle_timeout);
                break;
            }
            Ok(Err(e)) => {
                tracing::debug!("HJ 212 {peer}: read failed: {e}");
                break;
            }
            Ok(Ok(0)) => {
                decoder.finish();
                true
            }
            Ok(Ok(n)) => {
                decoder.push(&buffer[..n]);
                false
            }
        };
        while let Some(next) = decoder.next_frame() {
            let frame = match next {
                Ok(frame) => frame,
                Err(FrameError::Overflow { .. }) => {
                    tracing::warn!("HJ 212 {peer}: buffer cap reached, oldest bytes dropped");
                    continue;
                }
                Err(e) => {
                    tracing::debug!("HJ 212 {peer}: {e}");
                    continue;
                }
            };
            let now = kernel::time::now_ts();
            let decision = match Packet::parse(frame.segment()) {
                Err(e) => service::unreadable(&frame, &e, &peer, now),
                Ok(packet) => {
                    let mn = packet.mn.unwrap_or("");
                    let device = shared
                        .devices
                        .read()
                        .ok()
                        .and_then(|directory| directory.get(mn).cloned());
                    if let Some(device) = &device
                        && !seen.contains(&device.id)
                        && seen.len() < SEEN_DEVICES
                    {
                        seen.push(device.id);
                    }
                    service::decide(&frame, &packet, device.as_ref(), &peer, now)
                }
            };
            let sent = match decision {
                Decision::Quarantine(q) => {
                    quarantined += 1;
                    tracing::debug!("HJ 212 {peer}: quarantined ({})", q.reason.as_str());
                    shared.jobs.send(Job::Quarantined(q)).await.is_ok()
                }
                Decision::Accept { packet, reply } => {
                    let (done, stored) = oneshot::channel();
                    shared
                        .jobs
                        .send(Job::Accepted { packet, done })
                        .await
                        .is_ok()
                        && replies.send(PendingReply { stored, reply }).await.is_ok()
                }
            };
            if !sent {
                break 'read;
            }
            if quarantined > config.max_quarantined_per_connection {
                tracing::info!("HJ 212 {peer}: too many refused packets, closing");
                break 'read;
            }
        }
        if at_end || reply_task.is_finished() {
            break;
        }
    }
    drop(replies);
    let _ = tokio::time::timeout(config.write_timeout, reply_task).await;
    if let Err(e) = repo::mark_offline(&shared.db, &seen, &peer).await {
        tracing::warn!("HJ 212 {peer}: cannot record the devices offline: {e}");
    }
}

/// Sends each reply once its packet is stored, in the order the packets came.
async fn send_replies(
    mut writer: OwnedWriteHalf,
    mut pending: mpsc::Receiver<PendingReply>,
    write_timeout: Duration,
) {
    while let Some(PendingReply { stored, reply }) = pending.recv().await {
        let stored = stored.await.unwrap_or(Stored::Failed);
        if stored == Stored::Failed {
            continue;
        }
        let Some(reply) = reply else { continue };
        match tokio::time::timeout(write_timeout, writer.write_all(&reply)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return,
        }
    }
    let _ = writer.shutdown().await;
}
