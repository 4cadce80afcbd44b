//! The store's error enum: one place that says, in words an operator can act on, why the
//! SQLite cache could not be used.

use std::path::PathBuf;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be created or opened (permissions, a directory, a full disk...).
    #[error("cannot open store database {}: {message}", path.display())]
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
