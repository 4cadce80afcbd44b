//! `GET /v1/events?after=SEQ[&follow=true][&limit=N]`: the durable event stream.
//!
//! NDJSON, one event a line: `{"seq", "type", "at", "<subject>": {...}}`, where
//! the subject is `space`, `escalation` or `connection` after the type's prefix.
//! An engine that was down asks again with the last `seq` it saw and gets
//! exactly what it missed. With `follow=true` the answer stays open, pushes new
//! events as they are committed, and writes a heartbeat line when idle so that
//! the engine can tell a quiet stream from a dead one (the heartbeat carries the
//! log's head). With `Accept: text/event-stream` the same stream is
//! Server-Sent Events: each event's `id:` is its seq (so a browser's or any
//! SSE client's `Last-Event-ID` resumes it), `event:` its type, `data:` the same
//! JSON line; heartbeats are comments; it follows unless `follow=false`.
//! Every line carries the log's `epoch`: seqs count within one
//! store, so a follower keeps the epoch with its cursor and sends both back
//! (`&epoch=`). A cursor the log cannot honour is answered first: `stream.gap`
//! (retention pruned what it asked for) or `stream.reset` (it is beyond the
//! log's head, or from another epoch: a wiped or replaced store).

use super::error::ApiError;
use super::extract::ApiQuery;
use super::sse::{last_event_id, Format};
use super::AppState;
use crate::store::{EventRecord, Store};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const PAGE: usize = 500;
const HEARTBEAT: Duration = Duration::from_secs(15);

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    #[serde(default)]
    after: i64,
    /// Keep the answer open for new events (SSE: the default).
    follow: Option<bool>,
    limit: Option<usize>,
    /// The epoch the follower's `after` belongs to, from an earlier line.
    epoch: Option<String>,
}

/// The durable event log, one `EventLine` a line (NDJSON).
#[utoipa::path(get, path = "/v1/events", operation_id = "events", tag = "events", params(EventsQuery,
    ("Accept" = Option<String>, Header, description = "`text/event-stream` for Server-Sent Events (`id:` the seq, `event:` the type, `data:` the `EventLine`; heartbeats as comments); NDJSON otherwise"),
    ("Last-Event-ID" = Option<i64>, Header, description = "SSE: resume after this seq (instead of `after`)")), responses(
    (status = 200, description = "One JSON `EventLine` per line (NDJSON), or per SSE event", content(
        (crate::api::openapi::EventLine = "application/x-ndjson"),
        (String = "text/event-stream"))),
    (status = "default", description = "An error: see `ErrorBody` for the codes", body = crate::api::error::ErrorBody)))]
pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(mut query): ApiQuery<EventsQuery>,
) -> Result<Response, ApiError> {
    let format = Format::asked(&headers);
    if format == Format::Sse {
        if let Some(resume) = last_event_id(&headers)? {
            query.after = resume;
        }
    }
    if query.after < 0 {
        return Err(ApiError::bad_request("after: must be a seq (0 or more)"));
    }
    if query.limit == Some(0) {
        return Err(ApiError::bad_request("limit: must be at least 1"));
    }
    let (after, opening) = opening(&state.store, &state.epoch, &query).await?;
    let cursor = Cursor {
        epoch: state.epoch.clone(),
        store: state.store.clone(),
        after,
        remaining: query.limit,
        follow: query.follow.unwrap_or(format == Format::Sse),
        format,
        updates: state.store.subscribe(),
        shutdown: state.shutdown.clone(),
        pending: opening.map(|json| format.notice(&json)).into_iter().collect(),
    };
    let body = Body::from_stream(futures_util::stream::unfold(cursor, |mut cursor| async move {
        cursor.next_chunk().await.map(|chunk| (Ok::<_, std::io::Error>(chunk), cursor))
    }));
    Response::builder()
        .header(header::CONTENT_TYPE, format.content_type())
        .header(header::CACHE_CONTROL, "no-store")
        .body(body)
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// Where a follower starts, and the line it must read first, if any. A cursor
/// from another epoch counts seqs of another log: every event of this one is
/// new to it, so it gets them all, after a `stream.reset`. A cursor beyond the
/// head (a store restored from an older backup; or another store, when the
/// follower sent no epoch) would wait for seqs this log already gave to other
/// events: the stream starts at the head, after a `stream.reset`. A cursor
/// before what retention kept gets a `stream.gap`.
async fn opening(store: &Store, epoch: &str, query: &EventsQuery) -> Result<(i64, Option<String>), ApiError> {
    let (after, latest) = (query.after, store.latest_seq().await?);
    let reset = |from, message: &str| Reset {
        kind: ResetType::StreamReset,
        at: Utc::now(),
        after,
        epoch: epoch.to_owned(),
        head: latest,
        from,
        message: format!("{message}; resync your state from the API"),
    };
    if query.epoch.as_deref().is_some_and(|theirs| theirs != epoch) {
        let reset = reset(0, "your cursor is from another epoch of the event log (the store was wiped or replaced): every event of this log follows");
        return Ok((0, Some(json(&reset))));
    }
    if after > latest {
        let reset = reset(latest, "your seq is beyond the head of this store's event log (restored from an older backup, or another store): events follow from the head");
        return Ok((latest, Some(json(&reset))));
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
            json(&Gap {
                kind: GapType::StreamGap,
                at: Utc::now(),
                after,
                oldest_retained_seq: oldest,
                message: "events after your seq were pruned by retention; resync your state from the API".into(),
            })
        }),
    ))
}

