//! An owned connection of either engine, with what the writer needs of it:
//! transactions, savepoints, and a way back after PostgreSQL dropped it.

use super::pg::{PgConn, PgTarget};
use super::Db;
use crate::store::error::StoreError;
use crate::store::sql;

/// A store thread's connection.
pub(crate) enum Conn {
    Sqlite(rusqlite::Connection),
    /// With where it came from, to connect again after the server dropped it.
    Postgres {
        conn: Box<PgConn>,
        target: PgTarget,
        application: &'static str,
    },
}

impl Conn {
    pub(crate) fn db(&self) -> Db<'_> {
        match self {
            Conn::Sqlite(conn) => Db::Sqlite(conn),
            Conn::Postgres { conn, .. } => Db::Postgres(conn),
        }
    }

    /// A PostgreSQL connection the server closed (a restart, a killed session)
    /// is opened again, once, before the next use; SQLite's never closes.
    /// `true` if this is a new session.
    pub(crate) fn revive(&mut self) -> Result<bool, StoreError> {
        if let Conn::Postgres { conn, target, application } = self {
            if conn.is_closed() {
                tracing::warn!("the store's PostgreSQL connection was closed; connecting again");
                **conn = PgConn::connect(target, application)?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Starts a write transaction. SQLite's takes the write lock at once
    /// (`IMMEDIATE`), so it never fails half-way for a lock.
    pub(crate) fn begin(&self) -> Result<(), StoreError> {
        let statement = self.db().pick(&sql::BEGIN_WRITE);
        self.db().batch(statement)
    }

    /// Commits. With `notify`, a PostgreSQL transaction first notifies the
    /// other instances (delivered at the commit, not before; see
    /// `store/listen.rs`), in the same round trip.
    pub(crate) fn commit(&self, notify: bool) -> Result<(), StoreError> {
        match self {
            Conn::Postgres { .. } if notify => self.db().batch(sql::PG_NOTIFY_AND_COMMIT),
            _ => self.db().batch(sql::COMMIT),
        }
    }

    /// Undoes an open transaction; nothing to do if the engine already did.
    pub(crate) fn rollback(&self) {
        if self.in_transaction() {
            if let Err(error) = self.db().batch(sql::ROLLBACK) {
                tracing::warn!(%error, "store rollback failed");
            }
        }
    }

    /// Whether a transaction is still open. SQLite leaves it by itself on some
    /// errors (a full disk); PostgreSQL keeps it, aborted, until told.
    pub(crate) fn in_transaction(&self) -> bool {
        match self {
            Conn::Sqlite(conn) => !conn.is_autocommit(),
            Conn::Postgres { conn, .. } => !conn.is_closed(),
        }
    }
}
