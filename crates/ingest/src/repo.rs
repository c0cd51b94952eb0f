//! The gateway's SQL (portable, see `kernel::db`): devices by MN, raw packets, quarantine, device state.

use std::collections::{BTreeMap, HashSet};

use kernel::db::SqlBuilder;
use kernel::{Backend, Db};
use sqlx::{AnyConnection, Row};

use crate::model::{
    AcceptedPacket, Device, DeviceState, KeyInfo, KeyState, LiveKey, QuarantineEntry,
    QuarantinedPacket, parse_crc_mode,
};

/// Rows per multi-row statement. Small on purpose: through the Any driver a statement's cost grew much faster
/// than its row count (1,000 rows: ~1 s per batch; 32 rows: ~50 ms for the same batch, measured on SQLite).
const ROWS_PER_STATEMENT: usize = 32;

/// Every registered device, for the gateway's in-memory directory (refreshed periodically).
pub async fn all_devices(db: &Db) -> Result<Vec<Device>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, mn, password, protocol, crc_mode, point_id, active FROM devices ORDER BY id",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let crc_mode: String = row.try_get(4)?;
            let active: i64 = row.try_get(6)?;
            Ok(Device {
                id: row.try_get(0)?,
                mn: row.try_get(1)?,
                password: row.try_get(2)?,
                protocol: row.try_get(3)?,
                crc_mode: parse_crc_mode(&crc_mode),
                point_id: row.try_get(5)?,
                active: active != 0,
            })
        })
        .collect()
}

/// Which of these dedup keys are stored already.
pub async fn stored_packet_keys(db: &Db, keys: &[&str]) -> Result<HashSet<String>, sqlx::Error> {
    let mut found = HashSet::new();
    for chunk in keys.chunks(ROWS_PER_STATEMENT) {
        let mut b = SqlBuilder::new("SELECT dedup_key FROM hj212_packets WHERE dedup_key IN (");
        for (i, key) in chunk.iter().enumerate() {
            if i > 0 {
                b.push(", ");
            }
            b.push_bind(key.to_string());
        }
        b.push(")");
        let keys: Vec<String> = b.build_scalar().fetch_all(db.pool()).await?;
        found.extend(keys);
    }
    Ok(found)
}

/// What one batch changes in a device's state.
#[derive(Debug, Clone, Default)]
pub struct DeviceDelta {
    pub peer: Option<String>,
    pub last_packet_at: Option<i64>,
    pub last_data_time: Option<i64>,
    pub clock_drift_seconds: Option<i64>,
    pub packets: i64,
    pub duplicates: i64,
    pub errors: i64,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
}