/// `{"type": "stream.reset", ...}`: the cursor does not fit this log; events
/// follow after seq `from` of `epoch` (0: all of them; else the head).
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reset {
    #[serde(rename = "type")]
    pub kind: ResetType,
    pub at: DateTime<Utc>,
    pub after: i64,
    pub epoch: String,
    pub head: i64,
    pub from: i64,
    pub message: String,
}

#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResetType {
    #[serde(rename = "stream.reset")]
    StreamReset,
}

/// `{"type": "stream.gap", ...}`: what the follower asked for is partly gone.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    #[serde(rename = "type")]
    pub kind: GapType,
    pub at: DateTime<Utc>,
    pub after: i64,
    pub oldest_retained_seq: Option<i64>,
    pub message: String,
}

#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GapType {
    #[serde(rename = "stream.gap")]
    StreamGap,
}

/// `{"type": "heartbeat", "at", "seq", "epoch"}`: the stream is alive; `seq` is
/// the head of the log (the last event committed), whatever the follower's cursor.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    #[serde(rename = "type")]
    pub kind: HeartbeatType,
    pub at: DateTime<Utc>,
    pub seq: i64,
    pub epoch: String,
}

#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeartbeatType {
    Heartbeat,
}

/// One NDJSON line.
pub(super) fn ndjson(value: &impl Serialize) -> String {
    let mut line = json(value);
    line.push('\n');
    line
}

fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

struct Cursor {
    epoch: Arc<str>,
    store: Store,
    after: i64,
    remaining: Option<usize>,
    follow: bool,
    format: Format,
    updates: watch::Receiver<i64>,
    shutdown: CancellationToken,
    pending: Vec<String>,
}

impl Cursor {
    /// The events after the cursor: from those the store keeps of its last
    /// commits when they hold every one (no thread hand-off, no read), else
    /// read. An empty answer from them is trusted only when the watch tells
    /// of no later commit (another instance's, on a shared store, is not kept).
    async fn new_events(&self, page: usize) -> Result<Vec<Arc<EventRecord>>, crate::store::StoreError> {
        match self.store.recent_events(self.after, page) {
            Some(events) if !events.is_empty() || *self.updates.borrow() <= self.after => Ok(events),
            _ => Ok(self.store.events_after(self.after, page).await?.into_iter().map(Arc::new).collect()),
        }
    }

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
            let events = match self.new_events(page).await {
                Ok(events) => events,
                Err(error) => {
                    tracing::error!(%error, "event stream: store failure");
                    return None;
                }
            };
            if let Some(last) = events.last() {
                self.after = last.seq;
                self.remaining = self.remaining.map(|r| r - events.len());
                return Some(events.iter().map(|event| self.format.event(event, &self.epoch)).collect());
            }
            if !self.follow {
                return None;
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return None,
                changed = self.updates.changed() => if changed.is_err() { return None },
                _ = tokio::time::sleep(HEARTBEAT) => {
                    let head = *self.updates.borrow();
                    let epoch = self.epoch.to_string();
                    let heartbeat = Heartbeat { kind: HeartbeatType::Heartbeat, at: Utc::now(), seq: head, epoch };
                    return Some(self.format.heartbeat(&heartbeat));
                }
            }
        }
    }
}

