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
//! Design (after matrix-rust-sdk's SQLite store, and a database engine's group commit):
//! - one writer thread owns the write connection and drains a queue of writes,
//!   committing everything waiting in one transaction, each closure in its own
//!   savepoint (`writer.rs`); callers are answered after the commit;
//! - a fixed pool of read connections on threads of their own (`readers.rs`):
//!   WAL lets them read while the writer writes. The in-memory store of the tests
//!   has one connection, which serves reads between its write transactions;
//! - so the number of threads is fixed ([`Store::threads`]), whatever the load;
//! - numbered migrations, each in one transaction with its version bump; the version
//!   lives in our own `schema_version` table (see `migrations.rs`), which also marks the
//!   file as ours so a foreign database is refused and left untouched;
//! - every SQL statement is a named constant in `sql.rs`, and every statement a
//!   request or an event runs is served by an index (`tests/plans.rs` checks it);
//! - timestamps are RFC 3339 UTC text with microseconds (see `time.rs`).
//!
//! Each part has its own file here and writes through [`Store::write`], which runs a
//! closure in one transaction (a savepoint of the group's) and wakes event followers.

mod activities;
mod audit;
mod cards;
mod checkpoint;
mod claims;
mod counterparts;
pub(crate) mod db;
mod error;
mod escalation_row;
mod escalations;
mod events;
mod leases;
mod listen;
mod lock;
mod meta;
mod migrations;
mod notifications;
mod open;
mod open_pg;
mod outage;
mod outbox;
mod policy;
mod readers;
mod recent;
pub mod retention;
mod seed;
mod spaces;
mod sql;
mod stats;
mod sync;
mod time;
mod writer;

use std::path::Path;
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use tokio::sync::{oneshot, watch};

use db::{Conn, Db};

pub use activities::{Handled, Pressed};
pub use audit::{AuditEntry, AuditRecord};
pub use cards::{Card, CardOrigin};
pub use claims::ClaimOutcome;
pub use counterparts::{Counterpart, PersonKey};
pub use db::Backend;
pub use error::StoreError;
pub use escalations::{CloseOutcome, Closing, Delivered, EscalationFilter, Inserted, NewEscalation, Prior};
pub use events::{ConnectionChange, EventKind, EventPayload, EventRecord, Subject};
pub use leases::{Leadership, LEADER_HEARTBEAT};
pub use lock::InstanceLock;
pub use migrations::SUPPORTED_VERSION;
pub use notifications::Claim;
pub use outage::{LinkAlive, MaybeLost, Outage};
pub use outbox::{Job, Reply, ReplyQueued, ReplyTo, Task, Unreadable, MAX_REPLIES_PER_ESCALATION};
pub use policy::ReminderText;
pub use seed::SeedTarget;
pub use spaces::{ActivityOutcome, RoomSnapshot, Space, SpaceCursor, SpaceFilter};
pub use sync::{Detail, StagedSync, SyncReport, SyncTally};
pub use writer::WriteStats;

/// Read connections of a file store (each on its own thread).
pub const READERS: usize = 2;

/// Handle to the store. Cheap to clone; all clones share the same threads.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None` only while the store closes (see `Drop`).
    writes: Option<mpsc::Sender<writer::Message>>,
    /// `None` for the in-memory store: its writer also reads.
    reads: Option<mpsc::Sender<readers::ReadJob>>,
    /// The writer and the readers, joined when the last handle goes.
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Latest committed seq; bumped by the writer after each commit that appended events.
    seq: Arc<watch::Sender<i64>>,
    counters: Arc<writer::Counters>,
    /// The events this instance committed last (`recent`), for followers.
    recent: Arc<recent::Recent>,
    /// Wakes the outbox worker when a job was added.
    jobs: Arc<tokio::sync::Notify>,
    backend: Backend,
    /// Who this instance is to the others sharing the store (its leases' owner).
    instance: String,
    /// Dropped with the store: the PostgreSQL listener thread then ends.
    _stop_listening: mpsc::Sender<()>,
}

/// What a store runs on, and who it is.
struct Engine {
    backend: Backend,
    instance: String,
    /// PostgreSQL: where to listen for the other instances' commits.
    listen: Option<db::PgTarget>,
}

impl Engine {
    /// SQLite: one instance per store (see [`InstanceLock`]).
    fn sqlite() -> Engine {
        Engine { backend: Backend::Sqlite, instance: LOCAL_INSTANCE.to_owned(), listen: None }
    }
}

