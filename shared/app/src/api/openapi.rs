//! `GET /openapi.json` (no key): the OpenAPI 3.1 document of every route in [`super::ALL`],
//! built from the endpoints themselves: their paths, query parameters, roles and the types
//! their handlers read and write ([`crate::http::Doc`]). docs/openapi.json is a copy a test
//! keeps equal to it.

use crate::http::public::{Needs, PublicFuture};
use crate::http::request::MAX_PAGE;
use crate::http::{Endpoint, Gives, PublicEndpoint, Takes, response};
use http::{Method, StatusCode};
use lambda_http::{Body, Response};
use schemars::SchemaGenerator;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};
use std::sync::OnceLock;
use tidings_domain::api_key::Role;

pub const GET: PublicEndpoint = PublicEndpoint {
    function: "get-openapi",
    method: Method::GET,
    path: "/openapi.json",
    max_body: 0,
    needs: Needs::Nothing,
    handler: |_app, _req| -> PublicFuture { Box::pin(get()) },
};

async fn get() -> Result<Response<Body>, crate::http::ApiError> {
    static TEXT: OnceLock<String> = OnceLock::new();
    let text = TEXT.get_or_init(|| pretty(&document()));
    Ok(response::build(
        StatusCode::OK,
        "application/json",
        Body::Text(text.clone()),
    ))
}

/// The document as docs/openapi.json holds it: two-space indents and a final newline.
pub fn pretty(doc: &Value) -> String {
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_default();
    text.push('\n');
    text
}

/// The OpenAPI document of [`super::ALL`].
pub fn document() -> Value {
    let mut answers = SchemaSettings::draft2020_12()
        .for_serialize()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator();
    let mut bodies = SchemaSettings::draft2020_12()
        .for_deserialize()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let mut paths = Map::new();
    for e in super::ALL {
        let op = operation(e, &mut answers, &mut bodies);
        let item = paths
            .entry(e.path)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            item.insert(e.method.as_str().to_ascii_lowercase(), op);
        }
    }
    let mut schemas = answers.take_definitions(true);
    schemas.insert("Error".into(), error_schema());
    let error_responses: Map<String, Value> = [400, 401, 402, 403, 404, 409, 413, 415, 503]
        .iter()
        .map(|status| {
            let answer = json!({
                "description": described(*status),
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
            });
            (status.to_string(), answer)
        })
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Tidings",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Patient messaging for clinics: reminders, campaigns, replies and credits. docs/api.md explains each part; this document is generated from the endpoints themselves. Answers may gain members; a client should ignore members it does not know.",
        },
        "security": [{ "apiKey": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key (`tk_<id>.<secret>`), as `Authorization: Bearer <key>`. Admin keys may call every route; staff keys those not marked admin.",
                }
            },
            "schemas": schemas,
            "responses": error_responses,
        },
    })
}

fn operation(e: &Endpoint, answers: &mut SchemaGenerator, bodies: &mut SchemaGenerator) -> Value {
    let doc = &e.doc;
    let mut op = Map::new();
    op.insert("operationId".into(), json!(e.function));
    op.insert("summary".into(), json!(doc.summary));
    let tag = e.path.split('/').nth(1).unwrap_or_default();
    op.insert("tags".into(), json!([tag]));
    if e.role == Role::Admin {
        op.insert("description".into(), json!("Admin keys only."));
    }
    op.insert("parameters".into(), Value::Array(parameters(e)));
    match doc.takes {
        Takes::Nothing => {}
        Takes::Json(schema) => {
            let body = Value::from(schema(bodies));
            op.insert("requestBody".into(), request_body("application/json", body));
        }
        Takes::Patch(schema) => {
            // A JSON merge patch (RFC 7396), sent as application/json.
            let mut body = Value::from(schema(bodies));
            optional_members(&mut body);
            op.insert("requestBody".into(), request_body("application/json", body));
        }
        Takes::Csv => {
            let body = json!({ "type": "string" });
            op.insert("requestBody".into(), request_body("text/csv", body));
        }
    }
    let mut responses = Map::new();
    for g in doc.gives {
        let (status, media, schema) = match g {
            Gives::Json(status, schema) => (
                *status,
                "application/json",
                Some(Value::from(schema(answers))),
            ),
            Gives::Csv => (200, "text/csv", Some(json!({ "type": "string" }))),
            Gives::NoContent => (204, "", None),
        };
        let entry = responses
            .entry(status.to_string())
            .or_insert_with(|| json!({ "description": described(status) }));
        if let Some(schema) = schema {
            entry["content"][media] = json!({ "schema": schema });
        }
    }
    for status in errors(e) {
        let shared = format!("#/components/responses/{status}");
        responses.insert(status.to_string(), json!({ "$ref": shared }));
    }
    op.insert("responses".into(), Value::Object(responses));
    Value::Object(op)
}

