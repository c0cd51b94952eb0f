//! The API's behaviour: bad input as problem+json naming the field, audit entries, optimistic concurrency,
//! the enterprise profile and lookups, filters and paging.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use kernel::audit::{AuditFilter, search};
use kernel::{PageQuery, Role};
use serde_json::json;

use crate::support::*;

testkit::db_test!(bad_input_is_a_problem_naming_the_field, |db| {
    let f = seed(&db).await;
    let admin = principal(Role::Admin, None);
    let post = |body: serde_json::Value| {
        let db = db.clone();
        let admin = admin.clone();
        async move { call(&db, &admin, Method::POST, "/api/v1/enterprises", Some(body)).await }
    };
    let valid = serde_json::to_value(enterprise_input(70, f.street_a)).unwrap();

    let mut bad = valid.clone();
    bad["uscc"] = json!("91120110MA00000700");
    let reply = post(bad).await;
    reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("uscc"));
    assert!(
        reply.json()["detail"]
            .as_str()
            .unwrap()
            .contains("check character")
    );

    let mut bad = valid.clone();
    bad["street_id"] = json!(9999);
    post(bad)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("street_id"));

    let mut bad = valid.clone();
    bad.as_object_mut().unwrap().remove("name");
    post(bad)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("name"));

    let mut bad = valid.clone();
    bad["street_id"] = json!("张贵庄");
    post(bad)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("street_id"));

    let mut bad = valid.clone();
    bad["key_categories"] = json!(["water", "smell"]);
    post(bad)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("key_categories[1]"));

    let mut bad = valid.clone();
    bad["industry_code"] = json!("钢铁");
    post(bad)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("industry_code"));

    let mut bad = valid.clone();
    bad["lon"] = json!(200.0);
    post(bad)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("lon"));

    let mut bad = valid.clone();
    bad["name"] = json!("   ");
    post(bad)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("name"));

    // Not JSON at all, JSON under the wrong content type, trailing garbage.
    for (content_type, body) in [
        ("application/json", "{not json".to_string()),
        ("text/plain", valid.to_string()),
        ("application/json", format!("{valid} {{}}")),
        ("application/json", String::new()),
    ] {
        let request = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/enterprises")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        let reply = send(app(&db, Some(admin.clone())), request).await;
        reply.assert_problem(StatusCode::BAD_REQUEST, None);
    }

    // Query parameters and ids.
    get(&db, &admin, "/api/v1/enterprises?street_id=abc")
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("street_id"));
    get(&db, &admin, "/api/v1/points?kind=volcano")
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("kind"));
    get(&db, &admin, "/api/v1/enterprises/lookup?program=permit")
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("identifier"));
    get(
        &db,
        &admin,
        "/api/v1/enterprises/lookup?program=fishing&identifier=1",
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("program"));
    get(&db, &admin, "/api/v1/enterprises/abc")
        .await
        .assert_problem(StatusCode::NOT_FOUND, None);
    get(&db, &admin, "/api/v1/enterprises/424242")
        .await
        .assert_problem(StatusCode::NOT_FOUND, None);
    // Empty filter fields (as HTML forms send them) are ignored.
    assert_eq!(
        get(&db, &admin, "/api/v1/enterprises?street_id=&q=")
            .await
            .json()["total"],
        2
    );

    // Duplicates are 409 naming the field.
    let reply = post(serde_json::to_value(enterprise_input(1, f.street_a)).unwrap()).await;
    reply.assert_problem(StatusCode::CONFLICT, None);
    assert!(reply.json()["detail"].as_str().unwrap().starts_with("uscc"));

    // Points and devices check their own rules.
    let mut point = serde_json::to_value(air_station_input("W1", f.street_a)).unwrap();
    point["kind"] = json!("water_section");
    point["level"] = json!("national");
    call(
        &db,
        &admin,
        Method::POST,
        "/api/v1/points",
        Some(point.clone()),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("water_body"));
    point["water_body"] = json!("新地河");
    point["water_kind"] = json!("river");
    point["target_class"] = json!(7);
    call(
        &db,
        &admin,
        Method::POST,
        "/api/v1/points",
        Some(point.clone()),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("target_class"));
    point["target_class"] = json!(4);
    assert_eq!(
        call(&db, &admin, Method::POST, "/api/v1/points", Some(point))
            .await
            .status,
        StatusCode::CREATED
    );
    let mut device = serde_json::to_value(device_input("88888880000001", f.air_station)).unwrap();
    call(
        &db,
        &admin,
        Method::POST,
        "/api/v1/devices",
        Some(device.clone()),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, None);
    device["mn"] = json!("MN-1");
    call(
        &db,
        &admin,
        Method::POST,
        "/api/v1/devices",
        Some(device.clone()),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("mn"));
    device["mn"] = json!("MN2");
    device["password"] = json!(null);
    call(
        &db,
        &admin,
        Method::POST,
        "/api/v1/devices",
        Some(device.clone()),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("password"));
    device["password"] = json!("pw");
    device["protocol"] = json!("2099");
    call(&db, &admin, Method::POST, "/api/v1/devices", Some(device))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("protocol"));
});

