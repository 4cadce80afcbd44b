//! Claims ("I'm on it"): the first claim of a pending escalation wins by
//! compare-and-set, pauses its reminders and fallbacks, and updates its cards;
//! a claim not answered in time lapses and the ladder resumes. Each move is
//! one transaction with its event and its Webex calls, as for every step of a
//! policy (see `policy`).

use super::db::{args, Db};
use chrono::{DateTime, Utc};

use super::cards;
use super::error::StoreError;
use super::escalations::{append_escalation_event, require, select_many};
use super::events::EventKind;
use super::outbox::{insert_job, Task};
use super::policy::{queue_replies, ReminderText};
use super::{activities, sql, time, Store};
use crate::model::{Answerer, Escalation};

#[derive(Debug, Clone, PartialEq)]
pub enum ClaimOutcome {
    Claimed(Escalation),
    /// Someone holds a claim on it already.
    Held(Escalation),
    /// It is answered, expired, cancelled or failed.
    NotPending(Escalation),
    Unknown,
}

impl Store {
    /// `by` claims the escalation until `expires_at` (`None`: until it ends),
    /// recording the `activity` (the press on the card) as processed.
    pub async fn claim_escalation(
        &self,
        id: &str,
        by: Answerer,
        expires_at: Option<DateTime<Utc>>,
        activity: &str,
    ) -> Result<ClaimOutcome, StoreError> {
        let (id, activity) = (id.to_owned(), activity.to_owned());
        let outcome = self
            .write(move |tx| {
                activities::mark(tx, &activity)?;
                let (now, by) = (time::to_text(time::now()), serde_json::to_string(&by)?);
                let until = expires_at.map(time::to_text);
                let moved = tx.execute(sql::CLAIM_ESCALATION, args![id, by, now, until])?;
                let Some(record) = select_many(tx, sql::SELECT_ESCALATION, &id)?.pop() else {
                    return Ok(ClaimOutcome::Unknown);
                };
                if moved == 1 {
                    update_cards(tx, &id)?;
                    append_escalation_event(tx, EventKind::EscalationClaimed, &record)?;
                    Ok(ClaimOutcome::Claimed(record))
                } else if record.status.is_final() {
                    Ok(ClaimOutcome::NotPending(record))
                } else {
                    Ok(ClaimOutcome::Held(record))
                }
            })
            .await?;
        self.jobs_added();
        Ok(outcome)
    }

    /// Pending escalations whose claim lapsed by `now`.
    pub async fn claims_due(&self, now: DateTime<Utc>) -> Result<Vec<Escalation>, StoreError> {
        self.read(move |conn| select_many(conn, sql::SELECT_CLAIMS_DUE, &time::to_text(now))).await
    }

    pub async fn next_claim_expiry(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(|conn| time::earliest(conn, sql::SELECT_NEXT_CLAIM_EXPIRY)).await
    }

    /// A lapsed claim is released at `now`: reminders and fallbacks resume at the
    /// times given, the cards are updated, `note` is threaded under each, and
    /// `escalation.unclaimed` is emitted. `None` if it moved meanwhile.
    pub async fn release_claim(
        &self,
        id: &str,
        now: DateTime<Utc>,
        next_reminder_at: Option<DateTime<Utc>>,
        next_fallback_at: Option<DateTime<Utc>>,
        note: ReminderText,
    ) -> Result<Option<Escalation>, StoreError> {
        let id = id.to_owned();
        let released = self
            .write(move |tx| {
                let (reminder, fallback) = (next_reminder_at.map(time::to_text), next_fallback_at.map(time::to_text));
                let moved = tx.execute(sql::RELEASE_CLAIM, args![id, time::to_text(now), reminder, fallback])?;
                if moved == 0 {
                    return Ok(None);
                }
                update_cards(tx, &id)?;
                queue_replies(tx, &id, &note)?;
                let record = require(tx, &id)?;
                append_escalation_event(tx, EventKind::EscalationUnclaimed, &record)?;
                Ok(Some(record))
            })
            .await?;
        self.jobs_added();
        Ok(released)
    }
}

fn update_cards(tx: &Db<'_>, id: &str) -> Result<(), StoreError> {
    for card in cards::cards_of_in(tx, id)? {
        insert_job(tx, &Task::UpdateCard { escalation_id: id.to_owned(), card: Some(card.message_uuid) })?;
    }
    Ok(())
}
