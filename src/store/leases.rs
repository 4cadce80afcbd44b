//! Leases of singleton chores (the spaces resync, retention): among the
//! instances sharing a store, one holds a named lease at a time, renews it
//! every heartbeat, and loses it when it stops renewing. Each change of holder
//! bumps the lease's fencing token, so a deposed holder's late work can be told
//! from the current one's.

use std::time::Duration;

use tokio::sync::watch;

use super::db::args;
use super::error::StoreError;
use super::{sql, time, Store};

impl Store {
    /// Takes the lease `name` for `ttl`, or renews it if this instance holds
    /// it: its fencing token, or `None` while another instance holds it.
    pub async fn take_lease(&self, name: &str, ttl: Duration) -> Result<Option<i64>, StoreError> {
        let (name, holder) = (name.to_owned(), self.instance().to_owned());
        let now = time::now();
        let until = time::to_text(now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX));
        let now = time::to_text(now);
        self.write(move |tx| tx.query_opt(sql::TAKE_LEASE, args![name, holder, until, now], |r| r.get(0))).await
    }

    /// Whether this instance still holds `name` with `fence`.
    pub async fn holds_lease(&self, name: &str, fence: i64) -> Result<bool, StoreError> {
        let (name, holder) = (name.to_owned(), self.instance().to_owned());
        self.read(move |conn| {
            let now = time::to_text(time::now());
            Ok(conn.query_opt(sql::HOLDS_LEASE, args![name, holder, fence, now], |_| Ok(()))?.is_some())
        })
        .await
    }

    /// Gives `name` up if this instance holds it (a clean stop).
    pub async fn drop_lease(&self, name: &str) -> Result<(), StoreError> {
        let (name, holder) = (name.to_owned(), self.instance().to_owned());
        let now = time::to_text(time::now());
        self.write(move |tx| tx.execute(sql::DROP_LEASE, args![name, holder, now]).map(drop)).await
    }
}

/// How often a leader renews its lease, and a follower looks again.
pub const LEADER_HEARTBEAT: Duration = Duration::from_secs(1);

/// Whether this instance leads, as the chores see it (the election itself is
/// the daemon's `leader` module): the fencing token while it leads.
#[derive(Clone, Debug)]
pub struct Leadership {
    fence: watch::Receiver<Option<i64>>,
}

impl Leadership {
    pub fn is_leader(&self) -> bool {
        self.fence.borrow().is_some()
    }

    /// Always the leader: for a store no other instance shares, and for tests.
    pub fn alone() -> Leadership {
        Leadership { fence: watch::channel(Some(0)).1 }
    }

    /// Follows what an election says.
    pub fn following(fence: watch::Receiver<Option<i64>>) -> Leadership {
        Leadership { fence }
    }

    /// Resolves once this instance leads (at once if it does).
    pub async fn elected(&mut self) {
        let _ = self.fence.wait_for(Option::is_some).await;
    }
}
