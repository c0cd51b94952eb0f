//! What the gateway knows about devices and keeps about packets.

use hj212::CrcMode;
use serde::Serialize;

/// A registered device as the gateway checks it (`devices` table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: i64,
    pub mn: String,
    pub password: String,
    /// `2005`, `2017` or `2025`.
    pub protocol: String,
    pub crc_mode: CrcMode,
    pub point_id: i64,
    pub active: bool,
}

/// Reads the registry's spelling (`accept_variant`) and the protocol crate's (`accept-variant`).
pub fn parse_crc_mode(text: &str) -> CrcMode {
    CrcMode::parse(&text.replace('_', "-")).unwrap_or_default()
}

/// Why a packet was kept out of the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineReason {
    UnknownDevice,
    InactiveDevice,
    WrongPassword,
    BadCrc,
    /// The data segment could not be read as a packet (not UTF-8, no CN, no CP).
    Unreadable,
}

impl QuarantineReason {
    pub fn as_str(self) -> &'static str {
        match self {
            QuarantineReason::UnknownDevice => "unknown_device",
            QuarantineReason::InactiveDevice => "inactive_device",
            QuarantineReason::WrongPassword => "wrong_password",
            QuarantineReason::BadCrc => "bad_crc",
            QuarantineReason::Unreadable => "unreadable",
        }
    }
}

/// The bytes of a packet as stored: text when it is UTF-8 without NUL (HJ 212 is ASCII), else base64 — so that
/// any byte a device sends survives storage: PostgreSQL refuses NUL in text ("invalid byte sequence for
/// encoding UTF8: 0x00"), and one refused row used to fail the whole batch of every device with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBytes {
    pub text: String,
    /// `utf8` or `base64`.
    pub encoding: &'static str,
}

impl StoredBytes {
    pub fn of(bytes: &[u8]) -> StoredBytes {
        match std::str::from_utf8(bytes) {
            Ok(text) if !text.contains('\0') => StoredBytes {
                text: text.to_string(),
                encoding: "utf8",
            },
            _ => {
                use base64::Engine;
                StoredBytes {
                    text: base64::engine::general_purpose::STANDARD.encode(bytes),
                    encoding: "base64",
                }
            }
        }
    }
}

/// The bytes of a stored packet (`packet`, `encoding` as in [`StoredBytes`]); `None` for base64 that does not
/// decode (not written by the gateway).
pub fn stored_packet_bytes(text: &str, encoding: &str) -> Option<Vec<u8>> {
    match encoding {
        "base64" => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD.decode(text).ok()
        }
        _ => Some(text.as_bytes().to_vec()),
    }
}

/// A short text taken from a device (MN, QN, a logger id, a message quoting them) as it is stored: NUL, which
/// PostgreSQL cannot hold in text, becomes U+FFFD (the replacement character). The packet itself keeps every
/// byte ([`StoredBytes`]); these fields are for reading and filtering, and a real MN or QN has no NUL.
pub fn storable_text(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        std::borrow::Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// [`storable_text`] for an optional field.
pub fn storable_opt(text: Option<&str>) -> Option<String> {
    text.map(|t| storable_text(t).into_owned())
}

/// Bytes as an operator reads them: UTF-8 text as it is (line breaks and tabs included), a backslash doubled,
/// other control characters and bytes that are not UTF-8 as `\xNN`. Shown for quarantined packets, whose
/// bytes may be anything.
pub fn escaped_bytes(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\r' | '\n' | '\t' => out.push(c),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        let _ = write!(out, "\\x{b:02X}");
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02X}");
        }
    }
    out
}

/// The key of an accepted packet: its DataTime (UTC seconds, 0 when it has none), `-`, then [`dedup_key`]. The
/// same packet sent again has the same key; the time in front keeps a batch's packets (the same minutes) next
/// to each other in the key's index — with the hash alone every packet of a batch dirtied an index page of its
/// own, the largest part of what a gateway commit wrote (migration 14 gave the stored keys the prefix).
pub fn packet_key(data_time: Option<i64>, mn: &str, bytes: &[u8]) -> String {
    format!("{}-{}", data_time.unwrap_or(0), dedup_key(mn, bytes))
}

/// SHA-256 over the MN and the exact bytes: the same packet sent again by the same device has the same key.
pub fn dedup_key(mn: &str, bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(mn.as_bytes());
    hasher.update([0u8]);
    hasher.update(bytes);
    hex::encode(hasher.finalize())
}

