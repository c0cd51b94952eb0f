//! The gateway's SQL (portable, see `kernel::db`): raw packets, quarantine, device state, keys and MN
//! assignments. The devices themselves are the registry's (`crate::devices` reads them through
//! `registry::service`).

use std::collections::{BTreeMap, HashSet};

use kernel::db::{BulkStatement, SqlBuilder};
use kernel::secrets::MasterKey;
use kernel::{Backend, Db};
use sqlx::{AnyConnection, Row};

use crate::model::{
    AcceptedPacket, DeviceState, KeyInfo, KeyState, LiveKey, LoggerIds, MnAssignment,
    QuarantineEntry, QuarantinedPacket, escaped_bytes, storable_opt, storable_text,
    stored_packet_bytes,
};

/// Rows per multi-row statement. With anonymous placeholders on SQLite ([`BulkStatement`]) a statement's cost
/// grows with its rows; with `$n` it grew with their square (1,000 rows: ~1 s per batch, measured).
const ROWS_PER_STATEMENT: usize = 250;

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

/// Stores packets whose dedup key is not stored yet, in the caller's transaction; returns the keys it stored.
/// The packets' keys must differ from each other.
pub async fn insert_packets(
    conn: &mut AnyConnection,
    backend: Backend,
    source_id: Option<i64>,
    packets: &[&AcceptedPacket],
) -> Result<HashSet<String>, sqlx::Error> {
    let mut stored = HashSet::with_capacity(packets.len());
    for chunk in packets.chunks(ROWS_PER_STATEMENT) {
        let mut b = BulkStatement::new(
            backend,
            "INSERT INTO hj212_packets (received_at, peer, mn, device_id, point_id, cn, qn, data_time, packet, \
             encoding, crc, dedup_key, values_count, source_id, key_id) VALUES ",
        );
        for (i, p) in chunk.iter().enumerate() {
            b.push(if i == 0 { "(" } else { ", (" });
            b.bind(p.received_at).push(", ");
            // Texts from the device's bytes, NUL escaped (model::storable_text): PostgreSQL refuses NUL.
            b.bind(storable_text(&p.peer).into_owned()).push(", ");
            b.bind(storable_text(&p.mn).into_owned()).push(", ");
            b.bind(p.device_id).push(", ");
            b.bind(p.point_id).push(", ");
            b.bind(p.cn).push(", ");
            b.bind(storable_opt(p.qn.as_deref())).push(", ");
            b.bind(p.data_time).push(", ");
            b.bind(p.bytes.text.clone()).push(", ");
            b.bind(p.bytes.encoding.to_string()).push(", ");
            b.bind(p.crc.to_string()).push(", ");
            b.bind(p.dedup_key.clone()).push(", ");
            b.bind(p.readings.len() as i64).push(", ");
            b.bind(source_id).push(", ");
            b.bind(p.key_id).push(")");
        }
        b.push(" ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key");
        for row in b.build().fetch_all(&mut *conn).await? {
            stored.insert(row.try_get(0)?);
        }
    }
    Ok(stored)
}

