//! Every SQL statement of the crate, as named constants (the migrations'
//! schema batches in `sql/schema.rs`).
//!
//! Keeping them in one file makes the schema and every query against it reviewable
//! together: a column rename is one search in one file. Every part of the store
//! (spaces, activities, events, escalations, outbox, meta, audit) takes its
//! statements from here rather than inlining strings.

mod schema;
mod schema_pg;
pub use schema::*;
pub use schema_pg::*;

use super::db::Dialects;

// ---------------------------------------------------------------------------
// Connection setup and inspection (run before any migration).
// ---------------------------------------------------------------------------

/// Pragma names and values set on every file connection after it was checked to be ours.
pub const PRAGMA_JOURNAL_MODE: &str = "journal_mode";
pub const PRAGMA_JOURNAL_MODE_WAL: &str = "WAL";
pub const PRAGMA_SYNCHRONOUS: &str = "synchronous";
pub const PRAGMA_SYNCHRONOUS_NORMAL: &str = "NORMAL";
pub const PRAGMA_FOREIGN_KEYS: &str = "foreign_keys";
pub const PRAGMA_QUERY_ONLY: &str = "query_only";
pub const PRAGMA_CACHE_SIZE: &str = "cache_size";
/// Savepoint sub-journals (one per write of a group commit) and sorts stay in
/// memory: past 64 KiB SQLite otherwise spills each into a new file under
/// /var/tmp (create, unlink, write), several times a second under load.
pub const PRAGMA_TEMP_STORE: &str = "temp_store";
pub const PRAGMA_TEMP_STORE_MEMORY: &str = "MEMORY";
/// Its value is the WAL's bound (`checkpoint::WAL_LIMIT_BYTES`).
pub const PRAGMA_JOURNAL_SIZE_LIMIT: &str = "journal_size_limit";
/// Run by a reader for the writer, or by the writer at the WAL's bound (`store/checkpoint.rs`).
pub const WAL_CHECKPOINT_PASSIVE: &str = "PRAGMA wal_checkpoint(PASSIVE)";
/// A read connection's page cache, negative: in KiB (the writer keeps SQLite's 2 MiB).
pub const READER_CACHE_KIB: i64 = -1024;

/// User tables of a database; SQLite's own `sqlite_*` tables do not make a file "foreign".
pub const LIST_USER_TABLES: &str =
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";

/// A write transaction: SQLite's takes the write lock at once, so it cannot
/// fail half-way for a lock another connection holds.
pub const BEGIN_WRITE: Dialects = Dialects { sqlite: "BEGIN IMMEDIATE", postgres: "BEGIN" };
pub const COMMIT: &str = "COMMIT";
pub const ROLLBACK: &str = "ROLLBACK";

/// Each write of a group commit runs in its own savepoint (see `writer.rs`).
pub const SAVEPOINT_JOB: &str = "SAVEPOINT job";
pub const RELEASE_JOB: &str = "RELEASE job";
pub const ROLLBACK_TO_JOB: &str = "ROLLBACK TO job";

// ---------------------------------------------------------------------------
// Schema version.
// ---------------------------------------------------------------------------

/// Name of the table whose presence marks a database as a webex-hitl store.
pub const VERSION_TABLE: &str = "schema_version";

pub const SELECT_SCHEMA_VERSION: &str = "SELECT version, app FROM schema_version WHERE id = 1";

pub const UPSERT_SCHEMA_VERSION: &str = "INSERT INTO schema_version (id, version, app, updated_at) \
     VALUES (1, ?1, ?2, ?3) \
     ON CONFLICT (id) DO UPDATE SET version = excluded.version, updated_at = excluded.updated_at";

// ---------------------------------------------------------------------------
// Spaces.
// ---------------------------------------------------------------------------

macro_rules! space_select {
    ($tail:literal) => {
        concat!(
            "SELECT id, uuid, cluster, title, space_type, is_locked, visible, ",
            "added_at, removed_at, last_activity, updated_at, ",
            "counterpart_id, counterpart_email, counterpart_name FROM spaces ",
            $tail
        )
    };
}

/// Prefer the visible row, then the newest, when a uuid has several ids (migrated room).
pub const SELECT_SPACE_BY_ID_OR_UUID: &str =
    space_select!("WHERE id = ?1 OR uuid = ?1 ORDER BY visible DESC, updated_at DESC, id LIMIT 1");