/// The instance name of a SQLite store, which has one instance.
pub const LOCAL_INSTANCE: &str = "local";

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("latest_seq", &*self.inner.seq.borrow()).finish_non_exhaustive()
    }
}

/// What the writer thread hands back once its connections are open.
type Opened = (i64, Option<readers::Readers>);

impl Store {
    /// Opens (or creates) the store at `path`, creating parent directories, and applies
    /// pending migrations. A file that is not a webex-hitl store, or one written by a
    /// newer version, is refused and left byte-for-byte untouched.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        let path = path.to_path_buf();
        let store = Self::start(Engine::sqlite(), move || {
            let writer = Conn::Sqlite(open::open_file(&path)?);
            let readers = (0..READERS).map(|_| open::open_reader(&path).map(Conn::Sqlite));
            Ok((writer, Some(readers.collect::<Result<Vec<_>, _>>()?)))
        })
        .await?;
        store.release_own_leases().await?;
        Ok(store)
    }

    /// Opens the store in a PostgreSQL database (`url`), in `schema` if given
    /// (else the connection's search path), and applies pending migrations.
    /// Several daemons may share it; tables that are not ours are refused.
    /// `instance` names this daemon to the others (it owns its leases by it):
    /// unique per instance and stable across its restarts.
    pub async fn open_postgres(
        url: &crate::secret::Secret,
        schema: Option<&str>,
        instance: &str,
    ) -> Result<Store, StoreError> {
        let target =
            db::PgTarget { url: url.clone(), schema: schema.map(str::to_owned), instance: instance.to_owned() };
        let engine = Engine { backend: Backend::Postgres, instance: instance.to_owned(), listen: Some(target.clone()) };
        let store = Self::start(engine, move || {
            let writer = open_pg::open_writer(&target)?;
            let readers = (0..READERS).map(|_| open_pg::open_reader(&target));
            Ok((writer, Some(readers.collect::<Result<Vec<_>, _>>()?)))
        })
        .await?;
        store.release_own_leases().await?;
        Ok(store)
    }

    /// A fresh private in-memory store with the full schema, for tests. One
    /// connection, on the writer thread, serves reads and writes.
    pub async fn open_in_memory() -> Result<Store, StoreError> {
        Self::start(Engine::sqlite(), || Ok((Conn::Sqlite(open::open_memory()?), None))).await
    }

    /// The engine this store runs on.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// This instance's name among those sharing the store.
    pub fn instance(&self) -> &str {
        &self.inner.instance
    }

    /// Starts the writer thread, which opens the connections with `opener` (so no
    /// async thread ever blocks on SQLite), starts the readers and serves writes.
    async fn start<O>(engine: Engine, opener: O) -> Result<Store, StoreError>
    where
        O: FnOnce() -> Result<(Conn, Option<Vec<Conn>>), StoreError> + Send + 'static,
    {
        let (writes, queue) = mpsc::channel();
        let (seq, _) = watch::channel(0);
        let seq = Arc::new(seq);
        let (opened_tx, opened) = oneshot::channel::<Result<Opened, StoreError>>();
        let counters = Arc::new(writer::Counters::default());
        let recent = Arc::new(recent::Recent::default());
        let mut shared = writer::Shared {
            seq: Arc::clone(&seq),
            counters: Arc::clone(&counters),
            checkpointer: None,
            recent: Arc::clone(&recent),
        };
        let writer = std::thread::Builder::new()
            .name("store-write".into())
            .spawn(move || match open_connections(opener) {
                Ok((conn, latest, readers)) => {
                    shared.checkpointer = readers.as_ref().and_then(|readers| {
                        let counters = &shared.counters;
                        let (done, caught_up) = (Arc::clone(&counters.checkpoints), Arc::clone(&counters.caught_up));
                        checkpoint::Checkpointer::new(&conn, &readers.queue, done, caught_up)
                    });
                    if opened_tx.send(Ok((latest, readers))).is_ok() {
                        writer::run(conn, queue, shared);
                    }
                }
                Err(error) => drop(opened_tx.send(Err(error))),
            })
            .map_err(|e| StoreError::Thread(e.to_string()))?;
        let (latest, readers) = match opened.await {
            Ok(Ok(opened)) => opened,
            Ok(Err(error)) => return Err(joined(writer, error)),
            Err(_) => return Err(joined(writer, StoreError::Closed)),
        };
        seq.send_replace(latest);
        let mut threads = vec![writer];
        let reads = readers.map(|readers| {
            threads.extend(readers.threads);
            readers.queue
        });
        let jobs = Arc::new(tokio::sync::Notify::new());
        let (stop_listening, stopped) = mpsc::channel::<()>();
        if let Some(target) = engine.listen {
            let wake = listen::Wake { seq: Arc::clone(&seq), jobs: Arc::clone(&jobs), stop: stopped };
            threads.push(listen::start(target, wake)?);
        }
        let inner = Inner {
            writes: Some(writes),
            reads,
            threads: Mutex::new(threads),
            seq,
            counters,
            recent,
            jobs,
            backend: engine.backend,
            instance: engine.instance,
            _stop_listening: stop_listening,
        };
        Ok(Store { inner: Arc::new(inner) })
    }

    /// The threads the store runs on: one writer and its readers. Fixed at open.
    pub fn threads(&self) -> usize {
        self.inner.threads.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// How many times the writer's database session was lost and opened again:
    /// a holder of a lease whose session changed cannot know what happened
    /// meanwhile (see `leader.rs`).
    pub fn writer_sessions(&self) -> u64 {
        self.inner.counters.sessions()
    }

    /// Writes answered and transactions committed since open: how well writes group.
    pub fn write_stats(&self) -> WriteStats {
        self.inner.counters.read()
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

    /// Runs `f` on a read connection, off the async threads. For reads only.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Db<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = readers::job(f, reply);
        let sent = match (&self.inner.reads, &self.inner.writes) {
            (Some(reads), _) => reads.send(job).is_ok(),
            (None, Some(writes)) => writes.send(writer::Message::Read(job)).is_ok(),
            (None, None) => false,
        };
        if !sent {
            return Err(StoreError::Closed);
        }
        answer.await.unwrap_or(Err(StoreError::Closed))
    }

    /// Runs `f` in one transaction on the writer connection, off the async threads.
    /// Commits if `f` returns `Ok`, rolls back otherwise (it runs in a savepoint of
    /// a group's transaction: the others of the group are not affected). Answers once
    /// the commit is done; if the transaction appended events, subscribers see the
    /// new seq then. The write happens even if the returned future is dropped.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Db<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.submit(f).await.unwrap_or(Err(StoreError::Closed))
    }

    /// Queues a write now (not at the first poll) and returns where its answer comes.
    pub(crate) fn submit<T, F>(&self, f: F) -> oneshot::Receiver<Result<T, StoreError>>
    where
        T: Send + 'static,
        F: FnOnce(&Db<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = writer::Message::Write(Box::new(writer::Typed::new(f, reply)));
        // If the writer is gone, the job (and its reply sender) is dropped: `Closed`.
        if let Some(writes) = &self.inner.writes {
            let _ = writes.send(job);
        }
        answer
    }
}

