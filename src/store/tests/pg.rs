//! A scratch PostgreSQL schema per test, on the server the tests are given
//! (see `pg_env.rs`: without one a test passes having run nothing, and says so).

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::secret::Secret;
use crate::store::Store;

pub(crate) use super::pg_env::{drop_schema, skipped, url};

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
        drop_schema(&self.schema);
    }
}
