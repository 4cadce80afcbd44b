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
//!
//! A passive checkpoint cannot start the WAL again while commits go on during
//! it: the next commit finds frames it did not copy and appends after them.
//! Under sustained load (the bench's accepts, a flood) the WAL then grew
//! without end, past 1 GB. So once the WAL holds [`RESTART_PAGES`], the writer
//! finishes the job itself, between two commits: after the readers' checkpoints
//! only the frames committed since remain to copy, and the next commit starts
//! the WAL again. `journal_size_limit` (set in `open`) then gives the file's
//! space back.

use std::cell::Cell;
use std::os::raw::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
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

/// The WAL's bound (32 MiB of 4 KiB pages): past it the writer checkpoints.
pub(super) const RESTART_PAGES: c_int = 8 * CHECKPOINT_PAGES;

/// The same bound in bytes, SQLite's `journal_size_limit`: the WAL file is cut
/// back to it when it starts again, so a WAL grown past it (while a snapshot
/// was held) gives the disk space back.
pub(super) const WAL_LIMIT_BYTES: i64 = RESTART_PAGES as i64 * 4096;

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
    /// Checkpoints the writer ran itself.
    caught_up: Arc<AtomicU64>,
    marks: Cell<Marks>,
}

/// The WAL's pages when a checkpoint was last started: the next of its kind
/// waits for as many new pages again, so that a WAL which cannot start again
/// (a reader still on an old snapshot) is not checkpointed after every commit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Marks {
    handed_at: c_int,
    caught_up_at: c_int,
}

/// What the writer does after a commit that left `pages` in the WAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Nothing,
    /// A passive checkpoint on a reader, while commits go on.
    HandOver,
    /// A passive checkpoint on the writer: the WAL reached its bound.
    CatchUp,
}

/// The rule, without SQLite. `running`: a reader's checkpoint is handed over
/// and not finished. A catch-up does not wait for it: were it stuck behind long
/// reads, the WAL would grow meanwhile; and while one runs, the writer's finds
/// SQLite's checkpoint lock taken and returns at once.
fn next_step(marks: Marks, pages: c_int, running: bool) -> (Step, Marks) {
    // Fewer pages than at a mark: the WAL started again from its beginning.
    let marks = if pages < marks.handed_at.max(marks.caught_up_at) { Marks::default() } else { marks };
    if pages >= RESTART_PAGES && pages >= marks.caught_up_at + CHECKPOINT_PAGES {
        (Step::CatchUp, Marks { caught_up_at: pages, ..marks })
    } else if !running && pages >= marks.handed_at + CHECKPOINT_PAGES {
        (Step::HandOver, Marks { handed_at: pages, ..marks })
    } else {
        (Step::Nothing, marks)
    }
}

impl Checkpointer {
    /// For a store in a file (its writer counts WAL pages); none for PostgreSQL.
    pub(super) fn new(
        writer: &Conn,
        readers: &mpsc::Sender<ReadJob>,
        done: Arc<AtomicU64>,
        caught_up: Arc<AtomicU64>,
    ) -> Option<Self> {
        match writer {
            Conn::Sqlite(_) => {
                let (readers, running) = (readers.clone(), Arc::new(AtomicBool::new(false)));
                Some(Self { readers, running, done, caught_up, marks: Cell::default() })
            }
            Conn::Postgres { .. } => None,
        }
    }

    /// Called on the writer thread after each commit, outside any transaction,
    /// with the writer's connection. Waits only for a catch-up, the rare
    /// checkpoint of the frames committed while the readers' ran.
    pub(super) fn after_commit(&self, writer: &Db<'_>) {
        let pages = WAL_PAGES.with(Cell::get);
        let (step, marks) = next_step(self.marks.get(), pages, self.running.load(Ordering::Acquire));
        self.marks.set(marks);
        match step {
            Step::Nothing => {}
            Step::HandOver => self.hand_over(),
            Step::CatchUp => match checkpoint(writer) {
                Ok(()) => drop(self.caught_up.fetch_add(1, Ordering::Relaxed)),
                Err(error) => tracing::warn!(%error, "a WAL checkpoint failed"),
            },
        }
    }

    fn hand_over(&self) {
        if self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let (running, done) = (Arc::clone(&self.running), Arc::clone(&self.done));
        let job: ReadJob = Box::new(move |db: &Db<'_>| {
            // Caught like any read job's panic (`readers::job`), so that the
            // reader thread lives on and `running` is cleared whatever happens.
            match catch_unwind(AssertUnwindSafe(|| checkpoint(db))).unwrap_or(Err(StoreError::Panicked)) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn step(marks: Marks, pages: c_int, running: bool) -> Step {
        next_step(marks, pages, running).0
    }

    #[test]
    fn a_reader_checkpoints_every_thousand_pages_one_at_a_time() {
        let quiet = Marks::default();
        assert_eq!(step(quiet, 999, false), Step::Nothing);
        let (first, marks) = next_step(quiet, 1000, false);
        assert_eq!((first, marks.handed_at), (Step::HandOver, 1000));
        assert_eq!(step(marks, 1999, false), Step::Nothing);
        assert_eq!(step(marks, 2000, false), Step::HandOver);
        assert_eq!(step(marks, 2000, true), Step::Nothing, "one checkpoint at a time");
        // The WAL started again: counted from its beginning.
        assert_eq!(next_step(marks, 12, false), (Step::Nothing, Marks::default()));
    }

    #[test]
    fn a_wal_that_cannot_start_again_is_caught_up_by_the_writer_at_its_bound() {
        // Readers' checkpoints went on while commits did; the WAL never started again.
        let marks = Marks { handed_at: RESTART_PAGES - 1, caught_up_at: 0 };
        let (caught, marks) = next_step(marks, RESTART_PAGES, false);
        assert_eq!((caught, marks.caught_up_at), (Step::CatchUp, RESTART_PAGES));
        // A catch-up a snapshot kept from completing is not tried after every commit.
        assert_eq!(step(marks, RESTART_PAGES + 10, false), Step::Nothing);
        assert_eq!(step(marks, RESTART_PAGES + CHECKPOINT_PAGES, false), Step::CatchUp);
        assert_eq!(step(marks, RESTART_PAGES + CHECKPOINT_PAGES, true), Step::CatchUp, "a reader's may be stuck");
    }
}
