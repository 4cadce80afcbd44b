//! The OpenAPI document as a test oracle: every answer a test receives through
//! [`super::client::Client`] is validated against the schema the document gives
//! for its path, method, status and content type (each NDJSON line on its own),
//! so the document cannot drift from what the daemon does. A status the
//! document does not list for that operation fails the test too.

use jsonschema::Validator;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

/// Where an answer of no operation (the router's 404 and 405) is looked up: `ErrorBody`.
const FALLBACK: &str = "(fallback)";

/// Answers (and NDJSON lines) validated so far in this test process.
pub static VALIDATED: AtomicUsize = AtomicUsize::new(0);

struct Contract {
    document: Value,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

static CONTRACT: LazyLock<Contract> = LazyLock::new(|| Contract {
    document: serde_json::to_value(webex_hitl::api::openapi::document()).expect("the document is JSON"),
    validators: Mutex::new(HashMap::new()),
});

/// Panics unless `body` is what the document promises for this answer.
pub fn check(method: &str, uri: &str, status: u16, content_type: Option<&str>, body: &[u8]) {
    let pointer = response_pointer(method, uri, status);
    let essence = content_type.map(|t| t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    if pointer == FALLBACK {
        assert_eq!(essence.as_deref(), Some("application/json"), "{method} {uri} → {status}: not the error shape");
        return validate(FALLBACK, method, uri, &parse(body, method, uri));
    }
    let contract = &*CONTRACT;
    let response = contract.document.pointer(&pointer).unwrap_or_else(|| panic!("no response at {pointer}"));
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        assert!(body.is_empty(), "{method} {uri} → {status}: the document gives no body, got {}", lossy(body));
        return;
    };
    let essence = essence.unwrap_or_else(|| panic!("{method} {uri} → {status}: a body without Content-Type"));
    let media = content.keys().find(|k| k.split(';').next().unwrap_or_default().trim() == essence);
    let media = media.unwrap_or_else(|| {
        panic!("{method} {uri} → {status}: Content-Type {essence} is not documented ({:?})", content.keys())
    });
    let schema_pointer = format!("{pointer}/content/{}/schema", escape(media));
    match essence.as_str() {
        "application/json" => validate(&schema_pointer, method, uri, &parse(body, method, uri)),
        "application/x-ndjson" => {
            for line in String::from_utf8_lossy(body).lines().filter(|l| !l.trim().is_empty()) {
                validate(&schema_pointer, method, uri, &parse(line.as_bytes(), method, uri));
            }
        }
        "text/event-stream" => {
            let lines = format!("{pointer}/content/application~1x-ndjson/schema");
            for data in String::from_utf8_lossy(body).lines().filter_map(|l| l.strip_prefix("data: ")) {
                validate(&lines, method, uri, &parse(data.as_bytes(), method, uri));
            }
        }
        // Text (Prometheus) is documented by type only.
        _ => counted(method, uri),
    }
}

/// Validates one NDJSON line of a streamed answer (`GET /v1/events`).
pub fn check_line(method: &str, uri: &str, line: &str) {
    let pointer = response_pointer(method, uri, 200);
    let schema_pointer = format!("{pointer}/content/application~1x-ndjson/schema");
    validate(&schema_pointer, method, uri, &parse(line.as_bytes(), method, uri));
}

/// The JSON pointer of the response the document gives for this answer:
/// the exact status, else `default`. A path no route serves is answered by the
/// fallback (404) and a method a route does not take by the router (405), both
/// in the error shape: those are checked against `ErrorBody`.
fn response_pointer(method: &str, uri: &str, status: u16) -> String {
    let path = uri.split('?').next().unwrap_or(uri);
    let document = &CONTRACT.document;
    let paths = document["paths"].as_object().expect("paths");
    let template = paths.keys().filter(|t| matches(t, path)).min_by_key(|t| t.matches('{').count());
    let method = method.to_ascii_lowercase();
    let operation = template.filter(|t| paths[*t].get(&method).is_some());
    let Some(template) = operation else {
        assert!(matches!(status, 404 | 405), "{method} {uri} → {status}: no such operation in the document");
        return FALLBACK.to_owned();
    };
    let responses = format!("/paths/{}/{method}/responses", escape(template));
    let exact = format!("{responses}/{status}");
    if document.pointer(&exact).is_some() {
        return exact;
    }
    let default = format!("{responses}/default");
    assert!(document.pointer(&default).is_some(), "{method} {uri} → {status}: not documented ({responses})");
    default
}

fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<_>, Vec<_>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len() && t.iter().zip(&p).all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}

fn validate(schema_pointer: &str, method: &str, uri: &str, instance: &Value) {
    let validator = validator(schema_pointer);
    if let Err(error) = validator.validate(instance) {
        panic!(
            "{method} {uri}: the answer does not match the OpenAPI document ({schema_pointer}): {error}\n{instance:#}"
        );
    }
    counted(method, uri);
}

/// Counts a validated answer; with `WEBEX_HITL_CONTRACT_LOG=FILE` also lists it
/// there (how the suite's total is measured: `wc -l FILE` after `cargo test`).
fn counted(method: &str, uri: &str) {
    VALIDATED.fetch_add(1, Ordering::Relaxed);
    if let Some(log) = std::env::var_os("WEBEX_HITL_CONTRACT_LOG") {
        use std::io::Write;
        let file = std::fs::OpenOptions::new().create(true).append(true).open(log);
        // One write per line: appends from parallel tests do not interleave.
        let _ = file.and_then(|mut f| f.write_all(format!("{method} {uri}\n").as_bytes()));
    }
}

/// A validator for the schema at `pointer`, its `$ref`s resolved to the
/// document's components (the root carries them, so `#/components/...` resolves).
fn validator(pointer: &str) -> Arc<Validator> {
    let contract = &*CONTRACT;
    let mut cache = contract.validators.lock().expect("validators");
    if let Some(validator) = cache.get(pointer) {
        return validator.clone();
    }
    let schema = if pointer == FALLBACK {
        json!({"$ref": "#/components/schemas/ErrorBody"})
    } else {
        contract.document.pointer(pointer).cloned().unwrap_or_else(|| panic!("no schema at {pointer}"))
    };
    let root = json!({"allOf": [schema], "components": contract.document["components"]});
    let validator = Arc::new(jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("schema at {pointer}: {e}")));
    cache.insert(pointer.to_owned(), validator.clone());
    validator
}

fn parse(bytes: &[u8], method: &str, uri: &str) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{method} {uri}: not JSON ({e}): {}", lossy(bytes)))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(500).collect()
}

/// A JSON pointer token (RFC 6901).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
