//! The REST shapes of the world's objects, as the OpenAPI spec and the example
//! frames show them (`rest-*.json`). Ids are REST ids in the object's cluster.

use super::events::Device;
use super::messages::{Action, Message, CARD_CONTENT_TYPE};
use super::plaintext::text_of_markdown;
use super::world::{Member, Person, Room, World, MIGRATED_CLUSTER};
use crate::webex::ids::{IdKind, RestId, US_CLUSTER};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

pub fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn person_id(uuid: &str) -> String {
    RestId::new(IdKind::People, US_CLUSTER, uuid).encode()
}

pub fn org_id(org: &str) -> String {
    RestId::new(IdKind::Organization, US_CLUSTER, org).encode()
}

fn in_room(kind: IdKind, room: Option<&Room>, uuid: &str) -> String {
    let cluster = room.map_or(US_CLUSTER, |r| r.cluster.as_str());
    RestId::new(kind, cluster, uuid).encode()
}

/// A person as the bot sees them: presence (`status`) only for its own org,
/// as the spec says of every presence field.
pub fn person(w: &World, p: &Person) -> Value {
    let mut v = json!({
        "id": person_id(&p.uuid),
        "emails": [p.email],
        "phoneNumbers": [],
        "displayName": p.display_name,
        "nickName": p.display_name,
        "avatar": "https://avatar-prod-us-east-2.webexcontent.com/default",
        "orgId": org_id(&p.org),
        "created": time(&p.created),
        "type": if p.is_bot { "bot" } else { "person" },
    });
    if p.org == w.bot_org() {
        v["status"] = json!("unknown");
    }
    v
}

fn room_type(r: &Room) -> &'static str {
    if r.direct {
        "direct"
    } else {
        "group"
    }
}

pub fn room(w: &World, r: &Room) -> Value {
    json!({
        "id": r.rest_id(),
        "title": r.title,
        "type": room_type(r),
        "isLocked": false,
        "lastActivity": time(&r.last_activity),
        "creatorId": person_id(&r.creator),
        "created": time(&r.created),
        "ownerId": org_id(w.bot_org()),
        "isAnnouncementOnly": false,
        "isReadOnly": false,
    })
}

pub fn membership(w: &World, r: &Room, m: &Member) -> Value {
    let p = w.person(&m.person);
    json!({
        "id": in_room(IdKind::Membership, Some(r), &format!("{}:{}", m.person, r.uuid)),
        "roomId": r.rest_id(),
        "personId": person_id(&m.person),
        "personEmail": p.map(|p| p.email.as_str()),
        "personDisplayName": p.map(|p| p.display_name.as_str()),
        "personOrgId": p.map(|p| org_id(&p.org)),
        "isModerator": m.is_moderator,
        "isRoomHidden": false,
        "roomType": room_type(r),
        "isMonitor": false,
        "created": time(&m.created),
    })
}

/// Which answer a message is part of: a list leaves out the recipient fields.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum MessageView {
    /// `POST`, `PUT` and `GET /messages/{id}`.
    Detail,
    /// An item of `GET /messages`.
    ListItem,
}

pub fn message(w: &World, m: &Message, view: MessageView) -> Value {
    let r = w.room(&m.room);
    let mut v = json!({
        "id": in_room(IdKind::Message, r, &m.uuid),
        "roomId": in_room(IdKind::Room, r, &m.room),
        "roomType": r.map_or("group", room_type),
        "personId": person_id(&m.author),
        "personEmail": w.person(&m.author).map(|p| p.email.as_str()),
        "created": time(&m.created),
    });
    let Some(obj) = v.as_object_mut() else {
        return v;
    };
    // Webex always answers with `text`: derived from the markdown if need be.
    let text = m.text.clone().or_else(|| m.markdown.as_deref().map(text_of_markdown));
    if let Some(text) = text {
        obj.insert("text".into(), json!(text));
    }
    if let Some(markdown) = &m.markdown {
        obj.insert("markdown".into(), json!(markdown));
    }
    if let Some(card) = &m.card {
        let attachment = json!({"contentType": CARD_CONTENT_TYPE, "content": card});
        obj.insert("attachments".into(), json!([attachment]));
    }
    if let Some(parent) = &m.parent {
        obj.insert("parentId".into(), json!(in_room(IdKind::Message, r, parent)));
    }
    if !m.mentions.is_empty() {
        obj.insert("mentionedPeople".into(), json!(m.mentions.iter().map(|u| person_id(u)).collect::<Vec<_>>()));
    }
    if let (Some(to), MessageView::Detail) = (&m.to_person, view) {
        obj.insert("toPersonId".into(), json!(person_id(to)));
        obj.insert("toPersonEmail".into(), json!(w.person(to).map(|p| p.email.as_str())));
    }
    if let Some(updated) = &m.updated {
        obj.insert("updated".into(), json!(time(updated)));
    }
    v
}

pub fn action(w: &World, a: &Action) -> Value {
    let r = w.room(&a.room);
    json!({
        "id": in_room(IdKind::AttachmentAction, r, &a.uuid),
        "type": "submit",
        "messageId": in_room(IdKind::Message, r, &a.message),
        "inputs": a.inputs,
        "personId": person_id(&a.person),
        "roomId": in_room(IdKind::Room, r, &a.room),
        "created": time(&a.created),
    })
}

/// URLs the simulator hands out. Everything lives on its own listener, but
/// the conversation service of the migrated cluster is named by a second host
/// name for the same address (`localhost` beside `127.0.0.1`), so that a
/// client that maps a `target.url` host to its cluster through the U2C catalog
/// (as Cisco's SDK does) finds the room's real cluster.
pub struct Urls<'a> {
    /// `http://127.0.0.1:PORT`, or `https://localhost:PORT` with TLS.
    pub base: &'a str,
    /// The same listener under the other name (or `base` when there is none).
    pub other: &'a str,
}

impl Urls<'_> {
    pub fn wdm(&self) -> String {
        format!("{}/wdm/api/v1", self.base)
    }

    pub fn conversation(&self) -> String {
        format!("{}/conversation/api/v1", self.base)
    }

    /// The conversation service that hosts rooms of `cluster`.
    pub fn conversation_in(&self, cluster: &str) -> String {
        let base = if cluster == MIGRATED_CLUSTER { self.other } else { self.base };
        format!("{base}/conversation/api/v1")
    }

    pub fn device(&self, id: &str) -> String {
        format!("{}/devices/{id}", self.wdm())
    }

    pub fn websocket(&self, registration: &str) -> String {
        // `https://` becomes `wss://`, `http://` becomes `ws://`.
        let host = format!("ws{}", self.base.strip_prefix("http").unwrap_or(self.base));
        format!("{host}/mercury/v1/apps/wx2/registrations/{registration}/messages")
    }
}

pub fn device(urls: &Urls, bot: &str, d: &Device) -> Value {
    json!({
        "url": urls.device(&d.id),
        "deviceType": d.info.device_type,
        "name": d.info.name,
        "deviceName": d.info.device_name,
        "model": d.info.model,
        "localizedModel": d.info.localized_model,
        "systemName": d.info.system_name,
        "systemVersion": d.info.system_version,
        "webSocketUrl": urls.websocket(&d.registration),
        "userId": bot,
        "services": {"conversationServiceUrl": urls.conversation()},
        "modificationTime": time(&d.modified),
    })
}
