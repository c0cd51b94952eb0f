//! The API and the page through the whole application (crates/webtest), on both backends.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kernel::Role;
use registry::model::PointKind;
use webtest::TestApp;

use crate::support::{point, write_series};

struct Fixture {
    app: TestApp,
    station: i64,
    section: i64,
    outlet: i64,
}

/// 1021A (street A) with wind; a water section (street B) without wind; an outlet (street B).
async fn fixture(db: kernel::Db) -> Fixture {
    let app = TestApp::new(db.clone()).await;
    let station = point(&db, "1021A", PointKind::AirStation, Some(app.street_a)).await;
    let section = point(&db, "W-01", PointKind::WaterSection, Some(app.street_b)).await;
    let outlet = point(&db, "DA001", PointKind::Outlet, Some(app.street_b)).await;
    write_series(&db, station, true).await;
    write_series(&db, section, false).await;
    Fixture {
        app,
        station,
        section,
        outlet,
    }
}

const PERIOD: &str = "from=2023-01-01&to=2024-12-31";

async fn get(f: &Fixture, role: Role, path: &str) -> webtest::Reply {
    let token = f.app.token(role).await;
    f.app.get_with_token(path, &token).await
}

fn assert_problem(reply: &webtest::Reply, status: StatusCode, field: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert!(
        reply.content_type().starts_with("application/problem+json"),
        "{}",
        reply.content_type()
    );
    if !field.is_empty() {
        assert_eq!(reply.json()["field"], field, "{}", reply.body);
    }
}

testkit::db_test!(every_analysis_answers_on_the_planted_series, |db| {
    let f = fixture(db).await;
    // Default point: 1021A; default factor: PM2.5.
    let rose = get(&f, Role::Leader, &format!("/api/v1/analysis/rose?{PERIOD}")).await;
    assert_eq!(rose.status, StatusCode::OK, "{}", rose.body);
    let rose = rose.json();
    assert_eq!(rose["point"]["code"], "1021A");
    assert_eq!(rose["factor"]["code"], "a34004");
    assert_eq!(rose["result"]["wind"], true);
    assert_eq!(rose["result"]["rose"]["dominant"], "NE");
    assert_eq!(rose["result"]["rose"]["hours"], 2 * 365 * 24);
    assert!(rose["question"].as_str().unwrap().contains("来源在哪里"));

    let path = format!(
        "/api/v1/analysis/polar?point={}&{PERIOD}&bandwidth=0",
        f.station
    );
    let polar = get(&f, Role::Monitoring, &path).await.json();
    let peak = &polar["result"]["polar"]["peak"];
    let direction = peak["direction"].as_f64().unwrap();
    let speed = peak["speed"].as_f64().unwrap();
    assert!((30.0..=60.0).contains(&direction), "{peak}");
    assert!((2.0..=5.0).contains(&speed), "{peak}");

    let variation = get(
        &f,
        Role::Leader,
        &format!("/api/v1/analysis/variation?{PERIOD}"),
    )
    .await
    .json();
    assert_eq!(variation["result"]["by_hour"].as_array().unwrap().len(), 24);
    assert_eq!(
        variation["result"]["by_hour_weekday"]
            .as_array()
            .unwrap()
            .len(),
        168
    );
    assert_eq!(variation["result"]["hours"], 2 * 365 * 24);

    let calendar = get(
        &f,
        Role::Leader,
        &format!("/api/v1/analysis/calendar?{PERIOD}&year=2024"),
    )
    .await
    .json();
    let c = &calendar["result"];
    assert_eq!(c["days"].as_array().unwrap().len(), 366);
    assert_eq!(
        c["days_with_aqi"], 365,
        "2024-12-31 CST is the last day written… {}",
        c["days_with_aqi"]
    );
    assert_eq!(c["days"][0]["standard"], "HJ 633-2012");
    assert!(c["days"][0]["aqi"].as_u64().is_some());

    // The planted −10 from 2024-07-01 shows as a falling trend.
    let trend = get(
        &f,
        Role::Leader,
        &format!("/api/v1/analysis/trend?{PERIOD}&deseasonalise=true"),
    )
    .await
    .json();
    let t = &trend["result"];
    assert_eq!(t["n"], 24);
    assert!(t["slope"]["slope"].as_f64().unwrap() < 0.0, "{t}");
    assert!(t["mann_kendall"]["p_value"].as_f64().unwrap() < 0.05, "{t}");

    let path = format!("/api/v1/analysis/before-after?{PERIOD}&date=2024-07-01&days=60");
    let ba = get(&f, Role::Leader, &path).await.json();
    let d = &ba["result"]["main"]["difference"];
    assert!(
        d["lower"].as_f64().unwrap() < -10.0 + 3.0 && d["upper"].as_f64().unwrap() > -10.0 - 3.0,
        "{d}"
    );
    assert!(d["upper"].as_f64().unwrap() < 0.0, "{d}");
    assert_eq!(ba["result"]["main"]["before"]["days"], 60);
    assert!(
        ba["result"]["control"].is_object(),
        "2023 is there as the control"
    );
    let net = &ba["result"]["net"];
    assert!(
        net["lower"].as_f64().unwrap() < -10.0 && -10.0 < net["upper"].as_f64().unwrap(),
        "{net}"
    );
});

