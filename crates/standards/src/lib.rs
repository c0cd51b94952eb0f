//! Air and water quality indicators as the national standards define them (HJ 633, GB 3095, HJ 663, GB 3838).
//!
//! Pure: no I/O, no async, no database. Every result names the standard and edition that produced it.

pub mod aggregate;
pub mod aqi;
pub mod assessment;
pub mod composite;
pub mod exact;
pub mod limits;
pub mod pollutant;
pub mod realtime;
pub mod settings;
pub mod water;
