//! The alarm area on both backends: the worker over stored outlet data (planted patterns found exactly, clean
//! outlets silent, reruns idempotent), the lifecycle of stored alarms (allowed and refused steps), leads,
//! statistics, permits, and street scoping and bad input over HTTP.

mod http;
mod worker;

use kernel::Db;
use kernel::auth::AuthMethod;
use kernel::{Principal, Role};

/// 2026-11-25 00:00 CST.
pub const DAY0: i64 = 1_795_536_000;

pub fn principal(role: Role, street_id: Option<i64>) -> Principal {
    Principal {
        user_id: 1,
        username: format!("t-{}", role.as_str()),
        display_name: "测试".into(),
        role,
        street_id,
        department_id: None,
        method: AuthMethod::Token,
    }
}

/// One enterprise per street given, each with a gas outlet and its monitoring point; returns
/// (enterprise, outlet, point) per street, in order.
pub async fn seed_outlets(db: &Db, streets: &[i64]) -> Vec<(i64, i64, i64)> {
    let mut out = Vec::new();
    for (i, street) in streets.iter().enumerate() {
        let enterprise: i64 = sqlx::query_scalar(
            "INSERT INTO enterprises (uscc, name, industry_code, industry_name, street_id, address, status, simulated, \
             created_at, updated_at) VALUES ($1, $2, 'C3110', '炼铁', $3, '东丽区', 'operating', 1, 0, 0) RETURNING id",
        )
        .bind(format!("91120110TEST{i:06}"))
        .bind(format!("测试钢铁{i}有限公司"))
        .bind(street)
        .fetch_one(db.pool())
        .await
        .unwrap();
        let outlet: i64 = sqlx::query_scalar(
            "INSERT INTO outlets (enterprise_id, code, name, medium, kind, online_monitored, created_at) \
             VALUES ($1, 'DA001', '烧结机头', 'gas', 'main', 1, 0) RETURNING id",
        )
        .bind(enterprise)
        .fetch_one(db.pool())
        .await
        .unwrap();
        let point: i64 = sqlx::query_scalar(
            "INSERT INTO monitoring_points (code, name, kind, level, street_id, owner, outlet_id, active, simulated, \
             created_at, updated_at) VALUES ($1, $2, 'outlet', 'enterprise', $3, '企业', $4, 1, 1, 0, 0) RETURNING id",
        )
        .bind(format!("OUT-{i}"))
        .bind(format!("测试钢铁{i} 烧结机头"))
        .bind(street)
        .bind(outlet)
        .fetch_one(db.pool())
        .await
        .unwrap();
        out.push((enterprise, outlet, point));
    }
    out
}

/// A district and `n` streets (for tests without the HTTP app).
pub async fn seed_streets(db: &Db, n: usize) -> Vec<i64> {
    sqlx::query("INSERT INTO district (code, name, city, simulated) VALUES ('120110', '东丽区', '天津市', 1)")
        .execute(db.pool())
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO streets (code, name, district_code, created_at) VALUES ($1, $2, '120110', 0) RETURNING id",
        )
        .bind(format!("s{i}"))
        .bind(format!("街道{i}"))
        .fetch_one(db.pool())
        .await
        .unwrap();
        ids.push(id);
    }
    ids
}
