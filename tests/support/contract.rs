//! Every call the tests make is checked against the OpenAPI document the service serves: its
//! status must be one the document lists for the route, its body must match that status's
//! schema with no member the schema does not name, and a body the route accepted must match the
//! route's request schema. With `TIDINGS_CONTRACT_LOG` set, each route and status is appended
//! to that file; `infra/local/contract_check.py` then finds the statuses the document lists
//! that no test saw.

use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, LazyLock, Mutex};
use tidings_app::http::Endpoint;

static DOCUMENT: LazyLock<Value> = LazyLock::new(tidings_app::api::openapi::document);

/// The document's components, made strict: an object schema that names its members admits no
/// other (`unevaluatedProperties: false`), so a member the code writes but the document lacks
/// fails the check.
static STRICT_COMPONENTS: LazyLock<Value> = LazyLock::new(|| {
    let mut components = DOCUMENT["components"].clone();
    if let Some(schemas) = components["schemas"].as_object_mut() {
        schemas.values_mut().for_each(|s| strict(s, false));
    }
    components
});

type Validators = Mutex<HashMap<String, Arc<jsonschema::Validator>>>;
static VALIDATORS: LazyLock<Validators> = LazyLock::new(Default::default);

/// The request a route answered, as the check reads it.
pub struct Exchange<'a> {
    pub endpoint: &'a Endpoint,
    pub path: &'a str,
    pub request_body: Option<(&'a [u8], &'a str)>,
    pub status: u16,
    pub content_type: Option<&'a str>,
    pub response_body: &'a [u8],
}

pub fn check(x: &Exchange<'_>) {
    let e = x.endpoint;
    let method = e.method.as_str().to_ascii_lowercase();
    let op = &DOCUMENT["paths"][e.path][&method];
    assert!(
        op.is_object(),
        "{} {} is not in the OpenAPI document",
        e.method,
        e.path
    );
    log(e.function, x.status);
    let mut answer = &op["responses"][x.status.to_string()];
    if let Some(shared) = answer["$ref"].as_str() {
        answer = DOCUMENT
            .pointer(shared.trim_start_matches('#'))
            .unwrap_or(&Value::Null);
    }
    let body_text = String::from_utf8_lossy(x.response_body);
    assert!(
        answer.is_object(),
        "{} ({} {}) answered {}, a status docs/openapi.json does not list for it: {body_text}",
        e.function,
        e.method,
        x.path,
        x.status,
    );
    match answer.get("content") {
        None => assert!(
            x.response_body.is_empty(),
            "{} answered {} with a body the document does not give it: {body_text}",
            e.function,
            x.status
        ),
        Some(content) => {
            let media = x
                .content_type
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim();
            let schema = &content[media]["schema"];
            assert!(
                schema.is_object(),
                "{} answered {} as {media:?}, which the document does not list",
                e.function,
                x.status
            );
            if media == "application/json" {
                let value: Value = serde_json::from_slice(x.response_body).unwrap_or_else(|err| {
                    panic!("{} answered JSON that does not parse: {err}", e.function)
                });
                let pointer = format!("{}/{method}/{}", e.path, x.status);
                validate(&pointer, schema, &value, e.function, "answer");
            }
        }
    }
    let accepted = (200..300).contains(&x.status);
    if let (true, Some((body, content_type))) = (accepted, x.request_body) {
        let schema = &op["requestBody"]["content"]["application/json"]["schema"];
        if schema.is_object() && content_type.starts_with("application/json") && !body.is_empty() {
            let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let pointer = format!("{}/{method}/request", e.path);
            validate(&pointer, schema, &value, e.function, "request it accepted");
        }
    }
}

fn validate(key: &str, schema: &Value, value: &Value, function: &str, what: &str) {
    let validator =
        {
            let mut cache = VALIDATORS.lock().unwrap_or_else(|p| p.into_inner());
            cache
                .entry(key.to_owned())
                .or_insert_with(|| {
                    let mut schema = schema.clone();
                    strict(&mut schema, false);
                    let mut root = match schema {
                        Value::Object(o) => o,
                        other => Map::from_iter([("allOf".to_owned(), json!([other]))]),
                    };
                    root.insert("components".into(), STRICT_COMPONENTS.clone());
                    let root = Value::Object(root);
                    Arc::new(jsonschema::draft202012::new(&root).unwrap_or_else(|err| {
                        panic!("the schema of {key} does not compile: {err}")
                    }))
                })
                .clone()
        };
    let errors: Vec<String> = validator
        .iter_errors(value)
        .take(5)
        .map(|err| format!("{} at {}", err, err.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "the {what} of {function} breaks docs/openapi.json: {}\n{value}",
        errors.join("; ")
    );
}

/// Adds `unevaluatedProperties: false` to every object schema that names its members, except
/// the branches of a `oneOf`/`anyOf`/`allOf` whose parent names members too (those are read
/// together with the parent's).
fn strict(schema: &mut Value, branch_of_named: bool) {
    let Value::Object(o) = schema else {
        if let Value::Array(a) = schema {
            a.iter_mut().for_each(|s| strict(s, branch_of_named));
        }
        return;
    };
    let named = o.contains_key("properties");
    if named
        && !branch_of_named
        && !o.contains_key("additionalProperties")
        && !o.contains_key("unevaluatedProperties")
    {
        o.insert("unevaluatedProperties".into(), Value::Bool(false));
    }
    for (k, child) in o.iter_mut() {
        match k.as_str() {
            "oneOf" | "anyOf" | "allOf" => strict(child, named || branch_of_named),
            "properties" | "$defs" | "patternProperties" => {
                if let Value::Object(members) = child {
                    members.values_mut().for_each(|s| strict(s, false));
                }
            }
            "items" | "additionalProperties" | "prefixItems" | "not" => strict(child, false),
            _ => {}
        }
    }
}

fn log(function: &str, status: u16) {
    let Some(path) = std::env::var_os("TIDINGS_CONTRACT_LOG") else {
        return;
    };
    let line = format!("{}\n", json!({ "function": function, "status": status }));
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(line.as_bytes());
    }
}