pub const SELECT_SPACE_BY_ID: &str = space_select!("WHERE id = ?1");
pub const SELECT_VISIBLE_SPACES_BY_UUID: &str = space_select!("WHERE uuid = ?1 AND visible = 1 ORDER BY id");
/// One page in listing order (title, case-folded, then id), after the keyset
/// (?1 title_key, ?2 id); ?3: space type or NULL for any; ?4: rows at most.
pub const SELECT_VISIBLE_SPACES_PAGE: &str = space_select!(
    "WHERE (title_key, id) > (?1, ?2) AND visible = 1 AND (CAST(?3 AS TEXT) IS NULL OR space_type = ?3) \
     ORDER BY title_key, id LIMIT ?4"
);
/// The same, removed rows included.
pub const SELECT_ANY_SPACES_PAGE: &str = space_select!(
    "WHERE (title_key, id) > (?1, ?2) AND (CAST(?3 AS TEXT) IS NULL OR space_type = ?3) ORDER BY title_key, id LIMIT ?4"
);

/// `?9` is the title case-folded by Rust (SQLite's lower() knows only ASCII).
pub const INSERT_SPACE: &str = "INSERT INTO spaces (id, uuid, cluster, title, space_type, is_locked, \
     visible, added_at, removed_at, last_activity, updated_at, title_key) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, NULL, ?8, ?7, ?9)";

/// Makes a known row visible again (re-added): a fresh added_at, removed_at cleared.
pub const REVIVE_SPACE: &str = "UPDATE spaces SET uuid = ?2, cluster = ?3, title = ?4, space_type = ?5, \
     is_locked = ?6, visible = 1, added_at = ?7, removed_at = NULL, \
     last_activity = COALESCE(?8, last_activity), updated_at = ?7, title_key = ?9 WHERE id = ?1";

/// Refreshes a visible row's attributes; visibility and added/removed stay as they are.
pub const UPDATE_SPACE: &str = "UPDATE spaces SET uuid = ?2, cluster = ?3, title = ?4, space_type = ?5, \
     is_locked = ?6, last_activity = COALESCE(?8, last_activity), updated_at = ?7, title_key = ?9 WHERE id = ?1";

pub const MARK_SPACE_REMOVED: &str = "UPDATE spaces SET visible = 0, removed_at = ?2, updated_at = ?2 WHERE id = ?1";

// ---------------------------------------------------------------------------
// The other person of a direct space (v8).
// ---------------------------------------------------------------------------

/// Visible direct spaces whose other person is not known yet, never tried
/// first, then the longest untried; `?1` rows at most.
pub const SELECT_COUNTERPARTS_DUE: &str = "SELECT id FROM spaces \
     WHERE visible = 1 AND space_type = 'direct' AND counterpart_id IS NULL \
     ORDER BY counterpart_checked_at NULLS FIRST LIMIT ?1";
/// `?1` space, `?2` when tried; `?3`..`?5` the person (NULL: not learnt, kept as it was).
pub const RECORD_COUNTERPART: &str = "UPDATE spaces SET counterpart_checked_at = ?2, \
     counterpart_id = COALESCE(?3, counterpart_id), counterpart_email = COALESCE(?4, counterpart_email), \
     counterpart_name = COALESCE(?5, counterpart_name) WHERE id = ?1";
/// The visible direct space with the person of id `?1`.
pub const SELECT_DIRECT_SPACE_BY_PERSON_ID: &str = "SELECT id FROM spaces \
     WHERE counterpart_id = ?1 AND visible = 1 AND space_type = 'direct' ORDER BY updated_at DESC LIMIT 1";
/// The same by email, case-insensitively.
pub const SELECT_DIRECT_SPACE_BY_PERSON_EMAIL: Dialects = Dialects {
    sqlite: "SELECT id FROM spaces \
         WHERE counterpart_email = ?1 COLLATE NOCASE AND visible = 1 AND space_type = 'direct' \
         ORDER BY updated_at DESC LIMIT 1",
    postgres: "SELECT id FROM spaces \
         WHERE lower(counterpart_email) = lower(?1) AND visible = 1 AND space_type = 'direct' \
         ORDER BY updated_at DESC LIMIT 1",
};

// ---------------------------------------------------------------------------
// Processed activities.
// ---------------------------------------------------------------------------

