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
    // Only PM2.5 was measured: the days have an AQI but none counts (the period figures need all six).
    assert_eq!(calendar[0]["counted"], false);
    assert_eq!(v["counts"]["valid_days"], 0);
    assert_eq!(
        v["counts"]["days_per_level"],
        serde_json::json!([0, 0, 0, 0, 0, 0])
    );
    assert_eq!(v["counts"]["days_not_counted"], 366);
    assert_eq!(v["through_label"], "全年");
    assert!(v["exceedance_days"].as_array().unwrap().is_empty());
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

/// A GET with a browser session's cookie.
async fn page(app: &TestApp, session: &webtest::Session, path: &str) -> webtest::Reply {
    app.send(
        http::Request::get(path)
            .header(http::header::COOKIE, &session.cookie)
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
}

testkit::db_test!(station_list_has_latest_aqi_coverage_search_and_sort, |db| {
    let app = TestApp::new(db.clone()).await;
    let a1 = point(&app, "A1", PointKind::AirStation, app.street_a).await;
    let b1 = point(&app, "B1", PointKind::AirStation, app.street_b).await;
    let section = point(&app, "W1", PointKind::WaterSection, app.street_a).await;
    let now = kernel::time::now_ts();
    let hour_start = now - now.rem_euclid(3600);
    let today = kernel::time::cst_day(now);
    let month_start = cst_day_start(
        NaiveDate::from_ymd_opt(
            chrono::Datelike::year(&today),
            chrono::Datelike::month(&today),
            1,
        )
        .unwrap(),
    );
    // A1: the previous hour's NO2 1-h 200 µg/m³ (IAQI 100 in both HJ 633 editions, 良, primary NO2), and PM2.5 in
    // the month's first ten hours (those already past).
    let last_hour = hour_start - 3600;
    let mut rows = vec![reading(a1, "a21004", last_hour, Period::Hour, 200.0)];
    let pm25_hours: Vec<i64> = (0..10)
        .map(|h| month_start + h * 3600)
        .filter(|ts| *ts < hour_start)
        .collect();
    for &ts in &pm25_hours {
        rows.push(reading(a1, "a34004", ts, Period::Hour, 30.0));
    }
    write(&app, rows).await;
    let elapsed = (hour_start - month_start) / 3600;

    let leader = app.token(Role::Leader).await;
    let list = app.get_with_token("/api/v1/stations", &leader).await;
    assert_eq!(list.status, http::StatusCode::OK, "{}", list.body);
    let list = list.json();
    let row = |code: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == code)
            .unwrap()
            .clone()
    };
    let a = row("A1");
    assert_eq!(a["latest"]["aqi"], 100, "{a}");
    assert_eq!(a["latest"]["aqi_text"], "100");
    assert_eq!(a["latest"]["level"], "良");
    assert_eq!(a["latest"]["primary"], "NO2");
    assert_eq!(a["latest"]["ts"], last_hour);
    assert_eq!(a["coverage"]["hours_valid"], pm25_hours.len());
    assert_eq!(a["coverage"]["hours_elapsed"], elapsed);
    if elapsed > 0 {
        let percent = (pm25_hours.len() as f64 * 1000.0 / elapsed as f64).round() / 10.0;
        assert_eq!(a["coverage"]["percent"], percent);
    }
    let b = row("B1");
    assert!(b["latest"].is_null(), "B1 has no data: {b}");
    assert_eq!(b["coverage"]["hours_valid"], 0);
    assert!(row("W1")["latest"].is_null() && row("W1")["coverage"].is_null());

    // Search by code or name, case-insensitive.
    let found = app
        .get_with_token("/api/v1/stations?q=b1", &leader)
        .await
        .json();
    let codes: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["B1"]);
    let found = app
        .get_with_token("/api/v1/stations?q=%E7%82%B9%E4%BD%8DW", &leader)
        .await
        .json();
    assert_eq!(found[0]["id"], section, "by name (点位W)");

    // Sort: by code descending; by AQI either way the station without an AQI comes last.
    let codes = |body: serde_json::Value| -> Vec<String> {
        body.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == "air_station")
            .map(|r| r["code"].as_str().unwrap().to_string())
            .collect()
    };
    let desc = app
        .get_with_token("/api/v1/stations?sort=code&order=desc", &leader)
        .await;
    assert_eq!(codes(desc.json()), vec!["B1", "A1"]);
    for order in ["asc", "desc"] {
        let by_aqi = app
            .get_with_token(&format!("/api/v1/stations?sort=aqi&order={order}"), &leader)
            .await;
        assert_eq!(codes(by_aqi.json()), vec!["A1", "B1"], "{order}");
    }

    // Bad sort parameters: a 422 problem naming the field from the API, a Chinese page from the list.
    let bad = app
        .get_with_token("/api/v1/stations?sort=altitude", &leader)
        .await;
    assert_eq!(bad.status, http::StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.content_type(), "application/problem+json");
    assert_eq!(bad.json()["field"], "sort");
    let session = app.session(Role::Leader).await;
    let bad = page(&app, &session, "/stations?sort=altitude").await;
    assert_eq!(bad.status, http::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.content_type().starts_with("text/html"),
        "{}",
        bad.content_type()
    );
    assert!(bad.body.contains("排序字段须为"), "{}", bad.body);
    let bad = page(&app, &session, "/stations?order=up").await;
    assert_eq!(bad.status, http::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("排序方向须为"));

    // The page: the figures, the search box, the sort links (each flips the current column's order).
    let html = page(&app, &session, "/stations?sort=aqi&order=desc").await;
    assert_eq!(html.status, http::StatusCode::OK);
    assert!(html.body.contains("type=\"search\" name=\"q\""));
    assert!(
        html.body.contains("/stations?sort=aqi&#38;order=asc"),
        "{}",
        html.body
    );
    assert!(html.body.contains("最新 AQI ▼"));
    assert!(html.body.contains(">100</span> 良"));
    assert!(
        html.body
            .contains(&format!("{}/{elapsed} 小时", pm25_hours.len()))
    );
    let a_at = html.body.find(&format!("/stations/{a1}\"")).unwrap();
    let b_at = html.body.find(&format!("/stations/{b1}\"")).unwrap();
    assert!(a_at < b_at, "A1 (AQI 100) before B1 (no AQI)");
    let searched = page(&app, &session, "/stations?q=A1&sort=name").await;
    assert!(searched.body.contains("点位A1") && !searched.body.contains("点位B1"));
    assert!(
        searched.body.contains("q=A1"),
        "the sort links keep the search"
    );
});

