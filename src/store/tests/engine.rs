//! The store's engine: group commit (one failing write among others, each
//! caller's own result, commit order) and the fixed number of threads.

use std::collections::HashSet;
use std::sync::{mpsc, Arc, Mutex};

use rusqlite::{params, OptionalExtension};

use crate::store::db::{args, Db};

use super::store_test;
use crate::store::{sql, ConnectionChange, Store, StoreError, READERS};

/// Queues a write that holds the writer until `release` is sent, so that the
/// writes queued after it wait together and are committed as one group.
fn hold_writer(store: &Store) -> (mpsc::Sender<()>, tokio::sync::oneshot::Receiver<Result<(), StoreError>>) {
    let (release, gate) = mpsc::channel::<()>();
    let held = store.submit(move |_| {
        let _ = gate.recv();
        Ok(())
    });
    (release, held)
}

fn put(tx: &Db<'_>, key: &str) -> Result<(), StoreError> {
    tx.execute(sql::UPSERT_META, args![key, key.as_bytes()])?;
    Ok(())
}

async fn stored(store: &Store, key: &str) -> bool {
    let key = key.to_owned();
    store.read(move |c| Ok(c.query_opt(sql::SELECT_META, args![key], |_| Ok(()))?.is_some())).await.expect("read")
}

store_test! {
    #[tokio::test]
    async fn a_failing_write_in_a_group_rolls_back_alone_and_each_caller_gets_its_own_result(store) {
        let before = store.write_stats();
        let (release, held) = hold_writer(&store);
        let answers: Vec<_> = (0..6)
            .map(|n| {
                store.submit(move |tx| {
                    put(tx, &format!("k{n}"))?;
                    match n {
                        // Its own error, after a write of its own.
                        2 => Err(StoreError::NoRow),
                        // A statement SQLite refuses (a card of no escalation), after a write.
                        4 => {
                            tx.execute(sql::INSERT_CARD, args!["m", "mid", "no-such-escalation", "s", "posted", "t"])?;
                            Ok(n)
                        }
                        _ => Ok(n),
                    }
                })
            })
            .collect();
        release.send(()).expect("writer waits");
        held.await.expect("answered").expect("held write");
        let mut results = Vec::new();
        for answer in answers {
            results.push(answer.await.expect("answered"));
        }
        assert!(matches!(results[2], Err(StoreError::NoRow)), "{:?}", results[2]);
        let refused = results[4].as_ref().err().map(|e| e.to_string().to_lowercase()).unwrap_or_default();
        assert!(refused.contains("foreign key"), "{results:?}");
        for n in [0, 1, 3, 5] {
            assert_eq!(results[n].as_ref().ok(), Some(&n));
        }
        for (n, kept) in [(0, true), (1, true), (2, false), (3, true), (4, false), (5, true)] {
            assert_eq!(stored(&store, &format!("k{n}")).await, kept, "k{n}");
        }
        let stats = store.write_stats();
        assert_eq!(stats.writes - before.writes, 7);
        assert!(stats.commits - before.commits <= 2, "7 writes queued together took {stats:?}");
    }
}

store_test! {
    #[tokio::test]
    async fn the_events_kept_for_followers_are_those_committed_and_no_other(store) {
        use crate::store::events::{append, EventPayload};
        let appending = |fail: bool| {
            store.submit(move |tx| {
                let change = ConnectionChange::down(None);
                append(tx, crate::store::EventKind::ConnectionDown, EventPayload::Connection(change))?;
                if fail { Err(StoreError::NoRow) } else { Ok(()) }
            })
        };
        let start = store.latest_seq().await.expect("latest");
        // Alone in its transaction, then in a group with a failing write.
        assert!(appending(true).await.expect("answered").is_err());
        let (release, held) = hold_writer(&store);
        let answers: Vec<_> = [false, true, false, false].into_iter().map(appending).collect();
        release.send(()).expect("writer waits");
        held.await.expect("answered").expect("held write");
        for answer in answers {
            let _ = answer.await.expect("answered");
        }
        let seqs = |events: Vec<Arc<crate::store::EventRecord>>| events.iter().map(|e| e.seq).collect::<Vec<_>>();
        let logged = store.events_after(start, 10).await.expect("read").into_iter().map(Arc::new).collect();
        let (logged, kept) = (seqs(logged), store.recent_events(start, 10).map(seqs));
        assert_eq!(logged.len(), 3, "{logged:?}");
        assert_eq!(kept.as_ref(), Some(&logged));
        assert_eq!(store.recent_events(*logged.last().expect("three"), 10).map(seqs), Some(vec![]));
    }
}

