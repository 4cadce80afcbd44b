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

#[test]
fn replay_stops_after_the_window() {
    let (mut w, reg, ana, room) = setup();
    let (bot, owner) = (w.bot.clone(), w.owner.clone());
    w.add_member(&room, &bot, &owner).unwrap();
    w.add_member(&room, &ana, &owner).unwrap();
    // The first frame has waited 20 minutes, the second just arrived.
    let now = chrono::Utc::now();
    w.devices[0].pending[0].queued = now - chrono::Duration::minutes(20);
    w.devices[0].pending[1].queued = now;
    let window = chrono::Duration::minutes(15);
    assert_eq!(w.expire_frames(&reg, now - window), 1, "older than the window: gone, unacked as it was");
    let left = w.frames_after(&reg, 0);
    assert_eq!(left.len(), 1);
    assert!(matches!(&left[0].activity.object, ActObject::Person(p) if p.uuid == ana));
    assert_eq!(w.expire_frames(&reg, now - window), 0, "inside the window: kept for redelivery");
}

#[test]
fn a_new_device_gets_no_replay_of_older_events() {
    let (mut w, reg, _, room) = setup();
    let (bot, owner) = (w.bot.clone(), w.owner.clone());
    w.add_member(&room, &bot, &owner).unwrap();
    let late = w.register_device(DeviceInfo::default()).unwrap().registration.clone();
    assert_eq!(w.frames_after(&reg, 0).len(), 1, "the device that existed buffers it");
    assert!(w.frames_after(&late, 0).is_empty(), "a device registered afterwards never sees it");
    w.rename_room(&room, "Later").unwrap();
    assert_eq!(verbs(&w, &late), ["update"]);
}

#[test]
fn a_bot_hears_group_messages_only_when_mentioned() {
    let (mut w, reg, ana, room) = setup();
    let (bot, owner) = (w.bot.clone(), w.owner.clone());
    w.add_member(&room, &bot, &owner).unwrap();
    w.add_member(&room, &ana, &owner).unwrap();
    let chatter = w.post_as_person(&room, &ana, "lunch?", &[]).unwrap();
    let mention = w.post_as_person(&room, &ana, "HITL Bot help", std::slice::from_ref(&bot)).unwrap();
    let dm_room = w.direct_room_with(&ana).unwrap();
    let dm = w.post_as_person(&dm_room, &ana, "hi", &[]).unwrap();
    let posts: Vec<_> =
        w.frames_after(&reg, 0).into_iter().filter(|p| p.activity.verb == "post").map(|p| p.activity.id).collect();
    assert_eq!(posts, [mention, dm], "the post activity id is the message uuid; {chatter} is not heard");
}
