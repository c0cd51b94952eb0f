//! The TCP side: the accept loop with a global connection limit, one task per connection (idle timeout,
//! bounded decoder buffer, bounded pipeline of pending acknowledgements, write timeout) and the writer task.
//!
//! A connection reads and decodes while earlier packets are being committed: each accepted packet leaves a
//! pending reply in the connection's queue, and the connection's reply task sends the replies in order, each
//! once the writer reports its packet stored. A client that does not read its replies fills its own queue and
//! stops being read; nobody else waits for it.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hj212::{FrameDecoder, FrameError, Packet};
use kernel::Db;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use crate::devices;
use crate::model::{Device, LiveKey, MnAssignment};
use crate::repo;
use crate::service::{self, Decision, KeyStep};
use crate::writer::{self, Job, Stored};

/// Limits and sizes of the gateway (docs/ingest.md, "Limits", says why each default).
#[derive(Debug, Clone)]
pub struct Config {
    /// Connections held at once; more are closed on accept. `qingshan serve` lowers it to what the open-files
    /// limit leaves beside the web server and the database ([`connection_cap`]).
    pub max_connections: usize,
    /// Connections one source address may hold at once (IPv6: one /64); more are closed on accept. 500: a
    /// district registers a few hundred devices, which may all come through one carrier NAT address, while
    /// one address alone can then take no more than a twenty-fourth of the default 12,000.
    pub max_connections_per_ip: usize,
    /// Loopback addresses are not limited per address (connections, quarantine, onboarding): they are this
    /// machine — the simulator of `qingshan demo` and `qingshan simulate`, or a TCP proxy in front of the
    /// gateway, behind which every device shares the address.
    pub per_ip_exempt_loopback: bool,
    /// A connection silent this long is closed.
    pub idle_timeout: Duration,
    /// A connection that sends no frame passing the checks (a registered device's packet, heartbeat or answered
    /// request; not a quarantined packet, nor a 1001 of a logger without a device) for this long is closed,
    /// whatever other bytes trickle in meanwhile: a byte a second kept a connection open for ever under the idle
    /// timeout alone. 600 s, as the idle timeout: a device sends real-time or minute data (or heartbeats) every
    /// minute or more often; one only sending hourly data reconnects, and so does a logger waiting for its MN.
    pub valid_frame_timeout: Duration,
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
    /// Refused packets one connection may send before it is closed: quarantined ones, the 1001s of loggers
    /// without a device that went to the quarantine, and those refused by the limits below.
    pub max_quarantined_per_connection: usize,
    /// Quarantine entries one source address may add per hour (refilled evenly; beyond it refused packets are
    /// dropped unstored, logged): 3,600, a refused packet a second, more than a site of misconfigured devices
    /// sends, while a flood of distinct packets (each up to ~10 kB) grows the database by at most ~36 MB an
    /// hour per address.
    pub quarantine_per_ip_per_hour: u32,
    /// Loggers without a device (HJ 212-2025 CN 1001) one connection may carry: a logger's 1001 goes to the
    /// quarantine once an hour, so this bounds a connection's onboarding entries to 8 an hour. A concentrator
    /// carries a few loggers; one connection sent 5,000 of them.
    pub max_loggers_per_connection: usize,
    /// Onboarding entries (1001s of loggers without a device) one source address may add per hour: 60, a
    /// district's new loggers come a few at a time.
    pub onboarding_per_ip_per_hour: u32,
    /// How often the gateway re-reads the registry's devices (registrations and edits apply after this).
    pub device_refresh: Duration,
    /// A sub-packet group still missing parts this long after its first part is reported incomplete.
    pub subpacket_timeout: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_connections: 12_000,
            max_connections_per_ip: 500,
            per_ip_exempt_loopback: true,
            idle_timeout: Duration::from_secs(600),
            valid_frame_timeout: Duration::from_secs(600),
            buffer_cap: hj212::frame::DEFAULT_BUFFER_CAP,
            queue_capacity: 50_000,
            max_batch: 5_000,
            pending_replies: 256,
            write_timeout: Duration::from_secs(30),
            max_quarantined_per_connection: 200,
            quarantine_per_ip_per_hour: 3_600,
            max_loggers_per_connection: 8,
            onboarding_per_ip_per_hour: 60,
            device_refresh: Duration::from_secs(30),
            subpacket_timeout: Duration::from_secs(600),
        }
    }
}

/// File descriptors kept for everything but the two servers' connections: the database pools (16 + the
/// writer's 2 + the roll-ups'), SQLite's database, WAL and shared-memory files, the listening sockets, uploads
/// being written, logs. Generous: running out starves the web server ("Too many open files").
pub const FD_RESERVE_OTHER: u64 = 128;

