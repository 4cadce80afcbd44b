//! "Send External Message": a one-way notification to a space or a person.
//! No answer is expected, so the message itself is not stored: the engine gets
//! Webex's message id, or a clear error, synchronously. With an idempotency
//! `key` the store remembers the key (see `store::notifications`), so a retry
//! after a timeout gets the first message back instead of a second one.

use super::request::{check_destination, check_key, InvalidRequest};
use crate::model::Destination;
use crate::store::{Claim, Store, StoreError};
use crate::webex::rest::{NewMessage, RestClient, RestError, MAX_TEXT_BYTES};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// A claim older than this is a daemon that died mid-call: longer than any one
/// send takes with its retries, short enough for an engine's retry loop.
const STALE_CLAIM: Duration = Duration::from_secs(300);

/// Cards in notifications are the engine's own; keep them within a message.
const MAX_CARD_BYTES: usize = 16 * 1024;

#[derive(utoipa::ToSchema, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notification {
    /// Idempotency key: the same key and request give the same message, once.
    pub key: Option<String>,
    pub to: Destination,
    pub markdown: Option<String>,
    pub text: Option<String>,
    /// An Adaptive Card (1.3) to attach; `text` or `markdown` is its fallback.
    pub card: Option<Value>,
}

#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    pub message_id: String,
    pub space_id: String,
}

/// A notification sent now, or (same key, same request) the one sent before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    New(Sent),
    Existing(Sent),
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Invalid(#[from] InvalidRequest),
    #[error("the bot is not in space {0}")]
    BotNotInSpace(String),
    #[error("Webex knows no person {0}")]
    UnknownPerson(String),
    #[error(transparent)]
    Webex(RestError),
    #[error("key {0:?} was already used for a different notification")]
    KeyConflict(String),
    #[error("a notification with key {0:?} is being sent right now; ask again in a moment")]
    InFlight(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub async fn send(rest: &RestClient, store: &Store, notification: Notification) -> Result<Outcome, NotifyError> {
    let key = notification.key.as_deref().map(check_key).transpose()?;
    let fingerprint = crate::model::fingerprint(fingerprinted(&notification));
    let message = validate(notification)?;
    let Some(key) = key else { return post(rest, &message).await.map(Outcome::New) };
    match store.claim_notification(&key, &fingerprint, STALE_CLAIM).await? {
        Claim::Sent { message_id, space_id } => return Ok(Outcome::Existing(Sent { message_id, space_id })),
        Claim::Conflict => return Err(NotifyError::KeyConflict(key)),
        Claim::InFlight => return Err(NotifyError::InFlight(key)),
        Claim::Fresh => {}
    }
    match post(rest, &message).await {
        Ok(sent) => {
            // Posted: a store failure now must not make the engine post it again.
            if let Err(error) = store.notification_sent(&key, &sent.message_id, &sent.space_id).await {
                tracing::error!(%error, key, "a notification went out but its key could not be recorded");
            }
            Ok(Outcome::New(sent))
        }
        Err(error) => {
            store.release_notification(&key).await?;
            Err(error)
        }
    }
}

/// What makes two requests under one key the same: everything the engine sent.
fn fingerprinted(n: &Notification) -> Value {
    serde_json::json!({"to": n.to, "text": n.text, "markdown": n.markdown, "card": n.card})
}

async fn post(rest: &RestClient, message: &NewMessage) -> Result<Sent, NotifyError> {
    let destination = message.to.clone();
    match rest.create_message(message).await {
        Ok(posted) => Ok(Sent { message_id: posted.id, space_id: posted.room_id }),
        Err(RestError::NotFound { .. }) => Err(match destination {
            Destination::SpaceId(id) => NotifyError::BotNotInSpace(id),
            Destination::PersonEmail(who) | Destination::PersonId(who) => NotifyError::UnknownPerson(who),
        }),
        Err(error) => Err(NotifyError::Webex(error)),
    }
}

fn validate(n: Notification) -> Result<NewMessage, InvalidRequest> {
    let text = n.text.filter(|t| !t.trim().is_empty());
    let markdown = n.markdown.filter(|t| !t.trim().is_empty());
    if text.is_none() && markdown.is_none() {
        return Err(InvalidRequest::new("text", "give `text` or `markdown` (also the fallback of a card)"));
    }
    for (field, value) in [("text", &text), ("markdown", &markdown)] {
        if value.as_ref().is_some_and(|v| v.len() > MAX_TEXT_BYTES) {
            return Err(InvalidRequest::new(field, format!("at most {MAX_TEXT_BYTES} bytes (Webex's limit)")));
        }
    }
    if let Some(card) = &n.card {
        check_card(card)?;
    }
    let to = check_destination(n.to)?;
    Ok(NewMessage { to, text, markdown, parent_id: None, card: n.card })
}

fn check_card(card: &Value) -> Result<(), InvalidRequest> {
    if card.get("type").and_then(Value::as_str) != Some("AdaptiveCard") {
        return Err(InvalidRequest::new("card.type", "must be \"AdaptiveCard\""));
    }
    match card.get("version").and_then(Value::as_str) {
        Some("1.0" | "1.1" | "1.2" | "1.3") => {}
        _ => return Err(InvalidRequest::new("card.version", "Webex renders Adaptive Cards up to version \"1.3\"")),
    }
    if card.to_string().len() > MAX_CARD_BYTES {
        return Err(InvalidRequest::new("card", format!("at most {MAX_CARD_BYTES} bytes")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webex::ids::{IdKind, RestId};

    fn notification(json: Value) -> Notification {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn needs_text_within_limits() {
        let room = RestId::new(IdKind::Room, "us", "r").encode();
        let empty = notification(serde_json::json!({"to": {"space_id": room}}));
        assert_eq!(validate(empty).unwrap_err().field, "text");
        let long = notification(serde_json::json!({"to": {"space_id": room}, "markdown": "x".repeat(7440)}));
        assert_eq!(validate(long).unwrap_err().field, "markdown");
        let ok = notification(serde_json::json!({"to": {"person_email": "a@b.c"}, "text": "hi"}));
        assert!(matches!(validate(ok).unwrap().to, Destination::PersonEmail(_)));
    }

    #[test]
    fn an_empty_or_malformed_person_is_the_callers_error() {
        for (to, field) in [
            (serde_json::json!({"person_email": ""}), "to.person_email"),
            (serde_json::json!({"person_email": "no-at"}), "to.person_email"),
            (serde_json::json!({"person_id": " "}), "to.person_id"),
        ] {
            let n = notification(serde_json::json!({"to": to, "text": "hi"}));
            assert_eq!(validate(n).unwrap_err().field, field);
        }
    }

    #[test]
    fn checks_destination_and_card() {
        let bad_room = notification(serde_json::json!({"to": {"space_id": "nope"}, "text": "hi"}));
        assert_eq!(validate(bad_room).unwrap_err().field, "to.space_id");
        let room = RestId::new(IdKind::Room, "us", "r").encode();
        let card = notification(
            serde_json::json!({"to": {"space_id": room}, "text": "hi", "card": {"type": "AdaptiveCard", "version": "1.5"}}),
        );
        assert_eq!(validate(card).unwrap_err().field, "card.version");
    }
}
