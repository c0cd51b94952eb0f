//! The OpenAPI document of `/api/v1`, merged from every area's (`kernel::area::Area::api_doc`).

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use kernel::AppState;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(info(
    title = "青山 Qingshan API",
    description = "东丽区生态环境局平台 REST API. Authenticate with `Authorization: Bearer <token>` (create one with `qingshan token create` or POST /api/v1/tokens). Errors are application/problem+json. Times are Unix seconds (UTC) with CST alongside where shown.",
    version = "1"
))]
struct RootDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = RootDoc::openapi();
    for area in areas::ALL {
        doc.merge((area.api_doc)());
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    doc.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
        "bearer",
        Vec::<String>::new(),
    )]);
    doc
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(openapi_json))
}

async fn openapi_json() -> impl IntoResponse {
    axum::Json(document())
}
