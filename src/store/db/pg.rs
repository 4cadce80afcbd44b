//! A PostgreSQL connection as the store uses it: one `postgres::Client` on a
//! store thread of its own (the writer, or one reader), its prepared
//! statements cached, `?N` placeholders rewritten to `$N` once.
//!
//! Why the blocking client: the store's design is a writer thread and reader
//! threads, each owning its connection (see `writer.rs`); `postgres` is the
//! blocking face of `tokio-postgres` (same maintainers, same protocol code), so
//! a store thread drives its connection without an async runtime of its own.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use postgres::{Client, NoTls, Statement};

use super::value::Cell;
use super::{Args, Row};
use crate::secret::Secret;
use crate::store::error::StoreError;

/// How long a connection attempt may take before the store gives up on it.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one statement may run: a stuck lock or a lost server fails the
/// call instead of hanging the store's thread.
pub(crate) const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a PostgreSQL store lives: the server and, optionally, a schema of
/// its own in that database (the tests give each store one).
#[derive(Clone)]
pub(crate) struct PgTarget {
    pub url: Secret,
    pub schema: Option<String>,
    /// Named in each connection's `application_name` (`pg_stat_activity`).
    pub instance: String,
}

impl fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgTarget")
            .field("url", &"<redacted>")
            .field("schema", &self.schema)
            .field("instance", &self.instance)
            .finish()
    }
}

/// One connection and its statement cache.
pub(crate) struct PgConn {
    client: RefCell<Client>,
    statements: RefCell<HashMap<&'static str, Statement>>,
}

impl PgConn {
    /// Connects, bounded in time, and sets the session up: the schema first
    /// in the search path (the writer creates it, see `open_pg.rs`), UTC, a
    /// statement timeout.
    pub(crate) fn connect(target: &PgTarget, application: &str) -> Result<PgConn, StoreError> {
        let mut config: postgres::Config = target.url.expose().parse().map_err(|e| StoreError::open_pg(&e))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name(&format!("{application} {}", target.instance));
        let mut client = config.connect(NoTls).map_err(|e| StoreError::open_pg(&e))?;
        let mut setup = format!(
            "SET TIME ZONE 'UTC'; SET statement_timeout = {}; SET lock_timeout = {};",
            STATEMENT_TIMEOUT.as_millis(),
            STATEMENT_TIMEOUT.as_millis()
        );
        if let Some(schema) = &target.schema {
            setup.push_str(&format!("SET search_path TO {};", quote_ident(schema)));
        }
        client.batch_execute(&setup).map_err(|e| StoreError::open_pg(&e))?;
        Ok(PgConn { client: RefCell::new(client), statements: RefCell::new(HashMap::new()) })
    }

    fn prepared(&self, statement: &'static str) -> Result<Statement, StoreError> {
        if let Some(prepared) = self.statements.borrow().get(statement) {
            return Ok(prepared.clone());
        }
        let prepared = self.client.borrow_mut().prepare(&dollar_placeholders(statement))?;
        self.statements.borrow_mut().insert(statement, prepared.clone());
        Ok(prepared)
    }

    pub(super) fn execute(&self, statement: &'static str, args: Args<'_>) -> Result<usize, StoreError> {
        let prepared = self.prepared(statement)?;
        let cells: Vec<Cell<'_>> = args.iter().map(|a| a.to_cell()).collect();
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = cells.iter().map(|c| c as _).collect();
        let changed = self.client.borrow_mut().execute(&prepared, &params)?;
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    }

    pub(super) fn each(
        &self,
        statement: &'static str,
        args: Args<'_>,
        f: &mut dyn FnMut(&Row<'_>) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let prepared = self.prepared(statement)?;
        let cells: Vec<Cell<'_>> = args.iter().map(|a| a.to_cell()).collect();
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = cells.iter().map(|c| c as _).collect();
        // Fetched whole before `f` runs: `f` may use this connection again, which an
        // open portal forbids. The store's statements return bounded pages.
        let rows = self.client.borrow_mut().query(&prepared, &params)?;
        for row in &rows {
            if !f(&Row::Postgres(row))? {
                break;
            }
        }
        Ok(())
    }

    pub(super) fn batch(&self, statements: &str) -> Result<(), StoreError> {
        Ok(self.client.borrow_mut().batch_execute(statements)?)
    }

    /// Waits up to `timeout` for a notification on a channel this connection
    /// listens on; `true` if one (or more) came. Those queued are all taken.
    pub(crate) fn wait_notification(&self, timeout: Duration) -> Result<bool, StoreError> {
        use postgres::fallible_iterator::FallibleIterator;
        let mut client = self.client.borrow_mut();
        let mut notifications = client.notifications();
        let mut waiting = notifications.timeout_iter(timeout);
        let mut any = waiting.next()?.is_some();
        drop(waiting);
        while notifications.iter().next()?.is_some() {
            any = true;
        }
        Ok(any)
    }

    /// The first column of the first row of `statement`, run with the simple
    /// query protocol (no prepared statement), as text.
    pub(crate) fn simple_value(&self, statement: &str) -> Result<Option<String>, StoreError> {
        let messages = self.client.borrow_mut().simple_query(statement)?;
        Ok(messages
            .into_iter()
            .find_map(|message| match message {
                postgres::SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_owned)),
                _ => None,
            })
            .flatten())
    }

    /// Whether the server closed the connection (a restart, a killed session).
    pub(crate) fn is_closed(&self) -> bool {
        self.client.borrow().is_closed()
    }
}

/// `?1` becomes `$1`. The store's statements have no `?` anywhere else (no
/// string literal in them holds one: `sql.rs` is checked by a test below).
fn dollar_placeholders(statement: &str) -> String {
    let mut out = String::with_capacity(statement.len());
    let mut chars = statement.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// A name as a PostgreSQL identifier, quoted.
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollars_and_nothing_else_changes() {
        assert_eq!(dollar_placeholders("a = ?1 AND (?12 IS NULL)"), "a = $1 AND ($12 IS NULL)");
        assert_eq!(dollar_placeholders("x ? y"), "x ? y");
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
    }
}
