//! The CLI verbs that talk to a running daemon over its socket.

pub mod client;

use client::{Answer, ApiClient};
use serde_json::Value;

/// `webex-hitl status`: health, for humans or (`--json`) for scripts.
pub async fn status(client: &ApiClient, json: bool) -> anyhow::Result<bool> {
    let Answer { body, .. } = client.get("/v1/health").await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        print!("{}", render_health(&body));
    }
    Ok(body["status"] == "ok")
}

pub fn render_health(health: &Value) -> String {
    let webex = &health["webex"];
    let text = |v: &Value| v.as_str().map(str::to_owned).unwrap_or_else(|| "-".into());
    let bot = &webex["bot"];
    let mut out = String::new();
    out.push_str(&format!("status:        {}\n", text(&health["status"])));
    out.push_str(&format!(
        "webex:         {}{}\n",
        if webex["connected"] == true { "connected" } else { "not connected" },
        webex["since"].as_str().map(|s| format!(" since {s}")).unwrap_or_default()
    ));
    if bot.is_object() {
        out.push_str(&format!("bot:           {} <{}>\n", text(&bot["name"]), text(&bot["email"])));
    }
    out.push_str(&format!("last event:    {}\n", text(&webex["last_event_at"])));
    out.push_str(&format!("reconnects:    {}\n", webex["reconnects"].as_u64().unwrap_or(0)));
    out.push_str(&format!("device:        {}\n", text(&webex["device_url"])));
    if let Some(error) = webex["last_error"].as_str() {
        out.push_str(&format!("last error:    {error}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_connected_daemon() {
        let health = serde_json::json!({"status": "ok", "webex": {"connected": true, "since": "2026-11-25T13:00:00Z",
            "bot": {"id": "x", "email": "hitl-bot@webex.bot", "name": "HITL Bot"}, "reconnects": 2, "last_event_at": null, "device_url": "http://d"}});
        let text = render_health(&health);
        assert!(text.contains("connected since 2026-11-25T13:00:00Z"), "{text}");
        assert!(text.contains("HITL Bot <hitl-bot@webex.bot>"));
        assert!(text.contains("reconnects:    2"));
    }
}

/// `webex-hitl spaces [--refresh] [--json]`: where escalations can go.
pub async fn spaces(client: &ApiClient, refresh: bool, json: bool) -> anyhow::Result<()> {
    if refresh {
        let report = expect_ok(client.post("/v1/spaces/refresh", &Value::Null).await?)?;
        if !json {
            let count = |key: &str| report[key].as_array().map_or(0, Vec::len);
            println!("resynced: {} added, {} removed, {} updated", count("added"), count("removed"), count("updated"));
        }
    }
    let list = expect_ok(client.get("/v1/spaces").await?)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    let items = list["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        println!("The bot is in no space. Add it to a Webex space (People > Add people), then run `webex-hitl spaces --refresh`.");
        return Ok(());
    }
    print!("{}", render_spaces(&items));
    Ok(())
}

pub fn render_spaces(items: &[Value]) -> String {
    let rows: Vec<[String; 4]> = items
        .iter()
        .map(|s| {
            let text = |key: &str| s[key].as_str().unwrap_or("-").to_owned();
            [text("title"), text("space_type"), text("id"), text("added_at")]
        })
        .collect();
    let headers = ["TITLE", "TYPE", "ID", "ADDED"];
    // Only titles are cut: ids must stay whole to be copied.
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            let widest = rows.iter().map(|r| r[i].chars().count()).chain([headers[i].len()]).max().unwrap_or(0);
            if i == 0 {
                widest.min(40)
            } else {
                widest
            }
        })
        .collect();
    let line = |cells: [&str; 4]| {
        let padded: Vec<String> =
            cells.iter().zip(&widths).map(|(c, w)| format!("{:<w$}", truncate(c, *w), w = *w)).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(headers);
    for row in &rows {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3]]));
    }
    out
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The body of a 2xx answer, or the API's error message as an error.
pub fn expect_ok(answer: Answer) -> anyhow::Result<Value> {
    if answer.status.is_success() {
        return Ok(answer.body);
    }
    let message =
        answer.body["error"]["message"].as_str().map(str::to_owned).unwrap_or_else(|| answer.body.to_string());
    anyhow::bail!("{} ({})", message, answer.status)
}