testkit::db_test!(audit_page_lists_missing_hours_with_units, |db| {
    let app = TestApp::new(db.clone()).await;
    let station = point(&app, "A1", PointKind::AirStation, app.street_a).await;
    // 2024-03-01: PM2.5 in hours 0–4 and 6–20; 05:00 and 21:00–23:00 missing; NO2 only at 00:00.
    let start = cst_day_start(date(3, 1));
    let mut rows: Vec<Reading> = (0..21)
        .filter(|h| *h != 5)
        .map(|h| reading(station, "a34004", start + h * 3600, Period::Hour, 40.0))
        .collect();
    rows.push(reading(station, "a21004", start, Period::Hour, 30.0));
    write(&app, rows).await;
    let monitor = app.session(Role::Monitoring).await;
    let html = page(
        &app,
        &monitor,
        &format!("/stations/{station}/audit?day=2024-03-01"),
    )
    .await;
    assert_eq!(html.status, http::StatusCode::OK, "{}", html.body);
    assert!(
        html.body
            .contains("缺测 4 小时：05:00、21:00、22:00、23:00"),
        "{}",
        html.body
    );
    assert_eq!(html.body.matches("class=\"missing-hour\"").count(), 4);
    assert_eq!(
        html.body.matches("<tr").count(),
        1 + 24 + 1,
        "header, 24 hours, corrections header"
    );
    // Every value column has its unit; the six pollutants are columns even when absent all day.
    assert!(
        html.body
            .contains("PM2.5<br><span class=\"small muted\">µg/m³</span>")
    );
    assert!(
        html.body
            .contains("一氧化碳 CO<br><span class=\"small muted\">mg/m³</span>")
    );
    assert!(
        html.body
            .contains("二氧化硫 SO2<br><span class=\"small muted\">µg/m³</span>")
    );
    // A missing hour cannot be picked for a correction.
    let select = &html.body[html.body.find("name=\"ts\"").unwrap()..];
    let select = &select[..select.find("</select>").unwrap()];
    assert_eq!(select.matches("<option").count(), 20);
    assert!(!select.contains(&format!("value=\"{}\"", start + 5 * 3600)));
    // A day the station sent nothing: all 24 hours listed missing, no correction form.
    let empty = page(
        &app,
        &monitor,
        &format!("/stations/{station}/audit?day=2024-03-02"),
    )
    .await;
    assert!(empty.body.contains("缺测 24 小时"));
    assert!(!empty.body.contains("correction-form"));
    // A malformed query is the Chinese error page, not JSON.
    let bad = page(&app, &monitor, &format!("/stations/{station}?year=abc")).await;
    assert_eq!(bad.status, http::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.content_type().starts_with("text/html"));
});

