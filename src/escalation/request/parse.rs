//! Turning a request body into an [`EscalationRequest`], with errors that name a field.
//!
//! serde_json's errors carry no path, so when the typed parse fails the body is
//! re-examined piece by piece (top-level keys, `to`, `player`, each `fields[i]`
//! and its `options[j]`) to find the first piece that fails on its own. The derived
//! `Deserialize` stays the single authority on what is accepted.

use super::{ChoiceOption, Destination, EscalationRequest, FieldKind, FieldSpec, InvalidRequest};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Bodies beyond this are refused before parsing; valid requests are far smaller.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const DESTINATIONS: &str = "space_id, person_email, person_id";

impl<'de> Deserialize<'de> for Destination {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            space_id: Option<String>,
            person_email: Option<String>,
            person_id: Option<String>,
        }
        let raw = Raw::deserialize(deserializer)?;
        match (raw.space_id, raw.person_email, raw.person_id) {
            (Some(id), None, None) => Ok(Destination::SpaceId(id)),
            (None, Some(email), None) => Ok(Destination::PersonEmail(email)),
            (None, None, Some(id)) => Ok(Destination::PersonId(id)),
            (None, None, None) => {
                Err(D::Error::custom(format!("missing destination: give exactly one of {DESTINATIONS}")))
            }
            _ => Err(D::Error::custom(format!("several destinations: give exactly one of {DESTINATIONS}"))),
        }
    }
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

/// Parses a request body; the error names the field at fault (`body` for syntax errors).
pub fn parse(body: &[u8]) -> Result<EscalationRequest, InvalidRequest> {
    if body.len() > MAX_BODY_BYTES {
        return Err(InvalidRequest::new("body", format!("too large: {} bytes, at most {MAX_BODY_BYTES}", body.len())));
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| InvalidRequest::new("body", format!("not valid JSON: {e}")))?;
    EscalationRequest::deserialize(&value).map_err(|e| diagnose(&value, &e.to_string()))
}

type Check = fn(&Value, &str) -> Result<(), InvalidRequest>;

/// Succeeds when `value` deserializes as `T`; else names `path`, or `path.x` when
/// serde reports a missing or unknown field `x`.
fn typed<T: DeserializeOwned>(value: &Value, path: &str) -> Result<(), InvalidRequest> {
    T::deserialize(value).map(|_| ()).map_err(|e| located(path, &e.to_string()))
}

fn located(path: &str, message: &str) -> InvalidRequest {
    let join = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let named = |marker: &str| {
        let rest = message.strip_prefix(marker)?;
        rest.split('`').next().map(str::to_owned)
    };
    if let Some(name) = named("missing field `") {
        return InvalidRequest::new(join(&name), "is required");
    }
    if let Some(name) = named("unknown field `") {
        let expected = message.split_once(", expected ").map(|(_, e)| format!("; expected {e}")).unwrap_or_default();
        return InvalidRequest::new(join(&name), format!("unknown field{expected}"));
    }
    let field = if path.is_empty() { "body" } else { path };
    InvalidRequest::new(field, message)
}

/// Runs `checks` on the keys of `value` that have one, in order; then `whole`.
fn object(value: &Value, path: &str, checks: &[(&str, Check)], whole: Check) -> Result<(), InvalidRequest> {
    let Some(map) = value.as_object() else {
        let field = if path.is_empty() { "body" } else { path };
        return Err(InvalidRequest::new(field, "must be a JSON object"));
    };
    for (key, check) in checks {
        if let Some(v) = map.get(*key) {
            let sub = if path.is_empty() { (*key).to_owned() } else { format!("{path}.{key}") };
            check(v, &sub)?;
        }
    }
    whole(value, path)
}

fn diagnose(value: &Value, message: &str) -> InvalidRequest {
    let checks: [(&str, Check); 8] = [
        ("key", typed::<Option<String>>),
        ("to", destination),
        ("player", player),
        ("summary", typed::<String>),
        ("question", typed::<Option<String>>),
        ("fields", fields),
        ("timeout_s", typed::<Option<u64>>),
        ("context", typed::<Value>),
    ];
    match object(value, "", &checks, typed::<EscalationRequest>) {
        Err(e) if e.field == "to" && e.message == "is required" => {
            InvalidRequest::new("to", format!("missing destination: give exactly one of {DESTINATIONS}"))
        }
        Err(e) => e,
        Ok(()) => InvalidRequest::new("body", message),
    }
}

fn destination(value: &Value, path: &str) -> Result<(), InvalidRequest> {
    typed::<Destination>(value, path).map_err(|e| match e.message.as_str() {
        // An unknown destination kind is a wrong `to`, not a wrong sub-field.
        m if m.starts_with("unknown field") => InvalidRequest::new(
            path,
            format!(
                "unknown destination {:?}: give exactly one of {DESTINATIONS}",
                e.field.rsplit('.').next().unwrap_or("")
            ),
        ),
        _ => InvalidRequest::new(path, e.message),
    })
}

fn player(value: &Value, path: &str) -> Result<(), InvalidRequest> {
    let checks: [(&str, Check); 4] = [
        ("name", typed::<Option<String>>),
        ("email", typed::<Option<String>>),
        ("tags", strings),
        ("brand", typed::<Option<String>>),
    ];
    object(value, path, &checks, typed::<super::Player>)
}

fn strings(value: &Value, path: &str) -> Result<(), InvalidRequest> {
    elements(value, path, typed::<String>)
}

fn elements(value: &Value, path: &str, each: Check) -> Result<(), InvalidRequest> {
    let Some(items) = value.as_array() else {
        return Err(InvalidRequest::new(path, "must be a JSON array"));
    };
    for (i, item) in items.iter().enumerate() {
        each(item, &format!("{path}[{i}]"))?;
    }
    Ok(())
}

fn fields(value: &Value, path: &str) -> Result<(), InvalidRequest> {
    elements(value, path, field)
}

fn field(value: &Value, path: &str) -> Result<(), InvalidRequest> {
    let checks: [(&str, Check); 9] = [
        ("id", typed::<String>),
        ("label", typed::<String>),
        ("kind", typed::<FieldKind>),
        ("multiline", typed::<bool>),
        ("required", typed::<bool>),
        ("placeholder", typed::<Option<String>>),
        ("max_length", typed::<Option<u32>>),
        ("options", options),
        ("multiple", typed::<bool>),
    ];
    object(value, path, &checks, typed::<FieldSpec>)
}

fn options(value: &Value, path: &str) -> Result<(), InvalidRequest> {
    elements(value, path, typed::<ChoiceOption>)
}
