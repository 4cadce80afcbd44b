//! A scratch PostgreSQL schema for one test, on the server tests are given
//! (`WEBEX_HITL_TEST_POSTGRES`, by default 127.0.0.1:5432, trust auth,
//! database `test`, which CI's machine runs). Without a server the test says
//! SKIPPED on the terminal (past the harness's capture) and passes having run
//! nothing, unless `WEBEX_HITL_REQUIRE_POSTGRES=1` (`.ci/run`), which fails it.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn url() -> String {
    std::env::var("WEBEX_HITL_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// A schema of its own, dropped with it.
pub struct Scratch {
    pub url: String,
    pub schema: String,
}

impl Scratch {
    pub async fn new(test: &str) -> Option<Scratch> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let mut schema = format!("it{}_{}_{test}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        schema.truncate(63);
        let (url, name) = (url(), schema.clone());
        let created = tokio::task::spawn_blocking(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
            client.batch_execute(&format!("CREATE SCHEMA \"{name}\""))
        })
        .await
        .expect("probe");
        match created {
            Ok(()) => Some(Scratch { url: self::url(), schema }),
            Err(error) => {
                skipped(test, &error.to_string());
                None
            }
        }
    }

    /// Runs one statement in the scratch schema (as an operator would) and
    /// answers its rows, each value as text (NULL as "").
    pub async fn rows(&self, statement: &str) -> Vec<Vec<String>> {
        let (url, schema, statement) = (self.url.clone(), self.schema.clone(), statement.to_owned());
        tokio::task::spawn_blocking(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
            client.batch_execute(&format!("SET search_path TO \"{schema}\"")).expect("schema");
            let messages = client.simple_query(&statement).expect("sql runs");
            messages
                .into_iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(row) => {
                        Some((0..row.len()).map(|i| row.get(i).unwrap_or("").to_owned()).collect())
                    }
                    _ => None,
                })
                .collect()
        })
        .await
        .expect("sql")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let (url, schema) = (self.url.clone(), self.schema.clone());
        let dropped = std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls)?;
            client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            let _ = writeln!(std::io::stderr(), "could not drop the test schema {}", self.schema);
        }
    }
}

fn skipped(test: &str, why: &str) {
    if std::env::var("WEBEX_HITL_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("{test}: PostgreSQL is required (WEBEX_HITL_REQUIRE_POSTGRES=1) but unusable at {}: {why}", url());
    }
    let _ = writeln!(
        std::io::stderr(),
        "!!! SKIPPED {test}: no PostgreSQL at {} ({why}); set WEBEX_HITL_TEST_POSTGRES to run it",
        url()
    );
}
