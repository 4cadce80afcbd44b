//! What a tool returns, shaped for a model: the facts it needs and no more,
//! with `next` saying in plain words what to do now. The same JSON is the
//! result's structured content and its text.

use crate::api::spaces::{PersonView, SpaceList};
use crate::escalation::notify::Sent;
use crate::model::{EscalationView, Status};
use serde_json::{json, Value};

/// An escalation as `ask_specialist`, `get_answer` and `cancel_escalation` return it.
pub fn escalation(view: &EscalationView) -> Value {
    let mut out = json!({
        "status": view.status.as_str(),
        "escalation_id": view.id,
        "key": view.key,
        "card": view.delivery.state.as_str(),
        "created_at": view.created_at,
        "expires_at": view.expires_at,
    });
    let reason = view.close_reason.clone().or_else(|| view.delivery.error.clone());
    let next = match view.status {
        Status::Answered => {
            if let Some(answer) = &view.answer {
                out["answer"] = json!({
                    "inputs": answer.inputs,
                    "by": {"name": answer.by.name, "email": answer.by.email},
                    "at": answer.at,
                });
            }
            "A specialist answered: use answer.inputs (with the default field, the text is answer.inputs.response).".to_owned()
        }
        Status::Pending => format!(
            "No answer yet; specialists can still answer until expires_at. Call get_answer with escalation_id \"{}\" to keep waiting. Do not call ask_specialist again for this question: it would only return this same escalation. Call cancel_escalation if you no longer need the answer.",
            view.id
        ),
        Status::Expired => format!("Nobody answered before expires_at. Go on without the specialist, or ask again {AGAIN}."),
        Status::Cancelled => "The escalation was cancelled; no answer will come.".to_owned(),
        Status::Failed => format!("The escalation failed (see reason): fix the cause, then ask again {AGAIN}."),
    };
    if view.status.is_final() && view.status != Status::Answered {
        out["reason"] = json!(reason);
    }
    out["next"] = json!(next);
    out
}

const AGAIN: &str =
    "with ask_specialist and a new key (an identical call without a key within 5 minutes returns this same escalation)";

pub fn spaces(list: &SpaceList) -> Value {
    let spaces: Vec<Value> = list
        .items
        .iter()
        .map(|s| json!({"space_id": s.id, "title": s.title, "last_activity": s.last_activity}))
        .collect();
    let next = if spaces.is_empty() {
        "The bot is in no such space. It can post only where it was added: ask a Webex user to add the bot to the specialists' space, or send to a person by email."
    } else {
        "Use a space_id as `to` in ask_specialist or send_message."
    };
    json!({"spaces": spaces, "count": list.items.len(), "next": next})
}

pub fn person(person: &PersonView) -> Value {
    json!({
        "person_id": person.id,
        "email": person.email,
        "name": person.display_name,
        "type": person.kind,
        "next": "Use the email (or person_id) as `to` in ask_specialist or send_message for a direct message to this person.",
    })
}

pub fn sent(sent: &Sent) -> Value {
    json!({"status": "sent", "message_id": sent.message_id, "space_id": sent.space_id})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Answer, Answerer, DeliveryState, DeliveryView, Destination, Player};
    use chrono::Utc;

    fn view(status: Status) -> EscalationView {
        EscalationView {
            id: "esc_1".into(),
            key: Some("k".into()),
            status,
            created_at: Utc::now(),
            expires_at: Utc::now(),
            to: Destination::SpaceId("R".into()),
            player: Player::default(),
            summary: "s".into(),
            question: None,
            fields: Vec::new(),
            context: Value::Null,
            delivery: DeliveryView {
                state: DeliveryState::Posted,
                message_id: None,
                space_id: None,
                attempts: 1,
                error: None,
            },
            answer: None,
            closed_at: None,
            close_reason: None,
            policy: Default::default(),
            reminders: None,
            fallback: None,
            claim: None,
        }
    }

    #[test]
    fn pending_says_to_call_get_answer_with_the_id() {
        let out = escalation(&view(Status::Pending));
        assert_eq!(out["status"], "pending");
        assert_eq!(out["escalation_id"], "esc_1");
        assert!(out["next"].as_str().unwrap().contains("get_answer with escalation_id \"esc_1\""));
        assert!(out.get("reason").is_none());
    }

    #[test]
    fn answered_carries_the_inputs_and_who() {
        let mut answered = view(Status::Answered);
        answered.answer = Some(Answer {
            inputs: [("response".to_owned(), "Release it".to_owned())].into(),
            by: Answerer { id: "P".into(), email: Some("ana@example.com".into()), name: "Ana".into() },
            at: Utc::now(),
            automatic: false,
        });
        let out = escalation(&answered);
        assert_eq!(out["answer"]["inputs"]["response"], "Release it");
        assert_eq!(out["answer"]["by"]["email"], "ana@example.com");
    }

    #[test]
    fn a_closed_escalation_gives_its_reason() {
        let mut failed = view(Status::Failed);
        failed.close_reason = Some("the bot was removed from the space".into());
        let out = escalation(&failed);
        assert_eq!(out["reason"], "the bot was removed from the space");
        assert!(out["next"].as_str().unwrap().contains("new key"));
    }
}