/// A packet accepted as data, on its way to the store.
#[derive(Debug, Clone)]
pub struct AcceptedPacket {
    pub received_at: i64,
    pub peer: String,
    pub device_id: i64,
    pub point_id: i64,
    pub mn: String,
    pub cn: i64,
    pub qn: Option<String>,
    pub data_time: Option<i64>,
    pub bytes: StoredBytes,
    /// `ok`, `variant` or `bad` (bad only reaches here under CRC mode `ignore`).
    pub crc: &'static str,
    pub dedup_key: String,
    pub readings: Vec<readings::Reading>,
    /// Device clock minus receive time, when the packet shows the device's clock.
    pub clock_drift_seconds: Option<i64>,
    /// Something odd about an accepted packet worth showing in the device state (protocol mismatch).
    pub warning: Option<String>,
    /// The key (`hj212_keys.id`) that opened an SM4-encrypted packet; `None` when sent in clear.
    pub key_id: Option<i64>,
}

/// A packet refused as data.
#[derive(Debug, Clone)]
pub struct QuarantinedPacket {
    pub received_at: i64,
    pub peer: String,
    pub mn: Option<String>,
    pub device_id: Option<i64>,
    pub reason: QuarantineReason,
    pub detail: String,
    pub bytes: StoredBytes,
    pub dedup_key: String,
}

/// A quarantine entry as listed for review.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QuarantineEntry {
    pub id: i64,
    pub received_at: i64,
    pub peer: String,
    pub mn: Option<String>,
    pub device_id: Option<i64>,
    /// `unknown_device`, `inactive_device`, `wrong_password`, `bad_crc` or `unreadable`.
    pub reason: String,
    pub detail: String,
    pub packet: String,
    /// `utf8`, or `base64` when the bytes were not UTF-8 or held a NUL.
    pub encoding: String,
    /// The packet's bytes (decoded from base64 when so stored) as text to read: control characters other than
    /// line breaks and tabs, and bytes that are not UTF-8, written `\xNN` (a backslash doubled).
    pub packet_text: String,
    pub reviewed_by: Option<i64>,
    pub reviewed_at: Option<i64>,
    /// `registered` (a device was registered from it) or `dismissed`.
    pub review_outcome: Option<String>,
    /// The reviewer's reason for a dismissal.
    pub review_note: Option<String>,
    /// The device registered from this entry.
    pub registered_device_id: Option<i64>,
}

/// A data logger's hardware identity as its HJ 212-2025 CN 1001 reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoggerIds {
    /// `i23005-Info`: the logger's own id, which the 1002 addresses.
    pub logger_id: String,
    /// `i23006-Info`
    pub cpu_id: Option<String>,
    /// `i23007-Info`
    pub mac1: Option<String>,
    /// `i23008-Info`
    pub mac2: Option<String>,
}

/// An MN assigned to a data logger (HJ 212-2025 onboarding, `hj212_mn_assignments`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MnAssignment {
    pub id: i64,
    /// The logger's `i23005-Info`.
    pub logger_id: String,
    pub cpu_id: Option<String>,
    pub mac1: Option<String>,
    pub mac2: Option<String>,
    /// The registered device whose MN the logger is given.
    pub device_id: i64,
    pub mn: String,
    /// The quarantined 1001 the device was registered from.
    pub quarantine_id: Option<i64>,
    pub assigned_by: Option<i64>,
    pub assigned_at: i64,
    /// The last 1002 sent (`None`: the logger has not been connected since the assignment).
    pub sent_at: Option<i64>,
    pub sent_count: i64,
    /// The first packet accepted under the assigned MN after the assignment.
    pub confirmed_at: Option<i64>,
    /// The logger was given another device later.
    pub superseded_at: Option<i64>,
}

/// What the gateway last saw of a device.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct DeviceState {
    pub device_id: i64,
    pub mn: String,
    pub point_id: i64,
    /// A connection currently carries this device's packets.
    pub online: bool,
    pub peer: Option<String>,
    pub last_packet_at: Option<i64>,
    /// DataTime of the last packet that had one (UTC seconds).
    pub last_data_time: Option<i64>,
    /// Device clock (QN, else the DataTime of a real-time packet) minus receive time, seconds.
    pub clock_drift_seconds: Option<i64>,
    /// Packets stored (resends not counted).
    pub packets: i64,
    /// Resent packets that were already stored.
    pub duplicates: i64,
    /// Packets quarantined for this device (wrong password, bad CRC) and accepted packets with a warning.
    pub errors: i64,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    /// The monitoring point's name.
    pub point_name: String,
    /// Registered as active.
    pub active: bool,
}