/// The gateway's connection cap under an open-files limit of `fd_soft_limit`: the configured cap, lowered so
/// that `reserve` descriptors (the web server's connection cap + [`FD_RESERVE_OTHER`]) stay free. 1,100
/// idle gateway connections under the common limit of 1,024 left the web server none.
pub fn connection_cap(configured: usize, fd_soft_limit: u64, reserve: u64) -> usize {
    let room = fd_soft_limit.saturating_sub(reserve);
    configured.min(usize::try_from(room).unwrap_or(usize::MAX))
}

/// Time a shutdown waits for connections to hand in their last packets and the writer to store them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Devices one connection is recorded as carrying (a real one carries one or a few).
const SEEN_DEVICES: usize = 64;
/// Bytes read per call.
const READ_CHUNK: usize = 8 * 1024;
/// Devices by MN and their SM4 keys (in trying order) by device id, read from the registry at start and
/// refreshed every `device_refresh`: checking or decrypting a packet costs no query, however many connections
/// there are. Key changes made by the gateway itself (1014 rotation) are written through at once.
#[derive(Default)]
struct Known {
    devices: HashMap<String, Device>,
    keys: HashMap<i64, Vec<LiveKey>>,
    /// Devices given to a data logger (1001/1002) whose first packet has not come yet.
    unconfirmed: HashSet<i64>,
}

/// A logger without a device that sent a 1001 on a live connection: where its 1002 goes once an operator
/// registers a device for it.
struct WaitingLogger {
    replies: mpsc::Sender<PendingReply>,
    request: service::OnboardingRequest,
    /// When its last 1001 was quarantined for review (a logger repeats its 1001; one entry an hour is enough).
    quarantined_at: i64,
}

/// A waiting logger's 1001 goes to the quarantine again after this long.
const REQUARANTINE_SECONDS: i64 = 3600;

type Directory = std::sync::RwLock<Known>;

/// Sub-packet groups followed at once, all devices together (the oldest is given up beyond).
const SUBPACKET_GROUPS: usize = 10_000;

struct Shared {
    db: Db,
    config: Config,
    jobs: mpsc::Sender<Job>,
    devices: Directory,
    subpackets: std::sync::Mutex<service::SubPackets>,
    waiting_loggers: std::sync::Mutex<HashMap<String, WaitingLogger>>,
    /// Per source address (IPv6: per /64): its connections and what it may still add to the quarantine.
    peers: std::sync::Mutex<HashMap<IpAddr, PeerLimits>>,
    /// When a refusal by a per-address limit was last logged (logged at most every 10 s).
    limited_logged: std::sync::Mutex<kernel::time::AtMostEvery>,
}

/// What one source address holds and may still do.
struct PeerLimits {
    connections: usize,
    quarantine: Bucket,
    onboarding: Bucket,
}

/// A token bucket holding at most `per_hour` tokens, refilled evenly over the hour.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(per_hour: u32, now: Instant) -> Bucket {
        Bucket {
            tokens: f64::from(per_hour),
            at: now,
        }
    }

    fn refill(&mut self, per_hour: u32, now: Instant) {
        let hours = now.saturating_duration_since(self.at).as_secs_f64() / 3600.0;
        self.tokens = (self.tokens + hours * f64::from(per_hour)).min(f64::from(per_hour));
        self.at = now;
    }

    /// Takes a token when there is one.
    fn take(&mut self, per_hour: u32, now: Instant) -> bool {
        self.refill(per_hour, now);
        let taken = self.tokens >= 1.0;
        if taken {
            self.tokens -= 1.0;
        }
        taken
    }

    fn is_full(&mut self, per_hour: u32, now: Instant) -> bool {
        self.refill(per_hour, now);
        self.tokens >= f64::from(per_hour)
    }
}

/// Which per-address allowance a refused packet draws on.
#[derive(Debug, Clone, Copy)]
enum Allowance {
    Quarantine,
    Onboarding,
}

/// The key of an address's limits: the address; for IPv6 its /64 (what one subscriber is given), an IPv4
/// address mapped into IPv6 as IPv4.
fn peer_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

impl Shared {
    /// The key of `ip`'s per-address limits, `None` when it has none (loopback, see
    /// [`Config::per_ip_exempt_loopback`]).
    fn limits_key(&self, ip: IpAddr) -> Option<IpAddr> {
        let key = peer_key(ip);
        (!(self.config.per_ip_exempt_loopback && key.is_loopback())).then_some(key)
    }

    fn new_limits(&self, now: Instant) -> PeerLimits {
        PeerLimits {
            connections: 0,
            quarantine: Bucket::full(self.config.quarantine_per_ip_per_hour, now),
            onboarding: Bucket::full(self.config.onboarding_per_ip_per_hour, now),
        }
    }

