//! The scripting API ([`SimHandle`]) and the state every server task shares.
//!
//! Tests and the control API act as the humans of the simulated Webex: they
//! add people, rooms and members, post messages and press card buttons here,
//! and flip faults (`handle_faults.rs`). Ids in and out are REST ids, as a
//! Webex user would see them.

use super::faults::{ConnCommand, Faults};
use super::render::Urls;
use super::settings::Settings;
use super::world::{World, WorldError};
use crate::webex::ids::{IdKind, RestId, US_CLUSTER};
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

#[derive(Clone, Debug, Serialize)]
pub struct SimPerson {
    pub id: String,
    pub uuid: String,
    pub email: String,
    pub display_name: String,
    /// The person's organization (REST id); the bot's unless created elsewhere.
    pub org_id: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct SimRoom {
    pub id: String,
    pub uuid: String,
    pub title: String,
    pub room_type: String,
    pub cluster: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct SimMessage {
    pub id: String,
    pub room_id: String,
    pub person_id: String,
    pub text: Option<String>,
    pub markdown: Option<String>,
    pub card: Option<Value>,
    pub parent_id: Option<String>,
    pub edits: u32,
    pub deleted: bool,
}

/// One logged call to a Webex endpoint (`/v1`, `/wdm`, `/u2c`, `/conversation`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RestCall {
    pub method: String,
    pub path: String,
    pub status: u16,
}

/// Why a scripting call was refused.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid: {0}")]
    Invalid(String),
}

impl From<WorldError> for SimError {
    fn from(e: WorldError) -> Self {
        match e {
            WorldError::Invalid(m) | WorldError::Forbidden(m) => SimError::Invalid(m),
            other => SimError::NotFound(other.to_string()),
        }
    }
}

/// State shared by the server tasks and every handle.
pub(crate) struct Shared {
    world: Mutex<World>,
    /// `http://127.0.0.1:PORT` (`https://localhost:PORT` with TLS), the host of every URL the simulator hands out.
    pub base: String,
    /// The same listener by another host name: the migrated cluster's conversation host.
    pub other: String,
    /// The one bot token accepted; regenerating it (as in the Developer Portal) kills the old one.
    token: RwLock<String>,
    pub faults: Faults,
    pub settings: Settings,
    /// Bumped after every world change; Mercury connections wait on it.
    pub changed: watch::Sender<u64>,
    pub commands: broadcast::Sender<ConnCommand>,
    pub connections: AtomicUsize,
    /// Websocket upgrade requests held unanswered by the `stall-upgrades` fault.
    pub stalled: AtomicUsize,
    /// Every ack received; `acks_matched` removed a buffered frame, `acks_unmatched` did not.
    pub acked: AtomicUsize,
    pub acks_matched: AtomicUsize,
    pub acks_unmatched: AtomicUsize,
    pub next_conn_id: AtomicU64,
    calls: Mutex<Vec<RestCall>>,
    pub cancel: CancellationToken,
    pub tasks: TaskTracker,
}

impl Shared {
    pub fn new(world: World, base: String, other: String, token: String, settings: Settings) -> Self {
        Self {
            world: Mutex::new(world),
            base,
            other,
            token: RwLock::new(token),
            faults: Faults::default(),
            settings,
            changed: watch::channel(0).0,
            commands: broadcast::channel(64).0,
            connections: AtomicUsize::new(0),
            stalled: AtomicUsize::new(0),
            acked: AtomicUsize::new(0),
            acks_matched: AtomicUsize::new(0),
            acks_unmatched: AtomicUsize::new(0),
            next_conn_id: AtomicU64::new(1),
            calls: Mutex::new(Vec::new()),
            cancel: CancellationToken::new(),
            tasks: TaskTracker::new(),
        }
    }

    pub fn urls(&self) -> Urls<'_> {
        Urls { base: &self.base, other: &self.other }
    }

    /// The bot token Webex accepts now.
    pub fn token(&self) -> String {
        self.token.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_token(&self, token: &str) {
        *self.token.write().unwrap_or_else(|e| e.into_inner()) = token.to_owned();
    }

    /// Read access; never held across an await.
    pub fn read(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Mutates the world and wakes the Mercury connections.
    pub fn update<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let result = f(&mut self.read());
        self.changed.send_modify(|g| *g += 1);
        result
    }

    pub fn log_call(&self, call: RestCall) {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).push(call);
    }

    pub fn command(&self, cmd: ConnCommand) {
        // No receivers just means no live connection: nothing to do.
        let _ = self.commands.send(cmd);
    }
}

