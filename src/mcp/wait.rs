//! Waiting for an answer inside one tool call: long polls of the daemon
//! (`GET /v1/escalations/{id}?wait=`), each at most `every` long, with a
//! `notifications/progress` between them when the client gave a progress
//! token (clients that reset their timer on progress then wait longer).
//!
//! The wait holds nothing but the escalation's id: the escalation and its
//! answer are in the daemon's store, so a call that ends early (the client
//! cancels, the process dies) loses nothing, and `get_answer` picks it up.

use super::daemon::Daemon;
use super::error::ToolError;
use crate::model::EscalationView;
use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::{Peer, RoleServer};
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Where progress goes: the client's peer and the token it gave with the call.
pub struct Progress {
    pub peer: Peer<RoleServer>,
    pub token: ProgressToken,
}

pub struct Wait<'a> {
    pub daemon: &'a Daemon,
    /// The longest stretch between two progress notifications.
    pub every: Duration,
    pub progress: Option<Progress>,
    /// Cancelled when the client cancels the call.
    pub cancelled: CancellationToken,
}

impl Wait<'_> {
    /// `view` once it left `pending`, or as it is when `wait` has passed.
    pub async fn until_closed(&self, view: EscalationView, wait: Duration) -> Result<EscalationView, ToolError> {
        if view.status.is_final() || wait.is_zero() {
            return Ok(view);
        }
        tokio::select! {
            () = self.cancelled.cancelled() => Err(ToolError::Cancelled),
            result = self.poll_until(&view.id, wait) => result,
        }
    }

    async fn poll_until(&self, id: &str, wait: Duration) -> Result<EscalationView, ToolError> {
        let start = Instant::now();
        let deadline = start + wait;
        self.report(start, wait, id).await;
        loop {
            let chunk = deadline.saturating_duration_since(Instant::now()).min(self.every);
            let view = self.poll(id, chunk).await?;
            if view.status.is_final() || Instant::now() >= deadline {
                return Ok(view);
            }
            self.report(start, wait, id).await;
        }
    }

    /// One long poll of at most `chunk`. The daemon waits whole seconds; a
    /// fractional chunk is cut short here, then the state read once more.
    async fn poll(&self, id: &str, chunk: Duration) -> Result<EscalationView, ToolError> {
        let seconds = chunk.as_secs_f64().ceil() as u64;
        if chunk == Duration::from_secs(seconds) {
            return self.daemon.escalation(id, seconds).await;
        }
        match tokio::time::timeout(chunk, self.daemon.escalation(id, seconds)).await {
            Ok(result) => result,
            Err(_) => self.daemon.escalation(id, 0).await,
        }
    }

    /// A progress notification, if the client asked for them; a client that
    /// is gone is not an error here (the call's own answer will fail too).
    async fn report(&self, start: Instant, wait: Duration, id: &str) {
        let Some(progress) = &self.progress else { return };
        // Milliseconds are enough, and read better than 1.2e-6 at the start.
        let elapsed = (start.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        let message = format!(
            "Waiting for a specialist to answer escalation {id} ({elapsed:.0} s of {:.0} s).",
            wait.as_secs_f64()
        );
        let param = ProgressNotificationParam::new(progress.token.clone(), elapsed)
            .with_total(wait.as_secs_f64())
            .with_message(message);
        if let Err(error) = progress.peer.notify_progress(param).await {
            tracing::debug!(%error, "progress notification not sent");
        }
    }
}
