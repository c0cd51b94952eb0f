//! Pages and API over HTTP: street scoping, the lifecycle through the API and the pages, leads, bad input.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kernel::Role;
use testkit::db_test;
use webtest::TestApp;

use super::*;

/// The app with two enterprises (street A's is planted with repeated exceedances, street B's with a constant
/// value) judged by the worker.
async fn app_with_alarms(db: Db) -> (TestApp, Vec<(i64, i64, i64)>) {
    let app = TestApp::new(db.clone()).await;
    let outlets = seed_outlets(&db, &[app.street_a, app.street_b]).await;
    alarms::demo::simulate_outlet_history(&db, 7, DAY0 + 10 * 3600)
        .await
        .unwrap();
    let run = alarms::service::evaluate_due(&db, DAY0 + 10 * 3600 + 60)
        .await
        .unwrap();
    assert_eq!(run.raised, 4, "{run:?}");
    (app, outlets)
}

fn ids(reply: &webtest::Reply) -> Vec<i64> {
    reply.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect()
}

async fn alarm_of(app: &TestApp, token: &str, query: &str) -> serde_json::Value {
    let list = app
        .get_with_token(&format!("/api/v1/alarms?{query}"), token)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    list.json()["items"][0].clone()
}

db_test!(street_officers_see_only_their_streets_alarms, |db| {
    let (app, outlets) = app_with_alarms(db).await;
    let monitor = app.token(Role::Monitoring).await;
    let street = app.token(Role::StreetOfficer).await;
    let all = app.get_with_token("/api/v1/alarms", &monitor).await;
    assert_eq!(all.json()["total"], 4);
    let own = app.get_with_token("/api/v1/alarms", &street).await;
    assert_eq!(own.json()["total"], 3, "street A's three exceedances");
    assert!(
        own.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["enterprise_id"] == outlets[0].0)
    );
    let other = alarm_of(&app, &monitor, &format!("enterprise_id={}", outlets[1].0)).await;
    // The names come from the registry: the enterprise, its street, the outlet and the point.
    assert_eq!(
        (
            &other["enterprise_name"],
            &other["street_id"],
            &other["outlet_name"],
            &other["point_code"],
            &other["point_name"]
        ),
        (
            &serde_json::json!("测试钢铁1有限公司"),
            &serde_json::json!(app.street_b),
            &serde_json::json!("烧结机头"),
            &serde_json::json!("OUT-1"),
            &serde_json::json!("测试钢铁1 烧结机头")
        )
    );
    assert!(other["street_name"].as_str().is_some_and(|s| !s.is_empty()));
    let other_id = other["id"].as_i64().unwrap();
    let path = format!("/api/v1/alarms/{other_id}");
    assert_eq!(
        app.get_with_token(&path, &street).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get_with_token(&path, &monitor).await.status,
        StatusCode::OK
    );
    // Filtering on the other street gives nothing rather than its alarms.
    let filtered = app
        .get_with_token(
            &format!("/api/v1/alarms?street_id={}", app.street_b),
            &street,
        )
        .await;
    assert_eq!(ids(&filtered), Vec::<i64>::new());
    // The open summary is scoped too.
    let summary = app
        .get_with_token("/api/v1/alarms/summary", &street)
        .await
        .json();
    assert_eq!(summary["total"], 3);
    assert_eq!(summary["by_rule"][0]["rule"], "exceedance");
    let everything = app
        .get_with_token("/api/v1/alarms/summary", &monitor)
        .await
        .json();
    assert_eq!(everything["total"], 4);
    // The public sees no alarms at all; the page of another street's alarm is a 404 too.
    let public = app.token(Role::Public).await;
    assert_eq!(
        app.get_with_token("/api/v1/alarms", &public).await.status,
        StatusCode::FORBIDDEN
    );
    let session = app.session(Role::StreetOfficer).await;
    let page = app
        .send(
            Request::get(format!("/alarms/{other_id}"))
                .header(header::COOKIE, &session.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    // A street officer may not act on an alarm even of their street (the role reads only).
    let mine = own.json()["items"][0]["id"].as_i64().unwrap();
    let act = app
        .json_with_token(
            "POST",
            &format!("/api/v1/alarms/{mine}/actions"),
            &street,
            r#"{"action":"verify","verdict":"true","note":"看过"}"#,
        )
        .await;
    assert_eq!(act.status, StatusCode::FORBIDDEN);
    let outside = app
        .json_with_token(
            "POST",
            &format!("/api/v1/alarms/{other_id}/actions"),
            &street,
            r#"{"action":"verify","verdict":"true","note":"看过"}"#,
        )
        .await;
    assert_eq!(outside.status, StatusCode::NOT_FOUND);
});

async fn act(app: &TestApp, token: &str, id: i64, body: &str) -> webtest::Reply {
    app.json_with_token("POST", &format!("/api/v1/alarms/{id}/actions"), token, body)
        .await
}

db_test!(the_lifecycle_allows_and_refuses_steps, |db| {
    let (app, outlets) = app_with_alarms(db).await;
    let monitor = app.token(Role::Monitoring).await;
    let enforcer = app.token(Role::Enforcement).await;
    let leader = app.token(Role::Leader).await;
    let list = app
        .get_with_token(
            &format!("/api/v1/alarms?enterprise_id={}", outlets[0].0),
            &monitor,
        )
        .await;
    let exceedances = ids(&list);
    assert_eq!(exceedances.len(), 3);
    let (a, b) = (exceedances[0], exceedances[1]);

    // Leaders read, they do not act; handling or closing a raised alarm is refused.
    assert_eq!(
        act(
            &app,
            &leader,
            a,
            r#"{"action":"verify","verdict":"true","note":"x"}"#
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        act(&app, &monitor, a, r#"{"action":"handle","note":"x"}"#)
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        act(&app, &monitor, a, r#"{"action":"close","note":"x"}"#)
            .await
            .status,
        StatusCode::CONFLICT
    );
    // Bad input: no note, no or unknown verdict, unknown action, a stale version, not JSON.
    for (body, field) in [
        (
            r#"{"action":"verify","verdict":"true","note":"  "}"#,
            "note",
        ),
        (r#"{"action":"verify","note":"x"}"#, "verdict"),
        (
            r#"{"action":"verify","verdict":"maybe","note":"x"}"#,
            "verdict",
        ),
        (r#"{"action":"approve","note":"x"}"#, "action"),
        (r#"{"action":"verify","verdict":"true"}"#, "note"),
    ] {
        let reply = act(&app, &monitor, a, body).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
        assert_eq!(reply.json()["field"], field, "{body}");
        assert!(reply.content_type().starts_with("application/problem+json"));
    }
    assert_eq!(
        act(
            &app,
            &monitor,
            a,
            r#"{"action":"verify","verdict":"true","note":"x","version":99}"#
        )
        .await
        .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        act(&app, &monitor, a, "not json").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.get_with_token("/api/v1/alarms/abc", &monitor)
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.get_with_token("/api/v1/alarms/999999", &monitor)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // True: verify → handle → close, each step recorded with who and when; then nothing more.
    let verified = act(
        &app,
        &monitor,
        a,
        r#"{"action":"verify","verdict":"true","note":"调取DCS记录，超标属实","version":1}"#,
    )
    .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    let v = verified.json();
    assert_eq!(
        (
            v["state"].as_str(),
            v["verdict"].as_str(),
            v["verified_by"].as_str()
        ),
        (Some("verified"), Some("true"), Some("monitoring"))
    );
    assert_eq!(
        act(
            &app,
            &monitor,
            a,
            r#"{"action":"verify","verdict":"false_positive","note":"x"}"#
        )
        .await
        .status,
        StatusCode::CONFLICT
    );
    let handled = act(
        &app,
        &enforcer,
        a,
        r#"{"action":"handle","note":"责令改正，立案调查"}"#,
    )
    .await;
    assert_eq!(handled.json()["handled_by"], "enforcement");
    let closed = act(&app, &monitor, a, r#"{"action":"close","note":"复核完毕"}"#).await;
    assert_eq!(closed.json()["state"], "closed");
    assert!(closed.json()["deadline"].is_null());
    for body in [
        r#"{"action":"handle","note":"x"}"#,
        r#"{"action":"close","note":"x"}"#,
        r#"{"action":"verify","verdict":"true","note":"x"}"#,
    ] {
        assert_eq!(
            act(&app, &monitor, a, body).await.status,
            StatusCode::CONFLICT,
            "{body}"
        );
    }
    // False positive: no handling, closes directly.
    act(
        &app,
        &monitor,
        b,
        r#"{"action":"verify","verdict":"false_positive","note":"维护期间"}"#,
    )
    .await;
    assert_eq!(
        act(&app, &monitor, b, r#"{"action":"handle","note":"x"}"#)
            .await
            .status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        act(&app, &monitor, b, r#"{"action":"close","note":"误报"}"#)
            .await
            .json()["state"],
        "closed"
    );

    // Every step is in the audit log with the alarm before and after.
    let admin = app.token(Role::Admin).await;
    let audit = app
        .get_with_token(&format!("/api/v1/audit?entity=alarm&entity_id={a}"), &admin)
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.body);
    let actions: Vec<String> = audit.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    for action in ["create", "verify", "handle", "close"] {
        assert!(actions.iter().any(|x| x == action), "{actions:?}");
    }

    // Statistics: street A's enterprise this month, 3 alarms, 2 verified, one of them a false positive.
    let month = readings::audit::cst_month(DAY0 + 10 * 3600 + 60);
    let stats = app
        .get_with_token(&format!("/api/v1/alarms/stats?month={month}"), &monitor)
        .await
        .json();
    let row = stats
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["enterprise_id"] == outlets[0].0)
        .unwrap()
        .clone();
    assert_eq!(
        (
            row["total"].as_u64(),
            row["verified"].as_u64(),
            row["false_positive"].as_u64(),
            row["open"].as_u64()
        ),
        (Some(3), Some(2), Some(1), Some(1))
    );
    assert_eq!(row["false_positive_rate"].as_f64(), Some(0.5));
    assert_eq!(
        app.get_with_token("/api/v1/alarms/stats?month=2024-13", &monitor)
            .await
            .status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
});

db_test!(leads_from_true_alarms_and_repeated_exceedances, |db| {
    let (app, outlets) = app_with_alarms(db).await;
    let monitor = app.token(Role::Monitoring).await;
    let month = readings::audit::cst_month(DAY0 - 3 * 86_400);
    let leads = app
        .get_with_token("/api/v1/alarms/leads", &monitor)
        .await
        .json();
    let candidates = leads["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 1, "{candidates:?}");
    assert_eq!(candidates[0]["kind"], "repeated_exceedance");
    assert_eq!(candidates[0]["enterprise_id"], outlets[0].0);
    let new = format!(
        r#"{{"kind":"repeated_exceedance","enterprise_id":{},"month":"{month}","note":"三天三次夜间超标"}}"#,
        outlets[0].0
    );
    let made = app
        .json_with_token("POST", "/api/v1/alarms/leads", &monitor, &new)
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    assert_eq!(made.json()["alarm_ids"].as_array().unwrap().len(), 3);
    assert_eq!(
        app.json_with_token("POST", "/api/v1/alarms/leads", &monitor, &new)
            .await
            .status,
        StatusCode::CONFLICT
    );
    // Street B's enterprise has one constant-value alarm: not a lead until verified as true.
    let constant = alarm_of(&app, &monitor, &format!("enterprise_id={}", outlets[1].0)).await;
    let id = constant["id"].as_i64().unwrap();
    assert_eq!(constant["rule"], "constant_value");
    let from_alarm = format!(r#"{{"kind":"alarm","alarm_id":{id},"note":"疑似人为设定"}}"#);
    assert_eq!(
        app.json_with_token("POST", "/api/v1/alarms/leads", &monitor, &from_alarm)
            .await
            .status,
        StatusCode::CONFLICT
    );
    act(
        &app,
        &monitor,
        id,
        r#"{"action":"verify","verdict":"true","note":"数采仪参数被修改"}"#,
    )
    .await;
    let candidates = app
        .get_with_token("/api/v1/alarms/leads", &monitor)
        .await
        .json()["candidates"]
        .clone();
    assert_eq!(candidates.as_array().unwrap().len(), 1);
    assert_eq!(candidates[0]["alarm_id"], id);
    let made = app
        .json_with_token("POST", "/api/v1/alarms/leads", &monitor, &from_alarm)
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let leads = app
        .get_with_token("/api/v1/alarms/leads", &monitor)
        .await
        .json();
    assert_eq!(
        (
            leads["leads"].as_array().unwrap().len(),
            leads["candidates"].as_array().unwrap().len()
        ),
        (2, 0)
    );
    // The street officer of street A sees only street A's lead.
    let street = app.token(Role::StreetOfficer).await;
    let theirs = app
        .get_with_token("/api/v1/alarms/leads", &street)
        .await
        .json();
    assert_eq!(theirs["leads"].as_array().unwrap().len(), 1);
    // Bad input.
    for (body, field) in [
        (r#"{"kind":"hunch","note":"x"}"#.to_string(), "kind"),
        (r#"{"kind":"alarm","note":"x"}"#.to_string(), "alarm_id"),
        (
            format!(
                r#"{{"kind":"repeated_exceedance","enterprise_id":{},"month":"2024-1","note":"x"}}"#,
                outlets[0].0
            ),
            "month",
        ),
        (
            format!(
                r#"{{"kind":"repeated_exceedance","enterprise_id":{},"month":"2020-01","note":"x"}}"#,
                outlets[0].0
            ),
            "month",
        ),
        (
            format!(r#"{{"kind":"alarm","alarm_id":{id},"note":" "}}"#),
            "note",
        ),
    ] {
        let reply = app
            .json_with_token("POST", "/api/v1/alarms/leads", &monitor, &body)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
        assert_eq!(reply.json()["field"], field, "{body}");
    }
});

db_test!(pages_filters_permits_and_bad_queries, |db| {
    let (app, outlets) = app_with_alarms(db).await;
    let session = app.session(Role::Monitoring).await;
    let get = |path: String| {
        let (app, session) = (&app, &session);
        async move { app.page(session, &path).await }
    };
    let list = get("/alarms?state=open&rule=exceedance".into()).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("在线监控报警") && list.body.contains("超标排放"));
    assert!(
        !list.body.contains("恒值异常</td>"),
        "the rule filter applies"
    );
    let monitor = app.token(Role::Monitoring).await;
    let id = alarm_of(&app, &monitor, &format!("enterprise_id={}", outlets[1].0)).await["id"]
        .as_i64()
        .unwrap();
    let page = get(format!("/alarms/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("alarm-chart") && page.body.contains("提交核实"));
    // The chart carries the stored series around the alarm.
    let chart = page.body.split("data-chart=\"").nth(1).unwrap_or("");
    assert!(
        chart.contains("series") && chart.contains(":[["),
        "{}",
        &chart[..300.min(chart.len())]
    );
    for path in [
        "/alarms/leads",
        "/alarms/stats",
        "/alarms/stats?month=2026-11",
    ] {
        assert_eq!(get(path.into()).await.status, StatusCode::OK, "{path}");
    }
    assert_eq!(
        get("/alarms?month=11-2026".into()).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // The verify form on the page, then an illegal second verification shown on the page.
    let form = |body: String| {
        let session = &session;
        let app = &app;
        async move {
            app.send(
                Request::post(format!("/alarms/{id}/action"))
                    .header(header::COOKIE, &session.cookie)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from(format!("_csrf={}&{body}", session.csrf)))
                    .unwrap(),
            )
            .await
        }
    };
    assert_eq!(
        form(
            "action=verify&verdict=equipment_fault&note=%E6%8E%A2%E5%A4%B4%E6%95%85%E9%9A%9C"
                .into()
        )
        .await
        .status,
        StatusCode::SEE_OTHER
    );
    let again = form("action=verify&verdict=true&note=x".into()).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.body.contains("cannot be verify"), "{}", again.body);
    // API bad queries.
    for query in [
        "state=done",
        "rule=arson",
        "month=2026-13",
        "enterprise_id=abc",
    ] {
        let reply = app
            .get_with_token(&format!("/api/v1/alarms?{query}"), &monitor)
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
    }
    // Permits: the demo's, refused edits, a valid edit; street scoping.
    let path = format!("/api/v1/alarms/outlets/{}/permit", outlets[0].1);
    let permit = app.get_with_token(&path, &monitor).await;
    assert_eq!(permit.status, StatusCode::OK);
    assert_eq!(permit.json()["reference_oxygen"], 8.0);
    let street = app.token(Role::StreetOfficer).await;
    assert_eq!(
        app.get_with_token(
            &format!("/api/v1/alarms/outlets/{}/permit", outlets[1].1),
            &street
        )
        .await
        .status,
        StatusCode::NOT_FOUND
    );
    for (body, field) in [
        (
            r#"{"outlet_id":0,"reference_oxygen":25,"rated_flow":null,"basis":"x","limits":[]}"#,
            "reference_oxygen",
        ),
        (
            r#"{"outlet_id":0,"reference_oxygen":8,"rated_flow":null,"basis":" ","limits":[]}"#,
            "basis",
        ),
        (
            r#"{"outlet_id":0,"reference_oxygen":8,"rated_flow":null,"basis":"x","limits":[{"factor":"a21026","limit":-1,"averaging":"hour","range_low":null,"range_high":null,"detection_limit":null}]}"#,
            "limits[0].limit",
        ),
        (
            r#"{"outlet_id":0,"reference_oxygen":8,"rated_flow":null,"basis":"x","limits":[{"factor":"a21026","limit":50,"averaging":"week","range_low":null,"range_high":null,"detection_limit":null}]}"#,
            "limits[0].averaging",
        ),
        (
            r#"{"outlet_id":0,"reference_oxygen":8,"rated_flow":null,"basis":"x","limits":[{"factor":"SO2;drop","limit":50,"averaging":"hour","range_low":null,"range_high":null,"detection_limit":null}]}"#,
            "limits[0].factor",
        ),
    ] {
        let reply = app.json_with_token("PUT", &path, &monitor, body).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            reply.body
        );
        assert_eq!(reply.json()["field"], field);
    }
    let valid = r#"{"outlet_id":0,"reference_oxygen":16,"rated_flow":80,"basis":"排污许可证 91120110TEST000000001P","limits":[{"factor":"a21026","limit":35,"averaging":"hour","on_converted":true,"range_low":0,"range_high":200,"detection_limit":3}]}"#;
    let put = app.json_with_token("PUT", &path, &monitor, valid).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(put.json()["limits"].as_array().unwrap().len(), 1);
    let leader = app.token(Role::Leader).await;
    assert_eq!(
        app.json_with_token("PUT", &path, &leader, valid)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    // The manual evaluation API: monitoring may run it, bad spans are refused, a rerun stores nothing.
    let run = app
        .json_with_token(
            "POST",
            "/api/v1/alarms/evaluations",
            &monitor,
            &format!(
                r#"{{"from":{},"to":{}}}"#,
                DAY0 - 3 * 86_400,
                DAY0 + 10 * 3600
            ),
        )
        .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.body);
    assert_eq!(run.json()["raised"], 0);
    let bad = app
        .json_with_token(
            "POST",
            "/api/v1/alarms/evaluations",
            &monitor,
            r#"{"from":10,"to":5}"#,
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.json_with_token(
            "POST",
            "/api/v1/alarms/evaluations",
            &leader,
            r#"{"from":0,"to":5}"#
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
});

// Issue 14: an offline alarm's page showed an empty evidence chart (an offline alarm has no factor). It states
// the gap instead — the last record before it, its length, that no data has come since — and draws when the
// records arrived around it; a data alarm's chart names its factor's unit.
db_test!(the_evidence_of_an_offline_alarm_is_the_gap, |db| {
    let (app, _) = app_with_alarms(db.clone()).await;
    // The history stops at 10:00: judged at 12:00, every outlet is offline since then.
    let run = alarms::service::evaluate_due(&db, DAY0 + 12 * 3600 + 60)
        .await
        .unwrap();
    assert!(run.raised > 0, "{run:?}");
    let monitor = app.token(Role::Monitoring).await;
    let offline = alarm_of(&app, &monitor, "rule=offline").await;
    let id = offline["id"].as_i64().unwrap();
    let reader = kernel::Principal {
        user_id: 1,
        username: "monitoring".into(),
        display_name: "监测".into(),
        role: Role::Monitoring,
        street_id: None,
        department_id: None,
        method: kernel::auth::AuthMethod::Token,
    };
    let record = alarms::service::get(&db, &reader, id, DAY0 + 12 * 3600 + 60)
        .await
        .unwrap();
    let gap = alarms::service::data_gap(&db, &record).await.unwrap();
    let last = gap.last_before.expect("a record before the gap");
    assert!(
        last < record.from_ts && last >= record.from_ts - 2 * 3600,
        "{gap:?}"
    );
    assert_eq!(gap.first_after, None, "nothing came after: {gap:?}");
    assert!(!gap.arrivals.is_empty() && gap.arrivals.len() <= alarms::service::MAX_ARRIVALS);
    assert!((gap.hours - (record.to_ts - record.from_ts) as f64 / 3600.0).abs() < 1e-9);

    let session = app.session(Role::Monitoring).await;
    let page = |path: String| {
        let (app, session) = (&app, &session);
        async move { app.page(session, &path).await }
    };
    let reply = page(format!("/alarms/{id}")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert!(reply.body.contains("最后一次收到数据"), "{}", reply.body);
    assert!(reply.body.contains("仍无数据"), "{}", reply.body);
    assert!(reply.body.contains("chart-gap"), "the arrivals are drawn");
    let chart = reply.body.split("data-chart=\"").nth(1).unwrap_or("");
    assert!(
        chart.contains("gap") && chart.contains("arrivals"),
        "{chart:.300}"
    );

    // A data alarm: its chart and its page name the unit.
    let exceedance = alarm_of(&app, &monitor, "rule=exceedance").await;
    let reply = page(format!("/alarms/{}", exceedance["id"])).await;
    let chart = reply.body.split("data-chart=\"").nth(1).unwrap_or("");
    assert!(chart.contains("mg/m³"), "{chart:.300}");
    assert!(reply.body.contains("单位 mg/m³"), "{}", reply.body);
});
