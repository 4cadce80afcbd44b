//! The parts of an escalation request: the player, the input fields, and the
//! validated request as it is stored and rendered. Validation itself (limits,
//! messages naming the field) lives in `escalation::request`.

use super::{Destination, Policy};
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use std::time::Duration;

#[derive(utoipa::ToSchema, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Player {
    pub name: Option<String>,
    pub email: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub brand: Option<String>,
}

#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Required; defaulted so that validation names it when it is missing.
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub kind: FieldKind,
    #[serde(default)]
    pub multiline: bool,
    #[serde(default)]
    pub required: bool,
    pub placeholder: Option<String>,
    /// Text fields only; validation fills in the maximum when absent.
    pub max_length: Option<u32>,
    /// Choice fields only: plain strings or `{"value", "title"}` objects.
    #[serde(default)]
    pub options: Vec<ChoiceOption>,
    /// Choice fields only: several values, comma-separated in the answer.
    #[serde(default)]
    pub multiple: bool,
}

#[derive(utoipa::ToSchema, Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    #[default]
    Text,
    Choice,
}

/// Deserializes from `"value"` (title = value) or `{"value", "title"?}`.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChoiceOption {
    pub value: String,
    pub title: String,
}

impl<'de> Deserialize<'de> for ChoiceOption {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged, expecting = "an option: a string, or {\"value\": string, \"title\": string}")]
        enum Raw {
            Plain(String),
            Full {
                value: String,
                #[serde(default)]
                title: Option<String>,
            },
        }
        Ok(match Raw::deserialize(deserializer)? {
            Raw::Plain(value) => ChoiceOption { title: value.clone(), value },
            Raw::Full { value, title } => ChoiceOption { title: title.unwrap_or_else(|| value.clone()), value },
        })
    }
}

/// A request that passed validation: trimmed, defaults applied. Stored as JSON
/// with its escalation (this serde form is the stored one: keep it readable by
/// older rows) and rendered on its card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidEscalation {
    pub key: Option<String>,
    pub to: Destination,
    pub player: Player,
    pub summary: String,
    pub question: Option<String>,
    pub fields: Vec<FieldSpec>,
    pub timeout: Duration,
    /// The engine's own data, returned untouched.
    pub context: serde_json::Value,
    /// What happens while nobody answers, resolved from a preset if one was named.
    /// (Absent from rows written before policies, and from requests without one.)
    #[serde(default, skip_serializing_if = "Policy::is_none")]
    pub policy: Policy,
}

impl ValidEscalation {
    /// Hex SHA-256 of the canonical JSON (sorted keys) of everything but `key`.
    /// Escalations are looked up by key, so the key itself adds nothing: the same
    /// key with an equal fingerprint is a retry; with a different one, a conflict.
    pub fn fingerprint(&self) -> String {
        fingerprint(serde_json::to_value(self).unwrap_or(serde_json::Value::Null))
    }
}

/// Hex SHA-256 of `value`'s canonical JSON (sorted keys) without its top-level
/// `key`: what makes two requests under one idempotency key the same request.
pub fn fingerprint(mut value: serde_json::Value) -> String {
    if let Some(object) = value.as_object_mut() {
        object.remove("key");
    }
    let mut canonical = String::new();
    write_canonical(&value, &mut canonical);
    let digest = Sha256::digest(canonical.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// JSON with object keys sorted at every level, whatever serde_json's map order is.
fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}
