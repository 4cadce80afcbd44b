//! Mercury frames: decoding what the server sends, encoding what the client sends.
//!
//! This is the only place that reads Mercury JSON. Every field but the activity's
//! `id` and `verb` is treated as optional, because Webex omits fields freely and a
//! missing one must never take the connection down. Content fields (`displayName`,
//! `content`, `inputs`) are encrypted for clients without KMS keys, so they are
//! never read: the plaintext is fetched over REST instead.

use super::event::{ActivityMeta, Event, PersonRef, RoomRef};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// A decoded server frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Present on event frames; echoed back in the ack.
    pub id: Option<String>,
    pub sequence: Option<u64>,
    pub body: FrameBody,
}

impl Frame {
    /// The id to acknowledge, if this frame must be acked. Control frames
    /// (`pong`, `shutdown`) are not acked: a pong's id is our own ping's.
    pub fn ack_id(&self) -> Option<&str> {
        match self.body {
            FrameBody::Pong { .. } | FrameBody::Shutdown | FrameBody::OtherControl { .. } => None,
            _ => self.id.as_deref(),
        }
    }
}

// One frame lives at a time and briefly: boxing the big variant buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameBody {
    Pong {
        ping_id: String,
    },
    /// The server announces a planned close: connect anew, then let this one go.
    Shutdown,
    /// `mercury.buffer_state` / `mercury.registration_status`: the socket is live.
    Ready,
    Activity(Event),
    /// An event type this daemon does not use (typing, KMS, highlights, ...).
    Ignored {
        event_type: String,
    },
    OtherControl {
        frame_type: String,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("frame is not JSON: {0}")]
    NotJson(String),
    #[error("frame has neither a type nor data.eventType")]
    Unrecognised,
    #[error("conversation.activity frame without data.activity.{0}")]
    MissingActivityField(&'static str),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawFrame {
    id: Option<String>,
    #[serde(rename = "type")]
    frame_type: Option<String>,
    sequence_number: Option<u64>,
    data: Option<RawData>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawData {
    event_type: Option<String>,
    activity: Option<RawActivity>,
}

#[derive(Deserialize)]
struct RawActivity {
    id: Option<String>,
    verb: Option<String>,
    published: Option<DateTime<Utc>>,
    actor: Option<RawPerson>,
    object: Option<RawObject>,
    target: Option<RawTarget>,
    parent: Option<RawParent>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPerson {
    id: Option<String>,
    #[serde(rename = "entryUUID")]
    entry_uuid: Option<String>,
    email_address: Option<String>,
    entry_email: Option<String>,
    display_name: Option<String>,
}

/// An activity's object: a person for membership verbs. On comments its
/// `displayName` is ciphertext, which is why only person objects are read.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawObject {
    object_type: Option<String>,
    #[serde(flatten)]
    fields: RawPerson,
}

#[derive(Deserialize)]
struct RawTarget {
    id: Option<String>,
    url: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Deserialize)]
struct RawParent {
    id: Option<String>,
}

/// Decodes one text frame. `bot_uuid` tells membership events about the bot
/// itself apart from those about other people.
/// Mercury's frames are a few kilobytes; a frame past this is skipped (and
/// acked, so that it is not sent again) rather than decoded.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;

pub fn decode(text: &str, bot_uuid: &str) -> Result<Frame, DecodeError> {
    let raw: RawFrame = serde_json::from_str(text).map_err(|e| DecodeError::NotJson(e.to_string()))?;
    let body = match (raw.frame_type.as_deref(), raw.data) {
        (Some("pong"), _) => FrameBody::Pong { ping_id: raw.id.clone().unwrap_or_default() },
        (Some("shutdown"), _) => FrameBody::Shutdown,
        (_, Some(data)) if data.event_type.is_some() => decode_data(data, bot_uuid)?,
        (Some(other), _) => FrameBody::OtherControl { frame_type: other.to_owned() },
        (None, _) => return Err(DecodeError::Unrecognised),
    };
    Ok(Frame { id: raw.id, sequence: raw.sequence_number, body })
}

fn decode_data(data: RawData, bot_uuid: &str) -> Result<FrameBody, DecodeError> {
    let event_type = data.event_type.unwrap_or_default();
    match event_type.as_str() {
        "mercury.buffer_state" | "mercury.registration_status" => Ok(FrameBody::Ready),
        "conversation.activity" => {
            let activity = data.activity.ok_or(DecodeError::MissingActivityField("activity"))?;
            Ok(FrameBody::Activity(decode_activity(activity, bot_uuid)?))
        }
        _ => Ok(FrameBody::Ignored { event_type }),
    }
}

