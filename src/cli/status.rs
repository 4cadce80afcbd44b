//! `webex-hitl status`: the daemon's health, for humans or scripts.

use super::client::ApiClient;
use serde_json::Value;

/// `webex-hitl status`: health, for humans or (`--json`) for scripts.
pub async fn status(client: &ApiClient, json: bool) -> anyhow::Result<bool> {
    let body = super::expect_ok(client.get("/v1/health").await?)?;
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
