//! The Adaptive Card an escalation posts to Webex, in each of its states.
//!
//! Webex renders Adaptive Cards **1.3** (no `Action.Execute`, no `refresh`), so a
//! card cannot update itself: the daemon edits the message to a final-state card
//! with the inputs and the submit button removed. The submit button's `data`
//! carries the escalation id and its signature ([`super::signature`]); Webex merges
//! that data into the submission's inputs, which is how a click finds its escalation.
//!
//! Size: Webex caps `text` at 7439 bytes and refuses bodies much over 20 KB, so a
//! rendered card plus its fallback must stay within [`MAX_RENDERED_BYTES`].
//! Validation keeps [`FINAL_RESERVE_BYTES`] of that free for the final states,
//! whose status strings are capped; answers shown on an answered card are cut
//! until the card fits.

mod blocks;
mod bound;
mod claim;
#[cfg(test)]
mod literal_tests;
#[cfg(test)]
mod tests;
mod text;

use crate::model::{ClaimState, Escalation, Status, ValidEscalation};
use blocks::{answer_pairs, header, input, player_facts, status, status_line, submit, summary};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const SUBMIT_TITLE: &str = "Provide Input";
/// Keys of the `Action.Submit` data; field ids may not start with `_`.
pub const DATA_ESCALATION: &str = "_escalation";
pub const DATA_SIGNATURE: &str = "_sig";
/// Which button was pressed, when it is not Provide Input.
pub const DATA_ACTION: &str = "_action";
pub const ACTION_CLAIM: &str = "claim";
pub const CLAIM_TITLE: &str = "I'm on it";
pub const CARD_VERSION: &str = "1.3";
pub const CARD_SCHEMA: &str = "http://adaptivecards.io/schemas/adaptive-card.json";
/// Webex's limit on `text` and `markdown`.
pub const FALLBACK_MAX_BYTES: usize = crate::webex::rest::MAX_TEXT_BYTES;
/// Serialized card plus fallback text.
pub const MAX_RENDERED_BYTES: usize = 20_000;
/// Room a pending card must leave for the bigger status block of a final state.
pub const FINAL_RESERVE_BYTES: usize = 4_000;
/// Longest escalation id and signature [`check_fits`] plans for.
const PLANNED_ID_CHARS: usize = 64;

const OPEN_HINT: &str = "Open this message in a Webex client that shows cards to answer.";
/// The fallback is a preview (notifications, clients without cards): long texts are
/// cut there so that the card itself keeps the room.
const FALLBACK_SUMMARY_CHARS: usize = 1500;
const FALLBACK_QUESTION_CHARS: usize = 500;
/// Caps tried in turn on each answer shown on an answered card; 0 hides the values.
const ANSWER_CAPS: [usize; 6] = [1000, 400, 150, 60, 20, 0];

pub struct CardView<'a> {
    pub escalation_id: &'a str,
    pub signature: &'a str,
    pub request: &'a ValidEscalation,
    /// Who holds a claim on the escalation, shown while it is pending.
    pub claim: Option<&'a ClaimState>,
}

#[derive(Debug, Clone, Copy)]
pub enum CardState<'a> {
    Pending,
    Answered {
        by_name: &'a str,
        by_email: Option<&'a str>,
        at: DateTime<Utc>,
        /// `None` when showing answers on the card is configured off.
        inputs: Option<&'a BTreeMap<String, String>>,
    },
    Expired {
        at: DateTime<Utc>,
    },
    Cancelled {
        at: DateTime<Utc>,
        reason: Option<&'a str>,
    },
    Failed {
        reason: &'a str,
    },
}

