//! The batching writer: one task takes packets from a bounded queue, stores whatever has queued up while the
//! previous batch was committing (group commit), and only then tells each connection its packet is stored, so
//! that the acknowledgement follows the commit.
//!
//! A batch is one transaction: its raw packets, their readings, quarantined packets and device state become
//! durable together or not at all. A device whose packet was not acknowledged sends it again; the resend finds
//! its dedup key stored (then it is a duplicate, acknowledged) or not (then it is stored now). A row the
//! database refuses does not take its batch with it: the batch is split until that job fails alone ([`store`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::Duration;

use kernel::Db;
use readings::store::{self, DirtyDay, NewSource};
use tokio::sync::{mpsc, oneshot};

use crate::devices;
use crate::model::{AcceptedPacket, DeviceSeen, QuarantinedPacket};
use crate::repo::{self, DeviceDelta};

/// What happened to an accepted packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Committed now.
    New,
    /// Already stored by an earlier send.
    Duplicate,
    /// Not stored (the database failed); no acknowledgement, the device will send it again.
    Failed,
}

pub enum Job {
    Accepted {
        packet: Box<AcceptedPacket>,
        done: oneshot::Sender<Stored>,
    },
    Quarantined(Box<QuarantinedPacket>),
    /// A device seen without a packet to store (heartbeat): its state only.
    Seen(DeviceSeen),
    /// Something wrong with a device that is not one packet (an incomplete sub-packet group): counted as an
    /// error in its state.
    DeviceError {
        device_id: i64,
        at: i64,
        message: String,
    },
}

/// Connections of the writer's own pool: it holds one at a time.
const WRITER_CONNECTIONS: u32 = 2;

/// Attempts per batch when the database itself fails (connection lost, busy), before its packets are reported
/// as not stored.
const ATTEMPTS: u32 = 3;

/// How often the hours and days touched by the gateway are rolled up again. Off the acknowledgement path: a
/// roll-up of a day of minute data takes far longer than a batch commit.
const ROLLUP_EVERY: Duration = Duration::from_secs(30);

/// Runs the writer on a thread of its own until every sender is gone; `finished` resolves after the last batch
/// and its roll-ups. Its own thread because each batch awaits the database a few times: as a task among
/// thousands of connection tasks every await waited for a turn on the runtime (measured: 7–15 ms for the
/// `BEGIN` of a batch alone at 1,000 connections), and the batch's acknowledgements with it. It has a pool of
/// its own on that runtime ([`Db::connect_again`]). The roll-ups, which are not on the acknowledgement path,
/// run on the caller's runtime and pool.
pub fn spawn(db: Db, jobs: mpsc::Receiver<Job>, max_batch: usize) -> oneshot::Receiver<()> {
    let (finished_tx, finished) = oneshot::channel();
    let (dirty_tx, dirty_rx) = mpsc::unbounded_channel::<BTreeSet<DirtyDay>>();
    let rollups = tokio::spawn(roll_up(db.clone(), dirty_rx));
    let handle = tokio::runtime::Handle::current();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let spawned = std::thread::Builder::new()
        .name("hj212-writer".to_string())
        .spawn(move || {
            // Its own pool: connections opened on this runtime stay on it (see `Db::connect_again`).
            let own = match &runtime {
                Ok(runtime) => match runtime.block_on(db.connect_again(WRITER_CONNECTIONS)) {
                    Ok(own) => Some(own),
                    Err(e) => {
                        tracing::warn!("HJ 212 writer has no pool of its own ({e:#})");
                        None
                    }
                },
                Err(e) => {
                    tracing::warn!("HJ 212 writer thread has no runtime of its own ({e})");
                    None
                }
            };
            match (runtime, own) {
                (Ok(runtime), Some(own)) => runtime.block_on(async move {
                    run(own.clone(), jobs, max_batch, dirty_tx).await;
                    own.close().await;
                }),
                // Else the writer runs on the caller's runtime and pool, only slower.
                _ => handle.block_on(run(db, jobs, max_batch, dirty_tx)),
            }
            handle.block_on(async {
                let _ = rollups.await;
            });
            let _ = finished_tx.send(());
        });
    if let Err(e) = spawned {
        tracing::error!("HJ 212 writer thread could not start: {e}");
    }
    finished
}

