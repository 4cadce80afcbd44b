//! The delivery worker: performs the outbox's jobs — post a card, update a card
//! in place, post a threaded reply — with retries and backoff, recording each
//! result in the same transaction that removes the job.

use super::card::{self, CardState, CardView, RenderedCard};
use super::Context;
use crate::backoff::Backoff;
use crate::model::{Destination, Escalation, PostedCard, Status};
use crate::store::{Delivered, Job, Reply, StoreError, Task};
use crate::webex::ids;
use crate::webex::rest::{MessageEdit, NewMessage, RestError, RetryKind};
use chrono::Utc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const BATCH: usize = 32;
const MAX_JOB_DELAY: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct Deliverer {
    ctx: Context,
}

/// What became of one attempt at a job.
enum Outcome {
    Done,
    Retry { error: String, after: Option<Duration> },
}

impl Deliverer {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let worked = match self.ctx.store.due_jobs(Utc::now(), BATCH).await {
                Ok(jobs) => {
                    let any = !jobs.is_empty();
                    for job in jobs {
                        if shutdown.is_cancelled() {
                            return;
                        }
                        self.attempt(job).await;
                    }
                    any
                }
                Err(error) => {
                    tracing::error!(%error, "outbox: cannot read jobs");
                    false
                }
            };
            if !worked && !self.idle(&shutdown).await {
                return;
            }
        }
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

    async fn attempt(&self, job: Job) {
        let outcome = match &job.task {
            Ok(Task::PostCard { escalation_id }) => self.post_card(job.id, escalation_id).await,
            Ok(Task::UpdateCard { escalation_id }) => self.update_card(job.id, escalation_id).await,
            Ok(Task::Reply(reply)) => self.reply(job.id, reply).await,
            Err(unreadable) => {
                tracing::error!(job = job.id, %unreadable, "outbox job dropped");
                self.done(job.id).await
            }
        };
        let recorded = match outcome {
            Ok(Outcome::Done) => Ok(()),
            Ok(Outcome::Retry { error, after }) => {
                let delay = after.unwrap_or_else(|| job_backoff(job.attempts)).min(MAX_JOB_DELAY);
                let kind = job.task.as_ref().map_or("unreadable", Task::kind);
                tracing::warn!(job = job.id, kind, %error, ?delay, "outbox job will be retried");
                let at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                self.ctx.store.retry_job(&job, at, &error).await
            }
            Err(error) => Err(error),
        };
        if let Err(error) = recorded {
            tracing::error!(job = job.id, %error, "outbox: cannot record a job's result; it will run again");
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
                    recipient_id: None,
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
        match error.retry_kind() {
            RetryKind::Permanent => {
                let reason = match &error {
                    RestError::NotFound { .. } => {
                        format!("the bot is not in the space (add the bot to the space in Webex): {error}")
                    }
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

    async fn update_card(&self, job_id: i64, escalation_id: &str) -> Result<Outcome, StoreError> {
        let Some(record) = self.ctx.store.escalation(escalation_id).await? else { return self.done(job_id).await };
        let Some(card) = record.card() else { return self.done(job_id).await };
        let Some(rendered) = self.render(&record) else {
            tracing::error!(escalation = %record.id, "cannot render the final card; leaving it as it is");
            return self.done(job_id).await;
        };
        let edit = MessageEdit {
            room_id: card.space_id.to_owned(),
            text: Some(rendered.fallback_text.clone()),
            markdown: None,
            card: Some(rendered.card.clone()),
        };
        match self.ctx.rest.edit_message(card.message_id, &edit).await {
            Ok(_) => self.done(job_id).await,
            Err(RestError::BadRequest { message, .. }) => {
                tracing::warn!(escalation = %record.id, %message, "Webex refused to edit the card: deleting it and posting the final state instead");
                self.replace_card(job_id, &record, card, rendered).await
            }
            Err(RestError::NotFound { .. }) => {
                tracing::warn!(escalation = %record.id, "the card is gone (deleted, or the bot left): not updated");
                self.done(job_id).await
            }
            Err(error) => Ok(retry_or_drop(error)),
        }
    }

    async fn replace_card(
        &self,
        job_id: i64,
        record: &Escalation,
        card: PostedCard<'_>,
        rendered: RenderedCard,
    ) -> Result<Outcome, StoreError> {
        match self.ctx.rest.delete_message(card.message_id).await {
            Ok(()) | Err(RestError::NotFound { .. }) => {}
            Err(error) => return Ok(retry_or_drop(error)),
        }
        let to = Destination::SpaceId(card.space_id.to_owned());
        match self.ctx.rest.create_message(&card_message(to, rendered)).await {
            Ok(posted) => {
                let uuid = ids::uuid_of(&posted.id).unwrap_or_default();
                self.ctx.store.replace_card_message(&record.id, &posted.id, &uuid).await?;
                self.done(job_id).await
            }
            Err(error) => Ok(retry_or_drop(error)),
        }
    }

    /// The job is finished (or nothing is left to do): remove it.
    async fn done(&self, job_id: i64) -> Result<Outcome, StoreError> {
        self.ctx.store.complete_job(job_id).await.map(|()| Outcome::Done)
    }

    async fn reply(&self, job_id: i64, reply: &Reply) -> Result<Outcome, StoreError> {
        let message = NewMessage {
            to: Destination::SpaceId(reply.room_id.clone()),
            text: Some(reply.text.clone()),
            markdown: None,
            parent_id: reply.parent_id.clone(),
            card: None,
        };
        match self.ctx.rest.create_message(&message).await {
            Ok(_) => self.done(job_id).await,
            Err(error) => match retry_or_drop(error) {
                Outcome::Done => self.done(job_id).await,
                retry => Ok(retry),
            },
        }
    }

    fn render(&self, record: &Escalation) -> Option<RenderedCard> {
        let signature = self.ctx.signer.sign(&record.id);
        let state = CardState::of(record, self.ctx.config.show_answer_on_card);
        let card_view = CardView { escalation_id: &record.id, signature: &signature, request: &record.request };
        card::render(&card_view, &state)
            .map_err(|e| tracing::error!(escalation = %record.id, %e, "card render failed"))
            .ok()
    }
}

/// Transient failures come back later; permanent ones are logged and dropped.
fn retry_or_drop(error: RestError) -> Outcome {
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
