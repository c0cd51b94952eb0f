//! One figure, one value on every page: for the same station (the district's only assessment station, so that
//! the district area is that station) and period, the days per AQI category, the good days, the heavy-pollution
//! days and the exceedance days given by the analysis calendar API, the station page's data, the dashboard
//! (its monthly trend and its target cards) and the targets API are equal — on seeded hours that include days
//! above AQI 500 (严重污染, no number: HJ 633's tables end at 500), a day with too few valid hours and a day with
//! a pollutant missing (neither counted).

use chrono::{Datelike, Duration, NaiveDate};
use kernel::Role;
use kernel::time::{cst_day, cst_day_start, now_ts};
use readings::model::{DataFlag, Period, Reading};
use readings::store::{self, NewSource};
use registry::model::{PointKind, PointRegistration};
use serde_json::{Value, json};

use crate::app::TestApp;

/// A seeded day: the PM2.5 value of every hour (the other five pollutants low), or a day that must not count.
#[derive(Clone, Copy, Debug)]
enum Day {
    /// 24 hours of all six pollutants at this PM2.5 (µg/m³).
    Pm25(f64),
    /// Only 15 hours of all six (GB 3095: a daily value needs 20): no level, not counted.
    Short,
    /// 24 hours of five pollutants, CO missing: an AQI from the five, but not counted (all six required).
    NoCo,
}

impl Day {
    /// The HJ 633 level (1–6) of a counted day, identical in both editions for these values: PM2.5 30 → 优,
    /// 80 → 轻度, 200 → 重度 (IAQI 250), 350 → 严重 (400), 600 → above the table, 严重.
    fn level(self) -> Option<usize> {
        match self {
            Day::Pm25(v) if v <= 35.0 => Some(1),
            Day::Pm25(v) if v <= 115.0 => Some(3),
            Day::Pm25(v) if v <= 250.0 => Some(5),
            Day::Pm25(_) => Some(6),
            Day::Short | Day::NoCo => None,
        }
    }
}

/// What every page must say of the days in `from..=to`: valid days, days per level, good, heavy, exceedance.
fn expected(days: &[(NaiveDate, Day)], from: NaiveDate, to: NaiveDate) -> Value {
    let mut per_level = [0u32; 6];
    for (_, day) in days.iter().filter(|(d, _)| *d >= from && *d <= to) {
        if let Some(level) = day.level() {
            per_level[level - 1] += 1;
        }
    }
    let valid: u32 = per_level.iter().sum();
    json!({
        "valid_days": valid,
        "days_per_level": per_level,
        "good_days": per_level[0] + per_level[1],
        "heavy_days": per_level[4] + per_level[5],
        "exceedance_days": valid - per_level[0] - per_level[1],
        "days_not_counted": (to - from).num_days() as u32 + 1 - valid,
    })
}

/// The good-day ratio as the pages give it (percent, 1 decimal), `null` without valid days.
fn ratio(counts: &Value) -> Value {
    let valid = counts["valid_days"].as_u64().unwrap();
    if valid == 0 {
        return Value::Null;
    }
    let good = counts["good_days"].as_u64().unwrap();
    json!((good as f64 * 1000.0 / valid as f64).round() / 10.0)
}

