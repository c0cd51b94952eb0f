//! The batching writer: one task takes packets from a bounded queue, stores whatever has queued up while the
//! previous batch was committing (group commit), and only then tells each connection its packet is stored, so
//! that the acknowledgement follows the commit.
//!
//! Order inside a batch: readings first (the readings store's own transactions), then raw packets, quarantine
//! and device state in one transaction. A crash between the two leaves readings without their packet; the
//! device, never acknowledged, sends the packet again, and the resend writes the same values (unchanged) and
//! the packet. The reverse order could store a packet whose values never arrive, and its resend would be
//! taken for a duplicate.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use kernel::Db;
use readings::store::{self, DirtyDay, NewSource};
use tokio::sync::{mpsc, oneshot};

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

/// Attempts per batch before its packets are reported as not stored.
const ATTEMPTS: u32 = 3;

/// How often the hours and days touched by the gateway are rolled up again. Off the acknowledgement path: a
/// roll-up of a day of minute data takes far longer than a batch commit.
const ROLLUP_EVERY: Duration = Duration::from_secs(30);

/// Runs until every sender is gone, then returns after the last batch and its roll-ups.
pub async fn run(db: Db, mut jobs: mpsc::Receiver<Job>, max_batch: usize) {
    let (dirty_tx, dirty_rx) = mpsc::unbounded_channel::<BTreeSet<DirtyDay>>();
    let rollups = tokio::spawn(roll_up(db.clone(), dirty_rx));
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    while jobs.recv_many(&mut batch, max_batch).await > 0 {
        let mut outcome = Err(anyhow::anyhow!("not attempted"));
        for attempt in 1..=ATTEMPTS {
            outcome = commit(&db, &batch).await;
            match &outcome {
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(
                        "HJ 212 batch of {} failed (attempt {attempt}): {e:#}",
                        batch.len()
                    );
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
            }
        }
        let (verdicts, dirty) = outcome.unwrap_or_default();
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
    drop(dirty_tx);
    let _ = rollups.await;
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

/// Stores a batch; returns the verdict per accepted job's index and the (point, day) pairs whose roll-ups changed.
async fn commit(
    db: &Db,
    batch: &[Job],
) -> anyhow::Result<(HashMap<usize, Stored>, BTreeSet<DirtyDay>)> {
    let now = kernel::time::now_ts();
    let accepted: Vec<(usize, &AcceptedPacket)> = batch
        .iter()
        .enumerate()
        .filter_map(|(i, job)| match job {
            Job::Accepted { packet, .. } => Some((i, packet.as_ref())),
            Job::Quarantined(_) | Job::Seen(_) | Job::DeviceError { .. } => None,
        })
        .collect();
    let quarantined: Vec<&QuarantinedPacket> = batch
        .iter()
        .filter_map(|job| match job {
            Job::Quarantined(q) => Some(q.as_ref()),
            Job::Accepted { .. } | Job::Seen(_) | Job::DeviceError { .. } => None,
        })
        .collect();
    let keys: Vec<&str> = accepted.iter().map(|(_, p)| p.dedup_key.as_str()).collect();
    let mut already = repo::stored_packet_keys(db, &keys).await?;
    let mut verdicts = HashMap::with_capacity(accepted.len());
    let mut new_packets: Vec<&AcceptedPacket> = Vec::new();
    let mut deltas: BTreeMap<i64, DeviceDelta> = BTreeMap::new();
    for (i, packet) in &accepted {
        let delta = deltas.entry(packet.device_id).or_default();
        delta.peer = Some(packet.peer.clone());
        delta.last_packet_at = Some(packet.received_at);
        // `insert` is false for a key stored before or seen earlier in this batch: a resend.
        if already.insert(packet.dedup_key.clone()) {
            verdicts.insert(*i, Stored::New);
            new_packets.push(packet);
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
            verdicts.insert(*i, Stored::Duplicate);
            delta.duplicates += 1;
        }
    }
    for job in batch {
        match job {
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
            Job::Accepted { .. } | Job::Quarantined(_) => {}
        }
    }
    for q in &quarantined {
        if let Some(device_id) = q.device_id {
            let delta = deltas.entry(device_id).or_default();
            delta.errors += 1;
            delta.last_error = Some(format!("{}: {}", q.reason.as_str(), q.detail));
            delta.last_error_at = Some(q.received_at);
        }
    }
    let values: Vec<readings::Reading> = new_packets
        .iter()
        .flat_map(|p| p.readings.iter().cloned())
        .collect();
    let source_id = if new_packets.is_empty() {
        None
    } else {
        let source = NewSource {
            kind: "packet",
            name: format!("HJ 212 gateway: {} packet(s)", new_packets.len()),
            checksum: None,
            received_by: "hj212-gateway".to_string(),
            idempotency_key: None,
        };
        Some(store::create_source(db, &source).await?)
    };
    let mut dirty = BTreeSet::new();
    if let Some(source_id) = source_id
        && !values.is_empty()
    {
        dirty = store::write(db, source_id, &values).await?.dirty;
    }
    repo::store_batch(db, source_id, &new_packets, &quarantined, &deltas, now).await?;
    Ok((verdicts, dirty))
}
