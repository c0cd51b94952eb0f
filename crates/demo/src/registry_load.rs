//! Loads the generated district into the registry through the registry's own bulk services.

use kernel::Db;

use crate::district::{DEPARTMENTS, STREETS};
use crate::generate::DemoDistrict;

/// Creates the streets and departments; returns (id, name, code) of each street.
pub async fn streets_and_departments(db: &Db) -> anyhow::Result<Vec<(i64, String, String)>> {
    let _ = (db, STREETS, DEPARTMENTS);
    anyhow::bail!("registry bulk services are not wired in yet")
}

pub async fn enterprises_and_points(
    db: &Db,
    district: &DemoDistrict,
    streets: &[(i64, String, String)],
) -> anyhow::Result<()> {
    let _ = (db, district, streets);
    anyhow::bail!("registry bulk services are not wired in yet")
}