pub const INSERT_ACTIVITY: &str = "INSERT INTO processed_activities (activity_id, processed_at) \
     VALUES (?1, ?2) ON CONFLICT (activity_id) DO NOTHING";
pub const SELECT_ACTIVITY: &str = "SELECT 1 FROM processed_activities WHERE activity_id = ?1";
pub const DELETE_ACTIVITIES_BEFORE: &str = "DELETE FROM processed_activities WHERE processed_at < ?1";

// ---------------------------------------------------------------------------
// Event log.
// ---------------------------------------------------------------------------

/// Answers the new seq. On PostgreSQL the seq comes from one counter row,
/// locked until the appending transaction ends: appends are serialised, so
/// seqs are given in commit order and without gaps (a `BIGSERIAL` is taken
/// out of commit order, and a follower reading `seq > last` would skip for
/// ever a row committed late with a smaller seq). A rollback gives it back.
pub const INSERT_EVENT: Dialects = Dialects {
    sqlite: "INSERT INTO events (event_type, at, payload) VALUES (?1, ?2, ?3) RETURNING seq",
    postgres: "WITH next AS (UPDATE event_seq SET seq = seq + 1 WHERE id = 1 RETURNING seq) \
         INSERT INTO events (seq, event_type, at, payload) SELECT seq, ?1, ?2, ?3 FROM next RETURNING seq",
};
pub const SELECT_EVENTS_AFTER: &str =
    "SELECT seq, event_type, at, payload FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2";
/// The last seq ever handed out (survives pruning), not merely the largest row left.
pub const SELECT_LATEST_SEQ: Dialects = Dialects {
    sqlite: "SELECT seq FROM sqlite_sequence WHERE name = 'events'",
    postgres: "SELECT seq FROM event_seq WHERE id = 1",
};
pub const SELECT_OLDEST_SEQ: &str = "SELECT MIN(seq) FROM events";
pub const DELETE_EVENTS_BEFORE: &str = "DELETE FROM events WHERE at < ?1";

// ---------------------------------------------------------------------------
// Escalations.
// ---------------------------------------------------------------------------

macro_rules! escalation_select {
    ($tail:literal) => {
        concat!(
            "SELECT rowid, id, idem_key, fingerprint, status, request, created_at, expires_at, ",
            "delivery_state, delivery_error, delivery_attempts, space_id, room_uuid, message_id, ",
            "message_uuid, recipient_id, answer, closed_at, close_reason, updated_at, reminders_sent, ",
            "next_reminder_at, deadline_passed, fallback_step, next_fallback_at, fallback_error, claimed_by, ",
            "claimed_at, claim_expires_at FROM escalations ",
            $tail
        )
    };
}

pub const SELECT_ESCALATION: &str = escalation_select!("WHERE id = ?1");
pub const SELECT_ESCALATION_STATUS: &str = "SELECT status FROM escalations WHERE id = ?1";
pub const SELECT_ESCALATION_BY_KEY: &str = escalation_select!("WHERE idem_key = ?1");
/// Listing pages, newest first, below a rowid cursor (exclusive): one statement
/// per filter, so that each is served by its own index (a key is looked up with
/// [`SELECT_ESCALATION_BY_KEY`], on its unique index).
/// ?1 cursor, ?2 limit.
pub const SELECT_ESCALATIONS_PAGE: &str = escalation_select!("WHERE rowid < ?1 ORDER BY rowid DESC LIMIT ?2");
/// ?1 status, ?2 cursor, ?3 limit.
pub const SELECT_ESCALATIONS_PAGE_BY_STATUS: &str =
    escalation_select!("WHERE status = ?1 AND rowid < ?2 ORDER BY rowid DESC LIMIT ?3");
/// ?1 space id, ?2 cursor, ?3 limit.
pub const SELECT_ESCALATIONS_PAGE_BY_SPACE: &str =
    escalation_select!("WHERE space_id = ?1 AND rowid < ?2 ORDER BY rowid DESC LIMIT ?3");
/// ?1 space id, ?2 status, ?3 cursor, ?4 limit.
pub const SELECT_ESCALATIONS_PAGE_BY_SPACE_STATUS: &str =
    escalation_select!("WHERE space_id = ?1 AND status = ?2 AND rowid < ?3 ORDER BY rowid DESC LIMIT ?4");
pub const SELECT_PENDING_DUE: &str =
    escalation_select!("WHERE status = 'pending' AND expires_at <= ?1 AND deadline_passed = 0 ORDER BY expires_at");
