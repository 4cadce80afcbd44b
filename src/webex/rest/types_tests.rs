//! Tolerant deserialization of the shared REST fixtures and of hostile variants.

use super::*;
use serde_json::json;

const ME: &str = include_str!("../../../tests/fixtures/frames/rest-people-me.json");
const ROOMS: &str = include_str!("../../../tests/fixtures/frames/rest-rooms-list.json");
const CARD_MESSAGE: &str = include_str!("../../../tests/fixtures/frames/rest-message-created-card.json");
const ACTION: &str = include_str!("../../../tests/fixtures/frames/rest-attachment-action.json");

#[test]
fn people_me_fixture() {
    let me: Person = serde_json::from_str(ME).expect("person");
    assert_eq!(me.kind.as_deref(), Some("bot"));
    assert_eq!(me.primary_email(), Some("hitl-bot@webex.bot"));
    assert_eq!(me.display_name, "HITL Bot");
    assert!(me.org_id.is_some());
    assert_eq!(me.created.map(|t| t.to_rfc3339()), Some("2026-11-01T09:00:00+00:00".to_string()));
}

#[test]
fn rooms_list_fixture() {
    let rooms: Items<Room> = serde_json::from_str(ROOMS).expect("rooms");
    assert_eq!(rooms.items.len(), 2);
    assert_eq!(rooms.items[0].room_type, RoomType::Group);
    assert_eq!(rooms.items[0].title, "VIP Escalations");
    assert_eq!(rooms.items[1].room_type, RoomType::Direct);
    assert!(rooms.items[1].last_activity.is_some());
    assert!(!rooms.items[1].is_locked);
}

#[test]
fn card_message_fixture_exposes_the_card() {
    let m: Message = serde_json::from_str(CARD_MESSAGE).expect("message");
    assert_eq!(m.room_type, Some(RoomType::Group));
    assert_eq!(m.person_email.as_deref(), Some("hitl-bot@webex.bot"));
    let card = m.card.expect("card");
    assert_eq!(card["version"], "1.3");
    assert_eq!(card["actions"][0]["data"]["escalation"], "esc_01");
}

#[test]
fn attachment_action_fixture() {
    let a: AttachmentAction = serde_json::from_str(ACTION).expect("action");
    assert_eq!(a.action_type.as_deref(), Some("submit"));
    assert_eq!(a.inputs.get("escalation").map(String::as_str), Some("esc_01"));
    assert!(a.inputs["response"].starts_with("Approve the refund"));
    assert!(a.message_id.starts_with("Y2lzY29zcGFyazovL3VzL01FU1NBR0Uv"));
}

#[test]
fn attachment_action_inputs_keep_non_strings_as_json_text() {
    let a: AttachmentAction = serde_json::from_value(json!({
        "id": "A",
        "inputs": {"n": 3, "ok": true, "none": null, "list": [1, "x"], "s": "plain"}
    }))
    .expect("action");
    assert_eq!(a.inputs["n"], "3");
    assert_eq!(a.inputs["ok"], "true");
    assert_eq!(a.inputs["none"], "null");
    assert_eq!(a.inputs["list"], r#"[1,"x"]"#);
    assert_eq!(a.inputs["s"], "plain");
    assert_eq!(a.person_id, "");
    let odd: AttachmentAction = serde_json::from_value(json!({"id": "A", "inputs": "encrypted-jwe"})).expect("action");
    assert!(odd.inputs.is_empty());
}

#[test]
fn only_id_is_required_and_nulls_are_tolerated() {
    let room: Room = serde_json::from_value(json!({
        "id": "R", "title": null, "type": "spaceship", "isLocked": null,
        "created": "yesterday", "lastActivity": 5, "extra": {"x": 1}
    }))
    .expect("room");
    assert_eq!(room.room_type, RoomType::Other("spaceship".into()));
    assert_eq!(room.title, "");
    assert_eq!(room.created, None);
    assert_eq!(room.last_activity, None);
    let m: Membership = serde_json::from_value(json!({"id": "M"})).expect("membership");
    assert_eq!(m.room_type, None);
    assert!(!m.is_moderator);
    let p: Person = serde_json::from_value(json!({"id": "P", "emails": null})).expect("person");
    assert_eq!(p.primary_email(), None);
    let msg: Message =
        serde_json::from_value(json!({"id": "X", "attachments": [{"contentType": "image/png"}]})).expect("message");
    assert_eq!(msg.card, None);
    let list: Items<Room> = serde_json::from_value(json!({"items": null})).expect("items");
    assert!(list.items.is_empty());
    assert!(serde_json::from_value::<Room>(json!({"title": "no id"})).is_err());
}
