//! A small pool of read connections, each on a thread of its own, sharing one
//! queue of reads.
//!
//! Why: in WAL mode readers do not block the writer nor each other, so lookups
//! on the hot paths (an escalation by key, a card, an activity id) need not wait
//! behind a commit. A fixed number of threads, whatever the load: a burst of
//! requests queues reads, it does not start threads (the blocking pool it
//! replaced grew to 124 threads under load). A read sees every write whose
//! caller was answered before the read was queued (answers follow the commit).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use super::db::{Conn, Db};
use super::error::StoreError;

/// A read, type-erased: runs the closure on a connection and answers its caller.
pub(super) type ReadJob = Box<dyn FnOnce(&Db<'_>) + Send>;

/// Wraps `f` so that it answers on `reply`, a panic included.
pub(super) fn job<T, F>(f: F, reply: oneshot::Sender<Result<T, StoreError>>) -> ReadJob
where
    T: Send + 'static,
    F: FnOnce(&Db<'_>) -> Result<T, StoreError> + Send + 'static,
{
    Box::new(move |conn: &Db<'_>| {
        let result = catch_unwind(AssertUnwindSafe(|| f(conn))).unwrap_or(Err(StoreError::Panicked));
        // A caller that stopped waiting needs no answer.
        let _ = reply.send(result);
    })
}

/// The reader threads; dropping the pool's sender ends them.
pub(super) struct Readers {
    pub(super) queue: mpsc::Sender<ReadJob>,
    pub(super) threads: Vec<JoinHandle<()>>,
}

impl Readers {
    /// One thread per connection, named for `ps -L` and `/proc/PID/task`.
    pub(super) fn start(connections: Vec<Conn>) -> Result<Readers, StoreError> {
        let (queue, receiver) = mpsc::channel::<ReadJob>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut threads = Vec::with_capacity(connections.len());
        for (index, conn) in connections.into_iter().enumerate() {
            let receiver = Arc::clone(&receiver);
            let thread = std::thread::Builder::new()
                .name(format!("store-read-{index}"))
                .spawn(move || serve(conn, &receiver))
                .map_err(|e| StoreError::Thread(e.to_string()))?;
            threads.push(thread);
        }
        Ok(Readers { queue, threads })
    }
}

/// Takes reads off the shared queue until it closes.
fn serve(mut conn: Conn, receiver: &Mutex<mpsc::Receiver<ReadJob>>) {
    loop {
        // The lock is held only while waiting for the next read, not while it runs.
        let next = receiver.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(read) = next else { return };
        // A dropped PostgreSQL connection is opened again; if that fails, the
        // read fails on the closed one and says why.
        if let Err(error) = conn.revive() {
            tracing::warn!(%error, "a store reader cannot reconnect");
        }
        read(&conn.db());
    }
}
