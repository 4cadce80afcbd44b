//! The simulator's world: people (each in an organization), rooms and
//! memberships, as pure data.
//!
//! Everything Webex would remember lives here so that a test can stop the
//! simulator, keep the world and start again on the same port. Nothing here
//! does I/O; the HTTP and websocket layers lock the world, call a method and
//! render the answer. Messages live in `messages.rs`, devices and the event
//! queues in `events.rs`: they are further `impl World` blocks.

use super::events::{ActObject, Device};
use super::messages::{Action, Message};
use crate::webex::ids::{IdKind, RestId, US_CLUSTER};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};

/// The bot's organization, and every person's unless a script says otherwise.
pub const ORG_UUID: &str = "1eb65fdf-9643-417f-9974-ad72cae0e10f";
/// Another customer's organization, for people a bot can message but not look up.
pub const OTHER_ORG_UUID: &str = "5c7d2a91-3e48-4b6f-8d17-a2e9f0c4b863";
pub const BOT_EMAIL: &str = "hitl-bot@webex.bot";
pub const BOT_NAME: &str = "HITL Bot";
/// Where `migrate_room` moves a room, as Webex names a non-US cluster.
pub const MIGRATED_CLUSTER: &str = "urn:TEAM:eu-central-1_k";

#[derive(Clone, Debug)]
pub struct Person {
    pub uuid: String,
    pub email: String,
    pub display_name: String,
    pub is_bot: bool,
    /// Organization uuid: `GET /people?email=` finds only the bot's own org.
    pub org: String,
    pub created: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct Member {
    pub person: String,
    pub is_moderator: bool,
    pub created: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct Room {
    pub uuid: String,
    pub cluster: String,
    pub title: String,
    pub direct: bool,
    pub creator: String,
    pub created: DateTime<Utc>,
    pub last_activity: DateTime<Utc>,
    /// Creation order; the stable key the `GET /rooms` cursor points into.
    pub seq: u64,
    pub members: Vec<Member>,
    /// Message uuids in posting order.
    pub messages: Vec<String>,
}

impl Room {
    pub fn has_member(&self, person: &str) -> bool {
        self.members.iter().any(|m| m.person == person)
    }

    pub fn rest_id(&self) -> String {
        RestId::new(IdKind::Room, self.cluster.clone(), self.uuid.clone()).encode()
    }
}

/// Why a world operation was refused; the layers above map it to a status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorldError {
    #[error("Could not find a room with provided ID.")]
    RoomNotFound,
    #[error("Could not find a person with provided ID.")]
    PersonNotFound,
    #[error("Could not find a message with provided ID.")]
    MessageNotFound,
    #[error("Could not find an attachment action with provided ID.")]
    ActionNotFound,
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Forbidden(String),
}

#[derive(Clone, Debug)]
pub struct World {
    pub bot: String,
    /// Creator of rooms made by scripts; not a member of anything by default.
    pub owner: String,
    people: Vec<Person>,
    people_by_uuid: HashMap<String, usize>,
    pub(super) rooms: HashMap<String, Room>,
    rooms_by_seq: BTreeMap<u64, String>,
    next_seq: u64,
    pub(super) messages: HashMap<String, Message>,
    pub(super) actions: HashMap<String, Action>,
    pub(super) devices: Vec<Device>,
    pub(super) duplicate_next: bool,
}

pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    pub fn new() -> Self {
        let mut world = World {
            bot: String::new(),
            owner: String::new(),
            people: Vec::new(),
            people_by_uuid: HashMap::new(),
            rooms: HashMap::new(),
            rooms_by_seq: BTreeMap::new(),
            next_seq: 1,
            messages: HashMap::new(),
            actions: HashMap::new(),
            devices: Vec::new(),
            duplicate_next: false,
        };
        world.bot = world.insert_person(BOT_EMAIL, BOT_NAME, true, ORG_UUID);
        world.owner = world.insert_person("space.owner@example.com", "Space Owner", false, ORG_UUID);
        world
    }

    fn insert_person(&mut self, email: &str, name: &str, is_bot: bool, org: &str) -> String {
        let uuid = new_uuid();
        self.people_by_uuid.insert(uuid.clone(), self.people.len());
        self.people.push(Person {
            uuid: uuid.clone(),
            email: email.to_owned(),
            display_name: name.to_owned(),
            is_bot,
            org: org.to_owned(),
            created: Utc::now(),
        });
        uuid
    }

