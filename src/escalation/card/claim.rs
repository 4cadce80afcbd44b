//! The claim part of a pending card: the "I'm on it" button while nobody holds
//! it, and who does once someone does. Kept apart from the other blocks: a
//! claim is a policy's, and most cards have none.

use super::blocks::{rich, strong, when, MAX_PERSON_CHARS};
use super::text::truncate_chars;
use super::{ACTION_CLAIM, CLAIM_TITLE, DATA_ACTION, DATA_ESCALATION, DATA_SIGNATURE};
use crate::model::ClaimState;
use serde_json::{json, Value};

/// A second submit that sends no inputs: a claim must not need the answer filled in.
pub fn button(escalation_id: &str, signature: &str) -> Value {
    json!({
        "type": "Action.Submit",
        "title": CLAIM_TITLE,
        "associatedInputs": "none",
        "data": {DATA_ESCALATION: escalation_id, DATA_SIGNATURE: signature, DATA_ACTION: ACTION_CLAIM},
    })
}

pub fn line(claim: &ClaimState) -> String {
    format!("🙋 Claimed by {} at {}", truncate_chars(&claim.by.name, MAX_PERSON_CHARS), when(&claim.at))
}

/// Literal, like every other text a person chose (their display name here).
pub fn block(claim: &ClaimState) -> Value {
    let mut line = strong(&line(claim));
    line["color"] = json!("Accent");
    rich(vec![line])
}
