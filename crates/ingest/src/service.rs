//! What happens to one frame: checked against its device, then accepted as data (with the reply it is owed)
//! or quarantined. No I/O here: the connection looks the device up and hands the decision to the writer.

use hj212::packet::{PeriodKind, Suffix};
use hj212::{Frame, Packet, ProtocolVersion};
use readings::{DataFlag, Period};

use crate::model::{
    AcceptedPacket, Device, DeviceSeen, LoggerIds, QuarantineReason, QuarantinedPacket,
    StoredBytes, dedup_key, packet_key,
};

/// The outcome of checking a frame.
#[derive(Debug)]
pub enum Decision {
    /// Store it; once stored, send `reply` (a 9014/9013) when the packet asks for one.
    Accept {
        packet: Box<AcceptedPacket>,
        reply: Option<Vec<u8>>,
    },
    Quarantine(Box<QuarantinedPacket>),
    /// A 9015 heartbeat of a registered device: nothing to store but the device's state; `reply` is the 9013
    /// it asks for (Flag with the A bit), sent at once (there is nothing to commit first).
    Heartbeat {
        seen: DeviceSeen,
        reply: Option<Vec<u8>>,
    },
    /// A 9015 heartbeat of a logger that has no MN yet (HJ 212-2025): answered, nothing stored.
    Answer {
        reply: Option<Vec<u8>>,
    },
    /// A CN 1001 of a logger whose MN is not a registered device (empty before onboarding): answered with its
    /// 9013; the connection sends the 1002 when the logger has been assigned a device, and otherwise keeps
    /// `quarantined` for an operator to register the device from.
    Onboarding {
        logger: LoggerIds,
        request: OnboardingRequest,
        quarantined: Box<QuarantinedPacket>,
        reply: Option<Vec<u8>>,
    },
}

/// How to address the 1002 to a logger that asked with a 1001: as it spoke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnboardingRequest {
    pub st: String,
    pub pw: String,
    pub version: ProtocolVersion,
}

/// Bytes a logger id (each of `i23005-Info` to `i23008-Info`) may have. A real one is short — the logger id of
/// the HJ 212-2025 1001 (Appendix C2) as caoyiliang/HJ212 builds it has 24 characters, a CPU id or MAC 12 — and
/// 9 kB ids grew the database 18 MB in 12 s: a 1001 with a longer one is no onboarding request; it is
/// quarantined cut to [`CUT_PACKET_BYTES`].
pub const MAX_LOGGER_ID_BYTES: usize = 64;

/// What is kept of a quarantined 1001 whose logger ids are too long: its first bytes, enough to see what it is.
pub const CUT_PACKET_BYTES: usize = 256;

/// Characters of a quarantine entry's MN kept (a registered MN has 24 at most) and of its detail.
const MAX_MN_CHARS: usize = 64;
const MAX_DETAIL_CHARS: usize = 512;

/// The hardware ids of a CN 1001 (`None` for another CN, without `i23005-Info`, or with an id longer than
/// [`MAX_LOGGER_ID_BYTES`]).
pub fn logger_ids(packet: &Packet<'_>) -> Option<LoggerIds> {
    if packet.cn != 1001 || oversized_logger_id(packet).is_some() {
        return None;
    }
    let info = |code: &str| {
        packet
            .cp
            .items
            .iter()
            .find(|item| item.name == code)
            .map(|item| item.value.trim().to_string())
            .filter(|value| !value.is_empty())
    };
    Some(LoggerIds {
        logger_id: info("i23005-Info")?,
        cpu_id: info("i23006-Info"),
        mac1: info("i23007-Info"),
        mac2: info("i23008-Info"),
    })
}

/// The frame of a quarantined packet (stored as text or base64), when its bytes make one.
pub fn frame_of_entry(entry: &QuarantineEntry) -> Option<Frame> {
    let mut wire = crate::model::stored_packet_bytes(&entry.packet, &entry.encoding)?;
    while wire.last().is_some_and(u8::is_ascii_whitespace) {
        wire.pop();
    }
    wire.extend_from_slice(b"\r\n");
    hj212::frame::decode_all(&wire).into_iter().next()?.ok()
}

/// The length of the longest logger id of a CN 1001 when it is longer than [`MAX_LOGGER_ID_BYTES`].
fn oversized_logger_id(packet: &Packet<'_>) -> Option<usize> {
    packet
        .cp
        .items
        .iter()
        .filter(|item| {
            ["i23005-Info", "i23006-Info", "i23007-Info", "i23008-Info"].contains(&item.name)
        })
        .map(|item| item.value.trim().len())
        .max()
        .filter(|&len| len > MAX_LOGGER_ID_BYTES)
}

/// At most `max` characters of `text`, with `…` in place of the rest.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The hardware ids of a quarantined packet that is a CN 1001.
pub fn logger_of_entry(entry: &QuarantineEntry) -> Option<LoggerIds> {
    let frame = frame_of_entry(entry)?;
    logger_ids(&Packet::parse(frame.segment()).ok()?)
}