    /// Adds a person to the bot's org, or returns the one who already has that email.
    pub fn add_person(&mut self, email: &str, name: &str) -> String {
        self.add_person_in_org(email, name, ORG_UUID)
    }

    /// Adds a person to the organization `org` (a uuid), or returns the one
    /// who already has that email, whatever their org.
    pub fn add_person_in_org(&mut self, email: &str, name: &str, org: &str) -> String {
        match self.person_by_email(email) {
            Some(p) => p.uuid.clone(),
            None => self.insert_person(email, name, false, org),
        }
    }

    /// The bot's organization uuid.
    pub fn bot_org(&self) -> &str {
        self.person(&self.bot).map_or(ORG_UUID, |p| p.org.as_str())
    }

    /// What `GET /people?email=` finds: people of the bot's own org only.
    pub fn person_in_bot_org(&self, email: &str) -> Option<&Person> {
        self.person_by_email(email).filter(|p| p.org == self.bot_org())
    }

    /// Webex's `displayName` search: people of the bot's org whose name (or
    /// email) starts with `prefix`, ignoring case, at most `max`.
    pub fn people_named(&self, prefix: &str, max: usize) -> Vec<&Person> {
        let prefix = prefix.to_lowercase();
        let starts = |text: &str| text.to_lowercase().starts_with(&prefix);
        let org = self.bot_org();
        let found = self.people.iter().filter(|p| p.org == org && (starts(&p.display_name) || starts(&p.email)));
        found.take(max).collect()
    }

    pub fn people(&self) -> &[Person] {
        &self.people
    }

    pub fn person(&self, uuid: &str) -> Option<&Person> {
        self.people_by_uuid.get(uuid).map(|&i| &self.people[i])
    }

    /// Anyone with this email, in any org (scripts, and DMs by email).
    pub fn person_by_email(&self, email: &str) -> Option<&Person> {
        self.people.iter().find(|p| p.email.eq_ignore_ascii_case(email))
    }

    /// A person by REST id; people ids always use the US cluster.
    pub fn person_by_rest(&self, id: &str) -> Option<&Person> {
        let id = RestId::decode(id).ok()?;
        (id.kind == IdKind::People && id.cluster == US_CLUSTER).then(|| self.person(&id.uuid)).flatten()
    }

    pub fn room(&self, uuid: &str) -> Option<&Room> {
        self.rooms.get(uuid)
    }

    /// A room by REST id. The cluster must match: a stale or guessed cluster is a 404.
    pub fn room_by_rest(&self, id: &str) -> Option<&Room> {
        let id = RestId::decode(id).ok()?;
        let room = self.rooms.get(&id.uuid)?;
        (id.kind == IdKind::Room && id.cluster == room.cluster).then_some(room)
    }

    /// A room the bot is in, by REST id: what every bot-facing endpoint needs.
    pub fn bot_room(&self, id: &str) -> Result<&Room, WorldError> {
        self.room_by_rest(id).filter(|r| r.has_member(&self.bot)).ok_or(WorldError::RoomNotFound)
    }

    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    pub fn rooms_in_order(&self) -> impl Iterator<Item = &Room> {
        self.rooms_by_seq.values().filter_map(|u| self.rooms.get(u))
    }

    pub fn create_room(&mut self, title: &str, direct: bool, creator: &str) -> String {
        let uuid = new_uuid();
        let now = Utc::now();
        let seq = self.next_seq;
        self.next_seq += 1;
        self.rooms_by_seq.insert(seq, uuid.clone());
        self.rooms.insert(
            uuid.clone(),
            Room {
                uuid: uuid.clone(),
                cluster: US_CLUSTER.to_owned(),
                title: title.to_owned(),
                direct,
                creator: creator.to_owned(),
                created: now,
                last_activity: now,
                seq,
                members: Vec::new(),
                messages: Vec::new(),
            },
        );
        uuid
    }

    /// The 1:1 room between the bot and `person`, created silently if needed.
    pub fn direct_room_with(&mut self, person: &str) -> Result<String, WorldError> {
        let name = self.person(person).ok_or(WorldError::PersonNotFound)?.display_name.clone();
        let existing = self.rooms.values().find(|r| r.direct && r.has_member(person) && r.has_member(&self.bot));
        if let Some(room) = existing {
            return Ok(room.uuid.clone());
        }
        let bot = self.bot.clone();
        let uuid = self.create_room(&name, true, &bot);
        let room = self.room_mut(&uuid)?;
        for who in [bot, person.to_owned()] {
            room.members.push(Member { person: who, is_moderator: false, created: Utc::now() });
        }
        Ok(uuid)
    }