/// The life of a device's SM4 key (HJ 212-2025 §6.4.3) as stored in `hj212_keys.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// The key the device uses now (one per device at most).
    Current,
    /// Sent with 1014, not yet confirmed by the device's 9012 `ExeRtn=1`.
    Pending,
    /// Replaced; still tried, so that packets sent before the change (or backfilled later) open.
    Retired,
    /// Issued but never confirmed; not tried.
    Abandoned,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Current => "current",
            KeyState::Pending => "pending",
            KeyState::Retired => "retired",
            KeyState::Abandoned => "abandoned",
        }
    }

    pub fn parse(text: &str) -> Option<KeyState> {
        [
            KeyState::Current,
            KeyState::Pending,
            KeyState::Retired,
            KeyState::Abandoned,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// A key as the gateway uses it (the secret itself: never logged, never serialised).
#[derive(Clone, PartialEq, Eq)]
pub struct LiveKey {
    pub id: i64,
    pub device_id: i64,
    pub key: hj212::sm4::Sm4Key,
    pub state: KeyState,
    /// SKCreateTime (UTC seconds).
    pub sk_created_at: i64,
    /// When the row was written (for a pending key: when it was issued).
    pub created_at: i64,
    /// The QN of the 1014 that issued a pending key; the device's 9012 echoes it.
    pub issued_qn: Option<String>,
}

impl std::fmt::Debug for LiveKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveKey")
            .field("id", &self.id)
            .field("device_id", &self.device_id)
            .field("key", &fingerprint(&self.key))
            .field("state", &self.state)
            .finish()
    }
}

/// What is shown of a key instead of the key: `SM4-` and the first 16 hex digits of its SHA-256.
pub fn fingerprint(key: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let digest = hex::encode(Sha256::digest(key));
    format!("SM4-{}", &digest[..16])
}

/// A device's key as the API lists it: the fingerprint, never the key.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KeyInfo {
    pub id: i64,
    pub device_id: i64,
    /// `SM4-` + the first 16 hex digits of the key's SHA-256.
    pub fingerprint: String,
    /// `current`, `pending`, `retired` or `abandoned`.
    pub state: String,
    /// `registered` (entered by an operator) or `rotation` (issued by the gateway with 1014).
    pub source: String,
    /// SKCreateTime, UTC seconds.
    pub sk_created_at: i64,
    /// When it became the device's current key.
    pub valid_from: Option<i64>,
    /// When a newer key replaced it.
    pub valid_to: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: i64,
}

/// A key entered by an operator (the initial key registered out of band, or a replacement).
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct NewKey {
    /// 16 printable ASCII characters other than `;` `,` `=` `&`, not all one character nor a running sequence.
    pub key: String,
    /// SKCreateTime as `YYYYMMDDhhmmss` (China Standard Time); now when absent.
    pub sk_created_at: Option<String>,
}

/// A device seen without a packet to store (a 9015 heartbeat): refreshes its state only.
#[derive(Debug, Clone)]
pub struct DeviceSeen {
    pub device_id: i64,
    pub peer: String,
    pub at: i64,
    pub clock_drift_seconds: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_bytes_are_stored_and_read_back() {
        for bytes in [
            &b"##0010QN=1;CP=&&&&\r\n"[..],
            b"MN=A\0B\r\n",
            b"\xff\xfe\x00\xc3",
        ] {
            let stored = StoredBytes::of(bytes);
            assert_eq!(
                stored.encoding == "utf8",
                !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok()
            );
            assert!(!stored.text.contains('\0'));
            assert_eq!(
                stored_packet_bytes(&stored.text, stored.encoding).as_deref(),
                Some(bytes)
            );
        }
        assert_eq!(storable_text("A\0B"), "A\u{FFFD}B");
        assert!(matches!(
            storable_text("AB"),
            std::borrow::Cow::Borrowed("AB")
        ));
        assert_eq!(
            escaped_bytes(b"a\\b\0c\x1b\xff\r\n\xe9\x9d\x92"),
            "a\\\\b\\x00c\\x1B\\xFF\r\n青"
        );
    }
}