testkit::db_test!(hourly_export_from_the_station_page, |db| {
    let app = TestApp::new(db.clone()).await;
    let station = point(&app, "A1", PointKind::AirStation, app.street_a).await;
    let other = point(&app, "B1", PointKind::AirStation, app.street_b).await;
    let start = cst_day_start(date(3, 1));
    let mut rows = Vec::new();
    for h in 0..48 {
        rows.push(reading(
            station,
            "a34004",
            start + h * 3600,
            Period::Hour,
            40.0,
        ));
        rows.push(reading(
            station,
            "a34002",
            start + h * 3600,
            Period::Hour,
            70.0,
        ));
        rows.push(reading(
            station,
            "a01001",
            start + h * 3600,
            Period::Hour,
            5.0,
        ));
    }
    rows.push(reading(station, "a34004", start, Period::Day, 40.0));
    write(&app, rows).await;
    let session = app.session(Role::Monitoring).await;

    // The form is on the station page.
    let html = page(&app, &session, &format!("/stations/{station}")).await;
    assert!(
        html.body
            .contains(&format!("action=\"/stations/{station}/export\""))
    );
    assert!(
        html.body
            .contains("name=\"factors\" value=\"a34004\" checked")
    );

    // CSV: 2024-03-01 only, PM2.5 and PM10, hours: 2 × 24 lines and the header.
    let csv = page(
        &app,
        &session,
        &format!("/stations/{station}/export?from=2024-03-01&to=2024-03-01&period=hour&factors=a34004&factors=a34002&format=csv"),
    )
    .await;
    assert_eq!(csv.status, http::StatusCode::OK, "{}", csv.body);
    assert_eq!(csv.content_type(), "text/csv; charset=utf-8");
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 1 + 48, "{}", csv.body);
    assert!(lines[0].starts_with("point,factor,time,period,value"));
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.starts_with("A1,a3400") && l.contains(",hour,"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("A1,a34002,2024-03-01T23:00:00+08:00"))
    );

    // XLSX: the two days, one factor; a workbook (a ZIP) with its attachment name.
    let xlsx = page(
        &app,
        &session,
        &format!(
            "/stations/{station}/export?from=2024-03-01&to=2024-03-02&factors=a34004&format=xlsx"
        ),
    )
    .await;
    assert_eq!(xlsx.status, http::StatusCode::OK);
    assert_eq!(
        xlsx.content_type(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(xlsx.body.starts_with("PK"));
    let disposition = xlsx.headers[http::header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap();
    assert!(
        disposition.contains("2024-03-01_2024-03-02.xlsx"),
        "{disposition}"
    );

    // The API gives the same span and factors.
    let token = app.token(Role::Monitoring).await;
    let api = app
        .get_with_token(
            &format!("/api/v1/readings/export.csv?point={station}&from=2024-03-01&to=2024-03-01&factors=a34004,a34002&period=hour"),
            &token,
        )
        .await;
    assert_eq!(api.status, http::StatusCode::OK, "{}", api.body);
    assert_eq!(api.body, csv.body);
    let bad = app
        .get_with_token(
            &format!("/api/v1/readings/export.csv?point={station}&month=2024-03&from=2024-03-01&to=2024-03-02"),
            &token,
        )
        .await;
    assert_eq!(bad.status, http::StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json()["field"], "month");

    // Bad input from the form: Chinese pages naming what is wrong, never JSON.
    for (query, message) in [
        (
            "from=2024-03-01&to=2024-03-01&format=csv",
            "请至少选择一个监测因子",
        ),
        (
            "from=2024-03-02&to=2024-03-01&factors=a34004",
            "结束日期不能早于开始日期",
        ),
        (
            "from=2024-03-01&to=2025-03-05&factors=a34004",
            "一次最多导出 366 天",
        ),
        (
            "from=2024/03/01&to=2024-03-01&factors=a34004",
            "日期格式应为",
        ),
        (
            "from=2024-03-01&to=2024-03-01&factors=x99999",
            "未知的监测因子",
        ),
        (
            "from=2024-03-01&to=2024-03-01&factors=a34004&format=pdf",
            "格式须为",
        ),
    ] {
        let reply = page(
            &app,
            &session,
            &format!("/stations/{station}/export?{query}"),
        )
        .await;
        assert_eq!(
            reply.status,
            http::StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
        assert!(reply.content_type().starts_with("text/html"), "{query}");
        assert!(reply.body.contains(message), "{query}: {}", reply.body);
    }
    // A street officer of street A may not export street B's station: 404.
    let officer = app.session(Role::StreetOfficer).await;
    let foreign = page(
        &app,
        &officer,
        &format!("/stations/{other}/export?from=2024-03-01&to=2024-03-01&factors=a34004"),
    )
    .await;
    assert_eq!(foreign.status, http::StatusCode::NOT_FOUND);
});