/// The escalations whose card is out and may be answered: after an outage, the
/// ones an answer may have been lost for.
pub const SELECT_PENDING_POSTED: &str =
    escalation_select!("WHERE status = 'pending' AND delivery_state = 'posted' ORDER BY rowid");
pub const SELECT_PENDING_IN_ROOM: &str = escalation_select!("WHERE status = 'pending' AND room_uuid = ?1");
pub const SELECT_NEXT_EXPIRY: &str =
    "SELECT MIN(expires_at) FROM escalations WHERE status = 'pending' AND deadline_passed = 0";
pub const SELECT_REMINDERS_DUE: &str = escalation_select!(
    "WHERE next_reminder_at IS NOT NULL AND next_reminder_at <= ?1 AND status = 'pending' ORDER BY next_reminder_at"
);
pub const SELECT_NEXT_REMINDER: &str =
    "SELECT MIN(next_reminder_at) FROM escalations WHERE next_reminder_at IS NOT NULL";
/// The first reminder's and fallback's times, set when the card is posted (NULL: none).
pub const SCHEDULE_POLICY: &str = "UPDATE escalations SET next_reminder_at = ?2, next_fallback_at = ?3 \
     WHERE id = ?1 AND status = 'pending' AND reminders_sent = 0 AND fallback_step = 0";
pub const SELECT_FALLBACKS_DUE: &str = escalation_select!(
    "WHERE next_fallback_at IS NOT NULL AND next_fallback_at <= ?1 AND status = 'pending' ORDER BY next_fallback_at"
);
pub const SELECT_NEXT_FALLBACK: &str =
    "SELECT MIN(next_fallback_at) FROM escalations WHERE next_fallback_at IS NOT NULL";
/// Compare-and-set on the step, as for reminders.
pub const RECORD_FALLBACK: &str = "UPDATE escalations SET fallback_step = fallback_step + 1, \
     next_fallback_at = ?3, updated_at = ?4 WHERE id = ?1 AND status = 'pending' AND fallback_step = ?2";
/// The first claim wins; a claim pauses reminders and fallbacks.
pub const CLAIM_ESCALATION: &str = "UPDATE escalations SET claimed_by = ?2, claimed_at = ?3, claim_expires_at = ?4, \
     next_reminder_at = NULL, next_fallback_at = NULL, updated_at = ?3 \
     WHERE id = ?1 AND status = 'pending' AND claimed_by IS NULL";
pub const SELECT_CLAIMS_DUE: &str = escalation_select!(
    "WHERE claim_expires_at IS NOT NULL AND claim_expires_at <= ?1 AND status = 'pending' ORDER BY claim_expires_at"
);
pub const SELECT_NEXT_CLAIM_EXPIRY: &str =
    "SELECT MIN(claim_expires_at) FROM escalations WHERE claim_expires_at IS NOT NULL";
/// A claim lapsed at `?2`: reminders and fallbacks resume at `?3`/`?4`. Only a
/// claim whose time is up moves (a newer claim expires later).
pub const RELEASE_CLAIM: &str = "UPDATE escalations SET claimed_by = NULL, claimed_at = NULL, \
     claim_expires_at = NULL, next_reminder_at = ?3, next_fallback_at = ?4, updated_at = ?2 \
     WHERE id = ?1 AND status = 'pending' AND claim_expires_at IS NOT NULL AND claim_expires_at <= ?2";
pub const RECORD_FALLBACK_ERROR: &str = "UPDATE escalations SET fallback_error = ?2, updated_at = ?3 WHERE id = ?1";
/// Compare-and-set on the count, so a reminder fired twice (two timers, a retry) moves once.
pub const RECORD_REMINDER: &str = "UPDATE escalations SET reminders_sent = reminders_sent + 1, \
     next_reminder_at = ?3, updated_at = ?4 WHERE id = ?1 AND status = 'pending' AND reminders_sent = ?2";
/// `keep_pending`: the deadline came; the escalation stays open and the deadline is not acted on again.
pub const PASS_DEADLINE: &str = "UPDATE escalations SET deadline_passed = 1, updated_at = ?2 \
     WHERE id = ?1 AND status = 'pending' AND deadline_passed = 0";
