//! The API and pages over HTTP with every role: reading, editing with validation and audit, forms.

use axum::body::Body;
use http::{Request, StatusCode, header};
use kernel::PageQuery;
use kernel::Role;
use kernel::audit::{AuditFilter, search};
use serde_json::{Value, json};
use targets::service::ensure_seeded;
use webtest::{Session, TestApp};

async fn app_2024(db: kernel::Db) -> TestApp {
    let app = TestApp::new(db).await;
    ensure_seeded(&app.state.db, 2024).await.unwrap();
    app
}

fn target_id(list: &Value, code: &str) -> i64 {
    list.as_array()
        .unwrap()
        .iter()
        .find(|s| s["target"]["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {list}"))["target"]["id"]
        .as_i64()
        .unwrap()
}

fn body(title: &str, comparison: &str, threshold: Value, extra: Value) -> String {
    let mut b = json!({"title": title, "comparison": comparison, "threshold": threshold, "owner": "大气环境科"});
    if let (Some(b), Some(extra)) = (b.as_object_mut(), extra.as_object()) {
        b.extend(extra.clone());
    }
    b.to_string()
}

async fn page(app: &TestApp, session: &Session, path: &str) -> webtest::Reply {
    app.page(session, path).await
}

async fn post_form(app: &TestApp, session: &Session, path: &str, form: &str) -> webtest::Reply {
    app.send(
        Request::post(path)
            .header(header::COOKIE, &session.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("{form}&_csrf={}", session.csrf)))
            .unwrap(),
    )
    .await
}

testkit::db_test!(every_role_reads_the_targets, |db| {
    let app = app_2024(db).await;
    for role in Role::ALL {
        let token = app.token(role).await;
        let reply = app
            .get_with_token("/api/v1/targets?year=2024", &token)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{role:?}: {}", reply.body);
        let list = reply.json();
        assert_eq!(list.as_array().unwrap().len(), 8, "{role:?}");
        assert_eq!(list[0]["target"]["code"], "pm25_annual_mean");
        assert_eq!(list[0]["requirement"], "≤ 39µg/m³");
        // No air station in this database: no data, never an invented figure.
        assert_eq!(list[0]["status"], "no_data");
        assert_eq!(list[1]["status"], "awaiting_threshold");
    }
    let token = app.token(Role::Leader).await;
    for bad in ["year=abc", "year=1999"] {
        let reply = app
            .get_with_token(&format!("/api/v1/targets?{bad}"), &token)
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            reply.body
        );
        assert_eq!(reply.content_type(), "application/problem+json");
        assert_eq!(reply.json()["field"], "year");
    }
    let reply = app.get_with_token("/api/v1/targets/abc", &token).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let reply = app.get_with_token("/api/v1/targets/999999", &token).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    // A year without targets is an empty list.
    let reply = app
        .get_with_token("/api/v1/targets?year=2030", &token)
        .await;
    assert_eq!(reply.json(), json!([]));
});

