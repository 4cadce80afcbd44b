//! What happens while nobody answers: an escalation's policy, as the engine
//! (or a preset in the configuration) asks for it, and as it is validated and
//! stored with the escalation.
//!
//! Why in the model: the request, the configuration's presets and the stored
//! escalation all carry it, and the timers read it. The policy is resolved
//! and stored with the escalation at creation, so a configuration change
//! never alters the ladder of an escalation already running.
//!
//! Validation is here too (pure, no I/O), so that a preset in the
//! configuration and a policy in a request are held to the same rules; its
//! errors name the field inside the policy (`remind_after_s`) and the caller
//! adds where the policy came from (`policy.` or `policies.standard.`).

use super::{BusinessHours, Destination};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest wait a policy may name: the longest escalation (`timeout_s`).
pub const MAX_POLICY_WAIT_S: u64 = 604_800;
/// Reminders are threaded replies under the card: a few help, many are spam.
pub const MAX_REMINDERS: u32 = 20;
pub const MAX_MENTIONS: usize = 10;
/// Fallback destinations: a ladder of a few, not a broadcast.
pub const MAX_FALLBACKS: usize = 5;

/// `policy` in a request: a preset's name, or a policy given inline.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PolicyChoice {
    Preset(String),
    Inline(Box<PolicyRequest>),
}

/// By hand rather than `untagged`: an untagged enum reports only "matched no
/// variant", while this lets a mistake inside an inline policy keep its path
/// (`policy.max_reminders: invalid type…`).
impl<'de> Deserialize<'de> for PolicyChoice {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Choice;
        impl<'de> serde::de::Visitor<'de> for Choice {
            type Value = PolicyChoice;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a policy: the name of a preset, or an object such as {\"remind_after_s\": 600}")
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<PolicyChoice, E> {
                Ok(PolicyChoice::Preset(name.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<PolicyChoice, A::Error> {
                PolicyRequest::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|p| PolicyChoice::Inline(Box::new(p)))
            }
        }
        deserializer.deserialize_any(Choice)
    }
}

/// A policy as written in a request or a preset.
#[derive(utoipa::ToSchema, Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remind_after_s: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remind_every_s: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_reminders: Option<u32>,
    #[serde(default, skip_serializing_if = "RemindRequest::is_empty")]
    pub remind: RemindRequest,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_deadline: Option<OnDeadline>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalate_after_s: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalate_to: Vec<Destination>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim: Option<ClaimRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<BusinessHours>,
}

#[derive(utoipa::ToSchema, Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemindRequest {
    /// People a reminder mentions, by email (in a space; a DM notifies anyway).
    #[serde(default)]
    pub mention: Vec<String>,
}

/// `"claim": {"enabled": true, "claim_timeout_s": 900, "only_claimer_answers": false}`.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_timeout_s: Option<u64>,
    #[serde(default)]
    pub only_claimer_answers: bool,
}

fn yes() -> bool {
    true
}

impl RemindRequest {
    fn is_empty(&self) -> bool {
        self.mention.is_empty()
    }
}

/// What happens when the escalation's time is up and nobody answered.
#[derive(utoipa::ToSchema, Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnDeadline {
    /// It expires (`escalation.expired`), as without a policy.
    #[default]
    Expire,
    /// It stays open: a late answer is still taken.
    KeepPending,
    /// A default answer is recorded, as automatic (`escalation.defaulted`).
    Default(BTreeMap<String, String>),
}

/// A validated policy, as stored with its escalation.
#[derive(utoipa::ToSchema, Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminders: Option<Reminders>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
    /// When reminders and fallbacks may go; a step due outside waits for the next window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<BusinessHours>,
    #[serde(default, skip_serializing_if = "OnDeadline::is_expire")]
    pub on_deadline: OnDeadline,
}

#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reminders {
    /// After the card is posted.
    pub first_after_s: u64,
    pub every_s: u64,
    pub max: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mention: Vec<String>,
}

/// "I'm on it": a specialist may claim the escalation, which stops its
/// reminders and fallbacks; a claim not answered within `timeout_s` lapses.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<u64>,
    /// Whether only the claimer may answer (otherwise anyone may, first answer wins).
    #[serde(default)]
    pub only_claimer: bool,
}