/// The 1002 that gives the logger `logger_id` the MN `mn`, addressed as the logger spoke (`qn`: now).
pub fn set_mn_command(
    request: &OnboardingRequest,
    logger_id: &str,
    mn: &str,
    qn: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<u8>, hj212::encode::EncodeError> {
    let target = hj212::encode::Target {
        st: &request.st,
        pw: &request.pw,
        mn,
        version: request.version,
    };
    hj212::encode::Command::SetMn { logger_id }.encode(&target, qn)
}

/// An MN to propose for a logger's device: 24 upper-case hex digits from the SHA-256 of its hardware ids.
/// HJ 212-2025 has the platform derive the MN from the CPU id and MAC; its exact rule was not available
/// (HJ 212-2025's text was not read), so this is only a proposal the operator may change.
pub fn proposed_mn(logger: &LoggerIds) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in [
        Some(logger.logger_id.as_str()),
        logger.cpu_id.as_deref(),
        logger.mac1.as_deref(),
    ] {
        hasher.update(part.unwrap_or("").as_bytes());
        hasher.update([0u8]);
    }
    hex::encode_upper(&hasher.finalize()[..12])
}

/// The MN from a segment's header, which HJ 212-2025 keeps in clear when the CP is encrypted (and which is
/// readable when the rest of the segment is not UTF-8).
pub fn header_mn(segment: &[u8]) -> Option<&str> {
    let header_end = segment
        .windows(5)
        .position(|w| w == b"CP=&&")
        .unwrap_or(segment.len());
    segment[..header_end]
        .split(|&b| b == b';' || b == b',')
        .filter_map(|field| std::str::from_utf8(field).ok())
        .map(str::trim)
        .find_map(|field| {
            let (key, value) = field.split_once('=')?;
            key.trim().eq_ignore_ascii_case("MN").then(|| value.trim())
        })
}

/// A frame that no key opened and that cannot be read as a packet: quarantined under its device when the
/// header names one (an SM4-encrypted packet of a device whose key the platform lacks lands here), else as
/// unreadable.
pub fn unopened(
    frame: &Frame,
    error: &hj212::PacketError,
    device: Option<&Device>,
    peer: &str,
    now: i64,
) -> Decision {
    let mn = header_mn(frame.segment());
    match (mn, device) {
        (Some(mn), None) if !mn.is_empty() => quarantine(
            frame,
            Some(mn),
            None,
            QuarantineReason::UnknownDevice,
            format!("MN {mn:?} is not a registered device ({error})"),
            peer,
            now,
        ),
        (Some(mn), Some(device)) => {
            let (reason, detail) = if !matches!(frame.crc_verdict(), hj212::CrcVerdict::Bad { .. })
            {
                (QuarantineReason::Unreadable, error.to_string())
            } else {
                (
                    QuarantineReason::BadCrc,
                    format!(
                        "CRC does not match and the segment cannot be read ({error}): SM4-encrypted with a key \
                         the platform does not have, or corrupted"
                    ),
                )
            };
            quarantine(frame, Some(mn), Some(device.id), reason, detail, peer, now)
        }
        _ => unreadable(frame, error, peer, now),
    }
}

/// A frame whose segment is not a packet at all (no device can be named).
pub fn unreadable(frame: &Frame, error: &hj212::PacketError, peer: &str, now: i64) -> Decision {
    quarantine(
        frame,
        None,
        None,
        QuarantineReason::Unreadable,
        error.to_string(),
        peer,
        now,
    )
}

fn quarantine(
    frame: &Frame,
    mn: Option<&str>,
    device_id: Option<i64>,
    reason: QuarantineReason,
    detail: String,
    peer: &str,
    now: i64,
) -> Decision {
    quarantine_cut(
        frame,
        frame.raw().len(),
        mn,
        device_id,
        reason,
        detail,
        peer,
        now,
    )
}

/// [`quarantine`] keeping the first `keep` bytes of the frame (deduplicated by all of them); the MN and the
/// detail are clipped (a device chooses their length).
#[allow(clippy::too_many_arguments)]
fn quarantine_cut(
    frame: &Frame,
    keep: usize,
    mn: Option<&str>,
    device_id: Option<i64>,
    reason: QuarantineReason,
    detail: String,
    peer: &str,
    now: i64,
) -> Decision {
    let raw = frame.raw();
    Decision::Quarantine(Box::new(QuarantinedPacket {
        received_at: now,
        peer: peer.to_string(),
        mn: mn.map(|mn| clip(mn, MAX_MN_CHARS)),
        device_id,
        reason,
        detail: clip(&detail, MAX_DETAIL_CHARS),
        bytes: StoredBytes::of(&raw[..keep.min(raw.len())]),
        dedup_key: dedup_key(mn.unwrap_or(""), raw),
    }))
}

/// Checks a parsed packet against the registry's record of its MN (`None`: not registered).
pub fn decide(
    frame: &Frame,
    packet: &Packet<'_>,
    device: Option<&Device>,
    peer: &str,
    now: i64,
) -> Decision {
    decide_opened(frame, frame, None, packet, device, peer, now)
}