/// Rowid order is creation order, and `escalations_status` lists a status's
/// rows by rowid: the first pending escalation without reading the others.
pub const SELECT_OLDEST_PENDING: &str =
    "SELECT created_at FROM escalations WHERE status = 'pending' ORDER BY rowid LIMIT 1";

pub const COUNT_ESCALATIONS_BY_STATUS: &str =
    "SELECT status, COUNT(*) FROM escalations GROUP BY status ORDER BY status";

pub const INSERT_ESCALATION: &str = "INSERT INTO escalations (id, idem_key, fingerprint, status, request, \
     created_at, expires_at, delivery_state, space_id, room_uuid, recipient_id, updated_at) \
     VALUES (?1, ?2, ?3, 'pending', ?4, ?5, ?6, 'queued', ?7, ?8, ?9, ?5)";

pub const RECORD_DELIVERY: &str = "UPDATE escalations SET delivery_state = 'posted', delivery_error = NULL, \
     delivery_attempts = delivery_attempts + 1, space_id = ?2, room_uuid = ?3, message_id = ?4, message_uuid = ?5, \
     recipient_id = COALESCE(?6, recipient_id), updated_at = ?7 WHERE id = ?1";

pub const RECORD_DELIVERY_ATTEMPT: &str = "UPDATE escalations SET delivery_attempts = delivery_attempts + 1, \
     delivery_error = ?2, updated_at = ?3 WHERE id = ?1";

pub const RECORD_DELIVERY_FAILED: &str = "UPDATE escalations SET delivery_state = 'failed', delivery_error = ?2, \
     delivery_attempts = delivery_attempts + 1, updated_at = ?3 WHERE id = ?1";

/// The compare-and-set at the heart of "first answer wins": only a pending row moves.
pub const CLOSE_ESCALATION: &str = "UPDATE escalations SET status = ?2, answer = ?3, closed_at = ?4, \
     close_reason = ?5, updated_at = ?4, next_reminder_at = NULL, next_fallback_at = NULL, claim_expires_at = NULL \
     WHERE id = ?1 AND status = 'pending'";

/// `?1` escalation, `?2` the replaced card's uuid: the row names the new card if it named the old.
pub const REPLACE_CARD_MESSAGE: &str = "UPDATE escalations SET message_id = ?3, message_uuid = ?4, updated_at = ?5 \
     WHERE id = ?1 AND message_uuid = ?2";

// ---------------------------------------------------------------------------
// Outbox.
// ---------------------------------------------------------------------------

pub const INSERT_JOB: &str = "INSERT INTO outbox (kind, escalation_id, payload, next_attempt_at, created_at) \
     VALUES (?1, ?2, ?3, ?4, ?4)";
/// Leases the jobs due at `?1` (`?4` at most) to `?3` until `?2`: their
/// `next_attempt_at` becomes the lease's end, so a job whose instance died is
/// due again then. On PostgreSQL, rows another instance is claiming are
/// skipped, not waited for: each job has one owner at a time.
pub const CLAIM_JOBS: Dialects = Dialects {
    sqlite: "UPDATE outbox SET next_attempt_at = ?2, lease_owner = ?3 WHERE id IN \
         (SELECT id FROM outbox WHERE next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?4) \
         RETURNING id, kind, escalation_id, payload, attempts, started_at",
    postgres: "UPDATE outbox SET next_attempt_at = ?2, lease_owner = ?3 WHERE id IN \
         (SELECT id FROM outbox WHERE next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?4 \
         FOR UPDATE SKIP LOCKED) RETURNING id, kind, escalation_id, payload, attempts, started_at",
};
/// At start: the jobs this instance had leased when it stopped are due now
/// (`?1` the instance, `?2` now), not at their lease's end.
pub const RELEASE_OWN_LEASES: &str =
    "UPDATE outbox SET next_attempt_at = ?2, lease_owner = NULL WHERE lease_owner = ?1";
/// Marks a job whose side effect is about to happen (replies: posted at most once).
pub const START_JOB: &str = "UPDATE outbox SET started_at = ?2 WHERE id = ?1";
pub const SELECT_NEXT_JOB_AT: &str = "SELECT MIN(next_attempt_at) FROM outbox";
pub const DELETE_JOB: &str = "DELETE FROM outbox WHERE id = ?1";
pub const RESCHEDULE_JOB: &str = "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3, \
     started_at = NULL, lease_owner = NULL WHERE id = ?1";
pub const COUNT_JOBS: &str = "SELECT COUNT(*) FROM outbox";