/// A batch's source when some of its packets were resends: named after the packets it stored, or removed
/// when it stored none.
pub async fn rename_or_drop_source(
    conn: &mut AnyConnection,
    source_id: i64,
    stored: usize,
) -> Result<(), sqlx::Error> {
    if stored == 0 {
        sqlx::query("DELETE FROM reading_sources WHERE id = $1")
            .bind(source_id)
            .execute(conn)
            .await?;
    } else {
        sqlx::query("UPDATE reading_sources SET name = $1 WHERE id = $2")
            .bind(format!("HJ 212 gateway: {stored} packet(s)"))
            .bind(source_id)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Stores quarantined packets in the caller's transaction; one already stored (same dedup key) is left as it is.
pub async fn insert_quarantined(
    conn: &mut AnyConnection,
    backend: Backend,
    quarantined: &[&QuarantinedPacket],
) -> Result<(), sqlx::Error> {
    for chunk in quarantined.chunks(ROWS_PER_STATEMENT) {
        let mut b = BulkStatement::new(
            backend,
            "INSERT INTO hj212_quarantine (received_at, peer, mn, device_id, reason, detail, packet, encoding, \
             dedup_key) VALUES ",
        );
        for (i, q) in chunk.iter().enumerate() {
            b.push(if i == 0 { "(" } else { ", (" });
            b.bind(q.received_at).push(", ");
            b.bind(storable_text(&q.peer).into_owned()).push(", ");
            b.bind(storable_opt(q.mn.as_deref())).push(", ");
            b.bind(q.device_id).push(", ");
            b.bind(q.reason.as_str().to_string()).push(", ");
            b.bind(storable_text(&q.detail).into_owned()).push(", ");
            b.bind(q.bytes.text.clone()).push(", ");
            b.bind(q.bytes.encoding.to_string()).push(", ");
            b.bind(q.dedup_key.clone()).push(")");
        }
        b.push(" ON CONFLICT (dedup_key) DO NOTHING");
        b.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Applies a batch's device-state changes in the caller's transaction.
pub async fn update_device_states(
    conn: &mut AnyConnection,
    backend: Backend,
    deltas: &BTreeMap<i64, DeviceDelta>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let deltas: Vec<(&i64, &DeviceDelta)> = deltas.iter().collect();
    for chunk in deltas.chunks(ROWS_PER_STATEMENT) {
        let mut b = BulkStatement::new(
            backend,
            "INSERT INTO hj212_device_state (device_id, online, peer, last_packet_at, last_data_time, \
             clock_drift_seconds, packets, duplicates, errors, last_error, last_error_at, updated_at) VALUES ",
        );
        for (i, (device_id, d)) in chunk.iter().enumerate() {
            b.push(if i == 0 { "(" } else { ", (" });
            b.bind(**device_id).push(", ");
            b.bind(i64::from(d.last_packet_at.is_some())).push(", ");
            b.bind(storable_opt(d.peer.as_deref())).push(", ");
            b.bind(d.last_packet_at).push(", ");
            b.bind(d.last_data_time).push(", ");
            b.bind(d.clock_drift_seconds).push(", ");
            b.bind(d.packets).push(", ");
            b.bind(d.duplicates).push(", ");
            b.bind(d.errors).push(", ");
            b.bind(storable_opt(d.last_error.as_deref())).push(", ");
            b.bind(d.last_error_at).push(", ");
            b.bind(now).push(")");
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
        b.execute(&mut *conn).await?;
    }
    Ok(())
}

/// At start no connection exists: whatever a previous run left online is not.
pub async fn mark_all_offline(db: &Db) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE hj212_device_state SET online = 0 WHERE online <> 0")
        .execute(db.writer())
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
        .execute(db.writer())
        .await?;
    }
    Ok(())
}

/// What the gateway stored of every device that connected at least once (or of one). The registry's part of
/// a device's state (MN, point, active) is left for `crate::devices` to fill in.
pub async fn stored_states(
    db: &Db,
    device_id: Option<i64>,
) -> Result<Vec<DeviceState>, sqlx::Error> {
    let mut b = SqlBuilder::new(
        "SELECT device_id, online, peer, last_packet_at, last_data_time, clock_drift_seconds, packets, \
         duplicates, errors, last_error, last_error_at FROM hj212_device_state",
    );
    if let Some(id) = device_id {
        b.push(" WHERE device_id = ").push_bind(id);
    }
    let rows = b.build().fetch_all(db.pool()).await?;
    rows.iter()
        .map(|row| {
            Ok(DeviceState {
                device_id: row.try_get(0)?,
                online: row.try_get::<i64, _>(1)? != 0,
                peer: row.try_get(2)?,
                last_packet_at: row.try_get(3)?,
                last_data_time: row.try_get(4)?,
                clock_drift_seconds: row.try_get(5)?,
                packets: row.try_get(6)?,
                duplicates: row.try_get(7)?,
                errors: row.try_get(8)?,
                last_error: row.try_get(9)?,
                last_error_at: row.try_get(10)?,
                ..DeviceState::default()
            })
        })
        .collect()
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
    let packet: String = row.try_get(7)?;
    let encoding: String = row.try_get(8)?;
    let packet_text = match stored_packet_bytes(&packet, &encoding) {
        Some(bytes) => escaped_bytes(&bytes),
        None => packet.clone(),
    };
    Ok(QuarantineEntry {
        id: row.try_get(0)?,
        received_at: row.try_get(1)?,
        peer: row.try_get(2)?,
        mn: row.try_get(3)?,
        device_id: row.try_get(4)?,
        reason: row.try_get(5)?,
        detail: row.try_get(6)?,
        packet,
        encoding,
        packet_text,
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

// --- HJ 212-2025 keys -------------------------------------------------------------------------------------------

const LIVE_KEY_COLUMNS: &str = "SELECT id, device_id, key_text, state, sk_created_at, created_at, issued_qn FROM hj212_keys \
     WHERE state IN ('current', 'pending', 'retired')";
/// Current first, then pending, then retired newest first: the order keys are tried in.
const LIVE_KEY_ORDER: &str = " ORDER BY device_id, CASE state WHEN 'current' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END, \
     COALESCE(valid_to, 0) DESC, id DESC";

/// A stored key as the gateway uses it; `None` for one that cannot be read (sealed under another master key,
/// or with none at hand: logged, since the device's encrypted packets will then be quarantined).
fn live_key(
    row: &sqlx::any::AnyRow,
    master: Option<&MasterKey>,
) -> Result<Option<LiveKey>, sqlx::Error> {
    let stored: String = row.try_get(2)?;
    let state: String = row.try_get(3)?;
    let text = if kernel::secrets::is_sealed(&stored) {
        let opened = master
            .ok_or(kernel::secrets::SecretError::DoesNotOpen)
            .and_then(|master| master.open(&stored, KEY_PURPOSE))
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
        match opened {
            Ok(text) => text,
            Err(e) => {
                let id: i64 = row.try_get(0)?;
                tracing::warn!(
                    "HJ 212 key #{id} cannot be used: {e}{}",
                    if master.is_none() {
                        " (no master key)"
                    } else {
                        ""
                    }
                );
                return Ok(None);
            }
        }
    } else {
        stored
    };
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
        keys.extend(live_key(row, db.master_key())?);
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

/// What device keys are sealed for (`kernel::secrets`: the associated data).
pub const KEY_PURPOSE: &str = "hj212_keys";

/// The text stored for a key: sealed under the master key when there is one, else the key itself.
fn stored_key_text(key_text: &str, master: Option<&MasterKey>) -> String {
    match master {
        Some(master) => master.seal(key_text.as_bytes(), KEY_PURPOSE),
        None => key_text.to_string(),
    }
}

pub async fn insert_key(
    conn: &mut AnyConnection,
    master: Option<&MasterKey>,
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
    .bind(stored_key_text(row.key_text, master))
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

// --- HJ 212-2025 onboarding: MNs assigned to data loggers ------------------------------------------------------

/// The assignment's own columns; the MN of its device comes from the registry (`devices::with_mns`).
const ASSIGNMENT_COLUMNS: &str = "a.id, a.logger_id, a.cpu_id, a.mac1, a.mac2, a.device_id, a.quarantine_id, \
     a.assigned_by, a.assigned_at, a.sent_at, a.sent_count, a.confirmed_at, a.superseded_at \
     FROM hj212_mn_assignments a";

fn assignment_row(row: &sqlx::any::AnyRow) -> Result<MnAssignment, sqlx::Error> {
    Ok(MnAssignment {
        id: row.try_get(0)?,
        logger_id: row.try_get(1)?,
        cpu_id: row.try_get(2)?,
        mac1: row.try_get(3)?,
        mac2: row.try_get(4)?,
        device_id: row.try_get(5)?,
        mn: String::new(),
        quarantine_id: row.try_get(6)?,
        assigned_by: row.try_get(7)?,
        assigned_at: row.try_get(8)?,
        sent_at: row.try_get(9)?,
        sent_count: row.try_get(10)?,
        confirmed_at: row.try_get(11)?,
        superseded_at: row.try_get(12)?,
    })
}

/// Assigns a logger the MN of `device_id`; an earlier assignment of the same logger is superseded.
pub async fn insert_assignment(
    conn: &mut AnyConnection,
    logger: &LoggerIds,
    device_id: i64,
    quarantine_id: Option<i64>,
    assigned_by: Option<i64>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "UPDATE hj212_mn_assignments SET superseded_at = $1 WHERE logger_id = $2 AND superseded_at IS NULL",
    )
    .bind(now)
    .bind(storable_text(&logger.logger_id).into_owned())
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar(
        "INSERT INTO hj212_mn_assignments (logger_id, cpu_id, mac1, mac2, device_id, quarantine_id, assigned_by, \
         assigned_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(storable_text(&logger.logger_id).into_owned())
    .bind(storable_opt(logger.cpu_id.as_deref()))
    .bind(storable_opt(logger.mac1.as_deref()))
    .bind(storable_opt(logger.mac2.as_deref()))
    .bind(device_id)
    .bind(quarantine_id)
    .bind(assigned_by)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
}

/// The logger's current assignment, if it has one.
pub async fn current_assignment(
    db: &Db,
    logger_id: &str,
) -> Result<Option<MnAssignment>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ASSIGNMENT_COLUMNS} WHERE a.logger_id = $1 AND a.superseded_at IS NULL"
    )))
    .bind(storable_text(logger_id).into_owned())
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(assignment_row).transpose()
}

/// Current assignments whose 1002 has not been sent yet.
pub async fn unsent_assignments(db: &Db) -> Result<Vec<MnAssignment>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ASSIGNMENT_COLUMNS} WHERE a.superseded_at IS NULL AND a.sent_at IS NULL ORDER BY a.id"
    )))
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(assignment_row).collect()
}