testkit::db_test!(changes_are_audited_with_before_and_after, |db| {
    let f = seed(&db).await;
    let officer = principal(Role::StreetOfficer, Some(f.street_a));
    let created = call(
        &db,
        &officer,
        Method::POST,
        "/api/v1/enterprises",
        Some(serde_json::to_value(enterprise_input(80, f.street_a)).unwrap()),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.json()["id"].as_i64().unwrap();
    assert_eq!(
        created.location.as_deref(),
        Some(format!("/api/v1/enterprises/{id}").as_str())
    );

    let mut input = enterprise_input(80, f.street_a);
    input.name = "改名后的企业".into();
    let updated = call(
        &db,
        &officer,
        Method::PUT,
        &format!("/api/v1/enterprises/{id}"),
        Some(serde_json::to_value(input).unwrap()),
    )
    .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);

    let filter = AuditFilter {
        entity: Some("enterprise".into()),
        entity_id: Some(id.to_string()),
        ..Default::default()
    };
    let entries = search(&db, &filter, &PageQuery::default()).await.unwrap();
    assert_eq!(entries.total, 2);
    let update = &entries.items[0];
    assert_eq!(update.action, "update");
    assert_eq!(update.actor, "test-street_officer");
    assert_eq!(
        update.before.as_ref().unwrap()["name"],
        "天津测试企业80有限公司"
    );
    assert_eq!(update.after.as_ref().unwrap()["name"], "改名后的企业");
    let create = &entries.items[1];
    assert_eq!(create.action, "create");
    assert!(create.before.is_none());
    assert_eq!(create.after.as_ref().unwrap()["uscc"], uscc(80));

    // A refused change leaves no entry.
    let public = principal(Role::Public, None);
    call(
        &db,
        &public,
        Method::PUT,
        &format!("/api/v1/enterprises/{id}"),
        Some(serde_json::to_value(enterprise_input(80, f.street_a)).unwrap()),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, None);
    assert_eq!(
        search(&db, &filter, &PageQuery::default())
            .await
            .unwrap()
            .total,
        2
    );

    // Device passwords never reach the audit log.
    let admin = principal(Role::Admin, None);
    let mut device = device_input("88888880000001", f.outlet_point);
    device.password = Some("s3cret".into());
    let reply = call(
        &db,
        &admin,
        Method::PUT,
        &format!("/api/v1/devices/{}", f.device),
        Some(serde_json::to_value(device).unwrap()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let device_entries = search(
        &db,
        &AuditFilter {
            entity: Some("device".into()),
            ..Default::default()
        },
        &PageQuery::default(),
    )
    .await
    .unwrap();
    let text = serde_json::to_string(&device_entries.items).unwrap();
    assert!(
        !text.contains("s3cret") && !text.contains("123456"),
        "{text}"
    );
    assert!(device_entries.items[0].summary.contains("已更换密码"));
});

testkit::db_test!(stale_versions_conflict, |db| {
    let f = seed(&db).await;
    let admin = principal(Role::Admin, None);
    let uri = format!("/api/v1/enterprises/{}", f.steel_a);
    let current = get(&db, &admin, &uri).await.json();
    let version = current["version"].as_i64().unwrap();

    let mut first = enterprise_input(1, f.street_a);
    first.name = "第一次修改".into();
    first.version = Some(version);
    let reply = call(
        &db,
        &admin,
        Method::PUT,
        &uri,
        Some(serde_json::to_value(&first).unwrap()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["version"], version + 1);

    // A second editor who read the same version loses.
    let mut second = first.clone();
    second.name = "第二次修改".into();
    let reply = call(
        &db,
        &admin,
        Method::PUT,
        &uri,
        Some(serde_json::to_value(&second).unwrap()),
    )
    .await;
    reply.assert_problem(StatusCode::CONFLICT, None);
    assert_eq!(get(&db, &admin, &uri).await.json()["name"], "第一次修改");

    // Status changes carry the version too.
    let reply = call(
        &db,
        &admin,
        Method::POST,
        &format!("{uri}/status"),
        Some(json!({"status": "suspended", "effective_date": "2026-03-01", "version": version})),
    )
    .await;
    reply.assert_problem(StatusCode::CONFLICT, None);

    // Points and devices as well.
    let point_uri = format!("/api/v1/points/{}", f.air_station);
    let mut point = air_station_input("1021A", f.street_a);
    point.level = registry::model::PointLevel::National;
    point.version = Some(99);
    call(
        &db,
        &admin,
        Method::PUT,
        &point_uri,
        Some(serde_json::to_value(&point).unwrap()),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, None);
    let mut device = device_input("88888880000001", f.outlet_point);
    device.version = Some(0);
    call(
        &db,
        &admin,
        Method::PUT,
        &format!("/api/v1/devices/{}", f.device),
        Some(serde_json::to_value(&device).unwrap()),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, None);
});

testkit::db_test!(profile_links_every_program, |db| {
    let f = seed(&db).await;
    let enforcement = principal(Role::Enforcement, None);
    let base = format!("/api/v1/enterprises/{}", f.steel_a);

    let reply = call(&db, &enforcement, Method::POST, &format!("{base}/identifiers"),
        Some(json!({"program": "hazardous_waste", "identifier": "120110-hw-0001", "note": "危废产生单位"}))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json()["identifier"], "120110-HW-0001");
    // The same identifier in the same program cannot belong to two enterprises.
    call(
        &db,
        &enforcement,
        Method::POST,
        &format!("/api/v1/enterprises/{}/identifiers", f.other_b),
        Some(json!({"program": "hazardous_waste", "identifier": "120110-HW-0001"})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, None);

    let reply = call(
        &db,
        &enforcement,
        Method::POST,
        &format!("{base}/status"),
        Some(json!({"status": "suspended", "effective_date": "2026-03-01", "note": "错峰生产"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["status"], "suspended");
    call(
        &db,
        &enforcement,
        Method::POST,
        &format!("{base}/status"),
        Some(json!({"status": "operating", "effective_date": "2026-02-30"})),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("effective_date"));
    // The status cannot be changed by a plain update (that would skip the history).
    let mut input = enterprise_input(1, f.street_a);
    input.status = Some(registry::model::EnterpriseStatus::Closed);
    call(
        &db,
        &enforcement,
        Method::PUT,
        &base,
        Some(serde_json::to_value(input).unwrap()),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("status"));

    let reply = call(
        &db,
        &enforcement,
        Method::POST,
        &format!("{base}/sites"),
        Some(json!({"name": "二厂区", "address": "东丽区二号路"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let reply = call(
        &db,
        &enforcement,
        Method::POST,
        &format!("{base}/outlets"),
        Some(json!({"code": "dw001", "name": "总排口", "medium": "water", "kind": "main"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    call(
        &db,
        &enforcement,
        Method::POST,
        &format!("{base}/outlets"),
        Some(json!({"code": "DW001", "name": "重复", "medium": "water", "kind": "main"})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, None);
    call(&db, &enforcement, Method::POST, &format!("{base}/outlets"),
        Some(json!({"code": "DW002", "name": "错厂区", "medium": "water", "kind": "main", "site_id": 9999}))).await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("site_id"));

    let profile = get(&db, &enforcement, &format!("{base}/profile")).await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.text);
    let profile = profile.json();
    assert_eq!(profile["enterprise"]["name"], "天津东丽钢铁有限公司");
    assert_eq!(profile["street"]["name"], "张贵庄街道");
    let programs: Vec<&str> = profile["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["program"].as_str().unwrap())
        .collect();
    assert_eq!(programs, ["uscc", "hazardous_waste", "permit", "device_mn"]);
    let mn = profile["identifiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["program"] == "device_mn")
        .unwrap();
    assert_eq!(mn["identifier"], "88888880000001");
    assert_eq!(mn["source"], "derived");
    assert_eq!(profile["status_history"].as_array().unwrap().len(), 2);
    assert_eq!(profile["status_history"][0]["status"], "suspended");
    assert_eq!(profile["status_history"][0]["note"], "错峰生产");
    assert_eq!(profile["sites"].as_array().unwrap().len(), 2);
    assert_eq!(profile["outlets"].as_array().unwrap().len(), 2);
    assert_eq!(profile["points"][0]["code"], "WR-DA001");
    assert_eq!(profile["points"][0]["enterprise_id"], f.steel_a);
    assert_eq!(profile["devices"][0]["mn"], "88888880000001");
    // A street officer may read the profile of their street but not the device list.
    let officer = principal(Role::StreetOfficer, Some(f.street_a));
    let profile = get(&db, &officer, &format!("{base}/profile")).await.json();
    assert_eq!(profile["devices"].as_array().unwrap().len(), 0);

    // Lookups from any program's identifier back to the one record.
    for (program, identifier) in [
        ("uscc", uscc(1)),
        ("permit", format!("{}001P", uscc(1)).to_lowercase()),
        ("hazardous_waste", "120110-HW-0001".to_string()),
        ("device_mn", "88888880000001".to_string()),
    ] {
        let reply = get(
            &db,
            &enforcement,
            &format!("/api/v1/enterprises/lookup?program={program}&identifier={identifier}"),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{program}: {}", reply.text);
        assert_eq!(reply.json()["id"], f.steel_a);
    }
    get(
        &db,
        &enforcement,
        "/api/v1/enterprises/lookup?program=permit&identifier=NOPE",
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, None);
});

testkit::db_test!(lists_filter_and_page, |db| {
    let f = seed(&db).await;
    let admin = principal(Role::Admin, None);
    for n in 10..35 {
        let mut input = enterprise_input(n, if n % 2 == 0 { f.street_a } else { f.street_b });
        if n % 5 == 0 {
            input.industry_code = "C2521".into();
            input.industry_name = "炼焦".into();
            input.key_discharger = false;
            input.key_categories = vec![];
        }
        let reply = call(
            &db,
            &admin,
            Method::POST,
            "/api/v1/enterprises",
            Some(serde_json::to_value(input).unwrap()),
        )
        .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }
    let total = |uri: &str| {
        let db = db.clone();
        let admin = admin.clone();
        let uri = uri.to_string();
        async move {
            get(&db, &admin, &uri).await.json()["total"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(total("/api/v1/enterprises").await, 27);
    assert_eq!(
        total(&format!("/api/v1/enterprises?street_id={}", f.street_a)).await,
        14
    );
    assert_eq!(total("/api/v1/enterprises?industry_code=C2521").await, 5);
    assert_eq!(total("/api/v1/enterprises?industry_code=c25").await, 5);
    assert_eq!(total("/api/v1/enterprises?industry_code=C26").await, 1);
    assert_eq!(total("/api/v1/enterprises?key_discharger=false").await, 6);
    assert_eq!(
        total("/api/v1/enterprises?key_discharger=true&industry_code=C31").await,
        21
    );
    assert_eq!(total("/api/v1/enterprises?status=operating").await, 27);
    assert_eq!(total("/api/v1/enterprises?status=closed").await, 0);
    assert_eq!(total("/api/v1/enterprises?q=%E9%92%A2%E9%93%81").await, 1); // 钢铁
    assert_eq!(
        total(&format!("/api/v1/enterprises?q={}", &uscc(12)[8..])).await,
        1
    );
    assert_eq!(total("/api/v1/enterprises?q=%25").await, 27);

    let page = get(&db, &admin, "/api/v1/enterprises?page=3&per_page=10")
        .await
        .json();
    assert_eq!(page["page"], 3);
    assert_eq!(page["per_page"], 10);
    assert_eq!(page["items"].as_array().unwrap().len(), 7);
    let page = get(&db, &admin, "/api/v1/enterprises?per_page=100000")
        .await
        .json();
    assert_eq!(page["per_page"], 500);

    assert_eq!(total("/api/v1/points?kind=air_station").await, 1);
    assert_eq!(total("/api/v1/points?level=enterprise").await, 1);
    assert_eq!(total("/api/v1/points?q=1021").await, 1);
    assert_eq!(
        total(&format!("/api/v1/points?street_id={}", f.street_b)).await,
        0
    );
    assert_eq!(
        total(&format!("/api/v1/devices?point_id={}", f.outlet_point)).await,
        1
    );
    assert_eq!(total("/api/v1/devices?q=8888").await, 1);
    assert_eq!(total("/api/v1/devices?q=nothing").await, 0);
});

testkit::db_test!(organisation_is_edited_by_admins, |db| {
    let f = seed(&db).await;
    let admin = principal(Role::Admin, None);
    let reply = call(&db, &admin, Method::POST, "/api/v1/streets",
        Some(json!({"code": "120110003", "name": "万新街道", "center_lon": 117.28, "center_lat": 39.12}))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json()["district_code"], "120110");
    call(
        &db,
        &admin,
        Method::POST,
        "/api/v1/streets",
        Some(json!({"code": "120110004", "name": "万新街道"})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, None);
    call(
        &db,
        &admin,
        Method::POST,
        "/api/v1/streets",
        Some(json!({"code": "x y", "name": "无瑕街道"})),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("code"));
    call(
        &db,
        &admin,
        Method::POST,
        "/api/v1/streets",
        Some(json!({"code": "X", "name": "无瑕街道", "district_code": "999999"})),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("district_code"));
    let reply = call(
        &db,
        &admin,
        Method::PUT,
        &format!("/api/v1/streets/{}", f.street_b),
        Some(json!({"code": "120110002", "name": "丰年村街道（新）"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["name"], "丰年村街道（新）");
    call(
        &db,
        &admin,
        Method::POST,
        "/api/v1/departments",
        Some(json!({"code": "GA", "name": "公安分局", "kind": "police"})),
    )
    .await
    .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("kind"));
    let departments = get(&db, &admin, "/api/v1/departments").await.json();
    assert_eq!(departments.as_array().unwrap().len(), 1);
    get(&db, &admin, "/api/v1/departments/77")
        .await
        .assert_problem(StatusCode::NOT_FOUND, None);
});

#[test]
fn openapi_lists_the_registry_paths() {
    use utoipa::OpenApi;
    let doc = registry::http::ApiDoc::openapi();
    let json = serde_json::to_value(&doc).unwrap();
    let paths = json["paths"].as_object().unwrap();
    for path in [
        "/api/v1/streets",
        "/api/v1/departments/{id}",
        "/api/v1/enterprises",
        "/api/v1/enterprises/{id}/profile",
        "/api/v1/enterprises/lookup",
        "/api/v1/points/{id}",
        "/api/v1/devices",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    assert!(json["components"]["schemas"]["Enterprise"].is_object());
}

testkit::db_test!(concurrent_writers_do_not_fail, |db| {
    let f = seed(&db).await;
    let admin = principal(Role::Admin, None);
    let mut tasks = Vec::new();
    for n in 0..12_u32 {
        let db = db.clone();
        let admin = admin.clone();
        let street = f.street_a;
        let steel = f.steel_a;
        tasks.push(tokio::spawn(async move {
            if n % 2 == 0 {
                call(
                    &db,
                    &admin,
                    Method::POST,
                    "/api/v1/enterprises",
                    Some(serde_json::to_value(enterprise_input(500 + n, street)).unwrap()),
                )
                .await
                .status
            } else {
                let mut input = enterprise_input(1, street);
                input.name = format!("并发修改{n}");
                call(
                    &db,
                    &admin,
                    Method::PUT,
                    &format!("/api/v1/enterprises/{steel}"),
                    Some(serde_json::to_value(input).unwrap()),
                )
                .await
                .status
            }
        }));
    }
    for task in tasks {
        let status = task.await.unwrap();
        assert!(
            status == StatusCode::CREATED
                || status == StatusCode::OK
                || status == StatusCode::CONFLICT,
            "{status}"
        );
    }
    let stored = get(&db, &admin, &format!("/api/v1/enterprises/{}", f.steel_a))
        .await
        .json();
    assert!(stored["name"].as_str().unwrap().starts_with("并发修改"));
});

testkit::db_test!(a_mistaken_identifier_can_be_removed, |db| {
    let f = seed(&db).await;
    let enforcement = principal(Role::Enforcement, None);
    let wrong = call(
        &db,
        &enforcement,
        Method::POST,
        &format!("/api/v1/enterprises/{}/identifiers", f.other_b),
        Some(json!({"program": "pollution_source", "identifier": "PS-0001"})),
    )
    .await;
    assert_eq!(wrong.status, StatusCode::CREATED, "{}", wrong.text);
    let identifier_id = wrong.json()["id"].as_i64().unwrap();
    // The right enterprise cannot take it while it is held.
    let uri = format!("/api/v1/enterprises/{}/identifiers", f.steel_a);
    call(
        &db,
        &enforcement,
        Method::POST,
        &uri,
        Some(json!({"program": "pollution_source", "identifier": "PS-0001"})),
    )
    .await
    .assert_problem(StatusCode::CONFLICT, None);
    // Street officers of another street, and readers, may not remove it; an identifier of another enterprise is 404.
    let delete = format!(
        "/api/v1/enterprises/{}/identifiers/{identifier_id}",
        f.other_b
    );
    let officer = principal(Role::StreetOfficer, Some(f.street_a));
    call(&db, &officer, Method::DELETE, &delete, None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, None);
    let leader = principal(Role::Leader, None);
    call(&db, &leader, Method::DELETE, &delete, None)
        .await
        .assert_problem(StatusCode::FORBIDDEN, None);
    call(
        &db,
        &enforcement,
        Method::DELETE,
        &format!(
            "/api/v1/enterprises/{}/identifiers/{identifier_id}",
            f.steel_a
        ),
        None,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, None);

    let removed = call(&db, &enforcement, Method::DELETE, &delete, None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.text);
    call(&db, &enforcement, Method::DELETE, &delete, None)
        .await
        .assert_problem(StatusCode::NOT_FOUND, None);
    let moved = call(
        &db,
        &enforcement,
        Method::POST,
        &uri,
        Some(json!({"program": "pollution_source", "identifier": "PS-0001"})),
    )
    .await;
    assert_eq!(moved.status, StatusCode::CREATED, "{}", moved.text);

    let entries = search(
        &db,
        &AuditFilter {
            entity: Some("enterprise_identifier".into()),
            action: Some("delete".into()),
            ..Default::default()
        },
        &PageQuery::default(),
    )
    .await
    .unwrap();
    assert_eq!(entries.total, 1);
    assert_eq!(
        entries.items[0].before.as_ref().unwrap()["identifier"],
        "PS-0001"
    );
});

testkit::db_test!(what_get_returns_can_be_put_back, |db| {
    let f = seed(&db).await;
    let admin = principal(Role::Admin, None);
    for uri in [
        format!("/api/v1/enterprises/{}", f.steel_a),
        format!("/api/v1/points/{}", f.outlet_point),
        format!("/api/v1/devices/{}", f.device),
        format!("/api/v1/streets/{}", f.street_a),
        format!("/api/v1/departments/{}", f.department),
    ] {
        let mut record = get(&db, &admin, &uri).await.json();
        record["name"] = json!("改名");
        if record.get("mn").is_some() {
            record["model"] = json!("改型号");
        }
        let reply = call(&db, &admin, Method::PUT, &uri, Some(record.clone())).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.text);
        // The version it carried is now stale.
        if record.get("version").is_some() {
            call(&db, &admin, Method::PUT, &uri, Some(record))
                .await
                .assert_problem(StatusCode::CONFLICT, None);
        }
    }
    let device = get(&db, &admin, &format!("/api/v1/devices/{}", f.device))
        .await
        .json();
    assert_eq!(device["password"], "123456");
    assert_eq!(device["model"], "改型号");
});

testkit::db_test!(sites_and_outlets_are_updated_in_scope, |db| {
    let f = seed(&db).await;
    let officer = principal(Role::StreetOfficer, Some(f.street_a));
    let admin = principal(Role::Admin, None);
    let base = format!("/api/v1/enterprises/{}", f.steel_a);
    let site = get(&db, &admin, &format!("{base}/sites")).await.json()[0].clone();
    let outlet = get(&db, &admin, &format!("{base}/outlets")).await.json()[0].clone();
    let site_uri = format!("{base}/sites/{}", site["id"]);
    let outlet_uri = format!("{base}/outlets/{}", outlet["id"]);

    let reply = call(
        &db,
        &officer,
        Method::PUT,
        &site_uri,
        Some(json!({"name": "一厂区（东）", "address": "钢城路 2 号"})),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["street_id"], f.street_a);
    call(
        &db,
        &officer,
        Method::PUT,
        &site_uri,
        Some(json!({"name": "x", "address": "y", "street_id": f.street_b})),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN, None);

    let mut changed = outlet.clone();
    changed["name"] = json!("烧结机头排放口（改造后）");
    changed["online_monitored"] = json!(false);
    let reply = call(
        &db,
        &officer,
        Method::PUT,
        &outlet_uri,
        Some(changed.clone()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["online_monitored"], false);

    // Another enterprise's outlet through this enterprise's path, or another street's enterprise: 404.
    let add = call(
        &db,
        &admin,
        Method::POST,
        &format!("{base}/outlets"),
        Some(json!({"code": "DA002", "name": "二号", "medium": "gas", "kind": "general"})),
    )
    .await;
    assert_eq!(add.status, StatusCode::CREATED);
    changed["code"] = json!("DA002");
    call(&db, &admin, Method::PUT, &outlet_uri, Some(changed.clone()))
        .await
        .assert_problem(StatusCode::CONFLICT, None);
    call(
        &db,
        &admin,
        Method::PUT,
        &format!("/api/v1/enterprises/{}/outlets/{}", f.other_b, outlet["id"]),
        Some(changed.clone()),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, None);
    call(
        &db,
        &officer,
        Method::PUT,
        &format!("/api/v1/enterprises/{}/sites/{}", f.other_b, site["id"]),
        Some(json!({"name": "x", "address": "y"})),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, None);
    changed["code"] = json!("DA001");
    changed["site_id"] = json!(9999);
    call(&db, &admin, Method::PUT, &outlet_uri, Some(changed))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY, Some("site_id"));

    let entries = search(
        &db,
        &AuditFilter {
            action: Some("update".into()),
            ..Default::default()
        },
        &PageQuery::default(),
    )
    .await
    .unwrap();
    let entities: Vec<&str> = entries.items.iter().map(|e| e.entity.as_str()).collect();
    assert_eq!(entities, ["outlet", "site"]);
    assert_eq!(
        entries.items[0].before.as_ref().unwrap()["online_monitored"],
        true
    );
});