/// Stores a batch's new packets, its quarantined packets and the device-state changes in one transaction.
/// Packets and quarantine entries already stored (same dedup key) are left as they are.
pub async fn store_batch(
    db: &Db,
    source_id: Option<i64>,
    packets: &[&AcceptedPacket],
    quarantined: &[&QuarantinedPacket],
    deltas: &BTreeMap<i64, DeviceDelta>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut tx = match db.backend() {
        // Take SQLite's write lock up front, as the readings store does, so that a concurrent writer queues.
        Backend::Sqlite => db.pool().begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => db.pool().begin().await?,
    };
    for chunk in packets.chunks(ROWS_PER_STATEMENT) {
        let mut b = SqlBuilder::new(
            "INSERT INTO hj212_packets (received_at, peer, mn, device_id, point_id, cn, qn, data_time, packet, \
             encoding, crc, dedup_key, values_count, source_id, key_id) VALUES ",
        );
        for (i, p) in chunk.iter().enumerate() {
            b.push(if i == 0 { "(" } else { ", (" });
            b.push_bind(p.received_at)
                .push(", ")
                .push_bind(p.peer.clone())
                .push(", ")
                .push_bind(p.mn.clone())
                .push(", ")
                .push_bind(p.device_id)
                .push(", ")
                .push_bind(p.point_id)
                .push(", ")
                .push_bind(p.cn)
                .push(", ")
                .push_bind(p.qn.clone())
                .push(", ")
                .push_bind(p.data_time)
                .push(", ")
                .push_bind(p.bytes.text.clone())
                .push(", ")
                .push_bind(p.bytes.encoding.to_string())
                .push(", ")
                .push_bind(p.crc.to_string())
                .push(", ")
                .push_bind(p.dedup_key.clone())
                .push(", ")
                .push_bind(p.readings.len() as i64)
                .push(", ")
                .push_bind(source_id)
                .push(", ")
                .push_bind(p.key_id)
                .push(")");
        }
        b.push(" ON CONFLICT (dedup_key) DO NOTHING");
        b.build().execute(&mut *tx).await?;
    }
    for chunk in quarantined.chunks(ROWS_PER_STATEMENT) {
        let mut b = SqlBuilder::new(
            "INSERT INTO hj212_quarantine (received_at, peer, mn, device_id, reason, detail, packet, encoding, \
             dedup_key) VALUES ",
        );
        for (i, q) in chunk.iter().enumerate() {
            b.push(if i == 0 { "(" } else { ", (" });
            b.push_bind(q.received_at)
                .push(", ")
                .push_bind(q.peer.clone())
                .push(", ")
                .push_bind(q.mn.clone())
                .push(", ")
                .push_bind(q.device_id)
                .push(", ")
                .push_bind(q.reason.as_str().to_string())
                .push(", ")
                .push_bind(q.detail.clone())
                .push(", ")
                .push_bind(q.bytes.text.clone())
                .push(", ")
                .push_bind(q.bytes.encoding.to_string())
                .push(", ")
                .push_bind(q.dedup_key.clone())
                .push(")");
        }
        b.push(" ON CONFLICT (dedup_key) DO NOTHING");
        b.build().execute(&mut *tx).await?;
    }
    let deltas: Vec<(&i64, &DeviceDelta)> = deltas.iter().collect();
    for chunk in deltas.chunks(ROWS_PER_STATEMENT) {
        let mut b = SqlBuilder::new(
            "INSERT INTO hj212_device_state (device_id, online, peer, last_packet_at, last_data_time, \
             clock_drift_seconds, packets, duplicates, errors, last_error, last_error_at, updated_at) VALUES ",
        );
        for (i, (device_id, d)) in chunk.iter().enumerate() {
            b.push(if i == 0 { "(" } else { ", (" });
            b.push_bind(**device_id)
                .push(", ")
                .push_bind(i64::from(d.last_packet_at.is_some()))
                .push(", ")
                .push_bind(d.peer.clone())
                .push(", ")
                .push_bind(d.last_packet_at)
                .push(", ")
                .push_bind(d.last_data_time)
                .push(", ")
                .push_bind(d.clock_drift_seconds)
                .push(", ")
                .push_bind(d.packets)
                .push(", ")
                .push_bind(d.duplicates)
                .push(", ")
                .push_bind(d.errors)
                .push(", ")
                .push_bind(d.last_error.clone())
                .push(", ")
                .push_bind(d.last_error_at)
                .push(", ")
                .push_bind(now)
                .push(")");
        }
        // One row per device in a statement (the map's keys), as PostgreSQL requires.
        b.push(
            " ON CONFLICT (device_id) DO UPDATE SET \
             online = CASE WHEN excluded.last_packet_at IS NULL THEN hj212_device_state.online ELSE 1 END, \
             peer = COALESCE(excluded.peer, hj212_device_state.peer), \
             last_packet_at = COALESCE(excluded.last_packet_at, hj212_device_state.last_packet_at), \
             last_data_time = COALESCE(excluded.last_data_time, hj212_device_state.last_data_time), \
             clock_drift_seconds = COALESCE(excluded.clock_drift_seconds, hj212_device_state.clock_drift_seconds), \
             packets = hj212_device_state.packets + excluded.packets, \
             duplicates = hj212_device_state.duplicates + excluded.duplicates, \
             errors = hj212_device_state.errors + excluded.errors, \
             last_error = COALESCE(excluded.last_error, hj212_device_state.last_error), \
             last_error_at = COALESCE(excluded.last_error_at, hj212_device_state.last_error_at), \
             updated_at = excluded.updated_at",
        );
        b.build().execute(&mut *tx).await?;
    }
    tx.commit().await
}

/// At start no connection exists: whatever a previous run left online is not.
pub async fn mark_all_offline(db: &Db) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE hj212_device_state SET online = 0 WHERE online <> 0")
        .execute(db.pool())
        .await?;
    Ok(())
}

/// A connection closed: its devices are offline unless another connection has carried them since.
pub async fn mark_offline(db: &Db, device_ids: &[i64], peer: &str) -> Result<(), sqlx::Error> {
    for id in device_ids {
        sqlx::query(
            "UPDATE hj212_device_state SET online = 0, updated_at = $1 WHERE device_id = $2 AND peer = $3",
        )
        .bind(kernel::time::now_ts())
        .bind(*id)
        .bind(peer)
        .execute(db.pool())
        .await?;
    }
    Ok(())
}