/// Stores batches until every sender is gone, sending the days each batch touched to the roll-ups.
async fn run(
    db: Db,
    mut jobs: mpsc::Receiver<Job>,
    max_batch: usize,
    dirty_tx: mpsc::UnboundedSender<BTreeSet<DirtyDay>>,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    let mut dropped = 0u64;
    while jobs.recv_many(&mut batch, max_batch).await > 0 {
        let (verdicts, dirty) = store(&db, &batch, &mut dropped).await;
        if !dirty.is_empty() {
            let _ = dirty_tx.send(dirty);
        }
        for (i, job) in batch.drain(..).enumerate() {
            if let Job::Accepted { done, .. } = job {
                // The connection may be gone; its device will resend and get a Duplicate.
                let _ = done.send(verdicts.get(&i).copied().unwrap_or(Stored::Failed));
            }
        }
    }
}

/// Stores a batch so that a job the database refuses fails alone: the batch is committed whole; when a row of
/// it is refused (a constraint, a value the database cannot hold), the batch is split in halves and each
/// half committed on its own, down to the single job that fails — its packet is not acknowledged (its device
/// sends it again), a quarantine entry or device-state change is dropped with a warning and counted in
/// `dropped`. Every other job of the batch is stored and acknowledged: nothing one device sends can make
/// another device's packets fail. When the database itself fails, the batch is retried whole instead
/// ([`commit_with_retries`]). A bad job costs about 2·log₂(batch) commits.
async fn store(
    db: &Db,
    batch: &[Job],
    dropped: &mut u64,
) -> (HashMap<usize, Stored>, BTreeSet<DirtyDay>) {
    let mut verdicts = HashMap::with_capacity(batch.len());
    let mut dirty = BTreeSet::new();
    let mut ranges: Vec<std::ops::Range<usize>> = Vec::new();
    ranges.push(0..batch.len());
    while let Some(range) = ranges.pop() {
        let jobs = &batch[range.clone()];
        match commit_with_retries(db, jobs).await {
            Ok((stored, days)) => {
                verdicts.extend(stored.into_iter().map(|(i, v)| (range.start + i, v)));
                dirty.extend(days);
            }
            Err(Refused::Row(e)) if jobs.len() > 1 => {
                tracing::warn!(
                    "HJ 212 batch of {} refused by the database, storing its halves apart: {e:#}",
                    jobs.len()
                );
                let middle = range.start + jobs.len() / 2;
                // Popped first half first: the jobs keep their order.
                ranges.push(middle..range.end);
                ranges.push(range.start..middle);
            }
            Err(Refused::Row(e)) => {
                *dropped += 1;
                tracing::warn!(
                    "HJ 212 {} not stored, refused by the database ({} job(s) dropped since start): {e:#}",
                    describe(&jobs[0]),
                    *dropped
                );
            }
            Err(Refused::Database(e)) => {
                tracing::warn!(
                    "HJ 212 batch of {} not stored after {ATTEMPTS} attempts: {e:#}",
                    jobs.len()
                );
            }
        }
    }
    (verdicts, dirty)
}

/// Why a batch was not stored.
enum Refused {
    /// The database refused a row's values (some job of the batch is at fault).
    Row(anyhow::Error),
    /// The database failed as such (retried already).
    Database(anyhow::Error),
}

/// Commits `jobs`, retrying a failure of the database itself (not of a row) up to [`ATTEMPTS`] times.
async fn commit_with_retries(
    db: &Db,
    jobs: &[Job],
) -> Result<(HashMap<usize, Stored>, BTreeSet<DirtyDay>), Refused> {
    let mut attempt = 1;
    loop {
        match commit(db, jobs).await {
            Ok(done) => return Ok(done),
            Err(e) if refused_row(db.backend(), &e) => return Err(Refused::Row(e)),
            Err(e) if attempt >= ATTEMPTS => return Err(Refused::Database(e)),
            Err(e) => {
                tracing::warn!(
                    "HJ 212 batch of {} failed (attempt {attempt}): {e:#}",
                    jobs.len()
                );
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                attempt += 1;
            }
        }
    }
}

