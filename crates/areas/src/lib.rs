//! The platform's business areas, in one list. Each area describes itself in its own crate
//! (`kernel::area::Area`: routes, OpenAPI, resources and their role policies, navigation, jobs, start-up and
//! demo steps); `web` builds the router, the OpenAPI document and the menu from this list, `qingshan serve`
//! starts the jobs and start-up steps, and `demo` runs the demo steps in this order.
//!
//! Adding an area: its crate, its dependency line in this crate's Cargo.toml, its line below, and its
//! migrations (ARCHITECTURE.md, "Adding an area").

use kernel::Resource;
use kernel::area::Area;

/// Every area, in the order their demo steps run (the registry and the users come first: the others refer
/// to them).
pub const ALL: &[Area] = &[
    registry::AREA,
    accounts::AREA,
    workcal::AREA,
    complaints::AREA,
    readings::AREA,
    alarms::AREA,
    ingest::AREA,
    stations::AREA,
    analysis::AREA,
    targets::AREA,
    bulletins::AREA,
];

/// Every resource of every area.
pub fn resources() -> impl Iterator<Item = Resource> {
    ALL.iter().flat_map(|area| area.resources.iter().copied())
}
