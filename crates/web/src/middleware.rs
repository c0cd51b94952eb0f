//! Authentication and CSRF, applied to every route except the static assets.
//!
//! - `Authorization: Bearer <token>`: an API token (machine clients). An invalid token is a 401 at once.
//! - Cookie `qs_session`: a browser session. Unsafe methods (POST, PUT, PATCH, DELETE) must then carry the
//!   session's CSRF token, as header `X-CSRF-Token`, as form field `_csrf` (url-encoded forms) or as query
//!   parameter `_csrf` (multipart uploads). Bearer requests need none: browsers do not send them on their own.
//! - Demo mode: a first page visit without a session is logged in as the demo leader.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kernel::{AppError, AppState, Principal};

use accounts::http::{DEMO_LOGGED_OUT_COOKIE, SESSION_COOKIE, cookie_value, session_cookie};

/// Form bodies read for their `_csrf` field are small; larger ones must use the header.
const FORM_BUFFER_LIMIT: usize = 1024 * 1024;
const DEMO_FIRST_USER: &str = "leader";

pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_string);
    let session = cookie_value(headers, SESSION_COOKIE).map(str::to_string);
    let demo_logged_out = cookie_value(headers, DEMO_LOGGED_OUT_COOKIE).is_some();

    let mut set_cookie = None;
    let principal: Option<Principal> = if let Some(token) = bearer {
        match accounts::service::authenticate_token(&state.db, &token).await {
            Ok(Some(p)) => Some(p),
            Ok(None) => return AppError::Unauthorized.into_response(),
            Err(e) => return e.into_response(),
        }
    } else if let Some(value) = &session {
        match accounts::service::authenticate_session(&state, value).await {
            Ok(p) => p,
            Err(e) => return e.into_response(),
        }
    } else {
        None
    };

    let principal = match principal {
        Some(p) => Some(p),
        None if state.config.demo
            && !demo_logged_out
            && request.method() == Method::GET
            && wants_html(&request) =>
        {
            match accounts::service::demo_session(&state, DEMO_FIRST_USER).await {
                Ok(s) => {
                    set_cookie = Some(session_cookie(
                        &s.cookie_value,
                        state.config.session_idle_seconds,
                        state.config.secure_cookies,
                    ));
                    Some(s.principal)
                }
                Err(e) => {
                    tracing::warn!("demo auto-login failed: {e}");
                    None
                }
            }
        }
        None => None,
    };

    // Pages answer an anonymous visitor with the login page; the API keeps its 401 problem.
    let anonymous_page = principal.is_none() && !request.uri().path().starts_with("/api/");
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();

    if let Some(p) = &principal {
        if is_unsafe(request.method()) && p.csrf_token().is_some() {
            let (checked, rebuilt) = match check_csrf(p, request).await {
                Ok(pair) => pair,
                Err(response) => return response,
            };
            if !checked {
                return AppError::forbidden(
                    "missing or wrong CSRF token (send X-CSRF-Token or the form's _csrf field)",
                )
                .into_response();
            }
            request = rebuilt;
        }
        request.extensions_mut().insert(p.clone());
    }

    let mut response = next.run(request).await;
    // (Only the "who are you?" problem of the Principal extractor; the login page's own 401 stays.)
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == b"application/problem+json");
    if anonymous_page && is_problem && response.status() == axum::http::StatusCode::UNAUTHORIZED {
        let next =
            serde_urlencoded::to_string([("next", path_and_query.as_str())]).unwrap_or_default();
        return axum::response::Redirect::to(&format!("/login?{next}")).into_response();
    }
    if let Some(cookie) = set_cookie
        && let Ok(value) = cookie.parse()
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn wants_html(request: &Request) -> bool {
    let path = request.uri().path();
    !path.starts_with("/api/")
        && request
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
}

/// Finds the submitted CSRF token (header, query, or url-encoded body) and gives back the request with its
/// body intact.
async fn check_csrf(principal: &Principal, request: Request) -> Result<(bool, Request), Response> {
    let submitted = request
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            request.uri().query().and_then(|q| {
                serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                    .ok()?
                    .into_iter()
                    .find(|(k, _)| k == "_csrf")
                    .map(|(_, v)| v)
            })
        });
    if let Some(token) = submitted {
        return Ok((accounts::service::csrf_ok(principal, Some(&token)), request));
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok((false, request));
    }
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, FORM_BUFFER_LIMIT).await.map_err(|_| {
        AppError::BadRequest(format!("form body larger than {FORM_BUFFER_LIMIT} bytes"))
            .into_response()
    })?;
    let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(k, _)| k == "_csrf")
                .map(|(_, v)| v)
        });
    let ok = accounts::service::csrf_ok(principal, token.as_deref());
    Ok((ok, Request::from_parts(parts, Body::from(bytes))))
}

/// Unknown paths: problem+json under /api, a page elsewhere.
pub async fn not_found(request: Request) -> Response {
    let err = AppError::not_found(format!("no such path {}", request.uri().path()));
    if request.uri().path().starts_with("/api/") {
        err.into_response()
    } else {
        kernel::web::PageError(err).into_response()
    }
}
