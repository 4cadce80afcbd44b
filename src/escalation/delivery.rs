//! The delivery worker: performs the outbox's jobs — post a card, update a card
//! in place, post a threaded reply — with retries and backoff, recording each
//! result in the same transaction that removes the job.

use super::card::{self, CardState, CardView, RenderedCard};
use super::model::{self, view, Answer};
use super::request::Destination;
use super::signature::Signer;
use crate::metrics::Metrics;
use crate::store::{Delivered, EscalationRecord, Job, JobKind, Store, StoreError};
use crate::webex::ids;
use crate::webex::rest::{self, MessageEdit, NewMessage, RestClient, RestError, RetryKind};
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const BATCH: usize = 32;
const MAX_JOB_DELAY: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct Deliverer {
    pub store: Store,
    pub rest: RestClient,
    pub signer: Arc<Signer>,
    /// Whether an answered card shows the answer itself, or only who answered.
    pub show_answers: bool,
    pub metrics: Arc<Metrics>,
}

/// What became of one attempt at a job.
enum Outcome {
    Done,
    Retry { error: String, after: Option<Duration> },
}

impl Deliverer {
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let worked = match self.store.due_jobs(Utc::now(), BATCH).await {
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
        let next = self.store.next_job_at().await.ok().flatten();
        let wait = next.map_or(Duration::from_secs(60), |at| (at - Utc::now()).to_std().unwrap_or_default());
        tokio::select! {
            _ = shutdown.cancelled() => false,
            _ = self.store.jobs_changed() => true,
            _ = tokio::time::sleep(wait.min(Duration::from_secs(60))) => true,
        }
    }

    async fn attempt(&self, job: Job) {
        let outcome = match job.kind {
            JobKind::PostCard => self.post_card(&job).await,
            JobKind::UpdateCard => self.update_card(&job).await,
            JobKind::Reply => self.reply(&job).await,
        };
        let recorded = match outcome {
            Ok(Outcome::Done) => Ok(()),
            Ok(Outcome::Retry { error, after }) => {
                let delay = after.unwrap_or_else(|| job_backoff(job.attempts)).min(MAX_JOB_DELAY);
                tracing::warn!(job = job.id, kind = job.kind.as_str(), %error, ?delay, "outbox job will be retried");
                let at = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                self.store.retry_job(&job, at, &error).await
            }
            Err(error) => Err(error),
        };
        if let Err(error) = recorded {
            tracing::error!(job = job.id, %error, "outbox: cannot record a job's result; it will run again");
        }
    }

    async fn escalation_of(&self, job: &Job) -> Result<Option<EscalationRecord>, StoreError> {
        match &job.escalation_id {
            Some(id) => self.store.escalation(id).await,
            None => Ok(None),
        }
    }

    async fn post_card(&self, job: &Job) -> Result<Outcome, StoreError> {
        let Some(record) = self.escalation_of(job).await?.filter(|r| r.status == "pending") else {
            // Closed before its card went out: nothing left to post.
            self.store.complete_job(job.id).await?;
            return Ok(Outcome::Done);
        };
        let Some(rendered) = self.render(&record) else {
            self.store.record_delivery_failed(job.id, &record.id, "the card could not be rendered", view).await?;
            return Ok(Outcome::Done);
        };
        let Some(to) = destination(&record) else {
            self.store.record_delivery_failed(job.id, &record.id, "the stored destination is unreadable", view).await?;
            return Ok(Outcome::Done);
        };
        match self.rest.create_message(&card_message(to, rendered)).await {
            Ok(posted) => {
                let delivered = Delivered {
                    room_uuid: ids::uuid_of(&posted.room_id).unwrap_or_default(),
                    message_uuid: ids::uuid_of(&posted.id).unwrap_or_default(),
                    space_id: posted.room_id,
                    message_id: posted.id,
                    recipient_id: None,
                };
                tracing::info!(escalation = %record.id, message = %delivered.message_id, "card posted");
                self.store.record_delivery(job.id, &record.id, delivered, view).await?;
                self.metrics.delivered(record.created_at, Utc::now());
                Ok(Outcome::Done)
            }
            Err(error) => self.post_failed(job, &record, error).await,
        }
    }

    async fn post_failed(&self, job: &Job, record: &EscalationRecord, error: RestError) -> Result<Outcome, StoreError> {
        match error.retry_kind() {
            RetryKind::Permanent => {
                let reason = match &error {
                    RestError::NotFound { .. } => {
                        format!("the bot is not in the space (add the bot to the space in Webex): {error}")
                    }
                    _ => format!("Webex refused the card: {error}"),
                };
                tracing::warn!(escalation = %record.id, %reason, "card delivery failed");
                self.store.record_delivery_failed(job.id, &record.id, &reason, view).await?;
                Ok(Outcome::Done)
            }
            RetryKind::Transient { retry_after } => Ok(Outcome::Retry { error: error.to_string(), after: retry_after }),
            RetryKind::Network => Ok(Outcome::Retry { error: error.to_string(), after: None }),
        }
    }

