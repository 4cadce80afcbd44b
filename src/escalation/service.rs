//! What the API asks of escalations: create (validated, destination checked,
//! idempotent by key), read, list, wait for an outcome, cancel.
//!
//! Creating writes the escalation, its `post_card` job and its event in one
//! transaction and returns; the delivery worker posts the card. So the engine's
//! call is fast and a crash after it cannot lose the card.

use super::request::{self, InvalidRequest};
use super::Context;
use crate::model::{Destination, Escalation, Status};
use crate::spaces::SpacesError;
use crate::store::{CloseOutcome, Closing, EscalationFilter, Inserted, NewEscalation, Prior, Space, StoreError};
use crate::webex::ids::{IdKind, RestId};
use crate::webex::rest::RestError;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Invalid(#[from] InvalidRequest),
    #[error("to.space_id: the bot is not in space {space_id}. A bot sees only spaces it was added to: add the bot to the space in Webex (People > Add people), then retry")]
    BotNotInSpace { space_id: String },
    #[error("{field}: Webex knows no person {value}")]
    UnknownPerson { field: &'static str, value: String },
    #[error("key: escalation {id} already has this key with a different request; use a new key for a new escalation")]
    KeyConflict { id: String },
    #[error("escalation {id} is {status}, not pending")]
    NotPending { id: String, status: Status },
    #[error("no escalation {0}")]
    NotFound(String),
    #[error("cannot check the destination with Webex: {0}")]
    Webex(#[from] RestError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SpacesError> for ServiceError {
    fn from(error: SpacesError) -> Self {
        match error {
            SpacesError::Rest(e) => ServiceError::Webex(e),
            SpacesError::Store(e) => ServiceError::Store(e),
        }
    }
}

/// Created, or found by its key.
pub enum Created {
    New(Escalation),
    Existing(Escalation),
}

#[derive(Clone)]
pub struct Escalations {
    ctx: Context,
}

/// Where a card goes, as far as it can be known before posting it.
struct Resolved {
    space_id: Option<String>,
    room_uuid: Option<String>,
    recipient_id: Option<String>,
}

impl Resolved {
    fn person(id: String) -> Self {
        Self { space_id: None, room_uuid: None, recipient_id: Some(id) }
    }
}

impl Escalations {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// Creates the escalation `body` asks for, or finds the one its key (in the
    /// body, or `header_key` from `Idempotency-Key`) made before.
    pub async fn create(&self, body: &[u8], header_key: Option<&str>) -> Result<Created, ServiceError> {
        let mut parsed = request::parse(body)?;
        parsed.key = request::merge_key(parsed.key.take(), header_key)?;
        let valid = parsed.validate_with(&self.ctx.config)?;
        let fingerprint = valid.fingerprint();
        let space_id = match &valid.to {
            Destination::SpaceId(space_id) => Some(space_id.as_str()),
            Destination::PersonEmail(_) | Destination::PersonId(_) => None,
        };
        let cached = match self.ctx.store.before_create(valid.key.as_deref(), space_id).await? {
            Prior::Existing(existing) => return same_key(*existing, &fingerprint),
            Prior::New { space } => space.map(|space| *space),
        };
        let resolved = self.resolve(&valid.to, cached).await?;
        let timeout = chrono::Duration::from_std(valid.timeout).unwrap_or(chrono::Duration::seconds(1800));
        let new = NewEscalation {
            id: new_id(),
            expires_at: chrono::Utc::now() + timeout,
            request: valid,
            space_id: resolved.space_id,
            room_uuid: resolved.room_uuid,
            recipient_id: resolved.recipient_id,
        };
        match self.ctx.store.insert_escalation(new).await? {
            Inserted::Created(record) => Ok(Created::New(record)),
            Inserted::Existing(existing) => same_key(existing, &fingerprint),
        }
    }

    /// `cached`: the spaces cache's entry for a space destination.
    async fn resolve(&self, to: &Destination, cached: Option<Space>) -> Result<Resolved, ServiceError> {
        let rest = &self.ctx.rest;
        match to {
            Destination::SpaceId(space_id) => self.resolve_space(space_id, cached).await,
            // Not looked up: `GET /people?email=` sees only the bot's own org,
            // while a DM by email reaches anyone. Who it reached (and the room)
            // is learnt from Webex's answer to the post (`toPersonId`).
            Destination::PersonEmail(_) => Ok(Resolved { space_id: None, room_uuid: None, recipient_id: None }),
            Destination::PersonId(person_id) => match rest.person(person_id).await {
                Ok(person) => Ok(Resolved::person(person.id)),
                Err(RestError::NotFound { .. } | RestError::BadRequest { .. }) => {
                    Err(ServiceError::UnknownPerson { field: "to.person_id", value: person_id.clone() })
                }
                Err(other) => Err(other.into()),
            },
        }
    }

    /// The cache answers at once; a space it does not show is checked live, since
    /// the bot may have been added a moment ago.
    async fn resolve_space(&self, space_id: &str, cached: Option<Space>) -> Result<Resolved, ServiceError> {
        let id = RestId::decode(space_id)
            .ok()
            .filter(|id| id.kind == IdKind::Room)
            .ok_or_else(|| InvalidRequest::new("to.space_id", "not a Webex room id (see GET /v1/spaces)"))?;
        let known = cached.filter(|space| space.visible && space.id == space_id);
        if known.is_none() {
            match self.ctx.rest.room(space_id).await {
                Ok(room) => self.ctx.spaces.record_room(&room).await?,
                Err(RestError::NotFound { .. }) => {
                    return Err(ServiceError::BotNotInSpace { space_id: space_id.to_owned() })
                }
                Err(other) => return Err(other.into()),
            }
        }
        Ok(Resolved { space_id: Some(space_id.to_owned()), room_uuid: Some(id.uuid), recipient_id: None })
    }

    pub async fn get(&self, id: &str) -> Result<Escalation, ServiceError> {
        self.ctx.store.escalation(id).await?.ok_or_else(|| ServiceError::NotFound(id.to_owned()))
    }

    pub async fn list(&self, filter: EscalationFilter) -> Result<Vec<Escalation>, ServiceError> {
        Ok(self.ctx.store.escalations(filter).await?)
    }

    /// Long-poll: returns once the escalation leaves `pending`, when `wait` ends,
    /// or at shutdown (with what it is then).
    pub async fn wait(
        &self,
        id: &str,
        wait: Duration,
        shutdown: &CancellationToken,
    ) -> Result<Escalation, ServiceError> {
        let mut changes = self.ctx.store.subscribe();
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let record = self.get(id).await?;
            if record.status.is_final() {
                return Ok(record);
            }
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return Ok(record),
                _ = shutdown.cancelled() => return Ok(record),
                changed = changes.changed() => if changed.is_err() { return Ok(record) },
            }
        }
    }

    pub async fn cancel(&self, id: &str, reason: Option<String>) -> Result<Escalation, ServiceError> {
        match self.ctx.store.close_escalation(id, Closing::Cancelled { reason }, None).await? {
            CloseOutcome::Closed(record) => Ok(record),
            CloseOutcome::NotPending(record) => Err(ServiceError::NotPending { id: record.id, status: record.status }),
            CloseOutcome::Unknown => Err(ServiceError::NotFound(id.to_owned())),
        }
    }
}

fn same_key(existing: Escalation, fingerprint: &str) -> Result<Created, ServiceError> {
    if existing.fingerprint == fingerprint {
        Ok(Created::Existing(existing))
    } else {
        Err(ServiceError::KeyConflict { id: existing.id })
    }
}

/// A fresh escalation id: `esc_` and 32 hex digits, a UUIDv7. Its leading
/// digits are the time, so ids sort by creation, and each insert lands at the
/// right edge of the store's id index instead of on a random page of it.
pub fn new_id() -> String {
    format!("esc_{}", uuid::Uuid::now_v7().simple())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_prefixed_and_unique() {
        let (a, b) = (super::new_id(), super::new_id());
        assert!(a.starts_with("esc_") && a.len() == 36);
        assert_ne!(a, b);
        // Time-ordered (v7): a later id sorts after an earlier one.
        assert!(b > a, "{b} should sort after {a}");
    }
}
