//! Activities, the bot's devices and Mercury's per-device buffers (pure data).
//!
//! Every device registered for the bot receives every activity the bot may
//! see (a group message of someone else only when it mentions the bot). A frame stays in its device's buffer until the client acks it, so a
//! reconnecting device gets the unacked frames again (same frame id), and
//! frames emitted while nobody is connected wait there too, as Mercury does —
//! but only for a limited time: Mercury replays roughly the last 15 minutes
//! (`expire_frames`), and a device registered later never sees older frames.

use super::world::{new_uuid, Person, World, WorldError};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::VecDeque;

/// Webex refuses more registrations than this ("excessive device registrations").
pub const MAX_DEVICES: usize = 100;
/// Oldest frames are forgotten past this, like Mercury's bounded replay window.
const MAX_PENDING: usize = 10_000;

/// What an activity is about.
#[derive(Clone, Debug)]
pub enum ActObject {
    /// A person added or removed (`add`, `leave`).
    Person(Person),
    /// A posted message (`post`), with the people it mentions (uuids).
    Comment { mentions: Vec<String> },
    /// A card submission (`cardAction`).
    Submit,
    /// A deleted message, by uuid (`delete`).
    Deleted(String),
    /// The room itself (`update`).
    Conversation,
    /// A room update whose (encrypted) title is this many bytes: a frame
    /// larger than any a client expects.
    Padded(usize),
}

#[derive(Clone, Debug)]
pub struct Parent {
    pub id: String,
    pub actor: String,
    pub published: DateTime<Utc>,
}

/// A conversation activity, snapshotted when it happened.
#[derive(Clone, Debug)]
pub struct Activity {
    pub id: String,
    pub verb: String,
    pub published: DateTime<Utc>,
    pub actor: Person,
    pub object: ActObject,
    pub room: String,
    /// The room's cluster when it happened: it picks the conversation host in `target.url`.
    pub cluster: String,
    pub direct: bool,
    pub parent: Option<Parent>,
}

/// A frame waiting in a device's buffer until acked.
#[derive(Clone, Debug)]
pub struct Pending {
    /// Position in the device's buffer; connections remember the last one sent.
    pub ordinal: u64,
    pub frame_id: String,
    /// When it entered the buffer; replay stops after the window.
    pub queued: DateTime<Utc>,
    pub activity: Activity,
}

/// The fields a client sends when registering (rest-wdm-device-request.json).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DeviceInfo {
    pub device_name: String,
    pub device_type: String,
    pub localized_model: String,
    pub model: String,
    pub name: String,
    pub system_name: String,
    pub system_version: String,
}

#[derive(Clone, Debug)]
pub struct Device {
    pub id: String,
    pub registration: String,
    pub info: DeviceInfo,
    pub modified: DateTime<Utc>,
    pending: VecDeque<Pending>,
    next_ordinal: u64,
}

impl Device {
    fn push(&mut self, activity: Activity) {
        self.next_ordinal += 1;
        let (ordinal, frame_id, queued) = (self.next_ordinal, new_uuid(), Utc::now());
        self.pending.push_back(Pending { ordinal, frame_id, queued, activity });
        if self.pending.len() > MAX_PENDING {
            self.pending.pop_front();
        }
    }
}

impl World {
    /// Builds an activity with a fresh id; `actor` and `room` must exist.
    pub(super) fn activity(
        &self,
        verb: &str,
        actor: &str,
        object: ActObject,
        room: &str,
        parent: Option<Parent>,
    ) -> Result<Activity, WorldError> {
        let actor = self.person(actor).ok_or(WorldError::PersonNotFound)?;
        let r = self.room(room).ok_or(WorldError::RoomNotFound)?;
        Ok(Activity {
            id: new_uuid(),
            verb: verb.to_owned(),
            published: Utc::now(),
            actor: actor.clone(),
            object,
            room: room.to_owned(),
            cluster: r.cluster.clone(),
            direct: r.direct,
            parent,
        })
    }

