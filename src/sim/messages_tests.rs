use super::*;
use crate::sim::events::DeviceInfo;
use serde_json::json;

struct Fixture {
    w: World,
    ana: String,
    room: String,
    room_id: String,
}

fn fixture() -> Fixture {
    let mut w = World::new();
    let ana = w.add_person("ana@example.com", "Ana");
    let owner = w.owner.clone();
    let bot = w.bot.clone();
    let room = w.create_room("VIP", false, &owner);
    w.add_member(&room, &bot, &owner).unwrap();
    w.add_member(&room, &ana, &owner).unwrap();
    let room_id = w.room(&room).unwrap().rest_id();
    Fixture { w, ana, room, room_id }
}

fn card() -> Attachment {
    Attachment {
        content_type: Some(CARD_CONTENT_TYPE.into()),
        content: Some(json!({"type": "AdaptiveCard", "version": "1.3",
            "actions": [{"type": "Action.Submit", "data": {"escalation": "esc_01", "k": "data"}}]})),
    }
}

fn to_room(f: &Fixture) -> NewMessage {
    NewMessage { room_id: Some(f.room_id.clone()), text: Some("hi".into()), ..Default::default() }
}

fn msg_id(f: &Fixture, uuid: &str) -> String {
    let cluster = &f.w.room(&f.w.message(uuid).unwrap().room).unwrap().cluster;
    RestId::new(IdKind::Message, cluster.clone(), uuid).encode()
}

#[test]
fn validation_rules() {
    let mut f = fixture();
    let two_targets = NewMessage { to_person_email: Some("ana@example.com".into()), ..to_room(&f) };
    let too_long = NewMessage { text: Some("x".repeat(MAX_TEXT_BYTES + 1)), ..to_room(&f) };
    let two_cards = NewMessage { attachments: vec![card(), card()], ..to_room(&f) };
    let bare_card = NewMessage { text: None, attachments: vec![card()], ..to_room(&f) };
    let wrong_type = NewMessage {
        attachments: vec![Attachment { content_type: Some("text/plain".into()), ..card() }],
        ..to_room(&f)
    };
    for bad in [two_targets, too_long, two_cards, bare_card, wrong_type] {
        assert!(matches!(f.w.post_as_bot(bad), Err(WorldError::Invalid(_))));
    }
    let ok = NewMessage { text: Some("x".repeat(MAX_TEXT_BYTES)), attachments: vec![card()], ..to_room(&f) };
    assert!(f.w.post_as_bot(ok).is_ok());
}

#[test]
fn posting_to_a_room_the_bot_left_is_404() {
    let mut f = fixture();
    let (bot, owner) = (f.w.bot.clone(), f.w.owner.clone());
    f.w.remove_member(&f.room, &bot, &owner).unwrap();
    assert_eq!(f.w.post_as_bot(to_room(&f)), Err(WorldError::RoomNotFound));
}

#[test]
fn direct_message_by_email_creates_one_room() {
    let mut f = fixture();
    let dm = || NewMessage {
        to_person_email: Some("ANA@example.com".into()),
        text: Some("hello".into()),
        ..Default::default()
    };
    let a = f.w.post_as_bot(dm()).unwrap();
    let b = f.w.post_as_bot(dm()).unwrap();
    assert_eq!(f.w.message(&a).unwrap().room, f.w.message(&b).unwrap().room);
    let room = f.w.room(&f.w.message(&a).unwrap().room).unwrap();
    assert!(room.direct && room.has_member(&f.ana));
}

#[test]
fn threads_are_one_level_deep() {
    let mut f = fixture();
    let root = f.w.post_as_bot(to_room(&f)).unwrap();
    let reply = NewMessage { parent_id: Some(msg_id(&f, &root)), ..to_room(&f) };
    let reply = f.w.post_as_bot(reply).unwrap();
    let nested = NewMessage { parent_id: Some(msg_id(&f, &reply)), ..to_room(&f) };
    assert!(matches!(f.w.post_as_bot(nested), Err(WorldError::Invalid(_))));
}

