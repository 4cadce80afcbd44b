//! An escalation's life: its status, its card's delivery, its answer, and the
//! view of it that the engine gets (API answers and event payloads).

use super::{Destination, FieldSpec, Player, Policy, ValidEscalation};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where an escalation is in its life. Only `Pending` moves (by compare-and-set,
/// in the store); every other status is final.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Answered,
    Expired,
    Cancelled,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("status: one of pending, answered, expired, cancelled, failed; got {0:?}")]
pub struct UnknownStatus(pub String);

impl Status {
    pub const ALL: [Status; 5] =
        [Status::Pending, Status::Answered, Status::Expired, Status::Cancelled, Status::Failed];

    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Answered => "answered",
            Status::Expired => "expired",
            Status::Cancelled => "cancelled",
            Status::Failed => "failed",
        }
    }

    pub fn is_final(self) -> bool {
        self != Status::Pending
    }
}

impl std::str::FromStr for Status {
    type Err = UnknownStatus;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Status::ALL.into_iter().find(|s| s.as_str() == text).ok_or_else(|| UnknownStatus(text.to_owned()))
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the card is: waiting in the outbox, in Webex, or never to be posted.
#[derive(utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Queued,
    Posted,
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 3] = [DeliveryState::Queued, DeliveryState::Posted, DeliveryState::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Posted => "posted",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        DeliveryState::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// Who answered, and what.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub inputs: BTreeMap<String, String>,
    pub by: Answerer,
    pub at: DateTime<Utc>,
    /// Given by the escalation's policy at its deadline, not by a person.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub automatic: bool,
}

#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answerer {
    pub id: String,
    pub email: Option<String>,
    pub name: String,
}

/// The card's way to Webex.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub state: DeliveryState,
    pub error: Option<String>,
    pub attempts: i64,
    /// The space the card goes to: known at creation for a space, once posted for a DM.
    pub space_id: Option<String>,
    pub room_uuid: Option<String>,
    /// The card message, once posted.
    pub message_id: Option<String>,
    pub message_uuid: Option<String>,
    /// For a DM: the one person who may answer.
    pub recipient_id: Option<String>,
}

/// An escalation as stored, parsed once at the store's edge.
#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    /// Stable position for paging (newest first).
    pub cursor: i64,
    pub id: String,
    pub key: Option<String>,
    pub fingerprint: String,
    pub status: Status,
    pub request: ValidEscalation,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub delivery: Delivery,
    pub answer: Option<Answer>,
    pub closed_at: Option<DateTime<Utc>>,
    pub close_reason: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub reminders: ReminderState,
    pub fallback: FallbackState,
    /// Who said "I'm on it", while their claim holds.
    pub claim: Option<ClaimState>,
    /// Its deadline came with `on_deadline: keep_pending`: it stays open, and
    /// the deadline is not acted on again.
    pub deadline_passed: bool,
}

/// How far the policy's reminders went.
#[derive(utoipa::ToSchema, Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderState {
    pub sent: u32,
    /// When the next one is due; `null` when none is (no policy, all sent, closed).
    pub next_at: Option<DateTime<Utc>>,
}

/// A claim on a pending escalation.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimState {
    pub by: Answerer,
    pub at: DateTime<Utc>,
    /// When it lapses unless answered; `null`: it holds until the escalation ends.
    pub expires_at: Option<DateTime<Utc>>,
}

/// How far down its policy's fallback destinations it went.
#[derive(utoipa::ToSchema, Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FallbackState {
    /// Destinations sent to so far (`escalate_to[..step]`).
    pub step: u32,
    /// When the next is due; `null` when none is.
    pub next_at: Option<DateTime<Utc>>,
    /// Why the last destination could not be reached, if it could not.
    pub error: Option<String>,
}

/// A posted card: which message, in which space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostedCard<'a> {
    pub message_id: &'a str,
    pub space_id: &'a str,
}

impl Escalation {
    /// The card in Webex, once it was posted.
    pub fn card(&self) -> Option<PostedCard<'_>> {
        Some(PostedCard {
            message_id: self.delivery.message_id.as_deref()?,
            space_id: self.delivery.space_id.as_deref()?,
        })
    }

    /// When it left `pending` (the last update, for rows closed before `closed_at` existed).
    pub fn closed_or_updated_at(&self) -> DateTime<Utc> {
        self.closed_at.unwrap_or(self.updated_at)
    }
}

/// An escalation as the engine sees it: `GET /v1/escalations/{id}` and the
/// `escalation` of every `escalation.*` event.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationView {
    pub id: String,
    pub key: Option<String>,
    pub status: Status,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub to: Destination,
    pub player: Player,
    pub summary: String,
    pub question: Option<String>,
    pub fields: Vec<FieldSpec>,
    /// The engine's own data, returned untouched.
    #[serde(default)]
    pub context: serde_json::Value,
    pub delivery: DeliveryView,
    pub answer: Option<Answer>,
    pub closed_at: Option<DateTime<Utc>>,
    pub close_reason: Option<String>,
    /// The policy it runs under, and where its reminders stand (both absent without one).
    #[serde(default, skip_serializing_if = "Policy::is_none")]
    pub policy: Policy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminders: Option<ReminderState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<FallbackState>,
    /// Present while someone holds a claim on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<ClaimState>,
}

#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub state: DeliveryState,
    pub message_id: Option<String>,
    pub space_id: Option<String>,
    pub attempts: i64,
    pub error: Option<String>,
}

impl From<&Escalation> for EscalationView {
    fn from(e: &Escalation) -> Self {
        let request = &e.request;
        Self {
            id: e.id.clone(),
            key: e.key.clone(),
            status: e.status,
            created_at: e.created_at,
            expires_at: e.expires_at,
            to: request.to.clone(),
            player: request.player.clone(),
            summary: request.summary.clone(),
            question: request.question.clone(),
            fields: request.fields.clone(),
            context: request.context.clone(),
            delivery: DeliveryView {
                state: e.delivery.state,
                message_id: e.delivery.message_id.clone(),
                space_id: e.delivery.space_id.clone(),
                attempts: e.delivery.attempts,
                error: e.delivery.error.clone(),
            },
            answer: e.answer.clone(),
            closed_at: e.closed_at,
            close_reason: e.close_reason.clone(),
            policy: request.policy.clone(),
            reminders: request.policy.reminders.is_some().then(|| e.reminders.clone()),
            fallback: request.policy.fallback.is_some().then(|| e.fallback.clone()),
            claim: e.claim.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_forms_are_stable() {
        // These strings are in every database: renaming one is a migration.
        let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(statuses, ["pending", "answered", "expired", "cancelled", "failed"]);
        let states: Vec<&str> = DeliveryState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(states, ["queued", "posted", "failed"]);
        for status in Status::ALL {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        }
        for state in DeliveryState::ALL {
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
            assert_eq!(DeliveryState::parse(state.as_str()), Some(state));
        }
        assert!("open".parse::<Status>().unwrap_err().to_string().starts_with("status: one of pending"));
    }
}