/// Where the escalation goes next when nobody answered: destination `k`
/// (1-based) gets a fresh card `k × after_s` after the first card was posted.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fallback {
    pub after_s: u64,
    pub to: Vec<Destination>,
}

impl OnDeadline {
    fn is_expire(&self) -> bool {
        *self == OnDeadline::Expire
    }
}

impl Policy {
    pub fn is_none(&self) -> bool {
        *self == Policy::default()
    }

    /// `at`, or the start of the next business-hours window if it falls outside.
    pub fn open_at(&self, at: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
        self.business_hours.as_ref().map_or(at, |hours| hours.next_open(at))
    }
}

/// A policy field at fault, named inside the policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PolicyError {
    pub field: String,
    pub message: String,
}

fn error(field: &str, message: impl Into<String>) -> PolicyError {
    PolicyError { field: field.to_owned(), message: message.into() }
}

impl PolicyRequest {
    /// The parts that do not depend on the escalation: durations in range,
    /// mentions that are emails, nothing asked for that this version cannot do.
    pub fn validate(&self) -> Result<Policy, PolicyError> {
        if let Some(hours) = &self.business_hours {
            hours.validate().map_err(|(field, message)| error(&format!("business_hours.{field}"), message))?;
        }
        Ok(Policy {
            business_hours: self.business_hours.clone(),
            reminders: self.reminders()?,
            fallback: self.fallback()?,
            claim: self.claim()?,
            on_deadline: self.on_deadline.clone().unwrap_or_default(),
        })
    }

    fn reminders(&self) -> Result<Option<Reminders>, PolicyError> {
        let Some(first_after_s) = self.remind_after_s else {
            let stray = [
                ("remind_every_s", self.remind_every_s.is_some()),
                ("max_reminders", self.max_reminders.is_some()),
                ("remind.mention", !self.remind.mention.is_empty()),
            ];
            return match stray.iter().find(|(_, given)| *given) {
                Some((field, _)) => Err(error(field, "needs remind_after_s: when the first reminder goes")),
                None => Ok(None),
            };
        };
        let every_s = self.remind_every_s.unwrap_or(first_after_s);
        for (field, s) in [("remind_after_s", first_after_s), ("remind_every_s", every_s)] {
            if !(1..=MAX_POLICY_WAIT_S).contains(&s) {
                return Err(error(field, format!("must be 1..={MAX_POLICY_WAIT_S} seconds, got {s}")));
            }
        }
        let max = self.max_reminders.unwrap_or(1);
        if !(1..=MAX_REMINDERS).contains(&max) {
            return Err(error("max_reminders", format!("must be 1..={MAX_REMINDERS}, got {max}")));
        }
        Ok(Some(Reminders { first_after_s, every_s, max, mention: mentions(&self.remind.mention)? }))
    }
}

impl PolicyRequest {
    fn claim(&self) -> Result<Option<Claim>, PolicyError> {
        let Some(claim) = self.claim.as_ref().filter(|c| c.enabled) else { return Ok(None) };
        if let Some(s) = claim.claim_timeout_s {
            if !(1..=MAX_POLICY_WAIT_S).contains(&s) {
                return Err(error(
                    "claim.claim_timeout_s",
                    format!("must be 1..={MAX_POLICY_WAIT_S} seconds, got {s}"),
                ));
            }
        }
        Ok(Some(Claim { timeout_s: claim.claim_timeout_s, only_claimer: claim.only_claimer_answers }))
    }

    fn fallback(&self) -> Result<Option<Fallback>, PolicyError> {
        match (self.escalate_after_s, self.escalate_to.is_empty()) {
            (None, true) => Ok(None),
            (None, false) => Err(error("escalate_to", "needs escalate_after_s: when to escalate")),
            (Some(_), true) => Err(error("escalate_to", "needs at least one destination to escalate to")),
            (Some(after_s), false) => {
                if !(1..=MAX_POLICY_WAIT_S).contains(&after_s) {
                    return Err(error(
                        "escalate_after_s",
                        format!("must be 1..={MAX_POLICY_WAIT_S} seconds, got {after_s}"),
                    ));
                }
                if self.escalate_to.len() > MAX_FALLBACKS {
                    let n = self.escalate_to.len();
                    return Err(error("escalate_to", format!("too many: {n}, at most {MAX_FALLBACKS}")));
                }
                Ok(Some(Fallback { after_s, to: self.escalate_to.clone() }))
            }
        }
    }
}

