//! Input no record may hold: the NUL character (U+0000). PostgreSQL's `text` cannot store it (SQLSTATE 22021),
//! so a NUL that reached a query or an insert turned a harmless request into a 500 on PostgreSQL only. It is
//! refused here, before any handler, with a 422 that names the parameter or field — on both backends alike.
//!
//! Checked: the path, the query string, url-encoded form bodies and JSON bodies (a raw 0x00 byte or a `\u0000`
//! escape). Multipart bodies are not read here: their files are binary by nature, and their text fields go
//! through the area's own validation and the storage backstop (`kernel::db::is_unstorable_text`).

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kernel::AppError;

/// Refuses a request carrying a NUL character anywhere a handler would read text from.
pub async fn refuse_nul(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let refuse = |field: String| {
        let err = AppError::validation(field, "must not contain the NUL character (U+0000)");
        if is_api {
            err.into_response()
        } else {
            kernel::web::PageError(err).into_response()
        }
    };
    if percent_decoded_has_nul(request.uri().path()) {
        return refuse("path".to_string());
    }
    if let Some(field) = request.uri().query().and_then(nul_in_urlencoded) {
        return refuse(field);
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let is_json = content_type.starts_with("application/json") || content_type.contains("+json");
    if !is_form && !is_json {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    // The body limit layer outside this one has already bounded the body.
    let bytes = match to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return AppError::BadRequest("the request body could not be read".to_string())
                .into_response();
        }
    };
    let found = if is_form {
        nul_in_urlencoded_bytes(&bytes)
    } else {
        nul_in_json(&bytes)
    };
    if let Some(field) = found {
        return refuse(field);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn percent_decoded_has_nul(text: &str) -> bool {
    text.contains('\0') || percent_encoding_has_nul(text.as_bytes())
}

/// `%00` anywhere (a path is decoded segment by segment by the router, each `%00` becoming a NUL).
fn percent_encoding_has_nul(bytes: &[u8]) -> bool {
    bytes.windows(3).any(|w| w == b"%00")
}

/// The name of the first parameter whose name or value holds a NUL.
fn nul_in_urlencoded(query: &str) -> Option<String> {
    nul_in_urlencoded_bytes(query.as_bytes())
}

fn nul_in_urlencoded_bytes(bytes: &[u8]) -> Option<String> {
    if !bytes.contains(&0) && !percent_encoding_has_nul(bytes) {
        return None;
    }
    form_urlencoded::parse(bytes)
        .find(|(name, value)| name.contains('\0') || value.contains('\0'))
        .map(|(name, _)| {
            let name = name.replace('\0', "");
            if name.is_empty() {
                "query".to_string()
            } else {
                name
            }
        })
}

/// The path of the first JSON string (or object key) holding a NUL, e.g. `items[2].name`. A body that is not
/// JSON is left to the handler's extractor, which says so.
fn nul_in_json(bytes: &[u8]) -> Option<String> {
    // Cheap test first: a NUL can only arrive as a raw byte or as the escape \u0000.
    let escaped = bytes
        .windows(6)
        .any(|w| w[0] == b'\\' && (w[1] == b'u' || w[1] == b'U') && &w[2..] == b"0000");
    if !bytes.contains(&0) && !escaped {
        return None;
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return bytes.contains(&0).then(|| "body".to_string());
    };
    let mut path = String::new();
    find_nul(&value, &mut path).then(|| {
        if path.is_empty() {
            "body".to_string()
        } else {
            path
        }
    })
}

/// Whether `value` holds a NUL; `path` is left naming where.
fn find_nul(value: &serde_json::Value, path: &mut String) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = find_nul(item, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        serde_json::Value::Object(map) => map.iter().any(|(key, item)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&key.replace('\0', ""));
            let found = key.contains('\0') || find_nul(item, path);
            if !found {
                path.truncate(len);
            }
            found
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_nul_in_queries_forms_and_json() {
        assert_eq!(nul_in_urlencoded("q=a%00b&x=1").as_deref(), Some("q"));
        assert_eq!(nul_in_urlencoded("q=ab&x=1"), None);
        assert_eq!(nul_in_urlencoded("%00=1").as_deref(), Some("query"));
        assert_eq!(
            nul_in_urlencoded_bytes(b"username=a\0b&password=x").as_deref(),
            Some("username")
        );
        assert_eq!(
            nul_in_json(br#"{"name":"a","items":[{"title":"ok"},{"title":"x\u0000y"}]}"#)
                .as_deref(),
            Some("items[1].title")
        );
        // An escaped backslash followed by u0000 is the six characters, not a NUL.
        assert_eq!(nul_in_json(br#"{"name":"a\\u0000"}"#), None);
        assert_eq!(nul_in_json(br#"{"name":"plain"}"#), None);
        assert_eq!(nul_in_json(b"not json \0").as_deref(), Some("body"));
        assert!(percent_decoded_has_nul("/api/v1/enterprises/1%00"));
    }
}
