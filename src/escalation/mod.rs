//! Escalations: the product. The engine asks for a specialist's input; a card
//! goes to a space or a DM; the first valid answer wins and goes back to the
//! engine; the card is updated in place.
//!
//! - [`request`]: the engine's request, validated (errors name the field);
//! - [`card`]: the Adaptive Card for every state; [`signature`]: the HMAC on it;
//! - [`service`]: create / read / wait / cancel, used by the API;
//! - [`delivery`]: the outbox worker that posts and updates cards;
//! - [`answer`]: a submission from Mercury, checked, first one wins;
//! - [`expiry`]: timeouts; [`notify`]: one-way notifications.

pub mod answer;
pub mod card;
pub mod delivery;
pub mod expiry;
pub mod model;
pub mod notify;
pub mod request;
pub mod service;
pub mod signature;
