//! The escalation request the AI engine POSTs to `/v1/escalations`, and its validation.
//!
//! Everything a request carries ends up on a Webex Adaptive Card or in its text
//! fallback, and Webex refuses oversize messages (`text` ≤ 7439 bytes, the whole
//! body a little over 20 KB). So bad input is refused here, up front, with an
//! [`InvalidRequest`] that names the offending field (the API answers 422),
//! instead of failing later at Webex with a vague 400.
//!
//! Limits (characters, after trimming surrounding whitespace):
//! - `key` ≤ 200; `to.*` a Webex id of the right kind (room / person) or an email ≤ 254;
//! - `player.name` ≤ 200, `player.email` an email ≤ 254, `player.tags` ≤ 20 of ≤ 64,
//!   `player.brand` ≤ 100 (blank optional strings count as absent);
//! - `summary` 1..=4000 (required), `question` ≤ 1000;
//! - `fields` ≤ 10; `id` 1..=64 of `[A-Za-z0-9_.-]`, not starting with `_` (reserved for
//!   the card's own data: `_escalation`, `_sig`), unique; `label` 1..=200,
//!   `placeholder` ≤ 200; text `max_length` 1..=4000 (default 4000); choice fields
//!   1..=25 `options`, `value` 1..=100 (no `,` when `multiple`), `title` ≤ 150;
//! - `timeout_s` `escalations.min_timeout_s` (default 30)..=604800 (default 1800); `context` any JSON ≤ 16 KiB serialized.
//!
//! Per-item limits alone cannot bound the total (25 options × 10 fields…), so
//! validation also renders the pending card and refuses the request (field `body`)
//! when card plus fallback would leave too little room for the final states.

mod answer;
mod fields;
mod parse;
mod policy;
#[cfg(test)]
mod tests;

pub use answer::check_answer;
pub use parse::parse;

use crate::config::EscalationsConfig;
use crate::model::{
    is_email, ChoiceOption, Destination, FieldKind, FieldSpec, Player, PolicyChoice, ValidEscalation, DESTINATION_KEYS,
};
use crate::webex::ids::{IdKind, RestId};
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub const MAX_KEY_CHARS: usize = 200;
pub const MAX_DESTINATION_CHARS: usize = 512;
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_BRAND_CHARS: usize = 100;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 64;
pub const MAX_SUMMARY_CHARS: usize = 4000;
pub const MAX_QUESTION_CHARS: usize = 1000;
pub const MAX_FIELDS: usize = 10;
pub const MAX_FIELD_ID_CHARS: usize = 64;
pub const MAX_LABEL_CHARS: usize = 200;
pub const MAX_PLACEHOLDER_CHARS: usize = 200;
pub const MAX_ANSWER_CHARS: u32 = 4000;
pub const MAX_OPTIONS: usize = 25;
pub const MAX_OPTION_VALUE_CHARS: usize = 100;
pub const MAX_OPTION_TITLE_CHARS: usize = 150;
pub const MAX_TIMEOUT_S: u64 = 604_800;
pub const DEFAULT_TIMEOUT_S: u64 = 1800;
pub const MAX_CONTEXT_BYTES: usize = 16 * 1024;
/// Field ids starting with this are the card's own `Action.Submit` data.
pub const RESERVED_ID_PREFIX: char = '_';

/// The body of `POST /v1/escalations`, as sent. Fields the engine must give
/// are defaulted here, so that their absence gets our own message naming them.
/// The CLI sends it as this type too.
#[derive(utoipa::ToSchema, Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub to: Option<Destination>,
    #[serde(default)]
    pub player: Player,
    #[serde(default)]
    pub summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<u64>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub context: serde_json::Value,
    /// A preset's name or a policy inline; `escalations.default_policy` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyChoice>,
}

