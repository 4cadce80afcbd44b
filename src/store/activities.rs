//! Durable de-duplication of Mercury activities: Mercury may redeliver an activity after
//! a reconnect or restart, and each must be handled once. The space_* methods record
//! their activity id in the same transaction as their effect.

use super::db::{args, Db};
use chrono::{DateTime, Utc};

use super::error::StoreError;
use super::{sql, time, Store};

impl Store {
    /// Records `activity_id` as processed. `true` the first time, `false` afterwards.
    pub async fn mark_processed(&self, activity_id: &str) -> Result<bool, StoreError> {
        let id = activity_id.to_owned();
        self.write(move |tx| mark(tx, &id)).await
    }

    /// Whether `activity_id` was recorded (and not yet pruned).
    pub async fn is_processed(&self, activity_id: &str) -> Result<bool, StoreError> {
        let id = activity_id.to_owned();
        self.read(move |conn| recorded(conn, &id)).await
    }

    /// Forgets activities recorded strictly before `older_than` (Mercury does not
    /// redeliver old ones). Returns how many were removed.
    pub async fn prune_activities(&self, older_than: DateTime<Utc>) -> Result<usize, StoreError> {
        let cutoff = time::to_text(older_than);
        self.write(move |tx| tx.execute(sql::DELETE_ACTIVITIES_BEFORE, args![cutoff])).await
    }
}

/// Whether `activity_id` was recorded, read on the caller's connection.
pub(super) fn recorded(conn: &Db<'_>, activity_id: &str) -> Result<bool, StoreError> {
    let found: Option<i64> = conn.query_opt(sql::SELECT_ACTIVITY, args![activity_id], |r| r.get(0))?;
    Ok(found.is_some())
}

/// Records `activity_id` inside the caller's transaction; `true` if it was new.
pub(crate) fn mark(conn: &Db<'_>, activity_id: &str) -> Result<bool, StoreError> {
    let inserted = conn.execute(sql::INSERT_ACTIVITY, args![activity_id, time::to_text(time::now())])?;
    Ok(inserted == 1)
}

/// What [`Store::card_pressed`] found.
#[derive(Debug)]
pub enum Pressed {
    /// The activity was processed before: nothing more to look at.
    Processed,
    /// A card of ours, and its escalation.
    Card(Box<(crate::model::Escalation, super::Card)>),
    /// No card of ours has that message id (yet: see the answer handler).
    UnknownCard,
}

/// What handling one Mercury activity did, so that whoever dispatched it knows
/// whether the activity still has to be recorded as processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Handled {
    /// Nothing was stored (not ours, our own click, an unknown card): the
    /// dispatcher records the activity as processed.
    NoEffect,
    /// A change was committed, and the activity recorded with it in the same transaction.
    Committed,
    /// The activity had been processed before (a redelivered copy, or another
    /// instance was first): nothing was done.
    Duplicate,
}
