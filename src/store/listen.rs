//! How a PostgreSQL store hears of the other instances' commits (those that
//! appended events): a thread of its own that `LISTEN`s on one connection, and
//! reads the latest event seq when woken, or every [`POLL`] at the latest.
//!
//! Why both: `NOTIFY` (sent by every write group's transaction, delivered at
//! its commit) makes a follower on this instance see an event appended by
//! another at once; but a notification sent while this connection was down is
//! lost for good, so the short poll is the backstop. After a reconnect the
//! outbox is woken once, for the jobs queued meanwhile.

use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use super::db::{Db, PgConn, PgTarget};
use super::error::StoreError;
use super::{events, sql};

/// The longest a commit of another instance goes unseen.
pub(super) const POLL: Duration = Duration::from_millis(250);

/// Waited between attempts while the server cannot be reached.
const RECONNECT: Duration = Duration::from_secs(1);

/// What the listener wakes, and how it is told to stop (the sender dropped).
pub(super) struct Wake {
    pub seq: Arc<watch::Sender<i64>>,
    pub jobs: Arc<Notify>,
    pub stop: mpsc::Receiver<()>,
}

impl Wake {
    fn stopped(&self) -> bool {
        matches!(self.stop.try_recv(), Err(mpsc::TryRecvError::Disconnected))
    }

    /// Sleeps `pause`, or less if the store closes meanwhile.
    fn rest(&self, pause: Duration) -> bool {
        matches!(self.stop.recv_timeout(pause), Err(mpsc::RecvTimeoutError::Disconnected))
    }
}

pub(super) fn start(target: PgTarget, wake: Wake) -> Result<JoinHandle<()>, StoreError> {
    std::thread::Builder::new()
        .name("store-listen".into())
        .spawn(move || run(&target, &wake))
        .map_err(|e| StoreError::Thread(e.to_string()))
}

fn run(target: &PgTarget, wake: &Wake) {
    while !wake.stopped() {
        match PgConn::connect(target, "webex-hitl listener") {
            Ok(conn) => {
                if let Err(error) = listen(&conn, wake) {
                    tracing::warn!(%error, "the store's PostgreSQL listener lost its connection; connecting again");
                }
            }
            Err(error) => {
                tracing::warn!(%error, "the store's PostgreSQL listener cannot connect");
                if wake.rest(RECONNECT) {
                    return;
                }
            }
        }
    }
}

/// Serves one connection until it fails or the store closes.
fn listen(conn: &PgConn, wake: &Wake) -> Result<(), StoreError> {
    Db::Postgres(conn).batch(sql::PG_LISTEN)?;
    // Whatever was queued while we were not listening.
    wake.jobs.notify_one();
    while !wake.stopped() {
        let notified = conn.wait_notification(POLL)?;
        let latest = events::latest_seq_on(&Db::Postgres(conn))?;
        wake.seq.send_if_modified(|current| {
            let newer = latest > *current;
            if newer {
                *current = latest;
            }
            newer
        });
        if notified {
            wake.jobs.notify_one();
        }
    }
    Ok(())
}
