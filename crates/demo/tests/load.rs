//! The demo district loads through the registry's checks on both backends, and reopens unchanged.

use sqlx::Row;

testkit::db_test!(loads_and_reopens, |db| {
    // Three days of air history are enough here; `qingshan demo` writes it up to now.
    let history = demo::History::Until(readings::simulate::HISTORY_START + 3 * 86_400);
    let first = demo::ensure(&db, demo::DEFAULT_SEED, history)
        .await
        .unwrap();
    assert!(first.starts_with("created"), "{first}");
    let second = demo::ensure(&db, demo::DEFAULT_SEED, history)
        .await
        .unwrap();
    assert!(second.starts_with("reopened"), "{second}");

    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(db.pool())
                .await
                .unwrap()
        }
    };
    assert_eq!(
        count("SELECT CAST(COUNT(*) AS BIGINT) FROM streets").await,
        11
    );
    assert_eq!(
        count("SELECT CAST(COUNT(*) AS BIGINT) FROM enterprises").await,
        demo::ENTERPRISES as i64
    );
    assert_eq!(
        count(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM monitoring_points WHERE kind = 'water_section'"
        )
        .await,
        9
    );
    assert_eq!(
        count("SELECT CAST(COUNT(*) AS BIGINT) FROM monitoring_points WHERE kind = 'air_station' AND level = 'micro'").await,
        40
    );
    let devices = count("SELECT CAST(COUNT(*) AS BIGINT) FROM devices").await;
    let outlet_points =
        count("SELECT CAST(COUNT(*) AS BIGINT) FROM monitoring_points WHERE kind = 'outlet'").await;
    assert_eq!(devices, outlet_points);
    assert!(devices > 30);
    // Everything generated is flagged simulated.
    assert_eq!(
        count("SELECT CAST(COUNT(*) AS BIGINT) FROM enterprises WHERE simulated = 0").await,
        0
    );
    assert_eq!(
        count("SELECT CAST(COUNT(*) AS BIGINT) FROM monitoring_points WHERE simulated = 0").await,
        0
    );
    let row = sqlx::query("SELECT name, simulated FROM district")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("name"), "东丽区");
    assert_eq!(row.get::<i64, _>("simulated"), 1);
    // Every demo user can log in with the documented password.
    for (username, ..) in accounts::http::DEMO_USERS {
        let stored = accounts::repo::credentials(&db, username)
            .await
            .unwrap()
            .unwrap();
        assert!(kernel::password::verify_password(
            accounts::http::DEMO_PASSWORD,
            &stored.password_hash
        ));
    }
    // Complaints over the same span as the history (about one a day in winter).
    let complaints = count("SELECT CAST(COUNT(*) AS BIGINT) FROM complaints").await;
    assert!((1..=20).contains(&complaints), "{complaints} complaints");
    // 72 hours of air data for each of the 45 stations.
    let air_rows =
        count("SELECT CAST(COUNT(*) AS BIGINT) FROM readings WHERE period = 'hour'").await;
    assert!(
        air_rows > 45 * 60 && air_rows <= 45 * 72,
        "{air_rows} hourly rows"
    );
    // The national station is there, in its street.
    let station = sqlx::query("SELECT p.name, s.name AS street FROM monitoring_points p JOIN streets s ON s.id = p.street_id WHERE p.code = '1021A'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(station.get::<String, _>("name"), "跃进路");
    assert_eq!(station.get::<String, _>("street"), "万新街道");

    // A year of monthly water samples: the plan's 2024 picture — one section in nine at class III or better
    // (11.1 %), none worse than V over the year.
    let year_end = chrono::NaiveDate::from_ymd_opt(2024, 12, 31).unwrap();
    let written = demo::water_samples::simulate_water_samples(&db, 7, year_end)
        .await
        .unwrap();
    assert!(written > 9 * 12 * 20, "{written} values");
    let results = water::service::section_results(
        &db,
        chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
        year_end,
    )
    .await
    .unwrap();
    assert_eq!(results.len(), 9);
    assert!(results.iter().all(|r| r.samples == 12), "12 samplings each");
    let classes: Vec<_> = results.iter().filter_map(|r| r.class()).collect();
    assert_eq!(classes.len(), 9);
    let shares = standards::water::class_shares(&classes);
    assert_eq!(
        shares.good_share_percent,
        Some(standards::exact::Exact::parse_decimal("11.1").unwrap()),
        "{:?}",
        results
            .iter()
            .map(|r| (&r.section.name, r.class()))
            .collect::<Vec<_>>()
    );
    assert_eq!(shares.per_class[5], 0, "no section worse than V");
});