    /// Counts a new connection from `key`; false (nothing counted) when the address holds its maximum.
    fn admit(&self, key: IpAddr) -> bool {
        let Ok(mut peers) = self.peers.lock() else {
            return true;
        };
        let now = Instant::now();
        let limits = peers.entry(key).or_insert_with(|| self.new_limits(now));
        if limits.connections >= self.config.max_connections_per_ip {
            return false;
        }
        limits.connections += 1;
        true
    }

    /// A connection from `key` closed.
    fn release(&self, key: IpAddr) {
        if let Ok(mut peers) = self.peers.lock()
            && let Some(limits) = peers.get_mut(&key)
        {
            limits.connections = limits.connections.saturating_sub(1);
        }
    }

    /// Takes one of `key`'s allowance for a quarantine entry; true without limits (`None`).
    fn allow(&self, key: Option<IpAddr>, allowance: Allowance) -> bool {
        let Some(key) = key else { return true };
        let Ok(mut peers) = self.peers.lock() else {
            return true;
        };
        let now = Instant::now();
        let limits = peers.entry(key).or_insert_with(|| self.new_limits(now));
        match allowance {
            Allowance::Quarantine => limits
                .quarantine
                .take(self.config.quarantine_per_ip_per_hour, now),
            Allowance::Onboarding => limits
                .onboarding
                .take(self.config.onboarding_per_ip_per_hour, now),
        }
    }

    /// Forgets the addresses without connections whose allowances are whole again (at every directory
    /// refresh): the map holds the addresses of the last hour or so, not every address ever seen.
    fn prune_peers(&self) {
        let now = Instant::now();
        let (quarantine, onboarding) = (
            self.config.quarantine_per_ip_per_hour,
            self.config.onboarding_per_ip_per_hour,
        );
        if let Ok(mut peers) = self.peers.lock() {
            peers.retain(|_, l| {
                l.connections > 0
                    || !l.quarantine.is_full(quarantine, now)
                    || !l.onboarding.is_full(onboarding, now)
            });
        }
    }

    /// Logs a refusal by a per-address limit, at most every 10 s.
    fn log_limited(&self, what: std::fmt::Arguments<'_>) {
        if self.limited_logged.lock().is_ok_and(|mut log| log.due()) {
            tracing::warn!("HJ 212 {what} (logged at most every 10 s)");
        }
    }
}

/// How often a refusal by a limit is logged at most (a flood would log every packet).
const LOG_EVERY: Duration = Duration::from_secs(10);

/// A connection counted against its address's limit until it is dropped.
struct Admitted {
    shared: Arc<Shared>,
    key: Option<IpAddr>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.shared.release(key);
        }
    }
}

async fn load_directory(db: &Db) -> Result<Known, kernel::AppError> {
    let devices = devices::all(db)
        .await?
        .into_iter()
        .map(|d| (d.mn.clone(), d))
        .collect();
    let mut keys: HashMap<i64, Vec<LiveKey>> = HashMap::new();
    for key in repo::live_keys(db, None).await? {
        keys.entry(key.device_id).or_default().push(key);
    }
    let unconfirmed = repo::unconfirmed_assignment_devices(db).await?;
    Ok(Known {
        devices,
        keys,
        unconfirmed,
    })
}

/// Re-reads one device's keys after the gateway changed them.
async fn reload_keys(shared: &Shared, device_id: i64) {
    match repo::live_keys(&shared.db, Some(device_id)).await {
        Ok(keys) => {
            if let Ok(mut directory) = shared.devices.write() {
                directory.keys.insert(device_id, keys);
            }
        }
        Err(e) => tracing::warn!("HJ 212 keys of device {device_id} not re-read: {e}"),
    }
}

async fn refresh_directory(shared: std::sync::Weak<Shared>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if let Err(e) = reload_directory(&shared).await {
            tracing::warn!("HJ 212 device directory not refreshed: {e}");
        }
        push_assignments(&shared).await;
        shared.prune_peers();
    }
}

/// Re-reads the devices and keys from the registry into the gateway's directory.
async fn reload_directory(shared: &Shared) -> Result<(), kernel::AppError> {
    let devices = load_directory(&shared.db).await?;
    if let Ok(mut directory) = shared.devices.write() {
        *directory = devices;
    }
    Ok(())
}

/// Sends their 1002 to the waiting loggers an operator has registered a device for since.
async fn push_assignments(shared: &Shared) {
    let any_waiting = shared
        .waiting_loggers
        .lock()
        .is_ok_and(|waiting| !waiting.is_empty());
    if !any_waiting {
        return;
    }
    let unsent = match repo::unsent_assignments(&shared.db).await {
        Ok(unsent) => devices::with_mns(&shared.db, unsent).await,
        Err(e) => Err(e.into()),
    };
    let unsent = match unsent {
        Ok(unsent) => unsent,
        Err(e) => {
            tracing::warn!("HJ 212 MN assignments not read: {e}");
            return;
        }
    };
    for assignment in unsent {
        let target = shared.waiting_loggers.lock().ok().and_then(|waiting| {
            waiting
                .get(&assignment.logger_id)
                .map(|w| (w.replies.clone(), w.request.clone()))
        });
        let Some((replies, request)) = target else {
            continue;
        };
        let now = kernel::time::now_ts();
        // Recorded as sent before it is queued, so that whoever sees the 1002 also sees the record; a reply
        // queue that is full (a logger not reading) gets it at the logger's next 1001 instead.
        if let Some(reply) = set_mn(shared, &request, &assignment, now).await {
            record_sent(shared, &assignment, now).await;
            let _ = replies.try_send(reply);
        }
    }
}

