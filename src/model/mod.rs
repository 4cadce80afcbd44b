//! The daemon's vocabulary: an escalation as the engine asks for it, as it is
//! stored, and as the engine sees it again.
//!
//! Why a module of its own: the store parses rows into these types and writes
//! them back, the business logic (`escalation`) moves them between states, and
//! the API and CLI speak them on the socket. Keeping them here — pure data, no
//! I/O, no dependency on any other module of the crate — lets all of them share
//! one definition without the store depending on the logic that uses it.

mod destination;
mod escalation;
mod hours;
mod policy;
mod request;

pub(crate) use destination::DESTINATION_KEYS;
pub use destination::{is_email, Destination};
pub use escalation::{
    Answer, Answerer, ClaimState, Delivery, DeliveryState, DeliveryView, Escalation, EscalationView, FallbackState,
    PostedCard, ReminderState, Status, UnknownStatus,
};
pub use hours::BusinessHours;
pub use policy::{
    Claim, ClaimRequest, Fallback, OnDeadline, Policy, PolicyChoice, PolicyError, PolicyRequest, RemindRequest,
    Reminders, MAX_FALLBACKS, MAX_MENTIONS, MAX_POLICY_WAIT_S, MAX_REMINDERS,
};
pub use request::{fingerprint, ChoiceOption, FieldKind, FieldSpec, Player, ValidEscalation};