testkit::db_test!(
    editing_is_checked_audited_and_for_the_monitoring_department,
    |db| {
        let app = app_2024(db).await;
        let monitoring = app.token(Role::Monitoring).await;
        let list = app
            .get_with_token("/api/v1/targets?year=2024", &monitoring)
            .await
            .json();
        let good = target_id(&list, "good_day_ratio");
        let pm = target_id(&list, "pm25_annual_mean");
        let land = target_id(&list, "construction_land_safe_use");
        let path = format!("/api/v1/targets/{good}");

        // Roles that may only read are refused.
        for role in [
            Role::Leader,
            Role::Enforcement,
            Role::StreetOfficer,
            Role::Public,
        ] {
            let token = app.token(role).await;
            let reply = app
                .json_with_token(
                    "PUT",
                    &path,
                    &token,
                    &body("优良天数比例", "ge", json!(70), json!({})),
                )
                .await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{role:?}");
        }
        // Bad input names the field.
        for (input, field) in [
            (
                body("优良天数比例", "ge", json!(120), json!({})),
                "threshold",
            ),
            (
                body("优良天数比例", "ge", json!(-1), json!({})),
                "threshold",
            ),
            (
                body("优良天数比例", "le", json!(70), json!({})),
                "comparison",
            ),
            (body("", "ge", json!(70), json!({})), "title"),
            (
                body(
                    "优良天数比例",
                    "ge",
                    json!(70),
                    json!({"reported_value": 80}),
                ),
                "reported_value",
            ),
            (
                body("优良天数比例", "gt", json!(70), json!({})),
                "comparison",
            ),
            ("{\"title\": 1}".to_string(), "title"),
        ] {
            let reply = app.json_with_token("PUT", &path, &monitoring, &input).await;
            assert_eq!(
                reply.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{input}: {}",
                reply.body
            );
            assert_eq!(reply.json()["field"], field, "{input}");
        }
        // The city's figure is entered: 70 %.
        let reply = app
            .json_with_token(
                "PUT",
                &path,
                &monitoring,
                &body("优良天数比例", "ge", json!(70), json!({"note": "市下达"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.json()["threshold"], 70.0);
        let list = app
            .get_with_token("/api/v1/targets?year=2024", &monitoring)
            .await
            .json();
        let good_status = list
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["target"]["id"] == good)
            .unwrap();
        assert_eq!(good_status["requirement"], "≥ 70%");
        assert_eq!(good_status["status"], "no_data");
        // The change is in the audit log with before and after.
        let filter = AuditFilter {
            entity: Some("target".to_string()),
            entity_id: Some(good.to_string()),
            ..AuditFilter::default()
        };
        let entries = search(&app.state.db, &filter, &PageQuery::default())
            .await
            .unwrap();
        assert_eq!(entries.total, 1);
        let entry = &entries.items[0];
        assert_eq!(
            (entry.action.as_str(), entry.actor.as_str()),
            ("update", "monitoring")
        );
        assert_eq!(entry.before.as_ref().unwrap()["threshold"], Value::Null);
        assert_eq!(entry.after.as_ref().unwrap()["threshold"], 70.0);

        // A computed target cannot take the other comparison; the reported one needs evidence with its value.
        let reply = app
            .json_with_token(
                "PUT",
                &format!("/api/v1/targets/{pm}"),
                &monitoring,
                &body("PM2.5", "ge", json!(39), json!({})),
            )
            .await;
        assert_eq!(reply.json()["field"], "comparison");
        let land_path = format!("/api/v1/targets/{land}");
        let reply = app
            .json_with_token(
                "PUT",
                &land_path,
                &monitoring,
                &body(
                    "重点建设用地安全利用率",
                    "ge",
                    json!(90),
                    json!({"reported_value": 95, "unit": "%"}),
                ),
            )
            .await;
        assert_eq!(reply.json()["field"], "evidence");
        let reply = app
            .json_with_token(
                "PUT",
                &land_path,
                &monitoring,
                &body(
                    "重点建设用地安全利用率",
                    "ge",
                    json!(90),
                    json!({"reported_value": 95, "unit": "%", "evidence": "东环土〔2024〕12号"}),
                ),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let saved = reply.json();
        assert_eq!(
            (
                saved["reported_value"].clone(),
                saved["reported_by"].clone()
            ),
            (json!(95.0), json!("monitoring"))
        );
        let list = app
            .get_with_token("/api/v1/targets?year=2024", &monitoring)
            .await
            .json();
        let land_status = list
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["target"]["id"] == land)
            .unwrap();
        // 2024 is over (the tests run after it): 95 ≥ 90 → met.
        assert_eq!(land_status["status"], "met");
        assert_eq!(land_status["value_text"], "95%");

        // A new target; the same code twice is a conflict.
        let new = json!({"year": 2024, "code": "quiet_communities", "indicator": "reported", "title": "新增宁静小区",
        "comparison": "ge", "threshold": 1, "unit": "个", "owner": "大气环境科"})
    .to_string();
        let reply = app
            .json_with_token("POST", "/api/v1/targets", &monitoring, &new)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        assert!(reply.headers.get(header::LOCATION).is_some());
        let reply = app
            .json_with_token("POST", "/api/v1/targets", &monitoring, &new)
            .await;
        assert_eq!(reply.status, StatusCode::CONFLICT);
        let leader = app.token(Role::Leader).await;
        let reply = app
            .json_with_token("POST", "/api/v1/targets", &leader, &new)
            .await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN);
        let reply = app
            .json_with_token(
                "PUT",
                "/api/v1/targets/999999",
                &monitoring,
                &body("x", "ge", json!(1), json!({})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
    }
);

testkit::db_test!(pages_list_and_edit_the_targets, |db| {
    let app = app_2024(db).await;
    let leader = app.session(Role::Leader).await;
    let reply = page(&app, &leader, "/targets?year=2024").await;
    assert_eq!(reply.status, StatusCode::OK);
    for text in [
        "2024 年度目标",
        "全区 PM2.5 年均浓度",
        "≤ 39µg/m³",
        "待市下达",
        "39微克/立方米左右",
        "规划预置",
    ] {
        assert!(reply.body.contains(text), "{text} missing");
    }
    assert!(
        !reply.body.contains("/edit\">编辑"),
        "a leader has no edit link"
    );
    let reply = page(&app, &leader, "/targets?year=x").await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);

    let token = app.token(Role::Monitoring).await;
    let list = app
        .get_with_token("/api/v1/targets?year=2024", &token)
        .await
        .json();
    let heavy = target_id(&list, "heavy_pollution_days");
    let reply = page(&app, &leader, &format!("/targets/{heavy}/edit")).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);

    let monitoring = app.session(Role::Monitoring).await;
    let reply = page(&app, &monitoring, "/targets?year=2024").await;
    assert!(reply.body.contains(&format!("/targets/{heavy}/edit")));
    let reply = page(&app, &monitoring, &format!("/targets/{heavy}/edit")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.contains("重污染天数"));
    let form = "title=重污染天数&comparison=le&threshold=abc&owner=大气环境科";
    let reply = post_form(&app, &monitoring, &format!("/targets/{heavy}"), form).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(reply.body.contains("threshold"), "{}", reply.body);
    let form = "title=重污染天数&comparison=le&threshold=4&owner=大气环境科&note=市下达";
    let reply = post_form(&app, &monitoring, &format!("/targets/{heavy}"), form).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let list = app
        .get_with_token("/api/v1/targets?year=2024", &token)
        .await
        .json();
    let saved = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["target"]["id"] == heavy)
        .unwrap();
    assert_eq!(saved["target"]["threshold"], 4.0);
    // A leader's form post is refused.
    let reply = post_form(&app, &leader, &format!("/targets/{heavy}"), form).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    // The new-target form.
    let reply = page(&app, &monitoring, "/targets/new?year=2024").await;
    assert_eq!(reply.status, StatusCode::OK);
    let form = "year=2024&code=noise&indicator=reported&title=宁静小区&comparison=ge&threshold=1&unit=个&owner=大气环境科";
    let reply = post_form(&app, &monitoring, "/targets", form).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let reply = post_form(&app, &monitoring, "/targets", form).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
});