/// Devices with a current assignment no packet has confirmed yet.
pub async fn unconfirmed_assignment_devices(db: &Db) -> Result<HashSet<i64>, sqlx::Error> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT device_id FROM hj212_mn_assignments WHERE superseded_at IS NULL AND confirmed_at IS NULL",
    )
    .fetch_all(db.pool())
    .await?;
    Ok(ids.into_iter().collect())
}

/// Records a 1002 sent for an assignment.
pub async fn mark_assignment_sent(db: &Db, id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE hj212_mn_assignments SET sent_at = $1, sent_count = sent_count + 1 WHERE id = $2",
    )
    .bind(now)
    .bind(id)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// A packet was accepted under the MN of `device_id`: its current assignment is confirmed (also when no 1002
/// was needed, the logger having been given the MN by hand).
pub async fn confirm_assignment(db: &Db, device_id: i64, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE hj212_mn_assignments SET confirmed_at = $1 \
         WHERE device_id = $2 AND superseded_at IS NULL AND confirmed_at IS NULL",
    )
    .bind(now)
    .bind(device_id)
    .execute(db.writer())
    .await?;
    Ok(())
}

/// Assignments, current ones first, newest first.
pub async fn assignments(db: &Db, limit: i64) -> Result<Vec<MnAssignment>, sqlx::Error> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ASSIGNMENT_COLUMNS} ORDER BY CASE WHEN a.superseded_at IS NULL THEN 0 ELSE 1 END, a.id DESC \
         LIMIT $1"
    )))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(assignment_row).collect()
}