/// The 1002 for an assignment, ready to queue; the device is put in the directory first, so that the logger's
/// answers under its new MN are accepted.
async fn set_mn(
    shared: &Shared,
    request: &service::OnboardingRequest,
    assignment: &MnAssignment,
    now: i64,
) -> Option<PendingReply> {
    let known = shared
        .devices
        .read()
        .is_ok_and(|directory| directory.devices.contains_key(&assignment.mn));
    if !known && let Err(e) = reload_directory(shared).await {
        tracing::warn!("HJ 212 device directory not refreshed for a 1002: {e}");
        return None;
    }
    let qn = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
    match service::set_mn_command(request, &assignment.logger_id, &assignment.mn, qn) {
        Ok(command) => Some(PendingReply::at_once(Some(command))),
        Err(e) => {
            tracing::warn!(
                "HJ 212 1002 for logger {:?} not encoded: {e}",
                assignment.logger_id
            );
            None
        }
    }
}

async fn record_sent(shared: &Shared, assignment: &MnAssignment, now: i64) {
    tracing::info!(
        "HJ 212 logger {:?}: MN {} sent (1002)",
        assignment.logger_id,
        assignment.mn
    );
    if let Ok(mut directory) = shared.devices.write() {
        directory.unconfirmed.insert(assignment.device_id);
    }
    if let Err(e) = repo::mark_assignment_sent(&shared.db, assignment.id, now).await {
        tracing::warn!("HJ 212 1002 sent but not recorded: {e}");
    }
    devices::note_gateway_change();
}

/// Pending connections the listening socket queues before they are accepted (the kernel caps it at
/// `net.core.somaxconn`, 4096 on this machine kind). tokio's `TcpListener::bind` queues 1,024: when 10,000
/// devices reconnect at once (a restart of the server) the rest had their handshakes dropped and retried by
/// their TCP stacks for up to ~30 s (measured with the load example).
pub const LISTEN_BACKLOG: u32 = 8192;

/// A listening socket for the gateway with [`LISTEN_BACKLOG`].
pub fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
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
    devices::note_gateway_change();
    let sealed = repo::seal_clear_keys(&db).await?;
    if sealed > 0 {
        tracing::info!(
            "HJ 212: {sealed} device key(s) stored in clear sealed under the master key"
        );
    }
    let (jobs, queue) = mpsc::channel(config.queue_capacity.max(1));
    let writer = writer::spawn(db.clone(), queue, config.max_batch.max(1));
    let limit = Arc::new(Semaphore::new(config.max_connections));
    let (stop, stopped) = watch::channel(false);
    let devices = Directory::new(load_directory(&db).await?);
    let refresh_every = config.device_refresh.max(Duration::from_secs(1));
    let subpackets = std::sync::Mutex::new(service::SubPackets::new(
        SUBPACKET_GROUPS,
        i64::try_from(config.subpacket_timeout.as_secs()).unwrap_or(i64::MAX),
    ));
    let shared = Arc::new(Shared {
        db,
        config,
        jobs,
        devices,
        subpackets,
        waiting_loggers: std::sync::Mutex::new(HashMap::new()),
        peers: std::sync::Mutex::new(HashMap::new()),
        limited_logged: std::sync::Mutex::new(kernel::time::AtMostEvery::new(LOG_EVERY)),
    });
    tracing::info!(
        "HJ 212 gateway limits: {} connections, {} per address{}, a valid frame every {:?}",
        shared.config.max_connections,
        shared.config.max_connections_per_ip,
        if shared.config.per_ip_exempt_loopback {
            " (loopback exempt)"
        } else {
            ""
        },
        shared.config.valid_frame_timeout
    );
    let refresher = tokio::spawn(refresh_directory(Arc::downgrade(&shared), refresh_every));
    let mut refused_log = kernel::time::AtMostEvery::new(LOG_EVERY);
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
            if refused_log.due() {
                tracing::warn!(
                    "HJ 212 connection limit ({}) reached: closing new connections",
                    shared.config.max_connections
                );
            }
            drop(stream);
            continue;
        };
        let key = shared.limits_key(peer.ip());
        if let Some(key) = key
            && !shared.admit(key)
        {
            shared.log_limited(format_args!(
                "{key}: {} connections from this address, closing new ones",
                shared.config.max_connections_per_ip
            ));
            drop(stream);
            continue;
        }
        let admitted = Admitted {
            shared: shared.clone(),
            key,
        };
        let shared = shared.clone();
        let stopped = stopped.clone();
        tokio::spawn(async move {
            connection(stream, peer, key, &shared, stopped).await;
            drop(admitted);
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

impl PendingReply {
    /// A reply with nothing to commit first (heartbeats, commands, answers to onboarding).
    fn at_once(reply: Option<Vec<u8>>) -> PendingReply {
        let (done, stored) = oneshot::channel();
        let _ = done.send(Stored::New);
        PendingReply { stored, reply }
    }
}

/// What one connection keeps between its frames.
struct Connection<'a> {
    shared: &'a Shared,
    peer: String,
    limits_key: Option<IpAddr>,
    /// The queue of the connection's reply task.
    replies: mpsc::Sender<PendingReply>,
    /// Devices whose packets came on this connection (recorded offline when it closes).
    seen: Vec<i64>,
    /// Loggers without a device that sent their 1001 on this connection.
    waiting: Vec<String>,
    /// Refused packets so far ([`Config::max_quarantined_per_connection`]).
    quarantined: usize,
    /// When the last frame that passed the checks came (or the connection opened).
    last_valid: Instant,
}

/// Whether a connection reads on after a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Read,
    Close,
}

