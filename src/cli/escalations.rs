//! The escalation verbs: `escalate`, `escalations`, `wait`, `cancel`, `notify`,
//! `events`. Each is one call (or one stream) of the socket API.

use super::client::ApiClient;
use super::status::time;
use super::{expect_ok, render_table};
use crate::api::Page;
use crate::escalation::notify::Sent;
use crate::escalation::request::EscalationRequest;
use crate::model::{Destination, EscalationView, Player, PolicyChoice, Status};
use serde_json::json;

/// What `escalate` sends.
#[derive(Debug, Clone, Default)]
pub struct EscalateArgs {
    pub summary: String,
    pub question: Option<String>,
    pub player_name: Option<String>,
    pub player_email: Option<String>,
    pub tags: Vec<String>,
    pub brand: Option<String>,
    pub timeout_s: Option<u64>,
    pub key: Option<String>,
    /// A policy preset's name.
    pub policy: Option<String>,
}

impl EscalateArgs {
    fn request(self, to: Destination) -> EscalationRequest {
        EscalationRequest {
            key: self.key,
            to: Some(to),
            player: Player { name: self.player_name, email: self.player_email, tags: self.tags, brand: self.brand },
            summary: self.summary,
            question: self.question,
            timeout_s: self.timeout_s,
            policy: self.policy.map(PolicyChoice::Preset),
            ..EscalationRequest::default()
        }
    }
}

pub async fn escalate(
    client: &ApiClient,
    to: Destination,
    args: EscalateArgs,
    wait_for_answer: bool,
    json: bool,
) -> anyhow::Result<Option<Status>> {
    let body = serde_json::to_value(args.request(to))?;
    let created: EscalationView = expect_ok(client.post("/v1/escalations", &body).await?)?;
    if !wait_for_answer {
        print_escalation(&created, json)?;
        return Ok(None);
    }
    if !json {
        println!("{} created; waiting for a specialist...", created.id);
    }
    wait(client, &created.id, None, json).await.map(Some)
}

pub async fn escalations(
    client: &ApiClient,
    status: Option<String>,
    space: Option<String>,
    limit: u32,
    json: bool,
) -> anyhow::Result<()> {
    let mut query = format!("/v1/escalations?limit={limit}");
    for (key, value) in [("status", status), ("space", space)] {
        if let Some(value) = value {
            query.push_str(&format!("&{key}={}", encode(&value)));
        }
    }
    let list: Page<EscalationView> = expect_ok(client.get(&query).await?)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if list.items.is_empty() {
        println!("No escalations.");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = list.items.iter().map(row).collect();
    print!("{}", render_table(&["ID", "STATUS", "CREATED", "ANSWERED BY", "SUMMARY"], &rows, Some((4, 50))));
    Ok(())
}

fn row(escalation: &EscalationView) -> Vec<String> {
    vec![
        escalation.id.clone(),
        escalation.status.to_string(),
        time(escalation.created_at),
        escalation.answer.as_ref().map_or_else(|| "-".to_owned(), |a| a.by.name.clone()),
        escalation.summary.replace('\n', " "),
    ]
}

/// Long-polls until the escalation leaves `pending` (or `timeout_s` passes), prints
/// it, and returns its status then (`Pending` when the wait ran out); see [`exit_code`].
pub async fn wait(client: &ApiClient, id: &str, timeout_s: Option<u64>, json: bool) -> anyhow::Result<Status> {
    let deadline = timeout_s.map(|t| tokio::time::Instant::now() + std::time::Duration::from_secs(t));
    loop {
        let left =
            deadline.map_or(300, |d| d.saturating_duration_since(tokio::time::Instant::now()).as_secs().min(300));
        let path = format!("/v1/escalations/{}?wait={left}", encode(id));
        let escalation: EscalationView = expect_ok(client.get(&path).await?)?;
        let done = escalation.status.is_final();
        if done || left == 0 {
            print_escalation(&escalation, json)?;
            return Ok(escalation.status);
        }
    }
}

/// What `wait` (and `escalate --wait`) exit with, so a script can branch
/// without parsing: 0 only for an answer. 1 stays "the command itself failed".
pub fn exit_code(status: Status) -> u8 {
    match status {
        Status::Answered => 0,
        Status::Pending => 2,
        Status::Expired => 3,
        Status::Cancelled => 4,
        Status::Failed => 5,
    }
}

pub async fn cancel(client: &ApiClient, id: &str, reason: Option<String>, json: bool) -> anyhow::Result<()> {
    let path = format!("/v1/escalations/{}/cancel", encode(id));
    let cancelled: EscalationView = expect_ok(client.post(&path, &json!({"reason": reason})).await?)?;
    print_escalation(&cancelled, json)
}

pub async fn notify(
    client: &ApiClient,
    to: Destination,
    text: Option<String>,
    markdown: Option<String>,
    key: Option<String>,
) -> anyhow::Result<()> {
    let body = json!({"key": key, "to": to, "text": text, "markdown": markdown});
    let sent: Sent = expect_ok(client.post("/v1/messages", &body).await?)?;
    println!("sent: message {} in space {}", sent.message_id, sent.space_id);
    Ok(())
}

/// Prints the event log as NDJSON, from `after`; with `follow`, keeps printing.
pub async fn events(client: &ApiClient, after: i64, epoch: Option<&str>, follow: bool) -> anyhow::Result<()> {
    let epoch = epoch.map(|e| format!("&epoch={}", encode(e))).unwrap_or_default();
    let path = format!("/v1/events?after={after}&follow={follow}{epoch}");
    client
        .stream_lines(&path, |line| {
            println!("{line}");
            true
        })
        .await?;
    Ok(())
}

fn print_escalation(escalation: &EscalationView, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(escalation)?);
    } else {
        print!("{}", render_escalation(escalation));
    }
    Ok(())
}

pub fn render_escalation(escalation: &EscalationView) -> String {
    let mut out = format!("{}  {}\n", escalation.id, escalation.status);
    let delivery = &escalation.delivery;
    out.push_str(&format!("  delivery: {} {}\n", delivery.state.as_str(), delivery.error.as_deref().unwrap_or("")));
    if let Some(answer) = &escalation.answer {
        let email = answer.by.email.as_deref().unwrap_or("-");
        let at = time(answer.at);
        out.push_str(&format!("  answered by {} <{email}> at {at}\n", answer.by.name));
        for (field, value) in &answer.inputs {
            out.push_str(&format!("  {field}: {value}\n"));
        }
    }
    if let Some(reason) = &escalation.close_reason {
        out.push_str(&format!("  reason: {reason}\n"));
    }
    out
}

/// Percent-encodes a query or path value: everything but RFC 3986's unreserved characters.
fn encode(value: &str) -> String {
    const RESERVED: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(value, RESERVED).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_are_percent_encoded_but_unreserved_characters_stay() {
        assert_eq!(super::encode("conv-8812/turn 14&x=1"), "conv-8812%2Fturn%2014%26x%3D1");
        assert_eq!(super::encode("a.b_c~d"), "a.b_c~d");
        assert_eq!(super::encode("é"), "%C3%A9");
    }
}
