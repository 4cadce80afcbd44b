//! The delivery worker: performs the outbox's jobs — post a card, update a card
//! in place, post a threaded reply — with retries and backoff, recording each
//! result in the same transaction that removes the job. A policy's fallback
//! cards are posted by `fallback`.

mod fallback;

use super::card::{self, CardState, CardView, RenderedCard};
use super::{policy, Context};
use crate::backoff::Backoff;
use crate::model::{Destination, Escalation, Status};
use crate::store::{Card, Delivered, Job, Reply, StoreError, Task};
use crate::webex::ids;
use crate::webex::rest::{MessageEdit, NewMessage, RestError, RetryKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const BATCH: usize = 32;
const MAX_JOB_DELAY: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct Deliverer {
    ctx: Context,
    /// Set while the store refuses writes, for `/v1/health`.
    stalled: watch::Sender<Option<Stalled>>,
}

/// The outbox is stopped: the store does not take writes (a full disk, a
/// read-only file system). Posting on would post again and again what cannot
/// be recorded, so nothing is posted until a write works again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stalled {
    pub since: DateTime<Utc>,
    pub error: String,
}

/// What became of one attempt at a job.
enum Outcome {
    Done,
    Retry { error: String, after: Option<Duration> },
}

/// What one pass over the due jobs found.
enum Pass {
    Worked,
    Idle,
    StoreFailing(StoreError),
    Stopped,
}

/// From 1 s doubling to a minute between checks that the store takes writes again.
const STORE_PROBE: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));

