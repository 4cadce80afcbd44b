//! Activities, the bot's devices and Mercury's per-device buffers (pure data).
//!
//! Every device registered for the bot receives every activity the bot may
//! see. A frame stays in its device's buffer until the client acks it, so a
//! reconnecting device gets the unacked frames again (same frame id), and
//! frames emitted while nobody is connected wait there too, as Mercury does.

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
    /// A posted message (`post`).
    Comment,
    /// A card submission (`cardAction`).
    Submit,
    /// A deleted message, by uuid (`delete`).
    Deleted(String),
    /// The room itself (`update`).
    Conversation,
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
    pub direct: bool,
    pub parent: Option<Parent>,
}

/// A frame waiting in a device's buffer until acked.
#[derive(Clone, Debug)]
pub struct Pending {
    /// Position in the device's buffer; connections remember the last one sent.
    pub ordinal: u64,
    pub frame_id: String,
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
        self.pending.push_back(Pending { ordinal: self.next_ordinal, frame_id: new_uuid(), activity });
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
            direct: r.direct,
            parent,
        })
    }

    /// Whether the bot hears this: anything in its rooms, plus its own add/leave.
    fn reaches_bot(&self, a: &Activity) -> bool {
        let about_bot = matches!(&a.object, ActObject::Person(p) if p.uuid == self.bot);
        about_bot || self.room(&a.room).is_some_and(|r| r.has_member(&self.bot))
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

    /// Buffered frames after `ordinal`, for a connection that sent up to it.
    pub fn frames_after(&self, registration: &str, ordinal: u64) -> Vec<Pending> {
        self.device_by_registration(registration)
            .map(|d| d.pending.iter().filter(|p| p.ordinal > ordinal).cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (World, String, String, String) {
        let mut w = World::new();
        let reg = w.register_device(DeviceInfo::default()).unwrap().registration.clone();
        let ana = w.add_person("ana@example.com", "Ana");
        let room = w.create_room("VIP", false, &w.owner.clone());
        (w, reg, ana, room)
    }

    fn verbs(w: &World, reg: &str) -> Vec<String> {
        w.frames_after(reg, 0).into_iter().map(|p| p.activity.verb).collect()
    }

    #[test]
    fn routes_only_what_the_bot_may_see() {
        let (mut w, reg, ana, room) = setup();
        let (bot, owner) = (w.bot.clone(), w.owner.clone());
        w.add_member(&room, &ana, &owner).unwrap(); // bot not in: unseen
        assert!(verbs(&w, &reg).is_empty());
        w.add_member(&room, &bot, &ana).unwrap(); // own add: seen
        w.rename_room(&room, "New").unwrap();
        w.remove_member(&room, &ana, &owner).unwrap(); // others in bot room: seen
        w.remove_member(&room, &bot, &owner).unwrap(); // own leave: seen
        w.rename_room(&room, "Later").unwrap(); // bot gone: unseen
        assert_eq!(verbs(&w, &reg), ["add", "update", "leave", "leave"]);
        let first = &w.frames_after(&reg, 0)[0].activity;
        assert!(matches!(&first.object, ActObject::Person(p) if p.uuid == bot));
        assert_eq!(first.actor.uuid, ana);
    }

    #[test]
    fn every_device_gets_every_event_and_acks_are_per_device() {
        let (mut w, reg, _, room) = setup();
        let reg2 = w.register_device(DeviceInfo::default()).unwrap().registration.clone();
        let (bot, owner) = (w.bot.clone(), w.owner.clone());
        w.add_member(&room, &bot, &owner).unwrap();
        let frame = w.frames_after(&reg, 0)[0].frame_id.clone();
        assert_eq!(w.frames_after(&reg2, 0).len(), 1);
        assert_ne!(w.frames_after(&reg2, 0)[0].frame_id, frame);
        assert!(w.ack(&reg, &frame));
        assert!(!w.ack(&reg, &frame));
        assert!(w.frames_after(&reg, 0).is_empty());
        assert_eq!(w.frames_after(&reg2, 0).len(), 1);
    }

    #[test]
    fn unacked_frames_stay_for_redelivery_and_cursor_skips_sent() {
        let (mut w, reg, ana, room) = setup();
        let (bot, owner) = (w.bot.clone(), w.owner.clone());
        w.add_member(&room, &bot, &owner).unwrap();
        let sent = w.frames_after(&reg, 0);
        let last = sent[0].ordinal;
        w.add_member(&room, &ana, &owner).unwrap();
        // A live connection only sends what is new...
        assert_eq!(w.frames_after(&reg, last).len(), 1);
        // ...a new connection gets everything unacked, same frame ids.
        let again = w.frames_after(&reg, 0);
        assert_eq!(again.len(), 2);
        assert_eq!(again[0].frame_id, sent[0].frame_id);
    }

    #[test]
    fn duplicate_next_sends_one_activity_twice() {
        let (mut w, reg, _, room) = setup();
        let (bot, owner) = (w.bot.clone(), w.owner.clone());
        w.duplicate_next_event();
        w.add_member(&room, &bot, &owner).unwrap();
        w.rename_room(&room, "x").unwrap();
        let frames = w.frames_after(&reg, 0);
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0].activity.id, frames[1].activity.id);
        assert_ne!(frames[0].frame_id, frames[1].frame_id);
    }

    #[test]
    fn device_limit_and_stale_devices() {
        let mut w = World::new();
        for _ in 0..MAX_DEVICES {
            w.register_device(DeviceInfo::default()).unwrap();
        }
        assert!(matches!(w.register_device(DeviceInfo::default()), Err(WorldError::Forbidden(_))));
        let id = w.devices()[0].id.clone();
        assert!(w.refresh_device(&id, None).is_some());
        w.forget_devices();
        assert!(w.refresh_device(&id, None).is_none());
        assert!(!w.delete_device(&id));
    }
}
