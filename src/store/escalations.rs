//! Escalations as stored: one row each, moved between states only by
//! compare-and-set, with the event-log row and the outbox job that each change
//! needs written in the same transaction.
//!
//! The store knows nothing of cards or requests: the request and answer are JSON
//! it keeps, and the caller passes a [`Render`] that turns a row into the event
//! payload the engine sees.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::Value;

use super::error::StoreError;
use super::outbox::{insert_job, JobKind};
use super::{activities, events, sql, time, Store};

#[derive(Debug, Clone, PartialEq)]
pub struct EscalationRecord {
    /// Stable position for paging (newest first).
    pub cursor: i64,
    pub id: String,
    pub key: Option<String>,
    pub fingerprint: String,
    /// `pending`, `answered`, `expired`, `cancelled`, `failed`.
    pub status: String,
    pub request: Value,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// `queued`, `posted`, `failed`.
    pub delivery_state: String,
    pub delivery_error: Option<String>,
    pub delivery_attempts: i64,
    pub space_id: Option<String>,
    pub room_uuid: Option<String>,
    pub message_id: Option<String>,
    pub message_uuid: Option<String>,
    /// For a DM: the one person who may answer.
    pub recipient_id: Option<String>,
    pub answer: Option<Value>,
    pub closed_at: Option<DateTime<Utc>>,
    pub close_reason: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// Turns a row into the payload of its event-log entries.
pub type Render = fn(&EscalationRecord) -> Value;

#[derive(Debug, Clone)]
pub struct NewEscalation {
    pub id: String,
    pub key: Option<String>,
    pub fingerprint: String,
    pub request: Value,
    pub expires_at: DateTime<Utc>,
    pub space_id: Option<String>,
    pub room_uuid: Option<String>,
    pub recipient_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Inserted {
    Created(EscalationRecord),
    /// An escalation with this key already exists (compare fingerprints).
    Existing(EscalationRecord),
}

/// Where the card landed.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub space_id: String,
    pub room_uuid: String,
    pub message_id: String,
    pub message_uuid: String,
    pub recipient_id: Option<String>,
}

/// A move out of `pending`.
#[derive(Debug, Clone)]
pub struct Closing {
    pub status: &'static str,
    pub answer: Option<Value>,
    pub reason: Option<String>,
    /// The Mercury activity that caused it, recorded as processed in the same transaction.
    pub activity_id: Option<String>,
    /// Whether the card should be updated in place to show the final state.
    pub update_card: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CloseOutcome {
    Closed(EscalationRecord),
    /// It had already left `pending` (someone else answered first, it expired...).
    NotPending(EscalationRecord),
    Unknown,
}

#[derive(Debug, Clone, Default)]
pub struct EscalationFilter {
    pub status: Option<String>,
    pub space_id: Option<String>,
    pub key: Option<String>,
    /// Only rows older than this cursor.
    pub before: Option<i64>,
    pub limit: usize,
}

impl Store {
    /// Stores a new escalation with its `post_card` job and `escalation.created`
    /// event, or returns the existing one with the same key.
    pub async fn insert_escalation(&self, new: NewEscalation, render: Render) -> Result<Inserted, StoreError> {
        let inserted = self
            .write(move |tx| {
                if let Some(key) = &new.key {
                    if let Some(existing) = select_one(tx, sql::SELECT_ESCALATION_BY_KEY, key)? {
                        return Ok(Inserted::Existing(existing));
                    }
                }
                let now = time::to_text(time::now());
                tx.prepare_cached(sql::INSERT_ESCALATION)?.execute(params![
                    new.id,
                    new.key,
                    new.fingerprint,
                    serde_json::to_string(&new.request)?,
                    now,
                    time::to_text(new.expires_at),
                    new.space_id,
                    new.room_uuid,
                    new.recipient_id,
                ])?;
                insert_job(tx, JobKind::PostCard, Some(&new.id), &Value::Null)?;
                let record = require(tx, &new.id)?;
                events::append(tx, "escalation.created", render(&record))?;
                Ok(Inserted::Created(record))
            })
            .await?;
        self.jobs_added();
        Ok(inserted)
    }

