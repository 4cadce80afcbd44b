//! The outbox: Webex calls the daemon owes, stored in the same transaction as
//! the change that needs them, so a crash between "accepted" and "posted" still
//! posts after restart. A job is removed in the transaction that records its
//! result; until then it is retried with backoff.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};

use super::error::StoreError;
use super::{activities, sql, time, Store};

/// What a job must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Task {
    PostCard {
        escalation_id: String,
    },
    UpdateCard {
        escalation_id: String,
    },
    /// A short threaded reply (why a submission was refused).
    Reply(Reply),
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
}

const POST_CARD: &str = "post_card";
const UPDATE_CARD: &str = "update_card";
const REPLY: &str = "reply";

impl Task {
    /// The stored `kind`, also used in logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Task::PostCard { .. } => POST_CARD,
            Task::UpdateCard { .. } => UPDATE_CARD,
            Task::Reply(_) => REPLY,
        }
    }

    fn from_row(kind: &str, escalation_id: Option<String>, payload: &str) -> Result<Task, Unreadable> {
        match (kind, escalation_id) {
            (POST_CARD, Some(escalation_id)) => Ok(Task::PostCard { escalation_id }),
            (UPDATE_CARD, Some(escalation_id)) => Ok(Task::UpdateCard { escalation_id }),
            (REPLY, _) => serde_json::from_str(payload).map(Task::Reply).map_err(|e| Unreadable(format!("reply: {e}"))),
            (kind, _) => Err(Unreadable(format!("kind {kind:?} without an escalation, or unknown"))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub task: Result<Task, Unreadable>,
    pub attempts: i64,
}

impl Store {
    /// Jobs due at `now`, oldest first.
    pub async fn due_jobs(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Job>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn.prepare_cached(sql::SELECT_DUE_JOBS)?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = stmt.query_map(params![time::to_text(now), limit], |row| {
                let kind: String = row.get(1)?;
                let payload: String = row.get(3)?;
                let task = Task::from_row(&kind, row.get(2)?, &payload);
                Ok(Job { id: row.get(0)?, task, attempts: row.get(4)? })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    pub async fn next_job_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(|conn| {
            let text: Option<String> = conn.prepare_cached(sql::SELECT_NEXT_JOB_AT)?.query_row([], |r| r.get(0))?;
            text.map(|t| time::parse_text(&t)).transpose()
        })
        .await
    }

    pub async fn outbox_len(&self) -> Result<i64, StoreError> {
        self.read(|conn| Ok(conn.prepare_cached(sql::COUNT_JOBS)?.query_row([], |r| r.get(0))?)).await
    }

    pub async fn complete_job(&self, job_id: i64) -> Result<(), StoreError> {
        self.write(move |tx| Ok(tx.prepare_cached(sql::DELETE_JOB)?.execute(params![job_id]).map(|_| ())?)).await
    }

    /// Tries again at `at`; the error is kept for operators (and shown as the
    /// escalation's delivery error for a card not yet posted).
    pub async fn retry_job(&self, job: &Job, at: DateTime<Utc>, error: &str) -> Result<(), StoreError> {
        let (job_id, error) = (job.id, error.to_owned());
        let posting = match &job.task {
            Ok(Task::PostCard { escalation_id }) => Some(escalation_id.clone()),
            Ok(Task::UpdateCard { .. } | Task::Reply(_)) | Err(_) => None,
        };
        self.write(move |tx| {
            let now = time::to_text(time::now());
            tx.prepare_cached(sql::RESCHEDULE_JOB)?.execute(params![job_id, time::to_text(at), error])?;
            if let Some(id) = posting {
                tx.prepare_cached(sql::RECORD_DELIVERY_ATTEMPT)?.execute(params![id, error, now])?;
            }
            Ok(())
        })
        .await
    }

    /// Queues a threaded reply, marking the activity that caused it as processed.
    pub async fn enqueue_reply(&self, reply: Reply, activity_id: Option<&str>) -> Result<(), StoreError> {
        let activity = activity_id.map(str::to_owned);
        self.write(move |tx| {
            if let Some(activity) = &activity {
                activities::mark(tx, activity)?;
            }
            insert_job(tx, &Task::Reply(reply))
        })
        .await?;
        self.jobs_added();
        Ok(())
    }
}

pub(crate) fn insert_job(conn: &Connection, task: &Task) -> Result<(), StoreError> {
    let now = time::to_text(time::now());
    let (escalation_id, payload) = match task {
        Task::PostCard { escalation_id } | Task::UpdateCard { escalation_id } => {
            (Some(escalation_id.as_str()), "null".to_owned())
        }
        Task::Reply(reply) => (None, serde_json::to_string(reply)?),
    };
    conn.prepare_cached(sql::INSERT_JOB)?.execute(params![task.kind(), escalation_id, payload, now])?;
    Ok(())
}
