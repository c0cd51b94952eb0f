//! The Chinese pages: what each role sees, forms that keep the typed values and name the field in error.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use kernel::Role;

use crate::support::*;

testkit::db_test!(lists_show_records_and_mark_simulated_ones, |db| {
    let f = seed(&db).await;
    let leader = session(Role::Leader, None);
    let page = get(&db, &leader, "/registry/enterprises").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert!(page.content_type.starts_with("text/html"));
    assert!(page.text.contains("天津东丽钢铁有限公司"));
    assert!(page.text.contains("丰年村化工有限公司"));
    assert!(page.text.contains("模拟"));
    assert!(!page.text.contains("新建企业"), "a leader may not create");

    let filtered = get(
        &db,
        &leader,
        &format!(
            "/registry/enterprises?street_id={}&q=&status=&key_discharger=",
            f.street_b
        ),
    )
    .await;
    assert_eq!(filtered.status, StatusCode::OK, "{}", filtered.text);
    assert!(!filtered.text.contains("天津东丽钢铁有限公司"));
    assert!(filtered.text.contains("共 1 条"));

    let bad = get(&db, &leader, "/registry/enterprises?street_id=abc").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    let officer = session(Role::StreetOfficer, Some(f.street_a));
    let page = get(&db, &officer, "/registry/enterprises").await;
    assert!(page.text.contains("天津东丽钢铁有限公司"));
    assert!(!page.text.contains("丰年村化工有限公司"));
    let other = get(
        &db,
        &officer,
        &format!("/registry/enterprises/{}", f.other_b),
    )
    .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert!(!other.text.contains("丰年村化工"));

    let profile = get(
        &db,
        &officer,
        &format!("/registry/enterprises/{}", f.steel_a),
    )
    .await;
    assert_eq!(profile.status, StatusCode::OK, "{}", profile.text);
    for expected in [
        "排污许可证编号",
        "88888880000001",
        "状态历史",
        "DA001",
        "WR-DA001",
        "csrf-test-token",
        "变更状态",
    ] {
        assert!(profile.text.contains(expected), "profile lacks {expected}");
    }

    let public = session(Role::Public, None);
    let points = get(&db, &public, "/registry/points").await;
    assert_eq!(points.status, StatusCode::OK, "{}", points.text);
    assert!(points.text.contains("跃进路"));
    assert!(!points.text.contains("WR-DA001"));
    assert_eq!(
        get(&db, &public, "/registry/enterprises").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&db, &public, "/registry/devices").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&db, &public, "/registry/organisation").await.status,
        StatusCode::OK
    );

    let enforcement = session(Role::Enforcement, None);
    let devices = get(&db, &enforcement, "/registry/devices").await;
    assert!(devices.text.contains("******") && !devices.text.contains("123456"));
    let monitoring = session(Role::Monitoring, None);
    let devices = get(&db, &monitoring, "/registry/devices").await;
    assert!(devices.text.contains("123456"));
    let point = get(
        &db,
        &monitoring,
        &format!("/registry/points/{}", f.outlet_point),
    )
    .await;
    assert_eq!(point.status, StatusCode::OK, "{}", point.text);
    assert!(point.text.contains("88888880000001"));
});