/// [`decide`] for a frame that may have been decrypted: `received` is the frame as it came (stored as
/// evidence, deduplicated by), `frame` the plaintext `packet` was parsed from (whose CRC is judged), `key_id`
/// the key that opened it.
pub fn decide_opened(
    received: &Frame,
    frame: &Frame,
    key_id: Option<i64>,
    packet: &Packet<'_>,
    device: Option<&Device>,
    peer: &str,
    now: i64,
) -> Decision {
    let mn = packet.mn.unwrap_or("");
    let Some(device) = device else {
        let reply = || hj212::encode::reply_to(packet).and_then(Result::ok);
        if mn.is_empty() && packet.cn == 9015 {
            return Decision::Answer { reply: reply() };
        }
        if packet.cn == 1001
            && let Some(len) = oversized_logger_id(packet)
        {
            let keep = CUT_PACKET_BYTES.min(received.raw().len());
            return quarantine_cut(
                received,
                keep,
                Some(mn),
                None,
                QuarantineReason::UnknownDevice,
                format!(
                    "CN 1001 with a logger id of {len} bytes (more than {MAX_LOGGER_ID_BYTES}): not an onboarding \
                     request; packet cut to its first {keep} of {} bytes",
                    received.raw().len()
                ),
                peer,
                now,
            );
        }
        let detail = if mn.is_empty() {
            "no MN: a data logger not yet onboarded".to_string()
        } else {
            format!("MN {mn:?} is not a registered device")
        };
        let quarantined = quarantine(
            received,
            Some(mn),
            None,
            QuarantineReason::UnknownDevice,
            detail,
            peer,
            now,
        );
        return match (logger_ids(packet), quarantined) {
            (Some(logger), Decision::Quarantine(quarantined)) => Decision::Onboarding {
                logger,
                request: OnboardingRequest {
                    st: packet.st.unwrap_or("32").to_string(),
                    pw: packet.pw.unwrap_or("").to_string(),
                    version: packet.version(),
                },
                quarantined,
                reply: reply(),
            },
            (_, decision) => decision,
        };
    };
    if !device.active {
        return quarantine(
            received,
            Some(mn),
            Some(device.id),
            QuarantineReason::InactiveDevice,
            "the device is registered as inactive".to_string(),
            peer,
            now,
        );
    }
    // CRC before password: with a corrupted segment the password field may be what got corrupted.
    let verdict = frame.crc_verdict();
    if !device.crc_mode.accepts(verdict) {
        let detail = match verdict {
            hj212::CrcVerdict::Bad { expected, found } => format!(
                "CRC {} where {expected:04X} was expected{}",
                found.map_or_else(|| "not hex".to_string(), |f| format!("{f:04X}")),
                if device.protocol == "2025" {
                    " (or SM4-encrypted with a key the platform does not have)"
                } else {
                    ""
                }
            ),
            _ => format!(
                "CRC verdict {} refused by the device's mode {:?}",
                verdict.label(),
                device.crc_mode
            ),
        };
        return quarantine(
            received,
            Some(mn),
            Some(device.id),
            QuarantineReason::BadCrc,
            detail,
            peer,
            now,
        );
    }
    if packet.pw.unwrap_or("") != device.password {
        return quarantine(
            received,
            Some(mn),
            Some(device.id),
            QuarantineReason::WrongPassword,
            "PW does not match the registered password".to_string(),
            peer,
            now,
        );
    }
    let version = packet.version();
    let warning = (version_label(version) != device.protocol).then(|| {
        format!(
            "packet speaks HJ 212-{} but the device is registered as {}",
            version_label(version),
            device.protocol
        )
    });
    let data_time = packet.data_time().map(|t| t.timestamp());
    let clock_drift_seconds = packet.qn_time().map(|t| t.timestamp() - now).or_else(|| {
        (packet.period() == Some(PeriodKind::RealTime))
            .then_some(data_time)
            .flatten()
            .map(|t| t - now)
    });
    let reply = hj212::encode::reply_to(packet).and_then(Result::ok);
    if packet.cn == 9015 {
        return Decision::Heartbeat {
            seen: DeviceSeen {
                device_id: device.id,
                peer: peer.to_string(),
                at: now,
                clock_drift_seconds,
            },
            reply,
        };
    }
    Decision::Accept {
        packet: Box::new(AcceptedPacket {
            received_at: now,
            peer: peer.to_string(),
            device_id: device.id,
            point_id: device.point_id,
            mn: mn.to_string(),
            cn: i64::from(packet.cn),
            qn: packet.qn.map(str::to_string),
            data_time,
            bytes: StoredBytes::of(received.raw()),
            crc: verdict.label(),
            dedup_key: packet_key(data_time, mn, received.raw()),
            readings: readings_of(packet, device.point_id),
            clock_drift_seconds,
            warning,
            key_id,
        }),
        reply,
    }
}

fn version_label(version: ProtocolVersion) -> &'static str {
    match version {
        ProtocolVersion::Hj2005 => "2005",
        ProtocolVersion::Hj2017 => "2017",
        ProtocolVersion::Hj2025 => "2025",
        ProtocolVersion::Unknown(_) => "unknown",
    }
}

/// The values the readings store keeps: `-Rtd` of real-time uploads, `-Avg` of minute, hour and day uploads
/// (the store holds one value per factor and period; `-Min`, `-Max`, `-Cou` stay in the stored packet).
/// Codes the store cannot hold and non-finite numbers are left to the packet as well.
pub fn readings_of(packet: &Packet<'_>, point_id: i64) -> Vec<readings::Reading> {
    let Some(kind) = packet.period() else {
        return Vec::new();
    };
    let (period, wanted) = match kind {
        PeriodKind::RealTime => (Period::Rtd, Suffix::Rtd),
        PeriodKind::Minute => (Period::Minute, Suffix::Avg),
        PeriodKind::Hour => (Period::Hour, Suffix::Avg),
        PeriodKind::Day => (Period::Day, Suffix::Avg),
    };
    packet
        .readings()
        .into_iter()
        .filter(|r| r.suffix == wanted)
        .filter(|r| readings::factors::is_plausible_code(r.factor))
        .filter(|r| r.value.is_none_or(f64::is_finite))
        .filter_map(|r| {
            Some(readings::Reading {
                point_id,
                factor: r.factor.to_string(),
                ts: r.data_time?.timestamp(),
                period,
                value: r.value,
                flag: r.flag.map(DataFlag::from).unwrap_or_default(),
            })
        })
        .collect()
}

