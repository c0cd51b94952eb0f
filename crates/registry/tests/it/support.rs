//! Helpers: a district to test against, principals of every role, and requests through the registry's router
//! with the principal put into the request as the web layer's auth middleware would.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use kernel::auth::AuthMethod;
use kernel::state::AppConfig;
use kernel::{AppState, Db, Principal, Role};
use registry::model::*;
use registry::service::{self, SeedEnterprise, SeedOutlet};
use serde_json::Value;
use tower::ServiceExt;

pub const ACTOR: &str = "test-seed";

/// What [`seed`] created.
pub struct Fixture {
    pub street_a: i64,
    pub street_b: i64,
    /// A steel works in street A with a permit, a site, a monitored gas outlet, its point and device.
    pub steel_a: i64,
    /// An enterprise in street B.
    pub other_b: i64,
    pub air_station: i64,
    pub outlet_point: i64,
    pub device: i64,
    pub department: i64,
}

/// A valid USCC in Dongli (division 120110) built from a number.
pub fn uscc(n: u32) -> String {
    Uscc::with_check_char(&format!("91120110MA{n:07}"))
        .expect("valid prefix")
        .to_string()
}

pub fn enterprise_input(n: u32, street_id: i64) -> EnterpriseInput {
    EnterpriseInput {
        uscc: uscc(n),
        name: format!("天津测试企业{n}有限公司"),
        industry_code: "C3120".into(),
        industry_name: "炼钢".into(),
        street_id,
        address: "天津市东丽区测试路1号".into(),
        lon: Some(117.35),
        lat: Some(39.12),
        legal_representative: Some("张三".into()),
        contact_phone: Some("022-24390000".into()),
        key_discharger: true,
        key_categories: vec![KeyCategory::Air],
        status: None,
        version: None,
    }
}

pub fn air_station_input(code: &str, street_id: i64) -> PointInput {
    PointInput {
        code: code.into(),
        name: format!("测试空气站{code}"),
        kind: PointKind::AirStation,
        level: PointLevel::Micro,
        street_id: Some(street_id),
        lon: Some(117.3),
        lat: Some(39.1),
        owner: "东丽区生态环境局".into(),
        water_body: None,
        water_kind: None,
        target_class: None,
        outlet_id: None,
        active: None,
        version: None,
    }
}

pub fn device_input(mn: &str, point_id: i64) -> DeviceInput {
    DeviceInput {
        mn: mn.into(),
        password: Some("123456".into()),
        protocol: Protocol::V2017,
        crc_mode: None,
        point_id,
        model: "TEST-1".into(),
        active: None,
        version: None,
    }
}

/// Creates a small district through the bulk (demo generator) functions, in one transaction.
pub async fn seed(db: &Db) -> Fixture {
    let mut tx = db.pool().begin().await.unwrap();
    service::seed_district(
        &mut tx,
        ACTOR,
        &District {
            code: "120110".into(),
            name: "东丽区".into(),
            city: "天津市".into(),
            center_lon: Some(117.31),
            center_lat: Some(39.09),
            simulated: true,
        },
    )
    .await
    .unwrap();
    let streets = service::seed_streets(
        &mut tx,
        ACTOR,
        &[
            StreetInput {
                code: "120110001".into(),
                name: "张贵庄街道".into(),
                ..Default::default()
            },
            StreetInput {
                code: "120110002".into(),
                name: "丰年村街道".into(),
                ..Default::default()
            },
        ],
    )
    .await
    .unwrap();
    let departments = service::seed_departments(
        &mut tx,
        ACTOR,
        &[DepartmentInput {
            code: "JCK".into(),
            name: "监测科".into(),
            kind: DepartmentKind::Bureau,
            duties: "环境监测".into(),
        }],
    )
    .await
    .unwrap();
    let steel = SeedEnterprise {
        enterprise: EnterpriseInput {
            name: "天津东丽钢铁有限公司".into(),
            ..enterprise_input(1, streets[0])
        },
        identifiers: vec![IdentifierInput {
            program: Program::Permit,
            identifier: format!("{}001P", uscc(1)),
            note: String::new(),
        }],
        sites: vec![SiteInput {
            name: "一厂区".into(),
            address: "天津市东丽区钢城路1号".into(),
            ..Default::default()
        }],
        outlets: vec![SeedOutlet {
            site_index: Some(0),
            outlet: OutletInput {
                site_id: None,
                code: "DA001".into(),
                name: "烧结机头排放口".into(),
                medium: Medium::Gas,
                kind: OutletKind::Main,
                lon: None,
                lat: None,
                online_monitored: true,
            },
        }],
    };
    let other = SeedEnterprise {
        enterprise: EnterpriseInput {
            name: "丰年村化工有限公司".into(),
            industry_code: "C2614".into(),
            industry_name: "有机化学原料制造".into(),
            key_discharger: false,
            key_categories: vec![],
            ..enterprise_input(2, streets[1])
        },
        ..Default::default()
    };
    let enterprises = service::seed_enterprises(&mut tx, ACTOR, true, &[steel, other])
        .await
        .unwrap();
    let outlet_point = PointInput {
        code: "WR-DA001".into(),
        name: "东丽钢铁烧结机头".into(),
        kind: PointKind::Outlet,
        level: PointLevel::Enterprise,
        street_id: None,
        outlet_id: Some(enterprises[0].outlet_ids[0]),
        ..air_station_input("x", streets[0])
    };
    let points = service::seed_points(
        &mut tx,
        ACTOR,
        true,
        &[
            PointInput {
                level: PointLevel::National,
                name: "跃进路".into(),
                ..air_station_input("1021A", streets[0])
            },
            outlet_point,
        ],
    )
    .await
    .unwrap();
    let devices =
        service::seed_devices(&mut tx, ACTOR, &[device_input("88888880000001", points[1])])
            .await
            .unwrap();
    tx.commit().await.unwrap();
    Fixture {
        street_a: streets[0],
        street_b: streets[1],
        steel_a: enterprises[0].id,
        other_b: enterprises[1].id,
        air_station: points[0],
        outlet_point: points[1],
        device: devices[0],
        department: departments[0],
    }
}

