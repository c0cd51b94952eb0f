//! One error type for every handler. API responses are `application/problem+json` (RFC 9457) with a 4xx
//! status and a message that names the field; a 5xx logs its cause and tells the client nothing more.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub type AppResult<T> = Result<T, AppError>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A field of the input is wrong: 422 with the field's name.
    #[error("{field}: {message}")]
    Validation { field: String, message: String },
    /// The request itself is malformed (not JSON, wrong query string): 400.
    #[error("{0}")]
    BadRequest(String),
    /// No session or token, or an expired one: 401.
    #[error("authentication required")]
    Unauthorized,
    /// Authenticated, but the role may not do this: 403.
    #[error("{0}")]
    Forbidden(String),
    /// No such record, or one outside the caller's street (we do not reveal which): 404.
    #[error("{0}")]
    NotFound(String),
    /// A duplicate key or a stale version: 409.
    #[error("{0}")]
    Conflict(String),
    /// Login throttling: 429 with Retry-After.
    #[error("too many attempts; retry after {retry_after_seconds} s")]
    TooManyRequests { retry_after_seconds: u64 },
    /// Anything unexpected: 500, logged, not shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        AppError::NotFound(what.into())
    }

    pub fn forbidden(what: impl Into<String>) -> Self {
        AppError::Forbidden(what.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message a user may see (never the cause of a 500).
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => "internal error; the cause has been logged".to_string(),
            other => other.to_string(),
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status();
        Problem {
            r#type: "about:blank".to_string(),
            title: status.canonical_reason().unwrap_or("error").to_string(),
            status: status.as_u16(),
            detail: self.public_message(),
            field: match self {
                AppError::Validation { field, .. } => Some(field.clone()),
                _ => None,
            },
        }
    }
}

/// RFC 9457 problem details, with the offending field where there is one.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Problem {
    pub r#type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// A 4xx answer of the API in the OpenAPI document: a [`Problem`] as `application/problem+json`, the content
/// type [`AppError`] sends. Handlers document their errors as `(status = 404, response = ProblemResponse)`, and
/// each area's `ApiDoc` lists it under `components(responses(...))`.
#[derive(utoipa::ToResponse)]
#[response(
    description = "Problem details (RFC 9457), naming the offending field where there is one",
    content_type = "application/problem+json"
)]
pub struct ProblemResponse(pub Problem);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(cause) = &self {
            tracing::error!(error = ?cause, "request failed: {cause:#}");
        }
        let problem = self.problem();
        let mut response = (
            self.status(),
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            )],
            serde_json::to_string(&problem).unwrap_or_default(),
        )
            .into_response();
        if let AppError::TooManyRequests {
            retry_after_seconds,
        } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after_seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if matches!(self, AppError::Unauthorized) {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"qingshan\""),
            );
        }
        response
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        if crate::db::is_unique_violation(&err) {
            return AppError::Conflict("a record with the same key already exists".to_string());
        }
        if crate::db::is_foreign_key_violation(&err) {
            return AppError::Validation {
                field: "reference".to_string(),
                message: "refers to a record that does not exist or is still referenced"
                    .to_string(),
            };
        }
        if crate::db::is_unstorable_text(&err) {
            return AppError::Validation {
                field: "body".to_string(),
                message: "contains a character that cannot be stored (NUL, U+0000)".to_string(),
            };
        }
        if matches!(err, sqlx::Error::RowNotFound) {
            return AppError::NotFound("record not found".to_string());
        }
        AppError::Internal(anyhow::Error::new(err))
    }
}

impl From<serde_json::Error> for AppError {
    fn from(err: serde_json::Error) -> Self {
        AppError::Internal(anyhow::Error::new(err))
    }
}
