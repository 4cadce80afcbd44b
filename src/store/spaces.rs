//! The cache of spaces the bot can see, kept true in real time by Mercury membership
//! events. Rows are never deleted: a space the bot left keeps its row with
//! `visible = false` and `removed_at`, so the engine can still name it.
//!
//! Rows are keyed by REST id. A room migrated to another region gets a new id; the old
//! id is then reported removed and the new one added (by a resync, or by `space_seen`
//! for a new id that shares the uuid of a visible row).

use super::db::{args, Db, Row};
use chrono::{DateTime, SubsecRound, Utc};

use super::error::StoreError;
use super::events::{self, EventKind, EventPayload, EventRecord};
use super::{activities, sql, time, Store};

/// One space (room) as the store knows it.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Space {
    /// REST id (base64, carries the cluster).
    pub id: String,
    /// Raw uuid, what Mercury speaks.
    pub uuid: String,
    pub cluster: String,
    pub title: String,
    /// `"group"` or `"direct"`.
    pub space_type: String,
    pub is_locked: bool,
    /// Whether the bot is currently a member.
    pub visible: bool,
    /// When the space last became visible.
    pub added_at: Option<DateTime<Utc>>,
    /// When the bot was last removed (cleared when it is added again).
    pub removed_at: Option<DateTime<Utc>>,
    pub last_activity: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// A direct space's other person (their REST id), once learnt from its
    /// memberships: `null` for a group, and until the lookup has succeeded.
    pub counterpart_id: Option<String>,
    /// Their email: what tells apart DMs with people of the same name.
    pub counterpart_email: Option<String>,
    /// Their display name, as Webex gave it when it was learnt.
    pub counterpart_name: Option<String>,
}

/// Which spaces [`Store::spaces`] lists.
#[derive(Debug, Clone, Default)]
pub struct SpaceFilter {
    /// Only this type (`"group"` / `"direct"`).
    pub space_type: Option<String>,
    /// Only titles containing this, case-insensitively (Unicode-aware).
    pub title_contains: Option<String>,
    /// Also list spaces the bot was removed from.
    pub include_removed: bool,
}

/// Where a page of spaces ended: the next one starts after this key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpaceCursor {
    /// The title as [`title_key`] folds it.
    pub title_key: String,
    pub id: String,
}

/// Rows read from SQLite at a time while a page is filled.
const CHUNK: usize = 512;

/// What REST told us about a room.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomSnapshot {
    pub id: String,
    pub uuid: String,
    pub cluster: String,
    pub title: String,
    pub space_type: String,
    pub is_locked: bool,
    pub last_activity: Option<DateTime<Utc>>,
}

/// Result of a call tied to a Mercury activity id.
#[derive(Debug, Clone, PartialEq)]
pub enum ActivityOutcome<T> {
    /// First time this activity was seen; its effect was applied.
    Applied(T),
    /// The activity id was already processed; nothing was changed.
    AlreadyProcessed,
}

impl Store {
    /// Looks a space up by REST id or by uuid (a visible row wins for a migrated room).
    pub async fn space(&self, id_or_uuid: &str) -> Result<Option<Space>, StoreError> {
        let key = id_or_uuid.to_owned();
        self.read(move |conn| space_in(conn, &key)).await
    }

    /// Spaces matching `filter`, ordered by title (case-insensitive), then id.
    pub async fn spaces(&self, filter: SpaceFilter) -> Result<Vec<Space>, StoreError> {
        Ok(self.spaces_page(filter, None, usize::MAX).await?.0)
    }

    /// Up to `limit` spaces matching `filter` after `after`, in the order of
    /// [`Store::spaces`], and the cursor of the next page if there may be one.
    /// Rows are read a chunk at a time on the listing index, never all at once.
    pub async fn spaces_page(
        &self,
        filter: SpaceFilter,
        after: Option<SpaceCursor>,
        limit: usize,
    ) -> Result<(Vec<Space>, Option<SpaceCursor>), StoreError> {
        self.read(move |conn| page_in(conn, &filter, after.unwrap_or_default(), limit)).await
    }