/// The writer connection, the latest seq and the started readers.
fn open_connections<O>(opener: O) -> Result<(Conn, i64, Option<readers::Readers>), StoreError>
where
    O: FnOnce() -> Result<(Conn, Option<Vec<Conn>>), StoreError>,
{
    let (conn, readers) = opener()?;
    let latest = events::latest_seq_on(&conn.db())?;
    let readers = readers.map(readers::Readers::start).transpose()?;
    Ok((conn, latest, readers))
}

/// Waits for a writer thread that gave up opening, and returns its error.
fn joined(writer: JoinHandle<()>, error: StoreError) -> StoreError {
    let _ = writer.join();
    error
}

impl Drop for Inner {
    /// Closes the queues, lets the threads finish what was queued, and waits for
    /// them: the connections are closed (and the WAL checkpointed) when this returns.
    fn drop(&mut self) {
        drop(self.writes.take());
        drop(self.reads.take());
        let (gone, _) = mpsc::channel();
        drop(std::mem::replace(&mut self._stop_listening, gone));
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner));
        let me = std::thread::current().id();
        for thread in threads.into_iter().filter(|t| t.thread().id() != me) {
            let _ = thread.join();
        }
    }
}

/// A stored value this version cannot read back: reported with its column, so
/// the caller learns which row and column, and nothing panics.
pub(crate) fn corrupt(column: usize, why: impl std::fmt::Display) -> StoreError {
    StoreError::corrupt(column, why)
}

#[cfg(test)]
mod tests;
