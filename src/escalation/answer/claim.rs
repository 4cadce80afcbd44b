//! "I'm on it": a press of the card's claim button. The first claim wins (a
//! compare-and-set in the store); later claimers are told who holds it, and a
//! policy may let only the claimer answer.

use super::{AnswerError, AnswerHandler, Submission, Verdict};
use crate::escalation::card::{ACTION_CLAIM, DATA_ACTION};
use crate::model::{Answerer, Escalation};
use crate::store::{ClaimOutcome, Handled};
use crate::webex::ids;
use crate::webex::rest::AttachmentAction;
use chrono::{Duration, Utc};

pub(super) fn is_claim(action: &AttachmentAction) -> bool {
    action.inputs.get(DATA_ACTION).map(String::as_str) == Some(ACTION_CLAIM)
}

/// A claim is taken only where the policy offers one.
pub(super) fn judge(record: &Escalation, by: Answerer) -> Verdict {
    match &record.request.policy.claim {
        Some(_) => Verdict::Claim(by),
        None => Verdict::Refuse("This request cannot be claimed; answer it with Provide Input.".into()),
    }
}

/// Why `person_id` may not answer while someone else holds the claim, when the
/// policy lets only the claimer answer.
pub(super) fn held_by_another(record: &Escalation, person_id: &str) -> Option<String> {
    let claim = record.claim.as_ref()?;
    let only_claimer = record.request.policy.claim.as_ref().is_some_and(|c| c.only_claimer);
    let same = |a: &str, b: &str| {
        ids::uuid_of(a)
            .unwrap_or_else(|| a.to_owned())
            .eq_ignore_ascii_case(&ids::uuid_of(b).unwrap_or_else(|| b.to_owned()))
    };
    (only_claimer && !same(&claim.by.id, person_id))
        .then(|| format!("{} claimed this request: only they can answer it.", claim.by.name))
}

impl AnswerHandler {
    pub(super) async fn claim(
        &self,
        submission: &Submission,
        by: Answerer,
        activity: &str,
    ) -> Result<Handled, AnswerError> {
        let record = &submission.escalation;
        let timeout = record.request.policy.claim.as_ref().and_then(|c| c.timeout_s);
        let expires_at = timeout.map(|s| Utc::now() + Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX)));
        let name = by.name.clone();
        match self.ctx.store.claim_escalation(&record.id, by, expires_at, activity).await? {
            ClaimOutcome::Claimed(_) => {
                tracing::info!(escalation = %record.id, by = %name, "claimed");
                self.ctx.metrics.policy_step("claimed");
                Ok(Handled::Committed)
            }
            ClaimOutcome::Held(now) => {
                let holder = now.claim.map(|c| format!("{} at {}", c.by.name, c.at.format("%H:%M UTC")));
                let text = format!("Already claimed by {}.", holder.unwrap_or_else(|| "someone".into()));
                self.reply(submission, text, activity).await
            }
            ClaimOutcome::NotPending(now) => {
                let why = super::already_closed(&now).unwrap_or_else(|| "This request is closed.".into());
                self.reply(submission, why, activity).await
            }
            ClaimOutcome::Unknown => Ok(Handled::NoEffect),
        }
    }
}
