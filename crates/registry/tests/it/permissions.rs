//! The role × resource × action matrix at the HTTP level, street scoping and what the public may see.

use axum::http::{Method, StatusCode};
use kernel::{Action, Resource, Role, auth::role_allows};
use serde_json::{Value, json};

use crate::support::*;

/// A request for one (resource, action) cell, valid for the fixture, unique per role where it creates.
fn request_for(
    resource: Resource,
    action: Action,
    role: Role,
    f: &Fixture,
    n: u32,
) -> (Method, String, Option<Value>) {
    let tag = role.as_str();
    match (resource.name, action) {
        ("organisation", Action::Read) => {
            (Method::GET, format!("/api/v1/streets/{}", f.street_a), None)
        }
        ("organisation", Action::Create) => (
            Method::POST,
            "/api/v1/departments".into(),
            Some(
                json!({"code": format!("D-{tag}"), "name": format!("部门{tag}"), "kind": "external"}),
            ),
        ),
        ("organisation", Action::Update) => (
            Method::PUT,
            format!("/api/v1/departments/{}", f.department),
            Some(
                json!({"code": "JCK", "name": "监测科", "kind": "bureau", "duties": format!("by {tag}")}),
            ),
        ),
        ("enterprise", Action::Read) => (
            Method::GET,
            format!("/api/v1/enterprises/{}", f.steel_a),
            None,
        ),
        ("enterprise", Action::Create) => (
            Method::POST,
            "/api/v1/enterprises".into(),
            Some(serde_json::to_value(enterprise_input(100 + n, f.street_a)).unwrap()),
        ),
        ("enterprise", Action::Update) => {
            let mut input = enterprise_input(1, f.street_a);
            input.name = format!("天津东丽钢铁有限公司（{tag}）");
            (
                Method::PUT,
                format!("/api/v1/enterprises/{}", f.steel_a),
                Some(serde_json::to_value(input).unwrap()),
            )
        }
        ("monitoring_point", Action::Read) => (
            Method::GET,
            format!("/api/v1/points/{}", f.air_station),
            None,
        ),
        ("monitoring_point", Action::Create) => (
            Method::POST,
            "/api/v1/points".into(),
            Some(serde_json::to_value(air_station_input(&format!("M-{tag}"), f.street_a)).unwrap()),
        ),
        ("monitoring_point", Action::Update) => {
            let mut input = air_station_input("1021A", f.street_a);
            input.level = registry::model::PointLevel::National;
            input.name = format!("跃进路（{tag}）");
            (
                Method::PUT,
                format!("/api/v1/points/{}", f.air_station),
                Some(serde_json::to_value(input).unwrap()),
            )
        }
        ("device", Action::Read) => (Method::GET, format!("/api/v1/devices/{}", f.device), None),
        ("device", Action::Create) => (
            Method::POST,
            "/api/v1/devices".into(),
            Some(serde_json::to_value(device_input(&format!("MN{n:012}"), f.air_station)).unwrap()),
        ),
        ("device", Action::Update) => {
            let mut input = device_input("88888880000001", f.outlet_point);
            input.model = format!("TEST-{tag}");
            (
                Method::PUT,
                format!("/api/v1/devices/{}", f.device),
                Some(serde_json::to_value(input).unwrap()),
            )
        }
        _ => unreachable!("no delete in the registry API"),
    }
}

/// The list endpoint of a resource.
fn list_for(resource: Resource) -> &'static str {
    match resource.name {
        "organisation" => "/api/v1/departments",
        "enterprise" => "/api/v1/enterprises",
        "monitoring_point" => "/api/v1/points",
        "device" => "/api/v1/devices",
        _ => unreachable!(),
    }
}