store_test! {
    #[tokio::test]
    async fn a_panicking_write_is_rolled_back_and_the_store_goes_on(store) {
        let (release, held) = hold_writer(&store);
        let first = store.submit(|tx| put(tx, "before"));
        let panics = store.submit(|tx| -> Result<(), StoreError> {
            put(tx, "panicked")?;
            panic!("a bug in a closure");
        });
        let after = store.submit(|tx| put(tx, "after"));
        release.send(()).expect("writer waits");
        held.await.expect("answered").expect("held write");
        assert!(matches!(panics.await.expect("answered"), Err(StoreError::Panicked)));
        first.await.expect("answered").expect("first");
        after.await.expect("answered").expect("after");
        assert!(stored(&store, "before").await && stored(&store, "after").await);
        assert!(!stored(&store, "panicked").await);
        let read_panic = store.read(|_| -> Result<(), StoreError> { panic!("a bug in a read") }).await;
        assert!(matches!(read_panic, Err(StoreError::Panicked)));
        assert!(stored(&store, "after").await, "the reader survived");
    }
}

#[tokio::test]
async fn writes_are_durable_when_answered_and_commit_in_queue_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.db");
    let store = Store::open(&path).await.expect("open");
    let (release, held) = hold_writer(&store);
    let answers: Vec<_> = (0..50)
        .map(|n| {
            store.submit(move |tx| {
                let change = ConnectionChange::down(Some(format!("n{n}")));
                let kind = crate::store::EventKind::ConnectionDown;
                Ok(crate::store::events::append(tx, kind, crate::store::EventPayload::Connection(change))?.seq)
            })
        })
        .collect();
    release.send(()).expect("writer waits");
    held.await.expect("answered").expect("held write");
    // Another connection, as another process would open it.
    let outside = rusqlite::Connection::open(&path).expect("raw open");
    let mut last = 0;
    for answer in answers {
        let seq = answer.await.expect("answered").expect("append");
        assert!(seq > last, "queued after {last}, committed as {seq}");
        last = seq;
        let found: Option<i64> =
            outside.query_row(sql::SELECT_EVENTS_AFTER, params![seq - 1, 1], |r| r.get(0)).optional().expect("raw");
        assert_eq!(found, Some(seq), "answered before it was durable");
    }
    assert_eq!(*store.subscribe().borrow(), last, "followers saw the last commit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundreds_of_concurrent_calls_run_on_the_stores_few_threads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("store.db")).await.expect("open");
    assert_eq!(store.threads(), 1 + READERS);
    let seen: Arc<Mutex<HashSet<std::thread::ThreadId>>> = Arc::default();
    let mut calls = tokio::task::JoinSet::new();
    for n in 0..400 {
        let (store, seen) = (store.clone(), Arc::clone(&seen));
        calls.spawn(async move {
            let note = move || seen.lock().expect("lock").insert(std::thread::current().id());
            if n % 2 == 0 {
                store
                    .write(move |tx| {
                        note();
                        put(tx, &format!("c{n}"))
                    })
                    .await
            } else {
                store
                    .read(move |_| {
                        note();
                        Ok(())
                    })
                    .await
            }
        });
    }
    for result in calls.join_all().await {
        result.expect("call");
    }
    let threads = seen.lock().expect("lock").len();
    assert!(threads <= store.threads(), "400 concurrent calls ran on {threads} threads");
    assert!(stored(&store, "c398").await);
}

