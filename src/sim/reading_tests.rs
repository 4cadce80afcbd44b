use super::*;
use crate::sim::messages::NewMessage;

struct Fixture {
    w: World,
    ana: String,
    room: String,
    room_id: String,
}

fn fixture() -> Fixture {
    let mut w = World::new();
    let ana = w.add_person("ana@example.com", "Ana");
    let (owner, bot) = (w.owner.clone(), w.bot.clone());
    let room = w.create_room("VIP", false, &owner);
    w.add_member(&room, &bot, &owner).unwrap();
    w.add_member(&room, &ana, &owner).unwrap();
    let room_id = w.room(&room).unwrap().rest_id();
    Fixture { w, ana, room, room_id }
}

fn rest_id(w: &World, uuid: &str) -> String {
    let cluster = w.room(&w.message(uuid).unwrap().room).unwrap().cluster.clone();
    RestId::new(IdKind::Message, cluster, uuid).encode()
}

#[test]
fn a_bot_reads_dms_its_own_messages_and_mentions_only() {
    let mut f = fixture();
    let bot = f.w.bot.clone();
    let chatter = f.w.post_as_person(&f.room, &f.ana, "lunch?", &[]).unwrap();
    let mention = f.w.post_as_person(&f.room, &f.ana, "HITL Bot help", &[bot]).unwrap();
    let own = NewMessage { room_id: Some(f.room_id.clone()), text: Some("card".into()), ..Default::default() };
    let own = f.w.post_as_bot(own).unwrap();
    let dm =
        NewMessage { to_person_email: Some("ana@example.com".into()), text: Some("hi".into()), ..Default::default() };
    let dm = f.w.post_as_bot(dm).unwrap();
    let dm_room = f.w.message(&dm).unwrap().room.clone();
    let reply = f.w.post_as_person(&dm_room, &f.ana, "hello back", &[]).unwrap();

    assert_eq!(f.w.readable_message(&rest_id(&f.w, &chatter)).err(), Some(WorldError::MessageNotFound));
    assert!(f.w.readable_message_by_uuid(&chatter).is_err(), "the conversation path says the same");
    for readable in [&mention, &own, &dm, &reply] {
        assert!(f.w.readable_message(&rest_id(&f.w, readable)).is_ok(), "{readable}");
    }
}

#[test]
fn listing_a_group_room_needs_mentioned_people_me() {
    let mut f = fixture();
    let bot = f.w.bot.clone();
    let first = f.w.post_as_person(&f.room, &f.ana, "HITL Bot one", std::slice::from_ref(&bot)).unwrap();
    f.w.post_as_person(&f.room, &f.ana, "not for the bot", &[]).unwrap();
    let second = f.w.post_as_person(&f.room, &f.ana, "HITL Bot two", &[bot]).unwrap();

    let q = ListQuery { room_id: f.room_id.clone(), ..Default::default() };
    assert!(matches!(f.w.list_messages(&q), Err(WorldError::Forbidden(_))));
    let q = ListQuery { mentioning_me: true, ..q };
    let found: Vec<_> = f.w.list_messages(&q).unwrap().into_iter().map(|m| m.uuid.clone()).collect();
    assert_eq!(found, [second.clone(), first.clone()], "mentions only, newest first");
    let older = ListQuery { before_message: Some(rest_id(&f.w, &second)), ..q };
    let found: Vec<_> = f.w.list_messages(&older).unwrap().into_iter().map(|m| m.uuid.clone()).collect();
    assert_eq!(found, [first]);
}

#[test]
fn listing_a_dm_needs_no_mention_and_names_the_bot_only() {
    let mut f = fixture();
    let dm =
        NewMessage { to_person_email: Some("ana@example.com".into()), text: Some("hi".into()), ..Default::default() };
    let dm = f.w.post_as_bot(dm).unwrap();
    let room = f.w.room(&f.w.message(&dm).unwrap().room).unwrap().rest_id();
    let q = ListQuery { room_id: room, ..Default::default() };
    assert_eq!(f.w.list_messages(&q).unwrap().len(), 1);
    let bot_id = RestId::new(IdKind::People, "us", f.w.bot.clone()).encode();
    let ana_id = RestId::new(IdKind::People, "us", f.ana.clone()).encode();
    assert!(f.w.names_the_bot("me") && f.w.names_the_bot(&bot_id));
    assert!(!f.w.names_the_bot(&ana_id));
}
