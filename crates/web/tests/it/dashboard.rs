//! The dashboard's figures over HTTP: yesterday's district AQI, each station's real-time AQI, the water
//! sections' latest month, street scoping, the district map — on constructed data whose answers are worked
//! out by hand.

use chrono::Duration;
use kernel::Role;
use kernel::time::{cst_day, cst_day_start, now_ts};
use readings::model::{DataFlag, Period, Reading};
use readings::store::{self, NewSource};
use registry::model::{PointKind, PointRegistration};

use crate::app::TestApp;

async fn point(app: &TestApp, code: &str, kind: PointKind, level: &str, street: i64) -> i64 {
    point_at(app, code, kind, level, street, [117.3, 39.1]).await
}

async fn point_at(
    app: &TestApp,
    code: &str,
    kind: PointKind,
    level: &str,
    street: i64,
    [lon, lat]: [f64; 2],
) -> i64 {
    registry::service::register_point(
        &app.state.db,
        "test",
        &PointRegistration {
            code: code.into(),
            name: format!("点位{code}"),
            kind,
            level: level.parse().unwrap(),
            street_id: Some(street),
            lon: Some(lon),
            lat: Some(lat),
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
            name: "dashboard test".into(),
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

testkit::db_test!(dashboard_shows_computed_figures_within_scope, |db| {
    let app = TestApp::new(db.clone()).await;
    let national = point(&app, "N1", PointKind::AirStation, "national", app.street_a).await;
    let micro_b = point(&app, "MB", PointKind::AirStation, "micro", app.street_b).await;
    let section = point(
        &app,
        "S1",
        PointKind::WaterSection,
        "municipal",
        app.street_a,
    )
    .await;
    sqlx::query(
        "UPDATE monitoring_points SET target_class = 3, water_kind = 'river' WHERE id = $1",
    )
    .bind(section)
    .execute(db.pool())
    .await
    .unwrap();

    // Yesterday: 24 hours of PM2.5 = 80 at the national station (the only assessment station) → daily PM2.5
    // 80: under HJ 633-2026 IAQI ceil(100 + 20·50/55) = 119; under HJ 633-2012 ceil(100 + 5·50/40) = 107.
    let now = now_ts();
    let today = cst_day(now);
    let yesterday = cst_day_start(today - Duration::days(1));
    let mut rows: Vec<Reading> = (0..24)
        .map(|h| reading(national, "a34004", yesterday + h * 3600, Period::Hour, 80.0))
        .collect();
    // The previous hour at both stations: NO2 1-h 200 µg/m³ → IAQI 100 exactly in both editions.
    let last_hour = now - now.rem_euclid(3600) - 3600;
    for p in [national, micro_b] {
        rows.push(reading(p, "a21004", last_hour, Period::Hour, 200.0));
    }
    write(&app, rows).await;
    // This month's water sample: NH3-N 1.2 (class IV), DO 6 (II) → class IV, misses its target III.
    let sample_day = cst_day_start(
        chrono::NaiveDate::from_ymd_opt(
            chrono::Datelike::year(&today),
            chrono::Datelike::month(&today),
            1,
        )
        .unwrap(),
    );
    write(
        &app,
        vec![
            reading(section, "w21003", sample_day, Period::Day, 1.2),
            reading(section, "w01009", sample_day, Period::Day, 6.0),
        ],
    )
    .await;

    let token = app.token(Role::Leader).await;
    let reply = app.get_with_token("/api/v1/dashboard", &token).await;
    assert_eq!(reply.status, http::StatusCode::OK, "{}", reply.body);
    let d = reply.json();
    let edition_2026 = today - Duration::days(1) >= standards::aqi::hj633_2026_effective_date();
    let expected = if edition_2026 { 119 } else { 107 };
    assert_eq!(d["yesterday"]["aqi"], expected, "{}", d["yesterday"]);
    assert_eq!(d["yesterday"]["primary"], "PM2.5");
    // The monthly trend (standards::assessment::monthly_means): yesterday's month has one PM2.5 day of 80 and no
    // valid day (five pollutants missing), so a mean and no good-day ratio.
    let month = &d["trend"][chrono::Datelike::month(&(today - Duration::days(1))) as usize - 1];
    assert_eq!(month["pm25"], 80.0, "{month}");
    assert_eq!(month["good_ratio"], serde_json::Value::Null, "{month}");
    let stations = d["stations"].as_array().unwrap();
    assert_eq!(stations.len(), 2);
    // The micro-station has only that hour: its real-time AQI is NO2's. (The national station's also counts
    // PM2.5's 24-h moving mean, which reaches back into yesterday's hours in the first hours after CST midnight.)
    let mb = stations.iter().find(|s| s["code"] == "MB").unwrap();
    assert_eq!(mb["aqi"], 100, "NO2 1-h 200 µg/m³ is IAQI 100: {mb}");
    let n1 = stations.iter().find(|s| s["code"] == "N1").unwrap();
    assert!(n1["aqi"].as_i64().unwrap() >= 100, "{n1}");
    let sections = d["sections"].as_array().unwrap();
    assert_eq!(sections[0]["class"], "IV类");
    assert_eq!(sections[0]["meets_target"], false);
    assert_eq!(d["class_counts"], serde_json::json!([0, 0, 0, 1, 0, 0]));
    assert!(d["targets"].is_array());
    assert_eq!(d["alarms"]["total"], 0);
    // Every marker's colour is the colour of its entry in the map's legend: the legend explains the map.
    let legend = d["map_legend"].as_array().unwrap();
    let points = d["map_points"].as_array().unwrap();
    for p in points {
        let entry = legend
            .iter()
            .find(|e| e["label"] == p["legend"])
            .unwrap_or_else(|| panic!("no legend entry for {p}"));
        assert_eq!(entry["colour"], p["colour"], "{p}");
    }
    let legend_of =
        |key: &str, value: &str| points.iter().find(|p| p[key] == value).unwrap()["legend"].clone();
    assert_eq!(legend_of("name", "点位MB"), "良", "AQI 100 is 良");
    assert_eq!(legend_of("kind", "section"), "IV类");

    // A street officer of street A sees street A's points only, no enterprises' alarms of other streets.
    let officer = app.token(Role::StreetOfficer).await;
    let d = app
        .get_with_token("/api/v1/dashboard", &officer)
        .await
        .json();
    let codes: Vec<&str> = d["stations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["N1"]);
    assert_eq!(d["street"], "张贵庄街道");

    // The public sees stations and sections, but no alarms.
    let public = app.token(Role::Public).await;
    let d = app
        .get_with_token("/api/v1/dashboard", &public)
        .await
        .json();
    assert!(d["alarms"].is_null());
    assert_eq!(d["stations"].as_array().unwrap().len(), 2);

    // The page renders with its chart containers and the embedded data.
    let session = app.session(Role::Leader).await;
    let page = app
        .send(
            http::Request::get("/")
                .header(http::header::COOKIE, &session.cookie)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, http::StatusCode::OK);
    for id in [
        "district-map",
        "trend-pm25",
        "trend-good",
        "water-classes",
        "dashboard-data",
    ] {
        assert!(page.body.contains(&format!("id=\"{id}\"")), "{id}");
    }
    // The packaged district map holds Dongli (adcode 120110).
    let map = app.get_with_token("/map/district.geojson", &token).await;
    assert_eq!(map.status, http::StatusCode::OK);
    assert!(map.body.contains("120110"));
});

testkit::db_test!(a_configured_boundary_replaces_the_packaged_map, |db| {
    let app = TestApp::new(db).await;
    let geo = app.state.config.data_dir.join("geo");
    std::fs::create_dir_all(&geo).unwrap();
    std::fs::write(
        geo.join("district.geojson"),
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":"120110","properties":{"name":"官方边界"},"geometry":{"type":"Polygon","coordinates":[[[117.2,39.0],[117.5,39.0],[117.5,39.2],[117.2,39.0]]]}}]}"#,
    )
    .unwrap();
    let token = app.token(Role::Leader).await;
    let map = app.get_with_token("/map/district.geojson", &token).await;
    assert!(map.body.contains("官方边界"));
});

testkit::db_test!(
    the_streets_map_partitions_the_district_around_the_streets,
    |db| {
        let app = TestApp::new(db).await;
        // The test streets have no centre: each is placed at the mean of its points.
        point(&app, "A1", PointKind::AirStation, "micro", app.street_a).await;
        point_at(
            &app,
            "B1",
            PointKind::AirStation,
            "micro",
            app.street_b,
            [117.45, 39.15],
        )
        .await;
        let token = app.token(Role::Leader).await;
        let map = app.get_with_token("/map/streets.geojson", &token).await;
        assert_eq!(map.status, http::StatusCode::OK);
        assert_eq!(
            map.headers.get(http::header::CONTENT_TYPE).unwrap(),
            "application/geo+json"
        );
        let map = map.json();
        assert_eq!(map["type"], "FeatureCollection");
        assert_eq!(
            map["simulated"], true,
            "no street file: the partition is simulated"
        );
        let features = map["features"].as_array().unwrap();
        let names: Vec<&str> = features
            .iter()
            .map(|f| f["properties"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["张贵庄街道", "华明街道"]);
        for f in features {
            assert_eq!(f["geometry"]["type"], "Polygon", "{f}");
            assert_eq!(f["properties"]["simulated"], true);
            assert!(f["properties"]["cp"].is_array());
        }
        assert_eq!(map["missing"], serde_json::json!([]));
    }
);

testkit::db_test!(a_supplied_street_map_is_matched_to_the_registry, |db| {
    let app = TestApp::new(db).await;
    let geo = app.state.config.data_dir.join("geo");
    std::fs::create_dir_all(&geo).unwrap();
    std::fs::write(
        geo.join("streets.geojson"),
        r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"name":"华明街道"},"geometry":{"type":"Polygon","coordinates":[[[117.3,39.1],[117.4,39.1],[117.4,39.2],[117.3,39.1]]]}},
            {"type":"Feature","properties":{"code":"zgz","name":"张贵庄"},"geometry":{"type":"Polygon","coordinates":[[[117.2,39.0],[117.3,39.0],[117.3,39.1],[117.2,39.0]]]}},
            {"type":"Feature","properties":{"name":"别区街道"},"geometry":{"type":"Polygon","coordinates":[[[117.5,39.0],[117.6,39.0],[117.6,39.1],[117.5,39.0]]]}}
        ]}"#,
    )
    .unwrap();
    let token = app.token(Role::Public).await;
    let map = app.get_with_token("/map/streets.geojson", &token).await;
    assert_eq!(map.status, http::StatusCode::OK);
    let map = map.json();
    assert_eq!(map["simulated"], false);
    let names: Vec<&str> = map["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["张贵庄街道", "华明街道"],
        "matched by code, then name; registry order"
    );
    assert_eq!(map["unmatched"], serde_json::json!(["别区街道"]));

    // A broken file is reported, and the simulated partition drawn instead.
    std::fs::write(geo.join("streets.geojson"), "{ not json").unwrap();
    let map = app
        .get_with_token("/map/streets.geojson", &token)
        .await
        .json();
    assert_eq!(map["simulated"], true);
    assert!(
        map["error"]
            .as_str()
            .unwrap()
            .contains("geo/streets.geojson")
    );
});

testkit::db_test!(a_renamed_station_shows_at_once_on_the_dashboard, |db| {
    // The dashboard is cached per data stamp and minute; the stamp moves with every audited change, so an edit
    // of the registry (no new readings) shows on the next request.
    let app = TestApp::new(db.clone()).await;
    let station = point(&app, "R1", PointKind::AirStation, "national", app.street_a).await;
    let now = now_ts();
    let last_hour = now - now.rem_euclid(3600) - 3600;
    write(
        &app,
        vec![reading(station, "a21004", last_hour, Period::Hour, 200.0)],
    )
    .await;
    let token = app.token(Role::Leader).await;
    let names = |d: serde_json::Value| -> Vec<String> {
        d["stations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    let before = app.get_with_token("/api/v1/dashboard", &token).await.json();
    assert_eq!(names(before), vec!["点位R1"]);
    let admin = app.token(Role::Admin).await;
    let path = format!("/api/v1/points/{station}");
    let mut edited = app.get_with_token(&path, &admin).await.json();
    edited["name"] = "新名称站".into();
    let put = app
        .json_with_token("PUT", &path, &admin, &edited.to_string())
        .await;
    assert_eq!(put.status, axum::http::StatusCode::OK, "{}", put.body);
    let after = app.get_with_token("/api/v1/dashboard", &token).await.json();
    assert_eq!(names(after), vec!["新名称站"]);
});
