//! Account rules at the service level, on SQLite and PostgreSQL.

use accounts::service::{self, Actor};
use accounts::{NewUser, model::UserUpdate};
use kernel::{AppError, Role};

fn new_user(username: &str, role: Role, street_id: Option<i64>) -> NewUser {
    NewUser {
        username: username.to_string(),
        display_name: "测试".to_string(),
        password: "long-enough-1".to_string(),
        role,
        street_id,
        department_id: None,
    }
}

async fn street(db: &kernel::Db) -> i64 {
    sqlx::query("INSERT INTO district (code, name, city) VALUES ('120110', '东丽区', '天津市')")
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query_scalar(
        "INSERT INTO streets (code, name, district_code, created_at) VALUES ('zgz', '张贵庄街道', '120110', 0) RETURNING id",
    )
    .fetch_one(db.pool())
    .await
    .unwrap()
}

testkit::db_test!(street_officers_need_a_street_that_exists, |db| {
    let street = street(&db).await;
    let err = service::create_user(&db, Actor::Cli, new_user("s1", Role::StreetOfficer, None))
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Validation { ref field, .. } if field == "street_id"));
    let err = service::create_user(
        &db,
        Actor::Cli,
        new_user("s1", Role::StreetOfficer, Some(street + 100)),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Validation { ref field, .. } if field == "street_id"));
    let user = service::create_user(
        &db,
        Actor::Cli,
        new_user("s1", Role::StreetOfficer, Some(street)),
    )
    .await
    .unwrap();
    assert_eq!(user.street_id, Some(street));
    // Clearing the street of a street officer is refused.
    let err = service::update_user(
        &db,
        Actor::Cli,
        user.id,
        UserUpdate {
            clear_street: true,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, AppError::Validation { .. }));
});

testkit::db_test!(usernames_are_unique_and_plain, |db| {
    service::create_user(&db, Actor::Cli, new_user("zhang.san", Role::Leader, None))
        .await
        .unwrap();
    let dup = service::create_user(&db, Actor::Cli, new_user("zhang.san", Role::Public, None))
        .await
        .unwrap_err();
    assert!(matches!(dup, AppError::Conflict(_)));
    let bad = service::create_user(&db, Actor::Cli, new_user("张三", Role::Public, None))
        .await
        .unwrap_err();
    assert!(matches!(bad, AppError::Validation { ref field, .. } if field == "username"));
});

testkit::db_test!(expired_and_revoked_tokens_do_not_authenticate, |db| {
    service::create_user(&db, Actor::Cli, new_user("robot", Role::Monitoring, None))
        .await
        .unwrap();
    let issued = service::create_token(&db, Actor::Cli, "robot", "push", Some(1))
        .await
        .unwrap();
    assert!(
        service::authenticate_token(&db, &issued.token)
            .await
            .unwrap()
            .is_some()
    );
    // Expire it by moving its deadline into the past.
    sqlx::query("UPDATE api_tokens SET expires_at = 1 WHERE id = $1")
        .bind(issued.info.id)
        .execute(db.pool())
        .await
        .unwrap();
    assert!(
        service::authenticate_token(&db, &issued.token)
            .await
            .unwrap()
            .is_none()
    );
    let bad_days = service::create_token(&db, Actor::Cli, "robot", "push", Some(0))
        .await
        .unwrap_err();
    assert!(matches!(bad_days, AppError::Validation { ref field, .. } if field == "days"));
    // A deactivated user's tokens stop working.
    let second = service::create_token(&db, Actor::Cli, "robot", "push2", None)
        .await
        .unwrap();
    let robot = accounts::repo::user_by_username(&db, "robot")
        .await
        .unwrap()
        .unwrap();
    service::update_user(
        &db,
        Actor::Cli,
        robot.id,
        UserUpdate {
            active: Some(false),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(
        service::authenticate_token(&db, &second.token)
            .await
            .unwrap()
            .is_none()
    );
});
