//! A specialist pressed "Provide Input": check the submission, and let the first
//! valid answer win.
//!
//! Mercury's copy of the inputs is encrypted, so the plaintext comes from
//! `GET /attachment/actions/{id}`. A submission is refused (with a short
//! threaded reply saying why) when its signature is not ours, when the person
//! may not answer, when the inputs are invalid, or when someone was first.

use super::card::{DATA_ESCALATION, DATA_SIGNATURE};
use super::model::{self, view, Answer, Answerer};
use super::request::check_answer;
use super::signature::Signer;
use crate::metrics::Metrics;
use crate::store::{CloseOutcome, Closing, EscalationRecord, Store, StoreError};
use crate::webex::mercury::ActivityMeta;
use crate::webex::rest::{AttachmentAction, PersonFilter, RestClient, RestError};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error(transparent)]
    Rest(#[from] RestError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct AnswerHandler {
    pub store: Store,
    pub rest: RestClient,
    pub signer: Arc<Signer>,
    pub bot_uuid: String,
    pub metrics: Arc<Metrics>,
}

impl AnswerHandler {
    /// Handles one `cardAction` activity. Ok means "done, ack it"; an error means
    /// Webex or the store failed and the activity should be tried again.
    pub async fn on_submission(&self, meta: &ActivityMeta, card_message_uuid: Option<&str>) -> Result<(), AnswerError> {
        let activity = meta.activity_id.as_str();
        let actor_is_bot = meta.actor.as_ref().is_some_and(|a| a.uuid.eq_ignore_ascii_case(&self.bot_uuid));
        let escalation = match card_message_uuid {
            Some(uuid) if !actor_is_bot => self.store.escalation_by_message(uuid).await?,
            _ => None,
        };
        let Some(record) = escalation else {
            // Not one of our cards (or our own click): nothing to do.
            self.store.mark_processed(activity).await?;
            return Ok(());
        };
        let (Some(card_id), Some(room_id)) = (record.message_id.clone(), record.space_id.clone()) else {
            self.store.mark_processed(activity).await?;
            return Ok(());
        };
        let Some(action_id) = model::attachment_action_id(&card_id, activity) else {
            self.store.mark_processed(activity).await?;
            return Ok(());
        };
        let action = self.rest.attachment_action(&action_id).await?;
        let refusal = match self.judge(&record, &action).await? {
            Verdict::Accept(answer) => return self.accept(&record, answer, activity, &room_id, &card_id).await,
            Verdict::Refuse(why) => why,
            Verdict::Ignore => {
                self.store.mark_processed(activity).await?;
                return Ok(());
            }
        };
        tracing::info!(escalation = %record.id, person = %action.person_id, %refusal, "submission refused");
        self.store.enqueue_reply(&room_id, Some(&card_id), &refusal, Some(activity)).await?;
        Ok(())
    }

    async fn judge(&self, record: &EscalationRecord, action: &AttachmentAction) -> Result<Verdict, AnswerError> {
        if crate::webex::ids::uuid_of(&action.person_id).is_some_and(|uuid| uuid.eq_ignore_ascii_case(&self.bot_uuid)) {
            return Ok(Verdict::Ignore);
        }
        // A late click on a closed card (a client showing a stale copy) is told why.
        if let Some(closed) = already_closed(record) {
            return Ok(Verdict::Refuse(closed));
        }
        let signed_for = action.inputs.get(DATA_ESCALATION).map(String::as_str);
        let signature = action.inputs.get(DATA_SIGNATURE).map(String::as_str).unwrap_or_default();
        if signed_for != Some(record.id.as_str()) || !self.signer.verify(&record.id, signature) {
            tracing::warn!(escalation = %record.id, action = %action.id, "submission with a missing or forged signature");
            return Ok(Verdict::Refuse("This card was not issued by this service; the submission was ignored.".into()));
        }
        if let Some(refusal) = self.may_not_answer(record, action).await? {
            return Ok(Verdict::Refuse(refusal));
        }
        let request = match model::stored_request(record) {
            Ok(request) => request,
            Err(error) => {
                tracing::error!(escalation = %record.id, %error, "stored request unreadable");
                return Ok(Verdict::Ignore);
            }
        };
        let inputs = match check_answer(&request.fields, &action.inputs) {
            Ok(inputs) => inputs,
            Err(invalid) => {
                return Ok(Verdict::Refuse(format!(
                    "Your input was not accepted ({invalid}). Please correct it and press Provide Input again."
                )))
            }
        };
        let person = self.rest.person(&action.person_id).await?;
        let by =
            Answerer { email: person.primary_email().map(str::to_owned), id: person.id, name: person.display_name };
        Ok(Verdict::Accept(Answer { inputs, by, at: action.created.unwrap_or_else(chrono::Utc::now) }))
    }