testkit::db_test!(a_point_without_wind_says_so, |db| {
    let f = fixture(db).await;
    for api in ["rose", "polar"] {
        let path = format!("/api/v1/analysis/{api}?point={}&{PERIOD}", f.section);
        let reply = get(&f, Role::Leader, &path).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let body = reply.json();
        assert_eq!(body["result"]["wind"], false);
        assert!(
            body["notes"].to_string().contains("没有风向数据"),
            "{}",
            body["notes"]
        );
    }
    // A factor the point never measured: the answer says there are no data.
    let path = format!(
        "/api/v1/analysis/variation?point={}&factor=w01018&{PERIOD}",
        f.section
    );
    let body = get(&f, Role::Leader, &path).await.json();
    assert_eq!(body["result"]["hours"], 0);
    assert!(
        body["notes"].to_string().contains("没有"),
        "{}",
        body["notes"]
    );
});

testkit::db_test!(bad_parameters_are_422_problems, |db| {
    let f = fixture(db).await;
    for (query, field) in [
        ("rose?factor=a3400%27;drop", "factor"),
        ("rose?from=2024-05-01&to=2024-01-01", "from"),
        ("rose?from=2024-13-01", "from"),
        ("rose?from=2000-01-01&to=2024-01-01", "from"),
        ("rose?sectors=5", "sectors"),
        ("polar?bandwidth=9", "bandwidth"),
        ("polar?min_count=0", "min_count"),
        ("calendar?year=1800", "year"),
        ("before-after", "date"),
        ("before-after?date=2024-07-01&days=1000", "days"),
        ("trend?point=abc", "point"),
        ("trend?deseasonalise=maybe", "deseasonalise"),
    ] {
        let reply = get(&f, Role::Leader, &format!("/api/v1/analysis/{query}")).await;
        assert_problem(&reply, StatusCode::UNPROCESSABLE_ENTITY, field);
    }
    let reply = get(&f, Role::Leader, "/api/v1/analysis/rose?point=999999").await;
    assert_problem(&reply, StatusCode::NOT_FOUND, "");
});