fn mentions(raw: &[String]) -> Result<Vec<String>, PolicyError> {
    if raw.len() > MAX_MENTIONS {
        return Err(error("remind.mention", format!("too many: {}, at most {MAX_MENTIONS}", raw.len())));
    }
    raw.iter()
        .enumerate()
        .map(|(i, email)| {
            let email = email.trim();
            if super::is_email(email) && email.len() <= 254 {
                Ok(email.to_owned())
            } else {
                Err(error(&format!("remind.mention[{i}]"), format!("not an email address: {email:?}")))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: serde_json::Value) -> PolicyRequest {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn reminders_default_to_one_at_the_first_interval() {
        let policy = parse(serde_json::json!({"remind_after_s": 600})).validate().unwrap();
        assert_eq!(policy.reminders, Some(Reminders { first_after_s: 600, every_s: 600, max: 1, mention: vec![] }));
        assert_eq!(policy.on_deadline, OnDeadline::Expire);
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (serde_json::json!({"remind_after_s": 0}), "remind_after_s"),
            (serde_json::json!({"remind_after_s": 5, "remind_every_s": 700_000}), "remind_every_s"),
            (serde_json::json!({"remind_after_s": 5, "max_reminders": 0}), "max_reminders"),
            (serde_json::json!({"remind_after_s": 5, "max_reminders": 21}), "max_reminders"),
            (serde_json::json!({"remind_every_s": 5}), "remind_every_s"),
            (serde_json::json!({"remind": {"mention": ["ana@example.com"]}}), "remind.mention"),
            (
                serde_json::json!({"remind_after_s": 5, "remind": {"mention": ["ana@example.com", "nope"]}}),
                "remind.mention[1]",
            ),
            (serde_json::json!({"claim": {"claim_timeout_s": 0}}), "claim.claim_timeout_s"),
            (serde_json::json!({"escalate_to": [{"space_id": "R"}]}), "escalate_to"),
            (serde_json::json!({"escalate_after_s": 60}), "escalate_to"),
            (serde_json::json!({"escalate_after_s": 0, "escalate_to": [{"space_id": "R"}]}), "escalate_after_s"),
            (
                serde_json::json!({"business_hours": {"tz": "Nowhere", "days": "mon", "from": "08:00", "to": "09:00"}}),
                "business_hours.tz",
            ),
        ];
        for (json, field) in cases {
            let err = parse(json.clone()).validate().unwrap_err();
            assert_eq!(err.field, field, "{json}: {err}");
        }
    }

    #[test]
    fn on_deadline_reads_the_three_forms() {
        let of = |v: serde_json::Value| parse(serde_json::json!({"on_deadline": v})).validate().unwrap().on_deadline;
        assert_eq!(of("expire".into()), OnDeadline::Expire);
        assert_eq!(of("keep_pending".into()), OnDeadline::KeepPending);
        let inputs = BTreeMap::from([("decision".to_owned(), "hold".to_owned())]);
        assert_eq!(of(serde_json::json!({"default": {"decision": "hold"}})), OnDeadline::Default(inputs));
        assert!(serde_json::from_value::<PolicyRequest>(serde_json::json!({"on_deadline": "later"})).is_err());
    }

    #[test]
    fn a_policy_is_a_preset_name_or_inline() {
        let named: PolicyChoice = serde_json::from_value(serde_json::json!("standard")).unwrap();
        assert_eq!(named, PolicyChoice::Preset("standard".into()));
        let inline: PolicyChoice = serde_json::from_value(serde_json::json!({"remind_after_s": 3})).unwrap();
        assert!(matches!(inline, PolicyChoice::Inline(p) if p.remind_after_s == Some(3)));
    }

    #[test]
    fn no_policy_stores_nothing() {
        assert_eq!(serde_json::to_value(Policy::default()).unwrap(), serde_json::json!({}));
        assert!(Policy::default().is_none());
    }
}
