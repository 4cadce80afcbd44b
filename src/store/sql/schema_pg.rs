//! The PostgreSQL schema, as its migrations' batches (numbered on their own:
//! PostgreSQL's v1 is SQLite's v8). Never edit a released one.
//!
//! The tables are SQLite's, column for column, so that every statement of
//! `sql.rs` means the same on both engines:
//! - every text column compares byte-wise (`COLLATE "C"`, SQLite's BINARY):
//!   listing orders and keyset cursors are the same whatever the database's locale;
//! - integers are `BIGINT` (the store binds `i64`), flags too (0 and 1);
//! - `escalations.rowid` is an identity column named after SQLite's rowid,
//!   which the listing pages use as their cursor;
//! - the event log's seq comes from the one-row `event_seq` table, in commit
//!   order (see `INSERT_EVENT`).

/// Serialises migrations across instances starting at once: a transaction-level
/// advisory lock, released by the commit (so it works through any pooler).
pub const PG_LOCK_MIGRATIONS: &str = "SELECT pg_advisory_xact_lock(7201620240101)";

/// Tables of the schema the connection writes to (its search path's first).
pub const PG_LIST_USER_TABLES: &str = "SELECT table_name::text FROM information_schema.tables \
     WHERE table_schema = current_schema() ORDER BY table_name";

