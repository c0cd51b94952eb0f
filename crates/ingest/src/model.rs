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

/// The bytes of a packet as stored: text when UTF-8 (HJ 212 is ASCII), else base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBytes {
    pub text: String,
    /// `utf8` or `base64`.
    pub encoding: &'static str,
}

impl StoredBytes {
    pub fn of(bytes: &[u8]) -> StoredBytes {
        match std::str::from_utf8(bytes) {
            Ok(text) => StoredBytes {
                text: text.to_string(),
                encoding: "utf8",
            },
            Err(_) => {
                use base64::Engine;
                StoredBytes {
                    text: base64::engine::general_purpose::STANDARD.encode(bytes),
                    encoding: "base64",
                }
            }
        }
    }
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
    /// `utf8`, or `base64` when the bytes were not UTF-8.
    pub encoding: String,
    pub reviewed_by: Option<i64>,
    pub reviewed_at: Option<i64>,
}

/// What the gateway last saw of a device.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
}