fn decode_activity(activity: RawActivity, bot_uuid: &str) -> Result<Event, DecodeError> {
    let activity_id = activity.id.ok_or(DecodeError::MissingActivityField("id"))?;
    let verb = activity.verb.ok_or(DecodeError::MissingActivityField("verb"))?;
    let actor = activity.actor.and_then(person_from_actor);
    let by_bot = actor.as_ref().is_some_and(|actor| is_bot(&actor.uuid, bot_uuid));
    let meta = ActivityMeta {
        activity_id,
        published: activity.published,
        actor,
        room: activity.target.and_then(room_from_target),
        by_bot,
    };
    let object = activity.object;
    let object_id = object.as_ref().and_then(|o| o.fields.id.clone());
    Ok(match verb.as_str() {
        "cardAction" => Event::CardSubmitted { meta, card_message_uuid: activity.parent.and_then(|p| p.id) },
        "add" | "leave" => {
            let member = object.and_then(person_from_object).unwrap_or_default();
            let is_bot = is_bot(&member.uuid, bot_uuid);
            if verb == "add" {
                Event::MemberAdded { meta, member, is_bot }
            } else {
                Event::MemberRemoved { meta, member, is_bot }
            }
        }
        "create" => Event::RoomCreated { meta },
        "update" | "lock" | "unlock" => Event::RoomUpdated { meta, verb },
        "post" => Event::MessagePosted { meta },
        "delete" => Event::MessageDeleted { meta, message_uuid: object_id },
        _ => Event::Unknown { meta, verb },
    })
}

/// Uuids compare case-insensitively; an empty one is nobody.
fn is_bot(uuid: &str, bot_uuid: &str) -> bool {
    !uuid.is_empty() && uuid.eq_ignore_ascii_case(bot_uuid)
}

fn person_from_actor(actor: RawPerson) -> Option<PersonRef> {
    let uuid = actor.entry_uuid.or(actor.id)?;
    Some(PersonRef { uuid, email: actor.email_address.or(actor.entry_email), display_name: actor.display_name })
}

fn person_from_object(object: RawObject) -> Option<PersonRef> {
    if object.object_type.as_deref().is_some_and(|t| t != "person") {
        return None;
    }
    person_from_actor(object.fields)
}

fn room_from_target(target: RawTarget) -> Option<RoomRef> {
    Some(RoomRef {
        uuid: target.id?,
        is_direct: target.tags.iter().any(|t| t == "ONE_ON_ONE"),
        conversation_url: target.url,
    })
}

/// `{"id", "type": "authorization", "data": {"token": "Bearer ..."}}`: the first
/// frame after the socket opens.
pub fn authorization(frame_id: &str, token: &str) -> String {
    serde_json::json!({"id": frame_id, "type": "authorization", "data": {"token": format!("Bearer {token}")}})
        .to_string()
}

pub fn ping(ping_id: &str) -> String {
    serde_json::json!({"id": ping_id, "type": "ping"}).to_string()
}

pub fn ack(frame_id: &str) -> String {
    serde_json::json!({"messageId": frame_id, "type": "ack"}).to_string()
}

/// The frame id of a frame that would not decode, so that it can still be acked
/// (otherwise Mercury would redeliver the same bad frame forever).
pub fn salvage_id(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct JustId {
        id: Option<String>,
        data: Option<serde::de::IgnoredAny>,
    }
    let raw: JustId = serde_json::from_str(text).ok()?;
    raw.data.and(raw.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOT: &str = "3c1a7e52-9d4b-4f6e-a8c2-7b5d1e9f0a34";

    fn card_action(actor: serde_json::Value) -> ActivityMeta {
        let text = serde_json::json!({"id": "f1", "data": {"eventType": "conversation.activity", "activity": {
            "id": "a1", "verb": "cardAction", "actor": actor, "parent": {"id": "m1"}}}})
        .to_string();
        match decode(&text, BOT).unwrap().body {
            FrameBody::Activity(Event::CardSubmitted { meta, .. }) => meta,
            other => panic!("not a card submission: {other:?}"),
        }
    }

    #[test]
    fn the_bot_is_recognised_by_its_uuid_alone() {
        let ours = card_action(
            serde_json::json!({"id": BOT.to_uppercase(), "type": "PERSON", "emailAddress": "x@example.com"}),
        );
        assert!(ours.by_bot, "our uuid, whatever the type and email say");
        let other_bot =
            card_action(serde_json::json!({"id": "7f0e", "type": "ROBOT", "emailAddress": "hitl-bot@webex.bot"}));
        assert!(!other_bot.by_bot, "another uuid is not us, even typed ROBOT with a bot's email");
        assert!(!card_action(serde_json::json!({"type": "ROBOT"})).by_bot, "no uuid is nobody");
    }

    #[test]
    fn unknown_event_types_and_verbs_are_skipped_not_errors() {
        let typing = serde_json::json!({"id": "f2", "data": {"eventType": "status.start_typing"}}).to_string();
        let frame = decode(&typing, BOT).unwrap();
        assert_eq!(frame.body, FrameBody::Ignored { event_type: "status.start_typing".into() });
        assert_eq!(frame.ack_id(), Some("f2"), "acked, so that Mercury does not send it again");
        let verb = serde_json::json!({"id": "f3", "data": {"eventType": "conversation.activity",
            "activity": {"id": "a3", "verb": "acknowledge"}}})
        .to_string();
        match decode(&verb, BOT).unwrap().body {
            FrameBody::Activity(Event::Unknown { verb, .. }) => assert_eq!(verb, "acknowledge"),
            other => panic!("{other:?}"),
        }
    }
}
