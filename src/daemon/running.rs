//! The started daemon: its tasks, and how they end — at the first fatal error
//! or at shutdown, with a grace period before the stragglers are aborted.

use super::DaemonError;
use crate::api::health::BotIdentity;
use crate::store::InstanceLock;
use crate::webex::token::TokenKeeper;
use std::path::PathBuf;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// A daemon that has bound its socket and validated its token.
pub struct Running {
    pub socket: PathBuf,
    pub bot: BotIdentity,
    /// The token every Webex client uses; replace it (checked) to rotate it live.
    pub token: TokenKeeper,
    pub(super) tasks: JoinSet<Result<(), DaemonError>>,
    pub(super) shutdown: CancellationToken,
    /// Released when the daemon is done with the store.
    pub(super) _lock: Option<InstanceLock>,
}

/// How long the tasks get to end on their own once shutdown began (a REST call
/// waiting out `Retry-After`, a long poll, a dial); then they are aborted, well
/// within systemd's `TimeoutStopSec`. Aborting loses nothing: an unacked frame
/// is redelivered by Mercury and the outbox is durable.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Where shutting down is.
#[derive(Clone, Copy)]
enum Stopping {
    No,
    Since(tokio::time::Instant),
    Aborted,
}

impl Running {
    /// Waits until shutdown or the first fatal error, then for every task:
    /// [`SHUTDOWN_GRACE`] at most before the rest are aborted.
    pub async fn wait(mut self) -> Result<(), DaemonError> {
        let mut outcome = Ok(());
        let mut stopping = Stopping::No;
        loop {
            let joined = tokio::select! {
                joined = self.tasks.join_next() => match joined {
                    Some(joined) => joined,
                    None => break,
                },
                () = self.shutdown.cancelled(), if matches!(stopping, Stopping::No) => {
                    stopping = Stopping::Since(tokio::time::Instant::now());
                    continue;
                }
                () = grace_over(stopping) => {
                    tracing::warn!(busy = self.tasks.len(), "still busy {SHUTDOWN_GRACE:?} after shutdown began: aborting");
                    self.tasks.abort_all();
                    stopping = Stopping::Aborted;
                    continue;
                }
            };
            if let Err(error) = task_result(joined) {
                tracing::error!(%error, "stopping");
                self.shutdown.cancel();
                outcome = outcome.and(Err(error));
            }
        }
        // The API task removes its socket when it ends, unless it was aborted.
        let _ = std::fs::remove_file(&self.socket);
        outcome
    }
}

async fn grace_over(stopping: Stopping) {
    match stopping {
        Stopping::Since(at) => tokio::time::sleep_until(at + SHUTDOWN_GRACE).await,
        Stopping::No | Stopping::Aborted => std::future::pending().await,
    }
}

/// A task aborted at shutdown ended as intended; one that panicked did not.
fn task_result(joined: Result<Result<(), DaemonError>, tokio::task::JoinError>) -> Result<(), DaemonError> {
    match joined {
        Ok(result) => result,
        Err(error) if error.is_cancelled() => Ok(()),
        Err(error) => Err(DaemonError::Fatal(format!("a daemon task panicked: {error}"))),
    }
}
