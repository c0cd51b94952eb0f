//! What every page shares: the layout's context ([`Chrome`]: who is logged in, the navigation they may see,
//! the CSRF token for forms), rendering an askama template into a response, and HTML error pages.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

use crate::auth::{Action, Principal, Resource};
use crate::error::AppError;

/// One entry of the main navigation; shown only to roles that may read `resource`.
pub struct NavItem {
    pub path: &'static str,
    pub label: &'static str,
    pub resource: Option<Resource>,
}

/// The navigation, in the order a bureau user works. Areas add their entry here.
pub const NAV: &[NavItem] = &[
    NavItem { path: "/", label: "总览", resource: None },
    NavItem { path: "/registry/enterprises", label: "企业", resource: Some(Resource::Enterprise) },
    NavItem { path: "/registry/points", label: "监测点位", resource: Some(Resource::MonitoringPoint) },
    NavItem { path: "/registry/devices", label: "监测设备", resource: Some(Resource::Device) },
    NavItem { path: "/registry/organisation", label: "街道与部门", resource: Some(Resource::Organisation) },
    NavItem { path: "/admin/users", label: "用户", resource: Some(Resource::User) },
    NavItem { path: "/admin/audit", label: "审计日志", resource: Some(Resource::AuditLog) },
];

/// The layout's context, passed to every page template as `chrome`.
pub struct Chrome {
    pub user_display: String,
    pub username: String,
    pub role_label: String,
    pub csrf_token: String,
    pub nav: Vec<(&'static str, &'static str, bool)>,
    pub demo: bool,
}

impl Chrome {
    pub fn new(principal: &Principal, current_path: &str, demo: bool) -> Self {
        let nav = NAV
            .iter()
            .filter(|item| {
                item.resource
                    .is_none_or(|resource| principal.can(resource, Action::Read))
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
            demo,
        }
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
        let status = err.status();
        let title = match status {
            StatusCode::FORBIDDEN => "无权访问",
            StatusCode::NOT_FOUND => "未找到",
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => "输入有误",
            StatusCode::CONFLICT => "数据冲突",
            StatusCode::TOO_MANY_REQUESTS => "请求过于频繁",
            _ => "系统错误",
        };
        let page = ErrorPage {
            status: status.as_u16(),
            title,
            detail: err.public_message(),
        };
        let html = page.render().unwrap_or_else(|_| title.to_string());
        (status, Html(html)).into_response()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    title: &'static str,
    detail: String,
}

/// Escapes nothing itself: askama escapes. Formats an optional number for a form field.
pub fn opt_num(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}