#[test]
fn edit_limit_and_ownership() {
    let mut f = fixture();
    let own = f.w.post_as_bot(to_room(&f)).unwrap();
    let id = msg_id(&f, &own);
    let edit =
        |text: &str| EditMessage { room_id: Some(f.room_id.clone()), text: Some(text.into()), ..Default::default() };
    for i in 0..MAX_EDITS {
        f.w.edit_as_bot(&id, edit(&format!("v{i}")), false).unwrap();
    }
    let err = f.w.edit_as_bot(&id, edit("one too many"), false).unwrap_err();
    assert!(err.to_string().contains("Edit limit"));
    assert_eq!(f.w.message(&own).unwrap().text.as_deref(), Some("v9"));

    let theirs = f.w.post_as_person(&f.room, &f.ana.clone(), "mine", &[]).unwrap();
    let theirs_id = msg_id(&f, &theirs);
    assert!(matches!(f.w.edit_as_bot(&theirs_id, edit("x"), false), Err(WorldError::Forbidden(_))));
}

#[test]
fn card_edits_can_be_refused() {
    let mut f = fixture();
    let uuid = f.w.post_as_bot(NewMessage { attachments: vec![card()], ..to_room(&f) }).unwrap();
    let id = msg_id(&f, &uuid);
    let edit = EditMessage {
        room_id: Some(f.room_id.clone()),
        text: Some("done".into()),
        attachments: Some(vec![card()]),
        ..Default::default()
    };
    assert!(f.w.edit_as_bot(&id, edit.clone(), true).is_err());
    f.w.edit_as_bot(&id, edit, false).unwrap();
    assert_eq!(f.w.message(&uuid).unwrap().edits, 1);
}

#[test]
fn delete_hides_the_message_and_emits() {
    let mut f = fixture();
    let reg = f.w.register_device(DeviceInfo::default()).unwrap().registration.clone();
    let uuid = f.w.post_as_bot(to_room(&f)).unwrap();
    let id = msg_id(&f, &uuid);
    f.w.delete_as_bot(&id).unwrap();
    assert!(f.w.message(&uuid).unwrap().deleted);
    assert_eq!(f.w.delete_as_bot(&id), Err(WorldError::MessageNotFound));
    let verbs: Vec<_> = f.w.frames_after(&reg, 0).into_iter().map(|p| p.activity.verb).collect();
    assert_eq!(verbs, ["post", "delete"]);
}

#[test]
fn card_submission_merges_data_and_checks_membership() {
    let mut f = fixture();
    let uuid = f.w.post_as_bot(NewMessage { attachments: vec![card()], ..to_room(&f) }).unwrap();
    let mut inputs = Map::new();
    inputs.insert("response".into(), json!("Approve"));
    inputs.insert("k".into(), json!("typed"));
    let a1 = f.w.submit_card(&uuid, &f.ana.clone(), inputs.clone()).unwrap();
    let a2 = f.w.submit_card(&uuid, &f.ana.clone(), inputs.clone()).unwrap();
    assert_ne!(a1, a2);
    let action = f.w.action(&a1).unwrap();
    assert_eq!(action.inputs["escalation"], json!("esc_01"));
    assert_eq!(action.inputs["response"], json!("Approve"));
    assert_eq!(action.inputs["k"], json!("typed"));
    let stranger = f.w.add_person("s@example.com", "S");
    assert!(f.w.submit_card(&uuid, &stranger, inputs).is_err());
}

/// Webex renders Adaptive Cards 1.3, RichTextBlock and TextRun (1.2) included:
/// such a card is posted and edited like any other, and kept as it was sent.
#[test]
fn a_card_of_rich_text_runs_is_posted_and_edited_as_sent() {
    let mut f = fixture();
    let rich = |text: &str| {
        json!({"type": "AdaptiveCard", "version": "1.3", "body": [{"type": "RichTextBlock", "inlines": [
            {"type": "TextRun", "text": text, "weight": "Bolder"}]}],
            "actions": [{"type": "Action.Submit", "data": {"escalation": "esc_01"}}]})
    };
    let attachment =
        |text: &str| Attachment { content_type: Some(CARD_CONTENT_TYPE.into()), content: Some(rich(text)) };
    let post = NewMessage { attachments: vec![attachment("**literal** <@all>")], ..to_room(&f) };
    let uuid = f.w.post_as_bot(post).unwrap();
    assert_eq!(f.w.message(&uuid).unwrap().card, Some(rich("**literal** <@all>")));
    let edit = EditMessage {
        room_id: Some(f.room_id.clone()),
        text: Some("answered".into()),
        attachments: Some(vec![attachment("Answered")]),
        ..Default::default()
    };
    f.w.edit_as_bot(&msg_id(&f, &uuid), edit, false).unwrap();
    assert_eq!(f.w.message(&uuid).unwrap().card, Some(rich("Answered")));
}