/// The state of a registered device (zeros when it never connected), or `None` for an unknown id.
pub async fn device_state(db: &Db, device_id: i64) -> Result<Option<DeviceState>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT d.id, d.mn, d.point_id, s.online, s.peer, s.last_packet_at, s.last_data_time, \
         s.clock_drift_seconds, s.packets, s.duplicates, s.errors, s.last_error, s.last_error_at, p.name, d.active \
         FROM devices d JOIN monitoring_points p ON p.id = d.point_id \
         LEFT JOIN hj212_device_state s ON s.device_id = d.id WHERE d.id = $1",
    )
    .bind(device_id)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(device_state_row).transpose()
}

fn device_state_row(row: &sqlx::any::AnyRow) -> Result<DeviceState, sqlx::Error> {
    let online: Option<i64> = row.try_get(3)?;
    let packets: Option<i64> = row.try_get(8)?;
    let duplicates: Option<i64> = row.try_get(9)?;
    let errors: Option<i64> = row.try_get(10)?;
    Ok(DeviceState {
        device_id: row.try_get(0)?,
        mn: row.try_get(1)?,
        point_id: row.try_get(2)?,
        online: online.unwrap_or(0) != 0,
        peer: row.try_get(4)?,
        last_packet_at: row.try_get(5)?,
        last_data_time: row.try_get(6)?,
        clock_drift_seconds: row.try_get(7)?,
        packets: packets.unwrap_or(0),
        duplicates: duplicates.unwrap_or(0),
        errors: errors.unwrap_or(0),
        last_error: row.try_get(11)?,
        last_error_at: row.try_get(12)?,
        point_name: row.try_get(13)?,
        active: row.try_get::<i64, _>(14)? != 0,
    })
}

/// Filters of the quarantine list.
#[derive(Debug, Clone, Default)]
pub struct QuarantineFilter {
    pub reason: Option<String>,
    pub mn: Option<String>,
    /// Only entries nobody has reviewed.
    pub unreviewed: bool,
}

fn push_quarantine_filter(b: &mut SqlBuilder, filter: &QuarantineFilter) {
    b.push(" WHERE 1 = 1");
    if let Some(reason) = &filter.reason {
        b.push(" AND reason = ").push_bind(reason.clone());
    }
    if let Some(mn) = &filter.mn {
        b.push(" AND mn = ").push_bind(mn.clone());
    }
    if filter.unreviewed {
        b.push(" AND reviewed_at IS NULL");
    }
}

/// Quarantine entries, newest first, and how many match.
pub async fn quarantine(
    db: &Db,
    filter: &QuarantineFilter,
    limit: i64,
    offset: i64,
) -> Result<(Vec<QuarantineEntry>, i64), sqlx::Error> {
    let mut count = SqlBuilder::new("SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_quarantine");
    push_quarantine_filter(&mut count, filter);
    let total: i64 = count.build_scalar().fetch_one(db.pool()).await?;
    let mut b = SqlBuilder::new(
        "SELECT id, received_at, peer, mn, device_id, reason, detail, packet, encoding, reviewed_by, reviewed_at, \
         review_outcome, review_note, registered_device_id FROM hj212_quarantine",
    );
    push_quarantine_filter(&mut b, filter);
    b.push(" ORDER BY received_at DESC, id DESC LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
    let rows = b.build().fetch_all(db.pool()).await?;
    let items = rows
        .iter()
        .map(quarantine_entry)
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((items, total))
}

fn quarantine_entry(row: &sqlx::any::AnyRow) -> Result<QuarantineEntry, sqlx::Error> {
    Ok(QuarantineEntry {
        id: row.try_get(0)?,
        received_at: row.try_get(1)?,
        peer: row.try_get(2)?,
        mn: row.try_get(3)?,
        device_id: row.try_get(4)?,
        reason: row.try_get(5)?,
        detail: row.try_get(6)?,
        packet: row.try_get(7)?,
        encoding: row.try_get(8)?,
        reviewed_by: row.try_get(9)?,
        reviewed_at: row.try_get(10)?,
        review_outcome: row.try_get(11)?,
        review_note: row.try_get(12)?,
        registered_device_id: row.try_get(13)?,
    })
}

/// One quarantine entry.
pub async fn quarantine_entry_by_id(
    conn: &mut AnyConnection,
    id: i64,
) -> Result<Option<QuarantineEntry>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, received_at, peer, mn, device_id, reason, detail, packet, encoding, reviewed_by, reviewed_at, \
         review_outcome, review_note, registered_device_id FROM hj212_quarantine WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(quarantine_entry).transpose()
}

