//! The browser security headers every response carries (pages, the API, assets, errors): a
//! Content-Security-Policy that runs only our own script files, no framing, no MIME sniffing, and no referrer
//! sent to other sites.
//!
//! The policy is the second line behind escaping: a name a user typed that slipped into HTML unescaped would
//! still run nothing, because no inline script or `on…=` handler is allowed. So the templates have no inline
//! `<script>` (page data travels in `<script type="application/json">` blocks and `data-*` attributes, which
//! are not executed) and no event-handler attribute; `tests/it/security.rs` checks every template for both.

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

/// - `script-src 'self'`: only the files under `/assets/` (ours and the vendored htmx and ECharts, which need
///   no `eval`; htmx's eval features are switched off in the layout's `htmx-config`).
/// - `style-src 'unsafe-inline'`: the templates carry `style="…"` attributes and a few `<style>` blocks, and
///   ECharts writes its tooltips as HTML with inline `style` attributes; a style cannot run script, so this
///   gives an injected name nothing to execute (it could only restyle the page, and names are escaped first).
/// - `img-src data: blob:`: ECharts draws images from data and blob URLs (its canvas exports, symbols).
/// - `connect-src 'self'`: the pages fetch only our own API (the charts, the district map).
/// - `frame-ancestors 'none'` (and `X-Frame-Options: DENY` for older browsers): no site may frame a page to
///   trick a click on it.
/// - `form-action 'self'`, `base-uri 'self'`, `object-src 'none'`: an injected form, `<base>` or plugin
///   cannot send data or load code elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; \
     object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// The headers and their values, in the order they are added.
pub const HEADERS: &[(HeaderName, &str)] = &[
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    (header::X_FRAME_OPTIONS, "DENY"),
    // The bureau's pages name enterprises, complaints and people in their paths and queries: nothing of them
    // goes to another site (there are no outside links today; this keeps it so if one is added).
    (header::REFERRER_POLICY, "same-origin"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
];

/// Adds the security headers to a response, keeping any a handler set itself (a stricter policy of its own).
pub async fn add_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        if !headers.contains_key(name) {
            headers.insert(name.clone(), HeaderValue::from_static(value));
        }
    }
    response
}
