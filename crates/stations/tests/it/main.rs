//! Station and section pages over HTTP on SQLite and PostgreSQL: the figures on constructed data, scoping, bad
//! input.

use chrono::NaiveDate;
use kernel::Role;
use kernel::time::cst_day_start;
use readings::model::{DataFlag, Period, Reading};
use readings::store::{self, NewSource};
use registry::model::{PointKind, PointLevel, PointRegistration};
use webtest::TestApp;

async fn point(app: &TestApp, code: &str, kind: PointKind, street: i64) -> i64 {
    registry::service::register_point(
        &app.state.db,
        "test",
        &PointRegistration {
            code: code.into(),
            name: format!("点位{code}"),
            kind,
            level: PointLevel::Municipal,
            street_id: Some(street),
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

async fn write(app: &TestApp, readings: Vec<Reading>) {
    let source = store::create_source(
        &app.state.db,
        &NewSource {
            kind: "api",
            name: "stations test".into(),
            checksum: None,
            received_by: "test".into(),
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    store::write(&app.state.db, source, &readings)
        .await
        .unwrap();
}

fn reading(point_id: i64, factor: &str, ts: i64, period: Period, value: f64) -> Reading {
    Reading {
        point_id,
        factor: factor.into(),
        ts,
        period,
        value: Some(value),
        flag: DataFlag::default(),
    }
}

fn date(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, m, d).unwrap()
}

testkit::db_test!(station_and_section_views, |db| {
    let app = TestApp::new(db.clone()).await;
    let station = point(&app, "A1", PointKind::AirStation, app.street_a).await;
    let other = point(&app, "B1", PointKind::AirStation, app.street_b).await;
    let section = point(&app, "W1", PointKind::WaterSection, app.street_a).await;
    sqlx::query("UPDATE monitoring_points SET target_class = 3, water_kind = 'river', water_body = '测试河' WHERE id = $1")
        .bind(section)
        .execute(db.pool())
        .await
        .unwrap();
    // 2024-01-10: 24 h of PM2.5 = 80 (AQI 107, 轻度污染; over the 75 µg/m³ 24-h limit); 2024-01-11: 24 h of 30
    // (AQI 43, 优); 2024-01-12: only 10 hours (no daily value).
    let mut rows = Vec::new();
    for (day, hours, value) in [(10, 24, 80.0), (11, 24, 30.0), (12, 10, 30.0)] {
        let start = cst_day_start(date(1, day));
        for h in 0..hours {
            rows.push(reading(
                station,
                "a34004",
                start + h * 3600,
                Period::Hour,
                value,
            ));
        }
    }
    // Water: January NH3-N 0.8 (III) and 1.2 (IV) in two samples → mean 1.00 → class III; February 2.5 → 劣V.
    rows.push(reading(
        section,
        "w21003",
        cst_day_start(date(1, 5)),
        Period::Day,
        0.8,
    ));
    rows.push(reading(
        section,
        "w21003",
        cst_day_start(date(1, 20)),
        Period::Day,
        1.2,
    ));
    rows.push(reading(
        section,
        "w21003",
        cst_day_start(date(2, 8)),
        Period::Day,
        2.5,
    ));
    write(&app, rows).await;

    let leader = app.token(Role::Leader).await;
    let v = app
        .get_with_token(&format!("/api/v1/stations/{station}?year=2024"), &leader)
        .await;
    assert_eq!(v.status, http::StatusCode::OK, "{}", v.body);
    let v = v.json();
    assert_eq!(v["kind"], "air_station");
    let calendar = v["calendar"].as_array().unwrap();
    assert_eq!(calendar.len(), 3);
    assert_eq!(calendar[0]["aqi"], 107);
    assert_eq!(calendar[0]["level"], "轻度污染");
    assert_eq!(calendar[1]["aqi"], 43);
    assert!(calendar[2]["aqi"].is_null());
    assert_eq!(v["level_days"], serde_json::json!([1, 0, 1, 0, 0, 0]));
    assert_eq!(v["days_without_aqi"], 1);
    let pm25 = v["exceedances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["pollutant"] == "PM2.5")
        .unwrap();
    assert_eq!(pm25["days"], 1);
    assert_eq!(pm25["max"], 80.0);
    let january = &v["coverage"][0];
    assert_eq!(january["month"], "2024-01");
    assert_eq!(january["days"], 31);
    assert_eq!(january["hours_expected"], 744);
    assert_eq!(january["hours_valid"], 58);
    assert_eq!(january["valid_days"], 0, "only PM2.5 was measured");

    let s = app
        .get_with_token(&format!("/api/v1/stations/{section}?year=2024"), &leader)
        .await
        .json();
    assert_eq!(s["kind"], "water_section");
    assert_eq!(s["months"][0]["class"], "III类");
    assert_eq!(s["months"][0]["samples"], 2);
    assert_eq!(s["months"][0]["meets_target"], true);
    assert_eq!(s["months"][1]["class"], "劣V类");
    assert_eq!(s["months"][1]["meets_target"], false);
    assert_eq!(s["months_sampled"], 2);
    assert_eq!(s["months_elapsed"], 12);

    // Pages render.
    for id in [station, section] {
        let page = app
            .get_with_token(&format!("/stations/{id}?year=2024"), &leader)
            .await;
        assert_eq!(page.status, http::StatusCode::OK);
        assert!(page.body.contains("点位"), "{}", page.body);
    }
    let list = app.get_with_token("/stations", &leader).await;
    assert!(list.body.contains("点位A1") && list.body.contains("点位W1"));

    // A street officer of street A: their station, not street B's (404, not 403).
    let officer = app.token(Role::StreetOfficer).await;
    let own = app
        .get_with_token(&format!("/api/v1/stations/{station}"), &officer)
        .await;
    assert_eq!(own.status, http::StatusCode::OK);
    let foreign = app
        .get_with_token(&format!("/api/v1/stations/{other}"), &officer)
        .await;
    assert_eq!(foreign.status, http::StatusCode::NOT_FOUND);
    let listed = app
        .get_with_token("/api/v1/stations", &officer)
        .await
        .json();
    assert!(listed.as_array().unwrap().iter().all(|p| p["id"] != other));

    // Bad input: a year out of range, a year that is not a number, an unknown id.
    let bad = app
        .get_with_token(&format!("/api/v1/stations/{station}?year=1800"), &leader)
        .await;
    assert_eq!(bad.status, http::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("year"));
    let bad = app
        .get_with_token(&format!("/api/v1/stations/{station}?year=abc"), &leader)
        .await;
    assert_eq!(bad.status, http::StatusCode::UNPROCESSABLE_ENTITY);
    let missing = app.get_with_token("/api/v1/stations/999999", &leader).await;
    assert_eq!(missing.status, http::StatusCode::NOT_FOUND);
});

testkit::db_test!(data_audit_page_corrects_and_locks, |db| {
    let app = TestApp::new(db.clone()).await;
    let station = point(&app, "A1", PointKind::AirStation, app.street_a).await;
    let start = cst_day_start(date(3, 1));
    let rows: Vec<Reading> = (0..24)
        .map(|h| reading(station, "a34004", start + h * 3600, Period::Hour, 40.0))
        .collect();
    write(&app, rows).await;

    let monitor = app.session(Role::Monitoring).await;
    let post = |path: String, body: String| {
        let cookie = monitor.cookie.clone();
        let csrf = monitor.csrf.clone();
        let app = &app;
        async move {
            app.send(
                http::Request::post(path)
                    .header(http::header::COOKIE, cookie)
                    .header(
                        http::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(axum::body::Body::from(format!("{body}&_csrf={csrf}")))
                    .unwrap(),
            )
            .await
        }
    };
    let get = |path: String| {
        let cookie = monitor.cookie.clone();
        let app = &app;
        async move {
            app.send(
                http::Request::get(path)
                    .header(http::header::COOKIE, cookie)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
        }
    };
    let page = get(format!("/stations/{station}/audit?day=2024-03-01")).await;
    assert_eq!(page.status, http::StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("correction-form"));

    // Correct 00:00 from 40 to 400 with a reason: the raw value stays, the day's mean changes.
    let ok = post(
        format!("/stations/{station}/audit"),
        format!("day=2024-03-01&ts={start}&period=hour&factor=a34004&value=400&reason=%E6%A0%A1%E5%87%86"),
    )
    .await;
    assert_eq!(ok.status, http::StatusCode::SEE_OTHER, "{}", ok.body);
    let days = air::service::station_days(&db, &[station], date(3, 1), date(3, 1))
        .await
        .unwrap();
    // (23·40 + 400)/24 = 55 exactly.
    assert_eq!(
        days[0].values.value(standards::pollutant::Pollutant::Pm25),
        Some(standards::exact::Exact::from_int(55))
    );
    let page = get(format!("/stations/{station}/audit?day=2024-03-01")).await;
    assert!(
        page.body
            .contains("<s class=\"muted\">40</s> <strong>400</strong>"),
        "{}",
        page.body
    );

    // No reason: refused on the page, nothing recorded.
    let refused = post(
        format!("/stations/{station}/audit"),
        format!("day=2024-03-01&ts={start}&period=hour&factor=a34004&value=1&reason="),
    )
    .await;
    assert_eq!(refused.status, http::StatusCode::OK);
    assert!(refused.body.contains("role=\"alert\""));
    // Lock the month: a correction is refused until it is reopened with a reason.
    let locked = post(
        "/data-audit/lock".into(),
        format!("month=2024-03&action=lock&point={station}&day=2024-03-01"),
    )
    .await;
    assert_eq!(
        locked.status,
        http::StatusCode::SEE_OTHER,
        "{}",
        locked.body
    );
    let refused = post(
        format!("/stations/{station}/audit"),
        format!("day=2024-03-01&ts={start}&period=hour&factor=a34004&invalid=1&reason=x"),
    )
    .await;
    assert_eq!(refused.status, http::StatusCode::OK);
    assert!(refused.body.contains("role=\"alert\""), "{}", refused.body);
    let versions: i64 =
        sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM reading_corrections")
            .fetch_one(db.pool())
            .await
            .unwrap();
    assert_eq!(versions, 1, "only the first correction was recorded");
    let reopen_without_reason = post(
        "/data-audit/lock".into(),
        format!("month=2024-03&action=reopen&reason=&point={station}&day=2024-03-01"),
    )
    .await;
    assert!(reopen_without_reason.body.contains("role=\"alert\""));

    // Who may not: a street officer reads but does not correct; the public does not even read.
    let officer = app.token(Role::StreetOfficer).await;
    let view = app
        .get_with_token(
            &format!("/stations/{station}/audit?day=2024-03-01"),
            &officer,
        )
        .await;
    assert_eq!(view.status, http::StatusCode::FORBIDDEN);
    let bad_day = get(format!("/stations/{station}/audit?day=2024-13-01")).await;
    assert_eq!(bad_day.status, http::StatusCode::UNPROCESSABLE_ENTITY);
});