// --- Sub-packets (D bit, PNUM/PNO) ------------------------------------------------------------------------------

/// Groups of sub-packets followed across the gateway, by device, command, DataTime and PNUM (`hj212::reassembly`).
///
/// Each part is checked, stored with its own values and acknowledged on its own once committed, as the
/// standard asks: holding a part's values until its group completes would either acknowledge uncommitted data
/// or, after a restart, lose values of parts already acknowledged (the device does not send those again). What
/// the groups add is completeness: a group still missing parts after `timeout` (or pushed out by newer groups)
/// is reported as an error in its device's state, naming the parts that came.
pub struct SubPackets {
    reassembler: hj212::reassembly::Reassembler,
    timeout: i64,
}

impl SubPackets {
    pub fn new(max_groups: usize, timeout_seconds: i64) -> SubPackets {
        SubPackets {
            reassembler: hj212::reassembly::Reassembler::new(max_groups),
            timeout: timeout_seconds.max(0),
        }
    }

    pub fn pending_groups(&self) -> usize {
        self.reassembler.pending_groups()
    }

    /// Offers an accepted packet received at `now` (whole packets pass untouched); returns the groups given
    /// up on meanwhile as (MN, message).
    pub fn offer(&mut self, packet: &Packet<'_>, now: i64) -> Vec<(String, String)> {
        let at = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
        let mut given_up = Vec::new();
        if packet.is_subpacket() {
            let (offer, evicted) = self.reassembler.offer(packet, at);
            given_up.extend(evicted);
            if offer == hj212::reassembly::Offer::Invalid {
                let mn = packet.mn.unwrap_or("").to_string();
                let message = format!(
                    "sub-packet with PNUM {:?} and PNO {:?} cannot belong to any group",
                    packet.pnum, packet.pno
                );
                return vec![(mn, message)];
            }
        }
        let cutoff = at - chrono::Duration::seconds(self.timeout);
        given_up.extend(self.reassembler.expire(cutoff));
        given_up
            .into_iter()
            .map(|group| {
                let received: Vec<String> = group.received.iter().map(u32::to_string).collect();
                let message = format!(
                    "sub-packets of CN {} DataTime {} incomplete: parts {} of {} received",
                    group.key.cn,
                    if group.key.data_time.is_empty() {
                        "—"
                    } else {
                        &group.key.data_time
                    },
                    received.join(","),
                    group.key.pnum
                );
                (group.key.mn, message)
            })
            .collect()
    }
}

// --- Operators: keys and quarantine review --------------------------------------------------------------------

use kernel::audit::{self, AuditEntry};
use kernel::{Action, AppError, AppResult, Db, Principal};

use crate::model::{KeyInfo, KeyState, NewKey, QuarantineEntry, fingerprint};
use crate::repo;

/// Keys and the quarantine are for those who keep the devices: the monitoring department and administrators.
pub fn require_operator(principal: &Principal) -> AppResult<()> {
    principal.require(registry::DEVICE, Action::Update)
}

async fn device_exists(conn: &mut sqlx::AnyConnection, device_id: i64) -> AppResult<()> {
    match registry::service::device_in(conn, device_id).await? {
        Some(_) => Ok(()),
        None => Err(AppError::not_found(format!("device {device_id} not found"))),
    }
}

/// A device's keys, by fingerprint.
pub async fn list_keys(db: &Db, principal: &Principal, device_id: i64) -> AppResult<Vec<KeyInfo>> {
    require_operator(principal)?;
    let mut conn = db.pool().acquire().await.map_err(anyhow::Error::from)?;
    device_exists(&mut conn, device_id).await?;
    Ok(repo::key_infos(&mut conn, device_id)
        .await
        .map_err(anyhow::Error::from)?)
}