/// v1: everything SQLite's v1..v8 built, and the event counter.
pub const PG_MIGRATION_001_INITIAL: &str = r#"
CREATE TABLE schema_version (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    version    BIGINT NOT NULL,
    app        TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE spaces (
    id                     TEXT COLLATE "C" PRIMARY KEY,
    uuid                   TEXT COLLATE "C" NOT NULL,
    cluster                TEXT COLLATE "C" NOT NULL,
    title                  TEXT COLLATE "C" NOT NULL,
    space_type             TEXT COLLATE "C" NOT NULL,
    is_locked              BIGINT NOT NULL,
    visible                BIGINT NOT NULL,
    added_at               TEXT COLLATE "C",
    removed_at             TEXT COLLATE "C",
    last_activity          TEXT COLLATE "C",
    updated_at             TEXT COLLATE "C" NOT NULL,
    title_key              TEXT COLLATE "C" NOT NULL DEFAULT '',
    counterpart_id         TEXT COLLATE "C",
    counterpart_email      TEXT COLLATE "C",
    counterpart_name       TEXT COLLATE "C",
    counterpart_checked_at TEXT COLLATE "C"
);
CREATE INDEX spaces_uuid ON spaces (uuid);
CREATE INDEX spaces_title ON spaces (title_key, id);
CREATE INDEX spaces_counterpart_id ON spaces (counterpart_id) WHERE counterpart_id IS NOT NULL;
CREATE INDEX spaces_counterpart_email ON spaces (lower(counterpart_email)) WHERE counterpart_email IS NOT NULL;
CREATE INDEX spaces_counterpart_due ON spaces (counterpart_checked_at)
    WHERE visible = 1 AND space_type = 'direct' AND counterpart_id IS NULL;

CREATE TABLE processed_activities (
    activity_id  TEXT COLLATE "C" PRIMARY KEY,
    processed_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX processed_activities_at ON processed_activities (processed_at);

CREATE TABLE events (
    seq        BIGINT PRIMARY KEY,
    event_type TEXT COLLATE "C" NOT NULL,
    at         TEXT COLLATE "C" NOT NULL,
    payload    TEXT COLLATE "C" NOT NULL
);
CREATE INDEX events_at ON events (at);
-- The last seq handed out; survives pruning, like SQLite's sqlite_sequence.
CREATE TABLE event_seq (
    id  BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO event_seq (id, seq) VALUES (1, 0);

CREATE TABLE escalations (
    rowid             BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id                TEXT COLLATE "C" PRIMARY KEY,
    idem_key          TEXT COLLATE "C" UNIQUE,
    fingerprint       TEXT COLLATE "C" NOT NULL,
    status            TEXT COLLATE "C" NOT NULL,
    request           TEXT COLLATE "C" NOT NULL,
    created_at        TEXT COLLATE "C" NOT NULL,
    expires_at        TEXT COLLATE "C" NOT NULL,
    delivery_state    TEXT COLLATE "C" NOT NULL,
    delivery_error    TEXT COLLATE "C",
    delivery_attempts BIGINT NOT NULL DEFAULT 0,
    space_id          TEXT COLLATE "C",
    room_uuid         TEXT COLLATE "C",
    message_id        TEXT COLLATE "C",
    message_uuid      TEXT COLLATE "C",
    recipient_id      TEXT COLLATE "C",
    answer            TEXT COLLATE "C",
    closed_at         TEXT COLLATE "C",
    close_reason      TEXT COLLATE "C",
    updated_at        TEXT COLLATE "C" NOT NULL,
    reminders_sent    BIGINT NOT NULL DEFAULT 0,
    next_reminder_at  TEXT COLLATE "C",
    deadline_passed   BIGINT NOT NULL DEFAULT 0,
    fallback_step     BIGINT NOT NULL DEFAULT 0,
    next_fallback_at  TEXT COLLATE "C",
    fallback_error    TEXT COLLATE "C",
    claimed_by        TEXT COLLATE "C",
    claimed_at        TEXT COLLATE "C",
    claim_expires_at  TEXT COLLATE "C"
);
CREATE INDEX escalations_pending_expiry ON escalations (status, expires_at);
CREATE INDEX escalations_message ON escalations (message_uuid);
CREATE INDEX escalations_room ON escalations (room_uuid, status);
CREATE INDEX escalations_status ON escalations (status, rowid);
CREATE INDEX escalations_space ON escalations (space_id, rowid);
CREATE INDEX escalations_space_status ON escalations (space_id, status, rowid);
CREATE INDEX escalations_reminder_due ON escalations (next_reminder_at) WHERE next_reminder_at IS NOT NULL;
CREATE INDEX escalations_fallback_due ON escalations (next_fallback_at) WHERE next_fallback_at IS NOT NULL;
CREATE INDEX escalations_claim_due ON escalations (claim_expires_at) WHERE claim_expires_at IS NOT NULL;

CREATE TABLE outbox (
    id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    kind            TEXT COLLATE "C" NOT NULL,
    escalation_id   TEXT COLLATE "C" REFERENCES escalations (id),
    payload         TEXT COLLATE "C" NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT COLLATE "C" NOT NULL,
    last_error      TEXT COLLATE "C",
    created_at      TEXT COLLATE "C" NOT NULL,
    started_at      TEXT COLLATE "C"
);
CREATE INDEX outbox_due ON outbox (next_attempt_at);

CREATE TABLE meta (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE audit (
    id     BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    at     TEXT COLLATE "C" NOT NULL,
    uid    BIGINT,
    gid    BIGINT,
    pid    BIGINT,
    method TEXT COLLATE "C" NOT NULL,
    path   TEXT COLLATE "C" NOT NULL,
    status BIGINT NOT NULL,
    detail TEXT COLLATE "C"
);
CREATE INDEX audit_at ON audit (at);

CREATE TABLE cards (
    message_uuid  TEXT COLLATE "C" PRIMARY KEY,
    message_id    TEXT COLLATE "C" NOT NULL,
    escalation_id TEXT COLLATE "C" NOT NULL REFERENCES escalations (id),
    space_id      TEXT COLLATE "C" NOT NULL,
    origin        TEXT COLLATE "C" NOT NULL,
    at            TEXT COLLATE "C" NOT NULL
);
CREATE INDEX cards_escalation ON cards (escalation_id);
CREATE INDEX cards_origin ON cards (origin);

CREATE TABLE replies (
    escalation_id TEXT COLLATE "C" NOT NULL,
    person_id     TEXT COLLATE "C" NOT NULL,
    text          TEXT COLLATE "C" NOT NULL,
    at            TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (escalation_id, person_id, text)
);

CREATE TABLE sync_rooms (
    sync_id       TEXT COLLATE "C" NOT NULL,
    id            TEXT COLLATE "C" NOT NULL,
    ord           BIGINT NOT NULL,
    uuid          TEXT COLLATE "C" NOT NULL,
    cluster       TEXT COLLATE "C" NOT NULL,
    title         TEXT COLLATE "C" NOT NULL,
    space_type    TEXT COLLATE "C" NOT NULL,
    is_locked     BIGINT NOT NULL,
    last_activity TEXT COLLATE "C",
    PRIMARY KEY (sync_id, id)
);
CREATE INDEX sync_rooms_order ON sync_rooms (sync_id, ord);

CREATE TABLE notifications (
    key         TEXT COLLATE "C" PRIMARY KEY,
    fingerprint TEXT COLLATE "C" NOT NULL,
    state       TEXT COLLATE "C" NOT NULL,
    message_id  TEXT COLLATE "C",
    space_id    TEXT COLLATE "C",
    created_at  TEXT COLLATE "C" NOT NULL,
    updated_at  TEXT COLLATE "C" NOT NULL
);
CREATE INDEX notifications_created ON notifications (created_at);
"#;

/// v2: SQLite's v9 (outbox leases, the leader's lease).
pub const PG_MIGRATION_002_LEASES: &str = r#"
ALTER TABLE outbox ADD COLUMN lease_owner TEXT COLLATE "C";
CREATE TABLE leases (
    name       TEXT COLLATE "C" PRIMARY KEY,
    holder     TEXT COLLATE "C" NOT NULL,
    fence      BIGINT NOT NULL,
    expires_at TEXT COLLATE "C" NOT NULL
);
"#;

/// Wakes the other instances after a commit (events appended, jobs queued).
pub const PG_NOTIFY_AND_COMMIT: &str = "NOTIFY webex_hitl; COMMIT";
pub const PG_LISTEN: &str = "LISTEN webex_hitl";

/// The transaction-pooling probe (see `open_pg.rs`).
pub const PG_SET_SESSION_PROBE: &str = "SET webex_hitl.session_probe = '1'";
pub const PG_SESSION_PROBE: &str = "SELECT current_setting('webex_hitl.session_probe', true)";
pub const PG_BACKEND_PID: &str = "SELECT pg_backend_pid()::bigint";
pub const PG_SCHEMA_EXISTS: &str = "SELECT 1 FROM pg_namespace WHERE nspname = ?1";
