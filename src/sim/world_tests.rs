use super::*;

fn world_with_ana() -> (World, String, String) {
    let mut w = World::new();
    let ana = w.add_person("ana@example.com", "Ana");
    let room = w.create_room("VIP", false, &w.owner.clone());
    (w, ana, room)
}

#[test]
fn membership_rules() {
    let (mut w, ana, room) = world_with_ana();
    let owner = w.owner.clone();
    w.add_member(&room, &ana, &owner).unwrap();
    assert!(matches!(w.add_member(&room, &ana, &owner), Err(WorldError::Invalid(_))));
    assert_eq!(w.add_member(&room, "nobody", &owner), Err(WorldError::PersonNotFound));
    w.remove_member(&room, &ana, &owner).unwrap();
    assert!(w.remove_member(&room, &ana, &owner).is_err());
    assert!(!w.room(&room).unwrap().has_member(&ana));
}

#[test]
fn bot_room_requires_membership_and_right_cluster() {
    let (mut w, _, room) = world_with_ana();
    let id = w.room(&room).unwrap().rest_id();
    assert_eq!(w.bot_room(&id).err(), Some(WorldError::RoomNotFound));
    let (bot, owner) = (w.bot.clone(), w.owner.clone());
    w.add_member(&room, &bot, &owner).unwrap();
    assert!(w.bot_room(&id).is_ok());
    let wrong = RestId::new(IdKind::Room, MIGRATED_CLUSTER, room.clone()).encode();
    assert!(w.bot_room(&wrong).is_err());
}

#[test]
fn migration_changes_id_and_keeps_members() {
    let (mut w, ana, room) = world_with_ana();
    let owner = w.owner.clone();
    w.add_member(&room, &ana, &owner).unwrap();
    let old_id = w.room(&room).unwrap().rest_id();
    let new = w.migrate_room(&room).unwrap();
    assert!(w.room_by_rest(&old_id).is_none());
    let r = w.room(&new).unwrap();
    assert_eq!(r.cluster, MIGRATED_CLUSTER);
    assert!(r.has_member(&ana));
    assert!(w.room_by_rest(&r.rest_id()).is_some());
}

#[test]
fn paging_cursor_walks_only_bot_rooms() {
    let mut w = World::new();
    let (bot, owner) = (w.bot.clone(), w.owner.clone());
    for i in 0..25 {
        let r = w.create_room(&format!("r{i}"), false, &owner);
        if i % 2 == 0 {
            w.add_member(&r, &bot, &owner).unwrap();
        }
    }
    let mut titles = Vec::new();
    let mut cursor = 0;
    loop {
        let (page, next) = w.bot_rooms_page(cursor, 5, None);
        assert!(page.len() <= 5);
        titles.extend(page.iter().map(|r| r.title.clone()));
        match next {
            Some(n) => cursor = n,
            None => break,
        }
    }
    assert_eq!(titles.len(), 13);
    assert_eq!(titles[0], "r0");
    assert_eq!(titles[12], "r24");
    assert!(w.bot_rooms_page(0, 100, Some(true)).0.is_empty());
}

#[test]
fn direct_room_is_reused() {
    let (mut w, ana, _) = world_with_ana();
    let a = w.direct_room_with(&ana).unwrap();
    let b = w.direct_room_with(&ana).unwrap();
    assert_eq!(a, b);
    let r = w.room(&a).unwrap();
    assert!(r.direct && r.has_member(&w.bot) && r.title == "Ana");
}

#[test]
fn people_belong_to_orgs_and_email_lookup_stays_in_the_bots() {
    let mut w = World::new();
    let ana = w.add_person("ana@example.com", "Ana");
    let bo = w.add_person_in_org("bo@partner.example", "Bo", OTHER_ORG_UUID);
    assert_eq!(w.person(&ana).unwrap().org, w.bot_org());
    assert_eq!(w.person(&bo).unwrap().org, OTHER_ORG_UUID);
    assert!(w.person_in_bot_org("ANA@example.com").is_some());
    assert!(w.person_in_bot_org("bo@partner.example").is_none(), "not by email across orgs");
    assert_eq!(w.person_by_email("bo@partner.example").map(|p| p.uuid.clone()), Some(bo.clone()));
    assert_eq!(w.add_person_in_org("bo@partner.example", "Bo again", ORG_UUID), bo, "one person per email");
    let dm = w.direct_room_with(&bo).unwrap();
    assert!(w.room(&dm).unwrap().has_member(&bo), "a DM reaches another org");
}
