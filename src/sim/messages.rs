//! Messages, cards and card submissions, with Webex's validation rules.
//!
//! The rules are the documented ones (see the protocol notes): one target,
//! 7439-byte text fields, at most one Adaptive Card with a text fallback,
//! one level of threading, ten edits, author-only edits and deletes.

use super::events::{ActObject, Parent};
use super::world::{new_uuid, World, WorldError};
use crate::webex::ids::{IdKind, RestId};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

pub const CARD_CONTENT_TYPE: &str = "application/vnd.microsoft.card.adaptive";
pub const MAX_TEXT_BYTES: usize = 7439;
pub const MAX_EDITS: u32 = 10;

#[derive(Clone, Debug)]
pub struct Message {
    pub uuid: String,
    pub room: String,
    pub author: String,
    pub text: Option<String>,
    pub markdown: Option<String>,
    /// The Adaptive Card (`attachments[0].content`), if any.
    pub card: Option<Value>,
    pub parent: Option<String>,
    /// People mentioned (uuids): what lets a bot read a group message.
    pub mentions: Vec<String>,
    /// The recipient (uuid) when posted with `toPersonId`/`toPersonEmail`.
    pub to_person: Option<String>,
    pub edits: u32,
    pub deleted: bool,
    pub created: DateTime<Utc>,
    pub updated: Option<DateTime<Utc>>,
}

/// One card submission; every click makes a new one.
#[derive(Clone, Debug)]
pub struct Action {
    pub uuid: String,
    pub message: String,
    pub person: String,
    pub room: String,
    pub inputs: Map<String, Value>,
    pub created: DateTime<Utc>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub content_type: Option<String>,
    pub content: Option<Value>,
}

/// What a new message holds besides its room and author.
#[derive(Default)]
struct Draft {
    text: Option<String>,
    markdown: Option<String>,
    card: Option<Value>,
    parent: Option<String>,
    mentions: Vec<String>,
    to_person: Option<String>,
}

/// The body of `POST /messages`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewMessage {
    pub room_id: Option<String>,
    pub to_person_id: Option<String>,
    pub to_person_email: Option<String>,
    pub parent_id: Option<String>,
    pub text: Option<String>,
    pub markdown: Option<String>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// The body of `PUT /messages/{id}`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EditMessage {
    pub room_id: Option<String>,
    pub text: Option<String>,
    pub markdown: Option<String>,
    pub attachments: Option<Vec<Attachment>>,
}

fn invalid(msg: &str) -> WorldError {
    WorldError::Invalid(msg.to_owned())
}

/// Checks text, markdown and attachments; returns the card content, if any.
fn validate_content(
    text: &Option<String>,
    markdown: &Option<String>,
    attachments: &[Attachment],
) -> Result<Option<Value>, WorldError> {
    for (name, field) in [("text", text), ("markdown", markdown)] {
        if field.as_ref().is_some_and(|s| s.len() > MAX_TEXT_BYTES) {
            return Err(WorldError::Invalid(format!(
                "The {name} of a message must be at most {MAX_TEXT_BYTES} bytes."
            )));
        }
    }
    if attachments.len() > 1 {
        return Err(invalid("Only one attachment per message is supported."));
    }
    let card = match attachments.first() {
        None => None,
        Some(a) if a.content_type.as_deref() != Some(CARD_CONTENT_TYPE) => {
            return Err(invalid("Attachment contentType must be application/vnd.microsoft.card.adaptive."))
        }
        Some(a) => Some(
            a.content
                .clone()
                .filter(Value::is_object)
                .ok_or_else(|| invalid("Attachment content must be an Adaptive Card object."))?,
        ),
    };
    let has_text = text.is_some() || markdown.is_some();
    if card.is_some() && !has_text {
        return Err(invalid("A message with an attachment must also have text or markdown."));
    }
    if card.is_none() && !has_text {
        return Err(invalid("A message needs text, markdown or an attachment."));
    }
    Ok(card)
}

/// The `data` of the card's first Action.Submit (titled `title`, if given),
/// searched depth-first; `None` when the card has no such button.
fn submit_data(card: &Value, title: Option<&str>) -> Option<Map<String, Value>> {
    match card {
        Value::Object(map) => {
            let titled = title.is_none_or(|t| map.get("title").and_then(Value::as_str) == Some(t));
            if map.get("type").and_then(Value::as_str) == Some("Action.Submit") && titled {
                return Some(match map.get("data") {
                    Some(Value::Object(data)) => data.clone(),
                    _ => Map::new(),
                });
            }
            map.values().find_map(|v| submit_data(v, title))
        }
        Value::Array(items) => items.iter().find_map(|v| submit_data(v, title)),
        _ => None,
    }
}

