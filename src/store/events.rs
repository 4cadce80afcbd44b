//! The append-only event log the AI engine reads (`GET /v1/events?after=SEQ`).
//!
//! `seq` comes from an `AUTOINCREMENT` key, so it is monotonic and never reused, even
//! after retention pruned the newest rows or the daemon restarted.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

use super::error::StoreError;
use super::{sql, time, Store};

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EventRecord {
    pub seq: i64,
    /// `space.added`, `space.removed`, `space.updated`, `connection.up`, ...
    pub event_type: String,
    pub at: DateTime<Utc>,
    /// The full object the event is about (for space events: the serialized `Space`).
    pub payload: serde_json::Value,
}

impl Store {
    /// Appends a standalone event (e.g. `connection.up`) and wakes followers.
    pub async fn append_event(&self, event_type: &str, payload: &serde_json::Value) -> Result<EventRecord, StoreError> {
        let event_type = event_type.to_owned();
        let payload = payload.clone();
        self.write(move |tx| append(tx, &event_type, payload)).await
    }

    /// Up to `limit` events with `seq > after_seq`, ascending.
    pub async fn events_after(&self, after_seq: i64, limit: usize) -> Result<Vec<EventRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(sql::SELECT_EVENTS_AFTER)?;
            let rows = stmt.query_map(params![after_seq, limit], event_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// The last seq ever assigned (it survives pruning); 0 when no event was ever appended.
    pub async fn latest_seq(&self) -> Result<i64, StoreError> {
        self.read(latest_seq_on).await
    }

    /// The smallest seq still in the log; `None` when the log is empty. A follower whose
    /// `after` is below `oldest - 1` has missed pruned events.
    pub async fn oldest_seq(&self) -> Result<Option<i64>, StoreError> {
        self.read(|conn| Ok(conn.query_row(sql::SELECT_OLDEST_SEQ, [], |r| r.get(0))?)).await
    }

    /// Retention: deletes events appended strictly before `older_than`. Returns how many.
    pub async fn prune_events(&self, older_than: DateTime<Utc>) -> Result<usize, StoreError> {
        let cutoff = time::to_text(older_than);
        self.write(move |tx| Ok(tx.execute(sql::DELETE_EVENTS_BEFORE, params![cutoff])?)).await
    }
}

/// Appends one event inside the caller's transaction. For use by store modules within
/// [`Store::write`]; the commit wakes followers.
pub(crate) fn append(
    conn: &Connection,
    event_type: &str,
    payload: serde_json::Value,
) -> Result<EventRecord, StoreError> {
    let at = time::now();
    let text = serde_json::to_string(&payload)?;
    let mut stmt = conn.prepare_cached(sql::INSERT_EVENT)?;
    stmt.execute(params![event_type, time::to_text(at), text])?;
    Ok(EventRecord { seq: conn.last_insert_rowid(), event_type: event_type.to_owned(), at, payload })
}

/// Last seq ever assigned, read from SQLite's AUTOINCREMENT bookkeeping.
pub(super) fn latest_seq_on(conn: &Connection) -> Result<i64, StoreError> {
    let seq = conn.prepare_cached(sql::SELECT_LATEST_SEQ)?.query_row([], |r| r.get(0)).optional()?;
    Ok(seq.unwrap_or(0))
}

fn event_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<EventRecord> {
    let text: String = row.get(3)?;
    let payload = serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e)))?;
    Ok(EventRecord { seq: row.get(0)?, event_type: row.get(1)?, at: time::column(row, 2)?, payload })
}
