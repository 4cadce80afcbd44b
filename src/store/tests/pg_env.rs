//! Which PostgreSQL the tests use, and what they do without one: shared by
//! the store's own tests and the integration tests (which include this file
//! by path: it uses nothing but std and the postgres client).

use std::io::Write;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// `WEBEX_HITL_TEST_POSTGRES`, by default the local server CI's machine runs
/// (127.0.0.1:5432, trust auth, database `test`).
pub fn url() -> String {
    std::env::var("WEBEX_HITL_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// Says so past the capture of `cargo test`, or fails when a server is
/// required (`WEBEX_HITL_REQUIRE_POSTGRES=1`, set by `.ci/run`).
pub fn skipped(test: &str, why: &str) {
    if std::env::var("WEBEX_HITL_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("{test}: PostgreSQL is required (WEBEX_HITL_REQUIRE_POSTGRES=1) but unusable at {}: {why}", url());
    }
    let _ = writeln!(
        std::io::stderr(),
        "!!! SKIPPED {test}: no PostgreSQL at {} ({why}); set WEBEX_HITL_TEST_POSTGRES to run it",
        url()
    );
}

/// Drops a test's schema, from a thread of its own (the blocking client may
/// not run on an async thread, and a `Drop` may run on one).
pub fn drop_schema(schema: &str) {
    let (url, quoted) = (url(), format!("\"{}\"", schema.replace('"', "\"\"")));
    let dropped = std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
        client.batch_execute(&format!("DROP SCHEMA IF EXISTS {quoted} CASCADE"))
    })
    .join();
    if !matches!(dropped, Ok(Ok(()))) {
        let _ = writeln!(std::io::stderr(), "could not drop the test schema {schema}");
    }
}
