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

    /// Another daemon holds this store (its lock file names its pid).
    #[error(
        "store.path {}: another webex-hitl{} uses this store; stop it first, or give this instance its own store.path",
        path.display(),
        pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    InUse { path: PathBuf, pid: Option<u32> },

    #[error("store database error: {0}")]
    Sqlite(#[from] rusqlite::Error),

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

/// What an operator running the daemon by hand can do about it.
fn hint(message: &str) -> &'static str {
    if message.contains("ermission denied") {
        " (set store.path, or WEBEX_HITL__STORE__PATH, to a file you may write, e.g. ./webex-hitl.db)"
    } else {
        ""
    }
}