// ---------------------------------------------------------------------------
// Leases of singleton chores (v9).
// ---------------------------------------------------------------------------

/// Takes or renews the lease `?1` for `?2` until `?3`, if it is free, expired
/// at `?4`, or already `?2`'s; answers the fencing token (bumped at each change
/// of holder), or no row when another holds it.
pub const TAKE_LEASE: &str = "INSERT INTO leases (name, holder, fence, expires_at) VALUES (?1, ?2, 1, ?3) \
     ON CONFLICT (name) DO UPDATE SET expires_at = excluded.expires_at, holder = excluded.holder, \
     fence = CASE WHEN leases.holder = excluded.holder THEN leases.fence ELSE leases.fence + 1 END \
     WHERE leases.holder = excluded.holder OR leases.expires_at <= ?4 RETURNING fence";
/// Whether `?2` still holds `?1` with fence `?3` at `?4`.
pub const HOLDS_LEASE: &str = "SELECT 1 FROM leases WHERE name = ?1 AND holder = ?2 AND fence = ?3 AND expires_at > ?4";
/// Gives the lease up (a clean stop), so a peer need not wait for it to
/// expire: it expires at `?3`, now. The row stays, and so does its fence.
pub const DROP_LEASE: &str = "UPDATE leases SET expires_at = ?3 WHERE name = ?1 AND holder = ?2";

// ---------------------------------------------------------------------------
// Metadata.
// ---------------------------------------------------------------------------

pub const SELECT_META: &str = "SELECT value FROM meta WHERE key = ?1";
/// The rows whose key starts with `?1` (a handful: one per instance).
pub const SELECT_META_BY_PREFIX: &str =
    "SELECT key, value FROM meta WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key";
pub const INSERT_META: &str = "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING";
pub const UPSERT_META: &str =
    "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value";

// ---------------------------------------------------------------------------
// Audit trail of mutating API requests.
// ---------------------------------------------------------------------------

pub const INSERT_AUDIT: &str =
    "INSERT INTO audit (at, uid, gid, pid, method, path, status, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
/// Newest first; `?1` is an exclusive upper bound on `id` (the largest integer: from the newest).
pub const SELECT_AUDIT: &str = "SELECT id, at, uid, gid, pid, method, path, status, detail FROM audit \
     WHERE id < ?1 ORDER BY id DESC LIMIT ?2";
pub const DELETE_AUDIT_BEFORE: &str = "DELETE FROM audit WHERE at < ?1";

// --- notification keys (store/notifications.rs) ---

pub const SELECT_NOTIFICATION: &str =
    "SELECT fingerprint, state, message_id, space_id, updated_at FROM notifications WHERE key = ?1";
pub const INSERT_NOTIFICATION: &str = "INSERT INTO notifications (key, fingerprint, state, created_at, updated_at) \
     VALUES (?1, ?2, 'sending', ?3, ?3)";
pub const RECLAIM_NOTIFICATION: &str = "UPDATE notifications SET updated_at = ?2 WHERE key = ?1 AND state = 'sending'";
pub const MARK_NOTIFICATION_SENT: &str = "UPDATE notifications SET state = 'sent', message_id = ?2, space_id = ?3, \
     updated_at = ?4 WHERE key = ?1";
pub const DELETE_NOTIFICATION: &str = "DELETE FROM notifications WHERE key = ?1 AND state = 'sending'";
pub const DELETE_NOTIFICATIONS_BEFORE: &str = "DELETE FROM notifications WHERE created_at < ?1";

// ---------------------------------------------------------------------------
// Cards and replies (v4).
// ---------------------------------------------------------------------------

macro_rules! card_select {
    ($tail:literal) => {
        concat!("SELECT message_uuid, message_id, escalation_id, space_id, origin, at FROM cards ", $tail)
    };
}

pub const INSERT_CARD: &str = "INSERT INTO cards (message_uuid, message_id, escalation_id, space_id, origin, at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (message_uuid) DO NOTHING";
pub const SELECT_CARD: &str = card_select!("WHERE message_uuid = ?1");
pub const SELECT_CARDS_OF: &str = card_select!("WHERE escalation_id = ?1 ORDER BY at, message_uuid");
pub const DELETE_CARD: &str = "DELETE FROM cards WHERE message_uuid = ?1";
pub const COUNT_CARDS_BY_ORIGIN: &str = "SELECT origin, COUNT(*) FROM cards GROUP BY origin ORDER BY origin";

