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

async fn admin(db: &kernel::Db, username: &str) -> i64 {
    service::create_user(db, Actor::Cli, new_user(username, Role::Admin, None))
        .await
        .unwrap()
        .id
}

fn deactivate() -> UserUpdate {
    UserUpdate {
        active: Some(false),
        ..Default::default()
    }
}

fn demote() -> UserUpdate {
    UserUpdate {
        role: Some(Role::Leader),
        ..Default::default()
    }
}

testkit::db_test!(the_last_active_administrator_cannot_be_removed, |db| {
    let root = admin(&db, "root").await;
    for change in [deactivate(), demote()] {
        let err = service::update_user(&db, Actor::Cli, root, change)
            .await
            .unwrap_err();
        assert!(matches!(err, AppError::Conflict(_)), "{err:?}");
    }
    // Other changes to the last administrator still go through.
    service::update_user(
        &db,
        Actor::Cli,
        root,
        UserUpdate {
            display_name: Some("管理员".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // An inactive administrator does not count.
    let dormant = admin(&db, "dormant").await;
    service::update_user(&db, Actor::Cli, dormant, deactivate())
        .await
        .unwrap();
    let err = service::update_user(&db, Actor::Cli, root, deactivate())
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Conflict(_)));
    assert_eq!(
        accounts::repo::count_active_admins(db.pool())
            .await
            .unwrap(),
        1
    );
});

testkit::db_test!(two_admins_removing_each_other_at_once_leave_one, |db| {
    // Each change alone is allowed (another admin remains); together they would leave none. Repeated, so
    // that the two transactions overlap in different ways.
    for round in 0..5 {
        let a = admin(&db, &format!("a{round}")).await;
        let b = admin(&db, &format!("b{round}")).await;
        // Only a and b are active administrators in this round.
        sqlx::query("UPDATE users SET active = 0 WHERE role = 'admin' AND id NOT IN ($1, $2)")
            .bind(a)
            .bind(b)
            .execute(db.pool())
            .await
            .unwrap();
        let (ra, rb) = tokio::join!(
            service::update_user(&db, Actor::Cli, a, deactivate()),
            service::update_user(&db, Actor::Cli, b, demote()),
        );
        assert_eq!(
            u8::from(ra.is_ok()) + u8::from(rb.is_ok()),
            1,
            "round {round}: {ra:?} {rb:?}"
        );
        assert_eq!(
            accounts::repo::count_active_admins(db.pool())
                .await
                .unwrap(),
            1,
            "round {round}"
        );
    }
});

testkit::db_test!(
    tokens_get_the_default_lifetime_and_no_more_than_the_maximum,
    |db| {
        service::create_user(&db, Actor::Cli, new_user("robot", Role::Monitoring, None))
            .await
            .unwrap();
        let issued = service::create_token(&db, Actor::Cli, "robot", "push", None)
            .await
            .unwrap();
        let lifetime = issued.info.expires_at.unwrap() - issued.info.created_at;
        assert_eq!(lifetime, 90 * 86_400);
        let too_long = service::create_token(&db, Actor::Cli, "robot", "push", Some(366))
            .await
            .unwrap_err();
        assert!(matches!(too_long, AppError::Validation { ref field, .. } if field == "days"));
        // Configured otherwise, both hold as configured.
        let lifetime = service::TokenLifetime {
            default_days: 7,
            max_days: 30,
        };
        let short = service::create_token_with(&db, Actor::Cli, "robot", "ci", None, lifetime)
            .await
            .unwrap();
        assert_eq!(
            short.info.expires_at.unwrap() - short.info.created_at,
            7 * 86_400
        );
        assert!(
            service::create_token_with(&db, Actor::Cli, "robot", "ci", Some(31), lifetime)
                .await
                .is_err()
        );
    }
);

testkit::db_test!(login_failures_past_the_window_are_pruned, |db| {
    let config = kernel::state::AppConfig::default();
    let now = kernel::time::now_ts();
    let window = config.login_window_seconds;
    for (user, age) in [
        ("a", window + 3600),
        ("b", window + 1),
        ("c", window - 1),
        ("d", 0),
    ] {
        accounts::repo::reserve_login_attempt(&db, user, "203.0.113.1", now - age)
            .await
            .unwrap();
    }
    let removed = service::prune_login_failures(&db, &config, now)
        .await
        .unwrap();
    assert_eq!(removed, 2);
    let left: Vec<String> =
        sqlx::query_scalar("SELECT username FROM login_failures ORDER BY username")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(left, ["c", "d"]);
});

#[test]
fn the_client_backoff_grows_and_is_capped() {
    let config = kernel::state::AppConfig::default();
    let max = i64::from(config.login_max_failures);
    assert_eq!(service::client_backoff_seconds(&config, 0), 0);
    assert_eq!(service::client_backoff_seconds(&config, max), 0);
    assert_eq!(service::client_backoff_seconds(&config, max + 1), 2);
    assert_eq!(service::client_backoff_seconds(&config, max + 3), 8);
    assert_eq!(
        service::client_backoff_seconds(&config, max + 1000),
        config.login_client_backoff_max_seconds
    );
}
