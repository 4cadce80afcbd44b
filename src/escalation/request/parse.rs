//! Turning a request body into an [`EscalationRequest`], with errors that name a field.
//!
//! `serde_path_to_error` records where in the document deserialization failed
//! (`fields[1].kind`, `player.tags[3]`), so the derived `Deserialize` stays the
//! single authority on what is accepted and the error still names the field.
//! Fields the engine must give are defaulted in the request type, so that their
//! absence reaches validation, which names them too.

use super::{EscalationRequest, InvalidRequest, Problem};
use serde_json::Value;

/// Bodies beyond this are refused before parsing; valid requests are far smaller.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Parses a request body; the error names the field at fault (`body` for syntax errors).
pub fn parse(body: &[u8]) -> Result<EscalationRequest, InvalidRequest> {
    if body.len() > MAX_BODY_BYTES {
        let message = format!("too large: {} bytes, at most {MAX_BODY_BYTES}", body.len());
        return Err(InvalidRequest::of_kind(Problem::TooLarge, message));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| InvalidRequest::of_kind(Problem::Syntax, format!("not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(InvalidRequest::new("body", "must be a JSON object"));
    }
    serde_path_to_error::deserialize(&value).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." { "body".to_owned() } else { path };
        InvalidRequest::new(field, tidy(error.inner().to_string()))
    })
}

/// serde repeats the name of an unknown field that the path already gives:
/// "unknown field `colour`, expected one of …" reads "unknown field; expected one of …".
fn tidy(message: String) -> String {
    match message.strip_prefix("unknown field `").and_then(|rest| rest.split_once("`, ")) {
        Some((_, expected)) => format!("unknown field; {expected}"),
        None => message,
    }
}