testkit::db_test!(street_officers_and_the_public_see_only_their_points, |db| {
    let f = fixture(db).await;
    let path = |id: i64| format!("/api/v1/analysis/variation?point={id}&{PERIOD}");
    // Street officer of street A: 1021A yes; street B's section and outlet: 404.
    assert_eq!(
        get(&f, Role::StreetOfficer, &path(f.station)).await.status,
        StatusCode::OK
    );
    for id in [f.section, f.outlet] {
        let reply = get(&f, Role::StreetOfficer, &path(id)).await;
        assert_problem(&reply, StatusCode::NOT_FOUND, "");
    }
    // The public: air stations and water sections, never an outlet.
    assert_eq!(
        get(&f, Role::Public, &path(f.station)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        get(&f, Role::Public, &path(f.section)).await.status,
        StatusCode::OK
    );
    assert_problem(
        &get(&f, Role::Public, &path(f.outlet)).await,
        StatusCode::NOT_FOUND,
        "",
    );
    // Without credentials: 401.
    let anonymous = f
        .app
        .send(Request::get(path(f.station)).body(Body::empty()).unwrap())
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
});

testkit::db_test!(
    the_page_states_each_question_and_lists_only_visible_points,
    |db| {
        let f = fixture(db).await;
        let page = |cookie: String, query: &'static str| {
            Request::get(format!("/analysis{query}"))
                .header(header::COOKIE, cookie)
                .body(Body::empty())
                .unwrap()
        };
        let leader = f.app.session(Role::Leader).await;
        let reply = f.app.send(page(leader.cookie.clone(), "")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        for text in [
            "来源在哪里",
            "是交通还是工业",
            "我们在改善吗",
            "整治见效了吗",
            "1021A",
            "W-01",
            "DA001",
            "echarts",
        ] {
            assert!(reply.body.contains(text), "missing {text}");
        }
        assert!(reply.body.contains("/api/v1/analysis/rose?point="));
        // A street officer's chooser holds only street A's point.
        let officer = f.app.session(Role::StreetOfficer).await;
        let reply = f.app.send(page(officer.cookie.clone(), "")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert!(
            reply.body.contains("1021A")
                && !reply.body.contains("W-01")
                && !reply.body.contains("DA001")
        );
        // Bad input on the page: an HTML error page, not JSON.
        let reply = f
            .app
            .send(page(leader.cookie.clone(), "?from=yesterday"))
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            reply.content_type().starts_with("text/html"),
            "{}",
            reply.content_type()
        );
        let reply = f.app.send(page(officer.cookie, "?point=999999")).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        // Anonymous: to the login page.
        let reply = f
            .app
            .send(Request::get("/analysis").body(Body::empty()).unwrap())
            .await;
        assert!(reply.status.is_redirection(), "{}", reply.status);
    }
);

/// Every schema and response the analysis paths refer to, and every one those refer to, exists in the document.
fn check_refs(
    doc: &serde_json::Value,
    value: &serde_json::Value,
    seen: &mut std::collections::BTreeSet<String>,
) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::String(r)) = map.get("$ref")
                && seen.insert(r.clone())
            {
                let target = r.strip_prefix('#').and_then(|pointer| doc.pointer(pointer));
                let target = target.filter(|t| t.is_object());
                assert!(target.is_some(), "dangling $ref {r}");
                if let Some(target) = target {
                    check_refs(doc, target, seen);
                }
            }
            map.values().for_each(|v| check_refs(doc, v, seen));
        }
        serde_json::Value::Array(list) => list.iter().for_each(|v| check_refs(doc, v, seen)),
        _ => {}
    }
}

testkit::db_test!(the_openapi_document_describes_the_analyses, |db| {
    let app = TestApp::new(db).await;
    let token = app.token(Role::Leader).await;
    let doc = app
        .get_with_token("/api/v1/openapi.json", &token)
        .await
        .json();
    let mut seen = std::collections::BTreeSet::new();
    for api in [
        "rose",
        "polar",
        "variation",
        "calendar",
        "trend",
        "before-after",
    ] {
        let path = &doc["paths"][format!("/api/v1/analysis/{api}")]["get"];
        assert!(path.is_object(), "{api} missing");
        check_refs(&doc, path, &mut seen);
    }
    assert!(seen.len() > 10, "{seen:?}");
});