/// What the checks decided about one frame, with what follows an accepted packet.
struct Checked {
    decision: Decision,
    /// The device's key step (HJ 212-2025 key rotation); only after an accepted packet.
    key_step: KeyStep,
    /// The accepted packet's ST, which a 1014 repeats.
    st: String,
    /// Sub-packet groups given up at this packet: (MN, why).
    given_up: Vec<(String, String)>,
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    limits_key: Option<IpAddr>,
    shared: &Shared,
    mut stopped: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let config = &shared.config;
    let (mut reader, writer) = stream.into_split();
    let (replies, pending) = mpsc::channel(config.pending_replies.max(1));
    let reply_task = tokio::spawn(send_replies(writer, pending, config.write_timeout));
    let mut decoder = FrameDecoder::with_cap(config.buffer_cap);
    let mut buffer = vec![0u8; READ_CHUNK];
    let mut conn = Connection {
        shared,
        peer: peer.to_string(),
        limits_key,
        replies,
        seen: Vec::new(),
        waiting: Vec::new(),
        quarantined: 0,
        last_valid: Instant::now(),
    };
    'read: loop {
        let deadline = (Instant::now() + config.idle_timeout)
            .min(conn.last_valid + config.valid_frame_timeout);
        let read = tokio::select! {
            read = tokio::time::timeout_at(deadline.into(), reader.read(&mut buffer)) => read,
            _ = stopped.changed() => break,
        };
        let peer = &conn.peer;
        let at_end = match read {
            Err(_) if conn.last_valid.elapsed() >= config.valid_frame_timeout => {
                tracing::debug!(
                    "HJ 212 {peer}: no valid frame for {:?}, closing",
                    config.valid_frame_timeout
                );
                break;
            }
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
                    tracing::warn!(
                        "HJ 212 {}: buffer cap reached, oldest bytes dropped",
                        conn.peer
                    );
                    continue;
                }
                Err(e) => {
                    tracing::debug!("HJ 212 {}: {e}", conn.peer);
                    continue;
                }
            };
            if conn.handle_frame(&frame).await == Next::Close {
                break 'read;
            }
        }
        if at_end || reply_task.is_finished() {
            break;
        }
    }
    conn.close(reply_task).await;
}

