//! Expires pending escalations at their `expires_at`, including those whose
//! time ran out while the daemon was down (the first pass runs at start).

use crate::store::Store;
use chrono::Utc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Re-checks at least this often, so a newly created escalation with a short
/// timeout is never late by more than this.
const MAX_SLEEP: Duration = Duration::from_secs(1);

pub async fn run(store: Store, shutdown: CancellationToken) {
    loop {
        let next = match store.next_expiry().await {
            Ok(next) => next,
            Err(error) => {
                tracing::error!(%error, "cannot read escalation expiries");
                None
            }
        };
        if next.is_some_and(|at| at <= Utc::now()) {
            match store.expire_due(Utc::now()).await {
                Ok(expired) => expired.iter().for_each(|r| tracing::info!(escalation = %r.id, "expired")),
                Err(error) => tracing::error!(%error, "cannot expire escalations"),
            }
            continue;
        }
        let wait = next.map_or(MAX_SLEEP, |at| (at - Utc::now()).to_std().unwrap_or_default()).min(MAX_SLEEP);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