    pub async fn escalation(&self, id: &str) -> Result<Option<EscalationRecord>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| select_one(conn, sql::SELECT_ESCALATION, &id)).await
    }

    pub async fn escalation_by_message(&self, message_uuid: &str) -> Result<Option<EscalationRecord>, StoreError> {
        let uuid = message_uuid.to_owned();
        self.read(move |conn| select_one(conn, sql::SELECT_ESCALATION_BY_MESSAGE, &uuid)).await
    }

    /// Newest first.
    pub async fn escalations(&self, filter: EscalationFilter) -> Result<Vec<EscalationRecord>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(sql::SELECT_ESCALATIONS_FILTERED)?;
            let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
            let rows =
                stmt.query_map(params![filter.status, filter.space_id, filter.key, filter.before, limit], from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// The card was posted. If the escalation closed meanwhile (cancelled while
    /// queued), the fresh card is stale at once: queue its update.
    pub async fn record_delivery(
        &self,
        job_id: i64,
        id: &str,
        delivered: Delivered,
        render: Render,
    ) -> Result<EscalationRecord, StoreError> {
        let id = id.to_owned();
        let record = self
            .write(move |tx| {
                let now = time::to_text(time::now());
                tx.prepare_cached(sql::RECORD_DELIVERY)?.execute(params![
                    id,
                    delivered.space_id,
                    delivered.room_uuid,
                    delivered.message_id,
                    delivered.message_uuid,
                    delivered.recipient_id,
                    now
                ])?;
                tx.prepare_cached(sql::DELETE_JOB)?.execute(params![job_id])?;
                let record = require(tx, &id)?;
                if record.status == "pending" {
                    events::append(tx, "escalation.delivered", render(&record))?;
                } else {
                    insert_job(tx, JobKind::UpdateCard, Some(&id), &Value::Null)?;
                }
                Ok(record)
            })
            .await?;
        self.jobs_added();
        Ok(record)
    }

    /// The card could not be posted and never will be: the escalation fails.
    pub async fn record_delivery_failed(
        &self,
        job_id: i64,
        id: &str,
        error: &str,
        render: Render,
    ) -> Result<CloseOutcome, StoreError> {
        let (id, error) = (id.to_owned(), error.to_owned());
        self.write(move |tx| {
            tx.prepare_cached(sql::RECORD_DELIVERY_FAILED)?.execute(params![id, error, time::to_text(time::now())])?;
            tx.prepare_cached(sql::DELETE_JOB)?.execute(params![job_id])?;
            let closing =
                Closing { status: "failed", answer: None, reason: Some(error), activity_id: None, update_card: false };
            close_in(tx, &id, &closing, render)
        })
        .await
    }

    /// Moves a pending escalation to a final state (compare-and-set): event,
    /// card update job and processed activity in one transaction.
    pub async fn close_escalation(
        &self,
        id: &str,
        closing: Closing,
        render: Render,
    ) -> Result<CloseOutcome, StoreError> {
        let id = id.to_owned();
        let outcome = self.write(move |tx| close_in(tx, &id, &closing, render)).await?;
        self.jobs_added();
        Ok(outcome)
    }

    /// Expires every pending escalation whose time is up.
    pub async fn expire_due(&self, now: DateTime<Utc>, render: Render) -> Result<Vec<EscalationRecord>, StoreError> {
        let expired = self
            .write(move |tx| {
                let due = select_many(tx, sql::SELECT_PENDING_DUE, &time::to_text(now))?;
                let closing =
                    Closing { status: "expired", answer: None, reason: None, activity_id: None, update_card: true };
                closed_records(tx, due, &closing, render)
            })
            .await?;
        self.jobs_added();
        Ok(expired)
    }

    /// The bot left the room: its pending escalations can no longer be answered.
    pub async fn fail_pending_in_room(
        &self,
        room_uuid: &str,
        reason: &str,
        render: Render,
    ) -> Result<Vec<EscalationRecord>, StoreError> {
        let (room_uuid, reason) = (room_uuid.to_owned(), reason.to_owned());
        self.write(move |tx| {
            let pending = select_many(tx, sql::SELECT_PENDING_IN_ROOM, &room_uuid)?;
            let closing =
                Closing { status: "failed", answer: None, reason: Some(reason), activity_id: None, update_card: false };
            closed_records(tx, pending, &closing, render)
        })
        .await
    }

    pub async fn next_expiry(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(|conn| {
            let text: Option<String> = conn.prepare_cached(sql::SELECT_NEXT_EXPIRY)?.query_row([], |r| r.get(0))?;
            text.map(|t| time::parse_text(&t)).transpose()
        })
        .await
    }

    /// The card was deleted and posted anew (Webex refused the edit).
    pub async fn replace_card_message(&self, id: &str, message_id: &str, message_uuid: &str) -> Result<(), StoreError> {
        let (id, message_id, message_uuid) = (id.to_owned(), message_id.to_owned(), message_uuid.to_owned());
        self.write(move |tx| {
            let now = time::to_text(time::now());
            tx.prepare_cached(sql::REPLACE_CARD_MESSAGE)?.execute(params![id, message_id, message_uuid, now])?;
            Ok(())
        })
        .await
    }
}

fn closed_records(
    tx: &Connection,
    candidates: Vec<EscalationRecord>,
    closing: &Closing,
    render: Render,
) -> Result<Vec<EscalationRecord>, StoreError> {
    let mut closed = Vec::new();
    for record in candidates {
        if let CloseOutcome::Closed(record) = close_in(tx, &record.id, closing, render)? {
            closed.push(record);
        }
    }
    Ok(closed)
}

fn close_in(tx: &Connection, id: &str, closing: &Closing, render: Render) -> Result<CloseOutcome, StoreError> {
    if let Some(activity) = &closing.activity_id {
        activities::mark(tx, activity)?;
    }
    let now = time::to_text(time::now());
    let answer = closing.answer.as_ref().map(serde_json::to_string).transpose()?;
    let moved =
        tx.prepare_cached(sql::CLOSE_ESCALATION)?.execute(params![id, closing.status, answer, now, closing.reason])?;
    let Some(record) = select_one(tx, sql::SELECT_ESCALATION, id)? else {
        return Ok(CloseOutcome::Unknown);
    };
    if moved == 0 {
        return Ok(CloseOutcome::NotPending(record));
    }
    events::append(tx, &format!("escalation.{}", closing.status), render(&record))?;
    if closing.update_card && record.message_id.is_some() {
        insert_job(tx, JobKind::UpdateCard, Some(id), &Value::Null)?;
    }
    Ok(CloseOutcome::Closed(record))
}

fn require(conn: &Connection, id: &str) -> Result<EscalationRecord, StoreError> {
    select_one(conn, sql::SELECT_ESCALATION, id)?.ok_or(StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows))
}