/// One NDJSON line for an event of the log of `epoch`.
pub fn line(event: &EventRecord, epoch: &str) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        #[serde(flatten)]
        event: &'a EventRecord,
        epoch: &'a str,
    }
    ndjson(&Line { event, epoch })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ConnectionChange;

    async fn store_with(events: usize) -> Store {
        let store = Store::open_in_memory().await.unwrap();
        for _ in 0..events {
            store.record_connection(ConnectionChange::down(None)).await.unwrap();
        }
        store
    }

    fn cursor(store: &Store, after: i64, follow: bool) -> Cursor {
        Cursor {
            epoch: "e1".into(),
            store: store.clone(),
            after,
            remaining: None,
            follow,
            format: Format::Ndjson,
            updates: store.subscribe(),
            shutdown: CancellationToken::new(),
            pending: Vec::new(),
        }
    }

    fn lines(chunk: &str) -> Vec<serde_json::Value> {
        chunk.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn every_line_carries_the_epoch_and_an_idle_follower_gets_the_head() {
        let store = store_with(3).await;
        let mut follower = cursor(&store, 1, true);
        let events = lines(&follower.next_chunk().await.unwrap());
        assert_eq!(
            events.iter().map(|e| (e["seq"].as_i64(), e["epoch"].as_str())).collect::<Vec<_>>(),
            [(Some(2), Some("e1")), (Some(3), Some("e1"))]
        );
        let heartbeat = lines(&follower.next_chunk().await.unwrap());
        assert_eq!((heartbeat[0]["type"].as_str(), heartbeat[0]["seq"].as_i64()), (Some("heartbeat"), Some(3)));
        assert_eq!(heartbeat[0]["epoch"], "e1");
    }

    #[tokio::test]
    async fn a_cursor_of_another_epoch_gets_every_event_after_a_reset() {
        let store = store_with(2).await;
        let query = |after, epoch: Option<&str>| EventsQuery {
            after,
            follow: None,
            limit: None,
            epoch: epoch.map(str::to_owned),
        };
        let (from, line) = opening(&store, "e1", &query(1, Some("e0"))).await.unwrap();
        let reset = lines(&line.unwrap())[0].clone();
        assert_eq!((from, reset["type"].as_str(), reset["from"].as_i64()), (0, Some("stream.reset"), Some(0)));
        assert_eq!((reset["epoch"].as_str(), reset["head"].as_i64()), (Some("e1"), Some(2)));
        // The same epoch: a cursor within the log is honoured as it is.
        assert_eq!(opening(&store, "e1", &query(1, Some("e1"))).await.unwrap(), (1, None));
        // No epoch sent, beyond the head: from the head.
        let (from, line) = opening(&store, "e1", &query(9, None)).await.unwrap();
        assert_eq!((from, lines(&line.unwrap())[0]["from"].as_i64()), (2, Some(2)));
    }

    #[tokio::test(start_paused = true)]
    async fn sse_gives_each_event_its_seq_as_id_and_heartbeats_as_comments() {
        let store = store_with(2).await;
        let mut follower = Cursor { format: Format::Sse, ..cursor(&store, 1, true) };
        let chunk = follower.next_chunk().await.unwrap();
        let mut frame = chunk.lines();
        assert_eq!(frame.next(), Some("id: 2"));
        assert_eq!(frame.next(), Some("event: connection.down"));
        let data: serde_json::Value =
            serde_json::from_str(frame.next().unwrap().strip_prefix("data: ").unwrap()).unwrap();
        assert_eq!((data["seq"].as_i64(), frame.next()), (Some(2), Some("")));
        let heartbeat = follower.next_chunk().await.unwrap();
        assert!(heartbeat.starts_with(": {\"type\":\"heartbeat\"") && heartbeat.ends_with("\n\n"), "{heartbeat}");
    }
}
