//! The API document equals the wire, from the document's side (every response of every HTTP test is checked
//! against it in `webtest::contract`): every `/api/v1` route the router serves is documented with the methods
//! it answers, every documented operation is served, and every enum value the document lists for a parameter or
//! a request-body field is accepted by the operation that lists it. The cases come from the router and the
//! document themselves, so a new area is covered without editing this file.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use kernel::Role;
use serde_json::{Value, json};
use tower::ServiceExt;
use webtest::TestApp;
use webtest::contract::{ApiDocument, document, is_api_path};

/// The `/api/v1` path templates registered on the router. axum has no API to list routes; its `Debug` output
/// names every registered path (`Node { paths: {RouteId(0): "/api/v1/me", …} }`), which is read here. The test
/// below insists on finding routes known to exist, so a change of that output fails loudly instead of
/// finding nothing to compare.
fn api_routes(router: &axum::Router) -> BTreeSet<String> {
    let debug = format!("{router:?}");
    let mut routes = BTreeSet::new();
    let mut rest = debug.as_str();
    while let Some(start) = rest.find("\"/api/v1") {
        let after = &rest[start + 1..];
        let end = after.find('"').unwrap_or(after.len());
        let path = &after[..end];
        if is_api_path(path) {
            routes.insert(path.to_string());
        }
        rest = &after[end..];
    }
    routes
}

/// `/a/{id}/b/{other}` → `/a/{}/b/{}`: parameter names may differ between the router and the document.
fn shape(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                "{}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The methods the router answers on `template`: a request with a method no route has is answered 405 with the
/// `Allow` header listing the others (HEAD comes with GET and is not documented separately).
async fn served_methods(app: &TestApp, token: &str, template: &str) -> BTreeSet<String> {
    let path = template
        .split('/')
        .map(|s| if s.starts_with('{') { "1" } else { s })
        .collect::<Vec<_>>()
        .join("/");
    let request = Request::builder()
        .method(Method::from_bytes(b"PROBE").unwrap())
        .uri(&path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    // Straight to the router, not through `TestApp::send`: a 405 to an invented method is not an answer of the
    // API the document describes.
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::METHOD_NOT_ALLOWED,
        "{template}: a request with an unknown method should be refused with 405 and Allow"
    );
    response
        .headers()
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(',')
        .map(|m| m.trim().to_ascii_lowercase())
        .filter(|m| !m.is_empty() && m != "head")
        .collect()
}

fn documented_methods(item: &Value) -> BTreeSet<String> {
    [
        "get", "put", "post", "delete", "patch", "options", "head", "trace",
    ]
    .into_iter()
    .filter(|m| item.get(*m).is_some())
    .map(str::to_string)
    .collect()
}

testkit::db_test!(
    every_api_route_is_documented_and_every_operation_served,
    |db| {
        let app = TestApp::new(db).await;
        let token = app.token(Role::Admin).await;
        let routes = api_routes(&app.router);
        for known in ["/api/v1/me", "/api/v1/openapi.json", "/api/v1/points/{id}"] {
            assert!(
                routes.contains(known),
                "the router's Debug output no longer lists its paths as expected (no {known} among {routes:?}): \
             update api_routes"
            );
        }
        let doc = document();
        let documented: BTreeMap<String, (&str, &Value)> = doc
            .paths()
            .map(|(template, item)| (shape(template), (template, item)))
            .collect();
        let mut problems = Vec::new();
        let mut served_shapes = BTreeSet::new();
        for route in &routes {
            served_shapes.insert(shape(route));
            let served = served_methods(&app, &token, route).await;
            match documented.get(&shape(route)) {
                None => problems.push(format!(
                    "{route} ({}) is served but not in /api/v1/openapi.json",
                    served.iter().cloned().collect::<Vec<_>>().join(", ")
                )),
                Some((template, item)) => {
                    let listed = documented_methods(item);
                    for method in served.difference(&listed) {
                        problems.push(format!(
                        "{} {route} is served but not documented (the document has {template} with {listed:?})",
                        method.to_ascii_uppercase()
                    ));
                    }
                    for method in listed.difference(&served) {
                        problems.push(format!(
                            "{} {template} is documented but the router does not serve it",
                            method.to_ascii_uppercase()
                        ));
                    }
                }
            }
        }
        for (shape, (template, _)) in &documented {
            if !served_shapes.contains(shape) {
                problems.push(format!("{template} is documented but no route serves it"));
            }
        }
        assert!(
            problems.is_empty(),
            "the router and /api/v1/openapi.json disagree:\n  {}",
            problems.join("\n  ")
        );
    }
);

/// One documented enum value to send: where it goes and what a refusal of it would name.
struct EnumCase {
    method: String,
    template: String,
    /// `query`, `path` or `body`.
    place: &'static str,
    /// The parameter name, or the body field's path (`readings[0].period`).
    field: String,
    value: Value,
}

/// The schema `value` with its `$ref`s followed.
fn resolved<'a>(doc: &'a ApiDocument, value: &'a Value) -> &'a Value {
    doc.resolve(value)
}

/// The enum values a schema allows (through `$ref`s and nullable `oneOf`s), if it is an enum.
fn enum_values(doc: &ApiDocument, schema: &Value) -> Option<Vec<Value>> {
    let schema = resolved(doc, schema);
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        return Some(values.iter().filter(|v| !v.is_null()).cloned().collect());
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(members) = schema.get(combinator).and_then(Value::as_array) {
            let mut values = Vec::new();
            for member in members {
                values.extend(enum_values(doc, member).unwrap_or_default());
            }
            if !values.is_empty() {
                return Some(values);
            }
        }
    }
    None
}

