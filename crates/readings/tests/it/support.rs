//! Fixtures: points, principals.

use kernel::auth::AuthMethod;
use kernel::{Db, Principal, Role};
use readings::points::{self, NewPoint};

pub async fn point(db: &Db, code: &str, kind: &'static str, street_id: Option<i64>) -> i64 {
    points::register(
        db,
        &NewPoint {
            code: code.into(),
            name: format!("测试点位 {code}"),
            kind,
            level: "district".into(),
            street_id,
            lon: None,
            lat: None,
            owner: "测试".into(),
        },
    )
    .await
    .unwrap()
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