/// Whether the database refused a row's values (which splitting the batch isolates) rather than failed as
/// such (which retrying may cure). PostgreSQL: SQLSTATE classes 22 (data exception: NUL in text, a number out
/// of range), 23 (integrity constraint) and 54 (program limit exceeded: a value too large). SQLite: the primary
/// result codes CONSTRAINT (19), TOOBIG (18), MISMATCH (20) and RANGE (25). A value that cannot be encoded,
/// and an error that is not the database's at all (the readings store's own checks), count as refused too.
fn refused_row(backend: kernel::Backend, error: &anyhow::Error) -> bool {
    let Some(error) = error.chain().find_map(|e| e.downcast_ref::<sqlx::Error>()) else {
        return true;
    };
    match error {
        sqlx::Error::Encode(_) => true,
        sqlx::Error::Database(e) => {
            let Some(code) = e.code() else { return false };
            match backend {
                kernel::Backend::Postgres => ["22", "23", "54"].iter().any(|c| code.starts_with(c)),
                kernel::Backend::Sqlite => code
                    .parse::<i64>()
                    .is_ok_and(|code| matches!(code & 0xff, 18 | 19 | 20 | 25)),
            }
        }
        _ => false,
    }
}

/// A job as named in the log when it could not be stored.
fn describe(job: &Job) -> String {
    match job {
        Job::Accepted { packet, .. } => format!(
            "packet of MN {:?} (QN {:?}, not acknowledged)",
            packet.mn, packet.qn
        ),
        Job::Quarantined(q) => format!(
            "quarantine entry ({}, MN {:?}, from {})",
            q.reason.as_str(),
            q.mn,
            q.peer
        ),
        Job::Seen(seen) => format!("state of device {}", seen.device_id),
        Job::DeviceError { device_id, .. } => format!("error of device {device_id}"),
    }
}

/// Collects the (point, day) pairs the writer touched and recomputes their roll-ups every [`ROLLUP_EVERY`], and
/// once more when the writer stops.
async fn roll_up(db: Db, mut dirty_rx: mpsc::UnboundedReceiver<BTreeSet<DirtyDay>>) {
    let mut pending: BTreeSet<DirtyDay> = BTreeSet::new();
    let mut tick = tokio::time::interval(ROLLUP_EVERY);
    loop {
        tokio::select! {
            received = dirty_rx.recv() => match received {
                Some(days) => pending.extend(days),
                None => break,
            },
            _ = tick.tick() => {
                if !pending.is_empty() {
                    let days = std::mem::take(&mut pending);
                    if let Err(e) = readings::rollup::recompute(&db, &days).await {
                        tracing::warn!("roll-up of {} gateway day(s) failed: {e:#}", days.len());
                        pending.extend(days);
                    }
                }
            }
        }
    }
    if !pending.is_empty()
        && let Err(e) = readings::rollup::recompute(&db, &pending).await
    {
        tracing::warn!(
            "final roll-up of {} gateway day(s) failed: {e:#}",
            pending.len()
        );
    }
}

