//! HJ 212 protocol (2005, 2017, 2025): frame decoding, CRC, the packet model and the platform's replies.
//!
//! Pure: no tokio, no SQL, no file I/O. The pipeline for received bytes is
//! [`FrameDecoder`] → [`Frame`] (CRC verdict, raw bytes kept as evidence) → [`Packet::parse`] (borrowing)
//! → [`Packet::readings`].

pub mod codes;
pub mod crc;
pub mod encode;
pub mod frame;
pub mod keys;
pub mod packet;
pub mod reassembly;
pub mod sm4;
pub mod time;
pub mod version;

pub use crc::{CrcMode, CrcVerdict};
pub use frame::{Frame, FrameDecoder, FrameError, FrameWarning};
pub use packet::{
    Cp, CpItem, DataFlag, HardwareIds, Key, Measurement, Packet, PacketError, PacketWarning,
    PeriodKind, Reading, Suffix,
};
pub use version::ProtocolVersion;