/// Registers a key entered by an operator as the device's current key (the initial key, or one replaced out of
/// band): the previous current key is retired (still tried on packets), a pending rotation abandoned. Audited
/// with the fingerprint only. The gateway uses it after its next directory refresh.
pub async fn register_key(
    db: &Db,
    principal: &Principal,
    device_id: i64,
    input: &NewKey,
    now: i64,
) -> AppResult<KeyInfo> {
    require_operator(principal)?;
    let key = hj212::sm4::key_from_text(input.key.trim_matches(|c| c == ' '))
        .ok_or_else(|| AppError::validation("key", "must be exactly 16 ASCII characters"))?;
    hj212::keys::validate_key(&key).map_err(|e| AppError::validation("key", e.to_string()))?;
    let sk_created_at = match input.sk_created_at.as_deref().map(str::trim) {
        None | Some("") => now,
        Some(text) => hj212::time::parse_cst(text)
            .map(|t| t.timestamp())
            .ok_or_else(|| {
                AppError::validation("sk_created_at", "YYYYMMDDhhmmss in China Standard Time")
            })?,
    };
    let print = fingerprint(&key);
    let key_text = String::from_utf8_lossy(&key).into_owned();
    let mut tx = db.begin_write().await.map_err(anyhow::Error::from)?;
    device_exists(&mut tx, device_id).await?;
    if repo::key_known(&mut tx, device_id, &print)
        .await
        .map_err(anyhow::Error::from)?
    {
        return Err(AppError::validation(
            "key",
            "this key was already used by the device",
        ));
    }
    let id = repo::insert_key(
        &mut tx,
        db.master_key(),
        &repo::KeyRow {
            device_id,
            key_text: &key_text,
            fingerprint: &print,
            state: KeyState::Current,
            source: "registered",
            sk_created_at,
            issued_qn: None,
            created_by: Some(principal.user_id),
        },
        now,
    )
    .await
    .map_err(anyhow::Error::from)?;
    let info = repo::key_infos(&mut tx, device_id)
        .await
        .map_err(anyhow::Error::from)?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or_else(|| AppError::not_found("key"))?;
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "create", "hj212_key", id)
            .summary(format!(
                "登记设备 {device_id} 的 SM4 密钥（指纹 {print}），原密钥停用"
            ))
            .after(&info),
    )
    .await
    .map_err(anyhow::Error::from)?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok(info)
}

fn entry_not_found(id: i64) -> AppError {
    AppError::not_found(format!("quarantine entry {id} not found"))
}

/// One quarantined packet.
pub async fn quarantine_entry(
    db: &Db,
    principal: &Principal,
    id: i64,
) -> AppResult<QuarantineEntry> {
    require_operator(principal)?;
    let mut conn = db.pool().acquire().await.map_err(anyhow::Error::from)?;
    repo::quarantine_entry_by_id(&mut conn, id)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(|| entry_not_found(id))
}

/// Dismisses a quarantined packet with a reason (it stays listed, as reviewed). A reviewed entry is a 409.
pub async fn dismiss(
    db: &Db,
    principal: &Principal,
    id: i64,
    reason: &str,
    now: i64,
) -> AppResult<QuarantineEntry> {
    require_operator(principal)?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::validation(
            "reason",
            "is required (at most 500 characters)",
        ));
    }
    let mut tx = db.begin_write().await.map_err(anyhow::Error::from)?;
    let before = repo::quarantine_entry_by_id(&mut tx, id)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(|| entry_not_found(id))?;
    if !repo::review_quarantine(
        &mut tx,
        id,
        principal.user_id,
        "dismissed",
        Some(reason),
        None,
        now,
    )
    .await
    .map_err(anyhow::Error::from)?
    {
        return Err(AppError::Conflict(
            "this entry has already been reviewed".into(),
        ));
    }
    let after = repo::quarantine_entry_by_id(&mut tx, id)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(|| entry_not_found(id))?;
    audit::record(
        &mut *tx,
        &AuditEntry::by(principal, "dismiss", "hj212_quarantine", id)
            .summary(format!("隔离报文 #{id} 审核：不予登记（{reason}）"))
            .before(&review_view(&before))
            .after(&review_view(&after)),
    )
    .await
    .map_err(anyhow::Error::from)?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok(after)
}

/// What the audit log keeps of an entry: not the packet (it may carry a password).
fn review_view(entry: &QuarantineEntry) -> serde_json::Value {
    serde_json::json!({
        "id": entry.id,
        "mn": entry.mn,
        "reason": entry.reason,
        "reviewed_by": entry.reviewed_by,
        "reviewed_at": entry.reviewed_at,
        "review_outcome": entry.review_outcome,
        "review_note": entry.review_note,
        "registered_device_id": entry.registered_device_id,
    })
}

/// Registers the device a quarantined packet came from, through the registry's own service (its checks, its
/// audit entry), and marks the entry reviewed. An empty MN in `input` takes the entry's. The device's next
/// sends are accepted once the gateway has re-read the registry (the quarantined packets were never
/// acknowledged, so the device sends them again).
pub async fn register_from(
    db: &Db,
    principal: &Principal,
    id: i64,
    mut input: registry::model::DeviceInput,
    now: i64,
) -> AppResult<(QuarantineEntry, registry::model::Device)> {
    require_operator(principal)?;
    principal.require(registry::DEVICE, Action::Create)?;
    let entry = quarantine_entry(db, principal, id).await?;
    if entry.reviewed_at.is_some() {
        return Err(AppError::Conflict(
            "this entry has already been reviewed".into(),
        ));
    }
    if input.mn.trim().is_empty() {
        input.mn = entry.mn.clone().unwrap_or_default();
    }
    let device = registry::service::create_device(db, principal, &input).await?;
    let logger = logger_of_entry(&entry);
    let mut tx = db.begin_write().await.map_err(anyhow::Error::from)?;
    if let Some(logger) = &logger {
        // A 1001: the logger is given the new device's MN with a 1002 when it is next connected.
        repo::insert_assignment(
            &mut tx,
            logger,
            device.id,
            Some(id),
            Some(principal.user_id),
            now,
        )
        .await
        .map_err(anyhow::Error::from)?;
    }
    let marked = repo::review_quarantine(
        &mut tx,
        id,
        principal.user_id,
        "registered",
        None,
        Some(device.id),
        now,
    )
    .await
    .map_err(anyhow::Error::from)?;
    let after = repo::quarantine_entry_by_id(&mut tx, id)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(|| entry_not_found(id))?;
    if marked {
        audit::record(
            &mut *tx,
            &AuditEntry::by(principal, "register", "hj212_quarantine", id)
                .summary(match &logger {
                    Some(logger) => format!(
                        "隔离报文 #{id} 审核：登记设备 MN {}，经 1002 下发给数采仪 {}",
                        device.mn, logger.logger_id
                    ),
                    None => format!("隔离报文 #{id} 审核：登记设备 MN {}", device.mn),
                })
                .before(&review_view(&entry))
                .after(&review_view(&after)),
        )
        .await
        .map_err(anyhow::Error::from)?;
    }
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok((after, device))
}

