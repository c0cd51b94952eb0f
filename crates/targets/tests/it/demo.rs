//! The demo district's 2024 PM2.5 annual mean, recomputed here straight from the stored hourly rows with a loop
//! of our own (integer arithmetic, no `standards` and no `air` code), must equal the figure of the targets page.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use kernel::time::{cst_day, cst_day_start, cst_local_to_ts, now_ts};
use readings::model::Period;
use readings::store::rows;
use sqlx::Row as _;
use targets::service::{ensure_seeded, status_for_year};

/// p/q rounded half to even (q > 0, p ≥ 0).
fn round_half_even(p: i128, q: i128) -> i128 {
    let (floor, rem) = (p / q, p % q);
    match (2 * rem).cmp(&q) {
        std::cmp::Ordering::Greater => floor + 1,
        std::cmp::Ordering::Equal => floor + (floor & 1),
        std::cmp::Ordering::Less => floor,
    }
}

testkit::db_test!(demo_2024_pm25_equals_an_independent_recomputation, |db| {
    // The demo with January and February 2024 of hourly air data (a shorter history keeps the test quick).
    let until = cst_local_to_ts(
        NaiveDate::from_ymd_opt(2024, 3, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
    );
    demo::ensure(&db, demo::DEFAULT_SEED, demo::History::Until(until))
        .await
        .unwrap();
    ensure_seeded(&db, 2024).await.unwrap();
    let statuses = status_for_year(&db, 2024, now_ts()).await.unwrap();
    let pm = statuses
        .iter()
        .find(|s| s.target.code == "pm25_annual_mean")
        .unwrap();

    // The district's assessment stations: national and municipal air stations.
    let stations: Vec<i64> = sqlx::query(
        "SELECT id FROM monitoring_points WHERE kind = 'air_station' AND level IN ('national', 'municipal') AND active = 1",
    )
    .fetch_all(db.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| r.try_get::<i64, _>("id").unwrap())
    .collect();
    assert_eq!(stations.len(), 5, "1021A and 4 municipal stations");
    // No corrections in the demo: the audited tier is the raw one.
    let corrections: i64 =
        sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM reading_corrections")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(corrections, 0);

    let (start, end) = (
        cst_day_start(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()),
        cst_day_start(NaiveDate::from_ymd_opt(2025, 1, 1).unwrap()),
    );
    // Per CST day: the stations' daily means (≥ 20 valid hours; flag N and 0–2000 µg/m³), as integers.
    let mut per_day: BTreeMap<NaiveDate, Vec<i128>> = BTreeMap::new();
    for &station in &stations {
        let mut hours: BTreeMap<NaiveDate, (i128, i128)> = BTreeMap::new();
        for row in rows(&db, station, &[Period::Hour], start, end)
            .await
            .unwrap()
        {
            let Some(cell) = row.get("a34004") else {
                continue;
            };
            let Some(value) = cell
                .value
                .filter(|v| cell.flag.is_normal() && (0.0..=2000.0).contains(v))
            else {
                continue;
            };
            let entry = hours.entry(cst_day(row.ts)).or_default();
            entry.0 += (value * 10_000.0).round() as i128;
            entry.1 += 1;
        }
        for (day, (sum, count)) in hours {
            if count >= 20 {
                per_day
                    .entry(day)
                    .or_default()
                    .push(round_half_even(sum, count * 10_000));
            }
        }
    }
    // The area day is the stations' mean, rounded; the annual mean is the area days' mean, rounded.
    let area: Vec<i128> = per_day
        .values()
        .map(|v| round_half_even(v.iter().sum(), v.len() as i128))
        .collect();
    assert!(
        area.len() >= 55,
        "two months of area days, got {}",
        area.len()
    );
    let annual = round_half_even(area.iter().sum(), area.len() as i128);
    assert_eq!(
        pm.value,
        Some(annual as f64),
        "targets page {:?} vs independent {annual}",
        pm.value
    );
    assert_eq!(pm.basis, Some(area.len() as u32));
    // The page shows the same figure (a leader's token on the whole application).
    let data = tempfile::tempdir().unwrap();
    let config = kernel::state::AppConfig {
        data_dir: data.path().to_path_buf(),
        ..Default::default()
    };
    let router = web::app(kernel::AppState::new(db.clone(), config));
    let token =
        accounts::service::create_token(&db, accounts::service::Actor::Cli, "leader", "test", None)
            .await
            .unwrap()
            .token;
    let response = tower::ServiceExt::oneshot(
        router,
        http::Request::get("/targets?year=2024")
            .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), http::StatusCode::OK);
    let html = String::from_utf8(
        axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(
        html.contains(&format!("data-value=\"{annual}\">{annual}µg/m³")),
        "the page does not show {annual}"
    );
    // The demo's nine sections were sampled: the water targets have values, and 2024 being over, final statuses.
    for code in [
        "water_good_share",
        "water_worse_than_v",
        "water_function_zone_compliance",
    ] {
        let water = statuses.iter().find(|s| s.target.code == code).unwrap();
        assert!(
            water.value.is_some() && water.basis.is_some_and(|b| b > 0),
            "{code}: {}",
            water.reason
        );
        assert!(
            matches!(
                water.status,
                targets::model::Status::Met | targets::model::Status::Missed
            ),
            "{code}: {:?}",
            water.status
        );
    }
    // 2024 is over: the status is final.
    assert!(matches!(
        pm.status,
        targets::model::Status::Met | targets::model::Status::Missed
    ));
});
