//! The daemon's SQLite store: the cache of spaces the bot can see, the escalations
//! and the outbox of Webex calls they owe, the durable record of processed Mercury
//! activities, the append-only event log the AI engine reads, the card-signing key
//! and the audit log of the socket API.
//!
//! Why it exists: a Webex bot only sees the spaces it was added to, Mercury may
//! redeliver an activity after a restart, and an escalation must survive a crash
//! between "accepted" and "answered". The spaces cache is kept true by Mercury events
//! ([`Store::space_seen`], [`Store::space_removed`]) and repaired by full resyncs
//! ([`Store::sync_spaces`]); escalations move only by compare-and-set, with their
//! event and outbox job in the same transaction; the activity table makes handling
//! idempotent; the event log gives the engine a monotonic `seq` to resume from.
//! Rows are parsed into typed values ([`crate::model::Escalation`], [`Space`],
//! [`EventRecord`], [`Job`]) here, at the edge, and written from them.
//!
//! Design (after matrix-rust-sdk's SQLite store):
//! - one writer connection, owned here behind a mutex; every call runs on
//!   `spawn_blocking` so rusqlite never blocks the async threads. Reads use the same
//!   connection: the daemon's load is small and this keeps ordering trivial;
//! - numbered migrations, each in one transaction with its version bump; the version
//!   lives in our own `schema_version` table (see `migrations.rs`), which also marks the
//!   file as ours so a foreign database is refused and left untouched;
//! - every SQL statement is a named constant in `sql.rs`;
//! - timestamps are RFC 3339 UTC text with microseconds (see `time.rs`).
//!
//! Each part has its own file here and writes through [`Store::write`], which runs a
//! closure in one transaction and wakes event followers.

mod activities;
mod audit;
mod cards;
mod error;
mod escalation_row;
mod escalations;
mod events;
mod lock;
mod meta;
mod migrations;
mod open;
mod outbox;
pub mod retention;
mod spaces;
mod sql;
mod stats;
mod sync;
mod time;

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::watch;

pub use activities::Handled;
pub use audit::{AuditEntry, AuditRecord};
pub use cards::{Card, CardOrigin};
pub use error::StoreError;
pub use escalations::{CloseOutcome, Closing, Delivered, EscalationFilter, Inserted, NewEscalation};
pub use events::{ConnectionChange, EventKind, EventPayload, EventRecord, Subject};
pub use lock::InstanceLock;
pub use migrations::SUPPORTED_VERSION;
pub use outbox::{Job, Reply, ReplyQueued, ReplyTo, Task, Unreadable, MAX_REPLIES_PER_ESCALATION};
pub use spaces::{ActivityOutcome, RoomSnapshot, Space, SpaceFilter};
pub use sync::SyncReport;

/// Handle to the store. Cheap to clone; all clones share the one connection.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    /// Latest committed seq; bumped after each commit that appended events.
    seq: watch::Sender<i64>,
    /// Wakes the outbox worker when a job was added.
    jobs: tokio::sync::Notify,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("latest_seq", &*self.inner.seq.borrow()).finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (or creates) the store at `path`, creating parent directories, and applies
    /// pending migrations. A file that is not a webex-hitl store, or one written by a
    /// newer version, is refused and left byte-for-byte untouched.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || Self::with_connection(open::open_file(&path)?)).await?
    }

    /// A fresh private in-memory store with the full schema, for tests.
    pub async fn open_in_memory() -> Result<Store, StoreError> {
        tokio::task::spawn_blocking(|| Self::with_connection(open::open_memory()?)).await?
    }

    fn with_connection(conn: Connection) -> Result<Store, StoreError> {
        let latest = events::latest_seq_on(&conn)?;
        let (seq, _) = watch::channel(latest);
        Ok(Store { inner: Arc::new(Inner { conn: Mutex::new(conn), seq, jobs: tokio::sync::Notify::new() }) })
    }

    /// Receives the latest committed event seq; it changes after every commit that
    /// appended events, so a live follower can wait on `changed()` then read
    /// [`Store::events_after`].
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.inner.seq.subscribe()
    }

    /// Resolves when a job may have been added to the outbox since the last call.
    pub async fn jobs_changed(&self) {
        self.inner.jobs.notified().await;
    }

    fn jobs_added(&self) {
        self.inner.jobs.notify_one();
    }

    /// Runs `f` on the connection, off the async threads. For reads only.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || f(&inner.lock())).await?
    }

    /// Runs `f` in one transaction on the writer connection, off the async threads.
    /// Commits if `f` returns `Ok`, rolls back otherwise. If the transaction appended
    /// events, subscribers see the new seq once it is committed.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        // The bump happens inside the blocking task so that it is not lost when the
        // awaiting future is dropped after the commit.
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.lock();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            let latest = events::latest_seq_on(&tx)?;
            tx.commit()?;
            inner.seq.send_if_modified(|current| {
                let newer = latest > *current;
                if newer {
                    *current = latest;
                }
                newer
            });
            Ok(value)
        })
        .await?
    }
}

/// A stored value this version cannot read back: reported as a conversion error of
/// its column, so the caller learns which row and column, and nothing panics.
pub(crate) fn corrupt(column: usize, why: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, why.into())
}

impl Inner {
    /// A panic inside a closure poisons the mutex, but its transaction was rolled back
    /// on unwind, so the connection is still consistent and safe to reuse.
    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests;
