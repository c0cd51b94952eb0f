//! What every page shares: the layout's context ([`Chrome`]: who is logged in, the navigation they may see,
//! the CSRF token for forms), rendering an askama template into a response, and HTML error pages.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::auth::Principal;
use crate::error::AppError;
use crate::state::AppState;

/// The layout's context, passed to every page template as `chrome`.
pub struct Chrome {
    pub user_display: String,
    pub username: String,
    pub role_label: String,
    pub csrf_token: String,
    pub nav: Vec<(&'static str, &'static str, bool)>,
    pub demo: bool,
    /// The visitor's role, so that a page offers only the links its visitor may follow ([`Chrome::may`]).
    pub role: crate::auth::Role,
}

impl Chrome {
    /// The layout for `principal` on the page at `current_path`: the areas' navigation they may see
    /// (`AppState::navigation`), the current entry marked.
    pub fn new(state: &AppState, principal: &Principal, current_path: &str) -> Self {
        let nav = state
            .navigation
            .iter()
            .filter(|item| {
                item.resource
                    .is_none_or(|resource| principal.can(resource, item.action))
            })
            .map(|item| {
                let active = if item.path == "/" {
                    current_path == "/"
                } else {
                    current_path.starts_with(item.path)
                };
                (item.path, item.label, active)
            })
            .collect();
        Chrome {
            user_display: principal.display_name.clone(),
            username: principal.username.clone(),
            role_label: principal.role.label().to_string(),
            csrf_token: principal.csrf_token().unwrap_or_default().to_string(),
            nav,
            demo: state.config.demo,
            role: principal.role,
        }
    }

    /// Whether the visitor may do `action` on `resource`: a link to a page they would be refused is not shown.
    pub fn may(&self, resource: crate::auth::Resource, action: crate::auth::Action) -> bool {
        crate::auth::role_allows(self.role, resource, action)
    }
}

/// Renders a template as an HTML response; a template error becomes a logged 500.
pub fn render<T: Template>(template: &T) -> Result<Response, PageError> {
    template
        .render()
        .map(|html| Html(html).into_response())
        .map_err(|e| PageError(AppError::Internal(anyhow::anyhow!("template: {e}"))))
}

/// An error on a page (not the API): 401 sends the browser to the login page; others render a short page.
#[derive(Debug)]
pub struct PageError(pub AppError);

impl<E: Into<AppError>> From<E> for PageError {
    fn from(err: E) -> Self {
        PageError(err.into())
    }
}

pub type PageResult = Result<Response, PageError>;

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let err = self.0;
        if matches!(err, AppError::Unauthorized) {
            return Redirect::to("/login").into_response();
        }
        if let AppError::Internal(cause) = &err {
            tracing::error!(error = ?cause, "page failed: {cause:#}");
        }
        error_page(err.status(), &err.public_message())
    }
}

/// The HTML page of an error, in Chinese whatever the message: a title and an explanation by status, the
/// message itself when it is written for users (it has Chinese in it: permission refusals, most validation
/// messages), otherwise only under 技术信息 for whoever supports the user, and the ways back. Also used by the
/// web layer for errors that reach a browser as problem+json (a CSRF refusal, a panic, a body too large).
pub fn error_page(status: StatusCode, detail: &str) -> Response {
    let (title, explanation) = error_wording(status);
    let for_users = has_chinese(detail);
    let page = ErrorPage {
        status: status.as_u16(),
        title,
        explanation,
        message: if for_users {
            detail.to_string()
        } else {
            String::new()
        },
        technical: if for_users || detail.is_empty() {
            String::new()
        } else {
            detail.to_string()
        },
        show_login: matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
    };
    let html = page
        .render()
        .unwrap_or_else(|_| format!("{} {title}", status.as_u16()));
    (status, Html(html)).into_response()
}

/// (title, what it means and what to do) of an error page by status.
fn error_wording(status: StatusCode) -> (&'static str, &'static str) {
    match status {
        StatusCode::FORBIDDEN => (
            "无权访问",
            "您的账号没有执行此操作的权限。如确需办理，请联系系统管理员调整角色。",
        ),
        StatusCode::NOT_FOUND => ("未找到", "您要找的页面或记录不存在，或不在您的查看范围内。"),
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => {
            ("输入有误", "提交的内容有误，请返回上一页检查后重试。")
        }
        StatusCode::CONFLICT => (
            "数据冲突",
            "数据已被他人修改，或与已有记录重复。请返回上一页，刷新后重试。",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("内容过大", "上传的文件或提交的内容超过了允许的大小。"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("格式不支持", "提交的内容格式不正确，请从页面上的表单提交。")
        }
        StatusCode::METHOD_NOT_ALLOWED => (
            "操作不支持",
            "此地址不支持这种操作，请从页面上的链接或表单进入。",
        ),
        StatusCode::TOO_MANY_REQUESTS => ("请求过于频繁", "请求过于频繁，请稍后再试。"),
        s if s.is_server_error() => (
            "系统错误",
            "系统处理时出错，原因已记入日志。请稍后重试；如仍出错，请联系系统管理员。",
        ),
        _ => ("请求无法完成", "请求无法完成，请返回上一页后重试。"),
    }
}

/// Whether `text` contains CJK ideographs (then it is written for users of this Chinese interface).
pub fn has_chinese(text: &str) -> bool {
    text.chars()
        .any(|c| matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}'))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    title: &'static str,
    explanation: &'static str,
    /// The error's own message when it is for users, else empty.
    message: String,
    /// The error's own message when it is not (English, for support), else empty.
    technical: String,
    show_login: bool,
}

/// Escapes nothing itself: askama escapes. Formats an optional number for a form field.
pub fn opt_num(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// `Json<T>` whose rejections (not JSON, wrong content type, missing or mistyped field) are
/// `application/problem+json` 4xx answers naming what is wrong, like every other API error.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::rejection::JsonRejection;
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::JsonDataError(e)) => Err(json_field_error(&e.body_text())),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(AppError::BadRequest(format!(
                "body is not valid JSON: {}",
                e.body_text()
            ))),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AppError::BadRequest(
                "expected a JSON body with Content-Type: application/json".to_string(),
            )),
            Err(other) => Err(AppError::BadRequest(other.body_text())),
        }
    }
}

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A JSON body serialised once, for a figure cached and served to many callers (issue 15): answering is a
/// copy of a reference, not a serialisation per request.
#[derive(Debug, Clone)]
pub struct JsonBody(axum::body::Bytes);

