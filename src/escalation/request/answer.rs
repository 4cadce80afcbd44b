//! Checking a card submission against the fields the card asked for.
//!
//! Webex clients enforce `isRequired` and `maxLength`, but nothing stops an old
//! client or a hand-made attachment action from sending anything, so the daemon
//! checks again before an answer reaches the engine.

use super::{FieldKind, FieldSpec, InvalidRequest};
use std::collections::BTreeMap;

/// Validates submitted `inputs` against `fields`: required ones present and not
/// blank, choice values among the options, lengths within `max_length`.
/// Keys that are not field ids (the card's `_escalation`, `_sig`…) are ignored.
/// Returns only the declared field ids; blank optional answers are left out.
pub fn check_answer(
    fields: &[FieldSpec],
    inputs: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, InvalidRequest> {
    let mut cleaned = BTreeMap::new();
    for field in fields {
        let value = inputs.get(&field.id).map(String::as_str).unwrap_or("");
        if value.trim().is_empty() {
            if field.required {
                return Err(InvalidRequest::new(&field.id, "is required"));
            }
            continue;
        }
        match field.kind {
            FieldKind::Text => check_text(field, value)?,
            FieldKind::Choice => check_choice(field, value)?,
        }
        cleaned.insert(field.id.clone(), value.to_owned());
    }
    Ok(cleaned)
}

fn check_text(field: &FieldSpec, value: &str) -> Result<(), InvalidRequest> {
    let chars = value.chars().count();
    match field.max_length {
        Some(max) if chars > max as usize => {
            Err(InvalidRequest::new(&field.id, format!("too long: {chars} characters, at most {max}")))
        }
        _ => Ok(()),
    }
}

fn check_choice(field: &FieldSpec, value: &str) -> Result<(), InvalidRequest> {
    // A multi-select answer is the chosen values joined by ','.
    let chosen: Vec<&str> = if field.multiple { value.split(',').map(str::trim).collect() } else { vec![value] };
    for v in chosen {
        if !field.options.iter().any(|o| o.value == v) {
            return Err(InvalidRequest::new(&field.id, format!("{v:?} is not one of the options")));
        }
    }
    Ok(())
}
