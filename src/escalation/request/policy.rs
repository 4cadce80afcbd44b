//! The request's `policy`: a preset resolved, then held to what only the
//! escalation itself can tell — a reminder or a fallback that would come after
//! the deadline, a fallback destination of the wrong shape,
//! a default answer that the fields would refuse, an automatic answer the
//! operator did not allow.

use super::{check_answer, check_destination, invalid, InvalidRequest};
use crate::config::EscalationsConfig;
use crate::model::{OnDeadline, Policy, PolicyChoice, PolicyRequest, ValidEscalation};

/// The policy the escalation runs under; the default preset when it names none.
pub(super) fn check(
    choice: Option<PolicyChoice>,
    valid: &ValidEscalation,
    rules: &EscalationsConfig,
) -> Result<Policy, InvalidRequest> {
    let (request, from) = match resolve(choice, rules)? {
        Some(found) => found,
        None => return Ok(Policy::default()),
    };
    let mut policy = request.validate().map_err(|e| named(&from, &e.field, e.message))?;
    if let Some(reminders) = &policy.reminders {
        let timeout_s = valid.timeout.as_secs();
        if policy.on_deadline != OnDeadline::KeepPending && reminders.first_after_s >= timeout_s {
            let message = format!(
                "{} s is not before the deadline (timeout_s {timeout_s}): the reminder would never go",
                reminders.first_after_s
            );
            return Err(named(&from, "remind_after_s", message));
        }
    }
    if let Some(fallback) = &mut policy.fallback {
        let timeout_s = valid.timeout.as_secs();
        if policy.on_deadline != OnDeadline::KeepPending && fallback.after_s >= timeout_s {
            let message = format!(
                "{} s is not before the deadline (timeout_s {timeout_s}): nobody would be escalated to",
                fallback.after_s
            );
            return Err(named(&from, "escalate_after_s", message));
        }
        for (i, to) in std::mem::take(&mut fallback.to).into_iter().enumerate() {
            // The destination rule is the request's own; only the field's name differs.
            let checked = check_destination(to).map_err(|e| {
                let inner = e.field.strip_prefix("to").unwrap_or(&e.field);
                named(&from, &format!("escalate_to[{i}]{inner}"), e.message)
            })?;
            fallback.to.push(checked);
        }
    }
    if let OnDeadline::Default(inputs) = &policy.on_deadline {
        if !rules.automatic_answers {
            return Err(named(
                &from,
                "on_deadline.default",
                "automatic answers are off in this daemon's configuration \
                 (escalations.automatic_answers = false): ask the operator, or use \"expire\" or \"keep_pending\"",
            ));
        }
        let cleaned = check_answer(&valid.fields, inputs)
            .map_err(|e| named(&from, &format!("on_deadline.default.{}", e.field), e.message))?;
        policy.on_deadline = OnDeadline::Default(cleaned);
    }
    Ok(policy)
}

/// Where a policy came from, for error messages: `policy`, or a preset.
enum From {
    Request,
    Preset(String),
}

fn resolve(
    choice: Option<PolicyChoice>,
    rules: &EscalationsConfig,
) -> Result<Option<(PolicyRequest, From)>, InvalidRequest> {
    let preset = |name: &str| {
        rules.policies.get(name).cloned().map(|p| (p, From::Preset(name.to_owned()))).ok_or_else(|| {
            invalid(
                "policy",
                format!("no preset {name:?} in this daemon's configuration (presets: {})", rules.preset_names()),
            )
        })
    };
    match choice {
        Some(PolicyChoice::Inline(request)) => Ok(Some((*request, From::Request))),
        Some(PolicyChoice::Preset(name)) => preset(name.trim()).map(Some),
        None => rules.default_policy.as_deref().map(preset).transpose(),
    }
}

fn named(from: &From, field: &str, message: impl Into<String>) -> InvalidRequest {
    match from {
        From::Request => invalid(format!("policy.{field}"), message),
        From::Preset(name) => invalid("policy", format!("preset {name:?}: {field}: {}", message.into())),
    }
}