/// The statuses an endpoint's errors can have: the dispatcher's, where they apply, and the
/// handler's own.
fn errors(e: &Endpoint) -> Vec<u16> {
    let mut out = vec![400, 401];
    if e.role == Role::Admin {
        out.push(403);
    }
    if e.path.contains('{') {
        out.push(404);
    }
    if !matches!(e.doc.takes, Takes::Nothing) {
        out.extend([413, 415]);
    }
    // A write that meets another at the same moment (`concurrent_update`) is refused whole.
    if e.method != Method::GET {
        out.push(409);
    }
    out.extend(e.doc.errors);
    out.sort_unstable();
    out.dedup();
    out
}

fn parameters(e: &Endpoint) -> Vec<Value> {
    let mut out = Vec::new();
    for segment in e.path.split('/') {
        if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            out.push(json!({
                "name": name, "in": "path", "required": true, "schema": { "type": "string" },
            }));
        }
    }
    for name in e.query {
        let schema = match *name {
            "limit" => json!({ "type": "integer", "minimum": 1, "maximum": MAX_PAGE }),
            _ => json!({ "type": "string" }),
        };
        let mut p = json!({ "name": name, "in": "query", "required": false, "schema": schema });
        if *name == "cursor" {
            p["description"] = json!("the `next_cursor` of the previous page");
        }
        out.push(p);
    }
    if e.doc.idempotency_key {
        out.push(json!({
            "name": "Idempotency-Key",
            "in": "header",
            "required": false,
            "description": "repeating a request with the same key answers the first request's result (200, `Idempotent-Replayed: true`) instead of doing it again",
            "schema": { "type": "string", "minLength": 1, "maxLength": 255 },
        }));
    }
    out
}

fn request_body(media: &str, schema: Value) -> Value {
    json!({ "required": true, "content": { media: { "schema": schema } } })
}

/// A merge patch names only what changes: no member is required, at any depth.
fn optional_members(schema: &mut Value) {
    match schema {
        Value::Object(o) => {
            o.remove("required");
            o.values_mut().for_each(optional_members);
        }
        Value::Array(a) => a.iter_mut().for_each(optional_members),
        _ => {}
    }
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "description": "Every error: `code` is stable, `field` names the member, parameter or header at fault (null when none). A 402 adds `needed` and `available`.",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "field"],
                "properties": {
                    "code": { "type": "string" },
                    "message": { "type": "string" },
                    "field": { "type": ["string", "null"] },
                    "needed": { "type": "integer" },
                    "available": { "type": "integer" },
                },
                "additionalProperties": false,
            }
        },
        "additionalProperties": false,
    })
}

fn described(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "Done; no body",
        400 => "A member, parameter or header is invalid (`field` names it); nothing was written",
        401 => "No valid API key",
        403 => "This key's role may not do this",
        404 => "Not found in the caller's clinic",
        402 => "Not enough credits, or the card was declined; nothing was sent or bought",
        409 => "Conflicts with the current state (`code` says how)",
        413 => "The body is too large",
        415 => "The body must be application/json",
        503 => "The payment provider is unavailable; retry with the same Idempotency-Key",
        _ => "See `code`",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COPY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

    /// docs/openapi.json is what `GET /openapi.json` serves. After changing an endpoint, write
    /// it again with `TIDINGS_WRITE_OPENAPI=1 cargo test -p tidings-app openapi`.
    #[test]
    fn the_copy_in_docs_is_the_served_document() {
        let text = pretty(&document());
        if std::env::var_os("TIDINGS_WRITE_OPENAPI").is_some() {
            std::fs::write(COPY, &text).expect("write docs/openapi.json");
        }
        let copy = std::fs::read_to_string(COPY).unwrap_or_default();
        assert!(
            copy == text,
            "docs/openapi.json differs from the document the endpoints make; write it again with TIDINGS_WRITE_OPENAPI=1 cargo test -p tidings-app openapi"
        );
    }
}
