//! The API document equals the wire. Every `/api/v1` response a test receives through [`crate::TestApp`] is
//! checked against `/api/v1/openapi.json` (`web::openapi::document()`): the path template, the method and the
//! status must be documented, the content type must be one the document lists for that status, and a JSON body
//! must satisfy the documented schema (OpenAPI 3.1 schemas are JSON Schema 2020-12; `$ref`s resolve against the
//! document). Objects are closed for the check: a property the document does not name is a mismatch too, which
//! is how a field renamed on the wire but not in the document shows up. A path the document does not have must
//! get the router's fallback, a 404 problem. A JSON request body the API accepted (2xx) must match the documented
//! request schema (with open objects: serde ignores fields a request does not take).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Map, Value, json};

/// The document of this test process, built once.
pub fn document() -> &'static ApiDocument {
    static DOCUMENT: OnceLock<ApiDocument> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let doc = serde_json::to_value(web::openapi::document())
            .expect("the OpenAPI document serialises to JSON");
        ApiDocument::new(doc)
    })
}

/// The OpenAPI document as JSON, with the operations found by path and method and the compiled response
/// validators kept for the next response of the same operation and status.
pub struct ApiDocument {
    doc: Value,
    /// The document's components with their object schemas closed (see [`close_schema`]).
    closed_components: Value,
    /// Component schemas an `allOf` extends (see [`collect_extended`]).
    extended: Vec<String>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// Whether objects are closed when checking (see [`ApiDocument::validator`]).
#[derive(Clone, Copy)]
enum Closed {
    Yes,
    No,
}

/// One documented operation: the path template as the document writes it, the method (lower case, as in the
/// document) and the operation object.
pub struct Operation<'a> {
    pub template: &'a str,
    pub method: String,
    pub operation: &'a Value,
}

impl ApiDocument {
    pub fn new(doc: Value) -> ApiDocument {
        let (closed_components, extended) = close_objects(&doc);
        ApiDocument {
            doc,
            closed_components,
            extended,
            validators: Mutex::new(HashMap::new()),
        }
    }

    pub fn json(&self) -> &Value {
        &self.doc
    }