    /// The bot was added to a room, or a room changed. In one transaction: upserts the
    /// row as visible (a fresh `added_at` when it becomes visible), appends `space.added`
    /// (was not visible) or `space.updated` (title/type/lock changed), retires other
    /// visible rows with the same uuid (room migrated to a new id) and marks
    /// `activity_id` processed. Returns the space event, `None` if nothing changed.
    /// An already processed `activity_id` changes nothing at all.
    pub async fn space_seen(
        &self,
        snapshot: RoomSnapshot,
        activity_id: Option<&str>,
    ) -> Result<ActivityOutcome<Option<EventRecord>>, StoreError> {
        let activity_id = activity_id.map(str::to_owned);
        self.write(move |tx| {
            if !first_time(tx, activity_id.as_deref())? {
                return Ok(ActivityOutcome::AlreadyProcessed);
            }
            let now = time::now();
            let existing = find(tx, &snapshot.id)?;
            let change = apply_snapshot(tx, &snapshot, existing.as_ref(), now)?;
            for other in visible_by_uuid(tx, &snapshot.uuid)? {
                if other.id != snapshot.id {
                    remove(tx, &other, now)?;
                }
            }
            Ok(ActivityOutcome::Applied(change.into_event()))
        })
        .await
    }

    /// The bot was removed from the room with this uuid. In one transaction: marks its
    /// visible row(s) `visible = false`, `removed_at = now` (rows are kept), appends
    /// `space.removed` for each, and marks `activity_id` processed. Returns the (last)
    /// removal event, `None` if no visible row had that uuid.
    pub async fn space_removed(
        &self,
        uuid: &str,
        activity_id: Option<&str>,
    ) -> Result<ActivityOutcome<Option<EventRecord>>, StoreError> {
        let uuid = uuid.to_owned();
        let activity_id = activity_id.map(str::to_owned);
        self.write(move |tx| {
            if !first_time(tx, activity_id.as_deref())? {
                return Ok(ActivityOutcome::AlreadyProcessed);
            }
            let now = time::now();
            let mut last = None;
            for space in visible_by_uuid(tx, &uuid)? {
                last = Some(remove(tx, &space, now)?.1);
            }
            Ok(ActivityOutcome::Applied(last))
        })
        .await
    }
}

/// What applying a snapshot did to one row.
pub(super) enum Change {
    Added(Space, EventRecord),
    Updated(Space, EventRecord),
    Unchanged,
}

impl Change {
    fn into_event(self) -> Option<EventRecord> {
        match self {
            Change::Added(_, e) | Change::Updated(_, e) => Some(e),
            Change::Unchanged => None,
        }
    }
}

/// Brings the row for `snap.id` in line with REST and appends the matching event.
/// `last_activity` and id-derived fields are refreshed quietly (no event).
pub(super) fn apply_snapshot(
    conn: &Db<'_>,
    snap: &RoomSnapshot,
    existing: Option<&Space>,
    now: DateTime<Utc>,
) -> Result<Change, StoreError> {
    let sql = match existing {
        None => sql::INSERT_SPACE,
        Some(old) if !old.visible => sql::REVIVE_SPACE,
        Some(old) if differs(old, snap) || quietly_differs(old, snap) => sql::UPDATE_SPACE,
        Some(_) => return Ok(Change::Unchanged),
    };
    conn.execute(
        sql,
        args![
            snap.id,
            snap.uuid,
            snap.cluster,
            snap.title,
            snap.space_type,
            snap.is_locked,
            time::to_text(now),
            time::opt_to_text(snap.last_activity),
            title_key(&snap.title),
        ],
    )?;
    let space = load(conn, &snap.id)?;
    match existing {
        Some(old) if old.visible && !differs(old, snap) => Ok(Change::Unchanged),
        Some(old) if old.visible => {
            let event = append_space_event(conn, EventKind::SpaceUpdated, &space)?;
            Ok(Change::Updated(space, event))
        }
        _ => {
            let event = append_space_event(conn, EventKind::SpaceAdded, &space)?;
            Ok(Change::Added(space, event))
        }
    }
}

/// Marks a visible row removed and appends `space.removed`.
pub(super) fn remove(conn: &Db<'_>, space: &Space, now: DateTime<Utc>) -> Result<(Space, EventRecord), StoreError> {
    conn.execute(sql::MARK_SPACE_REMOVED, args![space.id, time::to_text(now)])?;
    let space = load(conn, &space.id)?;
    let event = append_space_event(conn, EventKind::SpaceRemoved, &space)?;
    Ok((space, event))
}

