//! The schema, as the migrations' batches: each is run once, in one transaction
//! with its version bump (see `store/migrations.rs`). Never edit a released
//! one: add a new numbered batch.

/// v1: version table, spaces cache, processed Mercury activities, event log.
pub const MIGRATION_001_INITIAL: &str = "
CREATE TABLE schema_version (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    INTEGER NOT NULL,
    app        TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);

-- Keyed by REST id: a migrated room gets a new id, and the old id must be reported as
-- removed while the new one is added. uuid is what Mercury speaks, hence the index.
CREATE TABLE spaces (
    id            TEXT    PRIMARY KEY NOT NULL,
    uuid          TEXT    NOT NULL,
    cluster       TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    space_type    TEXT    NOT NULL,
    is_locked     INTEGER NOT NULL,
    visible       INTEGER NOT NULL,
    added_at      TEXT,
    removed_at    TEXT,
    last_activity TEXT,
    updated_at    TEXT    NOT NULL
);
CREATE INDEX spaces_uuid ON spaces (uuid);

CREATE TABLE processed_activities (
    activity_id  TEXT PRIMARY KEY NOT NULL,
    processed_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX processed_activities_at ON processed_activities (processed_at);

-- AUTOINCREMENT so a seq is never reused, even after the newest rows were pruned.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    event_type TEXT NOT NULL,
    at         TEXT NOT NULL,
    payload    TEXT NOT NULL
);
CREATE INDEX events_at ON events (at);
";

/// v2: escalations, the outbox of Webex calls to make, and small key/value metadata
/// (the card signing key).
pub const MIGRATION_002_ESCALATIONS: &str = "
CREATE TABLE escalations (
    id                TEXT    PRIMARY KEY NOT NULL,
    idem_key          TEXT    UNIQUE,
    fingerprint       TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    request           TEXT    NOT NULL,
    created_at        TEXT    NOT NULL,
    expires_at        TEXT    NOT NULL,
    delivery_state    TEXT    NOT NULL,
    delivery_error    TEXT,
    delivery_attempts INTEGER NOT NULL DEFAULT 0,
    space_id          TEXT,
    room_uuid         TEXT,
    message_id        TEXT,
    message_uuid      TEXT,
    recipient_id      TEXT,
    answer            TEXT,
    closed_at         TEXT,
    close_reason      TEXT,
    updated_at        TEXT    NOT NULL
);
CREATE INDEX escalations_pending_expiry ON escalations (status, expires_at);
CREATE INDEX escalations_message ON escalations (message_uuid);
CREATE INDEX escalations_room ON escalations (room_uuid, status);

-- Webex calls owed: written in the same transaction as the change that needs them,
-- removed in the same transaction as the change their answer causes.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    escalation_id   TEXT    REFERENCES escalations (id),
    payload         TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT,
    created_at      TEXT    NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
) WITHOUT ROWID;
";

/// v3: who did what through the socket API, and when. Peer columns are NULL when the
/// kernel could not tell who the caller was.
pub const MIGRATION_003_AUDIT: &str = "
CREATE TABLE audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT    NOT NULL,
    uid    INTEGER,
    gid    INTEGER,
    pid    INTEGER,
    method TEXT    NOT NULL,
    path   TEXT    NOT NULL,
    status INTEGER NOT NULL,
    detail TEXT
);
CREATE INDEX audit_at ON audit (at);
";

/// v4: every card posted for an escalation, the threaded replies owed (so a
/// repeated click makes no second reply), and a mark on a reply job being posted.
pub const MIGRATION_004_CARDS: &str = "
-- Usually one card an escalation; more when Webex stored a card whose answer never
-- reached us and the card was posted again (the first is learned of when someone
-- presses it: origin 'found'), or when a card was deleted and posted anew.
CREATE TABLE cards (
    message_uuid  TEXT PRIMARY KEY NOT NULL,
    message_id    TEXT NOT NULL,
    escalation_id TEXT NOT NULL REFERENCES escalations (id),
    space_id      TEXT NOT NULL,
    origin        TEXT NOT NULL,
    at            TEXT NOT NULL
);
CREATE INDEX cards_escalation ON cards (escalation_id);
INSERT INTO cards (message_uuid, message_id, escalation_id, space_id, origin, at)
    SELECT message_uuid, message_id, id, space_id, 'posted', updated_at FROM escalations
    WHERE message_uuid IS NOT NULL AND message_id IS NOT NULL AND space_id IS NOT NULL;

CREATE TABLE replies (
    escalation_id TEXT NOT NULL,
    person_id     TEXT NOT NULL,
    text          TEXT NOT NULL,
    at            TEXT NOT NULL,
    PRIMARY KEY (escalation_id, person_id, text)
) WITHOUT ROWID;

ALTER TABLE outbox ADD COLUMN started_at TEXT;
";