/// `?1` escalation, `?2` person, `?3` text, `?4` now; changes nothing when owed already.
pub const INSERT_REPLY: &str =
    "INSERT INTO replies (escalation_id, person_id, text, at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING";
pub const COUNT_REPLIES_OF: &str = "SELECT COUNT(*) FROM replies WHERE escalation_id = ?1";

// ---------------------------------------------------------------------------
// Indexes for the hot paths, listing pages and the streamed spaces sync (v5).
// ---------------------------------------------------------------------------

/// The v5 migration's Rust step: every title, to fold.
pub const SELECT_SPACE_TITLES: &str = "SELECT id, title FROM spaces";
pub const SET_SPACE_TITLE_KEY: &str = "UPDATE spaces SET title_key = ?2 WHERE id = ?1";

/// `?1` sync, `?2` room id, `?3` its place; a room listed twice keeps its first place.
pub const STAGE_SYNC_ROOM: &str = "INSERT INTO sync_rooms (sync_id, id, ord, uuid, cluster, title, space_type, \
     is_locked, last_activity) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
     ON CONFLICT (sync_id, id) DO UPDATE SET uuid = excluded.uuid, cluster = excluded.cluster, \
     title = excluded.title, space_type = excluded.space_type, is_locked = excluded.is_locked, \
     last_activity = excluded.last_activity";
/// One chunk of the sync `?1`'s rooms, in their places after `?2`; `?3` rows at most.
pub const SELECT_SYNC_ROOMS: &str = "SELECT ord, id, uuid, cluster, title, space_type, is_locked, last_activity \
     FROM sync_rooms WHERE sync_id = ?1 AND ord > ?2 ORDER BY ord LIMIT ?3";
/// Visible spaces the sync `?1` did not list, in listing order.
pub const SELECT_SPACES_NOT_SYNCED: &str = space_select!(
    "WHERE visible = 1 AND NOT EXISTS \
     (SELECT 1 FROM sync_rooms r WHERE r.sync_id = ?1 AND r.id = spaces.id) ORDER BY title_key, id"
);
pub const DELETE_SYNC_ROOMS: &str = "DELETE FROM sync_rooms WHERE sync_id = ?1";
/// At open no sync runs: what an interrupted one staged is dropped.
pub const DELETE_ALL_SYNC_ROOMS: &str = "DELETE FROM sync_rooms";

// ---------------------------------------------------------------------------
// Test fixtures: statements that build foreign databases the store must refuse.
// ---------------------------------------------------------------------------

#[cfg(test)]
pub const TEST_CREATE_FOREIGN_TABLES: &str = "
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
INSERT INTO users (name) VALUES ('alice');
";

/// The shape of the listing query v4 checked keys with: its ORs defeat every index.
#[cfg(test)]
pub const TEST_KEY_THROUGH_FILTERED_LISTING: &str = "SELECT id FROM escalations \
     WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR space_id = ?2) AND (?3 IS NULL OR idem_key = ?3) \
     ORDER BY rowid DESC LIMIT ?4";

/// Every lease, as a peer instance holding it until `?1` would have it.
#[cfg(test)]
pub const TEST_HAND_LEASES_TO_PEER: &str = "UPDATE leases SET holder = 'peer', expires_at = ?1";

#[cfg(test)]
pub const TEST_SELECT_VERSION_STAMP: &str = "SELECT updated_at FROM schema_version WHERE id = 1";

#[cfg(test)]
pub const TEST_CREATE_FOREIGN_VERSION_TABLE: &str = "
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (3);
";

#[cfg(test)]
mod tests {
    use super::*;

    const SPACE_COLUMNS: &str = "id, uuid, cluster, title, space_type, is_locked, visible, \
         added_at, removed_at, last_activity, updated_at, counterpart_id, counterpart_email, counterpart_name";

    #[test]
    fn space_select_lists_the_shared_columns() {
        // The macro duplicates the column list because concat! needs literals.
        assert!(SELECT_SPACE_BY_ID_OR_UUID.contains(SPACE_COLUMNS));
        assert!(SELECT_SPACES_NOT_SYNCED.contains(SPACE_COLUMNS));
        assert!(SELECT_SPACE_BY_ID.contains(SPACE_COLUMNS));
    }
}
