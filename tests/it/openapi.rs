//! The committed `openapi.json` is what the code generates, and the daemon
//! serves the same document. Regenerate it with
//! `cargo run -- openapi > openapi.json` (or `WEBEX_HITL_WRITE_OPENAPI=1 cargo test --test it openapi::`).

use crate::common::{contract, Harness};
use std::path::Path;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");

#[test]
fn the_committed_document_is_what_the_code_generates() {
    let generated = webex_hitl::api::openapi::document_text();
    if std::env::var_os("WEBEX_HITL_WRITE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, &generated).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(Path::new(COMMITTED)).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.json differs from what the code generates: run `cargo run -- openapi > openapi.json` \
         (or WEBEX_HITL_WRITE_OPENAPI=1 cargo test --test it openapi::) and commit it"
    );
}

#[tokio::test]
async fn the_daemon_serves_it_and_validation_catches_a_wrong_answer() {
    let h = Harness::start().await;
    let served = h.client.get("/v1/openapi.json").await.unwrap();
    assert_eq!(served.status, 200);
    let document = serde_json::to_value(webex_hitl::api::openapi::document()).unwrap();
    assert_eq!(served.body, document);
    assert_eq!(served.body["openapi"], "3.1.0");
    let mut operations: Vec<&str> = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|methods| methods.as_object().unwrap().values().filter_map(|op| op["operationId"].as_str()))
        .collect();
    let count = operations.len();
    operations.sort_unstable();
    operations.dedup();
    assert_eq!((operations.len(), count), (16, 16), "one unique operationId per operation: {operations:?}");
    // Every documented error code is an enum value; the checker refuses another.
    let bad = serde_json::json!({"error": {"code": "no_such_code", "message": "x"}}).to_string();
    let refused = std::panic::catch_unwind(|| {
        contract::check("GET", "/v1/health", 500, Some("application/json"), bad.as_bytes())
    });
    assert!(refused.is_err(), "an undocumented error code passed validation");
    let health = serde_json::json!({"status": "ok"}).to_string();
    let refused = std::panic::catch_unwind(|| {
        contract::check("GET", "/v1/health", 200, Some("application/json"), health.as_bytes())
    });
    assert!(refused.is_err(), "a health answer without its fields passed validation");
}