fn hours(point: i64, date: NaiveDate, day: Day) -> Vec<Reading> {
    let (pm25, hours, co) = match day {
        Day::Pm25(v) => (v, 24, true),
        Day::Short => (80.0, 15, true),
        Day::NoCo => (80.0, 24, false),
    };
    let start = cst_day_start(date);
    let mut out = Vec::new();
    for h in 0..hours {
        let ts = start + h * 3600;
        let mut values = vec![
            ("a21026", 5.0),
            ("a21004", 20.0),
            ("a34002", 30.0),
            ("a34004", pm25),
            ("a05024", 40.0),
        ];
        if co {
            values.push(("a21005", 0.5));
        }
        for (factor, value) in values {
            out.push(Reading {
                point_id: point,
                factor: factor.into(),
                ts,
                period: Period::Hour,
                value: Some(value),
                flag: DataFlag::default(),
            });
        }
    }
    out
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

testkit::db_test!(every_page_counts_the_same_days, |db| {
    let app = TestApp::new(db.clone()).await;
    let station = registry::service::register_point(
        &app.state.db,
        "test",
        &PointRegistration {
            code: "N1".into(),
            name: "国控一号".into(),
            kind: PointKind::AirStation,
            level: "national".parse().unwrap(),
            street_id: Some(app.street_a),
            lon: None,
            lat: None,
            owner: "测试".into(),
            simulated: false,
        },
    )
    .await
    .unwrap()
    .id;
    let today = cst_day(now_ts());
    let yesterday = today - Duration::days(1);
    let (this_year, last_year) = (today.year(), today.year() - 1);

    // Last year: a whole January of kinds — 3 good, 2 light, 1 heavy, 2 above 500, 1 at 400, one short, one
    // without CO.
    let mut seeded: Vec<(NaiveDate, Day)> = [
        Day::Pm25(30.0),
        Day::Pm25(30.0),
        Day::Pm25(30.0),
        Day::Pm25(80.0),
        Day::Pm25(80.0),
        Day::Pm25(200.0),
        Day::Pm25(600.0),
        Day::Pm25(600.0),
        Day::Pm25(350.0),
        Day::Short,
        Day::NoCo,
    ]
    .into_iter()
    .enumerate()
    .map(|(i, day)| (date(last_year, 1, i as u32 + 1), day))
    .collect();
    // This year: the complete days up to yesterday (as many of six as the year has had), of the same kinds.
    let recent = [
        Day::Pm25(30.0),
        Day::Pm25(600.0),
        Day::Pm25(80.0),
        Day::Short,
        Day::Pm25(200.0),
        Day::NoCo,
    ];
    for (i, day) in recent.into_iter().enumerate() {
        let d = yesterday - Duration::days(i as i64);
        if d.year() == this_year {
            seeded.push((d, day));
        }
    }
    let rows: Vec<Reading> = seeded
        .iter()
        .flat_map(|&(d, day)| hours(station, d, day))
        .collect();
    let source = store::create_source(
        &app.state.db,
        &NewSource {
            kind: "api",
            name: "consistency test".into(),
            checksum: None,
            received_by: "test".into(),
            idempotency_key: None,
        },
    )
    .await
    .unwrap();
    store::write(&app.state.db, source, &rows).await.unwrap();
    targets::service::ensure_seeded(&app.state.db, this_year)
        .await
        .unwrap();

    let token = app.token(Role::Leader).await;
    let get = |path: String| {
        let app = &app;
        let token = token.clone();
        async move {
            let reply = app.get_with_token(&path, &token).await;
            assert_eq!(reply.status, http::StatusCode::OK, "{path}: {}", reply.body);
            reply.json()
        }
    };

    for year in [last_year, this_year] {
        let from = date(year, 1, 1);
        let to = if year == this_year {
            yesterday
        } else {
            date(year, 12, 31)
        };
        if to < from {
            // 1 January: this year has no complete day yet; every page says so with zero days.
            let v = get(format!("/api/v1/stations/{station}?year={year}")).await;
            assert_eq!(v["counts"]["valid_days"], 0, "{}", v["counts"]);
            continue;
        }
        let want = expected(&seeded, from, to);

        // The analysis calendar (the whole year; days after `to` have no data and are not counted either).
        let calendar = get(format!(
            "/api/v1/analysis/calendar?point={station}&factor=a34004&year={year}"
        ))
        .await;
        let mut counts = calendar["result"]["counts"].clone();
        let year_days = (date(year, 12, 31) - from).num_days() as u64 + 1;
        let span_days = (to - from).num_days() as u64 + 1;
        // The calendar spans the whole year; its uncounted days include the ones still to come.
        let future = year_days - span_days;
        counts["days_not_counted"] = json!(counts["days_not_counted"].as_u64().unwrap() - future);
        assert_eq!(counts, want, "analysis calendar {year}");
        let counted = calendar["result"]["days"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["counted"] == true)
            .count();
        assert_eq!(
            json!(counted),
            want["valid_days"],
            "calendar days marked counted, {year}"
        );

        // The station page's data (the same JSON the page embeds).
        let page = get(format!("/api/v1/stations/{station}?year={year}")).await;
        assert_eq!(page["counts"], want, "station page {year}");
        assert_eq!(
            json!(page["exceedance_days"].as_array().unwrap().len()),
            want["exceedance_days"],
            "the listed exceedance days, {year}"
        );

        // The targets: the good-day ratio over the valid days, and the heavy-pollution days.
        let targets = get(format!("/api/v1/targets?year={year}")).await;
        let target = |indicator: &str| {
            targets
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["target"]["indicator"] == indicator)
                .unwrap_or_else(|| panic!("no {indicator} target in {targets}"))
                .clone()
        };
        let good = target("good_day_ratio");
        assert_eq!(
            good["value"],
            ratio(&want),
            "targets' good-day ratio {year}: {good}"
        );
        if want["valid_days"] != 0 {
            assert_eq!(good["basis"], want["valid_days"], "targets' basis {year}");
            assert_eq!(
                target("heavy_pollution_days")["value"].as_f64(),
                want["heavy_days"].as_f64(),
                "targets' heavy-pollution days {year}"
            );
        }
    }

    // A day above 500: no number, 严重污染, counted — on the calendar and on the station page alike.
    let calendar = get(format!(
        "/api/v1/analysis/calendar?point={station}&factor=a34004&year={last_year}"
    ))
    .await;
    let beyond = &calendar["result"]["days"][6];
    assert_eq!(beyond["date"], format!("{last_year}-01-07"));
    assert_eq!(
        (
            &beyond["aqi"],
            &beyond["aqi_text"],
            &beyond["level"],
            &beyond["counted"]
        ),
        (&Value::Null, &json!(">500"), &json!(6), &json!(true)),
        "{beyond}"
    );
    let page = get(format!("/api/v1/stations/{station}?year={last_year}")).await;
    let day = page["calendar"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["date"] == format!("{last_year}-01-07"))
        .unwrap()
        .clone();
    assert_eq!(
        (&day["aqi_text"], &day["level"]),
        (&json!(">500"), &json!("严重污染"))
    );

    // The dashboard: each month's good-day ratio this year, last year's January (for a January in progress, its
    // same days), and its target cards.
    let dashboard = get("/api/v1/dashboard".into()).await;
    for month in 1..=12u32 {
        let first = date(this_year, month, 1);
        if first > yesterday {
            break;
        }
        let last = (first + chrono::Months::new(1) - Duration::days(1)).min(yesterday);
        let want = expected(&seeded, first, last);
        let tile = &dashboard["trend"][month as usize - 1];
        assert_eq!(
            tile["good_ratio"],
            ratio(&want),
            "dashboard {this_year}-{month}: {tile}"
        );
    }
    let january_through = if yesterday.year() == this_year && yesterday.month() == 1 {
        date(last_year, 1, yesterday.day())
    } else {
        date(last_year, 1, 31)
    };
    let want = expected(&seeded, date(last_year, 1, 1), january_through);
    assert_eq!(
        dashboard["trend"][0]["good_ratio_last_year"],
        ratio(&want),
        "dashboard, January of last year"
    );
    if yesterday.year() == this_year {
        let want = expected(&seeded, date(this_year, 1, 1), yesterday);
        let card = dashboard["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["target"]["indicator"] == "good_day_ratio")
            .unwrap()
            .clone();
        assert_eq!(card["value"], ratio(&want), "dashboard card: {card}");
    }

    // The station page as HTML shows the same counts, labelled with how far the year goes.
    let html = app
        .get_with_token(&format!("/stations/{station}?year={last_year}"), &token)
        .await;
    let want = expected(&seeded, date(last_year, 1, 1), date(last_year, 12, 31));
    assert!(html.body.contains("全年"), "a past year is labelled whole");
    assert!(
        html.body.contains(&format!(
            "<td>{}</td><td>{}</td>",
            want["valid_days"], want["good_days"]
        )),
        "the level-days table: {}",
        html.body
    );
});
