//! Escalations as stored: one row each, moved between states only by
//! compare-and-set, with the event-log row and the outbox job that each change
//! needs written in the same transaction.
//!
//! Rows are parsed into [`Escalation`] here, at the edge (status and delivery
//! state as enums, the request and answer as their types), and every event
//! payload is the [`EscalationView`] of the row just written.

use super::db::{args, Args, Db};
use chrono::{DateTime, Utc};

use super::cards::{self, Card, CardOrigin};
use super::error::StoreError;
use super::escalation_row::from_row;
use super::events::{self, EventKind, EventPayload};
use super::outbox::{insert_job, Task};
use super::{activities, sql, time, Store};
use crate::model::{Answer, Escalation, EscalationView, Status, ValidEscalation};

#[derive(Debug, Clone)]
pub struct NewEscalation {
    pub id: String,
    /// Its `key`, if any, makes creation idempotent.
    pub request: ValidEscalation,
    pub expires_at: DateTime<Utc>,
    pub space_id: Option<String>,
    pub room_uuid: Option<String>,
    pub recipient_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Inserted {
    Created(Escalation),
    /// An escalation with this key already exists (compare fingerprints).
    Existing(Escalation),
}

/// What creating an escalation must know before it writes ([`Store::before_create`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Prior {
    /// The escalation its key made before.
    Existing(Box<Escalation>),
    /// None: then the cached space it goes to (when it goes to a space and the cache has it).
    New { space: Option<Box<super::Space>> },
}

/// Where the card landed.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub space_id: String,
    pub room_uuid: String,
    pub message_id: String,
    pub message_uuid: String,
    pub recipient_id: Option<String>,
    /// When the policy's first reminder and first fallback are due, if it has them.
    pub first_reminder_at: Option<DateTime<Utc>>,
    pub first_fallback_at: Option<DateTime<Utc>>,
}

/// A move out of `pending`, with what the final state carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Closing {
    Answered(Answer),
    /// The policy's `on_deadline` default, recorded as an automatic answer.
    Defaulted(Answer),
    Expired,
    Cancelled {
        reason: Option<String>,
    },
    Failed {
        reason: String,
    },
}

impl Closing {
    pub fn status(&self) -> Status {
        match self {
            Closing::Answered(_) | Closing::Defaulted(_) => Status::Answered,
            Closing::Expired => Status::Expired,
            Closing::Cancelled { .. } => Status::Cancelled,
            Closing::Failed { .. } => Status::Failed,
        }
    }

    fn event(&self) -> EventKind {
        match self {
            Closing::Answered(_) => EventKind::EscalationAnswered,
            Closing::Defaulted(_) => EventKind::EscalationDefaulted,
            Closing::Expired => EventKind::EscalationExpired,
            Closing::Cancelled { .. } => EventKind::EscalationCancelled,
            Closing::Failed { .. } => EventKind::EscalationFailed,
        }
    }

    /// A failed escalation has no card to edit, or lost the space its card is in.
    fn updates_card(&self) -> bool {
        !matches!(self, Closing::Failed { .. })
    }

