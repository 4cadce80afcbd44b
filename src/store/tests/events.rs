use std::time::Duration;

use super::{memory, room, store_test, tick};
use crate::store::{ConnectionChange, EventKind, EventPayload, Store};

/// A connection event told apart by `n` (as its reconnect count), with a non-ASCII URL.
fn change(n: u64) -> ConnectionChange {
    ConnectionChange::up(None, Some(format!("wss://ü.example/{n}")), n)
}

store_test! {
    #[tokio::test]
    async fn append_and_read_in_seq_order(store) {
        assert_eq!(store.latest_seq().await.expect("seq"), 0);
        assert_eq!(store.oldest_seq().await.expect("oldest"), None);
        for n in 1..=3 {
            let e = store.record_connection(change(n)).await.expect("append");
            assert_eq!(e.seq, n as i64);
        }
        let after1 = store.events_after(1, 10).await.expect("read");
        assert_eq!(after1.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(after1[0].payload, EventPayload::Connection(change(2)));
        assert_eq!(after1[0].kind, EventKind::ConnectionUp);
        assert_eq!(store.events_after(0, 2).await.expect("read").len(), 2);
        assert!(store.events_after(3, 10).await.expect("read").is_empty());
        assert_eq!(store.latest_seq().await.expect("seq"), 3);
        assert_eq!(store.oldest_seq().await.expect("oldest"), Some(1));
    }
}

store_test! {
    #[tokio::test]
    async fn returned_record_equals_stored_record(store) {
        let appended = store.record_connection(ConnectionChange::down(Some("ü".into()))).await.expect("append");
        let read = store.events_after(0, 1).await.expect("read");
        assert_eq!(read, vec![appended]);
    }
}

store_test! {
    #[tokio::test]
    async fn prune_events_removes_only_old_rows_and_seq_is_never_reused(store) {
        store.record_connection(change(1)).await.expect("append");
        store.record_connection(change(2)).await.expect("append");
        tick().await;
        let cutoff = chrono::Utc::now();
        tick().await;
        store.record_connection(change(3)).await.expect("append");
        assert_eq!(store.prune_events(cutoff).await.expect("prune"), 2);
        assert_eq!(store.oldest_seq().await.expect("oldest"), Some(3));

        // Prune everything, including the newest row: the next seq still moves on.
        tick().await;
        let all = chrono::Utc::now();
        assert_eq!(store.prune_events(all).await.expect("prune"), 1);
        assert_eq!(store.oldest_seq().await.expect("oldest"), None);
        assert_eq!(store.latest_seq().await.expect("latest"), 3);
        let next = store.record_connection(change(4)).await.expect("append");
        assert_eq!(next.seq, 4);
    }
}

#[tokio::test]
async fn seq_is_monotonic_across_prune_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.db");
    let store = Store::open(&path).await.expect("open");
    for n in 0..5 {
        store.record_connection(change(n)).await.expect("append");
    }
    tick().await;
    store.prune_events(chrono::Utc::now()).await.expect("prune all");
    drop(store);

    let store = Store::open(&path).await.expect("reopen");
    assert_eq!(store.latest_seq().await.expect("latest"), 5);
    assert_eq!(*store.subscribe().borrow(), 5);
    assert_eq!(store.record_connection(change(5)).await.expect("append").seq, 6);
}

store_test! {
    #[tokio::test]
    async fn subscribe_sees_seq_after_commit(store) {
        let mut rx = store.subscribe();
        assert_eq!(*rx.borrow_and_update(), 0);

        let e = store.record_connection(change(0)).await.expect("append");
        tokio::time::timeout(Duration::from_secs(5), rx.changed()).await.expect("woken").expect("sender alive");
        assert_eq!(*rx.borrow_and_update(), e.seq);

        // A follower waiting in another task wakes on a space event too.
        let waiter = {
            let mut rx = store.subscribe();
            tokio::spawn(async move {
                rx.changed().await.expect("sender alive");
                *rx.borrow()
            })
        };
        tokio::task::yield_now().await;
        store.sync_spaces(vec![room(1), room(2)]).await.expect("sync");
        let seen = tokio::time::timeout(Duration::from_secs(5), waiter).await.expect("woken").expect("task");
        assert_eq!(seen, 3);
        assert_eq!(store.events_after(seen - 1, 10).await.expect("read").len(), 1);
    }
}

store_test! {
    #[tokio::test]
    async fn write_without_events_does_not_bump_and_failed_write_rolls_back(store) {
        let rx = store.subscribe();
        let err = store
            .write(|tx| {
                crate::store::events::append(tx, EventKind::ConnectionUp, EventPayload::Connection(change(0)))?;
                Err::<(), _>(crate::store::StoreError::NoRow)
            })
            .await;
        assert!(err.is_err());
        assert!(!rx.has_changed().expect("sender alive"));
        assert!(store.events_after(0, 10).await.expect("read").is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_from_clones_get_distinct_seqs() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<Store>();
    let store = memory().await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..20 {
        let store = store.clone();
        tasks.spawn(async move { store.record_connection(change(n)).await.expect("append").seq });
    }
    let mut seqs = tasks.join_all().await;
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=20).collect::<Vec<i64>>());
    assert_eq!(*store.subscribe().borrow(), 20);
}
