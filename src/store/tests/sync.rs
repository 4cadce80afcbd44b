use super::{event_types, room, store_test};
use crate::store::{RoomSnapshot, SpaceFilter, SyncReport};

fn ids(spaces: &[crate::store::Space]) -> Vec<&str> {
    spaces.iter().map(|s| s.id.as_str()).collect()
}

store_test! {
    #[tokio::test]
    async fn first_sync_adds_everything(store) {
        let report = store.sync_spaces(vec![room(1), room(2)]).await.expect("sync");
        assert_eq!(ids(&report.added), ["ROOM-1", "ROOM-2"]);
        assert!(report.removed.is_empty() && report.updated.is_empty());
        assert_eq!(report.unchanged, 0);
        assert_eq!(event_types(&store).await, ["space.added", "space.added"]);
    }
}

store_test! {
    #[tokio::test]
    async fn resync_reports_added_removed_renamed_and_migrated(store) {
        store.sync_spaces(vec![room(1), room(2), room(3), room(4)]).await.expect("sync");
        store.space_removed("uuid-4", None).await.expect("removed");

        let mut renamed = room(1);
        renamed.title = "Room one".into();
        let mut migrated = room(3);
        migrated.id = "ROOM-3-EU".into();
        migrated.cluster = "urn:TEAM:eu-central-1_k".into();
        // Room 2 disappeared, room 4 is back, room 5 is new.
        let report = store.sync_spaces(vec![renamed, migrated, room(4), room(5)]).await.expect("sync");
        assert_eq!(ids(&report.removed), ["ROOM-2", "ROOM-3"]);
        assert_eq!(ids(&report.added), ["ROOM-3-EU", "ROOM-4", "ROOM-5"]);
        assert_eq!(ids(&report.updated), ["ROOM-1"]);
        assert_eq!(report.updated[0].title, "Room one");
        assert_eq!(report.unchanged, 0);
        assert!(report.removed.iter().all(|s| !s.visible && s.removed_at.is_some()));

        let types = event_types(&store).await;
        assert_eq!(
            types[5..],
            ["space.removed", "space.removed", "space.updated", "space.added", "space.added", "space.added"]
        );

        // Nothing changed since: a resync reports everything unchanged and logs nothing.
        let seq = store.latest_seq().await.expect("seq");
        let mut again = vec![room(4), room(5)];
        let mut renamed = room(1);
        renamed.title = "Room one".into();
        let mut migrated = room(3);
        migrated.id = "ROOM-3-EU".into();
        migrated.cluster = "urn:TEAM:eu-central-1_k".into();
        again.extend([renamed, migrated]);
        let report = store.sync_spaces(again).await.expect("sync");
        assert_eq!(report.unchanged, 4);
        assert!(report.added.is_empty() && report.removed.is_empty() && report.updated.is_empty());
        assert_eq!(store.latest_seq().await.expect("seq"), seq);
        let all = store.spaces(SpaceFilter { include_removed: true, ..Default::default() }).await.expect("list");
        assert_eq!(all.len(), 6, "removed rows are kept");
    }
}

store_test! {
    #[tokio::test]
    async fn duplicate_rooms_in_the_list_keep_the_last_copy(store) {
        let mut later = room(1);
        later.title = "Later title".into();
        let report = store.sync_spaces(vec![room(1), later]).await.expect("sync");
        assert_eq!(report.added.len(), 1);
        assert_eq!(report.added[0].title, "Later title");
    }
}

store_test! {
    #[tokio::test]
    async fn five_thousand_rooms_sync_correctly(store) {
        let rooms: Vec<RoomSnapshot> = (0..5_000).map(room).collect();
        let report = store.sync_spaces(rooms.clone()).await.expect("sync");
        assert_eq!(report.added.len(), 5_000);

        let mut next: Vec<RoomSnapshot> = rooms.into_iter().skip(10).collect();
        for r in next.iter_mut().take(5) {
            r.title.push_str(" (renamed)");
        }
        next.push(room(5_000));
        let report: SyncReport = store.sync_spaces(next).await.expect("resync");
        assert_eq!((report.added.len(), report.removed.len(), report.updated.len(), report.unchanged), (1, 10, 5, 4_985));
        let visible = store.spaces(SpaceFilter::default()).await.expect("list");
        assert_eq!(visible.len(), 4_991);
        assert_eq!(store.latest_seq().await.expect("seq"), 5_000 + 16);
    }
}

store_test! {
    #[tokio::test]
    async fn a_sync_staged_page_by_page_equals_one_of_the_whole_list(store) {
        store.sync_spaces(vec![room(1), room(2), room(3)]).await.expect("sync");
        let mut renamed = room(2);
        renamed.title = "Room two".into();
        let mut sync = store.begin_sync();
        // An overlapping sync stages apart and is dropped: it must not leak into this one.
        let mut other = store.begin_sync();
        store.stage_rooms(&mut other, vec![room(9)]).await.expect("stage other");
        store.stage_rooms(&mut sync, vec![room(4), room(2)]).await.expect("page 1");
        store.stage_rooms(&mut sync, vec![renamed, room(5)]).await.expect("page 2");
        store.abandon_sync(other).await.expect("abandon");
        let (tally, report) = store.finish_sync(sync, crate::store::Detail::Lists).await.expect("finish");
        assert_eq!(ids(&report.removed), ["ROOM-1", "ROOM-3"]);
        assert_eq!(ids(&report.added), ["ROOM-4", "ROOM-5"], "in the order REST listed them");
        assert_eq!(ids(&report.updated), ["ROOM-2"], "the later copy of a room wins");
        assert_eq!(
            (tally.added, tally.removed, tally.updated, tally.unchanged),
            (2, 2, 1, 0),
            "the tally counts what the lists hold"
        );
        assert!(store.space("ROOM-9").await.expect("lookup").is_none());

        let mut quiet = store.begin_sync();
        store.stage_rooms(&mut quiet, vec![room(4)]).await.expect("stage");
        let (tally, report) = store.finish_sync(quiet, crate::store::Detail::Counts).await.expect("finish");
        assert_eq!((tally.removed, tally.unchanged), (2, 1));
        assert!(report.removed.is_empty(), "counts only: no lists");
    }
}