    /// The documented path templates.
    pub fn paths(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.doc["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(path, item)| (path.as_str(), item))
    }

    /// The operation that serves `method` on the concrete `path`: of the templates that match, the one with the
    /// most literal segments (`/enterprises/lookup` before `/enterprises/{id}`), as the router decides.
    pub fn operation(&self, method: &str, path: &str) -> Option<Operation<'_>> {
        let method = method.to_ascii_lowercase();
        let segments: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, &str, &Value)> = None;
        for (template, item) in self.paths() {
            let Some(literals) = template_matches(template, &segments) else {
                continue;
            };
            let Some(operation) = item.get(&method) else {
                continue;
            };
            if best.is_none_or(|(most, _, _)| literals > most) {
                best = Some((literals, template, operation));
            }
        }
        best.map(|(_, template, operation)| Operation {
            template,
            method,
            operation,
        })
    }

    /// Follows a local `$ref` (`#/components/...`) until a value that is not a reference.
    pub fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        for _ in 0..32 {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return value;
            };
            match reference
                .strip_prefix('#')
                .and_then(|pointer| self.doc.pointer(pointer))
            {
                Some(target) => value = target,
                None => panic!("the OpenAPI document has a $ref to nothing: {reference}"),
            }
        }
        panic!("the OpenAPI document has a $ref cycle")
    }

    /// Checks one response against the document; the error says what differs, naming the path, the status and,
    /// for a body, the JSON pointer of the first mismatch. `body` is None when it cannot be read as sent (a
    /// compressed one): then only the status and the content type are checked.
    pub fn check_response(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: &str,
        body: Option<&[u8]>,
    ) -> Result<(), String> {
        let what = format!("{} {path} answered {status}", method.to_ascii_uppercase());
        let Some(op) = self.operation(method, path) else {
            if status == 404 && !self.has_path(path) {
                return self.check_fallback(&what, content_type, body);
            }
            return Err(format!(
                "{what}, but the OpenAPI document has no {} operation for this path",
                method.to_ascii_uppercase()
            ));
        };
        let what = format!("{what} (documented as {})", op.template);
        let responses = &op.operation["responses"];
        let status_key = status.to_string();
        let range_key = format!("{}XX", status / 100);
        let Some((documented_status, response)) =
            [status_key.as_str(), range_key.as_str(), "default"]
                .into_iter()
                .find_map(|key| responses.get(key).map(|r| (key, r)))
        else {
            let listed: Vec<&String> = responses
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, _)| k)
                .collect();
            return Err(format!(
                "{what}: status {status} is not documented (documented: {listed:?})"
            ));
        };
        let response = self.resolve(response);
        let media_type = media_type_of(content_type);
        let content = response.get("content").and_then(Value::as_object);
        let Some(content) = content.filter(|c| !c.is_empty()) else {
            if body.is_some_and(<[u8]>::is_empty) {
                return Ok(());
            }
            return Err(format!(
                "{what}: a {media_type:?} body, but the document gives status {documented_status} no content"
            ));
        };
        let Some((documented_type, media)) = content
            .iter()
            .find(|(documented, _)| media_type_matches(documented, &media_type))
        else {
            let listed: Vec<&String> = content.keys().collect();
            return Err(format!(
                "{what}: content type {media_type:?} is not documented for this status (documented: {listed:?})"
            ));
        };
        let (Some(body), Some(schema)) = (body, media.get("schema")) else {
            return Ok(());
        };
        if !is_json(&media_type) {
            return Ok(());
        }
        let instance: Value = serde_json::from_slice(body).map_err(|e| {
            format!("{what}: the body is not the {media_type} it claims to be ({e})")
        })?;
        let key = format!(
            "{} {} {documented_status} {documented_type}",
            op.method, op.template
        );
        self.validate(&key, schema, Closed::Yes, &instance)
            .map_err(|errors| {
                format!(
                    "{what}: the body does not match the document's schema for status {documented_status}:\n  {errors}\nbody: {}",
                    shown(body)
                )
            })
    }

    /// Checks a JSON request body the API accepted (answered 2xx) against the document's request schema: what
    /// the handler took must be what the document asks for (field names, types, required fields).
    pub fn check_accepted_request(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> Result<(), String> {
        let media_type = media_type_of(content_type);
        if !is_json(&media_type) || body.is_empty() {
            return Ok(());
        }
        let what = format!(
            "{} {path} accepted a JSON body",
            method.to_ascii_uppercase()
        );
        let Some(op) = self.operation(method, path) else {
            return Ok(());
        };
        let Some(request_body) = op.operation.get("requestBody").map(|b| self.resolve(b)) else {
            return Err(format!(
                "{what}, but the document gives {} {} no request body",
                op.method.to_ascii_uppercase(),
                op.template
            ));
        };
        let content = request_body.get("content").and_then(Value::as_object);
        let Some((documented_type, media)) = content
            .into_iter()
            .flatten()
            .find(|(documented, _)| media_type_matches(documented, &media_type))
        else {
            return Err(format!(
                "{what}: the document does not list {media_type:?} for it"
            ));
        };
        let Some(schema) = media.get("schema") else {
            return Ok(());
        };
        let instance: Value =
            serde_json::from_slice(body).map_err(|e| format!("{what} that is not JSON ({e})"))?;
        let key = format!("{} {} request {documented_type}", op.method, op.template);
        self.validate(&key, schema, Closed::No, &instance)
            .map_err(|errors| {
                format!(
                    "{what} that does not match the document's request schema (documented as {}):\n  {errors}\nbody: {}",
                    op.template,
                    shown(body)
                )
            })
    }

    /// Whether a documented path template matches `path`, whatever the method.
    fn has_path(&self, path: &str) -> bool {
        let segments: Vec<&str> = path.split('/').collect();
        self.paths()
            .any(|(template, _)| template_matches(template, &segments).is_some())
    }

    /// A path the document does not have gets the router's fallback: a 404 problem (`application/problem+json`
    /// with the document's `Problem` schema), like every other refusal.
    fn check_fallback(
        &self,
        what: &str,
        content_type: &str,
        body: Option<&[u8]>,
    ) -> Result<(), String> {
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        if media_type != "application/problem+json" {
            return Err(format!(
                "{what}: a path the document does not have must get a problem+json 404, not {media_type:?}"
            ));
        }
        let Some(body) = body else {
            return Ok(());
        };
        let instance: Value = serde_json::from_slice(body)
            .map_err(|e| format!("{what}: the problem is not JSON ({e})"))?;
        let problem = json!({"$ref": "#/components/schemas/Problem"});
        self.validate("fallback 404", &problem, Closed::Yes, &instance)
            .map_err(|errors| {
                format!("{what}: the problem does not match the document's Problem:\n  {errors}")
            })
    }

    /// Checks `instance` against `schema` (compiled once under `key`); the error lists the first mismatches,
    /// each with its JSON pointer. A schema that does not compile is an error too.
    fn validate(
        &self,
        key: &str,
        schema: &Value,
        closed: Closed,
        instance: &Value,
    ) -> Result<(), String> {
        let validator = self.validator(key, schema, closed)?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .take(5)
            .map(|error| {
                let pointer = error.instance_path().as_str().to_string();
                let pointer = if pointer.is_empty() {
                    "/ (the whole body)".to_string()
                } else {
                    pointer
                };
                format!("at {pointer}: {error}")
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("\n  "))
        }
    }

    /// The compiled validator of `schema`, kept under `key`. Answers are checked with closed objects (a
    /// property the document does not name is a mismatch); requests with open ones, as serde reads them (a
    /// client may send back a whole record, and the fields the request does not take are ignored).
    fn validator(
        &self,
        key: &str,
        schema: &Value,
        closed: Closed,
    ) -> Result<Arc<jsonschema::Validator>, String> {
        if let Some(validator) = self.validators.lock().unwrap().get(key) {
            return Ok(validator.clone());
        }
        // The schema with the document's components beside it, so that `#/components/...` resolves.
        let (schema, components) = match closed {
            Closed::Yes => (
                close_schema(schema, &self.extended),
                self.closed_components.clone(),
            ),
            Closed::No => (
                schema.clone(),
                self.doc
                    .get("components")
                    .cloned()
                    .unwrap_or_else(|| json!({})),
            ),
        };
        let mut root = Map::new();
        root.insert(
            "$schema".into(),
            json!("https://json-schema.org/draft/2020-12/schema"),
        );
        root.insert("allOf".into(), json!([schema]));
        root.insert("components".into(), components);
        let root = Value::Object(root);
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| format!("the document's schema for {key} does not compile: {e}"))?;
        let validator = Arc::new(validator);
        self.validators
            .lock()
            .unwrap()
            .insert(key.to_string(), validator.clone());
        Ok(validator)
    }
}