fn select_one(conn: &Connection, statement: &str, arg: &str) -> Result<Option<EscalationRecord>, StoreError> {
    Ok(conn.prepare_cached(statement)?.query_row(params![arg], from_row).optional()?)
}

fn select_many(conn: &Connection, statement: &str, arg: &str) -> Result<Vec<EscalationRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(statement)?;
    let rows = stmt.query_map(params![arg], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn json_column(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Value>> {
    let text: Option<String> = row.get(idx)?;
    text.map(|t| {
        serde_json::from_str(&t)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e)))
    })
    .transpose()
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<EscalationRecord> {
    Ok(EscalationRecord {
        cursor: row.get(0)?,
        id: row.get(1)?,
        key: row.get(2)?,
        fingerprint: row.get(3)?,
        status: row.get(4)?,
        request: json_column(row, 5)?.unwrap_or(Value::Null),
        created_at: time::column(row, 6)?,
        expires_at: time::column(row, 7)?,
        delivery_state: row.get(8)?,
        delivery_error: row.get(9)?,
        delivery_attempts: row.get(10)?,
        space_id: row.get(11)?,
        room_uuid: row.get(12)?,
        message_id: row.get(13)?,
        message_uuid: row.get(14)?,
        recipient_id: row.get(15)?,
        answer: json_column(row, 16)?,
        closed_at: time::opt_column(row, 17)?,
        close_reason: row.get(18)?,
        updated_at: time::column(row, 19)?,
    })
}
