//! What a bot may read: Webex shows a bot the messages of its 1:1 rooms, its
//! own messages, and group messages that mention it — nothing else.
//!
//! A bot still *hears* every `post` activity of its rooms on Mercury, so a
//! client that fetches each one gets 404s for the rest; that is what real
//! Webex does, and why a bot must never depend on reading group chatter.
//! Listing (`GET /messages`) follows the documented rules: `roomId` is
//! required, a group room needs `mentionedPeople=me` (else 403), newest first.

use super::messages::Message;
use super::world::{World, WorldError};
use crate::webex::ids::{IdKind, RestId};
use chrono::{DateTime, Utc};

/// `GET /messages` as a bot asks it, parsed.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    pub room_id: String,
    /// `mentionedPeople` was `me` or the bot's own id.
    pub mentioning_me: bool,
    pub parent_id: Option<String>,
    pub before: Option<DateTime<Utc>>,
    pub before_message: Option<String>,
}

impl World {
    /// Whether the bot may `GET` this message.
    pub fn bot_may_read(&self, m: &Message) -> bool {
        let Some(room) = self.room(&m.room) else {
            return false;
        };
        let in_room = room.has_member(&self.bot);
        !m.deleted && in_room && (room.direct || m.author == self.bot || m.mentions.contains(&self.bot))
    }

    /// `GET /messages/{id}`: a message the bot may read, by REST id; others are
    /// a 404, indistinguishable from an unknown id.
    pub fn readable_message(&self, id: &str) -> Result<&Message, WorldError> {
        let msg = self.bot_message(id)?;
        self.bot_may_read(msg).then_some(msg).ok_or(WorldError::MessageNotFound)
    }

    /// The same through the conversation service (`target.url` rewritten), by uuid.
    pub fn readable_message_by_uuid(&self, uuid: &str) -> Result<&Message, WorldError> {
        let msg = self.message(uuid).ok_or(WorldError::MessageNotFound)?;
        self.bot_may_read(msg).then_some(msg).ok_or(WorldError::MessageNotFound)
    }

    /// `GET /messages?roomId=…`: the matching messages, newest first.
    pub fn list_messages(&self, q: &ListQuery) -> Result<Vec<&Message>, WorldError> {
        let room = self.bot_room(&q.room_id)?;
        if !room.direct && !q.mentioning_me {
            return Err(WorldError::Forbidden("Failed to get activity.".into()));
        }
        let parent = match &q.parent_id {
            Some(id) => Some(self.bot_message(id)?.uuid.clone()),
            None => None,
        };
        // Posting order decides "before", so equal timestamps still page right.
        let end = match &q.before_message {
            Some(id) => {
                let uuid = &self.bot_message(id)?.uuid;
                room.messages.iter().position(|m| m == uuid).unwrap_or(room.messages.len())
            }
            None => room.messages.len(),
        };
        let found = room.messages[..end]
            .iter()
            .rev()
            .filter_map(|u| self.message(u))
            .filter(|m| !m.deleted && (!q.mentioning_me || m.mentions.contains(&self.bot)))
            .filter(|m| parent.as_ref().is_none_or(|p| m.parent.as_ref() == Some(p)))
            .filter(|m| q.before.is_none_or(|t| m.created < t))
            .collect();
        Ok(found)
    }

    /// Whether `mentionedPeople` names the bot: `me` or its person id. Webex
    /// refuses anyone else for a bot.
    pub fn names_the_bot(&self, mentioned: &str) -> bool {
        if mentioned == "me" {
            return true;
        }
        RestId::decode(mentioned).is_ok_and(|id| id.kind == IdKind::People && id.uuid == self.bot)
    }
}

#[cfg(test)]
#[path = "reading_tests.rs"]
mod tests;