/// The start of a body, for a failure message.
fn shown(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(2000).collect()
}

/// Panics with the mismatch, for [`crate::TestApp::send`].
pub fn assert_response(
    method: &str,
    path: &str,
    status: u16,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) {
    if !is_api_path(path) {
        return;
    }
    let header = |name| {
        headers
            .get(name)
            .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
            .unwrap_or("")
    };
    let content_type = header(axum::http::header::CONTENT_TYPE);
    let encoded = !matches!(
        header(axum::http::header::CONTENT_ENCODING),
        "" | "identity"
    );
    let body = (!encoded).then_some(body);
    if let Err(mismatch) = document().check_response(method, path, status, content_type, body) {
        panic!("the API differs from /api/v1/openapi.json: {mismatch}");
    }
}

/// Panics when the API accepted (2xx) a JSON request body the document does not describe, for
/// [`crate::TestApp::send`].
pub fn assert_accepted_request(
    method: &str,
    path: &str,
    status: u16,
    request_headers: &axum::http::HeaderMap,
    request_body: &[u8],
) {
    if !is_api_path(path) || !(200..300).contains(&status) {
        return;
    }
    let content_type = request_headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Err(mismatch) =
        document().check_accepted_request(method, path, content_type, request_body)
    {
        panic!("the API differs from /api/v1/openapi.json: {mismatch}");
    }
}

/// The JSON API; pages, assets and the like are not in the document.
pub fn is_api_path(path: &str) -> bool {
    path == "/api/v1" || path.starts_with("/api/v1/")
}

/// The number of literal segments of `template` when it matches `segments` (a `{name}` segment matches any
/// non-empty one), or None.
fn template_matches(template: &str, segments: &[&str]) -> Option<usize> {
    let parts: Vec<&str> = template.split('/').collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut literals = 0;
    for (part, segment) in parts.iter().zip(segments) {
        if part.starts_with('{') && part.ends_with('}') {
            if segment.is_empty() {
                return None;
            }
        } else if part == segment {
            literals += 1;
        } else {
            return None;
        }
    }
    Some(literals)
}

