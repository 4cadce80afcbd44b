//! `GET /v1/health`: is the daemon connected to Webex, as whom, since when.

use super::AppState;
use crate::dispatch::EventCounts;
use crate::escalation::delivery::Stalled;
use crate::metrics::build_info::VERSION_LINE;
use crate::webex::mercury::link::LinkState;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(utoipa::ToSchema, Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BotIdentity {
    pub id: String,
    pub email: Option<String>,
    pub name: String,
}

/// `ok` only while connected to Webex with a validated bot.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    Degraded,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Health {
    pub status: HealthStatus,
    /// The build answering, as `webex-hitl --version` prints it. (Defaults keep
    /// a newer CLI reading an older daemon's health.)
    #[serde(default)]
    pub version: String,
    pub webex: WebexHealth,
    pub events: EventCounts,
    pub outbox: OutboxHealth,
    #[serde(default)]
    pub event_log: EventLogHealth,
}

/// Where the durable event log stands: a follower compares `epoch` with the one
/// its cursor came from, and `head` with its cursor.
#[derive(utoipa::ToSchema, Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EventLogHealth {
    pub epoch: String,
    pub head: i64,
}

/// Whether the outbox posts and updates cards, or is stopped because the store
/// refuses writes (then `since` and `error` say since when and why).
#[derive(utoipa::ToSchema, Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutboxHealth {
    pub stalled: bool,
    pub since: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebexHealth {
    pub connected: bool,
    /// When the current (or last) connection became ready.
    pub since: Option<DateTime<Utc>>,
    /// When the link was lost; `null` while connected.
    pub down_since: Option<DateTime<Utc>>,
    pub bot: Option<BotIdentity>,
    pub last_event_at: Option<DateTime<Utc>>,
    pub reconnects: u64,
    pub device_url: Option<String>,
    pub last_error: Option<String>,
    /// Whether Webex accepts the bot token.
    pub token: TokenHealth,
    /// Since when Webex rejects it, and what it answered.
    pub token_rejected_since: Option<DateTime<Utc>>,
    pub token_error: Option<String>,
    /// When another connection last took over this bot's device (another instance
    /// with the same device name); `null` once this daemon is connected again.
    pub replaced_at: Option<DateTime<Utc>>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TokenHealth {
    Valid,
    Rejected,
}

/// Is the daemon connected to Webex, as which bot, and is its outbox moving.
#[utoipa::path(get, path = "/v1/health", operation_id = "health", tag = "daemon", responses((status = 200, body = Health), (status = "default", description = "An error: see `ErrorBody` for the codes", body = crate::api::error::ErrorBody)))]
pub async fn get(State(state): State<AppState>) -> Json<Health> {
    let outbox = state.outbox.borrow().clone();
    let log = EventLogHealth { epoch: state.epoch.to_string(), head: *state.store.subscribe().borrow() };
    Json(snapshot(&state.link.borrow(), state.bot.borrow().clone(), *state.counts.borrow(), outbox, log))
}

pub fn snapshot(
    link: &LinkState,
    bot: Option<BotIdentity>,
    events: EventCounts,
    outbox: Option<Stalled>,
    event_log: EventLogHealth,
) -> Health {
    let token_ok = link.token_rejected.is_none();
    let ok = link.connected && token_ok && bot.is_some() && outbox.is_none();
    Health {
        status: if ok { HealthStatus::Ok } else { HealthStatus::Degraded },
        version: VERSION_LINE.to_owned(),
        webex: WebexHealth {
            connected: link.connected,
            since: link.since,
            down_since: link.down_since,
            bot,
            last_event_at: link.last_event_at,
            reconnects: link.reconnects,
            device_url: link.device_url.clone(),
            last_error: link.last_error.clone(),
            token: if token_ok { TokenHealth::Valid } else { TokenHealth::Rejected },
            token_rejected_since: link.token_rejected.as_ref().map(|r| r.since),
            token_error: link.token_rejected.as_ref().map(|r| r.detail.clone()),
            replaced_at: link.replaced_at,
        },
        events,
        outbox: OutboxHealth {
            stalled: outbox.is_some(),
            since: outbox.as_ref().map(|s| s.since),
            error: outbox.map(|s| s.error),
        },
        event_log,
    }
}
