//! The escalation verbs: `escalate`, `escalations`, `wait`, `cancel`, `notify`,
//! `events`. Each is one call (or one stream) of the socket API.

use super::client::ApiClient;
use super::{expect_ok, render_table};
use serde_json::{json, Value};

/// A destination as the CLI takes it.
#[derive(Debug, Clone)]
pub enum To {
    Space(String),
    Email(String),
    PersonId(String),
}

impl To {
    fn json(&self) -> Value {
        match self {
            To::Space(id) => json!({"space_id": id}),
            To::Email(email) => json!({"person_email": email}),
            To::PersonId(id) => json!({"person_id": id}),
        }
    }
}

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
}

pub async fn escalate(
    client: &ApiClient,
    to: To,
    args: EscalateArgs,
    wait_for_answer: bool,
    json: bool,
) -> anyhow::Result<()> {
    let body = json!({
        "key": args.key,
        "to": to.json(),
        "player": {"name": args.player_name, "email": args.player_email, "tags": args.tags, "brand": args.brand},
        "summary": args.summary,
        "question": args.question,
        "timeout_s": args.timeout_s,
    });
    let created = expect_ok(client.post("/v1/escalations", &body).await?)?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    if !wait_for_answer {
        print_escalation(&created, json);
        return Ok(());
    }
    if !json {
        println!("{id} created; waiting for a specialist...");
    }
    wait(client, &id, None, json).await
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
    let list = expect_ok(client.get(&query).await?)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> =
        list["items"].as_array().map(|items| items.iter().map(row).collect()).unwrap_or_default();
    if rows.is_empty() {
        println!("No escalations.");
    } else {
        print!("{}", render_table(&["ID", "STATUS", "CREATED", "ANSWERED BY", "SUMMARY"], &rows, Some((4, 50))));
    }
    Ok(())
}

fn row(escalation: &Value) -> Vec<String> {
    let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    vec![
        text(&escalation["id"]),
        text(&escalation["status"]),
        text(&escalation["created_at"]),
        text(&escalation["answer"]["by"]["name"]),
        text(&escalation["summary"]).replace('\n', " "),
    ]
}

/// Long-polls until the escalation leaves `pending` (or `timeout_s` passes).
pub async fn wait(client: &ApiClient, id: &str, timeout_s: Option<u64>, json: bool) -> anyhow::Result<()> {
    let deadline = timeout_s.map(|t| tokio::time::Instant::now() + std::time::Duration::from_secs(t));
    loop {
        let left =
            deadline.map_or(300, |d| d.saturating_duration_since(tokio::time::Instant::now()).as_secs().min(300));
        let escalation = expect_ok(client.get(&format!("/v1/escalations/{}?wait={left}", encode(id))).await?)?;
        let done = escalation["status"] != "pending";
        if done || left == 0 {
            print_escalation(&escalation, json);
            anyhow::ensure!(done, "still pending after the wait");
            return Ok(());
        }
    }
}

pub async fn cancel(client: &ApiClient, id: &str, reason: Option<String>, json: bool) -> anyhow::Result<()> {
    let cancelled =
        expect_ok(client.post(&format!("/v1/escalations/{}/cancel", encode(id)), &json!({"reason": reason})).await?)?;
    print_escalation(&cancelled, json);
    Ok(())
}

pub async fn notify(client: &ApiClient, to: To, text: Option<String>, markdown: Option<String>) -> anyhow::Result<()> {
    let sent =
        expect_ok(client.post("/v1/messages", &json!({"to": to.json(), "text": text, "markdown": markdown})).await?)?;
    println!(
        "sent: message {} in space {}",
        sent["message_id"].as_str().unwrap_or("?"),
        sent["space_id"].as_str().unwrap_or("?")
    );
    Ok(())
}

/// Prints the event log as NDJSON, from `after`; with `follow`, keeps printing.
pub async fn events(client: &ApiClient, after: i64, follow: bool) -> anyhow::Result<()> {
    let path = format!("/v1/events?after={after}&follow={follow}");
    client
        .stream_lines(&path, |line| {
            println!("{line}");
            true
        })
        .await?;
    Ok(())
}

fn print_escalation(escalation: &Value, json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(escalation).unwrap_or_default());
        return;
    }
    let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    println!("{}  {}", text(&escalation["id"]), text(&escalation["status"]));
    println!(
        "  delivery: {} {}",
        text(&escalation["delivery"]["state"]),
        escalation["delivery"]["error"].as_str().unwrap_or("")
    );
    if let Some(inputs) = escalation["answer"]["inputs"].as_object() {
        println!(
            "  answered by {} <{}> at {}",
            text(&escalation["answer"]["by"]["name"]),
            text(&escalation["answer"]["by"]["email"]),
            text(&escalation["answer"]["at"])
        );
        for (field, value) in inputs {
            println!("  {field}: {}", value.as_str().unwrap_or_default());
        }
    }
    if let Some(reason) = escalation["close_reason"].as_str() {
        println!("  reason: {reason}");
    }
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