impl Deliverer {
    pub fn new(ctx: Context, stalled: watch::Sender<Option<Stalled>>) -> Self {
        Self { ctx, stalled }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let go_on = match self.pass(&shutdown).await {
                Pass::Worked => true,
                Pass::Idle => self.idle(&shutdown).await,
                Pass::StoreFailing(error) => self.wait_for_store(error, &shutdown).await,
                Pass::Stopped => false,
            };
            if !go_on {
                return;
            }
        }
    }

    async fn pass(&self, shutdown: &CancellationToken) -> Pass {
        let jobs = match self.ctx.store.due_jobs(Utc::now(), BATCH).await {
            Ok(jobs) => jobs,
            Err(error) => return Pass::StoreFailing(error),
        };
        if jobs.is_empty() {
            return Pass::Idle;
        }
        for job in jobs {
            if shutdown.is_cancelled() {
                return Pass::Stopped;
            }
            if let Err(error) = self.attempt(job).await {
                return Pass::StoreFailing(error);
            }
        }
        Pass::Worked
    }

    /// Waits for a new job or the next retry; false on shutdown.
    async fn idle(&self, shutdown: &CancellationToken) -> bool {
        let next = self.ctx.store.next_job_at().await.ok().flatten();
        let wait = next.map_or(Duration::from_secs(60), |at| (at - Utc::now()).to_std().unwrap_or_default());
        tokio::select! {
            _ = shutdown.cancelled() => false,
            _ = self.ctx.store.jobs_changed() => true,
            _ = tokio::time::sleep(wait.min(Duration::from_secs(60))) => true,
        }
    }

    /// One error line and a degraded health for the whole episode; a write is
    /// tried with backoff until one works. False on shutdown.
    async fn wait_for_store(&self, error: StoreError, shutdown: &CancellationToken) -> bool {
        tracing::error!(%error, "outbox stopped: the store does not take writes; nothing is posted until it does");
        let since = Utc::now();
        self.stalled.send_replace(Some(Stalled { since, error: error.to_string() }));
        let mut backoff = STORE_PROBE;
        loop {
            let delay = backoff.next_delay(&mut rand::rng());
            tokio::select! {
                _ = shutdown.cancelled() => return false,
                _ = tokio::time::sleep(delay) => {}
            }
            match self.ctx.store.probe_write().await {
                Ok(()) => break,
                Err(error) => tracing::debug!(%error, "the store still does not take writes"),
            }
        }
        // The jobs leased before the store failed (the one whose outcome could
        // not be recorded, the rest of its batch) are due again now, not when
        // their leases end.
        if let Err(error) = self.ctx.store.release_own_leases().await {
            tracing::warn!(%error, "cannot release the outbox's leases; its jobs come back when they end");
        }
        let stalled_for = (Utc::now() - since).to_std().unwrap_or_default();
        tracing::info!(?stalled_for, "the store takes writes again: the outbox resumes");
        self.stalled.send_replace(None);
        true
    }

    /// Runs one job and records its outcome; a store error means the store failed.
    async fn attempt(&self, job: Job) -> Result<(), StoreError> {
        let outcome = match &job.task {
            Ok(Task::PostCard { escalation_id }) => self.post_card(job.id, escalation_id).await?,
            Ok(Task::UpdateCard { escalation_id, card }) => {
                self.update_card(job.id, escalation_id, card.as_deref()).await?
            }
            Ok(Task::Reply(reply)) => self.reply(&job, reply).await?,
            Ok(Task::PostFallbackCard { escalation_id, to }) => {
                self.post_fallback_card(job.id, escalation_id, to).await?
            }
            Err(unreadable) => {
                tracing::error!(job = job.id, %unreadable, "outbox job dropped");
                self.done(job.id).await?
            }
        };
        match outcome {
            Outcome::Done => Ok(()),
            Outcome::Retry { error, after } => {
                let delay = after.unwrap_or_else(|| job_backoff(job.attempts)).min(MAX_JOB_DELAY);
                let kind = job.task.as_ref().map_or("unreadable", Task::kind);
                tracing::warn!(job = job.id, kind, %error, ?delay, "outbox job will be retried");
                let at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                self.ctx.store.retry_job(&job, at, &error).await
            }
        }
    }

    async fn post_card(&self, job_id: i64, escalation_id: &str) -> Result<Outcome, StoreError> {
        let store = &self.ctx.store;
        let Some(record) = store.escalation(escalation_id).await?.filter(|r| r.status == Status::Pending) else {
            // Closed before its card went out: nothing left to post.
            return self.done(job_id).await;
        };
        let Some(rendered) = self.render(&record) else {
            store.record_delivery_failed(job_id, &record.id, "the card could not be rendered").await?;
            return Ok(Outcome::Done);
        };
        match self.ctx.rest.create_message(&card_message(record.request.to.clone(), rendered)).await {
            Ok(posted) => {
                let delivered = Delivered {
                    room_uuid: ids::uuid_of(&posted.room_id).unwrap_or_default(),
                    message_uuid: ids::uuid_of(&posted.id).unwrap_or_default(),
                    space_id: posted.room_id,
                    message_id: posted.id,
                    // A DM by email to another org had no recipient before this.
                    recipient_id: posted.to_person_id,
                    first_reminder_at: policy::first_reminder_at(&record.request.policy, Utc::now()),
                    first_fallback_at: policy::first_fallback_at(&record.request.policy, Utc::now()),
                };
                tracing::info!(escalation = %record.id, message = %delivered.message_id, "card posted");
                store.record_delivery(job_id, &record.id, delivered).await?;
                self.ctx.metrics.delivered(record.created_at, Utc::now());
                Ok(Outcome::Done)
            }
            Err(error) => self.post_failed(job_id, &record, error).await,
        }
    }

    async fn post_failed(&self, job_id: i64, record: &Escalation, error: RestError) -> Result<Outcome, StoreError> {
        if let Some(wait) = wait_for_token(&error) {
            return Ok(wait);
        }
        match error.retry_kind() {
            RetryKind::Permanent => {
                let reason = match &error {
                    RestError::NotFound { .. } => match &record.request.to {
                        Destination::SpaceId(_) => {
                            format!("the bot is not in the space (add the bot to the space in Webex): {error}")
                        }
                        Destination::PersonEmail(who) | Destination::PersonId(who) => {
                            format!("to: Webex knows no person {who}: {error}")
                        }
                    },
                    _ => format!("Webex refused the card: {error}"),
                };
                tracing::warn!(escalation = %record.id, %reason, "card delivery failed");
                self.ctx.store.record_delivery_failed(job_id, &record.id, &reason).await?;
                Ok(Outcome::Done)
            }
            RetryKind::Transient { retry_after } => Ok(Outcome::Retry { error: error.to_string(), after: retry_after }),
            RetryKind::Network => Ok(Outcome::Retry { error: error.to_string(), after: None }),
        }
    }

    /// Brings one card to the escalation's state (`card` by message uuid; `None`:
    /// the card the escalation names).
    async fn update_card(&self, job_id: i64, escalation_id: &str, card: Option<&str>) -> Result<Outcome, StoreError> {
        let store = &self.ctx.store;
        let Some(record) = store.escalation(escalation_id).await? else { return self.done(job_id).await };
        let card_uuid = card.or(record.delivery.message_uuid.as_deref());
        let card = match card_uuid {
            Some(uuid) => store.card(uuid).await?,
            None => None,
        };
        let Some(card) = card else { return self.done(job_id).await };
        let Some(rendered) = self.render(&record) else {
            tracing::error!(escalation = %record.id, "cannot render the final card; leaving it as it is");
            return self.done(job_id).await;
        };
        let edit = MessageEdit {
            room_id: card.space_id.clone(),
            text: Some(rendered.fallback_text.clone()),
            markdown: None,
            card: Some(rendered.card.clone()),
        };
        match self.ctx.rest.edit_message(&card.message_id, &edit).await {
            Ok(_) => self.done(job_id).await,
            Err(RestError::BadRequest { message, .. }) => {
                tracing::warn!(escalation = %record.id, %message, "Webex refused to edit the card: deleting it and posting the final state instead");
                self.replace_card(job_id, &card, rendered).await
            }
            Err(RestError::NotFound { .. }) => {
                tracing::warn!(escalation = %record.id, "the card is gone (deleted, or the bot left): not updated");
                self.done(job_id).await
            }
            Err(error) => Ok(retry_or_drop(error)),
        }
    }

    async fn replace_card(&self, job_id: i64, card: &Card, rendered: RenderedCard) -> Result<Outcome, StoreError> {
        match self.ctx.rest.delete_message(&card.message_id).await {
            Ok(()) | Err(RestError::NotFound { .. }) => {}
            Err(error) => return Ok(retry_or_drop(error)),
        }
        let to = Destination::SpaceId(card.space_id.clone());
        match self.ctx.rest.create_message(&card_message(to, rendered)).await {
            Ok(posted) => {
                let uuid = ids::uuid_of(&posted.id).unwrap_or_default();
                self.ctx.store.replace_card(card, &posted.id, &uuid).await?;
                self.done(job_id).await
            }
            Err(error) => Ok(retry_or_drop(error)),
        }
    }

    /// The job is finished (or nothing is left to do): remove it.
    async fn done(&self, job_id: i64) -> Result<Outcome, StoreError> {
        self.ctx.store.complete_job(job_id).await.map(|()| Outcome::Done)
    }

    /// Posted at most once: a reply whose post was under way when the daemon
    /// stopped is not posted again (a missing reply is better than two).
    async fn reply(&self, job: &Job, reply: &Reply) -> Result<Outcome, StoreError> {
        if job.started {
            tracing::warn!(
                job = job.id,
                "a reply may have been posted before the daemon stopped; not posting it twice"
            );
            return self.done(job.id).await;
        }
        self.ctx.store.start_job(job.id).await?;
        let message = NewMessage {
            to: Destination::SpaceId(reply.room_id.clone()),
            text: Some(reply.text.clone()),
            markdown: reply.markdown.clone(),
            parent_id: reply.parent_id.clone(),
            card: None,
        };
        match self.ctx.rest.create_message(&message).await {
            Ok(_) => self.done(job.id).await,
            Err(error) => match retry_or_drop(error) {
                Outcome::Done => self.done(job.id).await,
                retry => Ok(retry),
            },
        }
    }

    fn render(&self, record: &Escalation) -> Option<RenderedCard> {
        let signature = self.ctx.signer.sign(&record.id);
        let state = CardState::of(record, self.ctx.config.show_answer_on_card);
        let card_view = CardView {
            escalation_id: &record.id,
            signature: &signature,
            request: &record.request,
            claim: record.claim.as_ref(),
        };
        card::render(&card_view, &state)
            .map_err(|e| tracing::error!(escalation = %record.id, %e, "card render failed"))
            .ok()
    }
}