impl Connection<'_> {
    /// One frame: opened with its device's keys, decoded and checked (`service`), then queued for the writer,
    /// answered or refused; then the sub-packet groups it made give up are reported and its device's key step
    /// is carried out.
    async fn handle_frame(&mut self, frame: &hj212::Frame) -> Next {
        let shared = self.shared;
        let config = &shared.config;
        let now = kernel::time::now_ts();
        // The header is in clear also when an HJ 212-2025 device encrypted the CP.
        let mn = service::header_mn(frame.segment())
            .unwrap_or("")
            .to_string();
        let (device, keys, unconfirmed) = shared
            .devices
            .read()
            .ok()
            .and_then(|directory| {
                let device = directory.devices.get(&mn)?.clone();
                let keys = directory.keys.get(&device.id).cloned().unwrap_or_default();
                let unconfirmed = directory.unconfirmed.contains(&device.id);
                Some((Some(device), keys, unconfirmed))
            })
            .unwrap_or_default();
        let Checked {
            decision,
            key_step,
            st,
            given_up,
        } = self.check(frame, device.as_ref(), &keys, now);
        if !matches!(
            decision,
            Decision::Quarantine(_) | Decision::Onboarding { .. }
        ) {
            self.last_valid = Instant::now();
        }
        let sent = self
            .dispatch(decision, device.as_ref(), unconfirmed, now)
            .await;
        for (group_mn, message) in given_up {
            let device_id = shared
                .devices
                .read()
                .ok()
                .and_then(|directory| directory.devices.get(&group_mn).map(|d| d.id));
            if let Some(device_id) = device_id {
                tracing::info!("HJ 212 MN {group_mn}: {message}");
                let job = Job::DeviceError {
                    device_id,
                    at: now,
                    message,
                };
                if shared.jobs.send(job).await.is_err() {
                    return Next::Close;
                }
            }
        }
        if let Some(device) = &device
            && key_step != KeyStep::Nothing
            && let Some(command) = keys_after(shared, device, &keys, &key_step, &st, now).await
        {
            // After the packet's own reply: the 1014 goes out once that reply has.
            if self
                .replies
                .send(PendingReply::at_once(Some(command)))
                .await
                .is_err()
            {
                return Next::Close;
            }
        }
        if !sent {
            return Next::Close;
        }
        if self.quarantined > config.max_quarantined_per_connection {
            tracing::info!("HJ 212 {}: too many refused packets, closing", self.peer);
            return Next::Close;
        }
        Next::Read
    }

    /// Decrypts (HJ 212-2025), decodes and checks a frame against its device; for an accepted packet also what
    /// follows it: its device's key step and the sub-packet groups it completes or gives up.
    fn check(
        &mut self,
        frame: &hj212::Frame,
        device: Option<&Device>,
        keys: &[LiveKey],
        now: i64,
    ) -> Checked {
        let (opened, key_id) = open_frame(frame, keys);
        let plain = opened.as_ref().unwrap_or(frame);
        let mut key_step = KeyStep::Nothing;
        let mut st = String::new();
        let mut given_up: Vec<(String, String)> = Vec::new();
        let decision = match Packet::parse(plain.segment()) {
            Err(e) => service::unopened(frame, &e, device, &self.peer, now),
            Ok(packet) => {
                if let Some(device) = device
                    && !self.seen.contains(&device.id)
                    && self.seen.len() < SEEN_DEVICES
                {
                    self.seen.push(device.id);
                }
                let decision =
                    service::decide_opened(frame, plain, key_id, &packet, device, &self.peer, now);
                if matches!(decision, Decision::Accept { .. }) {
                    key_step = service::key_step(&packet, keys, now);
                    st = packet.st.unwrap_or("32").to_string();
                    given_up = self
                        .shared
                        .subpackets
                        .lock()
                        .map(|mut groups| groups.offer(&packet, now))
                        .unwrap_or_default();
                }
                decision
            }
        };
        Checked {
            decision,
            key_step,
            st,
            given_up,
        }
    }

    /// Carries out a decision: queues the packet for the writer with its reply to follow once stored, answers
    /// at once, or refuses (counted). False when the writer or the reply task is gone.
    async fn dispatch(
        &mut self,
        decision: Decision,
        device: Option<&Device>,
        unconfirmed: bool,
        now: i64,
    ) -> bool {
        let shared = self.shared;
        let config = &shared.config;
        let peer = &self.peer;
        match decision {
            Decision::Quarantine(q) => {
                self.quarantined += 1;
                tracing::debug!("HJ 212 {peer}: quarantined ({})", q.reason.as_str());
                if shared.allow(self.limits_key, Allowance::Quarantine) {
                    shared.jobs.send(Job::Quarantined(q)).await.is_ok()
                } else {
                    shared.log_limited(format_args!(
                        "{peer}: more than {} quarantine entries an hour from this address, not stored",
                        config.quarantine_per_ip_per_hour
                    ));
                    true
                }
            }
            Decision::Heartbeat { seen, reply } => {
                shared.jobs.send(Job::Seen(seen)).await.is_ok()
                    && self
                        .replies
                        .send(PendingReply::at_once(reply))
                        .await
                        .is_ok()
            }
            Decision::Answer { reply } => self
                .replies
                .send(PendingReply::at_once(reply))
                .await
                .is_ok(),
            Decision::Onboarding { logger, .. }
                if !self.waiting.contains(&logger.logger_id)
                    && self.waiting.len() >= config.max_loggers_per_connection =>
            {
                // Refused, not answered: a real logger asks again on a connection of its own.
                self.quarantined += 1;
                tracing::debug!(
                    "HJ 212 {peer}: more than {} loggers without a device on one connection",
                    config.max_loggers_per_connection
                );
                true
            }
            Decision::Onboarding {
                logger,
                request,
                quarantined: entry,
                reply,
            } => {
                self.last_valid = Instant::now();
                let onboarded = onboarding(
                    shared,
                    self.limits_key,
                    &self.replies,
                    &mut self.waiting,
                    logger,
                    request,
                    entry,
                    reply,
                    now,
                )
                .await;
                if onboarded != Onboarded::Going {
                    // Its entry went to the quarantine, or was refused by the address's allowance.
                    self.quarantined += 1;
                }
                onboarded != Onboarded::Closed
            }
            Decision::Accept { packet, reply } => {
                if unconfirmed && let Some(device) = device {
                    confirm(shared, device, now).await;
                }
                let (done, stored) = oneshot::channel();
                shared
                    .jobs
                    .send(Job::Accepted { packet, done })
                    .await
                    .is_ok()
                    && self
                        .replies
                        .send(PendingReply { stored, reply })
                        .await
                        .is_ok()
            }
        }
    }

    /// The connection is closing: its waiting loggers are forgotten, its last replies sent (within the write
    /// timeout) and its devices recorded offline.
    async fn close(self, reply_task: tokio::task::JoinHandle<()>) {
        let shared = self.shared;
        if let Ok(mut loggers) = shared.waiting_loggers.lock() {
            for logger_id in &self.waiting {
                if loggers
                    .get(logger_id)
                    .is_some_and(|w| w.replies.same_channel(&self.replies))
                {
                    loggers.remove(logger_id);
                }
            }
        }
        drop(self.replies);
        let _ = tokio::time::timeout(shared.config.write_timeout, reply_task).await;
        let marked = repo::mark_offline(&shared.db, &self.seen, &self.peer).await;
        devices::note_gateway_change();
        if let Err(e) = marked {
            tracing::warn!(
                "HJ 212 {}: cannot record the devices offline: {e}",
                self.peer
            );
        }
    }
}