    fn reason(&self) -> Option<&str> {
        match self {
            Closing::Cancelled { reason } => reason.as_deref(),
            Closing::Failed { reason } => Some(reason),
            Closing::Answered(_) | Closing::Defaulted(_) | Closing::Expired => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CloseOutcome {
    Closed(Escalation),
    /// It had already left `pending` (someone else answered first, it expired...).
    NotPending(Escalation),
    Unknown,
}

#[derive(Debug, Clone, Default)]
pub struct EscalationFilter {
    pub status: Option<Status>,
    pub space_id: Option<String>,
    pub key: Option<String>,
    /// Only rows older than this cursor.
    pub before: Option<i64>,
    pub limit: usize,
}

impl EscalationFilter {
    fn admits(&self, e: &Escalation) -> bool {
        self.status.is_none_or(|s| s == e.status)
            && self.space_id.as_ref().is_none_or(|s| e.delivery.space_id.as_ref() == Some(s))
            && self.before.is_none_or(|before| e.cursor < before)
    }
}

impl Store {
    /// Stores a new escalation with its `post_card` job and `escalation.created`
    /// event, or returns the existing one with the same key.
    pub async fn insert_escalation(&self, new: NewEscalation) -> Result<Inserted, StoreError> {
        let inserted = self.write(move |tx| insert_in(tx, &new)).await?;
        self.jobs_added();
        Ok(inserted)
    }

    pub async fn escalation(&self, id: &str) -> Result<Option<Escalation>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| select_one(conn, sql::SELECT_ESCALATION, &id)).await
    }

    /// What creating an escalation needs first, in one read (one hand-off to a
    /// reader instead of two): the escalation `key` made before, else the
    /// cached space `space_id` (a room id).
    pub async fn before_create(&self, key: Option<&str>, space_id: Option<&str>) -> Result<Prior, StoreError> {
        let (key, space_id) = (key.map(str::to_owned), space_id.map(str::to_owned));
        self.read(move |conn| {
            if let Some(key) = &key {
                if let Some(existing) = select_one(conn, sql::SELECT_ESCALATION_BY_KEY, key)? {
                    return Ok(Prior::Existing(Box::new(existing)));
                }
            }
            let space = match &space_id {
                Some(id) => super::spaces::space_in(conn, id)?.map(Box::new),
                None => None,
            };
            Ok(Prior::New { space })
        })
        .await
    }

    /// What a press on a card needs first, in one read: whether its activity
    /// was processed before, else the escalation and card it was made on.
    pub async fn card_pressed(&self, activity_id: &str, message_uuid: &str) -> Result<super::Pressed, StoreError> {
        let (activity, uuid) = (activity_id.to_owned(), message_uuid.to_owned());
        self.read(move |conn| {
            if super::activities::recorded(conn, &activity)? {
                return Ok(super::Pressed::Processed);
            }
            let Some(card) = cards::card_in(conn, &uuid)? else { return Ok(super::Pressed::UnknownCard) };
            Ok(match select_one(conn, sql::SELECT_ESCALATION, &card.escalation_id)? {
                Some(escalation) => super::Pressed::Card(Box::new((escalation, card))),
                None => super::Pressed::UnknownCard,
            })
        })
        .await
    }

    /// Newest first. A key names at most one escalation: it is found by its index.
    pub async fn escalations(&self, filter: EscalationFilter) -> Result<Vec<Escalation>, StoreError> {
        self.read(move |conn| {
            if let Some(key) = &filter.key {
                let found = select_one(conn, sql::SELECT_ESCALATION_BY_KEY, key)?;
                return Ok(found.filter(|e| filter.admits(e) && filter.limit > 0).into_iter().collect());
            }
            let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
            let before = filter.before.unwrap_or(i64::MAX);
            let status = filter.status.map(Status::as_str);
            match (&filter.space_id, status) {
                (None, None) => listed(conn, sql::SELECT_ESCALATIONS_PAGE, args![before, limit]),
                (None, Some(status)) => {
                    listed(conn, sql::SELECT_ESCALATIONS_PAGE_BY_STATUS, args![status, before, limit])
                }
                (Some(space), None) => listed(conn, sql::SELECT_ESCALATIONS_PAGE_BY_SPACE, args![space, before, limit]),
                (Some(space), Some(status)) => {
                    listed(conn, sql::SELECT_ESCALATIONS_PAGE_BY_SPACE_STATUS, args![space, status, before, limit])
                }
            }
        })
        .await
    }

    /// The card was posted. If the escalation closed meanwhile (cancelled while
    /// queued), the fresh card is stale at once: queue its update.
    pub async fn record_delivery(&self, job_id: i64, id: &str, delivered: Delivered) -> Result<Escalation, StoreError> {
        let id = id.to_owned();
        let record = self.write(move |tx| delivery_in(tx, job_id, &id, &delivered)).await?;
        self.jobs_added();
        Ok(record)
    }

    /// The card could not be posted and never will be: the escalation fails.
    pub async fn record_delivery_failed(&self, job_id: i64, id: &str, error: &str) -> Result<CloseOutcome, StoreError> {
        let (id, error) = (id.to_owned(), error.to_owned());
        self.write(move |tx| {
            tx.execute(sql::RECORD_DELIVERY_FAILED, args![id, error, time::to_text(time::now())])?;
            tx.execute(sql::DELETE_JOB, args![job_id])?;
            close_in(tx, &id, &Closing::Failed { reason: error }, None)
        })
        .await
    }

    /// Moves a pending escalation to a final state (compare-and-set): event, card
    /// update job and the processed `activity` that caused it, in one transaction.
    pub async fn close_escalation(
        &self,
        id: &str,
        closing: Closing,
        activity: Option<&str>,
    ) -> Result<CloseOutcome, StoreError> {
        let (id, activity) = (id.to_owned(), activity.map(str::to_owned));
        let outcome = self.write(move |tx| close_in(tx, &id, &closing, activity.as_deref())).await?;
        self.jobs_added();
        Ok(outcome)
    }

    /// The bot left the room: its pending escalations can no longer be answered.
    pub async fn fail_pending_in_room(&self, room_uuid: &str, reason: &str) -> Result<Vec<Escalation>, StoreError> {
        let (room_uuid, reason) = (room_uuid.to_owned(), reason.to_owned());
        self.write(move |tx| {
            let pending = select_many(tx, sql::SELECT_PENDING_IN_ROOM, &room_uuid)?;
            closed_records(tx, pending, &Closing::Failed { reason })
        })
        .await
    }

    pub async fn next_expiry(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(|conn| time::earliest(conn, sql::SELECT_NEXT_EXPIRY)).await
    }

    /// A card was deleted and posted anew (Webex refused the edit): the new
    /// message takes the old one's place.
    pub async fn replace_card(&self, old: &Card, message_id: &str, message_uuid: &str) -> Result<(), StoreError> {
        let old = old.clone();
        let new = Card {
            message_id: message_id.to_owned(),
            message_uuid: message_uuid.to_owned(),
            at: time::now(),
            ..old.clone()
        };
        self.write(move |tx| {
            cards::delete(tx, &old.message_uuid)?;
            cards::insert(tx, &new)?;
            let now = time::to_text(time::now());
            tx.execute(
                sql::REPLACE_CARD_MESSAGE,
                args![new.escalation_id, old.message_uuid, new.message_id, new.message_uuid, now],
            )?;
            Ok(())
        })
        .await
    }
}

fn insert_in(tx: &Db<'_>, new: &NewEscalation) -> Result<Inserted, StoreError> {
    if let Some(key) = &new.request.key {
        if let Some(existing) = select_one(tx, sql::SELECT_ESCALATION_BY_KEY, key)? {
            return Ok(Inserted::Existing(existing));
        }
    }
    let now = time::to_text(time::now());
    tx.execute(
        sql::INSERT_ESCALATION,
        args![
            new.id,
            new.request.key,
            new.request.fingerprint(),
            serde_json::to_string(&new.request)?,
            now,
            time::to_text(new.expires_at),
            new.space_id,
            new.room_uuid,
            new.recipient_id,
        ],
    )?;
    insert_job(tx, &Task::PostCard { escalation_id: new.id.clone() })?;
    let record = require(tx, &new.id)?;
    append_escalation_event(tx, EventKind::EscalationCreated, &record)?;
    Ok(Inserted::Created(record))
}

fn delivery_in(tx: &Db<'_>, job_id: i64, id: &str, delivered: &Delivered) -> Result<Escalation, StoreError> {
    let now = time::to_text(time::now());
    tx.execute(
        sql::RECORD_DELIVERY,
        args![
            id,
            delivered.space_id,
            delivered.room_uuid,
            delivered.message_id,
            delivered.message_uuid,
            delivered.recipient_id,
            now
        ],
    )?;
    tx.execute(sql::DELETE_JOB, args![job_id])?;
    if delivered.first_reminder_at.is_some() || delivered.first_fallback_at.is_some() {
        let (reminder, fallback) =
            (delivered.first_reminder_at.map(time::to_text), delivered.first_fallback_at.map(time::to_text));
        tx.execute(sql::SCHEDULE_POLICY, args![id, reminder, fallback])?;
    }
    let card = Card {
        message_uuid: delivered.message_uuid.clone(),
        message_id: delivered.message_id.clone(),
        escalation_id: id.to_owned(),
        space_id: delivered.space_id.clone(),
        origin: CardOrigin::Posted,
        at: time::now(),
    };
    cards::insert(tx, &card)?;
    let record = require(tx, id)?;
    match record.status {
        Status::Pending => {
            append_escalation_event(tx, EventKind::EscalationDelivered, &record)?;
        }
        Status::Answered | Status::Expired | Status::Cancelled | Status::Failed => {
            insert_job(tx, &update_card(&card))?;
        }
    }
    Ok(record)
}

fn closed_records(tx: &Db<'_>, candidates: Vec<Escalation>, closing: &Closing) -> Result<Vec<Escalation>, StoreError> {
    let mut closed = Vec::new();
    for record in candidates {
        if let CloseOutcome::Closed(record) = close_in(tx, &record.id, closing, None)? {
            closed.push(record);
        }
    }
    Ok(closed)
}

fn close_in(tx: &Db<'_>, id: &str, closing: &Closing, activity: Option<&str>) -> Result<CloseOutcome, StoreError> {
    if let Some(activity) = activity {
        activities::mark(tx, activity)?;
    }
    let now = time::to_text(time::now());
    let answer = match closing {
        Closing::Answered(answer) | Closing::Defaulted(answer) => Some(serde_json::to_string(answer)?),
        Closing::Expired | Closing::Cancelled { .. } | Closing::Failed { .. } => None,
    };
    let status = closing.status().as_str();
    let moved = tx.execute(sql::CLOSE_ESCALATION, args![id, status, answer, now, closing.reason()])?;
    let Some(record) = select_one(tx, sql::SELECT_ESCALATION, id)? else {
        return Ok(CloseOutcome::Unknown);
    };
    if moved == 0 {
        return Ok(CloseOutcome::NotPending(record));
    }
    append_escalation_event(tx, closing.event(), &record)?;
    if closing.updates_card() {
        for card in cards::cards_of_in(tx, id)? {
            insert_job(tx, &update_card(&card))?;
        }
    }
    Ok(CloseOutcome::Closed(record))
}

fn update_card(card: &Card) -> Task {
    Task::UpdateCard { escalation_id: card.escalation_id.clone(), card: Some(card.message_uuid.clone()) }
}

pub(super) fn append_escalation_event(tx: &Db<'_>, kind: EventKind, record: &Escalation) -> Result<(), StoreError> {
    events::append(tx, kind, EventPayload::Escalation(Box::new(EscalationView::from(record)))).map(|_| ())
}

pub(super) fn require(conn: &Db<'_>, id: &str) -> Result<Escalation, StoreError> {
    select_one(conn, sql::SELECT_ESCALATION, id)?.ok_or(StoreError::NoRow)
}

fn select_one(conn: &Db<'_>, statement: &'static str, arg: &str) -> Result<Option<Escalation>, StoreError> {
    conn.query_opt(statement, args![arg], from_row)
}

fn listed(conn: &Db<'_>, statement: &'static str, args: Args<'_>) -> Result<Vec<Escalation>, StoreError> {
    conn.query_all(statement, args, from_row)
}

pub(super) fn select_many(conn: &Db<'_>, statement: &'static str, arg: &str) -> Result<Vec<Escalation>, StoreError> {
    conn.query_all(statement, args![arg], from_row)
}
