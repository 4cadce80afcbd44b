//! Store tests: each file exercises one part of the store against a real SQLite
//! database (in memory, or a file in a temp dir when the file matters).

mod activities;
mod counterparts;
mod engine;
mod events;
mod open;
mod outage;
pub(crate) mod pg;
mod pg_env;
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

/// A test of the store run on both engines: `NAME::sqlite` on an in-memory
/// SQLite store, `NAME::postgres` in a scratch PostgreSQL schema (skipped,
/// loudly, without a server). The body gets the store as `$store`.
macro_rules! store_test {
    ($(#[$attr:meta])* async fn $name:ident($store:ident) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($store: $crate::store::Store) $body

            $(#[$attr])*
            async fn sqlite() {
                body($crate::store::tests::memory().await).await
            }

            $(#[$attr])*
            async fn postgres() {
                let name = concat!(module_path!(), "::postgres");
                if let Some(scratch) = $crate::store::tests::pg::Scratch::new(name).await {
                    body(scratch.store()).await;
                }
            }
        }
    };
}
pub(crate) use store_test;

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