// --- Key rotation by the gateway (HJ 212-2025 1014) -------------------------------------------------------------

/// A rotation is started this long before the current key's 90 days are up.
pub const ROTATION_MARGIN_DAYS: i64 = 7;
/// A 1014 the device has not confirmed within this time is given up and a new key issued at its next packet.
pub const PENDING_TIMEOUT_SECONDS: i64 = 3600;

/// What the gateway does about a device's keys after accepting one of its packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStep {
    Nothing,
    /// Issue a new key with 1014 (the device asked with its own 1014, or the current key is due).
    Issue,
    /// The device answered the pending key's 1014 with 9012: `ExeRtn=1` confirms it, anything else refuses it.
    Answer {
        key_id: i64,
        confirmed: bool,
    },
}

/// Decides from a packet and the device's live keys (in trying order) what to do about its keys. Only
/// HJ 212-2025 packets and devices that have a current key take part: the initial key is registered out of
/// band, and a new key is only ever sent encrypted with the current one.
pub fn key_step(packet: &Packet<'_>, keys: &[crate::model::LiveKey], now: i64) -> KeyStep {
    use crate::model::KeyState;
    let pending = keys.iter().find(|k| k.state == KeyState::Pending);
    if packet.cn == 9012
        && let Some(pending) = pending
        && pending.issued_qn.is_some()
        && pending.issued_qn.as_deref() == packet.request_qn()
    {
        return KeyStep::Answer {
            key_id: pending.id,
            confirmed: packet.cp.param("ExeRtn").map(str::trim) == Some("1"),
        };
    }
    if packet.version() != ProtocolVersion::Hj2025 {
        return KeyStep::Nothing;
    }
    let Some(current) = keys.iter().find(|k| k.state == KeyState::Current) else {
        return KeyStep::Nothing;
    };
    if pending.is_some_and(|p| now - p.created_at < PENDING_TIMEOUT_SECONDS) {
        return KeyStep::Nothing;
    }
    let due_at =
        current.sk_created_at + (hj212::keys::KEY_LIFETIME_DAYS - ROTATION_MARGIN_DAYS) * 86_400;
    if packet.cn == 1014 || now >= due_at {
        KeyStep::Issue
    } else {
        KeyStep::Nothing
    }
}

/// A fresh key: 16 characters from `[0-9A-Za-z]` drawn from the operating system's generator (about 95 bits),
/// checked against the standard's rule on fixed or patterned keys.
pub fn generate_key() -> hj212::sm4::Sm4Key {
    use rand::RngCore;
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    loop {
        let mut key = [0u8; 16];
        let mut filled = 0;
        while filled < key.len() {
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            // 248 = 4 × 62: rejecting the rest keeps every character equally likely.
            for byte in bytes.into_iter().filter(|&b| b < 248) {
                if filled < key.len() {
                    key[filled] = ALPHABET[usize::from(byte % 62)];
                    filled += 1;
                }
            }
        }
        if hj212::keys::validate_key(&key).is_ok() {
            return key;
        }
    }
}

/// Issues a new key to a device: stores it as pending (durably, audited by fingerprint) before the 1014 that
/// carries it is built, so that a key the device may adopt is never lost; returns the 1014, encrypted with the
/// current key (it carries a secret; HJ 212-2025 lists 1014 among the encrypted commands).
pub async fn issue_key(
    db: &Db,
    device: &Device,
    st: &str,
    current: &hj212::sm4::Sm4Key,
    now: i64,
) -> anyhow::Result<Vec<u8>> {
    let key = generate_key();
    let created = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
    let qn = hj212::time::format_cst_millis(created);
    let target = hj212::encode::Target {
        st,
        pw: &device.password,
        mn: &device.mn,
        version: ProtocolVersion::Hj2025,
    };
    let command = hj212::encode::Command::SetKey { created, key: &key }.encode(&target, created)?;
    let wire = hj212::sm4::encrypt_packet(current, &command)
        .ok_or_else(|| anyhow::anyhow!("the 1014 has no CP region to encrypt"))?;
    let print = fingerprint(&key);
    let key_text = String::from_utf8_lossy(&key).into_owned();
    let mut tx = db.begin_write().await?;
    let id = repo::insert_key(
        &mut tx,
        db.master_key(),
        &repo::KeyRow {
            device_id: device.id,
            key_text: &key_text,
            fingerprint: &print,
            state: KeyState::Pending,
            source: "rotation",
            sk_created_at: now,
            issued_qn: Some(&qn),
            created_by: None,
        },
        now,
    )
    .await?;
    audit::record(
        &mut *tx,
        &AuditEntry::system("hj212-gateway", "issue", "hj212_key", id)
            .summary(format!("向设备 MN {} 下发新密钥（1014，指纹 {print}），待设备确认", device.mn))
            .after(&serde_json::json!({"device_id": device.id, "fingerprint": print, "state": "pending", "qn": qn})),
    )
    .await?;
    tx.commit().await?;
    Ok(wire)
}

