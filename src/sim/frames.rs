//! Mercury frames, shaped like the `ws-*.json` examples.
//!
//! Content fields are opaque JWE-looking strings: real bot clients have no
//! KMS keys, so they must fetch plaintext over REST, and so must our client.
//! A bot's actor is typed `ROBOT` (the type Cisco's SDK gives bots in its
//! directory search; webex_bot skips its own messages by `type != "PERSON"`).
//! `target.url` names the conversation host of the room's cluster.

use super::events::{ActObject, Activity, Pending};
use super::render::{time, Urls};
use super::world::Person;
use serde_json::{json, Value};

/// What an encrypted field looks like to a client without keys.
fn jwe() -> String {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    format!("eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..{}.ZmFrZS1jaXBoZXJ0ZXh0.{nonce}", &nonce[..10])
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn actor(p: &Person) -> Value {
    json!({
        "id": p.uuid,
        "objectType": "person",
        "displayName": p.display_name,
        "orgId": p.org,
        "emailAddress": p.email,
        "entryUUID": p.uuid,
        "entryEmail": p.email,
        "type": if p.is_bot { "ROBOT" } else { "PERSON" },
    })
}

fn object(o: &ActObject) -> Value {
    match o {
        ActObject::Person(p) => json!({
            "objectType": "person",
            "id": p.uuid,
            "entryUUID": p.uuid,
            "emailAddress": p.email,
            "entryEmail": p.email,
            "displayName": p.display_name,
            "orgId": p.org,
            "roomProperties": {"isModerator": false},
        }),
        ActObject::Comment { mentions } => {
            let mut comment = json!({"objectType": "comment", "displayName": jwe(), "content": jwe()});
            if !mentions.is_empty() {
                let items: Vec<Value> = mentions.iter().map(|id| json!({"id": id, "objectType": "person"})).collect();
                comment["mentions"] = json!({ "items": items });
            }
            comment
        }
        ActObject::Submit => json!({"objectType": "submit", "inputs": jwe()}),
        ActObject::Deleted(uuid) => json!({"objectType": "activity", "id": uuid}),
        ActObject::Conversation => json!({"objectType": "conversation", "displayName": jwe()}),
        ActObject::Padded(bytes) => json!({"objectType": "conversation", "displayName": "x".repeat(*bytes)}),
    }
}

fn activity(urls: &Urls, a: &Activity) -> Value {
    let conv = urls.conversation_in(&a.cluster);
    let tags: Vec<&str> = if a.direct { vec!["ONE_ON_ONE"] } else { vec![] };
    let mut v = json!({
        "id": a.id,
        "objectType": "activity",
        "verb": a.verb,
        "url": format!("{conv}/activities/{}", a.id),
        "published": time(&a.published),
        "actor": actor(&a.actor),
        "object": object(&a.object),
        "target": {
            "id": a.room,
            "objectType": "conversation",
            "url": format!("{conv}/conversations/{}", a.room),
            "tags": tags,
            "participants": {"items": []},
            "activities": {"items": []},
        },
    });
    if matches!(a.object, ActObject::Comment { .. } | ActObject::Submit | ActObject::Conversation) {
        v["encryptionKeyUrl"] = json!(format!("kms://kms-cisco.wbx2.com/keys/{}", uuid::Uuid::new_v4()));
    }
    if let Some(p) = &a.parent {
        v["parent"] = json!({
            "id": p.id,
            "type": a.verb,
            "actorId": p.actor,
            "published": time(&p.published),
        });
    }
    v
}

/// A buffered activity as a frame with this connection's sequence number.
pub fn activity_frame(urls: &Urls, pending: &Pending, sequence: u64) -> Value {
    json!({
        "id": pending.frame_id,
        "data": {
            "eventType": "conversation.activity",
            "activity": activity(urls, &pending.activity),
        },
        "timestamp": now_ms(),
        "trackingId": format!("CONVERSATION_{}", pending.frame_id),
        "alertType": "none",
        "headers": {},
        "sequenceNumber": sequence,
        "filterMessage": false,
    })
}

/// The first frame after a successful authorization.
pub fn buffer_state(sequence: u64) -> Value {
    let id = uuid::Uuid::new_v4().to_string();
    json!({
        "id": id,
        "data": {
            "eventType": "mercury.buffer_state",
            "bufferState": {"conversation": "UNKNOWN", "locus": "UNKNOWN"},
        },
        "timestamp": now_ms(),
        "trackingId": format!("MERCURY_{}", &id[..8]),
        "sequenceNumber": sequence,
        "filterMessage": false,
    })
}

/// A frame outside the activity buffer: typing notices, KMS traffic, a
/// registration status, or an unknown `eventType`. Clients must ignore (and
/// may ack) them; they have an `id` but no `activity`.
pub fn unsolicited(event_type: &str, bot: &str) -> Value {
    let id = uuid::Uuid::new_v4().to_string();
    let data = match event_type {
        "status.start_typing" | "status.stop_typing" => json!({
            "eventType": event_type,
            "actor": {"id": uuid::Uuid::new_v4().to_string()},
            "conversationId": uuid::Uuid::new_v4().to_string(),
        }),
        "encryption.kms_message" => json!({
            "eventType": event_type,
            "encryption": {"kmsMessages": [jwe()]},
        }),
        "mercury.registration_status" => json!({
            "eventType": event_type,
            "registrationStatus": {"userId": bot, "status": "REGISTERED"},
            "localClusterServiceUrls": {},
        }),
        other => json!({"eventType": other}),
    };
    json!({
        "id": id,
        "data": data,
        "timestamp": now_ms(),
        "trackingId": format!("MERCURY_{}", &id[..8]),
        "alertType": "none",
        "headers": {},
        "filterMessage": false,
    })
}

pub fn pong(id: &Value) -> Value {
    json!({"id": id, "type": "pong"})
}

pub fn shutdown() -> Value {
    json!({"type": "shutdown"})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::events::DeviceInfo;
    use crate::sim::world::World;

    #[test]
    fn card_action_frame_has_the_documented_shape() {
        let mut w = World::new();
        let reg = w.register_device(DeviceInfo::default()).unwrap().registration.clone();
        let ana = w.add_person("ana@example.com", "Ana");
        let owner = w.owner.clone();
        let room = w.create_room("VIP", false, &owner);
        let bot = w.bot.clone();
        w.add_member(&room, &bot, &ana).unwrap();
        w.add_member(&room, &ana, &owner).unwrap();
        let req = crate::sim::messages::NewMessage {
            room_id: Some(w.room(&room).unwrap().rest_id()),
            text: Some("t".into()),
            attachments: vec![crate::sim::messages::Attachment {
                content_type: Some(crate::sim::messages::CARD_CONTENT_TYPE.into()),
                content: Some(json!({"type": "AdaptiveCard"})),
            }],
            ..Default::default()
        };
        let msg = w.post_as_bot(req).unwrap();
        let action = w.submit_card(&msg, &ana, Default::default()).unwrap();
        let pending = w.frames_after(&reg, 0).pop().unwrap();
        let urls = Urls { base: "http://127.0.0.1:9", other: "http://localhost:9" };
        let f = activity_frame(&urls, &pending, 7);
        assert_eq!(f["sequenceNumber"], 7);
        assert_eq!(f["data"]["eventType"], "conversation.activity");
        let a = &f["data"]["activity"];
        assert_eq!(a["verb"], "cardAction");
        assert_eq!(a["id"], json!(action));
        assert_eq!(a["parent"]["id"], json!(msg));
        assert_eq!(a["actor"]["entryUUID"], json!(ana));
        assert_eq!(a["actor"]["type"], "PERSON");
        assert_eq!(a["target"]["id"], json!(room));
        assert!(a["object"]["inputs"].as_str().unwrap().starts_with("eyJ"));
        assert_eq!(a["target"]["url"], json!(format!("http://127.0.0.1:9/conversation/api/v1/conversations/{room}")));
    }
}
