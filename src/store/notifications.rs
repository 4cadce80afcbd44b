//! Idempotency keys of one-way notifications (`POST /v1/messages` with `key`).
//!
//! An engine whose request timed out cannot tell whether the message went out;
//! with a key it can simply ask again. A key is claimed before the Webex call
//! and marked sent after it, so a retry gets the first message's ids instead of
//! a second message; a call that failed releases its key. A claim left by a
//! daemon that died mid-call is taken over once it is older than the caller's
//! patience: Webex has no idempotency key of its own, so that one case is
//! at-least-once (the message may exist twice), never lost.

use super::db::{args, Row};
use super::error::StoreError;
use super::{sql, time, Store};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// What a claim on a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is this caller's: send, then [`Store::notification_sent`] or [`Store::release_notification`].
    Fresh,
    /// The same request was sent before: its message.
    Sent { message_id: String, space_id: String },
    /// The same request is being sent right now, by another call.
    InFlight,
    /// The key was used for a different request.
    Conflict,
}

impl Store {
    /// Claims `key` for a request whose fingerprint is `fingerprint`; a claim
    /// still `sending` after `stale_after` is taken over.
    pub async fn claim_notification(
        &self,
        key: &str,
        fingerprint: &str,
        stale_after: Duration,
    ) -> Result<Claim, StoreError> {
        let (key, fingerprint) = (key.to_owned(), fingerprint.to_owned());
        self.write(move |tx| {
            let now = time::now();
            let found = tx.query_opt(sql::SELECT_NOTIFICATION, args![key], row)?;
            let Some(found) = found else {
                tx.execute(sql::INSERT_NOTIFICATION, args![key, fingerprint, time::to_text(now)])?;
                return Ok(Claim::Fresh);
            };
            if found.fingerprint != fingerprint {
                return Ok(Claim::Conflict);
            }
            if let (Some(message_id), Some(space_id)) = (found.message_id, found.space_id) {
                return Ok(Claim::Sent { message_id, space_id });
            }
            let stale = chrono::Duration::from_std(stale_after).unwrap_or(chrono::Duration::MAX);
            if now - found.updated_at < stale {
                return Ok(Claim::InFlight);
            }
            tx.execute(sql::RECLAIM_NOTIFICATION, args![key, time::to_text(now)])?;
            Ok(Claim::Fresh)
        })
        .await
    }

    /// The message of a claimed key went out.
    pub async fn notification_sent(&self, key: &str, message_id: &str, space_id: &str) -> Result<(), StoreError> {
        let (key, message_id, space_id) = (key.to_owned(), message_id.to_owned(), space_id.to_owned());
        self.write(move |tx| {
            let now = time::to_text(time::now());
            tx.execute(sql::MARK_NOTIFICATION_SENT, args![key, message_id, space_id, now])?;
            Ok(())
        })
        .await
    }

    /// The call failed and sent nothing: the key may be used again.
    pub async fn release_notification(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.write(move |tx| tx.execute(sql::DELETE_NOTIFICATION, args![key]).map(drop)).await
    }

    /// Retention: forgets keys claimed strictly before `older_than`. Returns how many.
    pub async fn prune_notifications(&self, older_than: DateTime<Utc>) -> Result<usize, StoreError> {
        let cutoff = time::to_text(older_than);
        self.write(move |tx| tx.execute(sql::DELETE_NOTIFICATIONS_BEFORE, args![cutoff])).await
    }
}

struct Found {
    fingerprint: String,
    message_id: Option<String>,
    space_id: Option<String>,
    updated_at: DateTime<Utc>,
}

fn row(row: &Row<'_>) -> Result<Found, StoreError> {
    Ok(Found {
        fingerprint: row.get(0)?,
        message_id: row.get(2)?,
        space_id: row.get(3)?,
        updated_at: time::column(row, 4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::store_test;

    const LONG: Duration = Duration::from_secs(600);

    store_test! {
        #[tokio::test]
        async fn a_key_is_claimed_once_replayed_once_sent_and_conflicts_with_another_request(store) {
            assert_eq!(store.claim_notification("k", "f1", LONG).await.unwrap(), Claim::Fresh);
            assert_eq!(store.claim_notification("k", "f1", LONG).await.unwrap(), Claim::InFlight);
            assert_eq!(store.claim_notification("k", "f2", LONG).await.unwrap(), Claim::Conflict);
            store.notification_sent("k", "m1", "s1").await.unwrap();
            let sent = Claim::Sent { message_id: "m1".into(), space_id: "s1".into() };
            assert_eq!(store.claim_notification("k", "f1", LONG).await.unwrap(), sent);
            store.release_notification("k").await.unwrap();
            assert_eq!(store.claim_notification("k", "f1", LONG).await.unwrap(), sent, "a sent key is never released");
        }
    }

    store_test! {
        #[tokio::test]
        async fn a_failed_call_frees_its_key_and_a_dead_claim_is_taken_over(store) {
            assert_eq!(store.claim_notification("k", "f1", LONG).await.unwrap(), Claim::Fresh);
            store.release_notification("k").await.unwrap();
            assert_eq!(store.claim_notification("k", "f2", LONG).await.unwrap(), Claim::Fresh, "released: any request");
            assert_eq!(
                store.claim_notification("k", "f2", Duration::ZERO).await.unwrap(),
                Claim::Fresh,
                "stale: taken over"
            );
            assert_eq!(store.prune_notifications(Utc::now() + chrono::Duration::seconds(1)).await.unwrap(), 1);
        }
    }
}
