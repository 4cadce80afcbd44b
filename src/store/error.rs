//! The store's error enum: one place that says, in words an operator can act on, why the
//! SQLite cache could not be used.

use std::path::PathBuf;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be created or opened (permissions, a directory, a full disk...).
    #[error("store.path {}: cannot open the store: {message}{}", path.display(), hint(message))]
    Open { path: PathBuf, message: String },

    /// The database was written by a newer webex-hitl; it is left untouched.
    #[error(
        "database schema version {found} is newer than this webex-hitl supports ({supported}); \
         upgrade webex-hitl or point store.path elsewhere"
    )]
    TooNew { found: i64, supported: i64 },

    /// The file is not a webex-hitl store (another program's database, a corrupt file or
    /// not SQLite at all); it is left untouched.
    #[error(
        "{} is not a webex-hitl store database ({reason}); it was left untouched; \
         point store.path elsewhere",
        path.display()
    )]
    NotOurs { path: PathBuf, reason: String },

    /// The PostgreSQL schema holds another program's tables; it is left untouched.
    #[error(
        "the PostgreSQL schema of store.url is not a webex-hitl store ({reason}); it was left untouched; \
         give webex-hitl a database or a schema of its own (store.schema)"
    )]
    ForeignSchema { reason: String },

    /// Another daemon holds this store (its lock file names its pid).
    #[error(
        "store.path {}: another webex-hitl{} uses this store; stop it first, or give this instance its own store.path",
        path.display(),
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    InUse { path: PathBuf, pid: Option<u32> },

    #[error("store database error: {0}")]
    Sqlite(#[from] rusqlite::Error),

    /// PostgreSQL refused a statement or lost the connection. Shared: a
    /// group commit's failure is every member's.
    #[error("store database error (PostgreSQL): {}", pg_detail(.0))]
    Postgres(std::sync::Arc<postgres::Error>),

    /// `store.url` could not be used to reach PostgreSQL.
    #[error("store.url: cannot connect to PostgreSQL: {message}")]
    OpenPostgres { message: String },

    /// A stored value this version cannot read back (its column, and why).
    #[error("store column {column} holds a value this version cannot read: {message}")]
    Corrupt { column: usize, message: String },

    /// The connection goes through a pooler that hands each transaction to
    /// any server session (PgBouncer's `pool_mode = transaction`): `LISTEN`
    /// and the session's settings would silently stop working.
    #[error(
        "store.url: the connection to PostgreSQL goes through a transaction-pooling proxy ({evidence}); \
         webex-hitl needs a session of its own: connect to PostgreSQL directly, or use session pooling"
    )]
    TransactionPooling { evidence: String },

    /// A row the statement must return was not there.
    #[error("store row not found")]
    NoRow,

    /// The transaction a write ran in was lost with the rest of its group.
    #[error("store write not committed: {0}")]
    Aborted(String),

    #[error("store could not encode or decode an event payload: {0}")]
    Serde(#[from] serde_json::Error),

    /// The closure of one read or write panicked; its writes were rolled back.
    #[error("a store operation panicked; its changes were rolled back")]
    Panicked,

    /// The store's threads have stopped (the store is being closed).
    #[error("the store is closed")]
    Closed,

    /// A thread of the store could not be started.
    #[error("cannot start a store thread: {0}")]
    Thread(String),
}

impl From<postgres::Error> for StoreError {
    fn from(error: postgres::Error) -> Self {
        StoreError::Postgres(std::sync::Arc::new(error))
    }
}

impl StoreError {
    pub(crate) fn corrupt(column: usize, why: impl std::fmt::Display) -> Self {
        StoreError::Corrupt { column, message: why.to_string() }
    }

    pub(crate) fn open_pg(error: &dyn std::fmt::Display) -> Self {
        StoreError::OpenPostgres { message: error.to_string() }
    }

    /// A failure that may pass by itself (the server down, restarting, a
    /// lost connection), as opposed to one only an operator can fix.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::OpenPostgres { message } => {
                !message.contains("password") && !message.contains("does not exist") && !message.contains("role")
            }
            StoreError::Postgres(error) => error.is_closed() || error.as_db_error().is_none(),
            _ => false,
        }
    }
}

/// The server's own message (with its detail), not only "db error".
fn pg_detail(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{}: {detail} ({})", db.message(), db.code().code()),
            None => format!("{} ({})", db.message(), db.code().code()),
        },
        None => error.to_string(),
    }
}

/// What an operator running the daemon by hand can do about it.
fn hint(message: &str) -> &'static str {
    if message.contains("ermission denied") {
        " (set store.path, or WEBEX_HITL__STORE__PATH, to a file you may write, e.g. ./webex-hitl.db)"
    } else {
        ""
    }
}