testkit::db_test!(role_resource_action_matrix, |db| {
    let f = seed(&db).await;
    let resources = [
        registry::ORGANISATION,
        registry::ENTERPRISE,
        registry::MONITORING_POINT,
        registry::DEVICE,
    ];
    let mut checked: usize = 0;
    for (n, role) in Role::ALL.into_iter().enumerate() {
        let who = principal_for(role, &f);
        for resource in resources {
            // List.
            let allowed = role_allows(role, resource, Action::Read);
            let reply = get(&db, &who, list_for(resource)).await;
            if allowed {
                assert_eq!(
                    reply.status,
                    StatusCode::OK,
                    "{role:?} list {resource:?}: {}",
                    reply.text
                );
                assert!(reply.json().is_array() || reply.json()["items"].is_array());
            } else {
                reply.assert_problem(StatusCode::FORBIDDEN, None);
            }
            checked += 1;
            // Get, create, update.
            for action in [Action::Read, Action::Create, Action::Update] {
                let allowed = role_allows(role, resource, action);
                let n = u32::try_from(n * 10 + checked).unwrap();
                let (method, uri, body) = request_for(resource, action, role, &f, n);
                let reply = call(&db, &who, method.clone(), &uri, body).await;
                let expected = match (allowed, action) {
                    (false, _) => StatusCode::FORBIDDEN,
                    (true, Action::Create) => StatusCode::CREATED,
                    (true, _) => StatusCode::OK,
                };
                assert_eq!(
                    reply.status, expected,
                    "{role:?} {action:?} {resource:?} ({method} {uri}): {}",
                    reply.text
                );
                if expected == StatusCode::FORBIDDEN {
                    reply.assert_problem(StatusCode::FORBIDDEN, None);
                }
                if expected == StatusCode::CREATED {
                    let location = reply.location.clone().expect("Location on 201");
                    assert!(location.starts_with("/api/v1/"), "{location}");
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 8 * 4 * 4);
});

testkit::db_test!(street_officer_sees_only_own_street, |db| {
    let f = seed(&db).await;
    let officer = principal(Role::StreetOfficer, Some(f.street_a));

    let list = get(&db, &officer, "/api/v1/enterprises").await.json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], f.steel_a);
    // Filtering for another street gives nothing rather than that street's records.
    let list = get(
        &db,
        &officer,
        &format!("/api/v1/enterprises?street_id={}", f.street_b),
    )
    .await
    .json();
    assert_eq!(list["total"], 0);

    let other = f.other_b;
    for uri in [
        format!("/api/v1/enterprises/{other}"),
        format!("/api/v1/enterprises/{other}/profile"),
        format!("/api/v1/enterprises/{other}/status"),
        format!("/api/v1/enterprises/{other}/identifiers"),
        format!("/api/v1/enterprises/{other}/sites"),
        format!("/api/v1/enterprises/{other}/outlets"),
        format!(
            "/api/v1/enterprises/lookup?program=uscc&identifier={}",
            uscc(2)
        ),
    ] {
        let reply = get(&db, &officer, &uri).await;
        reply.assert_problem(StatusCode::NOT_FOUND, None);
        assert!(
            !reply.text.contains("丰年村化工"),
            "{uri} leaked: {}",
            reply.text
        );
        assert!(
            !reply.text.contains(&uscc(2)),
            "{uri} leaked: {}",
            reply.text
        );
    }

    // Updating another street's enterprise: 404, and nothing changed.
    let mut input = enterprise_input(2, f.street_b);
    input.name = "改名".into();
    let reply = call(
        &db,
        &officer,
        Method::PUT,
        &format!("/api/v1/enterprises/{other}"),
        Some(serde_json::to_value(&input).unwrap()),
    )
    .await;
    reply.assert_problem(StatusCode::NOT_FOUND, None);
    let reply = call(
        &db,
        &officer,
        Method::POST,
        &format!("/api/v1/enterprises/{other}/status"),
        Some(json!({"status": "closed", "effective_date": "2026-01-01"})),
    )
    .await;
    reply.assert_problem(StatusCode::NOT_FOUND, None);
    let reply = call(
        &db,
        &officer,
        Method::POST,
        &format!("/api/v1/enterprises/{other}/identifiers"),
        Some(json!({"program": "permit", "identifier": "X1"})),
    )
    .await;
    reply.assert_problem(StatusCode::NOT_FOUND, None);
    let admin = principal(Role::Admin, None);
    let stored = get(&db, &admin, &format!("/api/v1/enterprises/{other}"))
        .await
        .json();
    assert_eq!(stored["name"], "丰年村化工有限公司");
    assert_eq!(stored["status"], "operating");

    // Creating into another street, or moving an own enterprise there: 403.
    let reply = call(
        &db,
        &officer,
        Method::POST,
        "/api/v1/enterprises",
        Some(serde_json::to_value(enterprise_input(50, f.street_b)).unwrap()),
    )
    .await;
    reply.assert_problem(StatusCode::FORBIDDEN, None);
    let reply = call(
        &db,
        &officer,
        Method::PUT,
        &format!("/api/v1/enterprises/{}", f.steel_a),
        Some(serde_json::to_value(enterprise_input(1, f.street_b)).unwrap()),
    )
    .await;
    reply.assert_problem(StatusCode::FORBIDDEN, None);

    // Points: the public kinds everywhere, outlet points of the own street only.
    let officer_b = principal(Role::StreetOfficer, Some(f.street_b));
    let points = get(&db, &officer_b, "/api/v1/points").await.json();
    assert_eq!(points["total"], 1, "{points}");
    get(
        &db,
        &officer_b,
        &format!("/api/v1/points/{}", f.outlet_point),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND, None);
    assert_eq!(
        get(&db, &officer, &format!("/api/v1/points/{}", f.outlet_point))
            .await
            .status,
        StatusCode::OK
    );

    // A street officer without a street sees no enterprise at all.
    let lost = principal(Role::StreetOfficer, None);
    assert_eq!(
        get(&db, &lost, "/api/v1/enterprises").await.json()["total"],
        0
    );
});

testkit::db_test!(public_sees_streets_and_public_points_only, |db| {
    let f = seed(&db).await;
    let public = principal(Role::Public, None);
    assert_eq!(
        get(&db, &public, "/api/v1/streets")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let points = get(&db, &public, "/api/v1/points").await.json();
    assert_eq!(points["total"], 1);
    assert_eq!(points["items"][0]["kind"], "air_station");
    let outlets = get(&db, &public, "/api/v1/points?kind=outlet").await.json();
    assert_eq!(outlets["total"], 0);
    get(&db, &public, &format!("/api/v1/points/{}", f.outlet_point))
        .await
        .assert_problem(StatusCode::NOT_FOUND, None);
    for uri in [
        "/api/v1/enterprises".to_string(),
        format!("/api/v1/enterprises/{}", f.steel_a),
        format!("/api/v1/enterprises/{}/outlets", f.steel_a),
        format!("/api/v1/enterprises/{}/profile", f.steel_a),
        "/api/v1/devices".to_string(),
        format!("/api/v1/devices/{}", f.device),
    ] {
        get(&db, &public, &uri)
            .await
            .assert_problem(StatusCode::FORBIDDEN, None);
    }
});

testkit::db_test!(device_passwords_only_for_admin_and_monitoring, |db| {
    let f = seed(&db).await;
    for role in Role::ALL {
        let who = principal_for(role, &f);
        let reply = get(&db, &who, &format!("/api/v1/devices/{}", f.device)).await;
        if !role_allows(role, registry::DEVICE, Action::Read) {
            reply.assert_problem(StatusCode::FORBIDDEN, None);
            continue;
        }
        let expected = if matches!(role, Role::Admin | Role::Monitoring) {
            "123456"
        } else {
            "******"
        };
        assert_eq!(reply.json()["password"], expected, "{role:?}");
        let list = get(&db, &who, "/api/v1/devices").await.json();
        assert_eq!(list["items"][0]["password"], expected, "{role:?}");
        assert!(!list.to_string().contains("123456") || expected == "123456");
    }
    // The profile never carries passwords, even for an administrator.
    let admin = principal(Role::Admin, None);
    let profile = get(
        &db,
        &admin,
        &format!("/api/v1/enterprises/{}/profile", f.steel_a),
    )
    .await
    .json();
    assert_eq!(profile["devices"][0]["password"], "******");
    // Sending the mask back on update keeps the stored password.
    let mut input = device_input("88888880000001", f.outlet_point);
    input.password = Some("******".into());
    input.model = "NEW".into();
    let reply = call(
        &db,
        &admin,
        Method::PUT,
        &format!("/api/v1/devices/{}", f.device),
        Some(serde_json::to_value(input).unwrap()),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["password"], "123456");
    assert_eq!(reply.json()["model"], "NEW");
});

testkit::db_test!(no_principal_is_401, |db| {
    let _f = seed(&db).await;
    let request = axum::http::Request::get("/api/v1/streets")
        .body(axum::body::Body::empty())
        .unwrap();
    let reply = send(app(&db, None), request).await;
    reply.assert_problem(StatusCode::UNAUTHORIZED, None);
});