/// v5: every statement a request or an event runs is served by an index (the
/// listings get one per filter; spaces get their listing order as a column),
/// and a staging table lets a resync take the room list page by page.
pub const MIGRATION_005_SCALE: &str = "
-- The listing order of spaces, case-folded by Rust (Unicode-aware); filled in
-- by the migration's Rust step for rows written before.
ALTER TABLE spaces ADD COLUMN title_key TEXT NOT NULL DEFAULT '';
CREATE INDEX spaces_title ON spaces (title_key, id);

CREATE INDEX escalations_status ON escalations (status);
CREATE INDEX escalations_space ON escalations (space_id);
CREATE INDEX escalations_space_status ON escalations (space_id, status);
CREATE INDEX cards_origin ON cards (origin);

-- The rooms a resync has read from Webex so far; `ord` is where a room first
-- appeared (a later copy of a room replaces its fields, not its place).
CREATE TABLE sync_rooms (
    sync_id       TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    ord           INTEGER NOT NULL,
    uuid          TEXT    NOT NULL,
    cluster       TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    space_type    TEXT    NOT NULL,
    is_locked     INTEGER NOT NULL,
    last_activity TEXT,
    PRIMARY KEY (sync_id, id)
) WITHOUT ROWID;
CREATE INDEX sync_rooms_order ON sync_rooms (sync_id, ord);
";

/// v6: idempotency keys of one-way notifications (`POST /v1/messages`), so an
/// engine retrying after a timeout does not post the message twice.
pub const MIGRATION_006_NOTIFICATIONS: &str = "
-- state: 'sending' (claimed, the Webex call under way) or 'sent'.
CREATE TABLE notifications (
    key         TEXT PRIMARY KEY NOT NULL,
    fingerprint TEXT NOT NULL,
    state       TEXT NOT NULL,
    message_id  TEXT,
    space_id    TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX notifications_created ON notifications (created_at);
";

/// v7: where an escalation's policy stands — its reminders (how many went, when
/// the next is due), its fallback destinations (how many were sent to, when the
/// next is due, why the last failed), its claim, and whether a `keep_pending` deadline was
/// already passed.
pub const MIGRATION_007_POLICIES: &str = "
ALTER TABLE escalations ADD COLUMN reminders_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE escalations ADD COLUMN next_reminder_at TEXT;
ALTER TABLE escalations ADD COLUMN deadline_passed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE escalations ADD COLUMN fallback_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE escalations ADD COLUMN next_fallback_at TEXT;
ALTER TABLE escalations ADD COLUMN fallback_error TEXT;
-- A claim: who (the person, as JSON), since when, until when.
ALTER TABLE escalations ADD COLUMN claimed_by TEXT;
ALTER TABLE escalations ADD COLUMN claimed_at TEXT;
ALTER TABLE escalations ADD COLUMN claim_expires_at TEXT;
-- Only escalations with a step due are in them: the timer's lookups stay small.
CREATE INDEX escalations_reminder_due ON escalations (next_reminder_at) WHERE next_reminder_at IS NOT NULL;
CREATE INDEX escalations_fallback_due ON escalations (next_fallback_at) WHERE next_fallback_at IS NOT NULL;
CREATE INDEX escalations_claim_due ON escalations (claim_expires_at) WHERE claim_expires_at IS NOT NULL;
";

/// v8: the other person of a direct space (Webex's room list does not say who
/// it is; `GET /memberships?roomId=` does), so that DMs with people of the same
/// name are told apart and the person picker knows who already has a DM.
/// `counterpart_checked_at` is when a lookup was last tried: the never-tried
/// come first, and a failing room does not starve the others.
pub const MIGRATION_008_COUNTERPARTS: &str = "
ALTER TABLE spaces ADD COLUMN counterpart_id TEXT;
ALTER TABLE spaces ADD COLUMN counterpart_email TEXT;
ALTER TABLE spaces ADD COLUMN counterpart_name TEXT;
ALTER TABLE spaces ADD COLUMN counterpart_checked_at TEXT;
CREATE INDEX spaces_counterpart_id ON spaces (counterpart_id) WHERE counterpart_id IS NOT NULL;
CREATE INDEX spaces_counterpart_email ON spaces (counterpart_email COLLATE NOCASE)
    WHERE counterpart_email IS NOT NULL;
-- Only the direct spaces still to be learnt are in it.
CREATE INDEX spaces_counterpart_due ON spaces (counterpart_checked_at)
    WHERE visible = 1 AND space_type = 'direct' AND counterpart_id IS NULL;
";

/// v9: several instances may share a store (on PostgreSQL): an outbox job is
/// leased to the instance running it (its `next_attempt_at` moved to the
/// lease's end, so a job whose instance died is due again by itself), and
/// singleton chores have a leader with a fencing token.
pub const MIGRATION_009_LEASES: &str = "
ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
CREATE TABLE leases (
    name       TEXT    PRIMARY KEY NOT NULL,
    holder     TEXT    NOT NULL,
    fence      INTEGER NOT NULL,
    expires_at TEXT    NOT NULL
) WITHOUT ROWID;
";
