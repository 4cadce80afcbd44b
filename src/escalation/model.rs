//! An escalation as the engine sees it (API answers and event payloads), built
//! from the stored row. The stored request is kept as JSON so that the view
//! never depends on the row being re-validated.

use crate::store::EscalationRecord;
use crate::webex::ids::{IdKind, RestId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

use super::request::ValidEscalation;

/// Who answered, and what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub inputs: BTreeMap<String, String>,
    pub by: Answerer,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answerer {
    pub id: String,
    pub email: Option<String>,
    pub name: String,
}

/// The escalation's JSON for the API and the event log.
pub fn view(record: &EscalationRecord) -> Value {
    let request = &record.request;
    json!({
        "id": record.id,
        "key": record.key,
        "status": record.status,
        "created_at": record.created_at,
        "expires_at": record.expires_at,
        "to": request["to"],
        "player": request["player"],
        "summary": request["summary"],
        "question": request["question"],
        "fields": request["fields"],
        "context": request["context"],
        "delivery": {
            "state": record.delivery_state,
            "message_id": record.message_id,
            "space_id": record.space_id,
            "attempts": record.delivery_attempts,
            "error": record.delivery_error,
        },
        "answer": record.answer,
        "closed_at": record.closed_at,
        "close_reason": record.close_reason,
    })
}

/// The validated request back from its stored JSON.
pub fn stored_request(record: &EscalationRecord) -> Result<ValidEscalation, serde_json::Error> {
    serde_json::from_value(record.request.clone())
}

pub fn stored_answer(record: &EscalationRecord) -> Option<Answer> {
    record.answer.clone().and_then(|answer| serde_json::from_value(answer).ok())
}

/// The REST id of an attachment action, in the cluster of the card it was made on
/// (Mercury gives only its uuid, and a wrong cluster is a 404).
pub fn attachment_action_id(card_message_id: &str, action_uuid: &str) -> Option<String> {
    let card = RestId::decode(card_message_id).ok()?;
    Some(RestId::new(IdKind::AttachmentAction, card.cluster, action_uuid).encode())
}

/// A fresh escalation id: `esc_` and 32 hex digits.
pub fn new_id() -> String {
    format!("esc_{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_action_ids_take_the_card_cluster() {
        let card = RestId::new(IdKind::Message, "urn:TEAM:eu-central-1_k", "m-uuid").encode();
        let action = RestId::decode(&attachment_action_id(&card, "a-uuid").unwrap()).unwrap();
        assert_eq!(action, RestId::new(IdKind::AttachmentAction, "urn:TEAM:eu-central-1_k", "a-uuid"));
        assert_eq!(attachment_action_id("garbage", "a"), None);
    }

    #[test]
    fn ids_are_prefixed_and_unique() {
        let (a, b) = (new_id(), new_id());
        assert!(a.starts_with("esc_") && a.len() == 36);
        assert_ne!(a, b);
    }
}
