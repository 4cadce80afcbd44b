//! The tools' arguments: their JSON schemas (from these types and their doc
//! comments, which a model reads as the argument descriptions) and their
//! parsing, which names the argument at fault in a tool error the model sees.

use super::error::ToolError;
use super::to::To;
use crate::model::{ChoiceOption, FieldKind, FieldSpec, Player};
use rmcp::model::JsonObject;
use rmcp::schemars::{self, JsonSchema};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::time::Duration;

/// How long `ask_specialist` and `get_answer` wait when `wait_s` is not given:
/// well under the 60 s after which MCP clients commonly give up on a call.
pub const DEFAULT_WAIT_S: f64 = 45.0;
/// The longest wait one call may ask for.
pub const MAX_WAIT_S: f64 = 300.0;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListSpacesArgs {
    /// Only spaces whose title contains this text (case-insensitive). Omit to list them all.
    pub query: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindPersonArgs {
    /// The person's email address, e.g. "ana@example.com".
    pub email: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AskArgs {
    pub to: To,
    /// What the specialist needs to know, in a few sentences: the situation, what was tried, what is at stake. Shown on the card. Required, at most 4000 characters.
    pub summary: String,
    /// The one question the specialist should answer, e.g. "Can we release withdrawal #4411?". At most 1000 characters.
    pub question: Option<String>,
    /// The customer the question is about, shown on the card as facts.
    pub player: Option<PlayerArg>,
    /// The inputs the card asks for. Omit for one required free-text box (the answer then comes back as answer.inputs.response).
    pub fields: Option<Vec<FieldArg>>,
    /// How long specialists have to answer before the escalation expires, in seconds. Default 1800 (30 minutes), at most 604800.
    pub timeout_s: Option<u64>,
    /// The name of a policy preset the operator configured (e.g. "standard"): who gets reminded and when, and what happens at the deadline. Omit for the daemon's default policy. An unknown name is an error that lists the presets.
    pub policy: Option<String>,
    /// Your idempotency key for this question, e.g. "conversation-8812/turn-14" (at most 200 characters). Calling again with the same key returns the same escalation instead of posting a second card. Without it, a key is derived from the other arguments, so an identical call within 5 minutes returns the same escalation too.
    pub key: Option<String>,
    /// How long this call waits for the answer, in seconds (0 to 300, default 45). Keep it below your client's time limit for one tool call; if no answer came by then you get status "pending" and call get_answer.
    #[schemars(range(min = 0, max = 300))]
    pub wait_s: Option<f64>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlayerArg {
    /// The customer's name.
    pub name: Option<String>,
    /// The customer's email.
    pub email: Option<String>,
    /// Short labels such as "VIP" or "KYC pending" (at most 20).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The brand or product the customer uses.
    pub brand: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldArg {
    /// The key of this input in the answer (answer.inputs.<id>): letters, digits, "_", "-", "."; not starting with "_".
    pub id: String,
    /// The label the specialist sees above the input.
    pub label: String,
    /// "text" (default) for free text, or "choice" for a pick from `options`.
    pub kind: Option<FieldKindArg>,
    /// Text only: a multi-line box.
    #[serde(default)]
    pub multiline: bool,
    /// Whether the specialist must fill it in (default false).
    #[serde(default)]
    pub required: bool,
    /// Grey hint text shown in the empty input.
    pub placeholder: Option<String>,
    /// Text only: the longest answer accepted (default 4000 characters).
    pub max_length: Option<u32>,
    /// Choice only: the options, as strings or {"value", "title"} objects (1 to 25).
    #[serde(default)]
    pub options: Vec<OptionArg>,
    /// Choice only: several options may be picked (answered comma-separated).
    #[serde(default)]
    pub multiple: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldKindArg {
    Text,
    Choice,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OptionArg {
    /// The value, shown as its own title.
    Plain(String),
    /// A value and the title the specialist sees.
    Titled {
        /// What the answer carries when this option is picked.
        value: String,
        /// What the specialist sees (default: the value).
        title: Option<String>,
    },
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetAnswerArgs {
    /// The escalation_id that ask_specialist returned.
    pub escalation_id: String,
    /// How long to wait for the answer, in seconds (0 to 300, default 45): the call returns as soon as the escalation is answered or closed. Keep it below your client's time limit for one tool call.
    #[schemars(range(min = 0, max = 300))]
    pub wait_s: Option<f64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelArgs {
    /// The escalation_id that ask_specialist returned.
    pub escalation_id: String,
    /// Why it is no longer needed, shown on the card (e.g. "resolved in chat"). At most 500 characters.
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SendMessageArgs {
    pub to: To,
    /// The message as plain text. Give this or `markdown`.
    pub text: Option<String>,
    /// The message as Markdown (bold, lists, links). Give this or `text`.
    pub markdown: Option<String>,
}

/// The tool's arguments as `T`, or a tool error naming the argument at fault.
pub fn parse<T: DeserializeOwned>(arguments: JsonObject) -> Result<T, ToolError> {
    serde_path_to_error::deserialize(serde_json::Value::Object(arguments)).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path == "." {
            ToolError::Arguments(inner.to_string())
        } else {
            ToolError::Arguments(format!("{path}: {inner}"))
        }
    })
}

/// `wait_s` as a duration: absent means [`DEFAULT_WAIT_S`].
pub fn wait(wait_s: Option<f64>) -> Result<Duration, ToolError> {
    let seconds = wait_s.unwrap_or(DEFAULT_WAIT_S);
    if !(0.0..=MAX_WAIT_S).contains(&seconds) {
        return Err(ToolError::Arguments(format!("wait_s: between 0 and {MAX_WAIT_S} seconds, got {seconds}")));
    }
    Ok(Duration::from_secs_f64(seconds))
}

impl From<PlayerArg> for Player {
    fn from(p: PlayerArg) -> Self {
        Player { name: p.name, email: p.email, tags: p.tags, brand: p.brand }
    }
}

impl From<FieldArg> for FieldSpec {
    fn from(f: FieldArg) -> Self {
        let kind = match f.kind {
            Some(FieldKindArg::Choice) => FieldKind::Choice,
            Some(FieldKindArg::Text) | None => FieldKind::Text,
        };
        let options = f
            .options
            .into_iter()
            .map(|option| match option {
                OptionArg::Plain(value) => ChoiceOption { title: value.clone(), value },
                OptionArg::Titled { value, title } => {
                    ChoiceOption { title: title.unwrap_or_else(|| value.clone()), value }
                }
            })
            .collect();
        FieldSpec {
            id: f.id,
            label: f.label,
            kind,
            multiline: f.multiline,
            required: f.required,
            placeholder: f.placeholder,
            max_length: f.max_length,
            options,
            multiple: f.multiple,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: serde_json::Value) -> JsonObject {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn a_bad_argument_is_named() {
        let error = parse::<AskArgs>(object(json!({"to": "a@b.co"}))).unwrap_err();
        assert!(error.to_string().contains("summary"), "{error}");
        let error = parse::<AskArgs>(object(json!({"to": "a@b.co", "summary": "s", "wait_s": "soon"}))).unwrap_err();
        assert!(error.to_string().starts_with("wait_s:"), "{error}");
        let error = parse::<AskArgs>(object(json!({"to": "a@b.co", "summary": "s", "questions": "?"}))).unwrap_err();
        assert!(error.to_string().contains("questions"), "{error}");
    }

    #[test]
    fn wait_is_bounded_and_defaults_under_a_minute() {
        assert_eq!(wait(None).unwrap(), Duration::from_secs(45));
        assert_eq!(wait(Some(0.5)).unwrap(), Duration::from_millis(500));
        assert!(wait(Some(301.0)).is_err());
        assert!(wait(Some(-1.0)).is_err());
        assert!(wait(Some(f64::NAN)).is_err());
    }

    #[test]
    fn fields_become_the_daemons_field_specs() {
        let args: AskArgs = parse(object(json!({
            "to": "a@b.co", "summary": "s",
            "fields": [{"id": "ok", "label": "Release?", "kind": "choice", "options": ["yes", {"value": "no", "title": "No, hold it"}]}]
        })))
        .unwrap();
        let field = FieldSpec::from(args.fields.unwrap().remove(0));
        assert_eq!(field.kind, FieldKind::Choice);
        assert_eq!(field.options[0], ChoiceOption { value: "yes".into(), title: "yes".into() });
        assert_eq!(field.options[1].title, "No, hold it");
    }
}
