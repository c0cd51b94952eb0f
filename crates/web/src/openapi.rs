//! The OpenAPI document of `/api/v1`, merged from every area's (`kernel::area::Area::api_doc`).

use axum::Router;
use axum::response::IntoResponse;
use axum::routing::get;
use kernel::AppState;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "青山 Qingshan API",
        description = "东丽区生态环境局平台 REST API. Authenticate with `Authorization: Bearer <token>` (create one with `qingshan token create` or POST /api/v1/tokens). Errors are application/problem+json. Times are Unix seconds (UTC) with CST alongside where shown.",
        version = "1"
    ),
    paths(openapi_json),
    components(
        responses(kernel::error::ProblemResponse),
        schemas(kernel::error::Problem)
    )
)]
struct RootDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    assemble().0
}

/// The document, and what two areas both define differently: a component (schema or response) of the same
/// name, or the same operation. The merge keeps the first, so the other area's references would describe
/// something else; the contract test (crates/web/tests/it/contract.rs) insists there is nothing here (rename a
/// schema with `#[schema(as = …)]`).
pub fn assemble() -> (utoipa::openapi::OpenApi, Vec<String>) {
    let mut doc = RootDoc::openapi();
    let mut clashes = Vec::new();
    // The areas', then web's own dashboard.
    let parts = areas::ALL
        .iter()
        .map(|area| (area.api_doc)())
        .chain([crate::dashboard::ApiDoc::openapi()]);
    for part in parts {
        clashes.extend(clashes_between(&doc, &part));
        doc.merge(part);
    }
    add_web_layer_responses(&mut doc);
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    doc.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
        "bearer",
        Vec::<String>::new(),
    )]);
    (doc, clashes)
}

/// What `area` defines that `doc` already defines otherwise (see [`assemble`]).
fn clashes_between(doc: &utoipa::openapi::OpenApi, area: &utoipa::openapi::OpenApi) -> Vec<String> {
    fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
        serde_json::to_value(value).unwrap_or_default()
    }
    let mut clashes = Vec::new();
    let (ours, theirs) = (json(&doc.components), json(&area.components));
    for kind in ["schemas", "responses"] {
        for (name, definition) in theirs[kind].as_object().into_iter().flatten() {
            if ours[kind].get(name).is_some_and(|o| o != definition) {
                clashes.push(format!("{kind} {name}"));
            }
        }
    }
    let (ours, theirs) = (json(&doc.paths), json(&area.paths));
    for (path, item) in theirs.as_object().into_iter().flatten() {
        for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
            if ours.get(path).and_then(|i| i.get(method)).is_some() {
                clashes.push(format!("operation {} {path}", method.to_ascii_uppercase()));
            }
        }
    }
    clashes
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(openapi_json))
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "openapi", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of /api/v1", body = Object)))]
async fn openapi_json() -> impl IntoResponse {
    axum::Json(document())
}

/// The answers every operation can get from the layers in front of its handler, added where the area did not
/// document them itself: 401 (`middleware::authenticate`: a token that is unknown or expired, whatever the
/// path; no caller where the handler needs one), 422 (`input::refuse_nul`: a NUL character in the path, the query
/// or the body; `ApiQuery` and `ApiJson` rejections), and for unsafe methods 403 (a browser session without its
/// CSRF token); an operation with path parameters 400 (`ApiPath`: a parameter that does not parse); an operation
/// with a request body 400 (not JSON, or no JSON content type) and 413 (larger than `BODY_LIMIT_BYTES`, in
/// plain text from tower-http).
fn add_web_layer_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{ContentBuilder, HttpMethod, Ref, RefOr, Response, ResponseBuilder};
    let problem = || RefOr::Ref(Ref::from_response_name("ProblemResponse"));
    // tower-http's body limit answers in plain text, before any handler.
    let too_large: RefOr<Response> = RefOr::T(
        ResponseBuilder::new()
            .description(format!(
                "The request body is larger than {} MiB",
                crate::BODY_LIMIT_BYTES / (1024 * 1024)
            ))
            .content(
                "text/plain",
                ContentBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build(),
            )
            .build(),
    );
    for item in doc.paths.paths.values_mut() {
        let operations = [
            (HttpMethod::Get, item.get.as_mut()),
            (HttpMethod::Put, item.put.as_mut()),
            (HttpMethod::Post, item.post.as_mut()),
            (HttpMethod::Delete, item.delete.as_mut()),
            (HttpMethod::Patch, item.patch.as_mut()),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else {
                continue;
            };
            let unsafe_method = !matches!(method, HttpMethod::Get);
            let has_body = operation.request_body.is_some();
            let has_path_parameters = operation
                .parameters
                .iter()
                .flatten()
                .any(|p| matches!(p.parameter_in, ParameterIn::Path));
            let mut statuses = vec!["401", "422"];
            if unsafe_method {
                statuses.push("403");
            }
            if has_body || has_path_parameters {
                statuses.push("400");
            }
            let responses = &mut operation.responses.responses;
            for status in statuses {
                responses.entry(status.to_string()).or_insert_with(problem);
            }
            if has_body {
                responses
                    .entry("413".to_string())
                    .or_insert_with(|| too_large.clone());
            }
        }
    }
}
