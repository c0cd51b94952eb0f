//! Kept answers: the GET answers an area lists in its `kernel::area::KeptAnswers` are kept per caller and
//! served again, without running the handler, while nothing they show has changed.
//!
//! An answer is keyed by everything it may depend on (see `KeptAnswers`): the database, the data stamp
//! (`readings::service::data_stamp`: the readings' data version and the audit version), the area's own counter
//! if it has one, the minute, the session (user, role, street and CSRF token all come from it), the path and
//! query, and the `Accept` header. Any audited change or readings write therefore makes the next request
//! compute afresh; concurrent requests of one key share one computation (single flight), so a burst of cold
//! requests costs one handler run, not one per request.
//!
//! Only whole 200 answers in HTML or JSON of at most [`ANSWER_LIMIT_BYTES`] are kept; the store holds at most
//! [`STORE_BUDGET_BYTES`] of bodies and [`STORE_KEYS`] keys, each for at most [`KEPT_FOR`], oldest out first.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kernel::{AppError, AppState, Principal};
use tokio::sync::OnceCell;

/// Largest answer kept (lists are paged; a larger answer is computed per request).
const ANSWER_LIMIT_BYTES: usize = 2 * 1024 * 1024;
/// Bodies held in all, so that the server's memory stays bounded however many callers and queries there are.
const STORE_BUDGET_BYTES: usize = 64 * 1024 * 1024;
/// Keys held in all.
const STORE_KEYS: usize = 2048;
/// A key carries the minute, so an entry is never served after it; this only frees it.
const KEPT_FOR: Duration = Duration::from_secs(60);

/// An area's own change counter (`kernel::area::KeptAnswers::version`).
type AreaCounter = Option<fn() -> u64>;

/// The routes whose answers are kept, with their area's own counter, from every area's declaration.
static KEPT_ROUTES: LazyLock<HashMap<&'static str, AreaCounter>> = LazyLock::new(|| {
    areas::ALL
        .iter()
        .flat_map(|area| {
            let kept = area.kept_answers;
            kept.routes.iter().map(move |route| (*route, kept.version))
        })
        .collect()
});

static STORE: LazyLock<Store> = LazyLock::new(Store::default);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct AnswerKey {
    path_and_query: String,
    database: String,
    data: readings::service::DataStamp,
    area_version: u64,
    minute: i64,
    user_id: i64,
    /// The session's CSRF token (pages carry it), `None` for a bearer token.
    session: Option<String>,
    accept: Option<HeaderValue>,
}

struct KeptAnswer {
    headers: HeaderMap,
    body: Bytes,
}

impl KeptAnswer {
    fn response(&self) -> Response {
        let mut response = Response::new(Body::from(self.body.clone()));
        *response.headers_mut() = self.headers.clone();
        response
    }
}

type Slot = Arc<OnceCell<Arc<KeptAnswer>>>;

#[derive(Default)]
struct Store {
    entries: Mutex<HashMap<AnswerKey, (Instant, Slot)>>,
}

impl Store {
    /// The slot of `key`, made (and room made for it) when absent.
    fn slot(&self, key: AnswerKey) -> Slot {
        // A poisoned lock still holds whole entries: nothing panics while it is held.
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, slot)) = entries.get(&key) {
            return slot.clone();
        }
        entries.retain(|_, (at, _)| at.elapsed() < KEPT_FOR);
        let mut held: usize = entries.values().map(|(_, slot)| body_len(slot)).sum();
        while entries.len() >= STORE_KEYS || held > STORE_BUDGET_BYTES {
            let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some((_, slot)) = entries.remove(&oldest) {
                held -= body_len(&slot);
            }
        }
        let slot = Slot::default();
        entries.insert(key, (Instant::now(), slot.clone()));
        slot
    }
}

fn body_len(slot: &Slot) -> usize {
    slot.get().map_or(0, |answer| answer.body.len())
}

/// The middleware: serves a kept answer of a listed route, or runs the handler and keeps its answer.
pub async fn serve(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(key) = key_of(&state, unstamped_key(&request)).await else {
        return next.run(request).await;
    };
    let slot = STORE.slot(key);
    let answer = slot
        .get_or_try_init(|| async move { keepable(next.run(request).await).await })
        .await;
    match answer {
        Ok(kept) => kept.response(),
        Err(response) => response,
    }
}