store_test! {
    #[tokio::test]
    async fn a_due_job_is_leased_to_one_taker_and_due_again_when_its_lease_ends(store) {
        use crate::store::outbox::{insert_job, JOB_LEASE};
        use crate::store::{Reply, Task};
        let reply = Reply { room_id: "ROOM".into(), parent_id: None, text: "hi".into(), markdown: None };
        store.write(move |tx| insert_job(tx, &Task::Reply(reply))).await.expect("queued");
        let now = chrono::Utc::now();
        let first = store.due_jobs(now, 10).await.expect("claim");
        assert_eq!(first.len(), 1);
        assert!(store.due_jobs(now, 10).await.expect("claim again").is_empty(), "leased: nobody else gets it");
        let lease = chrono::Duration::from_std(JOB_LEASE).expect("lease");
        let next = store.next_job_at().await.expect("next").expect("one job");
        assert!(next >= now + lease - chrono::Duration::seconds(1), "due again at the lease's end: {next}");
        let later = store.due_jobs(now + lease + chrono::Duration::seconds(1), 10).await.expect("after the lease");
        assert_eq!(later.iter().map(|j| j.id).collect::<Vec<_>>(), [first[0].id], "an unfinished job comes back");
    }
}

store_test! {
    #[tokio::test]
    async fn a_lease_has_one_holder_and_a_new_fence_for_each_new_holder(store) {
        let ttl = std::time::Duration::from_secs(60);
        let fence = store.take_lease("leader", ttl).await.expect("take").expect("free: taken");
        assert_eq!(store.take_lease("leader", ttl).await.expect("renew"), Some(fence), "renewed, same fence");
        assert!(store.holds_lease("leader", fence).await.expect("holds"));
        let other = Store::clone(&store);
        // Another holder name: the lease is written as another instance would.
        other
            .write(|tx| {
                let past = crate::store::time::to_text(chrono::Utc::now() - chrono::Duration::seconds(1));
                tx.execute(sql::TEST_HAND_LEASES_TO_PEER, args![past]).map(drop)
            })
            .await
            .expect("expire");
        let taken = store.take_lease("leader", ttl).await.expect("take over").expect("expired: taken");
        assert_eq!(taken, fence + 1, "a change of holder bumps the fence");
        assert!(!store.holds_lease("leader", fence).await.expect("old fence"), "the old fence is stale");
        other
            .write(|tx| {
                let later = crate::store::time::to_text(chrono::Utc::now() + chrono::Duration::seconds(60));
                tx.execute(sql::TEST_HAND_LEASES_TO_PEER, args![later]).map(drop)
            })
            .await
            .expect("peer holds it");
        assert_eq!(store.take_lease("leader", ttl).await.expect("held"), None, "held by a peer: not taken");
        store.drop_lease("leader").await.expect("drop");
    }
}

/// On PostgreSQL only a commit that appended events wakes the other
/// instances: an empty outbox claim (what a wake-up runs) does not, or two
/// instances would wake each other for ever (29,000 empty commits in 3 s,
/// measured before this rule).
#[tokio::test]
async fn only_a_commit_that_appended_events_notifies_the_other_instances() {
    let Some(scratch) = super::pg::Scratch::new("store::tests::engine::notifies").await else { return };
    let store = scratch.store();
    let listening = std::thread::spawn(|| {
        let mut client = postgres::Client::connect(&super::pg::url(), postgres::NoTls).expect("connect");
        client.batch_execute(sql::PG_LISTEN).expect("listen");
        client
    })
    .join()
    .expect("listener");
    assert!(store.due_jobs(chrono::Utc::now(), 10).await.expect("an empty claim").is_empty());
    store.record_connection(ConnectionChange::up(None, None, 0)).await.expect("an event");
    let received = std::thread::spawn(move || {
        use postgres::fallible_iterator::FallibleIterator;
        let mut client = listening;
        let mut notifications = client.notifications();
        let first = notifications.timeout_iter(std::time::Duration::from_secs(10)).next().expect("read");
        let more = notifications.iter().count().expect("read");
        first.map_or(0, |_| 1 + more)
    })
    .join()
    .expect("listener");
    assert_eq!(received, 1, "the event's commit notified, the empty claim did not");
}

