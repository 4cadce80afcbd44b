//! The outbox: Webex calls the daemon owes, stored in the same transaction as
//! the change that needs them, so a crash between "accepted" and "posted" still
//! posts after restart. A job is removed in the transaction that records its
//! result; until then it is retried with backoff.
//!
//! Cards are posted at least once (a lost card is a lost escalation; a
//! duplicate is handled, see `cards`). Replies are posted at most once: a reply
//! job is marked started before its post, and a started reply found after a
//! crash is dropped rather than posted twice. A reply is owed once per
//! (escalation, person, text), and an escalation gets at most
//! [`MAX_REPLIES_PER_ESCALATION`], so repeated or forged clicks cannot flood a space.

use super::db::{args, Db};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::StoreError;
use super::{activities, sql, time, Store};
use crate::model::Destination;

/// Enough for every honest reason a specialist may be told something; a flood of
/// forged clicks by many people stops here.
pub const MAX_REPLIES_PER_ESCALATION: i64 = 10;

/// What a job must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    PostCard {
        escalation_id: String,
    },
    /// Bring one card (by message uuid) to the escalation's state; `None`, in rows
    /// written before cards were recorded, means the card the escalation names.
    UpdateCard {
        escalation_id: String,
        card: Option<String>,
    },
    /// A short threaded reply (why a submission was refused, a reminder…).
    Reply(Reply),
    /// A fresh card of the escalation to its policy's next fallback destination.
    PostFallbackCard {
        escalation_id: String,
        to: Destination,
    },
}

/// A job row this version cannot read, and why; the worker drops it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable outbox job: {0}")]
pub struct Unreadable(pub String);

/// A threaded reply under a card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub room_id: String,
    pub parent_id: Option<String>,
    pub text: String,
    /// Sent instead of `text` when present (mentions need markdown); `text` is its fallback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
}

/// Who a reply answers, so the same words go to the same person once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    pub escalation_id: String,
    pub person_id: String,
}

/// What became of a reply asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyQueued {
    Queued,
    /// The same reply is owed to the same person already.
    AlreadyOwed,
    /// The escalation has had [`MAX_REPLIES_PER_ESCALATION`] replies.
    Capped,
}

/// The payload of an `update_card` job.
#[derive(Serialize, Deserialize)]
struct CardPayload {
    card: String,
}

const POST_CARD: &str = "post_card";
const UPDATE_CARD: &str = "update_card";
const REPLY: &str = "reply";
const POST_FALLBACK_CARD: &str = "post_fallback_card";

impl Task {
    /// The stored `kind`, also used in logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Task::PostCard { .. } => POST_CARD,
            Task::UpdateCard { .. } => UPDATE_CARD,
            Task::Reply(_) => REPLY,
            Task::PostFallbackCard { .. } => POST_FALLBACK_CARD,
        }
    }

    fn from_row(kind: &str, escalation_id: Option<String>, payload: &str) -> Result<Task, Unreadable> {
        let unreadable = |what: &str, e: serde_json::Error| Unreadable(format!("{what}: {e}"));
        match (kind, escalation_id) {
            (POST_CARD, Some(escalation_id)) => Ok(Task::PostCard { escalation_id }),
            (UPDATE_CARD, Some(escalation_id)) => {
                let payload: Option<CardPayload> = serde_json::from_str(payload).map_err(|e| unreadable("card", e))?;
                Ok(Task::UpdateCard { escalation_id, card: payload.map(|p| p.card) })
            }
            (REPLY, _) => serde_json::from_str(payload).map(Task::Reply).map_err(|e| unreadable("reply", e)),
            (POST_FALLBACK_CARD, Some(escalation_id)) => serde_json::from_str(payload)
                .map(|to| Task::PostFallbackCard { escalation_id, to })
                .map_err(|e| unreadable("fallback destination", e)),
            (kind, _) => Err(Unreadable(format!("kind {kind:?} without an escalation, or unknown"))),
        }
    }
}

/// How long a job stays with the instance that took it. Longer than any one
/// job's Webex calls (each bounded by `webex.request_timeout_s`), so a job is
/// run by a second instance only when the first stopped before finishing it.
pub const JOB_LEASE: std::time::Duration = std::time::Duration::from_secs(120);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub task: Result<Task, Unreadable>,
    pub attempts: i64,
    /// Marked before a side effect that must not happen twice; set on a job read
    /// back, it means the daemon stopped in the middle of that side effect.
    pub started: bool,
}

