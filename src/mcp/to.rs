//! `to`, the destination of a card or message, in the forms a model is most
//! likely to write: a plain string (an email is a person, a Webex room id a
//! space, a Webex person id a person) or the daemon's own one-key object
//! (`{"space_id"}`, `{"person_email"}`, `{"person_id"}`).

use super::error::ToolError;
use crate::model::Destination;
use crate::webex::ids::{IdKind, RestId};
use rmcp::schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::borrow::Cow;

/// Where it goes, as given; [`To::destination`] says what it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct To(Value);

impl<'de> Deserialize<'de> for To {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(To)
    }
}

impl To {
    pub fn destination(&self) -> Result<Destination, ToolError> {
        match &self.0 {
            Value::String(text) => plain(text),
            Value::Object(_) => serde_json::from_value::<Destination>(self.0.clone())
                .map_err(|e| ToolError::Arguments(format!("to: {e}"))),
            other => Err(ToolError::Arguments(format!(
                "to: give an email, a space id, or one of {{\"space_id\"}}, {{\"person_email\"}}, {{\"person_id\"}}; got {other}"
            ))),
        }
    }
}

/// An email is a person; otherwise a Webex id says its own kind.
fn plain(text: &str) -> Result<Destination, ToolError> {
    let text = text.trim();
    if text.contains('@') {
        return Ok(Destination::PersonEmail(text.to_owned()));
    }
    match RestId::decode(text).map(|id| id.kind) {
        Ok(IdKind::Room) => Ok(Destination::SpaceId(text.to_owned())),
        Ok(IdKind::People) => Ok(Destination::PersonId(text.to_owned())),
        _ => Err(ToolError::Arguments(format!(
            "to: {text:?} is neither an email nor a Webex space or person id; take a space id from list_spaces, or give the specialist's email"
        ))),
    }
}

impl JsonSchema for To {
    fn schema_name() -> Cow<'static, str> {
        "Destination".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Who gets it. Either a string: a space id from list_spaces (the card goes to that Webex space, any member may answer) or a person's email (a direct message, only that person may answer). Or an object with exactly one key: {\"space_id\": \"...\"}, {\"person_email\": \"...\"} or {\"person_id\": \"...\"}.",
            "anyOf": [
                {"type": "string", "description": "A space id from list_spaces, or a person's email address."},
                {"type": "object", "properties": {"space_id": {"type": "string"}}, "required": ["space_id"], "additionalProperties": false},
                {"type": "object", "properties": {"person_email": {"type": "string"}}, "required": ["person_email"], "additionalProperties": false},
                {"type": "object", "properties": {"person_id": {"type": "string"}}, "required": ["person_id"], "additionalProperties": false}
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn to(value: Value) -> Result<Destination, ToolError> {
        serde_json::from_value::<To>(value).unwrap().destination()
    }

    #[test]
    fn a_plain_string_is_read_by_its_form() {
        let room = RestId::new(IdKind::Room, "us", "5f1b").encode();
        let person = RestId::new(IdKind::People, "us", "a0c2").encode();
        assert_eq!(to(json!("ana@example.com")).unwrap(), Destination::PersonEmail("ana@example.com".into()));
        assert_eq!(to(json!(room.clone())).unwrap(), Destination::SpaceId(room));
        assert_eq!(to(json!(person.clone())).unwrap(), Destination::PersonId(person));
        let message = RestId::new(IdKind::Message, "us", "77").encode();
        assert!(to(json!(message)).unwrap_err().to_string().contains("neither an email"));
        assert!(to(json!("VIP Escalations")).unwrap_err().to_string().contains("list_spaces"));
    }

    #[test]
    fn the_object_form_is_the_daemons() {
        assert_eq!(to(json!({"space_id": "R"})).unwrap(), Destination::SpaceId("R".into()));
        let two = to(json!({"space_id": "R", "person_id": "P"})).unwrap_err();
        assert!(two.to_string().contains("several destinations"), "{two}");
        assert_eq!(to(json!(7)).unwrap_err().code(), "invalid");
    }
}
