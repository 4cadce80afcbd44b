//! Full resync of the spaces cache against the complete room list from REST, repairing
//! whatever Mercury events were missed (while disconnected, or before the first start).
//!
//! The list is taken page by page as REST returns it: each page is staged in the
//! `sync_rooms` table under the sync's id ([`Store::stage_rooms`]), so the daemon
//! never holds the whole list (10k rooms were 25 MiB); [`Store::finish_sync`]
//! then applies it in one transaction, reading the staged rows one at a time.
//! Syncs that overlap (the periodic one and `POST /v1/spaces/refresh`) stage under
//! different ids and do not see each other's rows.

use super::db::{args, Db, Row};
use serde::{Deserialize, Serialize};

use super::error::StoreError;
use super::spaces::{self, Change, RoomSnapshot, Space};
use super::{sql, time, Store};

/// What a resync changed. Every added/removed/updated space also got its event.
#[derive(utoipa::ToSchema, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncReport {
    pub added: Vec<Space>,
    pub removed: Vec<Space>,
    pub updated: Vec<Space>,
    /// Visible rooms without an event-worthy change (a newer `last_activity` is
    /// stored but does not count as an update).
    pub unchanged: usize,
}

/// How many spaces a resync added, removed, updated and left as they were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncTally {
    pub added: usize,
    pub removed: usize,
    pub updated: usize,
    pub unchanged: usize,
}

/// Whether [`Store::finish_sync`] lists the spaces that changed, or only counts them
/// (the periodic resync logs counts; a first sync of 10k rooms would list them all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    Lists,
    Counts,
}

/// A resync under way: its staging id and the place of the next room staged.
#[derive(Debug)]
pub struct StagedSync {
    id: String,
    next: i64,
}

impl Store {
    /// `rooms` is the complete list REST returned. In one transaction: rooms not visible
    /// in the store become visible (`space.added`), visible rows missing from the list
    /// become removed (`space.removed`; this includes the old id of a migrated room),
    /// changed titles/types/locks are updated (`space.updated`). Removals are applied
    /// first so a migrated room's log reads "removed old id, added new id".
    pub async fn sync_spaces(&self, rooms: Vec<RoomSnapshot>) -> Result<SyncReport, StoreError> {
        self.write(move |tx| {
            let mut sync = StagedSync::new();
            stage_in(tx, &mut sync, &rooms)?;
            Ok(finish_in(tx, &sync, Detail::Lists)?.1)
        })
        .await
    }

    /// Starts a resync whose list comes in pages.
    pub fn begin_sync(&self) -> StagedSync {
        StagedSync::new()
    }

    /// Stages one page of the list (a room listed again replaces its earlier copy).
    pub async fn stage_rooms(&self, sync: &mut StagedSync, rooms: Vec<RoomSnapshot>) -> Result<(), StoreError> {
        let (id, first) = (sync.id.clone(), sync.next);
        sync.next += rooms.len() as i64;
        self.write(move |tx| stage_in(tx, &mut StagedSync { id, next: first }, &rooms)).await
    }

    /// Applies the staged list as [`Store::sync_spaces`] applies a whole one, and
    /// drops it.
    pub async fn finish_sync(&self, sync: StagedSync, detail: Detail) -> Result<(SyncTally, SyncReport), StoreError> {
        self.write(move |tx| finish_in(tx, &sync, detail)).await
    }

    /// Drops what a sync that failed half-way staged.
    pub async fn abandon_sync(&self, sync: StagedSync) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute(sql::DELETE_SYNC_ROOMS, args![sync.id])?;
            Ok(())
        })
        .await
    }
}

impl StagedSync {
    fn new() -> Self {
        Self { id: uuid::Uuid::new_v4().simple().to_string(), next: 0 }
    }
}

/// Staged rooms applied per read: bounded memory, few round trips.
const APPLY_CHUNK: i64 = 500;

fn stage_in(conn: &Db<'_>, sync: &mut StagedSync, rooms: &[RoomSnapshot]) -> Result<(), StoreError> {
    for room in rooms {
        conn.execute(
            sql::STAGE_SYNC_ROOM,
            args![
                sync.id,
                room.id,
                sync.next,
                room.uuid,
                room.cluster,
                room.title,
                room.space_type,
                room.is_locked,
                time::opt_to_text(room.last_activity),
            ],
        )?;
        sync.next += 1;
    }
    Ok(())
}

/// Removals first (in listing order), then each staged room in the order REST gave it.
fn finish_in(conn: &Db<'_>, sync: &StagedSync, detail: Detail) -> Result<(SyncTally, SyncReport), StoreError> {
    let now = time::now();
    let mut outcome = Outcome { detail, tally: SyncTally::default(), report: SyncReport::default() };
    let gone = conn.query_all(sql::SELECT_SPACES_NOT_SYNCED, args![sync.id], spaces::space_from_row)?;
    for space in &gone {
        outcome.removed(spaces::remove(conn, space, now)?.0);
    }
    // Staged rooms are read a chunk at a time (a statement's rows cannot stay
    // open on PostgreSQL while the same connection writes the spaces).
    let mut after = -1_i64;
    loop {
        let chunk = conn.query_all(sql::SELECT_SYNC_ROOMS, args![sync.id, after, APPLY_CHUNK], |row| {
            Ok((row.get::<i64>(0)?, staged_from_row(row)?))
        })?;
        for (ord, room) in &chunk {
            let existing = spaces::find(conn, &room.id)?;
            outcome.changed(spaces::apply_snapshot(conn, room, existing.as_ref(), now)?);
            after = *ord;
        }
        if chunk.len() < APPLY_CHUNK as usize {
            break;
        }
    }
    conn.execute(sql::DELETE_SYNC_ROOMS, args![sync.id])?;
    Ok((outcome.tally, outcome.report))
}

/// The tally always; the lists only when asked for.
struct Outcome {
    detail: Detail,
    tally: SyncTally,
    report: SyncReport,
}

impl Outcome {
    fn removed(&mut self, space: Space) {
        self.tally.removed += 1;
        if self.detail == Detail::Lists {
            self.report.removed.push(space);
        }
    }

    fn changed(&mut self, change: Change) {
        let lists = self.detail == Detail::Lists;
        match change {
            Change::Added(space, _) => {
                self.tally.added += 1;
                if lists {
                    self.report.added.push(space);
                }
            }
            Change::Updated(space, _) => {
                self.tally.updated += 1;
                if lists {
                    self.report.updated.push(space);
                }
            }
            Change::Unchanged => self.tally.unchanged += 1,
        }
        self.report.unchanged = self.tally.unchanged;
    }
}

/// Column 0 is the room's place (`ord`).
fn staged_from_row(row: &Row<'_>) -> Result<RoomSnapshot, StoreError> {
    Ok(RoomSnapshot {
        id: row.get(1)?,
        uuid: row.get(2)?,
        cluster: row.get(3)?,
        title: row.get(4)?,
        space_type: row.get(5)?,
        is_locked: row.get(6)?,
        last_activity: time::opt_column(row, 7)?,
    })
}
