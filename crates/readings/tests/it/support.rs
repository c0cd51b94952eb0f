//! Fixtures: points, principals.

use kernel::auth::AuthMethod;
use kernel::{Db, Principal, Role};
use registry::model::{PointKind, PointRegistration};

pub async fn point(db: &Db, code: &str, kind: PointKind, street_id: Option<i64>) -> i64 {
    registry::service::register_point(
        db,
        "test",
        &PointRegistration {
            code: code.into(),
            name: format!("测试点位 {code}"),
            kind,
            level: readings::import::default_level(kind),
            street_id,
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

pub fn principal(role: Role, street_id: Option<i64>) -> Principal {
    Principal {
        user_id: 1,
        username: role.as_str().into(),
        display_name: role.label().into(),
        role,
        street_id,
        department_id: None,
        method: AuthMethod::Token,
    }
}
