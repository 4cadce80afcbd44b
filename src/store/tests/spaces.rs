use super::{event_types, room, space_of, store_test, tick};
use crate::store::EventPayload;
use crate::store::{ActivityOutcome, EventRecord, SpaceFilter};

fn applied(outcome: ActivityOutcome<Option<EventRecord>>) -> Option<EventRecord> {
    match outcome {
        ActivityOutcome::Applied(event) => event,
        ActivityOutcome::AlreadyProcessed => panic!("expected Applied"),
    }
}

store_test! {
    #[tokio::test]
    async fn space_seen_adds_once_then_updates_on_change(store) {
        let event = applied(store.space_seen(room(1), Some("act-1")).await.expect("seen")).expect("added event");
        assert_eq!(event.kind.as_str(), "space.added");
        let space = store.space("ROOM-1").await.expect("lookup").expect("stored");
        assert!(space.visible && space.added_at.is_some() && space.removed_at.is_none());
        assert_eq!(event.payload, EventPayload::Space(space.clone()));
        assert_eq!(store.space("uuid-1").await.expect("by uuid"), Some(space.clone()));

        // Same snapshot again: nothing to report.
        assert_eq!(applied(store.space_seen(room(1), Some("act-2")).await.expect("seen")), None);

        let mut renamed = room(1);
        renamed.title = "Renamed".into();
        renamed.is_locked = true;
        let event = applied(store.space_seen(renamed, None).await.expect("seen")).expect("event");
        assert_eq!(event.kind.as_str(), "space.updated");
        assert_eq!(space_of(&event).title, "Renamed");
        let updated = store.space("ROOM-1").await.expect("lookup").expect("stored");
        assert!(updated.is_locked);
        assert_eq!(updated.added_at, space.added_at, "still the same membership");
        assert_eq!(event_types(&store).await, ["space.added", "space.updated"]);
    }
}

store_test! {
    #[tokio::test]
    async fn processed_activity_changes_nothing(store) {
        store.space_seen(room(1), Some("act-1")).await.expect("seen");
        let mut changed = room(1);
        changed.title = "Would change".into();
        let again = store.space_seen(changed, Some("act-1")).await.expect("seen");
        assert_eq!(again, ActivityOutcome::AlreadyProcessed);
        let space = store.space("ROOM-1").await.expect("lookup").expect("stored");
        assert_eq!(space.title, "Room 1");

        store.mark_processed("act-r").await.expect("mark");
        let removed = store.space_removed("uuid-1", Some("act-r")).await.expect("removed");
        assert_eq!(removed, ActivityOutcome::AlreadyProcessed);
        assert!(store.space("ROOM-1").await.expect("lookup").expect("row").visible);
        assert_eq!(store.latest_seq().await.expect("seq"), 1);
    }
}

store_test! {
    #[tokio::test]
    async fn space_removed_keeps_row_and_appends_once(store) {
        store.space_seen(room(1), None).await.expect("seen");
        store.space_seen(room(2), None).await.expect("seen");
        let event = applied(store.space_removed("uuid-1", Some("r1")).await.expect("removed")).expect("event");
        assert_eq!(event.kind.as_str(), "space.removed");
        assert!(!space_of(&event).visible);
        assert!(store.is_processed("r1").await.expect("processed"));

        // Removed again under a new activity id: nothing visible to remove.
        assert_eq!(applied(store.space_removed("uuid-1", Some("r2")).await.expect("rm")), None);
        assert_eq!(applied(store.space_removed("unknown", None).await.expect("rm")), None);
        assert_eq!(event_types(&store).await, ["space.added", "space.added", "space.removed"]);

        let row = store.space("uuid-1").await.expect("lookup").expect("row kept");
        assert!(!row.visible && row.removed_at.is_some());
        let visible = store.spaces(SpaceFilter::default()).await.expect("list");
        assert_eq!(visible.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), ["ROOM-2"]);
        let all = store.spaces(SpaceFilter { include_removed: true, ..Default::default() }).await.expect("list");
        assert_eq!(all.len(), 2);
    }
}

store_test! {
    #[tokio::test]
    async fn re_added_space_is_added_again_with_fresh_added_at(store) {
        store.space_seen(room(1), None).await.expect("seen");
        let first = store.space("ROOM-1").await.expect("lookup").expect("row");
        store.space_removed("uuid-1", None).await.expect("removed");
        tick().await;
        let event = applied(store.space_seen(room(1), None).await.expect("seen")).expect("event");
        assert_eq!(event.kind.as_str(), "space.added");
        let back = store.space("ROOM-1").await.expect("lookup").expect("row");
        assert!(back.visible && back.removed_at.is_none());
        assert!(back.added_at > first.added_at);
    }
}