/// `application/json; charset=utf-8` → `application/json`.
fn media_type_of(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn media_type_matches(documented: &str, actual: &str) -> bool {
    let documented = media_type_of(documented);
    documented == actual
        || documented == "*/*"
        || documented
            .strip_suffix("/*")
            .is_some_and(|kind| actual.split('/').next() == Some(kind))
}

fn is_json(media_type: &str) -> bool {
    media_type == "application/json" || media_type.ends_with("+json")
}

/// The document's components with every object schema closed (see [`close_schema`]), and the names of the
/// component schemas left open because an `allOf` extends them.
fn close_objects(doc: &Value) -> (Value, Vec<String>) {
    let mut extended = Vec::new();
    collect_extended(doc, &mut extended);
    let mut components = doc.get("components").cloned().unwrap_or_else(|| json!({}));
    if let Some(schemas) = components.get_mut("schemas").and_then(Value::as_object_mut) {
        for (name, schema) in schemas.iter_mut() {
            if extended.iter().any(|e| e == name) {
                *schema = close_inside(schema, &extended);
            } else {
                *schema = close_schema(schema, &extended);
            }
        }
    }
    (components, extended)
}

/// Component schemas named by a `$ref` that is itself a member of an `allOf`: closing them would refuse the
/// properties the other members add, so the `allOf` that holds them is closed instead.
fn collect_extended(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(members) = map.get("allOf").and_then(Value::as_array) {
                for member in members {
                    if let Some(name) = member
                        .get("$ref")
                        .and_then(Value::as_str)
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                        && !into.iter().any(|e| e == name)
                    {
                        into.push(name.to_string());
                    }
                }
            }
            map.values().for_each(|v| collect_extended(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_extended(v, into)),
        _ => {}
    }
}

/// `schema` with `unevaluatedProperties: false` on itself when it describes an object by its properties (or
/// combines members that do), and the same for the schemas inside it — except directly on the members of an
/// `allOf`, which each describe only part of the object.
fn close_schema(schema: &Value, extended: &[String]) -> Value {
    let mut schema = close_inside(schema, extended);
    if let Value::Object(map) = &mut schema {
        let describes_object = map.contains_key("properties")
            || map.contains_key("allOf")
            || map
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .is_some_and(|name| extended.iter().any(|e| e == name));
        let open_already =
            map.contains_key("additionalProperties") || map.contains_key("unevaluatedProperties");
        if describes_object && !open_already {
            map.insert("unevaluatedProperties".into(), json!(false));
        }
    }
    schema
}

/// Closes the schemas inside `schema` (not `schema` itself).
fn close_inside(schema: &Value, extended: &[String]) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        let value = match (key.as_str(), value) {
            ("properties" | "patternProperties" | "$defs", Value::Object(children)) => {
                Value::Object(
                    children
                        .iter()
                        .map(|(name, child)| (name.clone(), close_schema(child, extended)))
                        .collect(),
                )
            }
            ("allOf", Value::Array(members)) => Value::Array(
                members
                    .iter()
                    .map(|member| close_inside(member, extended))
                    .collect(),
            ),
            ("oneOf" | "anyOf" | "prefixItems", Value::Array(members)) => Value::Array(
                members
                    .iter()
                    .map(|member| close_schema(member, extended))
                    .collect(),
            ),
            ("items" | "additionalProperties" | "not" | "contains", Value::Object(_)) => {
                close_schema(value, extended)
            }
            _ => value.clone(),
        };
        out.insert(key.clone(), value);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> ApiDocument {
        ApiDocument::new(json!({
            "openapi": "3.1.0",
            "paths": {
                "/api/v1/things/{id}": {"get": {"responses": {
                    "200": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                    "404": {"$ref": "#/components/responses/ProblemResponse"}
                }}},
                "/api/v1/things/lookup": {"get": {"responses": {"204": {"description": ""}}}},
                "/api/v1/tagged": {"get": {"responses": {
                    "200": {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Tagged"}}}}
                }}},
                "/api/v1/things": {"post": {
                    "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                    "responses": {"201": {"description": ""}}
                }}
            },
            "components": {
                "schemas": {
                    "Thing": {"type": "object", "required": ["id", "kind"], "properties": {
                        "id": {"type": "integer", "format": "int64"},
                        "kind": {"$ref": "#/components/schemas/Kind"},
                        "note": {"type": ["string", "null"]}
                    }},
                    "Kind": {"type": "string", "enum": ["air_station", "water_section"]},
                    "Tagged": {"oneOf": [{"allOf": [
                        {"$ref": "#/components/schemas/Thing"},
                        {"type": "object", "required": ["tag"], "properties": {"tag": {"type": "string", "enum": ["a"]}}}
                    ]}]},
                    "Problem": {"type": "object", "required": ["status"], "properties": {"status": {"type": "integer"}}}
                },
                "responses": {"ProblemResponse": {"description": "", "content": {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }}}
            }
        }))
    }

    fn answer(path: &str, status: u16, content_type: &str, body: &Value) -> Result<(), String> {
        let body = body.to_string();
        doc().check_response("GET", path, status, content_type, Some(body.as_bytes()))
    }

    #[test]
    fn a_body_as_documented_passes() {
        let thing = json!({"id": 1, "kind": "air_station", "note": null});
        assert_eq!(
            answer("/api/v1/things/7", 200, "application/json", &thing),
            Ok(())
        );
        let problem = json!({"status": 404});
        assert_eq!(
            answer(
                "/api/v1/things/7",
                404,
                "application/problem+json",
                &problem
            ),
            Ok(())
        );
    }

    #[test]
    fn a_body_unlike_the_document_fails_naming_the_pointer() {
        let cases = [
            (json!({"id": 1, "kind": "AirStation"}), "/kind"),
            (json!({"id": 1.5, "kind": "air_station"}), "/id"),
            (json!({"id": 1}), "the whole body"),
            (
                json!({"id": 1, "kind": "air_station", "kind_label": "空气站"}),
                "the whole body",
            ),
        ];
        for (body, pointer) in cases {
            let error = answer("/api/v1/things/7", 200, "application/json", &body).unwrap_err();
            assert!(
                error.contains("GET /api/v1/things/7 answered 200"),
                "{error}"
            );
            assert!(
                error.contains(&format!("at {pointer}")) || error.contains(pointer),
                "{error}"
            );
        }
    }

    #[test]
    fn undocumented_statuses_content_types_and_paths_fail() {
        let problem = json!({"status": 500});
        let error = answer(
            "/api/v1/things/7",
            500,
            "application/problem+json",
            &problem,
        )
        .unwrap_err();
        assert!(error.contains("status 500 is not documented"), "{error}");
        let error = answer(
            "/api/v1/things/7",
            404,
            "application/json",
            &json!({"status": 404}),
        )
        .unwrap_err();
        assert!(
            error.contains("content type \"application/json\" is not documented"),
            "{error}"
        );
        let error = doc()
            .check_response("DELETE", "/api/v1/things/7", 204, "", Some(b""))
            .unwrap_err();
        assert!(error.contains("no DELETE operation"), "{error}");
        let error =
            answer("/api/v1/things/lookup", 204, "application/json", &json!({})).unwrap_err();
        assert!(error.contains("no content"), "{error}");
    }

    #[test]
    fn literal_segments_win_over_parameters() {
        let op = doc()
            .operation("GET", "/api/v1/things/lookup")
            .map(|op| op.template.to_string());
        assert_eq!(op.as_deref(), Some("/api/v1/things/lookup"));
        assert_eq!(
            doc().check_response("GET", "/api/v1/things/lookup", 204, "", Some(b"")),
            Ok(())
        );
    }

    #[test]
    fn an_unknown_path_must_get_the_problem_404() {
        let problem = json!({"status": 404});
        assert_eq!(
            answer("/api/v1/nothing", 404, "application/problem+json", &problem),
            Ok(())
        );
        assert!(answer("/api/v1/nothing", 404, "text/html", &problem).is_err());
        assert!(answer("/api/v1/nothing", 200, "application/json", &problem).is_err());
    }

    #[test]
    fn an_extended_schema_takes_the_properties_of_every_member_and_no_other() {
        let tagged = json!({"id": 1, "kind": "air_station", "tag": "a"});
        assert_eq!(
            answer("/api/v1/tagged", 200, "application/json", &tagged),
            Ok(())
        );
        let extra = json!({"id": 1, "kind": "air_station", "tag": "a", "more": 1});
        assert!(answer("/api/v1/tagged", 200, "application/json", &extra).is_err());
    }

    #[test]
    fn an_accepted_request_must_match_the_request_schema_with_open_objects() {
        let doc = doc();
        let check = |body: &Value| {
            doc.check_accepted_request(
                "POST",
                "/api/v1/things",
                "application/json",
                body.to_string().as_bytes(),
            )
        };
        assert_eq!(
            check(&json!({"id": 1, "kind": "water_section", "created_at": 0})),
            Ok(())
        );
        let error = check(&json!({"id": 1, "kind": "WaterSection"})).unwrap_err();
        assert!(error.contains("at /kind"), "{error}");
    }
}
