//! The gateway's SQL (portable, see `kernel::db`): devices by MN, raw packets, quarantine, device state.

use std::collections::{BTreeMap, HashSet};

use kernel::db::SqlBuilder;
use kernel::{Backend, Db};
use sqlx::Row;

use crate::model::{
    AcceptedPacket, Device, DeviceState, QuarantineEntry, QuarantinedPacket, parse_crc_mode,
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
             encoding, crc, dedup_key, values_count, source_id) VALUES ",
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
         s.clock_drift_seconds, s.packets, s.duplicates, s.errors, s.last_error, s.last_error_at \
         FROM devices d LEFT JOIN hj212_device_state s ON s.device_id = d.id WHERE d.id = $1",
    )
    .bind(device_id)
    .fetch_optional(db.pool())
    .await?;
    row.map(|row| {
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
        })
    })
    .transpose()
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
        "SELECT id, received_at, peer, mn, device_id, reason, detail, packet, encoding, reviewed_by, reviewed_at \
         FROM hj212_quarantine",
    );
    push_quarantine_filter(&mut b, filter);
    b.push(" ORDER BY received_at DESC, id DESC LIMIT ")
        .push_bind(limit)
        .push(" OFFSET ")
        .push_bind(offset);
    let rows = b.build().fetch_all(db.pool()).await?;
    let items = rows
        .iter()
        .map(|row| {
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
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((items, total))
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
