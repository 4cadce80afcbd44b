//! One leader among the daemons sharing a store, for the chores that must run
//! once, not once per instance: the periodic spaces resync and retention.
//!
//! Why a lease and not a lock: a lease lives in the store, so it works the same
//! on SQLite (one instance, which always leads) and on PostgreSQL through any
//! connection. The leader renews it every [`HEARTBEAT`]; a renewal that fails
//! (its database session killed, the server gone) or finds a peer holding it
//! makes it a follower at once, so a deposed leader stops its chores within
//! one heartbeat. After a failed renewal it waits out twice the lease before
//! trying again, so that a peer, not the instance that just failed, takes over. Each
//! change of holder bumps the fencing token ([`Store::take_lease`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::store::{Leadership, Store};

/// The lease's name in the store.
pub const LEASE: &str = "leader";
pub use crate::store::LEADER_HEARTBEAT as HEARTBEAT;
/// How long a lease outlives its last renewal.
pub const TTL: Duration = Duration::from_secs(5);

/// Runs the election until shutdown, then gives the lease up.
pub struct Election {
    store: Store,
    fence: watch::Sender<Option<i64>>,
    metrics: Arc<Metrics>,
    /// The writer's session count when this instance was elected.
    session: AtomicU64,
}

impl Election {
    pub fn new(store: Store, metrics: Arc<Metrics>) -> (Election, Leadership) {
        let (fence, seen) = watch::channel(None);
        metrics.set_leader(false);
        let session = AtomicU64::new(store.writer_sessions());
        (Election { store, fence, metrics, session }, Leadership::following(seen))
    }

    fn set(&self, fence: Option<i64>) {
        self.metrics.set_leader(fence.is_some());
        self.fence.send_replace(fence);
    }

    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let pause = self.beat().await;
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(pause) => {}
            }
        }
        if self.fence.borrow().is_some() {
            self.set(None);
            let released = tokio::time::timeout(HEARTBEAT, self.store.drop_lease(LEASE)).await;
            if !matches!(released, Ok(Ok(()))) {
                tracing::warn!("could not give the leader lease up; a peer takes over when it expires");
            }
        }
    }

    /// One renewal or attempt; how long to wait before the next.
    async fn beat(&self) -> Duration {
        let taken = tokio::time::timeout(HEARTBEAT, self.store.take_lease(LEASE, TTL)).await;
        let was = *self.fence.borrow();
        // The session it was elected in was killed or lost since: whatever
        // happened meanwhile, a leader that lost its session steps down.
        let session = self.store.writer_sessions();
        if was.is_some() && self.session.swap(session, Ordering::Relaxed) != session {
            return self.deposed(was, "its database session was lost");
        }
        match taken {
            Ok(Ok(fence)) => {
                if was.is_none() {
                    self.session.store(session, Ordering::Relaxed);
                }
                if fence != was {
                    match fence {
                        Some(fence) => tracing::info!(fence, instance = self.store.instance(), "leading the chores"),
                        None if was.is_some() => tracing::warn!("another instance leads now; chores stopped here"),
                        None => {}
                    }
                    self.set(fence);
                }
                HEARTBEAT
            }
            Ok(Err(error)) => self.deposed(was, &error.to_string()),
            Err(_) => self.deposed(was, "the store did not answer within a heartbeat"),
        }
    }

    fn deposed(&self, was: Option<i64>, why: &str) -> Duration {
        if was.is_some() {
            tracing::warn!(why, "cannot renew the leader lease: chores stopped here until it is taken again");
        }
        self.set(None);
        // Twice the lease: its own lease runs out first, and a live peer, which
        // tries every heartbeat, takes it before this instance competes again.
        2 * TTL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_only_instance_leads_and_gives_the_lease_up_at_shutdown() {
        let store = Store::open_in_memory().await.expect("store");
        let metrics = Arc::new(Metrics::new());
        let (election, mut leadership) = Election::new(store.clone(), metrics.clone());
        let shutdown = CancellationToken::new();
        let running = tokio::spawn(election.run(shutdown.clone()));
        leadership.elected().await;
        assert!(leadership.is_leader());
        let mut scrape = crate::metrics::Exposition::default();
        metrics.write_counters(&mut scrape);
        assert!(scrape.finish().contains("webex_hitl_leader 1"), "the gauge says so");
        shutdown.cancel();
        running.await.expect("ran");
        assert!(!leadership.is_leader());
        assert!(!store.holds_lease(LEASE, 1).await.expect("holds"), "given up: a peer may take it at once");
    }
}
