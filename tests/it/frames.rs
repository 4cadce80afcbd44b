//! Every server frame in tests/fixtures/frames/ (copied from the protocol notes)
//! decodes into the event the daemon expects, and the client frames we encode
//! have the shapes of the client examples.

use webex_hitl::webex::mercury::frame::{self, FrameBody};
use webex_hitl::webex::mercury::Event;

const BOT_UUID: &str = "7c1a8b52-3f4e-4d2a-9b61-0e5d2c9a1f01";
const VIP_ROOM_UUID: &str = "5e0f7a30-1b2c-11ef-8d9e-0123456789ab";

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/frames/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn decode(name: &str) -> frame::Frame {
    frame::decode(&fixture(name), BOT_UUID).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn activity(name: &str) -> Event {
    match decode(name).body {
        FrameBody::Activity(event) => event,
        other => panic!("{name}: expected an activity, got {other:?}"),
    }
}

#[test]
fn buffer_state_means_ready_and_is_acked() {
    let frame = decode("ws-server-buffer-state.json");
    assert_eq!(frame.body, FrameBody::Ready);
    assert_eq!(frame.sequence, Some(1));
    assert_eq!(frame.ack_id(), Some("0f9e8d7c-6b5a-4938-8271-605f4e3d2c1b"));
}

#[test]
fn pong_carries_the_ping_id_and_is_not_acked() {
    let frame = decode("ws-server-pong.json");
    assert_eq!(frame.body, FrameBody::Pong { ping_id: "11111111-2222-4333-8444-555555555555".into() });
    assert_eq!(frame.ack_id(), None);
}

#[test]
fn shutdown_is_recognised() {
    assert_eq!(decode("ws-server-shutdown.json").body, FrameBody::Shutdown);
}

#[test]
fn card_action_points_at_the_card_message() {
    let frame = decode("ws-event-card-action.json");
    assert_eq!(frame.ack_id(), Some("8e7d6c5b-4a39-4281-9706-f5e4d3c2b1a0"));
    assert_eq!(frame.sequence, Some(7));
    let FrameBody::Activity(Event::CardSubmitted { meta, card_message_uuid }) = frame.body else {
        panic!("expected a card submission");
    };
    assert_eq!(meta.activity_id, "c4d5e6f0-1b2d-11ef-a1b2-1234567890ab");
    assert_eq!(card_message_uuid.as_deref(), Some("9a8b7c60-1b2c-11ef-9f00-abcdefabcdef"));
    let actor = meta.actor.expect("actor");
    assert_eq!(actor.email.as_deref(), Some("ana.specialist@example.com"));
    let room = meta.room.expect("room");
    assert_eq!(room.uuid, VIP_ROOM_UUID);
    assert!(!room.is_direct);
}

#[test]
fn bot_added_and_removed_are_about_the_bot() {
    let Event::MemberAdded { member, is_bot, meta } = activity("ws-event-bot-added.json") else {
        panic!("expected MemberAdded");
    };
    assert!(is_bot);
    assert_eq!(member.email.as_deref(), Some("hitl-bot@webex.bot"));
    assert_eq!(meta.room.unwrap().uuid, VIP_ROOM_UUID);

    let Event::MemberRemoved { is_bot, .. } = activity("ws-event-bot-removed.json") else {
        panic!("expected MemberRemoved");
    };
    assert!(is_bot);
}

#[test]
fn someone_else_added_is_not_the_bot() {
    let Event::MemberAdded { member, is_bot, .. } = activity("ws-event-member-added.json") else {
        panic!("expected MemberAdded");
    };
    assert!(!is_bot);
    assert_eq!(member.uuid, "44445555-6666-4777-8888-999900001111");
    assert_eq!(member.display_name.as_deref(), Some("Ben Ops"));
}

#[test]
fn dm_message_is_in_a_direct_room() {
    let Event::MessagePosted { meta } = activity("ws-event-message-posted-dm.json") else {
        panic!("expected MessagePosted");
    };
    assert_eq!(meta.activity_id, "7b8c9d0e-1b2c-11ef-8a9b-0c1d2e3f4a5e");
    assert!(meta.room.unwrap().is_direct);
}

#[test]
fn typing_is_ignored_but_still_acked() {
    let frame = decode("ws-event-typing-ignored.json");
    assert_eq!(frame.body, FrameBody::Ignored { event_type: "status.start_typing".into() });
    assert_eq!(frame.ack_id(), Some("6e7f8091-a2b3-4c45-9657-e8f9a0b1c2d3"));
}

#[test]
fn missing_optional_fields_do_not_fail() {
    let bare = r#"{"id":"f","data":{"eventType":"conversation.activity","activity":{"id":"a","verb":"add"}}}"#;
    let Event::MemberAdded { meta, member, is_bot } = activity_from(bare) else { panic!() };
    assert_eq!(meta.activity_id, "a");
    assert!(meta.actor.is_none() && meta.room.is_none());
    assert!(member.uuid.is_empty() && !is_bot);
    let odd_verb = r#"{"id":"f","data":{"eventType":"conversation.activity","activity":{"id":"b","verb":"tag"}}}"#;
    assert!(matches!(activity_from(odd_verb), Event::Unknown { verb, .. } if verb == "tag"));
}

#[test]
fn malformed_frames_are_errors_not_panics() {
    for text in ["", "not json", "[]", "{}", r#"{"data":{"eventType":"conversation.activity"}}"#] {
        assert!(frame::decode(text, BOT_UUID).is_err(), "{text:?} should not decode");
    }
    let no_verb = r#"{"data":{"eventType":"conversation.activity","activity":{"id":"a"}}}"#;
    assert!(frame::decode(no_verb, BOT_UUID).is_err());
}

#[test]
fn client_frames_have_the_documented_shapes() {
    let reference: serde_json::Value = serde_json::from_str(&fixture("ws-client-authorization.json")).unwrap();
    let ours: serde_json::Value =
        serde_json::from_str(&frame::authorization("3d0b7f0e-8a1c-4b9e-9c5a-0d1e2f3a4b5c", "<bot token>")).unwrap();
    assert_eq!(ours, reference);
    let reference: serde_json::Value = serde_json::from_str(&fixture("ws-client-ping.json")).unwrap();
    let ours: serde_json::Value = serde_json::from_str(&frame::ping("11111111-2222-4333-8444-555555555555")).unwrap();
    assert_eq!(ours, reference);
    let reference: serde_json::Value = serde_json::from_str(&fixture("ws-client-ack.json")).unwrap();
    let ours: serde_json::Value = serde_json::from_str(&frame::ack("8e7d6c5b-4a39-4281-9706-f5e4d3c2b1a0")).unwrap();
    assert_eq!(ours, reference);
}

fn activity_from(text: &str) -> Event {
    match frame::decode(text, BOT_UUID).unwrap().body {
        FrameBody::Activity(event) => event,
        other => panic!("expected an activity, got {other:?}"),
    }
}
