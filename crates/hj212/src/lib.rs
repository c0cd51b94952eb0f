//! HJ 212 protocol (2005, 2017, 2025): frame decoding, CRC, the packet model and the platform's replies.
//!
//! Pure: no tokio, no SQL.