/// Records a review on an entry nobody has reviewed yet; false when someone did meanwhile.
pub async fn review_quarantine(
    conn: &mut AnyConnection,
    id: i64,
    reviewer: i64,
    outcome: &str,
    note: Option<&str>,
    device_id: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE hj212_quarantine SET reviewed_by = $1, reviewed_at = $2, review_outcome = $3, review_note = $4, \
         registered_device_id = $5 WHERE id = $6 AND reviewed_at IS NULL",
    )
    .bind(reviewer)
    .bind(now)
    .bind(outcome)
    .bind(note)
    .bind(device_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Every registered device with what the gateway last saw of it (zeros for one that never connected), by MN.
pub async fn device_states(db: &Db) -> Result<Vec<DeviceState>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT d.id, d.mn, d.point_id, s.online, s.peer, s.last_packet_at, s.last_data_time, \
         s.clock_drift_seconds, s.packets, s.duplicates, s.errors, s.last_error, s.last_error_at, p.name, d.active \
         FROM devices d JOIN monitoring_points p ON p.id = d.point_id \
         LEFT JOIN hj212_device_state s ON s.device_id = d.id ORDER BY d.mn",
    )
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(device_state_row).collect()
}

// --- HJ 212-2025 keys -------------------------------------------------------------------------------------------

const LIVE_KEY_COLUMNS: &str = "SELECT id, device_id, key_text, state, sk_created_at, created_at, issued_qn FROM hj212_keys \
     WHERE state IN ('current', 'pending', 'retired')";
/// Current first, then pending, then retired newest first: the order keys are tried in.
const LIVE_KEY_ORDER: &str = " ORDER BY device_id, CASE state WHEN 'current' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END, \
     COALESCE(valid_to, 0) DESC, id DESC";

fn live_key(row: &sqlx::any::AnyRow) -> Result<Option<LiveKey>, sqlx::Error> {
    let text: String = row.try_get(2)?;
    let state: String = row.try_get(3)?;
    let (Some(key), Some(state)) = (hj212::sm4::key_from_text(&text), KeyState::parse(&state))
    else {
        return Ok(None);
    };
    Ok(Some(LiveKey {
        id: row.try_get(0)?,
        device_id: row.try_get(1)?,
        key,
        state,
        sk_created_at: row.try_get(4)?,
        created_at: row.try_get(5)?,
        issued_qn: row.try_get(6)?,
    }))
}

/// The keys the gateway tries, of every device (or of one), in trying order.
pub async fn live_keys(db: &Db, device_id: Option<i64>) -> Result<Vec<LiveKey>, sqlx::Error> {
    let mut b = SqlBuilder::new(LIVE_KEY_COLUMNS);
    if let Some(id) = device_id {
        b.push(" AND device_id = ").push_bind(id);
    }
    b.push(LIVE_KEY_ORDER);
    let rows = b.build().fetch_all(db.pool()).await?;
    let mut keys = Vec::with_capacity(rows.len());
    for row in &rows {
        keys.extend(live_key(row)?);
    }
    Ok(keys)
}

/// A device's keys as listed by the API (fingerprints only), newest first.
pub async fn key_infos(
    conn: &mut AnyConnection,
    device_id: i64,
) -> Result<Vec<KeyInfo>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, device_id, fingerprint, state, source, sk_created_at, valid_from, valid_to, created_by, \
         created_at FROM hj212_keys WHERE device_id = $1 ORDER BY id DESC",
    )
    .bind(device_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(KeyInfo {
                id: row.try_get(0)?,
                device_id: row.try_get(1)?,
                fingerprint: row.try_get(2)?,
                state: row.try_get(3)?,
                source: row.try_get(4)?,
                sk_created_at: row.try_get(5)?,
                valid_from: row.try_get(6)?,
                valid_to: row.try_get(7)?,
                created_by: row.try_get(8)?,
                created_at: row.try_get(9)?,
            })
        })
        .collect()
}

/// Whether this device has had this key (by fingerprint) in any state.
pub async fn key_known(
    conn: &mut AnyConnection,
    device_id: i64,
    fingerprint: &str,
) -> Result<bool, sqlx::Error> {
    let n: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM hj212_keys WHERE device_id = $1 AND fingerprint = $2",
    )
    .bind(device_id)
    .bind(fingerprint)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