/// Pages in the WAL now, read on a reader (a passive checkpoint reports them).
async fn wal_pages(store: &Store) -> i64 {
    store
        .read(|db| {
            let Db::Sqlite(conn) = db else { unreachable!("a store in a file") };
            Ok(conn.query_row(sql::WAL_CHECKPOINT_PASSIVE, [], |row| row.get::<_, i64>(1))?)
        })
        .await
        .expect("read")
}

/// Every reader busy with a long read until its sender is dropped: read jobs
/// queued meanwhile (a handed-over checkpoint) wait behind them.
async fn busy_readers(store: &Store) -> (Vec<mpsc::Sender<()>>, Vec<tokio::task::JoinHandle<Result<(), StoreError>>>) {
    let (started, mut running) = tokio::sync::mpsc::unbounded_channel();
    let (mut releases, mut busy) = (Vec::new(), Vec::new());
    for _ in 0..READERS {
        let (release, wait) = mpsc::channel::<()>();
        let (started, store) = (started.clone(), store.clone());
        releases.push(release);
        busy.push(tokio::spawn(async move {
            store
                .read(move |_| {
                    let _ = started.send(());
                    let _ = wait.recv();
                    Ok(())
                })
                .await
        }));
    }
    for _ in 0..READERS {
        running.recv().await.expect("a reader took its job");
    }
    (releases, busy)
}

/// ~8 WAL pages a commit (a 16 KiB value), one commit each.
async fn write_blobs(store: &Store, keys: std::ops::Range<usize>) {
    let blob = vec![7u8; 16 * 1024];
    for n in keys {
        let blob = blob.clone();
        store.write(move |tx| tx.execute(sql::UPSERT_META, args![format!("k{n}"), blob])).await.expect("write");
    }
}

#[tokio::test]
async fn the_wal_is_checkpointed_by_a_reader_not_by_the_writers_commits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("store.db")).await.expect("open");
    // The checkpoint handed over at 1,000 pages waits until every commit is
    // made (~2,000 pages), so that it copies them all.
    let (releases, busy) = busy_readers(&store).await;
    write_blobs(&store, 0..250).await;
    assert_eq!(store.write_stats().checkpoints, 0);
    drop(releases);
    for read in busy {
        read.await.expect("join").expect("read");
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.write_stats().checkpoints == 0 {
        assert!(std::time::Instant::now() < deadline, "no checkpoint ran: {:?}", store.write_stats());
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // After a complete checkpoint, the next commit starts the WAL again.
    store.write(|tx| put(tx, "after")).await.expect("write");
    let pages = wal_pages(&store).await;
    assert!(pages < 100, "the WAL holds {pages} pages after a checkpoint");
    assert_eq!(store.write_stats().caught_up, 0, "below its bound the writer never checkpoints");
    assert!(stored(&store, "k249").await && stored(&store, "after").await);
}

/// Frames in the WAL, read on a connection of the test's own (the readers may be busy).
fn wal_frames(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("a connection of the test's own");
    conn.query_row(sql::WAL_CHECKPOINT_PASSIVE, [], |row| row.get(1)).expect("checkpoint row")
}

#[tokio::test]
async fn a_wal_the_readers_cannot_checkpoint_is_caught_up_by_the_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.db");
    let store = Store::open(&path).await.expect("open");
    store.write(|tx| put(tx, "before")).await.expect("write");
    // Every reader busy: the checkpoint handed over waits behind them, so
    // only the writer's own can let the WAL start again.
    let (releases, busy) = busy_readers(&store).await;
    // Past the WAL's bound of 8,000 pages.
    write_blobs(&store, 0..1300).await;
    let frames = wal_frames(&path);
    let stats = store.write_stats();
    assert!(frames < i64::from(crate::store::checkpoint::RESTART_PAGES), "{frames} frames in the WAL: {stats:?}");
    assert_eq!((stats.checkpoints, stats.caught_up > 0), (0, true), "{stats:?}");
    drop(releases);
    for read in busy {
        read.await.expect("join").expect("read");
    }
    assert!(stored(&store, "before").await && stored(&store, "k1299").await);
}
