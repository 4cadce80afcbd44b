//! The other person of a direct space: which spaces are due a lookup, what a
//! lookup records, and the person picker's lookup by id or email.

use super::{room, store_test};
use crate::store::{Counterpart, PersonKey, RoomSnapshot};

fn direct(n: usize) -> RoomSnapshot {
    RoomSnapshot { space_type: "direct".into(), title: "Ana Lopez".into(), ..room(n) }
}

fn ana(n: usize) -> Counterpart {
    Counterpart {
        id: format!("PERSON-{n}"),
        email: Some(format!("ana.{n}@example.com")),
        name: Some("Ana Lopez".into()),
    }
}

fn key(id: &str, email: Option<&str>) -> PersonKey {
    PersonKey { id: id.into(), email: email.map(str::to_owned) }
}

store_test! {
    #[tokio::test]
    async fn only_direct_spaces_not_known_are_due_and_a_learnt_one_names_its_person(store) {
        store.sync_spaces(vec![room(1), direct(2), direct(3)]).await.expect("sync");
        assert_eq!(store.counterparts_due(10).await.expect("due"), ["ROOM-2", "ROOM-3"]);
        assert_eq!(store.counterparts_due(1).await.expect("due").len(), 1, "bounded");

        store.record_counterpart("ROOM-2", Some(ana(2))).await.expect("recorded");
        assert_eq!(store.counterparts_due(10).await.expect("due"), ["ROOM-3"], "never looked up again");
        let space = store.space("ROOM-2").await.expect("read").expect("known");
        assert_eq!(space.counterpart_id.as_deref(), Some("PERSON-2"));
        assert_eq!(space.counterpart_email.as_deref(), Some("ana.2@example.com"));
        assert_eq!(space.counterpart_name.as_deref(), Some("Ana Lopez"));
        let group = store.space("ROOM-1").await.expect("read").expect("known");
        assert_eq!((group.counterpart_id, group.counterpart_email), (None, None));
    }
}

store_test! {
    #[tokio::test]
    async fn a_failed_lookup_stays_due_behind_the_ones_never_tried(store) {
        store.sync_spaces(vec![direct(1), direct(2)]).await.expect("sync");
        store.record_counterpart("ROOM-1", None).await.expect("a failure is recorded");
        assert_eq!(store.counterparts_due(10).await.expect("due"), ["ROOM-2", "ROOM-1"]);
        assert_eq!(store.counterparts_due(1).await.expect("due"), ["ROOM-2"], "a failing room does not starve others");
        let space = store.space("ROOM-1").await.expect("read").expect("known");
        assert_eq!(space.counterpart_email, None);
    }
}

store_test! {
    #[tokio::test]
    async fn a_resync_keeps_what_was_learnt(store) {
        store.sync_spaces(vec![direct(1)]).await.expect("sync");
        store.record_counterpart("ROOM-1", Some(ana(1))).await.expect("recorded");
        let renamed = RoomSnapshot { title: "Ana L.".into(), ..direct(1) };
        store.sync_spaces(vec![renamed]).await.expect("resync");
        let space = store.space("ROOM-1").await.expect("read").expect("known");
        assert_eq!((space.title.as_str(), space.counterpart_id.as_deref()), ("Ana L.", Some("PERSON-1")));
        assert!(store.counterparts_due(10).await.expect("due").is_empty());
    }
}

store_test! {
    #[tokio::test]
    async fn people_are_matched_to_their_direct_space_by_id_or_email(store) {
        store.sync_spaces(vec![direct(1), direct(2)]).await.expect("sync");
        store.record_counterpart("ROOM-1", Some(ana(1))).await.expect("recorded");
        store.record_counterpart("ROOM-2", Some(Counterpart { email: None, ..ana(2) })).await.expect("recorded");
        let found = store
            .direct_spaces_of(vec![
                key("PERSON-1", None),
                key("someone-else", Some("ANA.1@example.com")),
                key("PERSON-2", Some("other@example.com")),
                key("PERSON-3", Some("ana.3@example.com")),
            ])
            .await
            .expect("lookup");
        let expected = [Some("ROOM-1"), Some("ROOM-1"), Some("ROOM-2"), None];
        assert_eq!(found.iter().map(Option::as_deref).collect::<Vec<_>>(), expected);

        store.space_removed("uuid-1", None).await.expect("removed");
        let after = store.direct_spaces_of(vec![key("PERSON-1", None)]).await.expect("lookup");
        assert_eq!(after, [None], "a DM the bot left is not one it has");
    }
}

/// A store written before v8 keeps its direct spaces, each due a lookup.
#[tokio::test]
async fn a_v7_store_migrates_with_its_direct_spaces_due() {
    use crate::store::{sql, time, Store};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        let v7 = [
            sql::MIGRATION_001_INITIAL,
            sql::MIGRATION_002_ESCALATIONS,
            sql::MIGRATION_003_AUDIT,
            sql::MIGRATION_004_CARDS,
            sql::MIGRATION_005_SCALE,
            sql::MIGRATION_006_NOTIFICATIONS,
            sql::MIGRATION_007_POLICIES,
        ];
        for batch in v7 {
            conn.execute_batch(batch).expect("an old migration");
        }
        let now = time::to_text(time::now());
        conn.execute(sql::UPSERT_SCHEMA_VERSION, rusqlite::params![7, "webex-hitl", now]).expect("v7");
        let row =
            rusqlite::params!["ROOM-1", "uuid-1", "us", "Ana Lopez", "direct", false, now, None::<String>, "ana lopez"];
        conn.execute(sql::INSERT_SPACE, row).expect("a direct space of v7");
    }
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("0600");
    let store = Store::open(&path).await.expect("migrates to v8");
    let space = store.space("ROOM-1").await.expect("read").expect("kept");
    assert_eq!((space.title.as_str(), space.counterpart_email), ("Ana Lopez", None));
    assert_eq!(store.counterparts_due(10).await.expect("due"), ["ROOM-1"]);
}
