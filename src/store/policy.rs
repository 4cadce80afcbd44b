//! The store's side of escalation policies: which reminders, fallbacks and
//! deadlines are due, and each step recorded by compare-and-set with its event and its
//! Webex calls in one transaction — so a step is taken once, whatever crashes
//! or repeats around it. What to say and when the next step is due is the
//! logic's (`escalation::timers`); this module only moves the row.

use super::db::{args, Db};
use chrono::{DateTime, Utc};

use super::cards::{self, Card};
use super::error::StoreError;
use super::escalations::{append_escalation_event, require, select_many};
use super::events::EventKind;
use super::outbox::{insert_job, Reply, Task};
use super::{sql, time, Store};
use crate::model::{Destination, Escalation};

/// A reminder's words: `markdown` (with the mentions) and its plain-text fallback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderText {
    pub text: String,
    pub markdown: Option<String>,
}

impl Store {
    /// Pending escalations whose next reminder is due at `now`, oldest due first.
    pub async fn reminders_due(&self, now: DateTime<Utc>) -> Result<Vec<Escalation>, StoreError> {
        self.read(move |conn| select_many(conn, sql::SELECT_REMINDERS_DUE, &time::to_text(now))).await
    }

    pub async fn next_reminder(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(|conn| time::earliest(conn, sql::SELECT_NEXT_REMINDER)).await
    }

    /// Pending escalations whose deadline came and was not acted on yet.
    pub async fn deadlines_due(&self, now: DateTime<Utc>) -> Result<Vec<Escalation>, StoreError> {
        self.read(move |conn| select_many(conn, sql::SELECT_PENDING_DUE, &time::to_text(now))).await
    }

    /// Records reminder number `sent_before + 1` of a pending escalation: the
    /// count, when the next is due (`None`: it was the last), the
    /// `escalation.reminded` event and a threaded reply under each of its
    /// cards. `None` when it moved meanwhile (answered, or reminded already).
    pub async fn record_reminder(
        &self,
        id: &str,
        sent_before: u32,
        next_at: Option<DateTime<Utc>>,
        words: ReminderText,
    ) -> Result<Option<Escalation>, StoreError> {
        let id = id.to_owned();
        let step =
            Step { statement: sql::RECORD_REMINDER, before: sent_before, next_at, kind: EventKind::EscalationReminded };
        let recorded = self.write(move |tx| step.take(tx, &id, &words, |_| Ok(()))).await?;
        self.jobs_added();
        Ok(recorded)
    }

    /// Pending escalations whose next fallback destination is due at `now`.
    pub async fn fallbacks_due(&self, now: DateTime<Utc>) -> Result<Vec<Escalation>, StoreError> {
        self.read(move |conn| select_many(conn, sql::SELECT_FALLBACKS_DUE, &time::to_text(now))).await
    }

    pub async fn next_fallback(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(|conn| time::earliest(conn, sql::SELECT_NEXT_FALLBACK)).await
    }

    /// Records fallback step `step_before + 1`: the step, when the next is due,
    /// the `escalation.escalated` event, the job posting a fresh card to `to`,
    /// and a threaded note under each card it already has (`note`). `None`
    /// when it moved meanwhile.
    pub async fn record_fallback(
        &self,
        id: &str,
        step_before: u32,
        next_at: Option<DateTime<Utc>>,
        to: Destination,
        note: ReminderText,
    ) -> Result<Option<Escalation>, StoreError> {
        let id = id.to_owned();
        let step = Step {
            statement: sql::RECORD_FALLBACK,
            before: step_before,
            next_at,
            kind: EventKind::EscalationEscalated,
        };
        let recorded = self
            .write(move |tx| {
                let job = Task::PostFallbackCard { escalation_id: id.clone(), to };
                step.take(tx, &id, &note, |tx| insert_job(tx, &job))
            })
            .await?;
        self.jobs_added();
        Ok(recorded)
    }

    /// A fallback card was posted: it is one of the escalation's cards from now
    /// on (answers on it count; closing updates it). If the escalation closed
    /// meanwhile, the fresh card is stale at once: queue its update.
    pub async fn record_fallback_card(&self, job_id: i64, card: Card) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute(sql::DELETE_JOB, args![job_id])?;
            cards::insert(tx, &card)?;
            let record = require(tx, &card.escalation_id)?;
            if record.status.is_final() {
                let task =
                    Task::UpdateCard { escalation_id: card.escalation_id.clone(), card: Some(card.message_uuid) };
                insert_job(tx, &task)?;
            }
            Ok(())
        })
        .await?;
        self.jobs_added();
        Ok(())
    }

    /// A fallback destination cannot be reached: the job ends, the reason is
    /// kept, and `escalation.fallback_failed` tells the engine. The other cards
    /// and the next steps carry on.
    pub async fn record_fallback_failed(&self, job_id: i64, id: &str, error: &str) -> Result<(), StoreError> {
        let (id, error) = (id.to_owned(), error.to_owned());
        self.write(move |tx| {
            tx.execute(sql::DELETE_JOB, args![job_id])?;
            tx.execute(sql::RECORD_FALLBACK_ERROR, args![id, error, time::to_text(time::now())])?;
            let record = require(tx, &id)?;
            append_escalation_event(tx, EventKind::EscalationFallbackFailed, &record)
        })
        .await
    }

    /// `on_deadline: keep_pending`: the deadline came, the escalation stays
    /// open, and the deadline is not acted on again. False if it moved meanwhile.
    pub async fn pass_deadline(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |tx| {
            let moved = tx.execute(sql::PASS_DEADLINE, args![id, time::to_text(time::now())])?;
            Ok(moved == 1)
        })
        .await
    }
}

/// One counted step of a ladder (a reminder, a fallback): the compare-and-set
/// `statement` on the count (`?1` id, `?2` the count before, `?3` when the
/// next is due, `?4` now) and, only if it moved, in the same transaction:
/// `note` under every card, `then`, and the `kind` event.
struct Step {
    statement: &'static str,
    before: u32,
    next_at: Option<DateTime<Utc>>,
    kind: EventKind,
}

impl Step {
    fn take(
        self,
        tx: &Db<'_>,
        id: &str,
        note: &ReminderText,
        then: impl FnOnce(&Db<'_>) -> Result<(), StoreError>,
    ) -> Result<Option<Escalation>, StoreError> {
        let (now, next) = (time::to_text(time::now()), self.next_at.map(time::to_text));
        if tx.execute(self.statement, args![id, self.before, next, now])? == 0 {
            return Ok(None);
        }
        queue_replies(tx, id, note)?;
        then(tx)?;
        let record = require(tx, id)?;
        append_escalation_event(tx, self.kind, &record)?;
        Ok(Some(record))
    }
}

/// A threaded reply with `words` under every card of the escalation.
pub(super) fn queue_replies(tx: &Db<'_>, id: &str, words: &ReminderText) -> Result<(), StoreError> {
    for card in cards::cards_of_in(tx, id)? {
        let reply = Reply {
            room_id: card.space_id,
            parent_id: Some(card.message_id),
            text: words.text.clone(),
            markdown: words.markdown.clone(),
        };
        insert_job(tx, &Task::Reply(reply))?;
    }
    Ok(())
}
