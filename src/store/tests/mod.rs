//! Store tests: each file exercises one part of the store against a real SQLite
//! database (in memory, or a file in a temp dir when the file matters).

mod activities;
mod counterparts;
mod engine;
mod events;
mod open;
mod outage;
mod plans;
mod spaces;
mod sync;

use super::{EventPayload, EventRecord, RoomSnapshot, Space, Store};

pub(super) fn room(n: usize) -> RoomSnapshot {
    RoomSnapshot {
        id: format!("ROOM-{n}"),
        uuid: format!("uuid-{n}"),
        cluster: "us".into(),
        title: format!("Room {n}"),
        space_type: "group".into(),
        is_locked: false,
        last_activity: None,
    }
}

pub(super) async fn memory() -> Store {
    Store::open_in_memory().await.expect("in-memory store opens")
}

pub(super) async fn event_types(store: &Store) -> Vec<&'static str> {
    store.events_after(0, 100_000).await.expect("events read").into_iter().map(|e| e.kind.as_str()).collect()
}

pub(super) fn space_of(event: &EventRecord) -> &Space {
    match &event.payload {
        EventPayload::Space(space) => space,
        other => panic!("not a space event: {other:?}"),
    }
}

/// Lets the clock move past the microsecond the store last stamped.
pub(super) async fn tick() {
    tokio::time::sleep(std::time::Duration::from_millis(3)).await;
}
