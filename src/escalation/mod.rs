//! Escalations: the product. The engine asks for a specialist's input; a card
//! goes to a space or a DM; the first valid answer wins and goes back to the
//! engine; the card is updated in place.
//!
//! - [`request`]: the engine's request, validated (errors name the field);
//! - [`card`]: the Adaptive Card for every state; [`signature`]: the HMAC on it;
//! - [`service`]: create / read / wait / cancel, used by the API;
//! - [`delivery`]: the outbox worker that posts and updates cards;
//! - [`answer`]: a submission from Mercury, checked, first one wins;
//! - [`timers`]: deadlines, claims, fallbacks and reminders, driven by [`policy`];
//!   [`notify`]: one-way notifications;
//! - [`outage`]: after an outage longer than Webex replays events, the live
//!   cards ask to press again and the engine hears `escalation.maybe_lost`.
//!
//! The types they move around (`Escalation`, `Status`, `Answer`…) are in
//! [`crate::model`]; every state change is one compare-and-set in the store.

pub mod answer;
pub mod card;
pub mod delivery;
pub mod notify;
pub mod outage;
pub mod policy;
pub mod request;
pub mod service;
pub mod signature;
#[cfg(test)]
pub(crate) mod testkit;
pub mod timers;

use crate::config::EscalationsConfig;
use crate::metrics::Metrics;
use crate::spaces::Spaces;
use crate::store::Store;
use crate::webex::rest::RestClient;
use signature::Signer;
use std::sync::Arc;

/// The handles every part of the escalation logic works with. Cheap to clone.
#[derive(Clone)]
pub struct Context {
    pub store: Store,
    pub rest: RestClient,
    pub spaces: Spaces,
    pub signer: Arc<Signer>,
    pub metrics: Arc<Metrics>,
    pub config: EscalationsConfig,
}
