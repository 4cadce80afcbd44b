//! The Webex REST API (`https://webexapis.com/v1`) as the daemon uses it.
//!
//! [`Transport`] is the single sending path (token per request, one retry
//! policy, error mapping, TrackingID logging) shared with device registration;
//! [`RestClient`] adds the typed calls. Nothing outside sees Webex's JSON.

mod client;
mod episode;
mod error;
mod outgoing;
mod paging;
mod retry;
mod transport;
mod types;

#[cfg(test)]
mod net_tests;
#[cfg(test)]
pub(crate) mod testkit;

pub use client::{RestClient, DEFAULT_API_URL};
pub use error::{RestError, RetryKind};
pub use paging::{link_targets, parse_link_header};
pub use retry::{parse_retry_after, should_retry, RetryPolicy};
pub use transport::{tracking_id, Response, RestObserver, Transport};
pub(crate) use types::lenient_time;
pub use types::{
    AttachmentAction, Membership, Message, MessageEdit, NewMessage, Person, PersonFilter, Room, RoomQuery, RoomSort,
    RoomType, ADAPTIVE_CARD, MAX_TEXT_BYTES,
};
