//! `GET /v1/events?after=SEQ[&follow=true][&limit=N]`: the durable event stream.
//!
//! NDJSON, one event a line: `{"seq", "type", "at", "<subject>": {...}}`, where
//! the subject is `space`, `escalation` or `connection` after the type's prefix.
//! An engine that was down asks again with the last `seq` it saw and gets
//! exactly what it missed. With `follow=true` the answer stays open, pushes new
//! events as they are committed, and writes a heartbeat line when idle so that
//! the engine can tell a quiet stream from a dead one. A cursor the log cannot
//! honour is answered first: `stream.gap` (retention pruned what it asked for)
//! or `stream.reset` (it is beyond the log's head).

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
    let (after, opening) = opening(&state.store, query.after).await?;
    let cursor = Cursor {
        store: state.store.clone(),
        after,
        remaining: query.limit,
        follow: query.follow,
        updates: state.store.subscribe(),
        shutdown: state.shutdown.clone(),
        pending: opening.into_iter().collect(),
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

/// Where a follower starts, and the line it must read first, if any. A cursor
/// beyond the head of the log (the store was restored from an older backup, or
/// the cursor belongs to another store) would wait for seqs this log already
/// gave to other events: the stream starts at the head, after a `stream.reset`.
/// A cursor before what retention kept gets a `stream.gap`.
async fn opening(store: &Store, after: i64) -> Result<(i64, Option<String>), ApiError> {
    let latest = store.latest_seq().await?;
    if after > latest {
        let reset = Reset {
            kind: ResetType::StreamReset,
            at: Utc::now(),
            after,
            head: latest,
            message: "your seq is beyond the head of this store's event log (restored from an older backup, or \
                      another store): events follow from the head; resync your state from the API"
                .into(),
        };
        return Ok((latest, Some(ndjson(&reset))));
    }
    let oldest = store.oldest_seq().await?;
    // seq 0 is never assigned, so `oldest - 1` cannot underflow.
    let missing = match oldest {
        Some(oldest) => after < oldest - 1,
        None => after < latest,
    };
    Ok((
        after,
        missing.then(|| {
            ndjson(&Gap {
                kind: GapType::StreamGap,
                at: Utc::now(),
                after,
                oldest_retained_seq: oldest,
                message: "events after your seq were pruned by retention; resync your state from the API".into(),
            })
        }),
    ))
}

/// `{"type": "stream.reset", ...}`: the cursor does not fit this log; `head` is where it follows from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reset {
    #[serde(rename = "type")]
    pub kind: ResetType,
    pub at: DateTime<Utc>,
    pub after: i64,
    pub head: i64,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResetType {
    #[serde(rename = "stream.reset")]
    StreamReset,
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
