//! Takes what the Mercury link delivers to the rest of the daemon: its events,
//! which are de-duplicated, handled and acked only after what they changed is
//! committed; and its state changes, which become `connection.*` events for the
//! engine.
//!
//! Duplicates come from Mercury's redelivery of unacked frames (also across
//! restarts) and from leaked devices (every device receives every event). The
//! store remembers processed activity ids durably: a handler that changes
//! something records its activity in the same transaction ([`Handled::Committed`]);
//! for one that changes nothing ([`Handled::NoEffect`]) the dispatcher records it.
//!
//! Two lanes run side by side: card submissions, and everything else (spaces).
//! A space lookup waiting out a long `Retry-After` therefore never delays an
//! answer. Each lane handles several events at once ([`lane`]), keeping in
//! arrival order those that must be (one card's submissions, one space's
//! events, the copies of one activity). An event which failed for a passing
//! reason (Webex busy or away, the store failing) is retried with capped
//! backoff — for as long as it takes, never dropped — while the lane moves on,
//! so later events may overtake it. One Webex refuses for good is logged and
//! acked. Handlers do not depend on order: a space event re-reads the room
//! from Webex, and for answers the first one *committed* wins. An event is
//! acked only once handled, so even a crash meanwhile loses nothing (Mercury
//! redelivers).

mod lane;

use crate::backoff::Backoff;
use crate::escalation::answer::{AnswerError, AnswerHandler};
use crate::metrics::Metrics;
use crate::spaces::{Spaces, SpacesError};
use crate::store::{ConnectionChange, Handled, Store, StoreError};
use crate::webex::mercury::link::{Inbound, LinkState};
use crate::webex::mercury::unfamiliar::Unfamiliar;
use crate::webex::mercury::Event;
use crate::webex::rest::{RestError, RetryKind};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Every this many failed tries of one event, a warning says it is still failing.
const WARN_EVERY: u32 = 10;

/// Events handled and duplicates dropped since start (for `/v1/health`).
#[derive(utoipa::ToSchema, Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EventCounts {
    pub handled: u64,
    pub duplicates: u64,
}

