//! `GET /v1/health`: is the daemon connected to Webex, as whom, since when.

use super::AppState;
use crate::dispatch::EventCounts;
use crate::webex::mercury::link::LinkState;
use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BotIdentity {
    pub id: String,
    pub email: Option<String>,
    pub name: String,
}

/// `ok` only while connected to Webex with a validated bot.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    Degraded,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Health {
    pub status: HealthStatus,
    pub webex: WebexHealth,
    pub events: EventCounts,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebexHealth {
    pub connected: bool,
    pub since: Option<DateTime<Utc>>,
    pub bot: Option<BotIdentity>,
    pub last_event_at: Option<DateTime<Utc>>,
    pub reconnects: u64,
    pub device_url: Option<String>,
    pub last_error: Option<String>,
}

pub async fn get(State(state): State<AppState>) -> Json<Health> {
    Json(snapshot(&state.link.borrow(), state.bot.borrow().clone(), *state.counts.borrow()))
}

pub fn snapshot(link: &LinkState, bot: Option<BotIdentity>, events: EventCounts) -> Health {
    let ok = link.connected && bot.is_some();
    Health {
        status: if ok { HealthStatus::Ok } else { HealthStatus::Degraded },
        webex: WebexHealth {
            connected: link.connected,
            since: link.since,
            bot,
            last_event_at: link.last_event_at,
            reconnects: link.reconnects,
            device_url: link.device_url.clone(),
            last_error: link.last_error.clone(),
        },
        events,
    }
}
