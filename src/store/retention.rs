//! What the store keeps, and for how long: the one loop that prunes it.
//!
//! Events are kept for the configured retention (engines replay from them),
//! processed-activity ids past the window in which Mercury could still
//! redeliver them, audit records for 90 days (they answer "who did what"
//! long after the fact), and notification keys for 7 days (an engine retries
//! within minutes; a key reused after that is a new message).

use super::Store;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const ACTIVITY_RETENTION: Duration = Duration::from_secs(14 * 24 * 3600);
const AUDIT_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);
const NOTIFICATION_KEY_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
const EVERY: Duration = Duration::from_secs(3600);

/// Prunes at start and then once an hour, until shutdown.
/// Only the leader prunes, when several instances share the store.
pub async fn prune_periodically(
    store: Store,
    event_retention: Duration,
    leader: super::Leadership,
    shutdown: CancellationToken,
) {
    let before =
        |age: Duration| chrono::Utc::now() - chrono::Duration::from_std(age).unwrap_or(chrono::Duration::days(7));
    loop {
        if !leader.is_leader() {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(super::LEADER_HEARTBEAT) => continue,
            }
        }
        let pruned = [
            ("events", store.prune_events(before(event_retention)).await),
            ("activities", store.prune_activities(before(ACTIVITY_RETENTION)).await),
            ("audit", store.prune_audit(before(AUDIT_RETENTION)).await),
            ("notification keys", store.prune_notifications(before(NOTIFICATION_KEY_RETENTION)).await),
        ];
        for (what, result) in pruned {
            match result {
                Ok(0) => {}
                Ok(count) => tracing::info!(what, count, "pruned"),
                Err(error) => tracing::warn!(what, %error, "pruning failed"),
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}
