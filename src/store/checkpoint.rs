//! WAL checkpoints off the writer's commit path.
//!
//! Why: SQLite checkpoints on the connection whose commit takes the WAL past
//! 1,000 pages, inside that commit. On the writer thread that stalled every
//! caller queued behind it: a checkpoint copies the WAL into the database and
//! syncs both files, 10–80 ms on the bench machine, every ~100 ms while answers
//! came in (the answer latency's p99 was that wait). Here the writer only counts
//! the WAL's pages (SQLite's WAL hook, which also turns off the automatic
//! checkpoint) and, past the same threshold, hands one passive checkpoint to a
//! read connection. A passive checkpoint takes no lock a writer or a reader
//! needs: commits go on while it copies, and the next commit after a complete
//! one starts the WAL again from its beginning.

use std::cell::Cell;
use std::os::raw::c_int;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use rusqlite::hooks::Wal;
use rusqlite::Connection;

use super::db::{Conn, Db};
use super::error::StoreError;
use super::readers::ReadJob;
use super::sql;

/// SQLite's own threshold (`wal_autocheckpoint`'s default), kept.
pub(super) const CHECKPOINT_PAGES: c_int = 1000;

thread_local! {
    /// Pages in the WAL after the writer thread's last commit. The hook is a plain
    /// `fn`, so it cannot capture: each store's writer is a thread of its own.
    static WAL_PAGES: Cell<c_int> = const { Cell::new(0) };
}

/// On the writer's connection: replaces SQLite's automatic checkpoint (itself a
/// WAL hook) with a count of the WAL's pages, read by [`Checkpointer::after_commit`].
pub(super) fn count_wal_pages(conn: &Connection) {
    conn.wal_hook(Some(note_pages));
}

fn note_pages(_: &Wal, pages: c_int) -> rusqlite::Result<()> {
    WAL_PAGES.with(|count| count.set(pages));
    Ok(())
}

/// Hands checkpoints to the readers, one at a time.
pub(super) struct Checkpointer {
    readers: mpsc::Sender<ReadJob>,
    running: Arc<AtomicBool>,
    done: Arc<AtomicU64>,
    /// The WAL's pages when the last checkpoint was handed over: the next waits
    /// for as many new pages again, so that a WAL which cannot start again (a
    /// reader still on an old snapshot) is not checkpointed after every commit.
    handed_at: Cell<c_int>,
}

impl Checkpointer {
    /// For a store in a file (its writer counts WAL pages); none for PostgreSQL.
    pub(super) fn new(writer: &Conn, readers: &mpsc::Sender<ReadJob>, done: Arc<AtomicU64>) -> Option<Self> {
        match writer {
            Conn::Sqlite(_) => {
                let (readers, running) = (readers.clone(), Arc::new(AtomicBool::new(false)));
                Some(Self { readers, running, done, handed_at: Cell::new(0) })
            }
            Conn::Postgres { .. } => None,
        }
    }

    /// Called on the writer thread after each commit; never waits.
    pub(super) fn after_commit(&self) {
        let pages = WAL_PAGES.with(Cell::get);
        if pages < self.handed_at.get() {
            // The WAL started again from its beginning.
            self.handed_at.set(0);
        }
        if pages < self.handed_at.get() + CHECKPOINT_PAGES || self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        self.handed_at.set(pages);
        let (running, done) = (Arc::clone(&self.running), Arc::clone(&self.done));
        let job: ReadJob = Box::new(move |db: &Db<'_>| {
            match checkpoint(db) {
                Ok(()) => drop(done.fetch_add(1, Ordering::Relaxed)),
                // The next commit past the threshold tries again.
                Err(error) => tracing::warn!(%error, "a WAL checkpoint failed"),
            }
            running.store(false, Ordering::Release);
        });
        if self.readers.send(job).is_err() {
            // The readers are gone: the store is closing, and closing checkpoints.
            self.running.store(false, Ordering::Release);
        }
    }
}

/// One passive checkpoint: as much of the WAL as no reader still needs.
fn checkpoint(db: &Db<'_>) -> Result<(), StoreError> {
    let Db::Sqlite(conn) = db else { return Ok(()) };
    // One row: (busy, pages in the WAL, pages checkpointed); stepping it checkpoints.
    conn.query_row(sql::WAL_CHECKPOINT_PASSIVE, [], |row| row.get::<_, i64>(0))?;
    Ok(())
}