/// The assignment made when a device was registered from this quarantined 1001.
pub async fn assignment_for_quarantine(
    db: &Db,
    quarantine_id: i64,
) -> Result<Option<MnAssignment>, sqlx::Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ASSIGNMENT_COLUMNS} WHERE a.quarantine_id = $1 ORDER BY a.id DESC LIMIT 1"
    )))
    .bind(quarantine_id)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(assignment_row).transpose()
}

/// The devices that have a current key.
pub async fn devices_with_current_key(db: &Db) -> Result<HashSet<i64>, sqlx::Error> {
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT DISTINCT device_id FROM hj212_keys WHERE state = 'current'")
            .fetch_all(db.pool())
            .await?;
    Ok(ids.into_iter().collect())
}

/// A random key as a simulated device's current key, registered out of band (no user).
pub async fn insert_random_key(
    conn: &mut AnyConnection,
    master: Option<&MasterKey>,
    device_id: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let key = crate::service::generate_key();
    let text = String::from_utf8_lossy(&key).into_owned();
    insert_key(
        conn,
        master,
        &KeyRow {
            device_id,
            key_text: &text,
            fingerprint: &crate::model::fingerprint(&key),
            state: KeyState::Current,
            source: "registered",
            sk_created_at: now,
            issued_qn: None,
            created_by: None,
        },
        now,
    )
    .await
}

/// Seals the keys stored in clear (before sealing existed, or while no master key was at hand) under the
/// database's master key; returns how many. Nothing happens without a master key.
pub async fn seal_clear_keys(db: &Db) -> Result<usize, sqlx::Error> {
    let Some(master) = db.master_key() else {
        return Ok(0);
    };
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, key_text FROM hj212_keys ORDER BY id")
            .fetch_all(db.pool())
            .await?;
    let mut sealed = 0;
    for (id, text) in rows {
        if kernel::secrets::is_sealed(&text) {
            continue;
        }
        sqlx::query("UPDATE hj212_keys SET key_text = $1 WHERE id = $2 AND key_text = $3")
            .bind(master.seal(text.as_bytes(), KEY_PURPOSE))
            .bind(id)
            .bind(&text)
            .execute(db.writer())
            .await?;
        sealed += 1;
    }
    Ok(sealed)
}
