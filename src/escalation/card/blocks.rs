//! The Adaptive Card 1.3 elements of an escalation card, one builder per block.
//! Only elements Webex renders are used: RichTextBlock, ColumnSet, Container,
//! Input.Text, Input.ChoiceSet and Action.Submit.
//!
//! Untrusted text (player fields, summary, question, answers, reasons) goes in
//! `TextRun`s of `RichTextBlock`s (Adaptive Cards 1.2+): a TextRun is never
//! markdown, so it shows literally on every renderer, where TextBlock and
//! FactSet markdown differs by renderer and backslash escapes show on some.
//! Facts are therefore rows of two columns, not a FactSet (whose values are
//! markdown). Only input labels, which are our own fields' plain strings, keep
//! the escaped form.

use super::text::{md, plain, truncate_chars};
use super::{CardState, DATA_ESCALATION, DATA_SIGNATURE, SUBMIT_TITLE};
use crate::model::{FieldKind, FieldSpec, Player, ValidEscalation};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const TITLE: &str = "Specialist input needed";
/// Caps on the strings a final state adds, so every final state fits in the room
/// validation keeps free ([`super::FINAL_RESERVE_BYTES`]).
pub const MAX_PERSON_CHARS: usize = 100;
pub const MAX_REASON_CHARS: usize = 300;
/// Shown under an input the client refuses; the label is right above it.
const ERROR_MESSAGE: &str = "Please fill this in.";

