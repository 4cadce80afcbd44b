//! The cards of an escalation. Usually one; more when Webex stored a card whose
//! answer never reached us and the outbox posted it again (Webex has no
//! idempotency key, and a bot cannot list the messages of a space), or when a
//! card was deleted and posted anew. A duplicate is learned of when someone
//! presses it (`found`); a submission on any card is honoured, and every card
//! known is brought to the final state when the escalation closes.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::error::StoreError;
use super::outbox::{insert_job, Task};
use super::{corrupt, sql, time, Store};
use crate::model::Status;

/// How the daemon knows of a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardOrigin {
    /// Webex's answer to our post named it.
    Posted,
    /// A signed submission on a card we had no record of: a duplicate post.
    Found,
}

impl CardOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            CardOrigin::Posted => "posted",
            CardOrigin::Found => "found",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [CardOrigin::Posted, CardOrigin::Found].into_iter().find(|o| o.as_str() == text)
    }
}

/// One card message of an escalation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub message_uuid: String,
    pub message_id: String,
    pub escalation_id: String,
    pub space_id: String,
    pub origin: CardOrigin,
    pub at: DateTime<Utc>,
}

impl Store {
    pub async fn card(&self, message_uuid: &str) -> Result<Option<Card>, StoreError> {
        let uuid = message_uuid.to_owned();
        self.read(move |conn| card_in(conn, &uuid)).await
    }

    /// Every card of the escalation, oldest first.
    pub async fn cards_of(&self, escalation_id: &str) -> Result<Vec<Card>, StoreError> {
        let id = escalation_id.to_owned();
        self.read(move |conn| cards_of_in(conn, &id)).await
    }

    /// A card of ours that no post of ours was answered with (a duplicate).
    /// True if it was not known yet. If its escalation is closed already, the
    /// card is brought to the final state like the others.
    pub async fn record_found_card(&self, card: Card) -> Result<bool, StoreError> {
        let card = Card { origin: CardOrigin::Found, ..card };
        let new = self
            .write(move |tx| {
                if !insert(tx, &card)? {
                    return Ok(false);
                }
                let status: String = tx
                    .prepare_cached(sql::SELECT_ESCALATION_STATUS)?
                    .query_row(params![card.escalation_id], |r| r.get(0))?;
                let status: Status = status.parse().map_err(|e| StoreError::Sqlite(corrupt(0, e)))?;
                if status.is_final() {
                    let task = Task::UpdateCard {
                        escalation_id: card.escalation_id.clone(),
                        card: Some(card.message_uuid.clone()),
                    };
                    insert_job(tx, &task)?;
                }
                Ok(true)
            })
            .await?;
        self.jobs_added();
        Ok(new)
    }

    /// `(origin, cards)` for every origin present.
    pub async fn card_counts(&self) -> Result<Vec<(CardOrigin, i64)>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(sql::COUNT_CARDS_BY_ORIGIN)?;
            let rows = stmt.query_map([], |row| {
                let origin: String = row.get(0)?;
                let origin = CardOrigin::parse(&origin).ok_or_else(|| corrupt(0, format!("card origin {origin:?}")))?;
                Ok((origin, row.get(1)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }
}

/// True if the card was new.
pub(super) fn insert(conn: &Connection, card: &Card) -> Result<bool, StoreError> {
    let inserted = conn.prepare_cached(sql::INSERT_CARD)?.execute(params![
        card.message_uuid,
        card.message_id,
        card.escalation_id,
        card.space_id,
        card.origin.as_str(),
        time::to_text(card.at),
    ])?;
    Ok(inserted == 1)
}

pub(super) fn card_in(conn: &Connection, message_uuid: &str) -> Result<Option<Card>, StoreError> {
    Ok(conn.prepare_cached(sql::SELECT_CARD)?.query_row(params![message_uuid], from_row).optional()?)
}

pub(super) fn cards_of_in(conn: &Connection, escalation_id: &str) -> Result<Vec<Card>, StoreError> {
    let mut stmt = conn.prepare_cached(sql::SELECT_CARDS_OF)?;
    let rows = stmt.query_map(params![escalation_id], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub(super) fn delete(conn: &Connection, message_uuid: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql::DELETE_CARD)?.execute(params![message_uuid])?;
    Ok(())
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Card> {
    let origin: String = row.get(4)?;
    Ok(Card {
        message_uuid: row.get(0)?,
        message_id: row.get(1)?,
        escalation_id: row.get(2)?,
        space_id: row.get(3)?,
        origin: CardOrigin::parse(&origin).ok_or_else(|| corrupt(4, format!("card origin {origin:?}")))?,
        at: time::column(row, 5)?,
    })
}