/// What became of a 1001 of a logger without a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Onboarded {
    /// Answered; its 1002 sent, or the logger waits for it (its 1001 already in the quarantine this hour).
    Going,
    /// Answered, and its 1001 went to the quarantine for review.
    Quarantined,
    /// Answered, but its 1001 was not stored: the address's onboarding allowance is spent.
    Limited,
    /// The connection cannot go on.
    Closed,
}

/// A 1001 of a logger without a device: its 9013, then the 1002 when an operator has registered a device for it;
/// otherwise the 1001 goes to the quarantine for review (once an hour per logger, within the address's
/// onboarding allowance) and the logger waits on this connection for its 1002.
#[allow(clippy::too_many_arguments)]
async fn onboarding(
    shared: &Shared,
    limits_key: Option<IpAddr>,
    replies: &mpsc::Sender<PendingReply>,
    waiting: &mut Vec<String>,
    logger: crate::model::LoggerIds,
    request: service::OnboardingRequest,
    entry: Box<crate::model::QuarantinedPacket>,
    reply: Option<Vec<u8>>,
    now: i64,
) -> Onboarded {
    let going = |ok: bool| {
        if ok {
            Onboarded::Going
        } else {
            Onboarded::Closed
        }
    };
    if replies.send(PendingReply::at_once(reply)).await.is_err() {
        return Onboarded::Closed;
    }
    let assignment = match repo::current_assignment(&shared.db, &logger.logger_id).await {
        Ok(Some(assignment)) => devices::with_mns(&shared.db, vec![assignment])
            .await
            .map(|mut named| named.pop()),
        Ok(None) => Ok(None),
        Err(e) => Err(e.into()),
    };
    match assignment {
        Ok(Some(assignment)) => match set_mn(shared, &request, &assignment, now).await {
            Some(command) => {
                record_sent(shared, &assignment, now).await;
                going(replies.send(command).await.is_ok())
            }
            None => Onboarded::Going,
        },
        found => {
            if let Err(e) = found {
                tracing::warn!(
                    "HJ 212 MN assignment of {:?} not read: {e}",
                    logger.logger_id
                );
            }
            let outcome = {
                let Ok(mut loggers) = shared.waiting_loggers.lock() else {
                    return Onboarded::Going;
                };
                let last = loggers.get(&logger.logger_id).map(|w| w.quarantined_at);
                let due = last.is_none_or(|at| now - at >= REQUARANTINE_SECONDS);
                let outcome = if !due {
                    Onboarded::Going
                } else if shared.allow(limits_key, Allowance::Onboarding) {
                    Onboarded::Quarantined
                } else {
                    Onboarded::Limited
                };
                loggers.insert(
                    logger.logger_id.clone(),
                    WaitingLogger {
                        replies: replies.clone(),
                        request,
                        // Not stored: due again at its next 1001.
                        quarantined_at: match outcome {
                            Onboarded::Quarantined => now,
                            _ => last.unwrap_or(now - REQUARANTINE_SECONDS),
                        },
                    },
                );
                outcome
            };
            if !waiting.contains(&logger.logger_id) {
                waiting.push(logger.logger_id);
            }
            match outcome {
                Onboarded::Quarantined => {
                    if shared.jobs.send(Job::Quarantined(entry)).await.is_ok() {
                        Onboarded::Quarantined
                    } else {
                        Onboarded::Closed
                    }
                }
                Onboarded::Limited => {
                    shared.log_limited(format_args!(
                        "{}: more than {} onboarding entries an hour from this address, not stored",
                        entry.peer, shared.config.onboarding_per_ip_per_hour
                    ));
                    Onboarded::Limited
                }
                other => other,
            }
        }
    }
}