store_test! {
    #[tokio::test]
    async fn space_seen_under_new_id_retires_the_migrated_old_id(store) {
        store.space_seen(room(1), None).await.expect("seen");
        let mut migrated = room(1);
        migrated.id = "ROOM-1-EU".into();
        migrated.cluster = "urn:TEAM:eu-central-1_k".into();
        let event = applied(store.space_seen(migrated, None).await.expect("seen")).expect("event");
        assert_eq!(event.kind.as_str(), "space.added");
        assert_eq!(event_types(&store).await, ["space.added", "space.added", "space.removed"]);
        assert!(!store.space("ROOM-1").await.expect("old").expect("kept").visible);
        assert_eq!(store.space("uuid-1").await.expect("uuid").expect("row").id, "ROOM-1-EU");
    }
}

store_test! {
    #[tokio::test]
    async fn filters_by_type_and_title_case_insensitively_in_title_order(store) {
        for (n, title, kind) in [
            (1, "zeta support", "group"),
            (2, "Alpha Support", "group"),
            (3, "ÉQUIPE support", "group"),
            (4, "Bob Smith", "direct"),
            (5, "beta", "group"),
        ] {
            let mut r = room(n);
            r.title = title.into();
            r.space_type = kind.into();
            store.space_seen(r, None).await.expect("seen");
        }
        let titles = |spaces: Vec<crate::store::Space>| -> Vec<String> { spaces.into_iter().map(|s| s.title).collect() };
        let all = store.spaces(SpaceFilter::default()).await.expect("list");
        assert_eq!(titles(all), ["Alpha Support", "beta", "Bob Smith", "zeta support", "ÉQUIPE support"]);
        let direct = SpaceFilter { space_type: Some("direct".into()), ..Default::default() };
        assert_eq!(titles(store.spaces(direct).await.expect("list")), ["Bob Smith"]);
        let q = SpaceFilter { title_contains: Some("SUPPORT".into()), ..Default::default() };
        assert_eq!(store.spaces(q).await.expect("list").len(), 3);
        let q = SpaceFilter { title_contains: Some("équipe".into()), ..Default::default() };
        assert_eq!(titles(store.spaces(q).await.expect("list")), ["ÉQUIPE support"]);
        let q = SpaceFilter {
            space_type: Some("direct".into()),
            title_contains: Some("support".into()),
            include_removed: true,
        };
        assert!(store.spaces(q).await.expect("list").is_empty());
    }
}

store_test! {
    #[tokio::test]
    async fn last_activity_is_refreshed_without_an_event(store) {
        store.space_seen(room(1), None).await.expect("seen");
        let mut newer = room(1);
        newer.last_activity = Some(chrono::Utc::now());
        assert_eq!(applied(store.space_seen(newer.clone(), None).await.expect("seen")), None);
        let row = store.space("ROOM-1").await.expect("lookup").expect("row");
        assert!(row.last_activity.is_some());
        // A snapshot without last_activity keeps the known one.
        store.space_seen(room(1), None).await.expect("seen");
        let kept = store.space("ROOM-1").await.expect("lookup").expect("row");
        assert_eq!(kept.last_activity, row.last_activity);
        assert_eq!(store.latest_seq().await.expect("seq"), 1);
    }
}

store_test! {
    #[tokio::test]
    async fn pages_follow_the_listing_order_and_a_cursor_resumes_after_the_last(store) {
        let titles = ["Émile", "alpha", "Beta", "émile", "Zulu", "beta 2"];
        let rooms: Vec<_> = titles
            .iter()
            .enumerate()
            .map(|(n, title)| crate::store::RoomSnapshot { title: (*title).into(), ..room(n) })
            .collect();
        store.sync_spaces(rooms).await.expect("sync");
        let all: Vec<String> =
            store.spaces(SpaceFilter::default()).await.expect("list").into_iter().map(|s| s.title).collect();
        assert_eq!(all, ["alpha", "Beta", "beta 2", "Zulu", "Émile", "émile"]);

        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let (page, next) = store.spaces_page(SpaceFilter::default(), cursor, 4).await.expect("page");
            assert!(page.len() <= 4);
            seen.extend(page.into_iter().map(|s| s.title));
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, all);
        let filter = SpaceFilter { title_contains: Some("BETA".into()), ..Default::default() };
        let (page, next) = store.spaces_page(filter.clone(), None, 1).await.expect("page");
        assert_eq!((page[0].title.as_str(), next.is_some()), ("Beta", true));
        let (page, _) = store.spaces_page(filter, next, 10).await.expect("page");
        assert_eq!(page.iter().map(|s| s.title.as_str()).collect::<Vec<_>>(), ["beta 2"]);
    }
}