/// A new key row. `state` current: the previous current key is retired and a pending one abandoned first;
/// `state` pending: an earlier pending key is abandoned first.
pub struct KeyRow<'a> {
    pub device_id: i64,
    pub key_text: &'a str,
    pub fingerprint: &'a str,
    pub state: KeyState,
    pub source: &'a str,
    pub sk_created_at: i64,
    pub issued_qn: Option<&'a str>,
    pub created_by: Option<i64>,
}

pub async fn insert_key(
    conn: &mut AnyConnection,
    row: &KeyRow<'_>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    if row.state == KeyState::Current {
        sqlx::query(
            "UPDATE hj212_keys SET state = 'retired', valid_to = $1 WHERE device_id = $2 AND state = 'current'",
        )
        .bind(now)
        .bind(row.device_id)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(
        "UPDATE hj212_keys SET state = 'abandoned' WHERE device_id = $1 AND state = 'pending'",
    )
    .bind(row.device_id)
    .execute(&mut *conn)
    .await?;
    let valid_from = (row.state == KeyState::Current).then_some(now);
    sqlx::query_scalar(
        "INSERT INTO hj212_keys (device_id, key_text, fingerprint, state, source, sk_created_at, valid_from, \
         issued_qn, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(row.device_id)
    .bind(row.key_text)
    .bind(row.fingerprint)
    .bind(row.state.as_str())
    .bind(row.source)
    .bind(row.sk_created_at)
    .bind(valid_from)
    .bind(row.issued_qn)
    .bind(row.created_by)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
}

/// The device confirmed a pending key: it becomes current, the previous current key is retired. False when the
/// key is no longer pending.
pub async fn confirm_key(
    conn: &mut AnyConnection,
    key_id: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let device_id: Option<i64> =
        sqlx::query_scalar("SELECT device_id FROM hj212_keys WHERE id = $1 AND state = 'pending'")
            .bind(key_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(device_id) = device_id else {
        return Ok(false);
    };
    sqlx::query(
        "UPDATE hj212_keys SET state = 'retired', valid_to = $1 WHERE device_id = $2 AND state = 'current'",
    )
    .bind(now)
    .bind(device_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE hj212_keys SET state = 'current', valid_from = $1 WHERE id = $2")
        .bind(now)
        .bind(key_id)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

/// The device refused a pending key: it is not tried any more.
pub async fn abandon_key(conn: &mut AnyConnection, key_id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE hj212_keys SET state = 'abandoned' WHERE id = $1 AND state = 'pending'",
    )
    .bind(key_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Up to `n` active registered devices, oldest first (the demo's, or any registry's), for the simulator.
pub async fn active_devices(db: &Db, n: i64) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as("SELECT mn, password FROM devices WHERE active = 1 ORDER BY id LIMIT $1")
        .bind(n)
        .fetch_all(db.pool())
        .await
}

/// Registers a simulated outlet point and its device (MN `QS-SIM-0001`…, password `sim-0001`…) unless the MN
/// exists; both are marked simulated in the registry (`monitoring_points.simulated`, model `qingshan
/// simulate`).
pub async fn register_simulated_device(
    db: &Db,
    number: usize,
) -> Result<(String, String), sqlx::Error> {
    let mn = format!("QS-SIM-{number:04}");
    let password = format!("sim-{number:04}");
    let exists: i64 =
        sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM devices WHERE mn = $1")
            .bind(&mn)
            .fetch_one(db.pool())
            .await?;
    if exists > 0 {
        return Ok((mn, password));
    }
    let now = kernel::time::now_ts();
    let mut tx = match db.backend() {
        Backend::Sqlite => db.pool().begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => db.pool().begin().await?,
    };
    let point_id: i64 = sqlx::query_scalar(
        "INSERT INTO monitoring_points (code, name, kind, level, owner, simulated, created_at, updated_at) \
         VALUES ($1, $2, 'outlet', 'enterprise', $3, 1, $4, $4) RETURNING id",
    )
    .bind(format!("SIM-{number:04}"))
    .bind(format!("模拟排放口 {number:04}"))
    .bind("qingshan simulate")
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO devices (mn, password, protocol, crc_mode, point_id, model, created_at, updated_at) \
         VALUES ($1, $2, '2017', 'accept_variant', $3, 'qingshan simulate', $4, $4)",
    )
    .bind(&mn)
    .bind(&password)
    .bind(point_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((mn, password))
}
