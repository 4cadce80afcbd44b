//! The daemon's periodic and reactive chores, each one loop that ends with the
//! shutdown token: keeping spaces in sync, recording connection changes in the
//! event log, and pruning what retention allows.

use crate::spaces::Spaces;
use crate::store::Store;
use crate::webex::mercury::backoff::Backoff;
use crate::webex::mercury::link::LinkState;
use rand::SeedableRng;
use serde_json::json;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

/// Resyncs spaces at start, after every reconnect (events during an outage are
/// lost), when an event could not be handled, and every `interval`.
pub async fn keep_spaces_in_sync(
    spaces: Spaces,
    interval: Duration,
    mut link: watch::Receiver<LinkState>,
    shutdown: CancellationToken,
) {
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let mut next = Instant::now();
    let mut was_connected = link.borrow().connected;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = sleep_until(next) => {
                next = match spaces.resync().await {
                    Ok(_) => {
                        backoff.reset();
                        Instant::now() + interval
                    }
                    Err(error) => {
                        let delay = backoff.next_delay(&mut rng);
                        tracing::warn!(%error, ?delay, "spaces resync failed; retrying");
                        Instant::now() + delay
                    }
                };
            }
            _ = spaces.resync_requested() => next = Instant::now(),
            changed = link.changed() => {
                if changed.is_err() {
                    return;
                }
                let connected = link.borrow_and_update().connected;
                if connected && !was_connected {
                    next = Instant::now();
                }
                was_connected = connected;
            }
        }
    }
}

/// Appends `connection.up` / `connection.down` to the event log on every change.
pub async fn record_link_changes(store: Store, mut link: watch::Receiver<LinkState>, shutdown: CancellationToken) {
    let mut was_connected = false;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            changed = link.changed() => if changed.is_err() { return },
        }
        let state = link.borrow_and_update().clone();
        if state.connected == was_connected {
            continue;
        }
        was_connected = state.connected;
        let (kind, payload) = if state.connected {
            (
                "connection.up",
                json!({"connected": true, "since": state.since, "device_url": state.device_url, "reconnects": state.reconnects}),
            )
        } else {
            ("connection.down", json!({"connected": false, "reason": state.last_error}))
        };
        if let Err(error) = store.append_event(kind, &payload).await {
            tracing::error!(%error, kind, "cannot record a connection change");
        }
    }
}

/// Prunes, once an hour: events past their retention, processed-activity ids
/// past the window in which Mercury could still redeliver them, and audit
/// records past 90 days (kept longer: they answer "who did what" later).
pub async fn prune(store: Store, event_retention: Duration, shutdown: CancellationToken) {
    const ACTIVITY_RETENTION: Duration = Duration::from_secs(14 * 24 * 3600);
    const AUDIT_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);
    let before =
        |age: Duration| chrono::Utc::now() - chrono::Duration::from_std(age).unwrap_or(chrono::Duration::days(7));
    loop {
        let pruned = [
            ("events", store.prune_events(before(event_retention)).await),
            ("activities", store.prune_activities(before(ACTIVITY_RETENTION)).await),
            ("audit", store.prune_audit(before(AUDIT_RETENTION)).await),
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
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}
