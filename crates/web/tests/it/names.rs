//! What people read, not what machines use (issue 14): forms choose records by name (no field asks for an
//! id), timelines and logs name people and bodies, the public sees no count of what it may not read and no
//! internal status, and no page carries the developers' tags or file paths.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use kernel::Role;
use registry::model::{
    DepartmentInput, DepartmentKind, EnterpriseInput, Medium, OutletInput, OutletKind, Uscc,
};
use registry::service::{SeedEnterprise, SeedOutlet};

use crate::app::{Session, TestApp};

async fn page(app: &TestApp, session: &Session, path: &str) -> webtest::Reply {
    app.send(
        Request::get(path)
            .header(header::COOKIE, &session.cookie)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

async fn post_form(
    app: &TestApp,
    session: &Session,
    path: &str,
    form: &[(&str, &str)],
) -> webtest::Reply {
    let mut pairs: Vec<(&str, &str)> = form.to_vec();
    pairs.push(("_csrf", &session.csrf));
    app.send(
        Request::post(path)
            .header(header::COOKIE, &session.cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(serde_urlencoded::to_string(&pairs).unwrap()))
            .unwrap(),
    )
    .await
}

/// An enterprise with one gas outlet in `street`, and a department; their ids.
async fn registry_records(app: &TestApp, street: i64, n: u32, name: &str) -> (i64, i64) {
    let db = &app.state.db;
    let mut tx = db.begin_write().await.unwrap();
    let seeded = registry::service::seed_enterprises(
        &mut tx,
        "test",
        false,
        &[SeedEnterprise {
            enterprise: EnterpriseInput {
                uscc: Uscc::with_check_char(&format!("91120110MA000000{n}"))
                    .unwrap()
                    .to_string(),
                name: name.into(),
                industry_code: "C3110".into(),
                industry_name: "炼铁".into(),
                street_id: street,
                address: "天津市东丽区测试路1号".into(),
                ..Default::default()
            },
            outlets: vec![SeedOutlet {
                site_index: None,
                outlet: OutletInput {
                    site_id: None,
                    code: "DA001".into(),
                    name: "烧结机头".into(),
                    medium: Medium::Gas,
                    kind: OutletKind::Main,
                    lon: None,
                    lat: None,
                    online_monitored: true,
                },
            }],
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (seeded[0].id, seeded[0].outlet_ids[0])
}

async fn department(app: &TestApp, name: &str) -> i64 {
    let mut tx = app.state.db.begin_write().await.unwrap();
    let ids = registry::service::seed_departments(
        &mut tx,
        "test",
        &[DepartmentInput {
            code: "CGW".into(),
            name: name.into(),
            kind: DepartmentKind::External,
            duties: String::new(),
        }],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    ids[0]
}

/// Every `<input>` tag of a page's HTML.
fn inputs(html: &str) -> Vec<&str> {
    html.match_indices("<input")
        .map(|(at, _)| &html[at..at + html[at..].find('>').unwrap_or(0) + 1])
        .collect()
}

/// The text of every `<label>` (tags removed).
fn label_texts(html: &str) -> Vec<String> {
    html.match_indices("<label")
        .filter_map(|(at, _)| {
            let end = html[at..].find("</label>")?;
            let inner = &html[at..at + end];
            let mut text = String::new();
            let mut in_tag = false;
            for c in inner.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            Some(text)
        })
        .collect()
}

/// No field a person fills in is an id: every `…_id` input is hidden (a picker's), and no label says "id".
fn assert_no_id_fields(path: &str, html: &str) {
    for tag in inputs(html) {
        let name = tag
            .split(" name=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("");
        if name.ends_with("_id") || name == "id" {
            assert!(
                tag.contains("type=\"hidden\""),
                "{path}: a visible id field: {tag}"
            );
        }
    }
    for text in label_texts(html) {
        let lower = text.to_lowercase();
        let says_id = lower.match_indices("id").any(|(at, _)| {
            let before = lower[..at].chars().next_back();
            let after = lower[at + 2..].chars().next();
            !before.is_some_and(|c| c.is_ascii_alphanumeric())
                && !after.is_some_and(|c| c.is_ascii_alphanumeric())
        });
        assert!(!says_id, "{path}: a label asks for an id: {text}");
    }
}

testkit::db_test!(forms_choose_records_by_name_never_by_id, |db| {
    let app = TestApp::new(db).await;
    let (_, outlet) = registry_records(&app, app.street_a, 1, "东丽钢铁有限公司").await;
    let admin = app.session(Role::Admin).await;
    for path in [
        "/registry/points/new",
        "/registry/devices/new",
        "/registry/devices",
        "/complaints/new",
        "/admin/audit",
        "/registry/enterprises",
        "/registry/points",
        "/alarms",
        "/complaints",
    ] {
        let reply = page(&app, &admin, path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        assert_no_id_fields(path, &reply.body);
    }
    // The point form offers the outlet by its enterprise's name; typing that label (no script: no hidden id)
    // is enough.
    let form = page(&app, &admin, "/registry/points/new").await.body;
    assert!(form.contains("东丽钢铁有限公司 · DA001 烧结机头"), "{form}");
    let created = post_form(
        &app,
        &admin,
        "/registry/points",
        &[
            ("code", "DA001-CEMS"),
            ("name", "烧结机头在线监测"),
            ("kind", "outlet"),
            ("level", "enterprise"),
            ("owner", "东丽钢铁有限公司"),
            ("outlet", "东丽钢铁有限公司 · DA001 烧结机头"),
            ("outlet_id", ""),
            ("active", "1"),
        ],
    )
    .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let point_path = created.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    let point_id: i64 = point_path.rsplit('/').next().unwrap().parse().unwrap();
    let point = registry::service::point(&app.state.db, point_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(point.outlet_id, Some(outlet));
    // A device is put on a point by its code and name; an unknown name is refused in Chinese, by the field.
    let refused = post_form(
        &app,
        &admin,
        "/registry/devices",
        &[
            ("mn", "88888880000001"),
            ("password", "pw123456"),
            ("protocol", "2017"),
            ("crc_mode", "strict"),
            ("point", "不存在的点位"),
            ("point_id", ""),
            ("active", "1"),
        ],
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("没有找到“不存在的点位”对应的监测点位"),
        "{}",
        refused.body
    );
    let device = post_form(
        &app,
        &admin,
        "/registry/devices",
        &[
            ("mn", "88888880000001"),
            ("password", "pw123456"),
            ("protocol", "2017"),
            ("crc_mode", "strict"),
            ("point", "DA001-CEMS 烧结机头在线监测"),
            ("point_id", ""),
            ("active", "1"),
        ],
    )
    .await;
    assert_eq!(device.status, StatusCode::SEE_OTHER, "{}", device.body);
    assert_eq!(
        device.headers[header::LOCATION].to_str().unwrap(),
        point_path
    );
});

testkit::db_test!(a_street_officers_pickers_offer_only_their_street, |db| {
    let app = TestApp::new(db).await;
    registry_records(&app, app.street_a, 1, "张贵庄甲厂").await;
    registry_records(&app, app.street_b, 2, "华明乙厂").await;
    let token = app.token(Role::StreetOfficer).await;
    let reply = app.get_with_token("/api/v1/outlets?q=DA001", &token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let labels: Vec<String> = reply.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["label"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(labels, vec!["张贵庄甲厂 · DA001 烧结机头".to_string()]);
    let officer = app.session(Role::StreetOfficer).await;
    let intake = page(&app, &officer, "/complaints/new").await;
    if intake.status == StatusCode::OK {
        assert!(
            intake.body.contains("张贵庄甲厂") && !intake.body.contains("华明乙厂"),
            "{}",
            intake.body
        );
    }
});

testkit::db_test!(timelines_and_logs_name_people_and_bodies, |db| {
    let app = TestApp::new(db).await;
    let department = department(&app, "城管委").await;
    let petition = app.session(Role::Petition).await;
    let created = post_form(
        &app,
        &petition,
        "/complaints/new",
        &[
            ("channel", "letter"),
            ("category", "catering_fumes"),
            ("title", "油烟扰民"),
            ("description", "楼下饭店油烟"),
            ("address", "测试路1号"),
        ],
    )
    .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let case = created.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    for form in [
        vec![
            ("action", "accept".to_string()),
            ("note", "受理".to_string()),
        ],
        vec![
            ("action", "assign".to_string()),
            ("street_id", app.street_a.to_string()),
            ("department_id", department.to_string()),
        ],
    ] {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let done = post_form(&app, &petition, &format!("{case}/action"), &pairs).await;
        assert!(
            done.status == StatusCode::SEE_OTHER || done.status == StatusCode::OK,
            "{}",
            done.body
        );
    }
    let admin = app.session(Role::Admin).await;
    let html = page(&app, &admin, &case).await.body;
    assert!(html.contains("交办 张贵庄街道、城管委"), "{html}");
    assert!(
        !html.contains("街道 id") && !html.contains("部门 id"),
        "{html}"
    );
    // The timeline's actor is the person (测试信访办), not the username.
    let timeline = &html[html.find("办理记录").unwrap()..];
    assert!(timeline.contains("测试信访办"), "{timeline}");
    assert!(!timeline.contains(">petition<"), "{timeline}");
    // The audit log names people, with the username beside the name.
    let audit = page(&app, &admin, "/admin/audit").await.body;
    assert!(audit.contains("测试信访办（petition）"), "{audit}");
});

testkit::db_test!(
    the_public_sees_no_count_it_may_not_read_and_no_internal_status,
    |db| {
        let app = TestApp::new(db).await;
        registry_records(&app, app.street_a, 1, "东丽钢铁有限公司").await;
        let public = app.session(Role::Public).await;
        let overview = page(&app, &public, "/overview").await;
        assert_eq!(overview.status, StatusCode::OK);
        for hidden in ["企业", "重点排污单位", "排放口", "在线监测设备"] {
            assert!(
                !overview.body.contains(hidden),
                "/overview shows {hidden}: {}",
                overview.body
            );
        }
        assert!(overview.body.contains("空气监测站点") && overview.body.contains("地表水断面"));
        let home = page(&app, &public, "/").await;
        assert_eq!(home.status, StatusCode::OK);
        for internal in ["报警", "待核实", "在线监控", "信访", "离线", "设备"] {
            assert!(
                !home.body.contains(internal),
                "/ shows {internal} to the public"
            );
        }
        // A leader still sees them all.
        let leader = app.session(Role::Leader).await;
        let overview = page(&app, &leader, "/overview").await.body;
        for shown in ["企业", "排放口", "在线监测设备"] {
            assert!(overview.contains(shown), "{overview}");
        }
    }
);

testkit::db_test!(no_page_carries_internal_tags_or_file_paths, |db| {
    let app = TestApp::new(db).await;
    let admin = app.session(Role::Admin).await;
    let mut paths = vec![
        "/".to_string(),
        "/overview".into(),
        "/methods".into(),
        "/analysis".into(),
        "/complaints/settings".into(),
        "/complaints/new".into(),
        "/rankings/settings".into(),
        "/targets".into(),
        "/admin/calendar".into(),
    ];
    paths.extend(
        ["letter", "hotline_12369", "citizen_12345", "grid_officer"]
            .iter()
            .map(|c| format!("/complaints/new?channel={c}")),
    );
    let tags = [
        "[V]",
        "[V2]",
        "[M]",
        "[P ",
        "[M ",
        "[未核实]",
        "[V/V2]",
        "docs/",
        ".md",
        "web-assets/",
    ];
    for path in &paths {
        let reply = page(&app, &admin, path).await;
        if reply.status != StatusCode::OK {
            continue;
        }
        for tag in tags {
            assert!(!reply.body.contains(tag), "{path} shows {tag}");
        }
    }
    // The methods page explains in plain Chinese, citing standards by number.
    let methods = page(&app, &admin, "/methods").await.body;
    for must in [
        "HJ 633-2012",
        "GB 3095-2012",
        "GB 3838-2002",
        "置信区间",
        "暂定",
        "模拟",
    ] {
        assert!(methods.contains(must), "/methods lacks {must}");
    }
    // The clocks' bases (every channel) carry no tags either.
    for channel in complaints::model::Channel::ALL {
        let basis = channel.clocks().basis;
        for tag in tags {
            assert!(!basis.contains(tag), "{channel:?}: {basis}");
        }
    }
    for preset in bulletins::model::AIR_PRESETS
        .iter()
        .map(|p| p.source)
        .chain(bulletins::model::WATER_PRESETS.iter().map(|p| p.source))
    {
        for tag in tags {
            assert!(!preset.contains(tag), "{preset}");
        }
    }
});
