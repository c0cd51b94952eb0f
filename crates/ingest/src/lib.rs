//! The HJ 212 gateway (issue 7): devices connect over TCP, packets are checked against the registry
//! (password, CRC mode, protocol), stored verbatim as evidence, decoded into the readings store through a
//! bounded queue and a batching writer, and acknowledged (9014/9013) only after the batch holding them is
//! committed. Refused packets go to a quarantine list; device state (online, last packet, clock drift,
//! counters) is kept per device. See `docs/ingest.md`.

pub mod gateway;
pub mod http;
pub mod model;
pub mod repo;
pub mod service;
pub mod simulate;
pub mod writer;

pub use gateway::{Config, connection_cap, listen, run};