impl<'a> CardState<'a> {
    /// The state an escalation's card shows. `show_answers` puts the answer itself
    /// on an answered card (`escalations.show_answer_on_card`).
    pub fn of(record: &'a Escalation, show_answers: bool) -> Self {
        let closed_at = record.closed_or_updated_at();
        match record.status {
            Status::Pending => CardState::Pending,
            Status::Answered => match &record.answer {
                Some(answer) => CardState::Answered {
                    by_name: &answer.by.name,
                    by_email: answer.by.email.as_deref(),
                    at: answer.at,
                    inputs: show_answers.then_some(&answer.inputs),
                },
                // A row answered without its answer cannot come from this daemon;
                // show it closed all the same.
                None => CardState::Answered { by_name: "someone", by_email: None, at: closed_at, inputs: None },
            },
            Status::Expired => CardState::Expired { at: closed_at },
            Status::Cancelled => CardState::Cancelled { at: closed_at, reason: record.close_reason.as_deref() },
            Status::Failed => CardState::Failed { reason: record.close_reason.as_deref().unwrap_or("delivery failed") },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RenderedCard {
    /// The AdaptiveCard: `attachments[0].content` of the message.
    pub card: Value,
    /// Plain text for `text`, at most [`FALLBACK_MAX_BYTES`].
    pub fallback_text: String,
    /// Always `None`: no markdown is sent, so untrusted text cannot format it.
    pub markdown: Option<String>,
}

impl RenderedCard {
    /// Bytes this card and its fallback add to a JSON message body (the fallback
    /// counted as a JSON string: quotes and line breaks grow when escaped).
    pub fn size(&self) -> usize {
        let text = serde_json::Value::String(self.fallback_text.clone()).to_string();
        self.card.to_string().len() + text.len()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the card would be {bytes} bytes with its fallback text, over the limit of {limit}")]
    TooLarge { bytes: usize, limit: usize },
}

/// Renders the card for `state`, or refuses when it would not fit in a message.
pub fn render(view: &CardView, state: &CardState) -> Result<RenderedCard, RenderError> {
    render_within(view, state, MAX_RENDERED_BYTES)
}

/// Whether `request`'s pending card leaves room for every final state; run by
/// validation. Rendered only when the cheap bound ([`bound`]) cannot tell.
pub fn check_fits(request: &ValidEscalation) -> Result<(), RenderError> {
    let limit = MAX_RENDERED_BYTES - FINAL_RESERVE_BYTES;
    if bound::pending_card_bytes_at_most(request, PLANNED_ID_CHARS) <= limit {
        return Ok(());
    }
    let planned = "x".repeat(PLANNED_ID_CHARS);
    let view = CardView { escalation_id: &planned, signature: &planned, request, claim: None };
    render_within(&view, &CardState::Pending, limit).map(|_| ())
}

fn render_within(view: &CardView, state: &CardState, limit: usize) -> Result<RenderedCard, RenderError> {
    let inputs = match state {
        CardState::Answered { inputs: Some(inputs), .. } => *inputs,
        _ => return fit(build(view, state, &[]), limit),
    };
    for cap in ANSWER_CAPS {
        let answers = answer_pairs(&view.request.fields, inputs, cap);
        if let Ok(rendered) = fit(build(view, state, &answers), limit) {
            return Ok(rendered);
        }
    }
    // Even the labels don't fit: the status alone always does (validation kept room).
    fit(build(view, state, &[]), limit)
}

fn fit(rendered: RenderedCard, limit: usize) -> Result<RenderedCard, RenderError> {
    let bytes = rendered.size();
    if bytes > limit {
        return Err(RenderError::TooLarge { bytes, limit });
    }
    Ok(rendered)
}

fn build(view: &CardView, state: &CardState, answers: &[(String, String)]) -> RenderedCard {
    let request = view.request;
    let mut body = vec![header(request)];
    body.extend(player_facts(&request.player));
    body.extend(summary(request));
    let mut card = json!({
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
    });
    match status(state, answers) {
        Some(block) => body.push(block),
        None => {
            body.extend(view.claim.map(claim::block));
            body.extend(request.fields.iter().map(input));
            let mut actions = vec![submit(view.escalation_id, view.signature)];
            if request.policy.claim.is_some() && view.claim.is_none() {
                actions.push(claim::button(view.escalation_id, view.signature));
            }
            card["actions"] = Value::Array(actions);
        }
    }
    card["body"] = Value::Array(body);
    RenderedCard { card, fallback_text: fallback(request, state, answers), markdown: None }
}

/// "Specialist input needed — Player: Jane Doe (jane@example.com), VIP — LuckySpin"
fn headline(request: &ValidEscalation) -> String {
    let player = &request.player;
    let mut parts: Vec<String> = Vec::new();
    match (&player.name, &player.email) {
        (Some(name), Some(email)) => parts.push(format!("{name} ({email})")),
        (Some(one), None) | (None, Some(one)) => parts.push(one.clone()),
        (None, None) => {}
    }
    parts.extend(player.tags.iter().cloned());
    let mut line = blocks::TITLE.to_owned();
    if !parts.is_empty() {
        line.push_str(&format!(" — Player: {}", parts.join(", ")));
    }
    if let Some(brand) = &player.brand {
        line.push_str(&format!(" — {brand}"));
    }
    line
}

/// Plain text for clients without cards (and notifications): the same story, cut
/// to Webex's limit on a char boundary.
fn fallback(request: &ValidEscalation, state: &CardState, answers: &[(String, String)]) -> String {
    let summary = text::truncate_chars(&request.summary, FALLBACK_SUMMARY_CHARS);
    let mut lines = vec![headline(request), format!("Summary: {summary}")];
    if let Some(question) = &request.question {
        let question = text::truncate_chars(question, FALLBACK_QUESTION_CHARS);
        lines.push(format!("Question: {question}"));
    }
    match status_line(state) {
        None => lines.push(OPEN_HINT.to_owned()),
        Some(line) => {
            lines.push(line);
            lines.extend(answers.iter().map(|(l, v)| format!("{l}: {v}")));
        }
    }
    text::truncate_bytes(&text::plain(&lines.join("\n")), FALLBACK_MAX_BYTES)
}
