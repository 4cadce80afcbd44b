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
mod request;

pub use destination::Destination;
pub(crate) use destination::DESTINATION_KEYS;
pub use escalation::{
    Answer, Answerer, Delivery, DeliveryState, DeliveryView, Escalation, EscalationView, PostedCard, Status,
    UnknownStatus,
};
pub use request::{fingerprint, ChoiceOption, FieldKind, FieldSpec, Player, ValidEscalation};
