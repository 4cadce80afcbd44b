//! The engine contract as an OpenAPI 3.1 document, generated from the code.
//!
//! Each handler carries its `#[utoipa::path]` (method, path, parameters, every
//! answer), and [`super::router`] mounts the handlers through utoipa-axum's
//! `OpenApiRouter`, so a route cannot exist without its entry in the document.
//! The document is served at `GET /v1/openapi.json`, printed by
//! `webex-hitl openapi`, and committed as `openapi.json`; `tests/it/openapi.rs`
//! fails when the committed file differs, and every answer the integration
//! tests receive is validated against its schemas. What the derive cannot see is
//! written here: the error codes with their meanings, and the event lines (each
//! a mirror of what [`crate::store::EventRecord`] and [`super::events`] write,
//! held true by that validation).

use super::events::{Gap, Heartbeat, Reset};
use crate::model::EscalationView;
#[cfg(test)]
use crate::store::ConnectionChange;
use crate::store::Space;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::OpenApi;

/// Every `error.code` the API answers with: its usual status, and what it means.
pub const ERROR_CODES: &[(&str, u16, &str)] = &[
    ("bad_request", 400, "the query or body is not what the endpoint reads (the message names the parameter)"),
    ("invalid", 422, "a field of the body is wrong; the message names it (`summary: must not be empty`)"),
    ("key_conflict", 422, "the idempotency key was used before for another request body"),
    ("bot_not_in_space", 422, "the bot is not in that space: add it in Webex (People > Add people), then retry"),
    ("unknown_person", 422, "Webex knows no such person (404 on GET /v1/people?email=)"),
    ("token_rejected", 422, "POST /v1/token: Webex refused the new token; the current one stays"),
    ("token_other_bot", 422, "POST /v1/token: the new token belongs to another bot; the current one stays"),
    ("payload_too_large", 413, "the body is over 256 KiB (or a part of it over its own limit)"),
    ("unsupported_media_type", 415, "a body must be sent as Content-Type: application/json"),
    ("method_not_allowed", 405, "the endpoint does not take that method; `Allow` lists those it takes"),
    ("not_found", 404, "no such endpoint, escalation or space"),
    ("forbidden", 403, "the caller's uid/gid is not allowed on the socket (or may not rotate the token)"),
    ("not_pending", 409, "the escalation was already closed (answered, expired, cancelled or failed)"),
    ("in_progress", 409, "a request with this idempotency key is being carried out; retry after `Retry-After`"),
    ("request_timeout", 408, "the request did not arrive in time"),
    ("webex_token_rejected", 502, "Webex rejected the bot token: an operator must replace it"),
    ("webex_unreachable", 502, "Webex could not be reached (network, proxy, TLS)"),
    ("webex_error", 502, "Webex answered with an error the daemon cannot act on"),
    ("webex_rate_limited", 503, "Webex is rate limiting the bot; retry after `Retry-After` seconds"),
    ("unavailable", 503, "the daemon cannot serve this now (shutting down, store busy)"),
    ("internal", 500, "a failure inside the daemon (the local store); see its log"),
];

/// `error.code`: one of [`ERROR_CODES`], their meanings in its description.
pub fn error_code_schema() -> Schema {
    let meanings: String =
        ERROR_CODES.iter().map(|(code, status, what)| format!("- `{code}` ({status}): {what}\n")).collect();
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::String))
        .enum_values(Some(ERROR_CODES.iter().map(|(code, _, _)| *code)))
        .description(Some(format!("What went wrong, for the engine to branch on:\n\n{meanings}")))
        .into()
}

/// The document, as `GET /v1/openapi.json` serves it.
pub fn document() -> OpenApi {
    super::api_router().split_for_parts().1
}

/// `GET /v1/openapi.json`: this document, generated from the code it describes.
#[utoipa::path(get, path = "/v1/openapi.json", operation_id = "openapi", tag = "daemon", responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
pub async fn get() -> axum::Json<OpenApi> {
    axum::Json(document())
}

/// The document as committed in `openapi.json`: pretty JSON with a final newline.
pub fn document_text() -> String {
    let mut text = document().to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "webex-hitl socket API",
        description = "The engine contract: HTTP/1.1 + JSON on the daemon's Unix socket (`api.socket`). \
Every error is `{\"error\": {\"code\", \"message\"}}` (see `ErrorBody`); a `Retry-After` header \
(seconds) comes with codes where waiting is the remedy.",
        license(name = "Apache-2.0")
    ),
    components(schemas(EventLine, ErrorBody))
)]
pub struct Base;

use super::error::ErrorBody;

// The three event lines, one per subject (spelled out: utoipa does not read a
// `rename` a macro passes it).