#[derive(Debug, thiserror::Error)]
enum HandleError {
    #[error(transparent)]
    Spaces(#[from] SpacesError),
    #[error(transparent)]
    Answer(#[from] AnswerError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl HandleError {
    /// Whether trying again later can succeed: Webex busy or away, the store
    /// failing (a full disk). A refusal Webex would repeat is not.
    fn is_passing(&self) -> bool {
        match self {
            // A rejected token is fixed by the operator; the answer must survive it.
            HandleError::Answer(AnswerError::Rest(RestError::Unauthorized { .. })) => true,
            HandleError::Answer(AnswerError::Rest(error)) => !matches!(error.retry_kind(), RetryKind::Permanent),
            HandleError::Spaces(_) | HandleError::Answer(AnswerError::Store(_)) | HandleError::Store(_) => true,
        }
    }
}

pub struct Dispatcher {
    pub events: mpsc::UnboundedReceiver<Inbound>,
    pub handler: Handler,
}

/// What both lanes share: the handlers, the counters and the retry pace.
pub struct Handler {
    pub counts: watch::Sender<EventCounts>,
    pub store: Store,
    pub spaces: Spaces,
    pub answers: AnswerHandler,
    pub metrics: Arc<Metrics>,
    /// Between tries of an event that failed for a passing reason.
    pub retry: Backoff,
    /// Activity verbs the daemon does not know, each logged once.
    pub unfamiliar: Unfamiliar,
}

/// An event waiting for another try.
struct Retry {
    due: Instant,
    attempt: u32,
    inbound: Inbound,
}

impl Dispatcher {
    pub async fn run(self, shutdown: CancellationToken) {
        let Dispatcher { mut events, handler } = self;
        let (answers_tx, answers_rx) = mpsc::unbounded_channel();
        let (others_tx, others_rx) = mpsc::unbounded_channel();
        let stop_routing = shutdown.clone();
        let answers = &handler.answers;
        // Owns the lane senders: when the link's channel closes, the lanes drain and end.
        let route = async move {
            while let Some(inbound) = tokio::select! {
                _ = stop_routing.cancelled() => None,
                inbound = events.recv() => inbound,
            } {
                // Before any later event is handled, in either lane: a removed
                // member's submission must never meet a stale membership.
                if let Event::MemberAdded { meta, member, is_bot } | Event::MemberRemoved { meta, member, is_bot } =
                    &inbound.event
                {
                    if let Some(room) = &meta.room {
                        answers.membership_changed(&room.uuid, &member.uuid, *is_bot);
                    }
                }
                let lane = if matches!(inbound.event, Event::CardSubmitted { .. }) { &answers_tx } else { &others_tx };
                let _ = lane.send(inbound);
            }
        };
        tokio::join!(route, lane::run(answers_rx, &handler, &shutdown), lane::run(others_rx, &handler, &shutdown));
    }
}

impl Handler {
    async fn dispatch(&self, inbound: Inbound, attempt: u32) -> Option<Retry> {
        if attempt == 0 {
            self.metrics.event(inbound.event.kind());
        }
        let activity = inbound.event.activity_id().to_owned();
        match self.handle_once(&inbound.event).await {
            Ok(Handled::Duplicate) => {
                tracing::debug!(%activity, "duplicate activity dropped");
                self.counts.send_modify(|c| c.duplicates += 1);
            }
            Ok(_) => self.counts.send_modify(|c| c.handled += 1),
            Err(HandleError::Spaces(error)) => {
                // The resync repairs what this event would have changed.
                tracing::warn!(%error, kind = inbound.event.kind(), %activity, "event not handled; resyncing spaces");
                self.spaces.request_resync();
            }
            Err(error) if error.is_passing() => {
                // Retried for as long as it takes: a submission can still be
                // answered when Webex comes back; one line now and then, not per try.
                if attempt.is_multiple_of(WARN_EVERY) {
                    tracing::warn!(%error, %activity, tries = attempt + 1, "event not handled yet; retrying until it is");
                } else {
                    tracing::debug!(%error, %activity, tries = attempt + 1, "event not handled yet");
                }
                return Some(self.retry(inbound, attempt));
            }
            Err(error) => {
                tracing::error!(%error, %activity, kind = inbound.event.kind(), "event dropped: Webex refuses it for good");
            }
        }
        inbound.ack.send();
        None
    }

    /// Handles the event unless its activity was processed before, and makes
    /// sure it is recorded as processed. An event no handler acts on costs one
    /// write: recording it says whether it was new.
    async fn handle_once(&self, event: &Event) -> Result<Handled, HandleError> {
        match self.handle(event).await? {
            Handled::NoEffect if !self.store.mark_processed(event.activity_id()).await? => Ok(Handled::Duplicate),
            other => Ok(other),
        }
    }

    async fn handle(&self, event: &Event) -> Result<Handled, HandleError> {
        let activity = event.activity_id();
        let room = event.meta().room.as_ref().map(|room| room.uuid.as_str());
        tracing::debug!(kind = event.kind(), activity, room, "Webex event");
        Ok(match (event, room) {
            // It checks for a processed activity in the read that finds the card.
            (Event::CardSubmitted { meta, card_message_uuid }, _) => {
                self.answers.on_submission(meta, card_message_uuid.as_deref()).await?
            }
            (
                Event::MemberAdded { is_bot: true, .. } | Event::RoomUpdated { .. } | Event::RoomCreated { .. },
                Some(room),
            ) => self.unless_processed(activity, async { Ok(self.spaces.room_seen(room, activity).await?) }).await?,
            (Event::MemberRemoved { is_bot: true, .. }, Some(room)) => {
                self.unless_processed(activity, self.bot_left(room, activity)).await?
            }
            (Event::Unknown { verb, .. }, _) => {
                self.unfamiliar.note("activity verb", verb);
                Handled::NoEffect
            }
            _ => Handled::NoEffect,
        })
    }

    /// `work`, unless `activity` was processed before (its effects may not be
    /// repeatable: a space event re-reads the room from Webex).
    async fn unless_processed(
        &self,
        activity: &str,
        work: impl std::future::Future<Output = Result<Handled, HandleError>>,
    ) -> Result<Handled, HandleError> {
        if self.store.is_processed(activity).await? {
            return Ok(Handled::Duplicate);
        }
        work.await
    }

    /// The bot was removed: the space goes, and its pending escalations fail
    /// (nobody can answer them there any more).
    async fn bot_left(&self, room: &str, activity: &str) -> Result<Handled, HandleError> {
        let reason = "the bot was removed from the space; add it back and escalate again";
        for failed in self.store.fail_pending_in_room(room, reason).await? {
            tracing::warn!(escalation = %failed.id, "failed: the bot was removed from its space");
        }
        Ok(self.spaces.room_gone(room, activity).await?)
    }
}

impl Handler {
    fn retry(&self, inbound: Inbound, attempt: u32) -> Retry {
        let delay = self.retry.delay(attempt, &mut rand::rng());
        Retry { due: Instant::now() + delay, attempt: attempt.saturating_add(1), inbound }
    }
}

/// Appends `connection.up` / `connection.down` to the event log on every change
/// of the link, so an engine following the stream knows when Webex was away.
pub async fn record_link_changes(store: Store, mut link: watch::Receiver<LinkState>, shutdown: CancellationToken) {
    let mut was_connected = false;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            changed = link.changed() => if changed.is_err() { return },
        }
        let state = link.borrow_and_update().clone();
        if state.connected == was_connected {
            continue;
        }
        was_connected = state.connected;
        let change = if state.connected {
            ConnectionChange::up(state.since, state.device_url, state.reconnects)
        } else {
            ConnectionChange::down(state.last_error)
        };
        if let Err(error) = store.record_connection(change).await {
            tracing::error!(%error, "cannot record a connection change");
        }
    }
}