    /// Whether the bot hears this: anything in its rooms, plus its own add/leave,
    /// except group messages of others that do not mention it. Bots are not
    /// shown those at all (Cisco's SDK fetches every `post` it hears and dies
    /// of an unhandled 404 otherwise), like their `messages:created` webhooks.
    fn reaches_bot(&self, a: &Activity) -> bool {
        let about_bot = matches!(&a.object, ActObject::Person(p) if p.uuid == self.bot);
        let in_room = self.room(&a.room).is_some_and(|r| r.has_member(&self.bot));
        let for_bot = match &a.object {
            ActObject::Comment { mentions } => a.direct || a.actor.uuid == self.bot || mentions.contains(&self.bot),
            _ => true,
        };
        about_bot || (in_room && for_bot)
    }

    /// Queues the activity on every device of the bot, if the bot may see it.
    pub fn emit(&mut self, activity: Activity) {
        if !self.reaches_bot(&activity) {
            return;
        }
        let copies = if std::mem::take(&mut self.duplicate_next) { 2 } else { 1 };
        for device in &mut self.devices {
            for _ in 0..copies {
                device.push(activity.clone());
            }
        }
    }

    /// The next activity frame goes out twice (same activity id, new frame ids).
    pub fn duplicate_next_event(&mut self) {
        self.duplicate_next = true;
    }

    pub fn register_device(&mut self, info: DeviceInfo) -> Result<&Device, WorldError> {
        if self.devices.len() >= MAX_DEVICES {
            return Err(WorldError::Forbidden("User has excessive device registrations".into()));
        }
        self.devices.push(Device {
            id: new_uuid(),
            registration: new_uuid(),
            info,
            modified: Utc::now(),
            pending: VecDeque::new(),
            next_ordinal: 0,
        });
        Ok(&self.devices[self.devices.len() - 1])
    }

    pub fn devices(&self) -> &[Device] {
        &self.devices
    }

    pub fn device(&self, id: &str) -> Option<&Device> {
        self.devices.iter().find(|d| d.id == id)
    }

    pub fn device_by_registration(&self, registration: &str) -> Option<&Device> {
        self.devices.iter().find(|d| d.registration == registration)
    }

    /// `PUT {device.url}`: bumps the modification time, optionally new fields.
    pub fn refresh_device(&mut self, id: &str, info: Option<DeviceInfo>) -> Option<&Device> {
        let device = self.devices.iter_mut().find(|d| d.id == id)?;
        device.modified = Utc::now();
        if let Some(info) = info {
            device.info = info;
        }
        Some(device)
    }

    pub fn delete_device(&mut self, id: &str) -> bool {
        let before = self.devices.len();
        self.devices.retain(|d| d.id != id);
        self.devices.len() != before
    }

    /// Forgets every registration, as when Webex expires them server-side.
    pub fn forget_devices(&mut self) {
        self.devices.clear();
    }

    /// Removes an acked frame from the device's buffer; false if unknown.
    pub fn ack(&mut self, registration: &str, frame_id: &str) -> bool {
        let Some(device) = self.devices.iter_mut().find(|d| d.registration == registration) else {
            return false;
        };
        let before = device.pending.len();
        device.pending.retain(|p| p.frame_id != frame_id);
        device.pending.len() != before
    }

    /// Forgets the device's frames queued before `oldest`, acked or not: what
    /// Mercury no longer replays. Returns how many were dropped.
    pub fn expire_frames(&mut self, registration: &str, oldest: DateTime<Utc>) -> usize {
        let Some(device) = self.devices.iter_mut().find(|d| d.registration == registration) else {
            return 0;
        };
        let before = device.pending.len();
        device.pending.retain(|p| p.queued >= oldest);
        before - device.pending.len()
    }

    /// Buffered frames after `ordinal`, for a connection that sent up to it.
    pub fn frames_after(&self, registration: &str, ordinal: u64) -> Vec<Pending> {
        self.device_by_registration(registration)
            .map(|d| d.pending.iter().filter(|p| p.ordinal > ordinal).cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