pub fn principal(role: Role, street_id: Option<i64>) -> Principal {
    Principal {
        user_id: 1,
        username: format!("test-{}", role.as_str()),
        display_name: role.label().into(),
        role,
        street_id,
        department_id: None,
        method: AuthMethod::Token,
    }
}

/// The principal used for `role` in the fixtures: street officers belong to street A.
pub fn principal_for(role: Role, fixture: &Fixture) -> Principal {
    let street = (role == Role::StreetOfficer).then_some(fixture.street_a);
    principal(role, street)
}

pub fn app(db: &Db, principal: Option<Principal>) -> Router {
    let state = AppState::new(db.clone(), AppConfig::default());
    let router = registry::http::routes().with_state(state);
    match principal {
        Some(p) => router.layer(axum::Extension(p)),
        None => router,
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub location: Option<String>,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// Asserts an RFC 9457 problem with this status, naming `field` when given.
    pub fn assert_problem(&self, status: StatusCode, field: Option<&str>) {
        assert_eq!(self.status, status, "body: {}", self.text);
        assert_eq!(
            self.content_type, "application/problem+json",
            "body: {}",
            self.text
        );
        if let Some(field) = field {
            assert_eq!(self.json()["field"], field, "body: {}", self.text);
        }
    }
}

/// Sends `request` to `app`; an `/api/v1` answer that differs from the OpenAPI document fails the test.
pub async fn send(app: Router, request: Request<Body>) -> Reply {
    let (method, path) = (request.method().clone(), request.uri().path().to_string());
    let (parts, body) = request.into_parts();
    let sent_headers = parts.headers.clone();
    let sent = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let request = Request::from_parts(parts, Body::from(sent.clone()));
    let response = app.oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let header_text = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let status = parts.status;
    let content_type = header_text(header::CONTENT_TYPE).unwrap_or_default();
    let location = header_text(header::LOCATION);
    let bytes = axum::body::to_bytes(body, 16 * 1024 * 1024).await.unwrap();
    webtest::contract::assert_response(
        method.as_str(),
        &path,
        status.as_u16(),
        &parts.headers,
        &bytes,
    );
    webtest::contract::assert_accepted_request(
        method.as_str(),
        &path,
        status.as_u16(),
        &sent_headers,
        &sent,
    );
    Reply {
        status,
        content_type,
        location,
        text: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

pub async fn call(
    db: &Db,
    who: &Principal,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> Reply {
    let builder = Request::builder().method(method).uri(uri);
    let request = match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => builder.body(Body::empty()),
    }
    .unwrap();
    send(app(db, Some(who.clone())), request).await
}

pub async fn get(db: &Db, who: &Principal, uri: &str) -> Reply {
    call(db, who, Method::GET, uri, None).await
}

/// A browser session principal (pages render its CSRF token into forms).
pub fn session(role: Role, street_id: Option<i64>) -> Principal {
    Principal {
        method: AuthMethod::Session {
            csrf_token: "csrf-test-token".into(),
        },
        ..principal(role, street_id)
    }
}

/// Posts a form as a browser would.
pub async fn post_form(db: &Db, who: &Principal, uri: &str, form: &[(&str, &str)]) -> Reply {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let request = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    send(app(db, Some(who.clone())), request).await
}
