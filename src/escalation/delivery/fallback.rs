//! Posting a fresh card of an escalation to its policy's next fallback
//! destination. Unlike the first card, a fallback that cannot be posted does
//! not fail the escalation: its other cards still work, so the reason is kept
//! and told to the engine, and the ladder goes on.

use super::{card_message, wait_for_token, Deliverer, Outcome};
use crate::model::{Destination, Status};
use crate::store::{Card, CardOrigin, StoreError};
use crate::webex::ids;
use crate::webex::rest::{RestError, RetryKind};
use chrono::Utc;

impl Deliverer {
    pub(super) async fn post_fallback_card(
        &self,
        job_id: i64,
        escalation_id: &str,
        to: &Destination,
    ) -> Result<Outcome, StoreError> {
        let store = &self.ctx.store;
        let Some(record) = store.escalation(escalation_id).await?.filter(|r| r.status == Status::Pending) else {
            return self.done(job_id).await;
        };
        let Some(rendered) = self.render(&record) else {
            store.record_fallback_failed(job_id, &record.id, "the card could not be rendered").await?;
            return Ok(Outcome::Done);
        };
        match self.ctx.rest.create_message(&card_message(to.clone(), rendered)).await {
            Ok(posted) => {
                let card = Card {
                    message_uuid: ids::uuid_of(&posted.id).unwrap_or_default(),
                    message_id: posted.id,
                    escalation_id: record.id.clone(),
                    space_id: posted.room_id,
                    origin: CardOrigin::Posted,
                    at: Utc::now(),
                };
                tracing::info!(escalation = %record.id, message = %card.message_id, "fallback card posted");
                store.record_fallback_card(job_id, card).await?;
                Ok(Outcome::Done)
            }
            Err(error) => self.fallback_failed(job_id, &record.id, error).await,
        }
    }

    async fn fallback_failed(&self, job_id: i64, id: &str, error: RestError) -> Result<Outcome, StoreError> {
        if let Some(wait) = wait_for_token(&error) {
            return Ok(wait);
        }
        match error.retry_kind() {
            RetryKind::Permanent => {
                let reason = match &error {
                    RestError::NotFound { .. } => format!("the bot cannot reach this destination: {error}"),
                    _ => format!("Webex refused the card: {error}"),
                };
                tracing::warn!(escalation = %id, %reason, "fallback destination skipped");
                self.ctx.store.record_fallback_failed(job_id, id, &reason).await?;
                Ok(Outcome::Done)
            }
            RetryKind::Transient { retry_after } => Ok(Outcome::Retry { error: error.to_string(), after: retry_after }),
            RetryKind::Network => Ok(Outcome::Retry { error: error.to_string(), after: None }),
        }
    }
}
