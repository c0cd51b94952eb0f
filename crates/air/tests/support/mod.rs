//! What the `air` test files share: an air station registered at a level, and the monitoring department that
//! corrects readings.

use kernel::Db;
use registry::model::{PointKind, PointRegistration};

/// An air station of `level` (`national`, `micro`, …) without street or coordinates; its id.
pub async fn station(db: &Db, code: &str, level: &str) -> i64 {
    registry::service::register_point(
        db,
        "test",
        &PointRegistration {
            code: code.into(),
            name: format!("站 {code}"),
            kind: PointKind::AirStation,
            level: level.parse().unwrap(),
            street_id: None,
            lon: None,
            lat: None,
            owner: "测试".into(),
            simulated: false,
        },
    )
    .await
    .unwrap()
    .id
}

pub fn monitor() -> kernel::Principal {
    kernel::Principal {
        user_id: 1,
        username: "monitor".into(),
        display_name: "监测科".into(),
        role: kernel::Role::Monitoring,
        street_id: None,
        department_id: None,
        method: kernel::auth::AuthMethod::Token,
    }
}