/// A token Webex rejects is the operator's to fix, not the card's fault: the
/// job waits for a good token instead of failing its escalation.
fn wait_for_token(error: &RestError) -> Option<Outcome> {
    matches!(error, RestError::Unauthorized { .. })
        .then(|| Outcome::Retry { error: error.to_string(), after: Some(TOKEN_WAIT) })
}

/// How long an outbox job waits before trying a rejected token again.
const TOKEN_WAIT: Duration = Duration::from_secs(60);

/// Transient failures come back later; permanent ones are logged and dropped.
fn retry_or_drop(error: RestError) -> Outcome {
    if let Some(wait) = wait_for_token(&error) {
        return wait;
    }
    match error.retry_kind() {
        RetryKind::Permanent => {
            tracing::warn!(%error, "outbox job dropped: Webex refused it");
            Outcome::Done
        }
        RetryKind::Transient { retry_after } => Outcome::Retry { error: error.to_string(), after: retry_after },
        RetryKind::Network => Outcome::Retry { error: error.to_string(), after: None },
    }
}

/// A message carrying a card, with its plain-text fallback.
fn card_message(to: Destination, rendered: RenderedCard) -> NewMessage {
    NewMessage { to, text: Some(rendered.fallback_text), markdown: None, parent_id: None, card: Some(rendered.card) }
}

/// From 1 s doubling to 256 s (nine attempts), then every 256 s or so.
const JOB_BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(256));

fn job_backoff(attempts: i64) -> Duration {
    JOB_BACKOFF.delay(u32::try_from(attempts).unwrap_or(0), &mut rand::rng())
}
