//! `GET /v1/events?after=SEQ[&follow=true][&limit=N]`: the durable event stream.
//!
//! NDJSON, one event a line: `{"seq", "type", "at", "<subject>": {...}}`, where
//! the subject is `space`, `escalation` or `connection` after the type's prefix.
//! An engine that was down asks again with the last `seq` it saw and gets
//! exactly what it missed. With `follow=true` the answer stays open, pushes new
//! events as they are committed, and writes a heartbeat line when idle so that
//! the engine can tell a quiet stream from a dead one.

use super::error::ApiError;
use super::extract::ApiQuery;
use super::AppState;
use crate::store::{EventRecord, Store};
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const PAGE: usize = 500;
const HEARTBEAT: Duration = Duration::from_secs(15);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    #[serde(default)]
    after: i64,
    #[serde(default)]
    follow: bool,
    limit: Option<usize>,
}

pub async fn stream(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Response, ApiError> {
    if query.after < 0 {
        return Err(ApiError::bad_request("after: must be a seq (0 or more)"));
    }
    if query.limit == Some(0) {
        return Err(ApiError::bad_request("limit: must be at least 1"));
    }
    let mut lines = Vec::new();
    if let Some(gap) = gap_line(&state.store, query.after).await? {
        lines.push(gap);
    }
    let cursor = Cursor {
        store: state.store.clone(),
        after: query.after,
        remaining: query.limit,
        follow: query.follow,
        updates: state.store.subscribe(),
        shutdown: state.shutdown.clone(),
        pending: lines,
    };
    let body = Body::from_stream(futures_util::stream::unfold(cursor, |mut cursor| async move {
        cursor.next_chunk().await.map(|chunk| (Ok::<_, std::io::Error>(chunk), cursor))
    }));
    Response::builder()
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .header(header::CACHE_CONTROL, "no-store")
        .body(body)
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// Events older than the retention window are gone: say so instead of
/// silently starting later.
async fn gap_line(store: &Store, after: i64) -> Result<Option<String>, ApiError> {
    let oldest = store.oldest_seq().await?;
    let latest = store.latest_seq().await?;
    let missing = match oldest {
        Some(oldest) => after + 1 < oldest,
        None => after < latest,
    };
    Ok(missing.then(|| {
        ndjson(&Gap {
            kind: GapType::StreamGap,
            at: Utc::now(),
            after,
            oldest_retained_seq: oldest,
            message: "events after your seq were pruned by retention; resync your state from the API".into(),
        })
    }))
}

/// `{"type": "stream.gap", ...}`: what the follower asked for is partly gone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    #[serde(rename = "type")]
    pub kind: GapType,
    pub at: DateTime<Utc>,
    pub after: i64,
    pub oldest_retained_seq: Option<i64>,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GapType {
    #[serde(rename = "stream.gap")]
    StreamGap,
}

/// `{"type": "heartbeat", "at", "seq"}`: the stream is alive; nothing new after `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    #[serde(rename = "type")]
    pub kind: HeartbeatType,
    pub at: DateTime<Utc>,
    pub seq: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeartbeatType {
    Heartbeat,
}

/// One NDJSON line.
fn ndjson(value: &impl Serialize) -> String {
    let mut line = serde_json::to_string(value).unwrap_or_default();
    line.push('\n');
    line
}

struct Cursor {
    store: Store,
    after: i64,
    remaining: Option<usize>,
    follow: bool,
    updates: watch::Receiver<i64>,
    shutdown: CancellationToken,
    pending: Vec<String>,
}

impl Cursor {
    /// The next bytes to send, or `None` to end the response.
    async fn next_chunk(&mut self) -> Option<String> {
        if !self.pending.is_empty() {
            return Some(self.pending.drain(..).collect());
        }
        loop {
            if self.remaining == Some(0) {
                return None;
            }
            let page = self.remaining.map_or(PAGE, |r| r.min(PAGE));
            let events = match self.store.events_after(self.after, page).await {
                Ok(events) => events,
                Err(error) => {
                    tracing::error!(%error, "event stream: store failure");
                    return None;
                }
            };
            if let Some(last) = events.last() {
                self.after = last.seq;
                self.remaining = self.remaining.map(|r| r - events.len());
                return Some(events.iter().map(line).collect());
            }
            if !self.follow {
                return None;
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return None,
                changed = self.updates.changed() => if changed.is_err() { return None },
                _ = tokio::time::sleep(HEARTBEAT) => {
                    return Some(ndjson(&Heartbeat { kind: HeartbeatType::Heartbeat, at: Utc::now(), seq: self.after }));
                }
            }
        }
    }
}

/// One NDJSON line for an event.
pub fn line(event: &EventRecord) -> String {
    ndjson(event)
}