/// Every (field path, value) of the enum fields of a request body schema, nested objects and arrays included.
fn body_enum_fields(
    doc: &ApiDocument,
    schema: &Value,
    path: &str,
    depth: usize,
    out: &mut Vec<(String, Value)>,
) {
    if depth > 6 {
        return;
    }
    let schema = resolved(doc, schema);
    if !path.is_empty()
        && let Some(values) = enum_values(doc, schema)
    {
        for value in values {
            out.push((path.to_string(), value));
        }
        return;
    }
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            let child = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            body_enum_fields(doc, property, &child, depth + 1, out);
        }
    }
    if let Some(items) = schema.get("items") {
        body_enum_fields(doc, items, &format!("{path}[0]"), depth + 1, out);
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        for member in schema
            .get(combinator)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            body_enum_fields(doc, member, path, depth + 1, out);
        }
    }
}

/// A JSON body holding only `value` at `path` (`readings[0].period` → `{"readings":[{"period":…}]}`).
fn body_with(path: &str, value: Value) -> Value {
    let mut body = value;
    for segment in path.rsplit('.') {
        let (name, arrays) = match segment.find('[') {
            Some(i) => (&segment[..i], segment[i..].matches("[0]").count()),
            None => (segment, 0),
        };
        for _ in 0..arrays {
            body = json!([body]);
        }
        body = json!({ name: body });
    }
    body
}

/// A value of the schema for a parameter that is not the one under test but must be there.
fn filler(doc: &ApiDocument, schema: &Value) -> String {
    if let Some(values) = enum_values(doc, schema)
        && let Some(first) = values.first()
    {
        return first
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| first.to_string());
    }
    let types = resolved(doc, schema)
        .get("type")
        .cloned()
        .unwrap_or(Value::Null);
    let is = |t: &str| types == t || types.as_array().is_some_and(|a| a.iter().any(|x| x == t));
    if is("boolean") {
        "true".to_string()
    } else {
        "1".to_string()
    }
}

