//! The HJ 212 gateway (issue 7): devices connect over TCP, packets are checked against the registry
//! (password, CRC mode, protocol), stored verbatim as evidence, decoded into the readings store through a
//! bounded queue and a batching writer, and acknowledged (9014/9013) only after the batch holding them is
//! committed. Refused packets go to a quarantine list; device state (online, last packet, clock drift,
//! counters) is kept per device. See `docs/ingest.md`.

pub mod devices;
pub mod gateway;
pub mod http;
pub mod model;
pub mod repo;
pub mod service;
pub mod simulate;
pub mod writer;

pub use gateway::{Config, connection_cap, listen, run};

// ---- The area's self-description (kernel::area; listed in crates/areas) ----

use kernel::area::{Area, NavItem};

/// The HJ 212 gateway's pages: device onboarding, quarantine, connections. The gateway itself is a server of
/// its own, started by `qingshan serve`.
pub const AREA: Area = Area {
    routes: http::routes,
    api_doc: <http::ApiDoc as utoipa::OpenApi>::openapi,
    nav: &[NavItem::reading(
        "/ingest/devices",
        "设备接入",
        registry::DEVICE,
        63,
    )],
    // The device lists show the gateway's records, which it changes outside the audit log: counted.
    kept_answers: kernel::area::KeptAnswers {
        routes: &[
            "/ingest/devices",
            "/api/v1/ingest/devices",
            "/api/v1/ingest/mn-assignments",
        ],
        version: Some(devices::gateway_changes),
    },
    ..Area::named("ingest", "设备接入")
};