/// A cloneable remote control for a running simulator.
#[derive(Clone)]
pub struct SimHandle {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) fn sim_person(p: &super::world::Person) -> SimPerson {
    SimPerson {
        id: RestId::new(IdKind::People, US_CLUSTER, p.uuid.clone()).encode(),
        uuid: p.uuid.clone(),
        email: p.email.clone(),
        display_name: p.display_name.clone(),
        org_id: RestId::new(IdKind::Organization, US_CLUSTER, p.org.clone()).encode(),
    }
}

pub(crate) fn sim_room(r: &super::world::Room) -> SimRoom {
    SimRoom {
        id: r.rest_id(),
        uuid: r.uuid.clone(),
        title: r.title.clone(),
        room_type: if r.direct { "direct" } else { "group" }.to_owned(),
        cluster: r.cluster.clone(),
    }
}

fn sim_message(w: &World, m: &super::messages::Message) -> SimMessage {
    let cluster = w.room(&m.room).map_or(US_CLUSTER, |r| r.cluster.as_str());
    let id = |kind, uuid: &str| RestId::new(kind, cluster, uuid).encode();
    SimMessage {
        id: id(IdKind::Message, &m.uuid),
        room_id: id(IdKind::Room, &m.room),
        person_id: RestId::new(IdKind::People, US_CLUSTER, m.author.clone()).encode(),
        text: m.text.clone(),
        markdown: m.markdown.clone(),
        card: m.card.clone(),
        parent_id: m.parent.as_deref().map(|p| id(IdKind::Message, p)),
        edits: m.edits,
        deleted: m.deleted,
    }
}

fn room_uuid(w: &World, id: &str) -> Result<String, SimError> {
    w.room_by_rest(id).map(|r| r.uuid.clone()).ok_or_else(|| SimError::NotFound(format!("room {id}")))
}

fn person_uuid(w: &World, id: &str) -> Result<String, SimError> {
    w.person_by_rest(id).map(|p| p.uuid.clone()).ok_or_else(|| SimError::NotFound(format!("person {id}")))
}

/// A message by REST id, deleted or not (scripts may look at anything).
fn message_uuid(w: &World, id: &str) -> Result<String, SimError> {
    let not_found = || SimError::NotFound(format!("message {id}"));
    let rest = RestId::decode(id).map_err(|_| not_found())?;
    let msg = w.message(&rest.uuid).ok_or_else(not_found)?;
    let cluster_ok = w.room(&msg.room).is_some_and(|r| r.cluster == rest.cluster);
    (rest.kind == IdKind::Message && cluster_ok).then(|| msg.uuid.clone()).ok_or_else(not_found)
}

impl SimHandle {
    pub fn bot(&self) -> SimPerson {
        let w = self.shared.read();
        let bot = w.person(&w.bot).map(sim_person);
        bot.expect("the bot is created with the world and never removed")
    }

    pub fn add_person(&self, email: &str, display_name: &str) -> SimPerson {
        self.shared.update(|w| {
            let uuid = w.add_person(email, display_name);
            let person = w.person(&uuid).map(sim_person);
            person.expect("just added")
        })
    }

    /// A person in the organization `org` (a uuid, e.g. [`super::OTHER_ORG_UUID`],
    /// or a REST organization id): the bot can message them by email but not
    /// look them up.
    pub fn add_person_in_org(&self, email: &str, display_name: &str, org: &str) -> SimPerson {
        let org =
            RestId::decode(org).ok().filter(|id| id.kind == IdKind::Organization).map_or(org.to_owned(), |id| id.uuid);
        self.shared.update(|w| {
            let uuid = w.add_person_in_org(email, display_name, &org);
            let person = w.person(&uuid).map(sim_person);
            person.expect("just added")
        })
    }

    pub fn person_by_email(&self, email: &str) -> Option<SimPerson> {
        self.shared.read().person_by_email(email).map(sim_person)
    }

    pub fn create_room(&self, title: &str) -> SimRoom {
        self.shared.update(|w| {
            let owner = w.owner.clone();
            let uuid = w.create_room(title, false, &owner);
            w.room(&uuid).map(sim_room).expect("just created")
        })
    }

    /// The bot's 1:1 room with a person, made silently as a post to them makes it.
    pub fn direct_room(&self, person_id: &str) -> Result<SimRoom, SimError> {
        self.shared.update(|w| {
            let uuid = w.direct_room_with(&person_uuid(w, person_id)?)?;
            w.room(&uuid).map(sim_room).ok_or(SimError::NotFound(uuid))
        })
    }