fn enum_cases(doc: &ApiDocument) -> Vec<EnumCase> {
    let mut cases = Vec::new();
    for (template, item) in doc.paths() {
        for method in documented_methods(item) {
            let operation = &item[&method];
            for parameter in parameters(doc, operation) {
                let place = match parameter["in"].as_str() {
                    Some("query") => "query",
                    Some("path") => "path",
                    _ => continue,
                };
                let Some(values) = enum_values(doc, &parameter["schema"]) else {
                    continue;
                };
                for value in values {
                    cases.push(EnumCase {
                        method: method.clone(),
                        template: template.to_string(),
                        place,
                        field: parameter["name"].as_str().unwrap_or_default().to_string(),
                        value,
                    });
                }
            }
            let body_schema = operation
                .get("requestBody")
                .map(|b| resolved(doc, b))
                .and_then(|b| b.pointer("/content/application~1json/schema"));
            if let Some(schema) = body_schema {
                let mut fields = Vec::new();
                body_enum_fields(doc, schema, "", 0, &mut fields);
                for (field, value) in fields {
                    cases.push(EnumCase {
                        method: method.clone(),
                        template: template.to_string(),
                        place: "body",
                        field,
                        value,
                    });
                }
            }
        }
    }
    cases
}

/// The parameters of an operation, their `$ref`s followed.
fn parameters<'a>(doc: &'a ApiDocument, operation: &'a Value) -> Vec<&'a Value> {
    operation
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| resolved(doc, p))
        .collect()
}

/// A request to a documented operation as `token`'s caller. With a case, its value where it belongs (first in
/// the query, so that the query's deserialiser meets it before anything else, or alone in the body); "1" or the
/// schema's first value for the other path and required query parameters, `{}` for another JSON body.
fn request(
    doc: &ApiDocument,
    template: &str,
    method: &str,
    token: &str,
    case: Option<(&EnumCase, &Value)>,
) -> Request<Body> {
    let operation = &doc.json()["paths"][template][method];
    let text = |v: &Value| {
        v.as_str()
            .map(str::to_string)
            .unwrap_or_else(|| v.to_string())
    };
    let given = |place: &str, name: &str| {
        case.filter(|(c, _)| c.place == place && c.field == name)
            .map(|(_, value)| text(value))
    };
    let mut path = template.to_string();
    let mut query = Vec::new();
    if let Some((c, value)) = case.filter(|(c, _)| c.place == "query") {
        query.push((c.field.clone(), text(value)));
    }
    for parameter in parameters(doc, operation) {
        let name = parameter["name"].as_str().unwrap_or_default();
        let filled = || filler(doc, &parameter["schema"]);
        match parameter["in"].as_str() {
            Some("path") => {
                let value = given("path", name).unwrap_or_else(filled);
                path = path.replace(&format!("{{{name}}}"), &value);
            }
            Some("query") if parameter["required"] == true && given("query", name).is_none() => {
                query.push((name.to_string(), filled()));
            }
            _ => {}
        }
    }
    if !query.is_empty() {
        path = format!("{path}?{}", serde_urlencoded::to_string(&query).unwrap());
    }
    let builder = Request::builder()
        .method(method.to_ascii_uppercase().as_str())
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    let json_body = operation
        .get("requestBody")
        .map(|b| resolved(doc, b))
        .and_then(|b| b.pointer("/content/application~1json"))
        .is_some();
    let body = match case {
        Some((c, value)) if c.place == "body" => Some(body_with(&c.field, value.clone())),
        _ if json_body => Some(json!({})),
        _ => None,
    };
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

/// Whether the reply refuses the case's field: a 400 or 422 naming it (`field`, or its last segment for a body
/// path), or whose detail quotes the value as serde does (`unknown variant `x``).
fn refuses(case: &EnumCase, value: &Value, reply: &webtest::Reply) -> bool {
    if !matches!(
        reply.status,
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY
    ) {
        return false;
    }
    let problem: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
    let named = problem["field"].as_str().unwrap_or_default();
    let leaf = case.field.rsplit('.').next().unwrap_or_default();
    let leaf = leaf.split('[').next().unwrap_or_default();
    let value_text = value
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| value.to_string());
    let detail = problem["detail"].as_str().unwrap_or_default();
    named == case.field
        || named
            .rsplit('.')
            .next()
            .is_some_and(|n| n.split('[').next() == Some(leaf))
        || detail.contains(&format!("`{value_text}`"))
        || (case.place == "path" && named == "path")
}