testkit::db_test!(forms_create_edit_and_show_errors_by_the_field, |db| {
    let f = seed(&db).await;
    let enforcement = session(Role::Enforcement, None);
    let new = get(&db, &enforcement, "/registry/enterprises/new").await;
    assert_eq!(new.status, StatusCode::OK, "{}", new.text);
    assert!(
        new.text
            .contains("name=\"_csrf\" value=\"csrf-test-token\"")
    );

    let street = f.street_a.to_string();
    let mut form = vec![
        ("_csrf", "csrf-test-token"),
        ("uscc", "91120110MA00000900"),
        ("name", "表单测试企业"),
        ("industry_code", "C3120"),
        ("industry_name", "炼钢"),
        ("street_id", street.as_str()),
        ("address", "东丽区表单路 1 号"),
        ("key_discharger", "1"),
        ("key_categories", "air"),
        ("key_categories", "water"),
    ];
    let rejected = post_form(&db, &enforcement, "/registry/enterprises", &form).await;
    assert_eq!(
        rejected.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        rejected.text
    );
    assert!(rejected.text.contains("field-error"));
    assert!(rejected.text.contains("校验码（第 18 位）"));
    assert!(
        rejected.text.contains("value=\"表单测试企业\""),
        "typed values are kept"
    );

    let good = uscc(900);
    form[1] = ("uscc", good.as_str());
    let created = post_form(&db, &enforcement, "/registry/enterprises", &form).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text);
    let location = created.location.clone().unwrap();
    assert!(location.starts_with("/registry/enterprises/"));
    let id: i64 = location.rsplit('/').next().unwrap().parse().unwrap();
    let admin = principal(Role::Admin, None);
    let stored = get(&db, &admin, &format!("/api/v1/enterprises/{id}"))
        .await
        .json();
    assert_eq!(
        stored["key_categories"],
        serde_json::json!(["air", "water"])
    );
    assert_eq!(stored["simulated"], false);

    // Edit: the form comes filled in; a stale version is refused with the reason.
    let edit = get(
        &db,
        &enforcement,
        &format!("/registry/enterprises/{id}/edit"),
    )
    .await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.text);
    assert!(edit.text.contains(&good));
    let mut update = form.clone();
    update[2] = ("name", "表单测试企业（改）");
    update.push(("version", "1"));
    let done = post_form(
        &db,
        &enforcement,
        &format!("/registry/enterprises/{id}"),
        &update,
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    let stale = post_form(
        &db,
        &enforcement,
        &format!("/registry/enterprises/{id}"),
        &update,
    )
    .await;
    assert_eq!(stale.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(stale.text.contains("记录已被他人修改"), "{}", stale.text);

    // The profile's small forms.
    let bad_date = post_form(
        &db,
        &enforcement,
        &format!("/registry/enterprises/{id}/status"),
        &[("status", "suspended"), ("effective_date", "yesterday")],
    )
    .await;
    assert_eq!(bad_date.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad_date.text.contains("日期格式应为"));
    let status = post_form(
        &db,
        &enforcement,
        &format!("/registry/enterprises/{id}/status"),
        &[
            ("status", "suspended"),
            ("effective_date", "2026-06-01"),
            ("note", "整改停产"),
        ],
    )
    .await;
    assert_eq!(status.status, StatusCode::SEE_OTHER, "{}", status.text);
    let identifier = post_form(
        &db,
        &enforcement,
        &format!("/registry/enterprises/{id}/identifiers"),
        &[
            ("program", "emergency_plan"),
            ("identifier", "120110-2026-001-L"),
        ],
    )
    .await;
    assert_eq!(
        identifier.status,
        StatusCode::SEE_OTHER,
        "{}",
        identifier.text
    );
    let site = post_form(
        &db,
        &enforcement,
        &format!("/registry/enterprises/{id}/sites"),
        &[("name", "北厂区"), ("address", "东丽区北路")],
    )
    .await;
    assert_eq!(site.status, StatusCode::SEE_OTHER, "{}", site.text);
    let outlet = post_form(
        &db,
        &enforcement,
        &format!("/registry/enterprises/{id}/outlets"),
        &[
            ("code", "DW001"),
            ("name", "总排口"),
            ("medium", "water"),
            ("kind", "main"),
            ("site_id", ""),
            ("online_monitored", "1"),
        ],
    )
    .await;
    assert_eq!(outlet.status, StatusCode::SEE_OTHER, "{}", outlet.text);
    let listed = get(
        &db,
        &principal(Role::Admin, None),
        &format!("/api/v1/enterprises/{id}/identifiers"),
    )
    .await
    .json();
    let identifier_id = listed[0]["id"].as_i64().unwrap();
    let page = get(&db, &enforcement, &format!("/registry/enterprises/{id}")).await;
    assert!(
        page.text
            .contains(&format!("/identifiers/{identifier_id}/delete"))
    );
    let mistaken = post_form(
        &db,
        &enforcement,
        &format!("/registry/enterprises/{id}/identifiers"),
        &[("program", "permit"), ("identifier", "WRONG-1")],
    )
    .await;
    assert_eq!(mistaken.status, StatusCode::SEE_OTHER, "{}", mistaken.text);
    let listed = get(
        &db,
        &principal(Role::Admin, None),
        &format!("/api/v1/enterprises/{id}/identifiers"),
    )
    .await
    .json();
    let wrong_id = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["identifier"] == "WRONG-1")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let removed = post_form(
        &db,
        &enforcement,
        &format!("/registry/enterprises/{id}/identifiers/{wrong_id}/delete"),
        &[("_csrf", "csrf-test-token")],
    )
    .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.text);
    let profile = get(&db, &enforcement, &format!("/registry/enterprises/{id}")).await;
    for expected in ["整改停产", "120110-2026-001-L", "北厂区", "DW001", "停产"] {
        assert!(profile.text.contains(expected), "profile lacks {expected}");
    }
    assert!(!profile.text.contains("WRONG-1"));

    // A leader may look but not open forms.
    let leader = session(Role::Leader, None);
    assert_eq!(
        get(&db, &leader, "/registry/enterprises/new").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post_form(&db, &leader, "/registry/enterprises", &form)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
});

