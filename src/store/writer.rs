//! The one writer: a thread that owns the write connection and drains a queue
//! of writes, committing several in one transaction (group commit).
//!
//! Why: a commit costs far more than the statements of a typical write (an
//! escalation, an event, a job), and one commit per caller behind a mutex made
//! callers queue on threads of their own. Here callers queue *messages*; the
//! thread takes everything waiting (up to [`MAX_GROUP`]) and commits it at once.
//!
//! Each closure still commits or rolls back as a unit: it runs inside its own
//! `SAVEPOINT` (a closure alone in its group needs none: the transaction is its unit). A closure that fails (or panics) is rolled back to its savepoint
//! and told its own error; the others of the group commit. Every caller is
//! answered only after the group's `COMMIT` returned, and the event `seq` watch
//! is bumped after it too. Groups commit in queue order, so a write queued after
//! another is never durable before it.
//!
//! Should SQLite roll the whole transaction back under a closure (a full disk,
//! an I/O error: then it leaves the transaction itself), the closures that had
//! already run lose their work with it and are told so; those not yet run go
//! on in a fresh transaction.
//!
//! The in-memory store has one connection for both roles, so its reads come
//! through this queue too; a read ends the group before it (it must not see
//! writes not yet committed) and runs between transactions.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

use tokio::sync::{oneshot, watch};

use super::checkpoint::Checkpointer;
use super::db::{Conn, Db};
use super::error::StoreError;
use super::readers::ReadJob;
use super::recent::{self, Recent};
use super::{events, sql};

/// Writes committed together at most; bounds the latency a group adds.
pub(super) const MAX_GROUP: usize = 128;

/// How much the writer grouped: writes and the transactions they were committed in.
#[derive(Debug, Default)]
pub(super) struct Counters {
    writes: AtomicU64,
    commits: AtomicU64,
    /// Database sessions the writer had to open again (PostgreSQL).
    sessions: AtomicU64,
    /// WAL checkpoints the readers ran for the writer (SQLite in a file).
    pub(super) checkpoints: Arc<AtomicU64>,
    /// WAL checkpoints the writer ran itself: the WAL reached its bound.
    pub(super) caught_up: Arc<AtomicU64>,
}

/// A reading of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Writes answered (committed or not).
    pub writes: u64,
    /// Transactions committed.
    pub commits: u64,
    /// WAL checkpoints run off the writer's thread.
    pub checkpoints: u64,
    /// WAL checkpoints the writer ran (the WAL at its bound, under sustained writes).
    pub caught_up: u64,
}

impl Counters {
    pub(super) fn read(&self) -> WriteStats {
        WriteStats {
            writes: self.writes.load(Ordering::Relaxed),
            commits: self.commits.load(Ordering::Relaxed),
            checkpoints: self.checkpoints.load(Ordering::Relaxed),
            caught_up: self.caught_up.load(Ordering::Relaxed),
        }
    }

    pub(super) fn sessions(&self) -> u64 {
        self.sessions.load(Ordering::Relaxed)
    }
}

/// What the writer's queue carries.
pub(super) enum Message {
    Write(Box<dyn WriteJob>),
    /// Only for a store whose writer is also its reader (in memory).
    Read(ReadJob),
}

/// One caller's write, type-erased: run it inside the group's transaction, then
/// answer the caller once the group's fate is known.
pub(super) trait WriteJob: Send {
    /// Runs the closure (once); `true` if it succeeded and its work is kept.
    fn run(&mut self, tx: &Db<'_>) -> bool;
    /// Answers the caller: its value if the group committed, else an error.
    fn answer(self: Box<Self>, commit: Result<(), &StoreError>);
}

/// A write closure and the caller waiting for its result.
pub(super) struct Typed<T, F> {
    work: Option<F>,
    outcome: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Typed<T, F> {
    pub(super) fn new(work: F, reply: oneshot::Sender<Result<T, StoreError>>) -> Self {
        Self { work: Some(work), outcome: None, reply }
    }
}

impl<T, F> WriteJob for Typed<T, F>
where
    T: Send,
    F: FnOnce(&Db<'_>) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, tx: &Db<'_>) -> bool {
        let Some(work) = self.work.take() else { return false };
        let outcome = catch_unwind(AssertUnwindSafe(|| work(tx))).unwrap_or(Err(StoreError::Panicked));
        let kept = outcome.is_ok();
        self.outcome = Some(outcome);
        kept
    }

    fn answer(self: Box<Self>, commit: Result<(), &StoreError>) {
        let result = match (self.outcome, commit) {
            (Some(Ok(value)), Ok(())) => Ok(value),
            (Some(Err(own)), _) => Err(own),
            (Some(Ok(_)) | None, Err(error)) => Err(replicate(error)),
            (None, Ok(())) => Err(StoreError::Closed),
        };
        // A caller that stopped waiting (its future dropped) still had its write.
        let _ = self.reply.send(result);
    }
}

/// What the writer shares with the store's handles.
pub(super) struct Shared {
    pub(super) seq: Arc<watch::Sender<i64>>,
    pub(super) counters: Arc<Counters>,
    /// Set once the readers exist (a store in a file).
    pub(super) checkpointer: Option<Checkpointer>,
    /// Where each commit's events go for the followers, before they are woken.
    pub(super) recent: Arc<Recent>,
}

/// Drains the queue until every sender is gone, then closes the connection.
pub(super) fn run(mut conn: Conn, queue: mpsc::Receiver<Message>, shared: Shared) {
    while let Ok(first) = queue.recv() {
        let mut waiting = vec![first];
        while waiting.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(message) => waiting.push(message),
                Err(_) => break,
            }
        }
        let mut group = Vec::new();
        for message in waiting {
            match message {
                Message::Write(job) => group.push(job),
                Message::Read(read) => {
                    commit_group(&mut conn, std::mem::take(&mut group), &shared);
                    read(&conn.db());
                }
            }
        }
        commit_group(&mut conn, group, &shared);
    }
}

