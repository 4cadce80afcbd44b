//! The store's side of escalation policies: which reminders and deadlines are
//! due, and each step recorded by compare-and-set with its event and its
//! Webex calls in one transaction — so a step is taken once, whatever crashes
//! or repeats around it. What to say and when the next step is due is the
//! logic's (`escalation::timers`); this module only moves the row.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::cards;
use super::error::StoreError;
use super::escalations::{append_escalation_event, require, select_many};
use super::events::EventKind;
use super::outbox::{insert_job, Reply, Task};
use super::{sql, time, Store};
use crate::model::Escalation;

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
        self.read(|conn| {
            let text: Option<String> = conn.prepare_cached(sql::SELECT_NEXT_REMINDER)?.query_row([], |r| r.get(0))?;
            text.map(|t| time::parse_text(&t)).transpose()
        })
        .await
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
        let recorded = self
            .write(move |tx| {
                let now = time::to_text(time::now());
                let next = next_at.map(time::to_text);
                let moved = tx.prepare_cached(sql::RECORD_REMINDER)?.execute(params![id, sent_before, next, now])?;
                if moved == 0 {
                    return Ok(None);
                }
                for card in cards::cards_of_in(tx, &id)? {
                    let reply = Reply {
                        room_id: card.space_id,
                        parent_id: Some(card.message_id),
                        text: words.text.clone(),
                        markdown: words.markdown.clone(),
                    };
                    insert_job(tx, &Task::Reply(reply))?;
                }
                let record = require(tx, &id)?;
                append_escalation_event(tx, EventKind::EscalationReminded, &record)?;
                Ok(Some(record))
            })
            .await?;
        self.jobs_added();
        Ok(recorded)
    }

    /// `on_deadline: keep_pending`: the deadline came, the escalation stays
    /// open, and the deadline is not acted on again. False if it moved meanwhile.
    pub async fn pass_deadline(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |tx| {
            let moved = tx.prepare_cached(sql::PASS_DEADLINE)?.execute(params![id, time::to_text(time::now())])?;
            Ok(moved == 1)
        })
        .await
    }
}