/// Records the device's answer to a 1014: the pending key becomes current (the old one retired), or is
/// abandoned. Audited.
pub async fn answer_key(
    db: &Db,
    device: &Device,
    key_id: i64,
    confirmed: bool,
    now: i64,
) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    let changed = if confirmed {
        repo::confirm_key(&mut tx, key_id, now).await?
    } else {
        repo::abandon_key(&mut tx, key_id).await?
    };
    if changed {
        let (action, summary) = if confirmed {
            (
                "confirm",
                format!("设备 MN {} 确认新密钥（9012），原密钥停用", device.mn),
            )
        } else {
            (
                "abandon",
                format!("设备 MN {} 拒绝新密钥（9012），继续使用原密钥", device.mn),
            )
        };
        audit::record(
            &mut *tx,
            &AuditEntry::system("hj212-gateway", action, "hj212_key", key_id)
                .summary(summary)
                .after(&serde_json::json!({"device_id": device.id, "confirmed": confirmed})),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hj212::FrameDecoder;

    fn frame_of(text: &str) -> Frame {
        let mut decoder = FrameDecoder::new();
        decoder.push(text.as_bytes());
        decoder.push(b"\r\n");
        decoder
            .next_frame()
            .expect("a frame")
            .expect("a good frame")
    }

    fn encoded(cp: &str, pw: &str, flag: u8) -> String {
        let header = hj212::encode::Header {
            qn: Some("20260101120000000"),
            st: "22",
            cn: 2051,
            pw,
            mn: "MN0001",
            flag: Some(flag),
            subpacket: None,
            backfill: false,
        };
        String::from_utf8(hj212::encode::encode(&header, cp).expect("encodes")).expect("ascii")
    }

    fn device() -> Device {
        Device {
            id: 7,
            mn: "MN0001".into(),
            password: "123456".into(),
            protocol: "2017".into(),
            crc_mode: hj212::CrcMode::Strict,
            point_id: 3,
            active: true,
        }
    }

    #[test]
    fn minute_upload_becomes_avg_readings_with_a_9014() {
        let text = encoded(
            "DataTime=20260101115900;a21026-Avg=12.5,a21026-Max=20,a21026-Flag=N;a34013-Avg=3.1,a34013-Flag=D",
            "123456",
            5,
        );
        let frame = frame_of(text.trim_end());
        let packet = Packet::parse(frame.segment()).expect("parses");
        let Decision::Accept { packet, reply } =
            decide(&frame, &packet, Some(&device()), "peer", 1_767_240_000)
        else {
            panic!("accepted expected");
        };
        let reply = String::from_utf8(reply.expect("a reply")).expect("ascii");
        assert!(reply.contains("CN=9014"), "{reply}");
        assert_eq!(packet.readings.len(), 2);
        assert_eq!(packet.readings[0].factor, "a21026");
        assert_eq!(packet.readings[0].value, Some(12.5));
        assert_eq!(packet.readings[1].flag, DataFlag::D);
        assert_eq!(packet.readings[0].ts, 1_767_239_940);
        // QN 12:00:00 CST = 04:00:00 UTC = 1767240000.
        assert_eq!(packet.clock_drift_seconds, Some(0));
        assert_eq!(packet.warning, None);
    }

    #[test]
    fn a_1001_without_mn_is_onboarding_and_the_1002_matches_the_reference() {
        // HJ 212-2025 Appendix C: the 1001 and 1002 as caoyiliang/HJ212 builds them.
        let wire = "##0174QN=20240601085857223;ST=32;CN=1001;PW=123456;MN=;Flag=9;CP=&&i23005-Info=6970000000001ABCDEFG1234;i23006-Info=A800200A8C6D;i23007-Info=E86A643C7BBC;i23008-Info=A763742C1AE1&&F141";
        let frame = frame_of(wire);
        assert_eq!(frame.crc_verdict(), hj212::CrcVerdict::Ok);
        let packet = Packet::parse(frame.segment()).expect("parses");
        let Decision::Onboarding {
            logger,
            request,
            quarantined,
            reply,
        } = decide(&frame, &packet, None, "p", 0)
        else {
            panic!("onboarding expected");
        };
        assert_eq!(
            logger,
            LoggerIds {
                logger_id: "6970000000001ABCDEFG1234".into(),
                cpu_id: Some("A800200A8C6D".into()),
                mac1: Some("E86A643C7BBC".into()),
                mac2: Some("A763742C1AE1".into()),
            }
        );
        assert_eq!(quarantined.reason, QuarantineReason::UnknownDevice);
        let reply = String::from_utf8(reply.expect("a 9013")).unwrap();
        assert!(
            reply.contains("CN=9013") && reply.contains("QN=20240601085857223"),
            "{reply}"
        );
        let qn = hj212::time::parse_qn("20240601085857223").unwrap();
        let command = set_mn_command(&request, &logger.logger_id, "010000A8900016F000169DC0", qn)
            .expect("encodes");
        assert_eq!(
            String::from_utf8(command).unwrap(),
            "##0123QN=20240601085857223;ST=32;CN=1002;PW=123456;MN=010000A8900016F000169DC0;Flag=9;CP=&&i23005-Info=6970000000001ABCDEFG1234&&6FC0\r\n"
        );
        let proposed = proposed_mn(&logger);
        assert_eq!(proposed.len(), 24);
        assert!(
            proposed
                .chars()
                .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))
        );
        assert_eq!(
            proposed,
            proposed_mn(&logger),
            "the same logger gets the same proposal"
        );

        // A heartbeat without MN is answered and nothing else.
        let header = hj212::encode::Header {
            qn: Some("20240601085857000"),
            st: "32",
            cn: 9015,
            pw: "123456",
            mn: "",
            flag: Some(9),
            subpacket: None,
            backfill: false,
        };
        let beat = hj212::encode::encode(&header, "").unwrap();
        let frame = frame_of(std::str::from_utf8(&beat).unwrap().trim_end());
        let packet = Packet::parse(frame.segment()).expect("parses");
        let Decision::Answer { reply: Some(reply) } = decide(&frame, &packet, None, "p", 0) else {
            panic!("an answer expected");
        };
        assert!(String::from_utf8(reply).unwrap().contains("CN=9013"));
    }

    #[test]
    fn unknown_device_wrong_password_and_bad_crc_are_quarantined() {
        let text = encoded("DataTime=20260101115900;a21026-Avg=12.5", "999999", 5);
        let frame = frame_of(text.trim_end());
        let packet = Packet::parse(frame.segment()).expect("parses");
        let reason = |d: Decision| match d {
            Decision::Quarantine(q) => q.reason,
            _ => panic!("quarantine expected"),
        };
        assert_eq!(
            reason(decide(&frame, &packet, None, "p", 0)),
            QuarantineReason::UnknownDevice
        );
        assert_eq!(
            reason(decide(&frame, &packet, Some(&device()), "p", 0)),
            QuarantineReason::WrongPassword
        );
        let mut corrupted = text.trim_end().to_string();
        corrupted.replace_range(corrupted.len() - 4.., "0000");
        let frame = frame_of(&corrupted);
        let packet = Packet::parse(frame.segment()).expect("parses");
        assert_eq!(
            reason(decide(&frame, &packet, Some(&device()), "p", 0)),
            QuarantineReason::BadCrc
        );
        let inactive = Device {
            active: false,
            ..device()
        };
        assert_eq!(
            reason(decide(&frame, &packet, Some(&inactive), "p", 0)),
            QuarantineReason::InactiveDevice
        );
    }

    #[test]
    fn incomplete_sub_packet_groups_are_reported_once_given_up() {
        let part = |pno: u32, data_time: &str| {
            format!(
                "QN=2026010112000000{pno};ST=31;CN=2051;PW=123456;MN=MN0001;Flag=7;PNUM=3;PNO={pno};CP=&&DataTime={data_time};a21026-Avg=1&&"
            )
        };
        let (p1, p3) = (part(1, "20260101115900"), part(3, "20260101115900"));
        let other = part(1, "20260101120000");
        let whole = "QN=20260101120000000;ST=31;CN=2051;PW=123456;MN=MN0001;Flag=5;CP=&&DataTime=20260101120000;a21026-Avg=1&&";
        let mut groups = SubPackets::new(8, 600);
        assert!(
            groups
                .offer(&Packet::parse_str(&p1).unwrap(), 1_000)
                .is_empty()
        );
        assert!(
            groups
                .offer(&Packet::parse_str(&p3).unwrap(), 1_010)
                .is_empty()
        );
        assert!(
            groups
                .offer(&Packet::parse_str(&other).unwrap(), 1_020)
                .is_empty()
        );
        assert_eq!(groups.pending_groups(), 2);
        // Ten minutes after the first group began, the next packet (even a whole one) gives up on it.
        let given_up = groups.offer(&Packet::parse_str(whole).unwrap(), 1_601);
        assert_eq!(
            given_up,
            vec![(
                "MN0001".to_string(),
                "sub-packets of CN 2051 DataTime 20260101115900 incomplete: parts 1,3 of 3 received"
                    .to_string()
            )]
        );
        assert_eq!(groups.pending_groups(), 1);
        let invalid = "ST=31;CN=2051;MN=MN0001;Flag=7;PNUM=2;PNO=5;CP=&&DataTime=20260101120000&&";
        assert_eq!(
            groups
                .offer(&Packet::parse_str(invalid).unwrap(), 1_602)
                .len(),
            1
        );
        // One group at most: a new group pushes the oldest out, reported.
        let mut small = SubPackets::new(1, 600);
        small.offer(&Packet::parse_str(&p1).unwrap(), 1_000);
        let pushed = small.offer(&Packet::parse_str(&other).unwrap(), 1_001);
        assert_eq!(pushed.len(), 1);
        assert!(pushed[0].1.contains("parts 1 of 3"));
    }

    #[test]
    fn protocol_mismatch_is_accepted_with_a_warning() {
        let text = encoded("DataTime=20260101115900;a21026-Avg=1", "123456", 9);
        let frame = frame_of(text.trim_end());
        let packet = Packet::parse(frame.segment()).expect("parses");
        let Decision::Accept { packet, .. } = decide(&frame, &packet, Some(&device()), "p", 0)
        else {
            panic!("accepted expected");
        };
        assert!(packet.warning.expect("a warning").contains("2025"));
    }
}