impl JsonBody {
    pub fn of<T: serde::Serialize>(value: &T) -> Result<Self, AppError> {
        Ok(JsonBody(
            serde_json::to_vec(value)
                .map_err(|e| AppError::Internal(e.into()))?
                .into(),
        ))
    }
}

impl IntoResponse for JsonBody {
    fn into_response(self) -> Response {
        (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            self.0,
        )
            .into_response()
    }
}

/// serde's message for a data error reads "Failed to deserialize the JSON body into the target type: name:
/// missing field `x` at line 1 column 2"; pull out the field so the problem body can name it.
fn json_field_error(text: &str) -> AppError {
    let detail = text
        .strip_prefix("Failed to deserialize the JSON body into the target type: ")
        .unwrap_or(text);
    let field = if let Some(start) = detail.find("missing field `") {
        detail[start + 15..]
            .split('`')
            .next()
            .unwrap_or("body")
            .to_string()
    } else if let Some((path, _)) = detail.split_once(": ")
        && !path.contains(' ')
    {
        path.to_string()
    } else {
        "body".to_string()
    };
    AppError::Validation {
        field,
        message: detail.to_string(),
    }
}

/// A query string whose rejections are problem+json 422s naming the parameter. Empty parameters (`?street_id=`,
/// as HTML filter forms send them) count as absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or("")).map(ApiQuery)
    }
}

/// Parses a query string as [`ApiQuery`] does.
pub fn parse_query<T: serde::de::DeserializeOwned>(query: &str) -> Result<T, AppError> {
    let pairs =
        form_urlencoded::parse(query.as_bytes()).filter(|(_, value)| !value.trim().is_empty());
    let cleaned = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(cleaned.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        let field = if path.is_empty() || path == "." {
            message
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next())
                .map(str::to_string)
                .unwrap_or_else(|| "query".to_string())
        } else {
            path
        };
        AppError::validation(field, message)
    })
}

/// `Path<T>` whose rejections are problem+json 400s (e.g. `/enterprises/abc`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|e| AppError::BadRequest(format!("bad path: {}", e.body_text())))
    }
}

/// The OpenAPI schema of a text query parameter that takes one of `values`, for `#[param(schema_with = …)]` where
/// no Rust enum lists them (the parameter is read as a string and matched by the handler).
pub fn text_choice(description: &str, values: &[&str]) -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .description(Some(description))
        .enum_values(Some(values.iter().copied()))
        .build()
}

/// `value` as JSON to embed in a page's `<script type="application/json">` element: `</` is written `<\/`, so no
/// text in the data can close the element.
pub fn script_json<T: serde::Serialize>(value: &T) -> Result<String, AppError> {
    Ok(serde_json::to_string(value)
        .map_err(|e| AppError::Internal(e.into()))?
        .replace("</", "<\\/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Filter {
        street_id: Option<i64>,
        page: Option<u32>,
    }

    #[test]
    fn query_names_the_parameter_and_ignores_empty_ones() {
        let f: Filter = parse_query("street_id=&page=2").unwrap();
        assert_eq!((f.street_id, f.page), (None, Some(2)));
        let err = parse_query::<Filter>("page=-1").unwrap_err();
        assert!(
            matches!(err, AppError::Validation { ref field, .. } if field == "page"),
            "{err}"
        );
    }

    #[test]
    fn names_the_missing_field() {
        let err = json_field_error(
            "Failed to deserialize the JSON body into the target type: missing field `uscc` at line 1 column 2",
        );
        assert!(matches!(err, AppError::Validation { ref field, .. } if field == "uscc"));
        let err = json_field_error(
            "Failed to deserialize the JSON body into the target type: lon: invalid type: string \"x\", expected f64 at line 1 column 10",
        );
        assert!(matches!(err, AppError::Validation { ref field, .. } if field == "lon"));
    }
}