/// The first packet under an MN assigned with a 1002: the logger has taken it.
async fn confirm(shared: &Shared, device: &Device, now: i64) {
    if let Ok(mut directory) = shared.devices.write() {
        directory.unconfirmed.remove(&device.id);
    }
    let confirmed = repo::confirm_assignment(&shared.db, device.id, now).await;
    devices::note_gateway_change();
    match confirmed {
        Ok(()) => tracing::info!("HJ 212 MN {}: taken by its data logger", device.mn),
        Err(e) => tracing::warn!("HJ 212 MN {}: confirmation not recorded: {e}", device.mn),
    }
}

/// The frame as received when its CRC matches; else its plaintext under the first of the device's keys
/// (current, pending, retired newest first) whose plaintext passes the CRC, with that key's id.
fn open_frame(frame: &hj212::Frame, keys: &[LiveKey]) -> (Option<hj212::Frame>, Option<i64>) {
    if keys.is_empty() {
        return (None, None);
    }
    match hj212::sm4::open(frame, keys.iter().map(|k| &k.key)) {
        hj212::sm4::Opened::Decrypted { key_index, frame } => {
            (Some(frame), keys.get(key_index).map(|k| k.id))
        }
        hj212::sm4::Opened::Plain | hj212::sm4::Opened::Unreadable => (None, None),
    }
}

/// Carries out a key step: records the device's answer to a 1014, or issues a new key and returns the 1014
/// to send. Failures are logged and leave the keys as they were (the step is tried again at a later packet).
async fn keys_after(
    shared: &Shared,
    device: &Device,
    keys: &[LiveKey],
    step: &KeyStep,
    st: &str,
    now: i64,
) -> Option<Vec<u8>> {
    match step {
        KeyStep::Nothing => None,
        KeyStep::Answer { key_id, confirmed } => {
            if let Err(e) = service::answer_key(&shared.db, device, *key_id, *confirmed, now).await
            {
                tracing::warn!("HJ 212 MN {}: key answer not recorded: {e:#}", device.mn);
            }
            reload_keys(shared, device.id).await;
            None
        }
        KeyStep::Issue => {
            let current = keys
                .iter()
                .find(|k| k.state == crate::model::KeyState::Current)?;
            match service::issue_key(&shared.db, device, st, &current.key, now).await {
                Ok(command) => {
                    reload_keys(shared, device.id).await;
                    Some(command)
                }
                Err(e) => {
                    tracing::warn!("HJ 212 MN {}: no new key issued: {e:#}", device.mn);
                    None
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_leaves_the_reserve_free() {
        let reserve = 512 + FD_RESERVE_OTHER;
        // The common soft limit: the gateway gets what the web server and the rest leave.
        assert_eq!(connection_cap(12_000, 1_024, reserve), 384);
        // Raised to a usual hard limit: the configured cap.
        assert_eq!(connection_cap(12_000, 1_048_576, reserve), 12_000);
        assert_eq!(connection_cap(12_000, 12_640, reserve), 12_000);
        assert_eq!(connection_cap(12_000, 12_639, reserve), 11_999);
        // Below the reserve: no room at all.
        assert_eq!(connection_cap(12_000, 600, reserve), 0);
        assert_eq!(connection_cap(12_000, u64::MAX, reserve), 12_000);
    }

    #[test]
    fn buckets_refill_evenly_up_to_their_size() {
        let start = Instant::now();
        let mut bucket = Bucket::full(3, start);
        assert!((0..3).all(|_| bucket.take(3, start)));
        assert!(!bucket.take(3, start));
        // A third of an hour gives one back, a whole day no more than three.
        assert!(bucket.take(3, start + Duration::from_secs(1_200)));
        assert!(!bucket.take(3, start + Duration::from_secs(1_200)));
        assert!(bucket.is_full(3, start + Duration::from_secs(86_400)));
        let mut none = Bucket::full(0, start);
        assert!(!none.take(0, start + Duration::from_secs(86_400)));
    }

    #[test]
    fn addresses_are_keyed_by_ipv4_or_ipv6_64() {
        let key = |s: &str| peer_key(s.parse().unwrap());
        assert_eq!(key("203.0.113.7"), key("::ffff:203.0.113.7"));
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::2"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    }
}