/// The listing order of a title: Rust's Unicode-aware lowercase (SQLite's
/// `lower()` and `NOCASE` know only ASCII), compared as bytes like Rust strings.
pub(crate) fn title_key(title: &str) -> String {
    title.to_lowercase()
}

/// Fills one page: chunks of rows on the listing index, filtered by title here.
fn page_in(
    conn: &Db<'_>,
    filter: &SpaceFilter,
    mut after: SpaceCursor,
    limit: usize,
) -> Result<(Vec<Space>, Option<SpaceCursor>), StoreError> {
    let statement = if filter.include_removed { sql::SELECT_ANY_SPACES_PAGE } else { sql::SELECT_VISIBLE_SPACES_PAGE };
    let needle = filter.title_contains.as_deref().map(str::to_lowercase);
    let (limit, mut page) = (limit.max(1), Vec::new());
    loop {
        let chunk_args = args![after.title_key, after.id, filter.space_type, CHUNK as i64];
        let chunk = conn.query_all(statement, chunk_args, space_from_row)?;
        let exhausted = chunk.len() < CHUNK;
        for space in chunk {
            after = SpaceCursor { title_key: title_key(&space.title), id: space.id.clone() };
            if needle.as_ref().is_none_or(|n| after.title_key.contains(n.as_str())) {
                page.push(space);
                if page.len() == limit {
                    return Ok((page, Some(after)));
                }
            }
        }
        if exhausted {
            return Ok((page, None));
        }
    }
}

/// Event-worthy differences: what a human would notice.
fn differs(old: &Space, snap: &RoomSnapshot) -> bool {
    old.title != snap.title || old.space_type != snap.space_type || old.is_locked != snap.is_locked
}

fn quietly_differs(old: &Space, snap: &RoomSnapshot) -> bool {
    let activity = snap.last_activity.map(|t| t.trunc_subsecs(6));
    old.uuid != snap.uuid || old.cluster != snap.cluster || (activity.is_some() && activity != old.last_activity)
}

fn first_time(conn: &Db<'_>, activity_id: Option<&str>) -> Result<bool, StoreError> {
    match activity_id {
        Some(id) => activities::mark(conn, id),
        None => Ok(true),
    }
}

fn append_space_event(conn: &Db<'_>, kind: EventKind, space: &Space) -> Result<EventRecord, StoreError> {
    events::append(conn, kind, EventPayload::Space(space.clone()))
}

pub(super) fn find(conn: &Db<'_>, id: &str) -> Result<Option<Space>, StoreError> {
    conn.query_opt(sql::SELECT_SPACE_BY_ID, args![id], space_from_row)
}

fn load(conn: &Db<'_>, id: &str) -> Result<Space, StoreError> {
    conn.query_one(sql::SELECT_SPACE_BY_ID, args![id], space_from_row)
}

fn visible_by_uuid(conn: &Db<'_>, uuid: &str) -> Result<Vec<Space>, StoreError> {
    conn.query_all(sql::SELECT_VISIBLE_SPACES_BY_UUID, args![uuid], space_from_row)
}

/// A space by room id or uuid, on a connection the caller holds.
pub(super) fn space_in(conn: &Db<'_>, id_or_uuid: &str) -> Result<Option<Space>, StoreError> {
    conn.query_opt(sql::SELECT_SPACE_BY_ID_OR_UUID, args![id_or_uuid], space_from_row)
}

pub(super) fn space_from_row(row: &Row<'_>) -> Result<Space, StoreError> {
    Ok(Space {
        id: row.get(0)?,
        uuid: row.get(1)?,
        cluster: row.get(2)?,
        title: row.get(3)?,
        space_type: row.get(4)?,
        is_locked: row.get(5)?,
        visible: row.get(6)?,
        added_at: time::opt_column(row, 7)?,
        removed_at: time::opt_column(row, 8)?,
        last_activity: time::opt_column(row, 9)?,
        updated_at: time::column(row, 10)?,
        counterpart_id: row.get(11)?,
        counterpart_email: row.get(12)?,
        counterpart_name: row.get(13)?,
    })
}