    /// For a DM only its recipient may answer; in a space, any current member.
    async fn may_not_answer(
        &self,
        record: &EscalationRecord,
        action: &AttachmentAction,
    ) -> Result<Option<String>, AnswerError> {
        if let Some(recipient) = &record.recipient_id {
            return Ok(dm_refusal(recipient, &action.person_id));
        }
        let Some(room_id) = &record.space_id else { return Ok(None) };
        match self.rest.memberships(room_id, Some(PersonFilter::Id(action.person_id.clone()))).await {
            Ok(members) if !members.is_empty() => Ok(None),
            Ok(_) | Err(RestError::NotFound { .. }) => {
                Ok(Some("Only members of this space can answer this request.".into()))
            }
            Err(other) => Err(other.into()),
        }
    }

    async fn accept(
        &self,
        record: &EscalationRecord,
        answer: Answer,
        activity: &str,
        room_id: &str,
        card_id: &str,
    ) -> Result<(), AnswerError> {
        let closing = Closing {
            status: "answered",
            answer: Some(serde_json::to_value(&answer).map_err(StoreError::from)?),
            reason: None,
            activity_id: Some(activity.to_owned()),
            update_card: true,
        };
        match self.store.close_escalation(&record.id, closing, view).await? {
            CloseOutcome::Closed(closed) => {
                tracing::info!(escalation = %record.id, by = %answer.by.name, "answered");
                // While pending and posted, nothing but the delivery touches the
                // row, so its `updated_at` is when the card was posted.
                if record.delivery_state == "posted" {
                    self.metrics.answered(record.updated_at, closed.closed_at.unwrap_or_else(chrono::Utc::now));
                }
                Ok(())
            }
            CloseOutcome::NotPending(now) => {
                let why = already_closed(&now).unwrap_or_else(|| "This request is closed.".into());
                self.store.enqueue_reply(room_id, Some(card_id), &why, Some(activity)).await?;
                Ok(())
            }
            CloseOutcome::Unknown => Ok(()),
        }
    }
}

enum Verdict {
    Accept(Answer),
    Refuse(String),
    Ignore,
}

/// Why a closed escalation takes no more answers, in a specialist's words.
fn already_closed(record: &EscalationRecord) -> Option<String> {
    let at =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.format("%H:%M UTC").to_string()).unwrap_or_default();
    match record.status.as_str() {
        "pending" => None,
        "answered" => {
            let answer = model::stored_answer(record);
            let (who, when) =
                answer.map(|a| (a.by.name, Some(a.at))).unwrap_or_else(|| ("someone".into(), record.closed_at));
            Some(format!("Already answered by {who} at {}.", at(when)))
        }
        "expired" => Some(format!("This request expired at {}.", at(record.closed_at))),
        "cancelled" => Some(format!("This request was cancelled at {}.", at(record.closed_at))),
        _ => Some("This request is closed.".into()),
    }
}

/// In a DM only the person it was sent to may answer. Ids are compared by uuid:
/// the same person can come back with a differently encoded id.
fn dm_refusal(recipient_id: &str, person_id: &str) -> Option<String> {
    let uuid = |id: &str| crate::webex::ids::uuid_of(id).unwrap_or_else(|| id.to_owned()).to_ascii_lowercase();
    (uuid(recipient_id) != uuid(person_id))
        .then(|| "Only the person this request was sent to can answer it.".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webex::ids::{IdKind, RestId};

    #[test]
    fn only_the_dm_recipient_may_answer() {
        let ana = RestId::new(IdKind::People, "us", "2b9d4e10-6c7a-4f1b-8e3d-5a0c1b2d3e4f").encode();
        let ana_upper = RestId::new(IdKind::People, "us", "2B9D4E10-6C7A-4F1B-8E3D-5A0C1B2D3E4F").encode();
        let ben = RestId::new(IdKind::People, "us", "44445555-6666-4777-8888-999900001111").encode();
        assert_eq!(dm_refusal(&ana, &ana_upper), None);
        assert!(dm_refusal(&ana, &ben).unwrap().contains("Only the person"));
    }

    fn record(status: &str, answer: Option<serde_json::Value>) -> EscalationRecord {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-25T13:05:00Z").unwrap().with_timezone(&chrono::Utc);
        EscalationRecord {
            cursor: 1,
            id: "esc_1".into(),
            key: None,
            fingerprint: String::new(),
            status: status.into(),
            request: serde_json::Value::Null,
            created_at: at,
            expires_at: at,
            delivery_state: "posted".into(),
            delivery_error: None,
            delivery_attempts: 1,
            space_id: None,
            room_uuid: None,
            message_id: None,
            message_uuid: None,
            recipient_id: None,
            answer,
            closed_at: Some(at),
            close_reason: None,
            updated_at: at,
        }
    }

    #[test]
    fn late_submissions_are_told_who_was_first() {
        let answer = serde_json::json!({"inputs": {}, "by": {"id": "p", "email": null, "name": "Ana"}, "at": "2026-11-25T13:05:00Z"});
        assert_eq!(already_closed(&record("answered", Some(answer))).unwrap(), "Already answered by Ana at 13:05 UTC.");
        assert_eq!(already_closed(&record("expired", None)).unwrap(), "This request expired at 13:05 UTC.");
        assert_eq!(already_closed(&record("pending", None)), None);
    }
}