    fn member_change(&self, room_id: &str, person_id: &str, actor_id: Option<&str>, add: bool) -> Result<(), SimError> {
        self.shared.update(|w| {
            let room = room_uuid(w, room_id)?;
            let person = person_uuid(w, person_id)?;
            let actor = match actor_id {
                Some(a) => person_uuid(w, a)?,
                None => w.room(&room).map(|r| r.creator.clone()).unwrap_or_default(),
            };
            let done = if add { w.add_member(&room, &person, &actor) } else { w.remove_member(&room, &person, &actor) };
            done.map_err(SimError::from)
        })
    }

    pub fn add_member(&self, room_id: &str, person_id: &str, actor_id: Option<&str>) -> Result<(), SimError> {
        self.member_change(room_id, person_id, actor_id, true)
    }

    pub fn remove_member(&self, room_id: &str, person_id: &str, actor_id: Option<&str>) -> Result<(), SimError> {
        self.member_change(room_id, person_id, actor_id, false)
    }

    pub fn rename_room(&self, room_id: &str, title: &str) -> Result<(), SimError> {
        self.shared.update(|w| {
            let room = room_uuid(w, room_id)?;
            w.rename_room(&room, title).map_err(SimError::from)
        })
    }

    pub fn migrate_room(&self, room_id: &str) -> Result<SimRoom, SimError> {
        self.shared.update(|w| {
            let room = room_uuid(w, room_id)?;
            let new = w.migrate_room(&room)?;
            w.room(&new).map(sim_room).ok_or(SimError::NotFound(new))
        })
    }

    pub fn submit_card(
        &self,
        message_id: &str,
        person_id: &str,
        inputs: Map<String, Value>,
    ) -> Result<String, SimError> {
        self.press(message_id, person_id, None, inputs)
    }

    /// A member presses the card's button titled `title` (the first one when `None`).
    pub fn press(
        &self,
        message_id: &str,
        person_id: &str,
        title: Option<&str>,
        inputs: Map<String, Value>,
    ) -> Result<String, SimError> {
        self.shared.update(|w| {
            let message = message_uuid(w, message_id)?;
            let person = person_uuid(w, person_id)?;
            let action = w.press(&message, &person, title, inputs)?;
            let cluster = w.action(&action).and_then(|a| w.room(&a.room));
            let cluster = cluster.map_or(US_CLUSTER.to_owned(), |r| r.cluster.clone());
            Ok(RestId::new(IdKind::AttachmentAction, cluster, action).encode())
        })
    }

    pub fn post_message(&self, room_id: &str, person_id: &str, text: &str) -> Result<String, SimError> {
        self.post_message_mentioning(room_id, person_id, text, &[])
    }

    /// As [`SimHandle::post_message`], mentioning people (by REST id): a bot
    /// may read a group message only when it is mentioned.
    pub fn post_message_mentioning(
        &self,
        room_id: &str,
        person_id: &str,
        text: &str,
        mentioned: &[String],
    ) -> Result<String, SimError> {
        self.shared.update(|w| {
            let room = room_uuid(w, room_id)?;
            let person = person_uuid(w, person_id)?;
            let mentions = mentioned.iter().map(|id| person_uuid(w, id)).collect::<Result<Vec<_>, _>>()?;
            let uuid = w.post_as_person(&room, &person, text, &mentions)?;
            let msg = w.message(&uuid).map(|m| sim_message(w, m));
            Ok(msg.map(|m| m.id).unwrap_or_default())
        })
    }

    pub fn messages(&self, room_id: &str) -> Vec<SimMessage> {
        let w = self.shared.read();
        let Some(room) = w.room_by_rest(room_id) else {
            return Vec::new();
        };
        room.messages.iter().filter_map(|u| w.message(u)).map(|m| sim_message(&w, m)).collect()
    }

    pub fn message(&self, message_id: &str) -> Option<SimMessage> {
        let w = self.shared.read();
        let uuid = message_uuid(&w, message_id).ok()?;
        w.message(&uuid).map(|m| sim_message(&w, m))
    }

    pub fn device_count(&self) -> usize {
        self.shared.read().devices().len()
    }

    pub fn connection_count(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    pub fn acked_count(&self) -> usize {
        self.shared.acked.load(Ordering::SeqCst)
    }

    pub fn rest_calls(&self) -> Vec<RestCall> {
        self.shared.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