    pub(super) fn room_mut(&mut self, uuid: &str) -> Result<&mut Room, WorldError> {
        self.rooms.get_mut(uuid).ok_or(WorldError::RoomNotFound)
    }

    fn require_person(&self, uuid: &str) -> Result<(), WorldError> {
        self.person(uuid).map(|_| ()).ok_or(WorldError::PersonNotFound)
    }

    /// Adds `person` and announces it (verb `add`) once they are in.
    pub fn add_member(&mut self, room: &str, person: &str, actor: &str) -> Result<(), WorldError> {
        self.require_person(person)?;
        self.require_person(actor)?;
        let r = self.room_mut(room)?;
        if r.has_member(person) {
            return Err(WorldError::Invalid("Person is already a member.".into()));
        }
        r.members.push(Member { person: person.to_owned(), is_moderator: false, created: Utc::now() });
        r.last_activity = Utc::now();
        self.emit_member_change("add", room, person, actor)
    }

    /// Removes `person` and announces it (verb `leave`); the bot hears its own removal.
    pub fn remove_member(&mut self, room: &str, person: &str, actor: &str) -> Result<(), WorldError> {
        self.require_person(actor)?;
        let r = self.room_mut(room)?;
        let before = r.members.len();
        r.members.retain(|m| m.person != person);
        if r.members.len() == before {
            return Err(WorldError::Invalid("Person is not a member.".into()));
        }
        r.last_activity = Utc::now();
        self.emit_member_change("leave", room, person, actor)
    }

    fn emit_member_change(&mut self, verb: &str, room: &str, person: &str, actor: &str) -> Result<(), WorldError> {
        let who = self.person(person).ok_or(WorldError::PersonNotFound)?;
        let object = ActObject::Person(who.clone());
        let activity = self.activity(verb, actor, object, room, None)?;
        self.emit(activity);
        Ok(())
    }

    pub fn rename_room(&mut self, room: &str, title: &str) -> Result<(), WorldError> {
        let r = self.room_mut(room)?;
        r.title = title.to_owned();
        r.last_activity = Utc::now();
        let actor = r.creator.clone();
        let activity = self.activity("update", &actor, ActObject::Conversation, room, None)?;
        self.emit(activity);
        Ok(())
    }

    /// Queues a room update frame padded to about `bytes` (see [`ActObject::Padded`]).
    pub fn emit_padded(&mut self, room: &str, bytes: usize) -> Result<(), WorldError> {
        let actor = self.room(room).ok_or(WorldError::RoomNotFound)?.creator.clone();
        let activity = self.activity("update", &actor, ActObject::Padded(bytes), room, None)?;
        self.emit(activity);
        Ok(())
    }

    /// Moves a room to another cluster under a new uuid; the old id stops resolving.
    pub fn migrate_room(&mut self, room: &str) -> Result<String, WorldError> {
        let mut r = self.rooms.remove(room).ok_or(WorldError::RoomNotFound)?;
        let new = new_uuid();
        r.uuid = new.clone();
        r.cluster = MIGRATED_CLUSTER.to_owned();
        for m in &r.messages {
            if let Some(msg) = self.messages.get_mut(m) {
                msg.room = new.clone();
            }
        }
        for action in self.actions.values_mut().filter(|a| a.room == room) {
            action.room = new.clone();
        }
        self.rooms_by_seq.insert(r.seq, new.clone());
        self.rooms.insert(new.clone(), r);
        Ok(new)
    }

    /// One page of the bot's rooms after `cursor` (a room `seq`), and the cursor
    /// of the next page if there is one. Walks the seq index, so paging through
    /// thousands of rooms stays linear overall.
    pub fn bot_rooms_page(&self, cursor: u64, max: usize, direct: Option<bool>) -> (Vec<&Room>, Option<u64>) {
        let mut page = Vec::with_capacity(max.min(1000));
        let matching = self
            .rooms_by_seq
            .range(cursor.saturating_add(1)..)
            .filter_map(|(_, u)| self.rooms.get(u))
            .filter(|r| r.has_member(&self.bot))
            .filter(|r| direct.is_none_or(|d| r.direct == d));
        for room in matching {
            if page.len() == max {
                let next = page.last().map(|r: &&Room| r.seq);
                return (page, next);
            }
            page.push(room);
        }
        (page, None)
    }
}

#[cfg(test)]
#[path = "world_tests.rs"]
mod tests;