testkit::db_test!(point_device_and_organisation_forms, |db| {
    let f = seed(&db).await;
    let monitoring = session(Role::Monitoring, None);
    assert_eq!(
        get(&db, &monitoring, "/registry/points/new").await.status,
        StatusCode::OK
    );
    let street = f.street_a.to_string();
    let missing_water = post_form(
        &db,
        &monitoring,
        "/registry/points",
        &[
            ("code", "S01"),
            ("name", "新地河断面"),
            ("kind", "water_section"),
            ("level", "municipal"),
            ("street_id", street.as_str()),
            ("owner", "市监测中心"),
            ("active", "1"),
        ],
    )
    .await;
    assert_eq!(missing_water.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(missing_water.text.contains("水质断面必填"));
    let created = post_form(
        &db,
        &monitoring,
        "/registry/points",
        &[
            ("code", "S01"),
            ("name", "新地河断面"),
            ("kind", "water_section"),
            ("level", "municipal"),
            ("street_id", street.as_str()),
            ("owner", "市监测中心"),
            ("water_body", "新地河"),
            ("water_kind", "river"),
            ("target_class", "4"),
            ("active", "1"),
        ],
    )
    .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.text);
    let point_path = created.location.unwrap();
    let point_id = point_path.rsplit('/').next().unwrap().to_string();
    let edit = get(&db, &monitoring, &format!("{point_path}/edit")).await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(edit.text.contains("新地河"));

    let new_device = get(
        &db,
        &monitoring,
        &format!("/registry/devices/new?point_id={point_id}"),
    )
    .await;
    assert_eq!(new_device.status, StatusCode::OK, "{}", new_device.text);
    let duplicate = post_form(
        &db,
        &monitoring,
        "/registry/devices",
        &[
            ("mn", "88888880000001"),
            ("password", "pw"),
            ("protocol", "2017"),
            ("crc_mode", "strict"),
            ("point_id", point_id.as_str()),
            ("active", "1"),
        ],
    )
    .await;
    assert_eq!(duplicate.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(duplicate.text.contains("该 MN 已登记"));
    let device = post_form(
        &db,
        &monitoring,
        "/registry/devices",
        &[
            ("mn", "88888880000002"),
            ("password", "pw"),
            ("protocol", "2025"),
            ("crc_mode", "accept_variant"),
            ("point_id", point_id.as_str()),
            ("active", "1"),
        ],
    )
    .await;
    assert_eq!(device.status, StatusCode::SEE_OTHER, "{}", device.text);
    let edit = get(
        &db,
        &monitoring,
        &format!("/registry/devices/{}/edit", f.device),
    )
    .await;
    assert_eq!(edit.status, StatusCode::OK);
    assert!(
        !edit.text.contains("123456"),
        "the form never shows the stored password"
    );
    // Saving with an empty password keeps the stored one.
    let outlet_point = f.outlet_point.to_string();
    let saved = post_form(
        &db,
        &monitoring,
        &format!("/registry/devices/{}", f.device),
        &[
            ("mn", "88888880000001"),
            ("password", ""),
            ("protocol", "2017"),
            ("crc_mode", "strict"),
            ("point_id", outlet_point.as_str()),
            ("model", "改型号"),
            ("active", "1"),
        ],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text);
    let admin = principal(Role::Admin, None);
    let stored = get(&db, &admin, &format!("/api/v1/devices/{}", f.device))
        .await
        .json();
    assert_eq!(stored["password"], "123456");
    assert_eq!(stored["model"], "改型号");

    let admin_page = session(Role::Admin, None);
    let organisation = get(&db, &admin_page, "/registry/organisation").await;
    assert!(organisation.text.contains("张贵庄街道") && organisation.text.contains("监测科"));
    let duplicate = post_form(
        &db,
        &admin_page,
        "/registry/organisation/streets",
        &[("code", "120110009"), ("name", "张贵庄街道")],
    )
    .await;
    assert_eq!(duplicate.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(duplicate.text.contains("已有相同代码或名称的街道"));
    let street = post_form(
        &db,
        &admin_page,
        "/registry/organisation/streets",
        &[("code", "120110009"), ("name", "华明街道")],
    )
    .await;
    assert_eq!(street.status, StatusCode::SEE_OTHER);
    let department = post_form(
        &db,
        &admin_page,
        "/registry/organisation/departments",
        &[("code", "JJ"), ("name", "交警支队"), ("kind", "external")],
    )
    .await;
    assert_eq!(department.status, StatusCode::SEE_OTHER);
    let organisation = get(&db, &admin_page, "/registry/organisation").await;
    assert!(
        organisation
            .text
            .contains(&format!("/registry/organisation/streets/{}", f.street_b))
    );
    let renamed = post_form(
        &db,
        &admin_page,
        &format!("/registry/organisation/streets/{}", f.street_b),
        &[
            ("code", "120110002"),
            ("name", "丰年村街道"),
            ("center_lon", "117.36"),
            ("center_lat", "39.15"),
        ],
    )
    .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER, "{}", renamed.text);
    let clash = post_form(
        &db,
        &admin_page,
        &format!("/registry/organisation/streets/{}", f.street_b),
        &[("code", "120110002"), ("name", "张贵庄街道")],
    )
    .await;
    assert_eq!(clash.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(clash.text.contains("已有相同代码或名称的街道"));
    let stored = get(&db, &admin, &format!("/api/v1/streets/{}", f.street_b))
        .await
        .json();
    assert_eq!(stored["center_lon"], 117.36);
    let duties = post_form(
        &db,
        &admin_page,
        &format!("/registry/organisation/departments/{}", f.department),
        &[
            ("code", "JCK"),
            ("name", "监测科"),
            ("kind", "bureau"),
            ("duties", "大气、水、噪声监测"),
        ],
    )
    .await;
    assert_eq!(duties.status, StatusCode::SEE_OTHER, "{}", duties.text);
    assert_eq!(
        get(
            &db,
            &admin,
            &format!("/api/v1/departments/{}", f.department)
        )
        .await
        .json()["duties"],
        "大气、水、噪声监测"
    );
    let officer = session(Role::StreetOfficer, Some(f.street_a));
    let refused = post_form(
        &db,
        &officer,
        "/registry/organisation/departments",
        &[("code", "X"), ("name", "X"), ("kind", "external")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
});

testkit::db_test!(pages_without_a_session_go_to_login, |db| {
    let _f = seed(&db).await;
    let request = Request::get("/registry/enterprises")
        .body(Body::empty())
        .unwrap();
    let reply = send(app(&db, None), request).await;
    assert!(reply.status.is_redirection());
    assert_eq!(reply.location.as_deref(), Some("/login"));
});
