//! The outbox: Webex calls the daemon owes, stored in the same transaction as
//! the change that needs them, so a crash between "accepted" and "posted" still
//! posts after restart. A job is removed in the transaction that records its
//! result; until then it is retried with backoff.

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde_json::Value;

use super::error::StoreError;
use super::{activities, sql, time, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    PostCard,
    UpdateCard,
    /// A short threaded reply (why a submission was refused).
    Reply,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::PostCard => "post_card",
            JobKind::UpdateCard => "update_card",
            JobKind::Reply => "reply",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "post_card" => JobKind::PostCard,
            "update_card" => JobKind::UpdateCard,
            "reply" => JobKind::Reply,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub escalation_id: Option<String>,
    pub payload: Value,
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
                Ok((row.get(0)?, kind, row.get(2)?, payload, row.get(4)?))
            })?;
            let mut jobs = Vec::new();
            for row in rows {
                let (id, kind, escalation_id, payload, attempts) = row?;
                let Some(kind) = JobKind::parse(&kind) else {
                    tracing::error!(id, kind, "outbox job of an unknown kind; skipped");
                    continue;
                };
                jobs.push(Job { id, kind, escalation_id, payload: serde_json::from_str(&payload)?, attempts });
            }
            Ok(jobs)
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
        let (job_id, kind, escalation, error) = (job.id, job.kind, job.escalation_id.clone(), error.to_owned());
        self.write(move |tx| {
            let now = time::to_text(time::now());
            tx.prepare_cached(sql::RESCHEDULE_JOB)?.execute(params![job_id, time::to_text(at), error])?;
            if let (JobKind::PostCard, Some(id)) = (kind, escalation) {
                tx.prepare_cached(sql::RECORD_DELIVERY_ATTEMPT)?.execute(params![id, error, now])?;
            }
            Ok(())
        })
        .await
    }

    /// Queues a threaded reply, marking the activity that caused it as processed.
    pub async fn enqueue_reply(
        &self,
        room_id: &str,
        parent_id: Option<&str>,
        text: &str,
        activity_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let payload = serde_json::json!({"room_id": room_id, "parent_id": parent_id, "text": text});
        let activity = activity_id.map(str::to_owned);
        self.write(move |tx| {
            if let Some(activity) = &activity {
                activities::mark(tx, activity)?;
            }
            insert_job(tx, JobKind::Reply, None, &payload)
        })
        .await?;
        self.jobs_added();
        Ok(())
    }
}

pub(crate) fn insert_job(
    conn: &Connection,
    kind: JobKind,
    escalation_id: Option<&str>,
    payload: &Value,
) -> Result<(), StoreError> {
    let now = time::to_text(time::now());
    let payload = serde_json::to_string(payload)?;
    conn.prepare_cached(sql::INSERT_JOB)?.execute(params![kind.as_str(), escalation_id, payload, now])?;
    Ok(())
}
