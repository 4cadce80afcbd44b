//! Checking and encoding the messages we send.
//!
//! Webex answers an oversized or malformed message with a terse 400; checking
//! the same rules here gives an error that names the field, before any call.

use serde::Serialize;
use serde_json::Value;

use super::error::RestError;
use super::types::{MessageEdit, NewMessage, OutAttachment, ADAPTIVE_CARD, MAX_TEXT_BYTES};
use crate::model::Destination;

impl NewMessage {
    /// Rules Webex enforces: a non-empty destination, `text` or `markdown`
    /// present (the card's fallback), each at most [`MAX_TEXT_BYTES`].
    pub fn validate(&self) -> Result<(), RestError> {
        let (field, id) = match &self.to {
            Destination::SpaceId(id) => ("roomId", id),
            Destination::PersonId(id) => ("toPersonId", id),
            Destination::PersonEmail(id) => ("toPersonEmail", id),
        };
        if id.trim().is_empty() {
            return Err(invalid(field, "must not be empty".into()));
        }
        if let Some(parent) = &self.parent_id {
            if parent.trim().is_empty() {
                return Err(invalid("parentId", "must not be empty when set".into()));
            }
        }
        validate_text(&self.text, &self.markdown)
    }
}

impl MessageEdit {
    /// Same text rules as [`NewMessage::validate`], plus a room id.
    pub fn validate(&self) -> Result<(), RestError> {
        if self.room_id.trim().is_empty() {
            return Err(invalid("roomId", "must not be empty".into()));
        }
        validate_text(&self.text, &self.markdown)
    }
}

fn validate_text(text: &Option<String>, markdown: &Option<String>) -> Result<(), RestError> {
    for (field, value) in [("text", text), ("markdown", markdown)] {
        if let Some(v) = value {
            if v.len() > MAX_TEXT_BYTES {
                return Err(invalid(field, format!("{} bytes, Webex accepts at most {MAX_TEXT_BYTES}", v.len())));
            }
        }
    }
    let present = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    if !present(text) && !present(markdown) {
        return Err(invalid("text", "text or markdown is required (it is also the fallback for cards)".into()));
    }
    Ok(())
}

fn invalid(field: &'static str, reason: String) -> RestError {
    RestError::Invalid { field, reason }
}

/// The JSON body of `POST /messages`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewMessageBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    room_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to_person_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to_person_email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    markdown: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<OutAttachment<'a>>,
}

impl<'a> From<&'a NewMessage> for NewMessageBody<'a> {
    fn from(m: &'a NewMessage) -> Self {
        let (mut room_id, mut to_person_id, mut to_person_email) = (None, None, None);
        match &m.to {
            Destination::SpaceId(id) => room_id = Some(id.as_str()),
            Destination::PersonId(id) => to_person_id = Some(id.as_str()),
            Destination::PersonEmail(e) => to_person_email = Some(e.as_str()),
        }
        Self {
            room_id,
            to_person_id,
            to_person_email,
            text: m.text.as_deref(),
            markdown: m.markdown.as_deref(),
            parent_id: m.parent_id.as_deref(),
            attachments: attachments(m.card.as_ref()),
        }
    }
}

/// The JSON body of `PUT /messages/{id}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EditBody<'a> {
    room_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    markdown: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<OutAttachment<'a>>,
}

impl<'a> From<&'a MessageEdit> for EditBody<'a> {
    fn from(e: &'a MessageEdit) -> Self {
        Self {
            room_id: &e.room_id,
            text: e.text.as_deref(),
            markdown: e.markdown.as_deref(),
            attachments: attachments(e.card.as_ref()),
        }
    }
}

fn attachments(card: Option<&Value>) -> Vec<OutAttachment<'_>> {
    card.map(|content| OutAttachment { content_type: ADAPTIVE_CARD, content }).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message() -> NewMessage {
        crate::webex::rest::testkit::card_message()
    }

    #[test]
    fn body_carries_one_destination_and_the_card_attachment() {
        let m = message();
        let body = serde_json::to_value(NewMessageBody::from(&m)).expect("json");
        assert_eq!(
            body,
            json!({
                "roomId": "R1",
                "text": "fallback",
                "attachments": [{
                    "contentType": ADAPTIVE_CARD,
                    "content": {"type": "AdaptiveCard", "version": "1.3"}
                }]
            })
        );
        let dm = NewMessage {
            to: Destination::PersonEmail("a@b.c".into()),
            card: None,
            parent_id: Some("P".into()),
            ..message()
        };
        let body = serde_json::to_value(NewMessageBody::from(&dm)).expect("json");
        assert_eq!(body, json!({"toPersonEmail": "a@b.c", "text": "fallback", "parentId": "P"}));
    }

    #[test]
    fn edit_body_has_room_text_and_card() {
        let edit = MessageEdit {
            room_id: "R1".into(),
            text: None,
            markdown: Some("**done**".into()),
            card: Some(json!({"version": "1.3"})),
        };
        edit.validate().expect("valid");
        let body = serde_json::to_value(EditBody::from(&edit)).expect("json");
        assert_eq!(body["roomId"], "R1");
        assert_eq!(body["markdown"], "**done**");
        assert_eq!(body["attachments"][0]["content"]["version"], "1.3");
        assert!(body.get("text").is_none());
    }

    #[test]
    fn validation_names_the_field() {
        assert!(message().validate().is_ok());
        let at_limit = NewMessage { text: Some("é".repeat(MAX_TEXT_BYTES / 2)), ..message() };
        assert!(at_limit.validate().is_ok());
        let long_markdown = NewMessage { markdown: Some("x".repeat(MAX_TEXT_BYTES + 1)), ..message() };
        let err = long_markdown.validate().unwrap_err();
        assert!(matches!(err, RestError::Invalid { field: "markdown", .. }), "{err}");
        assert!(err.to_string().contains("7440 bytes"), "{err}");
        let no_text = NewMessage { text: None, ..message() };
        assert!(matches!(no_text.validate(), Err(RestError::Invalid { field: "text", .. })));
        let nowhere = NewMessage { to: Destination::PersonId(" ".into()), ..message() };
        assert!(matches!(nowhere.validate(), Err(RestError::Invalid { field: "toPersonId", .. })));
    }
}
