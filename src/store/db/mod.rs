//! The store's one interface to SQL, over two engines: SQLite (embedded, the
//! default for one node) and PostgreSQL (shared by several instances).
//!
//! Why: every rule of the store (a compare-and-set, an event with its outbox
//! job, "first answer wins") must hold the same on both engines, so the store's
//! code is written once, against [`Db`], and runs unchanged on either. The
//! statements are the same text too (`sql.rs`), with `?N` placeholders that are
//! rewritten to `$N` for PostgreSQL; the few that must differ are a
//! [`Dialects`] pair, picked by [`Db::pick`].
//!
//! [`Db`] is what a read or write closure gets: a connection (in a transaction,
//! for writes). Statements are prepared once per connection and cached.

mod conn;
mod pg;
mod value;

pub(crate) use conn::Conn;
pub(crate) use pg::quote_ident;
pub(crate) use pg::{PgConn, PgTarget};
pub(crate) use value::{Cell, FromValue, ToValue};

use super::error::StoreError;

/// Which engine a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A statement whose text differs between the engines.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dialects {
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// The arguments of one statement, in placeholder order.
pub(crate) type Args<'a> = &'a [&'a dyn ToValue];

/// `args![a, b]`: the arguments of a statement (`?1` is `a`).
macro_rules! args {
    () => { &[] as &[&dyn $crate::store::db::ToValue] };
    ($($arg:expr),+ $(,)?) => { &[$(&$arg as &dyn $crate::store::db::ToValue),+][..] };
}
pub(crate) use args;

/// A connection of either engine, as the store's closures see it.
#[derive(Clone, Copy)]
pub(crate) enum Db<'c> {
    Sqlite(&'c rusqlite::Connection),
    Postgres(&'c PgConn),
}

/// One row of a result, read column by column into Rust values.
pub(crate) enum Row<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r postgres::Row),
}

impl Row<'_> {
    /// Column `idx` as a `T`; a value of another kind is a [`StoreError::Corrupt`].
    pub(crate) fn get<T: FromValue>(&self, idx: usize) -> Result<T, StoreError> {
        let cell = match self {
            Row::Sqlite(row) => {
                let value = row.get_ref(idx)?;
                value::from_sqlite(value).map_err(|why| StoreError::corrupt(idx, why))?
            }
            Row::Postgres(row) => row.try_get::<_, Cell<'_>>(idx).map_err(|e| StoreError::corrupt(idx, e))?,
        };
        T::from_cell(cell).map_err(|why| StoreError::corrupt(idx, why))
    }
}

impl<'c> Db<'c> {
    /// The text of `statement` for this engine.
    pub(crate) fn pick(&self, statement: &Dialects) -> &'static str {
        match self {
            Db::Sqlite(_) => statement.sqlite,
            Db::Postgres(_) => statement.postgres,
        }
    }

    /// Runs a statement that returns no rows; the number of rows it changed.
    pub(crate) fn execute(&self, statement: &'static str, args: Args<'_>) -> Result<usize, StoreError> {
        match self {
            Db::Sqlite(conn) => {
                let cells: Vec<Cell<'_>> = args.iter().map(|a| a.to_cell()).collect();
                Ok(conn.prepare_cached(statement)?.execute(rusqlite::params_from_iter(cells))?)
            }
            Db::Postgres(conn) => conn.execute(statement, args),
        }
    }

    /// The first row, if any, read by `f`.
    pub(crate) fn query_opt<T>(
        &self,
        statement: &'static str,
        args: Args<'_>,
        f: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let mut f = Some(f);
        let mut found = None;
        self.each(statement, args, &mut |row| {
            if let Some(f) = f.take() {
                found = Some(f(row)?);
            }
            Ok(false)
        })?;
        Ok(found)
    }

    /// The first row, which must exist (an aggregate, a row just written).
    pub(crate) fn query_one<T>(
        &self,
        statement: &'static str,
        args: Args<'_>,
        f: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.query_opt(statement, args, f)?.ok_or(StoreError::NoRow)
    }

    /// Every row, read by `f`.
    pub(crate) fn query_all<T>(
        &self,
        statement: &'static str,
        args: Args<'_>,
        mut f: impl FnMut(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut all = Vec::new();
        self.each(statement, args, &mut |row| {
            all.push(f(row)?);
            Ok(true)
        })?;
        Ok(all)
    }

    /// Gives the rows to `f` until it returns `false`. SQLite steps through
    /// them; PostgreSQL's arrive whole (the store's reads are bounded pages).
    pub(crate) fn each(
        &self,
        statement: &'static str,
        args: Args<'_>,
        f: &mut dyn FnMut(&Row<'_>) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(conn) => {
                let cells: Vec<Cell<'_>> = args.iter().map(|a| a.to_cell()).collect();
                let mut stmt = conn.prepare_cached(statement)?;
                let mut rows = stmt.query(rusqlite::params_from_iter(cells))?;
                while let Some(row) = rows.next()? {
                    if !f(&Row::Sqlite(row))? {
                        break;
                    }
                }
                Ok(())
            }
            Db::Postgres(conn) => conn.each(statement, args, f),
        }
    }

    /// Runs several `;`-separated statements without arguments (a migration).
    pub(crate) fn batch(&self, statements: &str) -> Result<(), StoreError> {
        match self {
            Db::Sqlite(conn) => Ok(conn.execute_batch(statements)?),
            Db::Postgres(conn) => conn.batch(statements),
        }
    }
}
