//! Authentication and CSRF, applied to every route except the static assets.
//!
//! - `Authorization: Bearer <token>`: an API token (machine clients). An invalid token is a 401 at once.
//! - Cookie `qs_session`: a browser session. Unsafe methods (POST, PUT, PATCH, DELETE) must then carry the
//!   session's CSRF token, as header `X-CSRF-Token`, as form field `_csrf` (url-encoded forms) or as query
//!   parameter `_csrf` (multipart uploads). Bearer requests need none: browsers do not send them on their own.
//!   The login form is the exception: it carries its own token (`accounts::http::login_token_cookie`), since
//!   the browser posting it may hold no session or another user's.
//! - Demo mode: a first page visit without a session is logged in as the demo leader (not a visit to the login
//!   page itself: whoever opens it wants to choose the account).
//!
//! [`errors_as_pages`] turns an error that would reach a browser page as problem+json (or plain text) into the
//! Chinese HTML error page.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kernel::{AppError, AppState, Principal};

use accounts::http::{
    DEMO_LOGGED_OUT_COOKIE, LOGIN_PATH, LOGOUT_PATH, SESSION_COOKIE, cookie_value, session_cookie,
};

/// The 403 of an unsafe request without the session's CSRF token. On a page it is most often a form of a page
/// opened before the user logged in again (in this tab or another), so it says what to do about that.
const CSRF_REFUSAL: &str = "安全校验未通过：页面已过期（例如在其他窗口重新登录或退出过），请刷新页面后重新提交。\
     (CSRF token missing or wrong: send X-CSRF-Token or the form's _csrf field)";

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
            && request.uri().path() != LOGIN_PATH
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
        // The login form has its own token; a logout from one of our pages needs none (see
        // accounts::http::LOGOUT_PATH).
        let path = request.uri().path();
        let own_token =
            path == LOGIN_PATH || (path == LOGOUT_PATH && same_origin_form(request.headers()));
        if is_unsafe(request.method()) && p.csrf_token().is_some() && !own_token {
            let (checked, rebuilt) = match check_csrf(p, request).await {
                Ok(pair) => pair,
                Err(response) => return response,
            };
            if !checked {
                return AppError::forbidden(CSRF_REFUSAL).into_response();
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

/// Whether the browser says the request comes from one of our own pages (Fetch Metadata); absent, no.
fn same_origin_form(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"same-origin")
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
    let err = AppError::not_found(format!("没有这个地址：{}", request.uri().path()));
    if request.uri().path().starts_with("/api/") {
        err.into_response()
    } else {
        kernel::web::PageError(err).into_response()
    }
}

/// The largest error body read to turn it into a page (problems are a few hundred bytes).
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// A browser page never gets raw JSON: an error answer (4xx, 5xx) that is not HTML, to a request a browser
/// page makes — one that accepts HTML or posts a form, outside `/api/` and `/assets/` — becomes the Chinese
/// error page with the error's message (`kernel::web::error_page`). It catches what handlers do not render
/// themselves: the CSRF refusal above, extractor rejections (axum's plain-text "Failed to deserialize form
/// body"), the NUL refusal, the body limit's 413, a panic's 500, a 405. `Retry-After` is kept.
pub async fn errors_as_pages(request: Request, next: Next) -> Response {
    let page_request = is_page_request(&request);
    let response = next.run(request).await;
    let status = response.status();
    if !page_request || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if content_type.starts_with("text/html") {
        return response;
    }
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let body = to_bytes(response.into_body(), ERROR_BODY_LIMIT)
        .await
        .unwrap_or_default();
    let detail = if content_type.contains("json") {
        serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_string))
            .unwrap_or_default()
    } else {
        String::from_utf8_lossy(&body).trim().to_string()
    };
    let mut page = kernel::web::error_page(status, &detail);
    if let Some(value) = retry_after {
        page.headers_mut().insert(header::RETRY_AFTER, value);
    }
    page
}

/// Whether a request comes from a browser page (a link, an address typed, a form) rather than a script or a
/// machine client: outside `/api/` and `/assets/`, and accepting HTML or posting a form.
fn is_page_request(request: &Request) -> bool {
    let path = request.uri().path();
    if path.starts_with("/api/") || path.starts_with("/assets/") {
        return false;
    }
    let headers = request.headers();
    let accepts_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let posts_a_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.starts_with("application/x-www-form-urlencoded")
                || v.starts_with("multipart/form-data")
        });
    accepts_html || posts_a_form
}
