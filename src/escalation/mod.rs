//! Escalations: what the AI engine asks a specialist, how the question looks as
//! a Webex Adaptive Card, and how a card proves that a submission belongs to it.

pub mod card;
pub mod request;
pub mod signature;