impl World {
    pub fn message(&self, uuid: &str) -> Option<&Message> {
        self.messages.get(uuid)
    }

    pub fn action(&self, uuid: &str) -> Option<&Action> {
        self.actions.get(uuid)
    }

    /// A live message in a room the bot is in, by REST id (cluster must match).
    pub fn bot_message(&self, id: &str) -> Result<&Message, WorldError> {
        let id = RestId::decode(id).map_err(|_| WorldError::MessageNotFound)?;
        let msg = self
            .messages
            .get(&id.uuid)
            .filter(|m| !m.deleted && id.kind == IdKind::Message)
            .ok_or(WorldError::MessageNotFound)?;
        let room = self.room(&msg.room).ok_or(WorldError::MessageNotFound)?;
        (room.cluster == id.cluster && room.has_member(&self.bot)).then_some(msg).ok_or(WorldError::MessageNotFound)
    }

    /// The room a new message goes to, and its recipient when addressed to a
    /// person. A DM by email reaches people of any org: only the *lookup*
    /// (`GET /people?email=`) is limited to the bot's own.
    fn target_room(&mut self, req: &NewMessage) -> Result<(String, Option<String>), WorldError> {
        let person = match (&req.room_id, &req.to_person_id, &req.to_person_email) {
            (Some(room), None, None) => return Ok((self.bot_room(room)?.uuid.clone(), None)),
            (None, Some(person), None) => self.person_by_rest(person),
            (None, None, Some(email)) => self.person_by_email(email),
            _ => return Err(invalid("Exactly one of roomId, toPersonId or toPersonEmail must be specified.")),
        };
        let uuid = person.ok_or(WorldError::PersonNotFound)?.uuid.clone();
        Ok((self.direct_room_with(&uuid)?, Some(uuid)))
    }

    fn thread_parent(&self, room: &str, parent_id: &Option<String>) -> Result<Option<String>, WorldError> {
        let Some(id) = parent_id else {
            return Ok(None);
        };
        let parent = self.bot_message(id).map_err(|_| invalid("parentId must be a message in the same room."))?;
        if parent.room != room {
            return Err(invalid("parentId must be a message in the same room."));
        }
        if parent.parent.is_some() {
            return Err(invalid("A reply cannot be the parent of another reply."));
        }
        Ok(Some(parent.uuid.clone()))
    }

    /// `POST /messages` by the bot; returns the new message's uuid.
    pub fn post_as_bot(&mut self, req: NewMessage) -> Result<String, WorldError> {
        let targets = [req.room_id.is_some(), req.to_person_id.is_some(), req.to_person_email.is_some()];
        if targets.iter().filter(|t| **t).count() != 1 {
            return Err(invalid("Exactly one of roomId, toPersonId or toPersonEmail must be specified."));
        }
        let card = validate_content(&req.text, &req.markdown, &req.attachments)?;
        let (room, to_person) = self.target_room(&req)?;
        let parent = self.thread_parent(&room, &req.parent_id)?;
        let draft = Draft { text: req.text, markdown: req.markdown, card, parent, mentions: Vec::new(), to_person };
        let bot = self.bot.clone();
        self.insert_message(&room, &bot, draft)
    }

    /// A person writes in a room they are in (scripting), mentioning `mentions` (uuids).
    pub fn post_as_person(
        &mut self,
        room: &str,
        person: &str,
        text: &str,
        mentions: &[String],
    ) -> Result<String, WorldError> {
        let r = self.room(room).ok_or(WorldError::RoomNotFound)?;
        if !r.has_member(person) {
            return Err(invalid("The person is not a member of the room."));
        }
        if let Some(unknown) = mentions.iter().find(|m| self.person(m).is_none()) {
            return Err(WorldError::Invalid(format!("Cannot mention unknown person {unknown}.")));
        }
        let draft = Draft { text: Some(text.to_owned()), mentions: mentions.to_vec(), ..Draft::default() };
        self.insert_message(room, person, draft)
    }

