//! The idempotency key of an `ask_specialist` call that brings none.
//!
//! A client that gives up on a call (its own timeout, a restart) and calls
//! again must get the same escalation, not a second card. Without a key from
//! the caller, the key is derived from what the call asks: a SHA-256 of the
//! request's JSON (everything but the key; its form is fixed by the request
//! type's field order) and the number of the 5-minute window it falls in.
//! The caller also looks the previous window's key up, so an identical call
//! within 5 minutes (at most 10) always finds the first one; the same
//! question asked again later is a new escalation.

use crate::escalation::request::EscalationRequest;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The length of one window.
pub const WINDOW: Duration = Duration::from_secs(300);

/// The keys of the window `unix_s` falls in and of the one before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedKeys {
    pub current: String,
    pub previous: String,
}

pub fn derive(request: &EscalationRequest, unix_s: u64) -> DerivedKeys {
    let mut unkeyed = request.clone();
    unkeyed.key = None;
    // Serializing a struct of strings, numbers and lists cannot fail; if it
    // ever did, every call would share one hash and be told so by a conflict.
    let json = serde_json::to_string(&unkeyed).unwrap_or_default();
    let digest = Sha256::digest(json.as_bytes());
    let hash: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let window = unix_s / WINDOW.as_secs();
    DerivedKeys {
        current: format!("mcp-{hash}-{window}"),
        previous: format!("mcp-{hash}-{}", window.saturating_sub(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Destination;

    fn request(summary: &str) -> EscalationRequest {
        EscalationRequest {
            to: Some(Destination::SpaceId("R".into())),
            summary: summary.into(),
            ..EscalationRequest::default()
        }
    }

    #[test]
    fn the_same_request_in_the_same_window_has_the_same_key() {
        let at = 1_800_000_000;
        assert_eq!(derive(&request("Refund?"), at), derive(&request("Refund?"), at + 1));
        assert_ne!(derive(&request("Refund?"), at).current, derive(&request("Refund!"), at).current);
    }

    #[test]
    fn the_next_window_still_knows_the_previous_key() {
        // The last second of a window: 1_800_000_000 is a multiple of 300.
        let at = 1_800_000_000 + 299;
        let (now, later) = (derive(&request("Refund?"), at), derive(&request("Refund?"), at + 1));
        assert_ne!(now.current, later.current);
        assert_eq!(later.previous, now.current);
        assert!(now.current.len() <= crate::escalation::request::MAX_KEY_CHARS);
    }

    #[test]
    fn a_callers_own_key_does_not_change_the_derived_one() {
        let mut keyed = request("Refund?");
        keyed.key = Some("mine".into());
        assert_eq!(derive(&keyed, 0), derive(&request("Refund?"), 0));
    }
}
