//! A scratch PostgreSQL schema per test, on the server the tests are given
//! (`WEBEX_HITL_TEST_POSTGRES`, by default the local one CI's machine runs:
//! 127.0.0.1:5432, trust auth, database `test`).
//!
//! Without a server a PostgreSQL test passes having run nothing, and says so
//! on the terminal (past the test harness's capture), unless
//! `WEBEX_HITL_REQUIRE_POSTGRES=1` (set by `.ci/run`), which fails it instead.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::secret::Secret;
use crate::store::Store;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The server tests use.
pub(crate) fn url() -> String {
    std::env::var("WEBEX_HITL_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// A store in a schema of its own, dropped with it.
pub(crate) struct Scratch {
    pub store: Option<Store>,
    schema: String,
}

impl Scratch {
    /// `None` (and a loud line) when no server answers and none is required.
    pub(crate) async fn new(test: &str) -> Option<Scratch> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let tail: String = test.rsplit("::").take(2).collect::<Vec<_>>().join("_");
        let mut schema = format!("t{}_{}_{tail}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        schema.truncate(63);
        match Store::open_postgres(&Secret::new(url()), Some(&schema), "test").await {
            Ok(store) => Some(Scratch { store: Some(store), schema }),
            Err(error) => {
                skipped(test, &error.to_string());
                None
            }
        }
    }

    pub(crate) fn store(&self) -> Store {
        self.store.clone().expect("open")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        drop(self.store.take());
        let schema = super::super::db::quote_ident(&self.schema);
        // The blocking client may not run on an async thread.
        let dropped = std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&url(), postgres::NoTls)?;
            client.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            let _ = writeln!(std::io::stderr(), "could not drop the test schema {}", self.schema);
        }
    }
}

/// Says it past the capture of `cargo test`, or fails when a server is required.
pub(crate) fn skipped(test: &str, why: &str) {
    if std::env::var("WEBEX_HITL_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("{test}: PostgreSQL is required (WEBEX_HITL_REQUIRE_POSTGRES=1) but unusable at {}: {why}", url());
    }
    let _ = writeln!(
        std::io::stderr(),
        "!!! SKIPPED {test}: no PostgreSQL at {} ({why}); set WEBEX_HITL_TEST_POSTGRES to run it",
        url()
    );
}