    /// Stores a message and announces it. The `post` activity's id *is* the
    /// message's uuid: clients build the REST id from it (`GET /messages/{id}`).
    fn insert_message(&mut self, room: &str, author: &str, d: Draft) -> Result<String, WorldError> {
        let uuid = new_uuid();
        let mut activity =
            self.activity("post", author, ActObject::Comment { mentions: d.mentions.clone() }, room, None)?;
        activity.id = uuid.clone();
        let r = self.room_mut(room)?;
        r.messages.push(uuid.clone());
        r.last_activity = activity.published;
        let message = Message {
            uuid: uuid.clone(),
            room: room.to_owned(),
            author: author.to_owned(),
            text: d.text,
            markdown: d.markdown,
            card: d.card,
            parent: d.parent,
            mentions: d.mentions,
            to_person: d.to_person,
            edits: 0,
            deleted: false,
            created: activity.published,
            updated: None,
        };
        self.messages.insert(uuid.clone(), message);
        self.emit(activity);
        Ok(uuid)
    }

    /// `PUT /messages/{id}` by the bot.
    pub fn edit_as_bot(&mut self, id: &str, req: EditMessage, refuse_cards: bool) -> Result<(), WorldError> {
        let msg = self.bot_message(id)?;
        let room_id = self.room(&msg.room).map(|r| r.rest_id());
        if msg.author != self.bot {
            return Err(WorldError::Forbidden("You can only edit your own messages.".into()));
        }
        if req.room_id.is_none() || req.room_id != room_id {
            return Err(invalid("roomId must be the room of the message."));
        }
        if msg.edits >= MAX_EDITS {
            return Err(invalid("Edit limit reached: a message can be edited at most 10 times."));
        }
        let attachments = req.attachments.unwrap_or_default();
        if refuse_cards && !attachments.is_empty() {
            return Err(invalid("Edits of messages containing files or attachments are not currently supported."));
        }
        let card = validate_content(&req.text, &req.markdown, &attachments)?;
        let uuid = msg.uuid.clone();
        let msg = self.messages.get_mut(&uuid).ok_or(WorldError::MessageNotFound)?;
        msg.text = req.text;
        msg.markdown = req.markdown;
        if card.is_some() {
            msg.card = card;
        }
        msg.edits += 1;
        msg.updated = Some(Utc::now());
        Ok(())
    }

    /// `DELETE /messages/{id}` by the bot (own messages only); emits `delete`.
    pub fn delete_as_bot(&mut self, id: &str) -> Result<(), WorldError> {
        let msg = self.bot_message(id)?;
        if msg.author != self.bot {
            return Err(WorldError::Forbidden("You can only delete your own messages.".into()));
        }
        let (uuid, room, bot) = (msg.uuid.clone(), msg.room.clone(), self.bot.clone());
        let activity = self.activity("delete", &bot, ActObject::Deleted(uuid.clone()), &room, None)?;
        if let Some(m) = self.messages.get_mut(&uuid) {
            m.deleted = true;
        }
        self.emit(activity);
        Ok(())
    }

    /// A member presses the card's (first) Action.Submit; returns the action's uuid.
    #[cfg(test)]
    pub fn submit_card(
        &mut self,
        message: &str,
        person: &str,
        inputs: Map<String, Value>,
    ) -> Result<String, WorldError> {
        self.press(message, person, None, inputs)
    }

    /// A member presses the card's Action.Submit titled `title` (the first one
    /// when `None`); returns the action's uuid.
    pub fn press(
        &mut self,
        message: &str,
        person: &str,
        title: Option<&str>,
        inputs: Map<String, Value>,
    ) -> Result<String, WorldError> {
        let msg = self.messages.get(message).filter(|m| !m.deleted).ok_or(WorldError::MessageNotFound)?;
        let card = msg.card.as_ref().ok_or_else(|| invalid("The message has no card."))?;
        let room = self.room(&msg.room).ok_or(WorldError::RoomNotFound)?;
        if !room.has_member(person) {
            return Err(invalid("The person is not a member of the room."));
        }
        // Inputs merged with the pressed button's data; typed values win.
        let mut merged = match (submit_data(card, title), title) {
            (Some(data), _) => data,
            (None, None) => Map::new(),
            (None, Some(_)) => return Err(invalid("The card has no such button.")),
        };
        merged.extend(inputs);
        let parent = Parent { id: msg.uuid.clone(), actor: msg.author.clone(), published: msg.created };
        let (room, message) = (msg.room.clone(), msg.uuid.clone());
        let mut activity = self.activity("cardAction", person, ActObject::Submit, &room, Some(parent))?;
        let uuid = new_uuid();
        activity.id = uuid.clone();
        self.actions.insert(
            uuid.clone(),
            Action {
                uuid: uuid.clone(),
                message,
                person: person.to_owned(),
                room,
                inputs: merged,
                created: activity.published,
            },
        );
        self.emit(activity);
        Ok(uuid)
    }
}

#[cfg(test)]
#[path = "messages_tests.rs"]
mod tests;