/// A value no enum lists, to show that the check above can see a refusal at all.
const UNDOCUMENTED: &str = "not_a_documented_value";

testkit::db_test!(every_documented_enum_value_is_accepted, |db| {
    let app = TestApp::new(db).await;
    let token = app.token(Role::Admin).await;
    let doc = document();
    let cases = enum_cases(doc);
    assert!(
        cases.iter().any(|c| c.place == "query") && cases.iter().any(|c| c.place == "body"),
        "the document lists no enum for a query parameter or a body field: is it read right?"
    );
    let mut refused = Vec::new();
    let mut probed = BTreeSet::new();
    let mut fields_seen_refusing = BTreeSet::new();
    let send = |case: &EnumCase, value: &Value| {
        app.send(request(
            doc,
            &case.template,
            &case.method,
            &token,
            Some((case, value)),
        ))
    };
    for case in &cases {
        let reply = send(case, &case.value).await;
        if refuses(case, &case.value, &reply) || reply.status.is_server_error() {
            refused.push(format!(
                "{} {} {} {}={}: {} {}",
                case.method.to_ascii_uppercase(),
                case.template,
                case.place,
                case.field,
                case.value,
                reply.status,
                reply.body
            ));
        }
        let key = (
            case.method.clone(),
            case.template.clone(),
            case.field.clone(),
        );
        if probed.insert(key.clone()) {
            let bogus = Value::String(UNDOCUMENTED.to_string());
            let reply = send(case, &bogus).await;
            if refuses(case, &bogus, &reply) {
                fields_seen_refusing.insert(key);
            }
        }
    }
    assert!(
        refused.is_empty(),
        "documented enum values refused by the operation that documents them:\n  {}",
        refused.join("\n  ")
    );
    assert!(
        !fields_seen_refusing.is_empty(),
        "no field refused {UNDOCUMENTED:?} either: the check cannot tell a refusal"
    );
});

#[test]
fn areas_define_each_schema_and_operation_once() {
    let (_, clashes) = web::openapi::assemble();
    assert!(
        clashes.is_empty(),
        "two areas define these differently, and the merged document keeps only the first (rename a schema \
         with #[schema(as = …)]): {clashes:?}"
    );
    // A client generator names its functions by operationId: two alike make it fail.
    let mut seen = BTreeMap::new();
    for (template, item) in document().paths() {
        for method in documented_methods(item) {
            let id = item[&method]["operationId"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let here = format!("{} {template}", method.to_ascii_uppercase());
            if let Some(first) = seen.insert(id.clone(), here.clone()) {
                panic!(
                    "operationId {id:?} is used by {first} and by {here} (set operation_id = …)"
                );
            }
        }
    }
}

// Every documented operation, called by every role and by an unknown token, answers with a status, a content
// type and a body the document lists: `TestApp::send` checks each answer (the refusals above all: a 403 or a
// 404 the document forgot fails here).
testkit::db_test!(every_operation_answers_every_role_as_documented, |db| {
    let app = TestApp::new(db).await;
    let doc = document();
    let mut tokens = vec![(
        "an unknown token".to_string(),
        "qs_no_such_token".to_string(),
    )];
    for role in Role::ALL {
        tokens.push((format!("{role:?}"), app.token(role).await));
    }
    let mut answered = 0;
    for (template, item) in doc.paths() {
        for method in documented_methods(item) {
            for (_, token) in &tokens {
                let reply = app.send(request(doc, template, &method, token, None)).await;
                assert!(
                    !reply.status.is_server_error(),
                    "{} {template}: {} {}",
                    method.to_ascii_uppercase(),
                    reply.status,
                    reply.body
                );
                answered += 1;
            }
        }
    }
    assert!(
        answered > 100,
        "only {answered} requests: is the document read right?"
    );
});