pub fn when(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A run of text shown as it is: never markdown. Mentions and autolinks are
/// still broken with a zero-width space ([`plain`]), for clients that look for
/// them in any text.
fn run(text: &str) -> Value {
    json!({"type": "TextRun", "text": plain(text)})
}

/// `run` in bold.
pub(super) fn strong(text: &str) -> Value {
    let mut run = run(text);
    run["weight"] = json!("Bolder");
    run
}

pub(super) fn rich(inlines: Vec<Value>) -> Value {
    json!({"type": "RichTextBlock", "inlines": inlines})
}

/// One fact: its title in bold beside its value, both literal.
fn fact_row(title: &str, value: &str) -> Value {
    json!({"type": "ColumnSet", "columns": [
        {"type": "Column", "width": "auto", "items": [rich(vec![strong(title)])]},
        {"type": "Column", "width": "stretch", "items": [rich(vec![run(value)])]},
    ]})
}

fn fact_rows(rows: Vec<Value>) -> Option<Value> {
    (!rows.is_empty()).then(|| json!({"type": "Container", "items": rows}))
}

pub fn header(request: &ValidEscalation) -> Value {
    let mut title = strong(TITLE);
    title["size"] = json!("Medium");
    let mut inlines = vec![title];
    if let Some(brand) = &request.player.brand {
        let mut brand = strong(&format!(" — {brand}"));
        brand["size"] = json!("Medium");
        inlines.push(brand);
    }
    rich(inlines)
}

pub fn player_facts(player: &Player) -> Option<Value> {
    let mut facts = Vec::new();
    let mut fact = |title: &str, value: &str| facts.push(fact_row(title, value));
    if let Some(name) = &player.name {
        fact("Name", name);
    }
    if let Some(email) = &player.email {
        fact("Email", email);
    }
    if !player.tags.is_empty() {
        fact("Tags", &player.tags.join(", "));
    }
    if let Some(brand) = &player.brand {
        fact("Brand", brand);
    }
    fact_rows(facts)
}

pub fn summary(request: &ValidEscalation) -> Vec<Value> {
    let mut summary = rich(vec![run(&request.summary)]);
    summary["spacing"] = json!("Medium");
    let mut blocks = vec![summary];
    if let Some(question) = &request.question {
        blocks.push(rich(vec![strong(question)]));
    }
    blocks
}

pub fn input(field: &FieldSpec) -> Value {
    let mut element = match field.kind {
        FieldKind::Text => json!({
            "type": "Input.Text",
            "isMultiline": field.multiline,
            "maxLength": field.max_length,
        }),
        FieldKind::Choice => json!({
            "type": "Input.ChoiceSet",
            // Option titles are plain text on the card: neutralise, don't escape.
            "choices": field.options.iter()
                .map(|o| json!({"title": plain(&o.title), "value": o.value}))
                .collect::<Vec<_>>(),
            "isMultiSelect": field.multiple,
            "style": if field.multiple || field.options.len() <= 5 { "expanded" } else { "compact" },
        }),
    };
    let label = md(&field.label);
    let extra = json!({
        "id": field.id,
        "label": label,
        "isRequired": field.required,
        "errorMessage": ERROR_MESSAGE,
    });
    if let (Some(e), Some(x)) = (element.as_object_mut(), extra.as_object()) {
        e.extend(x.clone());
        if let Some(p) = &field.placeholder {
            e.insert("placeholder".into(), Value::String(plain(p)));
        }
        if field.kind == FieldKind::Text && field.max_length.is_none() {
            e.remove("maxLength");
        }
    }
    element
}

pub fn submit(escalation_id: &str, signature: &str) -> Value {
    json!({
        "type": "Action.Submit",
        "title": SUBMIT_TITLE,
        "data": {DATA_ESCALATION: escalation_id, DATA_SIGNATURE: signature},
    })
}

/// The one-line status of a final state, as it reads.
pub fn status_line(state: &CardState) -> Option<String> {
    let cap = truncate_chars;
    let line = match state {
        CardState::Pending => return None,
        CardState::Answered { by_name, by_email, at, .. } => {
            let email = by_email.map(|e| format!(" ({})", cap(e, MAX_PERSON_CHARS)));
            format!("✅ Answered by {}{} at {}", cap(by_name, MAX_PERSON_CHARS), email.unwrap_or_default(), when(at))
        }
        CardState::Expired { at } => format!("⌛ Expired at {}: no answer in time", when(at)),
        CardState::Cancelled { at, reason } => match reason {
            Some(r) => format!("🚫 Cancelled at {}: {}", when(at), cap(r, MAX_REASON_CHARS)),
            None => format!("🚫 Cancelled at {}", when(at)),
        },
        CardState::Failed { reason } => format!("⚠️ Failed: {}", cap(reason, MAX_REASON_CHARS)),
    };
    Some(line)
}

fn color(state: &CardState) -> &'static str {
    match state {
        CardState::Answered { .. } => "Good",
        CardState::Expired { .. } | CardState::Cancelled { .. } => "Warning",
        CardState::Pending | CardState::Failed { .. } => "Attention",
    }
}

/// `(label, shown value)` per answered field, in field order; choice values shown
/// by their titles; each value cut to `cap` chars (`None` when it can't be shown).
pub fn answer_pairs(fields: &[FieldSpec], inputs: &BTreeMap<String, String>, cap: usize) -> Vec<(String, String)> {
    let shown = |field: &FieldSpec, value: &str| match field.kind {
        FieldKind::Text => value.to_owned(),
        FieldKind::Choice => value
            .split(',')
            .map(|v| {
                let v = v.trim();
                field.options.iter().find(|o| o.value == v).map_or(v, |o| o.title.as_str())
            })
            .collect::<Vec<_>>()
            .join(", "),
    };
    fields
        .iter()
        .filter_map(|f| inputs.get(&f.id).map(|v| (f, v)))
        .map(|(f, v)| {
            let value = if cap == 0 { "(too long to show here)".to_owned() } else { truncate_chars(&shown(f, v), cap) };
            (f.label.clone(), value)
        })
        .collect()
}

pub fn status(state: &CardState, answers: &[(String, String)]) -> Option<Value> {
    let mut line = strong(&status_line(state)?);
    line["color"] = json!(color(state));
    let mut items = vec![rich(vec![line])];
    items.extend(fact_rows(answers.iter().map(|(label, value)| fact_row(label, value)).collect()));
    Some(json!({"type": "Container", "separator": true, "spacing": "Medium", "items": items}))
}