/// Stores a batch in one transaction; returns the verdict per accepted job's index and the (point, day) pairs
/// whose roll-ups changed.
async fn commit(
    db: &Db,
    batch: &[Job],
) -> anyhow::Result<(HashMap<usize, Stored>, BTreeSet<DirtyDay>)> {
    let now = kernel::time::now_ts();
    let backend = db.backend();
    let mut verdicts = HashMap::with_capacity(batch.len());
    // The first packet of each dedup key is a candidate; a later one in the same batch is a resend.
    let mut seen_keys: HashSet<&str> = HashSet::with_capacity(batch.len());
    let mut candidates: Vec<(usize, &AcceptedPacket)> = Vec::with_capacity(batch.len());
    let mut quarantined: Vec<&QuarantinedPacket> = Vec::new();
    for (i, job) in batch.iter().enumerate() {
        match job {
            Job::Accepted { packet, .. } => {
                if seen_keys.insert(packet.dedup_key.as_str()) {
                    candidates.push((i, packet.as_ref()));
                } else {
                    verdicts.insert(i, Stored::Duplicate);
                }
            }
            Job::Quarantined(q) => quarantined.push(q.as_ref()),
            Job::Seen(_) | Job::DeviceError { .. } => {}
        }
    }

    let lock = store::lock_writes().await;
    let mut tx = db.begin_write().await?;
    let source_id = if candidates.is_empty() {
        None
    } else {
        let source = NewSource {
            kind: "packet",
            name: format!("HJ 212 gateway: {} packet(s)", candidates.len()),
            checksum: None,
            received_by: "hj212-gateway".to_string(),
            idempotency_key: None,
        };
        Some(store::create_source_in(&mut tx, &source).await?)
    };
    let packets: Vec<&AcceptedPacket> = candidates.iter().map(|(_, p)| *p).collect();
    let stored_now = repo::insert_packets(&mut tx, backend, source_id, &packets).await?;
    if let Some(source_id) = source_id
        && stored_now.len() < candidates.len()
    {
        // Resends of packets stored by an earlier batch: the source names only what it brought.
        repo::rename_or_drop_source(&mut tx, source_id, stored_now.len()).await?;
    }
    let mut new_packets: Vec<&AcceptedPacket> = Vec::with_capacity(stored_now.len());
    for (i, packet) in &candidates {
        if stored_now.contains(&packet.dedup_key) {
            verdicts.insert(*i, Stored::New);
            new_packets.push(packet);
        } else {
            verdicts.insert(*i, Stored::Duplicate);
        }
    }
    let mut dirty = BTreeSet::new();
    if let Some(source_id) = source_id {
        let rows = store::rows_from_readings(
            &new_packets
                .iter()
                .flat_map(|p| p.readings.iter().cloned())
                .collect::<Vec<_>>(),
        );
        if !rows.is_empty() {
            dirty = store::write_rows_in(&mut tx, backend, &lock, source_id, rows)
                .await?
                .dirty;
        }
    }
    repo::insert_quarantined(&mut tx, backend, &quarantined).await?;
    let deltas = device_deltas(batch, &verdicts);
    repo::update_device_states(&mut tx, backend, &deltas, now).await?;
    tx.commit().await?;
    drop(lock);
    devices::note_gateway_change();
    Ok((verdicts, dirty))
}

/// What the batch changes in each device's state, given each accepted packet's verdict.
fn device_deltas(batch: &[Job], verdicts: &HashMap<usize, Stored>) -> BTreeMap<i64, DeviceDelta> {
    let mut deltas: BTreeMap<i64, DeviceDelta> = BTreeMap::new();
    for (i, job) in batch.iter().enumerate() {
        match job {
            Job::Accepted { packet, .. } => {
                let delta = deltas.entry(packet.device_id).or_default();
                delta.peer = Some(packet.peer.clone());
                delta.last_packet_at = Some(packet.received_at);
                if verdicts.get(&i) == Some(&Stored::New) {
                    delta.packets += 1;
                    if packet.data_time.is_some() {
                        delta.last_data_time = packet.data_time;
                    }
                    if packet.clock_drift_seconds.is_some() {
                        delta.clock_drift_seconds = packet.clock_drift_seconds;
                    }
                    if let Some(warning) = &packet.warning {
                        delta.errors += 1;
                        delta.last_error = Some(warning.clone());
                        delta.last_error_at = Some(packet.received_at);
                    }
                } else {
                    delta.duplicates += 1;
                }
            }
            Job::Seen(seen) => {
                let delta = deltas.entry(seen.device_id).or_default();
                delta.peer = Some(seen.peer.clone());
                delta.last_packet_at = Some(seen.at);
                if seen.clock_drift_seconds.is_some() {
                    delta.clock_drift_seconds = seen.clock_drift_seconds;
                }
            }
            Job::DeviceError {
                device_id,
                at,
                message,
            } => {
                let delta = deltas.entry(*device_id).or_default();
                delta.errors += 1;
                delta.last_error = Some(message.clone());
                delta.last_error_at = Some(*at);
            }
            Job::Quarantined(q) => {
                if let Some(device_id) = q.device_id {
                    let delta = deltas.entry(device_id).or_default();
                    delta.errors += 1;
                    delta.last_error = Some(format!("{}: {}", q.reason.as_str(), q.detail));
                    delta.last_error_at = Some(q.received_at);
                }
            }
        }
    }
    deltas
}
