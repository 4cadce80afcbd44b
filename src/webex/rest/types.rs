//! Typed Webex REST objects, deserialized tolerantly.
//!
//! Other Webex clients crashed on missing or null optional fields; here every
//! field but `id` has a default, `null` counts as missing, unreadable dates
//! become `None`, and unknown fields are ignored.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::model::Destination;

/// Longest `text` or `markdown` Webex accepts, in bytes.
pub const MAX_TEXT_BYTES: usize = 7439;

/// Content type of an Adaptive Card attachment.
pub const ADAPTIVE_CARD: &str = "application/vnd.microsoft.card.adaptive";

/// `null` (or absent, with `#[serde(default)]`) becomes the type's default.
fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An RFC 3339 timestamp, or `None` for anything unreadable.
pub(crate) fn lenient_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let value = Option::<Value>::deserialize(d)?;
    Ok(value
        .as_ref()
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc)))
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub emails: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub display_name: String,
    #[serde(default)]
    pub nick_name: Option<String>,
    #[serde(default)]
    pub org_id: Option<String>,
    /// `"bot"` or `"person"`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub created: Option<DateTime<Utc>>,
}

impl Person {
    pub fn primary_email(&self) -> Option<&str> {
        self.emails.first().map(String::as_str)
    }
}

/// A room's type; unknown values are kept rather than rejected.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RoomType {
    Direct,
    Group,
    Other(String),
}

impl RoomType {
    pub fn as_str(&self) -> &str {
        match self {
            RoomType::Direct => "direct",
            RoomType::Group => "group",
            RoomType::Other(s) => s,
        }
    }
}

impl Default for RoomType {
    fn default() -> Self {
        RoomType::Other(String::new())
    }
}

impl<'de> Deserialize<'de> for RoomType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Option::<Value>::deserialize(d)?;
        Ok(match value.as_ref().and_then(Value::as_str) {
            Some("direct") => RoomType::Direct,
            Some("group") => RoomType::Group,
            Some(other) => RoomType::Other(other.to_string()),
            None => RoomType::default(),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    pub id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub title: String,
    #[serde(default, rename = "type")]
    pub room_type: RoomType,
    #[serde(default, deserialize_with = "null_default")]
    pub is_locked: bool,
    #[serde(default)]
    pub team_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub last_activity: Option<DateTime<Utc>>,
    #[serde(default)]
    pub creator_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub created: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "null_default")]
    pub is_read_only: bool,
    #[serde(default, deserialize_with = "null_default")]
    pub is_announcement_only: bool,
}

/// `sortBy` of `GET /rooms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoomSort {
    Id,
    LastActivity,
    Created,
}

impl RoomSort {
    pub fn as_str(self) -> &'static str {
        match self {
            RoomSort::Id => "id",
            RoomSort::LastActivity => "lastactivity",
            RoomSort::Created => "created",
        }
    }
}

/// What `GET /rooms` should list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomQuery {
    pub room_type: Option<RoomType>,
    pub sort_by: Option<RoomSort>,
    /// Page size (`max`, 1–1000).
    pub page_size: u32,
}

impl Default for RoomQuery {
    fn default() -> Self {
        Self { room_type: None, sort_by: None, page_size: 1000 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub room_id: String,
    #[serde(default, deserialize_with = "null_default")]
    pub person_id: String,
    #[serde(default)]
    pub person_email: Option<String>,
    #[serde(default)]
    pub person_display_name: Option<String>,
    #[serde(default)]
    pub person_org_id: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub is_moderator: bool,
    #[serde(default)]
    pub room_type: Option<RoomType>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub created: Option<DateTime<Utc>>,
}

/// Narrows `GET /memberships` to one person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PersonFilter {
    Id(String),
    Email(String),
}

/// A message to post. `text` or `markdown` is required (the fallback shown by
/// clients that cannot render the card).
#[derive(Clone, Debug, PartialEq)]
pub struct NewMessage {
    pub to: Destination,
    pub text: Option<String>,
    pub markdown: Option<String>,
    pub parent_id: Option<String>,
    /// Adaptive Card content, sent as the one attachment.
    pub card: Option<Value>,
}

/// A replacement for one of the bot's messages (`PUT /messages/{id}`).
#[derive(Clone, Debug, PartialEq)]
pub struct MessageEdit {
    pub room_id: String,
    pub text: Option<String>,
    pub markdown: Option<String>,
    pub card: Option<Value>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(from = "WireMessage")]
pub struct Message {
    pub id: String,
    pub room_id: String,
    pub room_type: Option<RoomType>,
    pub text: Option<String>,
    pub markdown: Option<String>,
    pub parent_id: Option<String>,
    pub person_id: Option<String>,
    pub person_email: Option<String>,
    /// The recipient of a message posted to a person (`toPersonId`): how a DM
    /// by email learns who it reached, whatever org they are in.
    pub to_person_id: Option<String>,
    pub created: Option<DateTime<Utc>>,
    /// Content of the first Adaptive Card attachment.
    pub card: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireMessage {
    id: String,
    #[serde(default, deserialize_with = "null_default")]
    room_id: String,
    #[serde(default)]
    room_type: Option<RoomType>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    markdown: Option<String>,
    #[serde(default)]
    parent_id: Option<String>,
    #[serde(default)]
    person_id: Option<String>,
    #[serde(default)]
    person_email: Option<String>,
    #[serde(default)]
    to_person_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    created: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "null_default")]
    attachments: Vec<Value>,
}

impl From<WireMessage> for Message {
    fn from(w: WireMessage) -> Self {
        let card = w
            .attachments
            .into_iter()
            .find(|a| a.get("contentType").and_then(Value::as_str) == Some(ADAPTIVE_CARD))
            .and_then(|mut a| a.get_mut("content").map(Value::take));
        Message {
            id: w.id,
            room_id: w.room_id,
            room_type: w.room_type,
            text: w.text,
            markdown: w.markdown,
            parent_id: w.parent_id,
            person_id: w.person_id,
            person_email: w.person_email,
            to_person_id: w.to_person_id,
            created: w.created,
            card,
        }
    }
}

/// A card submission (`GET /attachment/actions/{id}`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentAction {
    pub id: String,
    #[serde(default, rename = "type")]
    pub action_type: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub message_id: String,
    /// Card inputs merged with the pressed action's `data`; non-string values
    /// are kept as their JSON text.
    #[serde(default, deserialize_with = "string_map")]
    pub inputs: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_default")]
    pub person_id: String,
    #[serde(default)]
    pub room_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    pub created: Option<DateTime<Utc>>,
}

fn string_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let Some(Value::Object(map)) = Option::<Value>::deserialize(d)? else {
        return Ok(BTreeMap::new());
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect())
}

/// `{"items": [...]}`, the shape of every list answer.
#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub(crate) struct Items<T> {
    #[serde(default = "Vec::new", deserialize_with = "null_default")]
    pub items: Vec<T>,
}

/// An attachment as sent.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OutAttachment<'a> {
    pub content_type: &'static str,
    pub content: &'a Value,
}

#[cfg(test)]
#[path = "types_tests.rs"]
mod tests;