impl Store {
    /// Jobs due at `now`, oldest first, leased to this instance for
    /// [`JOB_LEASE`]: another instance sharing the store does not get them
    /// unless this one stops without finishing them (see `CLAIM_JOBS`).
    pub async fn due_jobs(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Job>, StoreError> {
        let owner = self.instance().to_owned();
        let until = time::to_text(now + chrono::Duration::from_std(JOB_LEASE).unwrap_or(chrono::Duration::MAX));
        let (now, limit) = (time::to_text(now), i64::try_from(limit).unwrap_or(i64::MAX));
        let mut jobs = self
            .write(move |tx| {
                tx.query_all(tx.pick(&sql::CLAIM_JOBS), args![now, until, owner, limit], |row| {
                    let kind: String = row.get(1)?;
                    let payload: String = row.get(3)?;
                    let task = Task::from_row(&kind, row.get(2)?, &payload);
                    let started: Option<String> = row.get(5)?;
                    Ok(Job { id: row.get(0)?, task, attempts: row.get(4)?, started: started.is_some() })
                })
            })
            .await?;
        jobs.sort_by_key(|job| job.id);
        Ok(jobs)
    }

    /// The jobs this instance leased and did not finish are due now: at start
    /// (it stopped with them), and when the store takes writes again after
    /// failing (their outcome could not be recorded).
    pub async fn release_own_leases(&self) -> Result<usize, StoreError> {
        let owner = self.instance().to_owned();
        self.write(move |tx| tx.execute(sql::RELEASE_OWN_LEASES, args![owner, time::to_text(time::now())])).await
    }

    pub async fn next_job_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(|conn| time::earliest(conn, sql::SELECT_NEXT_JOB_AT)).await
    }

    pub async fn outbox_len(&self) -> Result<i64, StoreError> {
        self.read(|conn| conn.query_one(sql::COUNT_JOBS, args![], |r| r.get(0))).await
    }

    pub async fn complete_job(&self, job_id: i64) -> Result<(), StoreError> {
        self.write(move |tx| tx.execute(sql::DELETE_JOB, args![job_id]).map(|_| ())).await
    }

    /// Marks the job's side effect as under way (committed before it happens).
    pub async fn start_job(&self, job_id: i64) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute(sql::START_JOB, args![job_id, time::to_text(time::now())])?;
            Ok(())
        })
        .await
    }

    /// Tries again at `at`; the error is kept for operators (and shown as the
    /// escalation's delivery error for a card not yet posted).
    pub async fn retry_job(&self, job: &Job, at: DateTime<Utc>, error: &str) -> Result<(), StoreError> {
        let (job_id, error) = (job.id, error.to_owned());
        let posting = match &job.task {
            Ok(Task::PostCard { escalation_id }) => Some(escalation_id.clone()),
            Ok(Task::UpdateCard { .. } | Task::Reply(_) | Task::PostFallbackCard { .. }) | Err(_) => None,
        };
        self.write(move |tx| {
            let now = time::to_text(time::now());
            tx.execute(sql::RESCHEDULE_JOB, args![job_id, time::to_text(at), error])?;
            if let Some(id) = posting {
                tx.execute(sql::RECORD_DELIVERY_ATTEMPT, args![id, error, now])?;
            }
            Ok(())
        })
        .await
    }

    /// Queues a threaded reply to `to` (once per person and text, within the
    /// escalation's cap), marking the activity that caused it as processed.
    pub async fn enqueue_reply(
        &self,
        reply: Reply,
        to: ReplyTo,
        activity_id: Option<&str>,
    ) -> Result<ReplyQueued, StoreError> {
        let activity = activity_id.map(str::to_owned);
        let queued = self
            .write(move |tx| {
                if let Some(activity) = &activity {
                    activities::mark(tx, activity)?;
                }
                let owed: i64 = tx.query_one(sql::COUNT_REPLIES_OF, args![to.escalation_id], |r| r.get(0))?;
                if owed >= MAX_REPLIES_PER_ESCALATION {
                    return Ok(ReplyQueued::Capped);
                }
                let now = time::to_text(time::now());
                let new = tx.execute(sql::INSERT_REPLY, args![to.escalation_id, to.person_id, reply.text, now])?;
                if new == 0 {
                    return Ok(ReplyQueued::AlreadyOwed);
                }
                insert_job(tx, &Task::Reply(reply))?;
                Ok(ReplyQueued::Queued)
            })
            .await?;
        self.jobs_added();
        Ok(queued)
    }
}

pub(crate) fn insert_job(conn: &Db<'_>, task: &Task) -> Result<(), StoreError> {
    let now = time::to_text(time::now());
    let (escalation_id, payload) = match task {
        Task::PostCard { escalation_id } => (Some(escalation_id.as_str()), "null".to_owned()),
        Task::UpdateCard { escalation_id, card } => {
            let payload = card.as_ref().map(|card| CardPayload { card: card.clone() });
            (Some(escalation_id.as_str()), serde_json::to_string(&payload)?)
        }
        Task::Reply(reply) => (None, serde_json::to_string(reply)?),
        Task::PostFallbackCard { escalation_id, to } => (Some(escalation_id.as_str()), serde_json::to_string(to)?),
    };
    conn.execute(sql::INSERT_JOB, args![task.kind(), escalation_id, payload, now])?;
    Ok(())
}
