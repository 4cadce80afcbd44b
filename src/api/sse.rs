//! The event stream as Server-Sent Events, for clients that send
//! `Accept: text/event-stream` (browsers' `EventSource`, SSE libraries): the
//! same lines as NDJSON, framed so that such a client resumes by itself. Each
//! event's `id:` is its seq (a reconnect sends it back as `Last-Event-ID`),
//! `event:` its type, `data:` the JSON line; a heartbeat is a comment, which
//! clients ignore but which keeps proxies and dead-peer checks happy.

use super::error::ApiError;
use super::events::{line, ndjson, Heartbeat};
use crate::store::EventRecord;
use axum::http::{header, HeaderMap};
use serde::Deserialize;

/// How the stream is written: NDJSON, or Server-Sent Events when asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    Sse,
}

impl Format {
    pub fn asked(headers: &HeaderMap) -> Self {
        let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let sse = accept.split(',').any(|t| t.split(';').next().unwrap_or_default().trim() == "text/event-stream");
        if sse {
            Format::Sse
        } else {
            Format::Ndjson
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Ndjson => "application/x-ndjson",
            Format::Sse => "text/event-stream",
        }
    }

    /// An event of the log: SSE gives it its seq as `id:`, so `Last-Event-ID` resumes after it.
    pub fn event(self, event: &EventRecord, epoch: &str) -> String {
        match self {
            Format::Ndjson => line(event, epoch),
            Format::Sse => format!("id: {}\nevent: {}\ndata: {}\n", event.seq, event.kind.as_str(), line(event, epoch)),
        }
    }

    /// A `stream.gap` or `stream.reset` (JSON text): an SSE event without an id.
    pub fn notice(self, json: &str) -> String {
        match self {
            Format::Ndjson => format!("{json}\n"),
            Format::Sse => {
                let kind = serde_json::from_str::<TypeOnly>(json).map(|t| t.kind).unwrap_or_default();
                format!("event: {kind}\ndata: {json}\n\n")
            }
        }
    }

    /// A heartbeat: a line of its own, or an SSE comment (ignored by clients, but it keeps proxies talking).
    pub fn heartbeat(self, heartbeat: &Heartbeat) -> String {
        match self {
            Format::Ndjson => ndjson(heartbeat),
            Format::Sse => format!(": {}\n", ndjson(heartbeat)),
        }
    }
}

#[derive(Deserialize)]
struct TypeOnly {
    #[serde(rename = "type")]
    kind: String,
}

/// `Last-Event-ID`: the seq an SSE client saw last.
pub fn last_event_id(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else { return Ok(None) };
    let seq = value.to_str().ok().and_then(|v| v.trim().parse::<i64>().ok()).filter(|seq| *seq >= 0);
    seq.map(Some).ok_or_else(|| ApiError::bad_request("Last-Event-ID: must be a seq from an earlier event's id"))
}
