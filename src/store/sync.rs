//! Full resync of the spaces cache against the complete room list from REST, repairing
//! whatever Mercury events were missed (while disconnected, or before the first start).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::error::StoreError;
use super::spaces::{self, Change, RoomSnapshot, Space};
use super::{time, Store};

/// What a resync changed. Every added/removed/updated space also got its event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncReport {
    pub added: Vec<Space>,
    pub removed: Vec<Space>,
    pub updated: Vec<Space>,
    /// Visible rooms without an event-worthy change (a newer `last_activity` is
    /// stored but does not count as an update).
    pub unchanged: usize,
}

impl Store {
    /// `rooms` is the complete list REST returned. In one transaction: rooms not visible
    /// in the store become visible (`space.added`), visible rows missing from the list
    /// become removed (`space.removed`; this includes the old id of a migrated room),
    /// changed titles/types/locks are updated (`space.updated`). Removals are applied
    /// first so a migrated room's log reads "removed old id, added new id".
    pub async fn sync_spaces(&self, rooms: Vec<RoomSnapshot>) -> Result<SyncReport, StoreError> {
        self.write(move |tx| sync_in(tx, &rooms)).await
    }
}

fn sync_in(conn: &rusqlite::Connection, rooms: &[RoomSnapshot]) -> Result<SyncReport, StoreError> {
    let now = time::now();
    let existing: HashMap<String, Space> = spaces::all(conn)?.into_iter().map(|s| (s.id.clone(), s)).collect();
    let rooms = dedup_last_wins(rooms);
    let listed: HashSet<&str> = rooms.iter().map(|r| r.id.as_str()).collect();
    let mut report = SyncReport::default();

    let mut gone: Vec<&Space> = existing.values().filter(|s| s.visible && !listed.contains(s.id.as_str())).collect();
    gone.sort_by_cached_key(|s| (s.title.to_lowercase(), s.id.clone()));
    for space in gone {
        report.removed.push(spaces::remove(conn, space, now)?.0);
    }

    for room in rooms {
        match spaces::apply_snapshot(conn, room, existing.get(&room.id), now)? {
            Change::Added(space, _) => report.added.push(space),
            Change::Updated(space, _) => report.updated.push(space),
            Change::Unchanged => report.unchanged += 1,
        }
    }
    Ok(report)
}

/// REST paging can return a room twice when the list shifts; the later copy is newer.
fn dedup_last_wins(rooms: &[RoomSnapshot]) -> Vec<&RoomSnapshot> {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(rooms.len());
    let mut out: Vec<&RoomSnapshot> = Vec::with_capacity(rooms.len());
    for room in rooms {
        match index.get(room.id.as_str()) {
            Some(&i) => out[i] = room,
            None => {
                index.insert(&room.id, out.len());
                out.push(room);
            }
        }
    }
    out
}