/// Commits `group` (in as many transactions as the engine's own rollbacks force).
fn commit_group(conn: &mut Conn, mut group: Vec<Box<dyn WriteJob>>, shared: &Shared) {
    shared.counters.writes.fetch_add(group.len() as u64, Ordering::Relaxed);
    if group.is_empty() {
        return;
    }
    match conn.revive() {
        Ok(true) => {
            shared.counters.sessions.fetch_add(1, Ordering::Relaxed);
        }
        Ok(false) => {}
        Err(error) => {
            group.into_iter().for_each(|job| job.answer(Err(&error)));
            return;
        }
    }
    while !group.is_empty() {
        group = one_transaction(conn, group, shared);
    }
}

/// Runs the jobs in one transaction, each in its own savepoint, and answers them.
/// Returns the jobs that never ran because the engine abandoned the transaction.
fn one_transaction(conn: &Conn, mut group: Vec<Box<dyn WriteJob>>, shared: &Shared) -> Vec<Box<dyn WriteJob>> {
    // What a transaction rolled back appended is forgotten here, at the next
    // one's start, whichever way it ended: only a commit takes it first.
    recent::forget_since(0);
    if let Err(error) = conn.begin() {
        conn.rollback();
        group.into_iter().for_each(|job| job.answer(Err(&error)));
        return Vec::new();
    }
    let alone = group.len() == 1;
    for index in 0..group.len() {
        if let Err(lost) = in_savepoint(conn, group[index].as_mut(), alone) {
            conn.rollback();
            let rest = group.split_off(index + 1);
            group.into_iter().for_each(|job| job.answer(Err(&lost)));
            return rest;
        }
    }
    // Read inside the transaction: the seq its events reached.
    let latest = events::latest_seq_on(&conn.db());
    // Only a group that appended events wakes the other instances: were every
    // commit to, a wake-up's empty outbox claim would wake them back, for ever.
    let appended = latest.as_ref().is_ok_and(|latest| *latest > *shared.seq.borrow());
    match conn.commit(appended) {
        Ok(()) => {
            shared.counters.commits.fetch_add(1, Ordering::Relaxed);
            shared.recent.committed(recent::take());
            // Followers first: a caller that reads the watch after its answer sees its seq.
            match latest {
                Ok(latest) => bump(&shared.seq, latest),
                // The next commit tells followers.
                Err(error) => tracing::warn!(%error, "cannot read the latest event seq after a commit"),
            }
            group.into_iter().for_each(|job| job.answer(Ok(())));
            if let Some(checkpointer) = &shared.checkpointer {
                checkpointer.after_commit(&conn.db());
            }
        }
        Err(error) => {
            conn.rollback();
            group.into_iter().for_each(|job| job.answer(Err(&error)));
        }
    }
    Vec::new()
}

/// Runs one job inside `SAVEPOINT job`, keeping or undoing its work. An error
/// means the transaction itself is gone (the engine rolled it back, or a savepoint
/// command failed): nothing of it can be committed. A job alone in its
/// transaction needs no savepoint: the transaction is its unit (the savepoint's
/// statements and its copy of every page touched are a tenth of the writer's time).
fn in_savepoint(conn: &Conn, job: &mut dyn WriteJob, alone: bool) -> Result<(), StoreError> {
    let db = conn.db();
    if alone {
        // Not kept: the caller rolls the transaction back; its events are never taken.
        let kept = job.run(&db);
        return match (kept, conn.in_transaction()) {
            (true, true) => Ok(()),
            (false, _) => Err(StoreError::Aborted("the write failed".into())),
            (true, false) => Err(abandoned()),
        };
    }
    db.execute(sql::SAVEPOINT_JOB, &[])?;
    let appended = recent::mark();
    let kept = job.run(&db);
    if !conn.in_transaction() {
        return Err(abandoned());
    }
    if !kept {
        db.execute(sql::ROLLBACK_TO_JOB, &[])?;
        recent::forget_since(appended);
    }
    db.execute(sql::RELEASE_JOB, &[])?;
    Ok(())
}

fn bump(seq: &watch::Sender<i64>, latest: i64) {
    seq.send_if_modified(|current| {
        let newer = latest > *current;
        if newer {
            *current = latest;
        }
        newer
    });
}

/// The error a caller gets when its work was lost with the rest of its group.
fn abandoned() -> StoreError {
    StoreError::Aborted("the database rolled the transaction back; this write was not committed".into())
}

/// A copy of `error` for each caller of a group (rusqlite errors are not `Clone`);
/// SQLite's own codes are kept, so a full disk still reads as one.
fn replicate(error: &StoreError) -> StoreError {
    match error {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(code, message)) => {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(*code, message.clone()))
        }
        StoreError::Postgres(shared) => StoreError::Postgres(std::sync::Arc::clone(shared)),
        StoreError::Aborted(why) => StoreError::Aborted(why.clone()),
        other => StoreError::Aborted(other.to_string()),
    }
}
