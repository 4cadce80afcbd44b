//! The cards of an escalation. Usually one; more when Webex stored a card whose
//! answer never reached us and the outbox posted it again (Webex has no
//! idempotency key, and a bot cannot list the messages of a space), or when a
//! card was deleted and posted anew. A duplicate is learned of when someone
//! presses it (`found`); a submission on any card is honoured, and every card
//! known is brought to the final state when the escalation closes.

use super::db::{args, Db, Row};
use chrono::{DateTime, Utc};

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
                let status: String =
                    tx.query_one(sql::SELECT_ESCALATION_STATUS, args![card.escalation_id], |r| r.get(0))?;
                let status: Status = status.parse().map_err(|e| corrupt(0, e))?;
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
            conn.query_all(sql::COUNT_CARDS_BY_ORIGIN, args![], |row| {
                let origin: String = row.get(0)?;
                let origin = CardOrigin::parse(&origin).ok_or_else(|| corrupt(0, format!("card origin {origin:?}")))?;
                Ok((origin, row.get(1)?))
            })
        })
        .await
    }
}

/// True if the card was new.
pub(super) fn insert(conn: &Db<'_>, card: &Card) -> Result<bool, StoreError> {
    let inserted = conn.execute(
        sql::INSERT_CARD,
        args![
            card.message_uuid,
            card.message_id,
            card.escalation_id,
            card.space_id,
            card.origin.as_str(),
            time::to_text(card.at),
        ],
    )?;
    Ok(inserted == 1)
}

pub(super) fn card_in(conn: &Db<'_>, message_uuid: &str) -> Result<Option<Card>, StoreError> {
    conn.query_opt(sql::SELECT_CARD, args![message_uuid], from_row)
}

pub(super) fn cards_of_in(conn: &Db<'_>, escalation_id: &str) -> Result<Vec<Card>, StoreError> {
    conn.query_all(sql::SELECT_CARDS_OF, args![escalation_id], from_row)
}

pub(super) fn delete(conn: &Db<'_>, message_uuid: &str) -> Result<(), StoreError> {
    conn.execute(sql::DELETE_CARD, args![message_uuid])?;
    Ok(())
}

fn from_row(row: &Row<'_>) -> Result<Card, StoreError> {
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