    async fn update_card(&self, job: &Job) -> Result<Outcome, StoreError> {
        let record = self.escalation_of(job).await?;
        let Some((record, message_id, room_id)) =
            record.and_then(|r| Some((r.message_id.clone()?, r.space_id.clone()?)).map(|(m, s)| (r, m, s)))
        else {
            self.store.complete_job(job.id).await?;
            return Ok(Outcome::Done);
        };
        let Some(rendered) = self.render(&record) else {
            tracing::error!(escalation = %record.id, "cannot render the final card; leaving it as it is");
            self.store.complete_job(job.id).await?;
            return Ok(Outcome::Done);
        };
        let edit = MessageEdit {
            room_id: room_id.clone(),
            text: Some(rendered.fallback_text.clone()),
            markdown: None,
            card: Some(rendered.card.clone()),
        };
        match self.rest.edit_message(&message_id, &edit).await {
            Ok(_) => self.store.complete_job(job.id).await.map(|_| Outcome::Done),
            Err(RestError::BadRequest { message, .. }) => {
                tracing::warn!(escalation = %record.id, %message, "Webex refused to edit the card: deleting it and posting the final state instead");
                self.replace_card(job, &record, &message_id, room_id, rendered).await
            }
            Err(RestError::NotFound { .. }) => {
                tracing::warn!(escalation = %record.id, "the card is gone (deleted, or the bot left): not updated");
                self.store.complete_job(job.id).await.map(|_| Outcome::Done)
            }
            Err(error) => Ok(retry_or_drop(error)),
        }
    }

    async fn replace_card(
        &self,
        job: &Job,
        record: &EscalationRecord,
        old: &str,
        room_id: String,
        rendered: RenderedCard,
    ) -> Result<Outcome, StoreError> {
        match self.rest.delete_message(old).await {
            Ok(()) | Err(RestError::NotFound { .. }) => {}
            Err(error) => return Ok(retry_or_drop(error)),
        }
        match self.rest.create_message(&card_message(rest::Destination::Room(room_id), rendered)).await {
            Ok(posted) => {
                let uuid = ids::uuid_of(&posted.id).unwrap_or_default();
                self.store.replace_card_message(&record.id, &posted.id, &uuid).await?;
                self.store.complete_job(job.id).await?;
                Ok(Outcome::Done)
            }
            Err(error) => Ok(retry_or_drop(error)),
        }
    }

    async fn reply(&self, job: &Job) -> Result<Outcome, StoreError> {
        let payload = &job.payload;
        let (Some(room_id), Some(text)) = (payload["room_id"].as_str(), payload["text"].as_str()) else {
            self.store.complete_job(job.id).await?;
            return Ok(Outcome::Done);
        };
        let message = NewMessage {
            to: rest::Destination::Room(room_id.to_owned()),
            text: Some(text.to_owned()),
            markdown: None,
            parent_id: payload["parent_id"].as_str().map(str::to_owned),
            card: None,
        };
        match self.rest.create_message(&message).await {
            Ok(_) => self.store.complete_job(job.id).await.map(|_| Outcome::Done),
            Err(error) => match retry_or_drop(error) {
                Outcome::Done => self.store.complete_job(job.id).await.map(|_| Outcome::Done),
                retry => Ok(retry),
            },
        }
    }

    fn render(&self, record: &EscalationRecord) -> Option<RenderedCard> {
        let request = model::stored_request(record).ok()?;
        let signature = self.signer.sign(&record.id);
        let answer = model::stored_answer(record);
        let state = card_state(record, answer.as_ref(), self.show_answers);
        let card_view = CardView { escalation_id: &record.id, signature: &signature, request: &request };
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
fn card_message(to: rest::Destination, rendered: RenderedCard) -> NewMessage {
    NewMessage { to, text: Some(rendered.fallback_text), markdown: None, parent_id: None, card: Some(rendered.card) }
}

fn job_backoff(attempts: i64) -> Duration {
    let step = Duration::from_secs(1u64 << attempts.clamp(0, 8) as u32);
    step / 2 + step.mul_f64(rand::random::<f64>() / 2.0)
}

fn destination(record: &EscalationRecord) -> Option<rest::Destination> {
    let to: Destination = serde_json::from_value(record.request["to"].clone()).ok()?;
    Some(match to {
        Destination::SpaceId(id) => rest::Destination::Room(id),
        Destination::PersonEmail(email) => rest::Destination::PersonEmail(email),
        Destination::PersonId(id) => rest::Destination::PersonId(id),
    })
}

pub fn card_state<'a>(record: &'a EscalationRecord, answer: Option<&'a Answer>, show_answers: bool) -> CardState<'a> {
    let closed_at = record.closed_at.unwrap_or(record.updated_at);
    match (record.status.as_str(), answer) {
        ("answered", Some(answer)) => CardState::Answered {
            by_name: &answer.by.name,
            by_email: answer.by.email.as_deref(),
            at: answer.at,
            inputs: show_answers.then_some(&answer.inputs),
        },
        ("expired", _) => CardState::Expired { at: closed_at },
        ("cancelled", _) => CardState::Cancelled { at: closed_at, reason: record.close_reason.as_deref() },
        ("failed", _) => CardState::Failed { reason: record.close_reason.as_deref().unwrap_or("delivery failed") },
        _ => CardState::Pending,
    }
}