/// The idempotency key of a request that may carry it twice: in the body's
/// `key` and in the `Idempotency-Key` header (as HTTP does it). One of them, or
/// both when they agree; two different keys are refused, naming both.
pub fn merge_key(body: Option<String>, header: Option<&str>) -> Result<Option<String>, InvalidRequest> {
    match (body, header) {
        (Some(body), Some(header)) if body != header => Err(InvalidRequest::new(
            "key",
            format!("the body's key {body:?} and the Idempotency-Key header {header:?} differ; send one of them"),
        )),
        (body, header) => Ok(body.or_else(|| header.map(str::to_owned))),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InvalidRequest {
    /// A path into the request: `summary`, `to`, `fields[1].kind`, `player.tags[3]`, `body`.
    pub field: String,
    pub message: String,
    pub kind: Problem,
}

/// What is wrong, for the status an API answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// A field has a wrong type or value (the usual case).
    Field,
    /// The body is not JSON at all.
    Syntax,
    /// The body is over the size accepted.
    TooLarge,
}

impl InvalidRequest {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into(), kind: Problem::Field }
    }

    pub fn of_kind(kind: Problem, message: impl Into<String>) -> Self {
        Self { kind, ..Self::new("body", message) }
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> InvalidRequest {
    InvalidRequest::new(field, message)
}

/// The one default field: a required multiline text box.
pub fn default_field() -> FieldSpec {
    FieldSpec {
        id: "response".into(),
        label: "Your input".into(),
        kind: FieldKind::Text,
        multiline: true,
        required: true,
        placeholder: None,
        max_length: Some(MAX_ANSWER_CHARS),
        options: Vec::new(),
        multiple: false,
    }
}

impl EscalationRequest {
    pub fn validate(self) -> Result<ValidEscalation, InvalidRequest> {
        self.validate_with(&EscalationsConfig::default())
    }

    /// As [`EscalationRequest::validate`], with a lower bound on `timeout_s` other
    /// than the default (`escalations.min_timeout_s`; tests use 1 s).
    pub fn validate_with_min_timeout(self, min_timeout_s: u64) -> Result<ValidEscalation, InvalidRequest> {
        self.validate_with(&EscalationsConfig { min_timeout_s, ..EscalationsConfig::default() })
    }

    /// Validates under the daemon's rules: the shortest timeout, the policy presets.
    pub fn validate_with(self, rules: &EscalationsConfig) -> Result<ValidEscalation, InvalidRequest> {
        let choice = self.policy.clone();
        let min_timeout_s = rules.min_timeout_s;
        let mut valid = ValidEscalation {
            key: self.key.map(|k| check_key(&k)).transpose()?,
            to: required_destination(self.to)?,
            player: check_player(self.player)?,
            summary: text("summary", &self.summary, MAX_SUMMARY_CHARS, true)?,
            question: optional(self.question.as_deref(), |q| text("question", q, MAX_QUESTION_CHARS, true))?,
            fields: fields::check_fields(self.fields)?,
            timeout: check_timeout(self.timeout_s, min_timeout_s)?,
            context: check_context(self.context)?,
            policy: Default::default(),
        };
        valid.policy = policy::check(choice, &valid, rules)?;
        super::card::check_fits(&valid)
            .map_err(|e| invalid("body", format!("{e}; shorten the summary, question, labels or options")))?;
        Ok(valid)
    }
}

/// A trimmed, non-empty string of at most `max` chars; `multiline` allows line breaks and tabs.
fn text(field: &str, raw: &str, max: usize, multiline: bool) -> Result<String, InvalidRequest> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    let chars = s.chars().count();
    if chars > max {
        return Err(invalid(field, format!("too long: {chars} characters, at most {max}")));
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if s.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(s.to_owned())
}

/// Blank optional strings count as absent.
fn optional<F>(raw: Option<&str>, check: F) -> Result<Option<String>, InvalidRequest>
where
    F: FnOnce(&str) -> Result<String, InvalidRequest>,
{
    match raw {
        Some(s) if !s.trim().is_empty() => check(s).map(Some),
        _ => Ok(None),
    }
}

pub(crate) fn check_key(raw: &str) -> Result<String, InvalidRequest> {
    text("key", raw, MAX_KEY_CHARS, false)
}

fn email(field: &str, raw: &str) -> Result<String, InvalidRequest> {
    let s = text(field, raw, MAX_EMAIL_CHARS, false)?;
    if !is_email(&s) {
        return Err(invalid(field, format!("not an email address: {s:?}")));
    }
    Ok(s)
}

fn webex_id(field: &str, raw: &str, kind: IdKind, what: &str) -> Result<String, InvalidRequest> {
    let s = text(field, raw, MAX_DESTINATION_CHARS, false)?;
    match RestId::decode(&s) {
        Ok(id) if id.kind == kind => Ok(s),
        Ok(id) => Err(invalid(field, format!("is a Webex {} id, not a {what} id", id.kind.as_str()))),
        Err(_) => Err(invalid(field, format!("not a Webex {what} id"))),
    }
}

fn required_destination(to: Option<Destination>) -> Result<Destination, InvalidRequest> {
    check_destination(
        to.ok_or_else(|| invalid("to", format!("missing destination: give exactly one of {DESTINATION_KEYS}")))?,
    )
}

/// A destination of the right kind and shape (notifications check theirs here too).
pub(crate) fn check_destination(to: Destination) -> Result<Destination, InvalidRequest> {
    Ok(match to {
        Destination::SpaceId(s) => Destination::SpaceId(webex_id("to.space_id", &s, IdKind::Room, "room")?),
        Destination::PersonId(s) => Destination::PersonId(webex_id("to.person_id", &s, IdKind::People, "person")?),
        Destination::PersonEmail(s) => Destination::PersonEmail(email("to.person_email", &s)?),
    })
}

fn check_player(p: Player) -> Result<Player, InvalidRequest> {
    if p.tags.len() > MAX_TAGS {
        return Err(invalid("player.tags", format!("too many tags: {}, at most {MAX_TAGS}", p.tags.len())));
    }
    let mut tags = Vec::with_capacity(p.tags.len());
    for (i, tag) in p.tags.iter().enumerate() {
        tags.push(text(&format!("player.tags[{i}]"), tag, MAX_TAG_CHARS, false)?);
    }
    Ok(Player {
        name: optional(p.name.as_deref(), |s| text("player.name", s, MAX_NAME_CHARS, false))?,
        email: optional(p.email.as_deref(), |s| email("player.email", s))?,
        tags,
        brand: optional(p.brand.as_deref(), |s| text("player.brand", s, MAX_BRAND_CHARS, false))?,
    })
}

fn check_timeout(timeout_s: Option<u64>, min_timeout_s: u64) -> Result<Duration, InvalidRequest> {
    let s = timeout_s.unwrap_or(DEFAULT_TIMEOUT_S);
    if !(min_timeout_s..=MAX_TIMEOUT_S).contains(&s) {
        return Err(invalid("timeout_s", format!("must be {min_timeout_s}..={MAX_TIMEOUT_S} seconds, got {s}")));
    }
    Ok(Duration::from_secs(s))
}

fn check_context(context: serde_json::Value) -> Result<serde_json::Value, InvalidRequest> {
    let bytes = context.to_string().len();
    if bytes > MAX_CONTEXT_BYTES {
        return Err(invalid("context", format!("too large: {bytes} bytes serialized, at most {MAX_CONTEXT_BYTES}")));
    }
    Ok(context)
}