/// An event about one space, in full; `epoch` names the log its `seq` counts in.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SpaceEvent {
    pub seq: i64,
    #[serde(rename = "type")]
    pub kind: SpaceEventType,
    pub at: chrono::DateTime<chrono::Utc>,
    pub epoch: String,
    pub space: Space,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub enum SpaceEventType {
    #[serde(rename = "space.added")]
    Added,
    #[serde(rename = "space.removed")]
    Removed,
    #[serde(rename = "space.updated")]
    Updated,
}

/// An event about one escalation, in full; `epoch` names the log its `seq` counts in.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct EscalationEvent {
    pub seq: i64,
    #[serde(rename = "type")]
    pub kind: EscalationEventType,
    pub at: chrono::DateTime<chrono::Utc>,
    pub epoch: String,
    pub escalation: EscalationView,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub enum EscalationEventType {
    #[serde(rename = "escalation.created")]
    Created,
    #[serde(rename = "escalation.delivered")]
    Delivered,
    #[serde(rename = "escalation.answered")]
    Answered,
    #[serde(rename = "escalation.expired")]
    Expired,
    #[serde(rename = "escalation.cancelled")]
    Cancelled,
    #[serde(rename = "escalation.failed")]
    Failed,
    /// A policy's reminder went (see `reminders`).
    #[serde(rename = "escalation.reminded")]
    Reminded,
    /// A policy sent it to its next fallback destination (see `fallback`).
    #[serde(rename = "escalation.escalated")]
    Escalated,
    /// A fallback destination could not be reached (`fallback.error` says why).
    #[serde(rename = "escalation.fallback_failed")]
    FallbackFailed,
    /// Someone pressed "I'm on it" (see `claim`).
    #[serde(rename = "escalation.claimed")]
    Claimed,
    /// A claim lapsed unanswered; reminders and fallbacks resume.
    #[serde(rename = "escalation.unclaimed")]
    Unclaimed,
    /// Answered automatically by the policy's `on_deadline` default (`answer.automatic`).
    #[serde(rename = "escalation.defaulted")]
    Defaulted,
    /// Its card was live during an outage longer than Webex's replay window; the
    /// escalation object carries `outage: {start, end}` too.
    #[serde(rename = "escalation.maybe_lost")]
    MaybeLost,
}

/// An event about one connection, in full; `epoch` names the log its `seq` counts in.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ConnectionEvent {
    pub seq: i64,
    #[serde(rename = "type")]
    pub kind: ConnectionEventType,
    pub at: chrono::DateTime<chrono::Utc>,
    pub epoch: String,
    pub connection: ConnectionPayload,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub enum ConnectionEventType {
    #[serde(rename = "connection.up")]
    Up,
    #[serde(rename = "connection.down")]
    Down,
}

/// [`ConnectionChange`] as the document describes it: its two shapes told
/// apart by their fields (the derive on an untagged enum would let an `Up`
/// match both).
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ConnectionPayload {
    Up(ConnectionUp),
    Down(ConnectionDown),
}

/// `connection.up`: the link is ready.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionUp {
    pub connected: bool,
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    pub device_url: Option<String>,
    pub reconnects: u64,
}

/// `connection.down`: the link was lost, and why.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionDown {
    pub connected: bool,
    pub reason: Option<String>,
}

/// Held to [`ConnectionChange`]'s shapes by the test below.
#[cfg(test)]
fn mirrored(change: &ConnectionChange) -> ConnectionPayload {
    match change.clone() {
        ConnectionChange::Up { connected, since, device_url, reconnects } => {
            ConnectionPayload::Up(ConnectionUp { connected, since, device_url, reconnects })
        }
        ConnectionChange::Down { connected, reason } => ConnectionPayload::Down(ConnectionDown { connected, reason }),
    }
}

/// One line of `GET /v1/events` (NDJSON), or the `data:` of one SSE event.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum EventLine {
    Space(SpaceEvent),
    Escalation(Box<EscalationEvent>),
    Connection(ConnectionEvent),
    Gap(Gap),
    Reset(Reset),
    Heartbeat(Heartbeat),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_mirror_serializes_as_the_store_does() {
        for change in [ConnectionChange::up(None, Some("u".into()), 2), ConnectionChange::down(Some("gone".into()))] {
            assert_eq!(serde_json::to_value(mirrored(&change)).unwrap(), serde_json::to_value(&change).unwrap());
        }
    }

    #[test]
    fn every_code_the_framework_raises_is_documented() {
        use axum::http::StatusCode;
        for status in [400, 404, 405, 408, 413, 415, 422, 500, 502, 503] {
            let code = super::super::uniform::code_of(StatusCode::from_u16(status).unwrap());
            assert!(ERROR_CODES.iter().any(|(c, _, _)| *c == code), "{code} is not in ERROR_CODES");
        }
    }
}