/// The whole key of a request whose answer may be kept, `None` for every other request.
async fn key_of(state: &AppState, key: Option<AnswerKey>) -> Option<AnswerKey> {
    // The request's parts are read before awaiting: a request is not `Sync`, so no reference to it may be held.
    let mut key = key?;
    key.database = state.db.url();
    key.data = match readings::service::data_stamp(&state.db).await {
        Ok(data) => data,
        Err(e) => {
            // Not keeping is always correct; the handler will meet the same trouble and say so.
            tracing::warn!("data stamp unavailable, answer not kept: {e:#}");
            return None;
        }
    };
    Some(key)
}

/// The key's parts that come from the request and the clock (the database and data stamp left default).
fn unstamped_key(request: &Request) -> Option<AnswerKey> {
    if request.method() != Method::GET {
        return None;
    }
    let route = request.extensions().get::<MatchedPath>()?;
    let area_version = KEPT_ROUTES
        .get(route.as_str())?
        .map_or(0, |counter| counter());
    let principal = request.extensions().get::<Principal>()?;
    Some(AnswerKey {
        path_and_query: request
            .uri()
            .path_and_query()
            .map(ToString::to_string)
            .unwrap_or_default(),
        database: String::new(),
        data: readings::service::DataStamp {
            readings: 0,
            audited: 0,
        },
        area_version,
        minute: kernel::time::now_ts().div_euclid(60),
        user_id: principal.user_id,
        session: principal.csrf_token().map(str::to_string),
        accept: request.headers().get(header::ACCEPT).cloned(),
    })
}

/// The answer as kept, or the response itself when it must not be kept (not 200, a cookie set, neither HTML
/// nor JSON, streamed or too large).
async fn keepable(response: Response) -> Result<Arc<KeptAnswer>, Response> {
    let whole_and_small = axum::body::HttpBody::size_hint(response.body())
        .upper()
        .is_some_and(|upper| upper <= ANSWER_LIMIT_BYTES as u64);
    let kind_kept = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html") || v.starts_with("application/json"));
    if response.status() != StatusCode::OK
        || response.headers().contains_key(header::SET_COOKIE)
        || !kind_kept
        || !whole_and_small
    {
        return Err(response);
    }
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, ANSWER_LIMIT_BYTES).await {
        Ok(body) => Ok(Arc::new(KeptAnswer {
            headers: parts.headers,
            body,
        })),
        Err(e) => {
            Err(AppError::Internal(anyhow::anyhow!("answer body failed: {e}")).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(user_id: i64) -> AnswerKey {
        AnswerKey {
            path_and_query: "/x".into(),
            database: "db".into(),
            data: readings::service::DataStamp {
                readings: 1,
                audited: 1,
            },
            area_version: 0,
            minute: 0,
            user_id,
            session: None,
            accept: None,
        }
    }

    #[tokio::test]
    async fn a_key_keeps_its_slot_and_the_store_stays_within_its_key_limit() {
        let store = Store::default();
        let first = store.slot(key(1));
        first
            .set(Arc::new(KeptAnswer {
                headers: HeaderMap::new(),
                body: Bytes::from_static(b"one"),
            }))
            .ok();
        assert!(Arc::ptr_eq(&first, &store.slot(key(1))));
        for user in 2..(STORE_KEYS as i64 + 10) {
            store.slot(key(user));
        }
        let entries = store.entries.lock().unwrap();
        assert!(entries.len() <= STORE_KEYS);
        assert!(
            !entries.contains_key(&key(1)),
            "the oldest key leaves first"
        );
    }

    #[tokio::test]
    async fn only_whole_html_or_json_200_answers_are_kept() {
        let page = axum::response::Html("<p>页</p>").into_response();
        assert!(keepable(page).await.is_ok());
        let json = axum::Json(serde_json::json!({"a": 1})).into_response();
        assert!(keepable(json).await.is_ok());
        let missing = (StatusCode::NOT_FOUND, axum::Json(1)).into_response();
        assert!(keepable(missing).await.is_err());
        let mut with_cookie = axum::Json(1).into_response();
        with_cookie
            .headers_mut()
            .insert(header::SET_COOKIE, HeaderValue::from_static("a=b"));
        assert!(keepable(with_cookie).await.is_err());
        let text = "plain".into_response();
        assert!(keepable(text).await.is_err());
        let streamed = Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from_stream(futures_util::stream::once(async {
                Ok::<_, std::io::Error>(Bytes::from_static(b"[]"))
            })))
            .unwrap();
        assert!(
            keepable(streamed).await.is_err(),
            "a streamed body is never kept"
        );
    }
}
