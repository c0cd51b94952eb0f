//! A test client around `web::app`, shared by the HTTP tests of every area: users of every role (the street
//! officer on street A), login, requests with a session or a token. Each app has its own data directory.
//! Every `/api/v1` response it receives is checked against the OpenAPI document ([`contract`]).

pub mod contract;

use accounts::service::Actor;
use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use kernel::state::AppConfig;
use kernel::{AppState, Db, Role};
use tower::ServiceExt;

pub const PASSWORD: &str = "correct-horse-battery";

/// The login form's token as a browser holds it after `GET /login`: in its cookie and in the form's `_csrf`
/// field (the double submit of `accounts::http::login_token_cookie`; any well-formed value works).
pub const LOGIN_FORM_TOKEN: &str = "webtest-login-form-token-0123456789abcdefgh";

/// The login form as a browser posts it, for tests that send it themselves (many at once).
pub fn login_request(username: &str, password: &str, next: &str) -> Request<Body> {
    let body = serde_urlencoded::to_string([
        ("_csrf", LOGIN_FORM_TOKEN),
        ("username", username),
        ("password", password),
        ("next", next),
    ])
    .unwrap();
    Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(
            header::COOKIE,
            format!(
                "{}={LOGIN_FORM_TOKEN}",
                accounts::http::login_token_cookie(false)
            ),
        )
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body))
        .unwrap()
}

pub struct TestApp {
    /// The app's data directory (evidence files and the like), removed with the app.
    pub _data: tempfile::TempDir,
    pub state: AppState,
    pub router: axum::Router,
    /// The street of the street officer, and another one.
    pub street_a: i64,
    pub street_b: i64,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A browser session: the cookie and the CSRF token.
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

impl TestApp {
    pub async fn new(db: Db) -> TestApp {
        let data = tempfile::tempdir().unwrap();
        let config = AppConfig {
            data_dir: data.path().to_path_buf(),
            ..AppConfig::default()
        };
        let mut app = TestApp::with_config(db, config).await;
        app._data = data;
        app
    }

    pub async fn with_config(db: Db, config: AppConfig) -> TestApp {
        let mut tx = db.begin_write().await.unwrap();
        registry::service::seed_district(
            &mut tx,
            "webtest",
            &registry::model::District {
                code: "120110".into(),
                name: "东丽区".into(),
                city: "天津市".into(),
                center_lon: None,
                center_lat: None,
                simulated: true,
            },
        )
        .await
        .unwrap();
        let street = |code: &str, name: &str| registry::model::StreetInput {
            code: code.into(),
            name: name.into(),
            ..Default::default()
        };
        let streets = registry::service::seed_streets(
            &mut tx,
            "webtest",
            &[street("zgz", "张贵庄街道"), street("hm", "华明街道")],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        for role in Role::ALL {
            let street_id = (role == Role::StreetOfficer).then_some(streets[0]);
            accounts::service::create_user(
                &db,
                Actor::Cli,
                accounts::NewUser {
                    username: role.as_str().replace('_', "-"),
                    display_name: format!("测试{}", role.label()),
                    password: PASSWORD.to_string(),
                    role,
                    street_id,
                    department_id: None,
                },
            )
            .await
            .unwrap();
        }
        let state = AppState::new(db, config);
        TestApp {
            _data: tempfile::tempdir().unwrap(),
            router: web::app(state.clone()),
            state,
            street_a: streets[0],
            street_b: streets[1],
        }
    }

    /// A fresh installation, as `qingshan serve` finds it on a new data directory: no district, no streets, and
    /// a user of every role but the street officer (who needs a street).
    pub async fn uninitialised(db: Db) -> TestApp {
        let data = tempfile::tempdir().unwrap();
        for role in Role::ALL.into_iter().filter(|r| *r != Role::StreetOfficer) {
            accounts::service::create_user(
                &db,
                Actor::Cli,
                accounts::NewUser {
                    username: Self::username(role),
                    display_name: format!("测试{}", role.label()),
                    password: PASSWORD.to_string(),
                    role,
                    street_id: None,
                    department_id: None,
                },
            )
            .await
            .unwrap();
        }
        let config = AppConfig {
            data_dir: data.path().to_path_buf(),
            ..AppConfig::default()
        };
        let state = AppState::new(db, config);
        TestApp {
            _data: data,
            router: web::app(state.clone()),
            state,
            street_a: 0,
            street_b: 0,
        }
    }

    pub fn username(role: Role) -> String {
        role.as_str().replace('_', "-")
    }

    /// Sends `request` to the app; an `/api/v1` answer that differs from the OpenAPI document fails the test.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let method = request.method().clone();
        let path = request.uri().path().to_string();
        // The body is kept to check it against the document when the API accepts it.
        let (parts, body) = request.into_parts();
        let request_headers = parts.headers.clone();
        let request_body = to_bytes(body, usize::MAX).await.unwrap();
        let request = Request::from_parts(parts, Body::from(request_body.clone()));
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), 16 * 1024 * 1024)
            .await
            .unwrap();
        contract::assert_response(method.as_str(), &path, status.as_u16(), &headers, &bytes);
        contract::assert_accepted_request(
            method.as_str(),
            &path,
            status.as_u16(),
            &request_headers,
            &request_body,
        );
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn login(&self, username: &str, password: &str) -> Reply {
        self.send(login_request(username, password, "/")).await
    }

    /// A login form posted as a browser would, with `next`, from the socket peer `peer` (as
    /// `into_make_service_with_connect_info` records it) with an optional `X-Forwarded-For`.
    pub async fn login_from(
        &self,
        username: &str,
        password: &str,
        next: &str,
        peer: Option<std::net::SocketAddr>,
        forwarded_for: Option<&str>,
    ) -> Reply {
        let mut request = login_request(username, password, next);
        if let Some(xff) = forwarded_for {
            request
                .headers_mut()
                .insert("x-forwarded-for", xff.parse().unwrap());
        }
        if let Some(peer) = peer {
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
        }
        self.send(request).await
    }

    pub async fn session(&self, role: Role) -> Session {
        let reply = self.login(&Self::username(role), PASSWORD).await;
        assert_eq!(
            reply.status,
            StatusCode::SEE_OTHER,
            "login of {role:?}: {}",
            reply.body
        );
        let cookie = reply
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("qs_session="))
            .and_then(|v| v.split(';').next())
            .unwrap()
            .to_string();
        let me = self
            .send(
                Request::get("/api/v1/me")
                    .header(header::COOKIE, &cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        let csrf = me.json()["csrf_token"].as_str().unwrap().to_string();
        Session { cookie, csrf }
    }

    pub async fn token(&self, role: Role) -> String {
        accounts::service::create_token(
            &self.state.db,
            Actor::Cli,
            &Self::username(role),
            "test",
            None,
        )
        .await
        .unwrap()
        .token
    }

    /// A page as the browser of `session` asks for it (its cookie, no token).
    pub async fn page(&self, session: &Session, path: &str) -> Reply {
        self.send(
            Request::get(path)
                .header(header::COOKIE, &session.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    pub async fn get_with_token(&self, path: &str, token: &str) -> Reply {
        self.send(
            Request::get(path)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    pub async fn json_with_token(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: &str,
    ) -> Reply {
        self.send(
            Request::builder()
                .method(method)
                .uri(path)
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }
}
