//! `webex-hitl status`: the daemon's health, for humans or scripts.

use super::client::ApiClient;
use crate::api::health::{Health, HealthStatus, TokenHealth};
use chrono::{DateTime, SecondsFormat, Utc};

/// `webex-hitl status`: health, for humans or (`--json`) for scripts. True when healthy.
pub async fn status(client: &ApiClient, json: bool) -> anyhow::Result<bool> {
    let health: Health = super::expect_ok(client.get("/v1/health").await?)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&health)?);
    } else {
        print!("{}", render_health(&health));
    }
    Ok(health.status == HealthStatus::Ok)
}

pub fn render_health(health: &Health) -> String {
    let webex = &health.webex;
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let mut out = String::new();
    let status = match health.status {
        HealthStatus::Ok => "ok",
        HealthStatus::Degraded => "degraded",
    };
    out.push_str(&format!("status:        {status}\n"));
    if !health.version.is_empty() {
        out.push_str(&format!("version:       {}\n", health.version));
    }
    let link = match (webex.connected, webex.since, webex.down_since) {
        (true, since, _) => format!("connected{}", since.map(|s| format!(" since {}", time(s))).unwrap_or_default()),
        (false, _, Some(down)) => format!("not connected since {}", time(down)),
        (false, _, None) => "not connected yet".to_owned(),
    };
    out.push_str(&format!("webex:         {link}\n"));
    if let (TokenHealth::Rejected, Some(since)) = (webex.token, webex.token_rejected_since) {
        out.push_str(&format!("token:         REJECTED by Webex since {} (webex-hitl token rotate)\n", time(since)));
    }
    if let Some(at) = webex.replaced_at {
        out.push_str(&format!("device:        taken over by another connection at {} (another instance?)\n", time(at)));
    }
    if let Some(bot) = &webex.bot {
        out.push_str(&format!("bot:           {} <{}>\n", bot.name, bot.email.as_deref().unwrap_or("-")));
    }
    out.push_str(&format!("last event:    {}\n", or_dash(webex.last_event_at.map(time))));
    out.push_str(&format!("reconnects:    {}\n", webex.reconnects));
    out.push_str(&format!("device:        {}\n", or_dash(webex.device_url.clone())));
    if let Some(error) = &webex.last_error {
        out.push_str(&format!("last error:    {error}\n"));
    }
    if !health.event_log.epoch.is_empty() {
        out.push_str(&format!("event log:     head {} (epoch {})\n", health.event_log.head, health.event_log.epoch));
    }
    if health.outbox.stalled {
        let since = health.outbox.since.map(time).unwrap_or_default();
        let error = health.outbox.error.as_deref().unwrap_or("-");
        out.push_str(&format!("outbox:        STOPPED since {since}: the store refuses writes ({error})\n"));
    }
    out
}

/// RFC 3339 in UTC, as the API writes it.
pub(crate) fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_connected_daemon() {
        let health: Health = serde_json::from_value(serde_json::json!({"status": "ok",
            "webex": {"connected": true, "since": "2026-11-25T13:00:00Z",
            "bot": {"id": "x", "email": "hitl-bot@webex.bot", "name": "HITL Bot"}, "reconnects": 2,
            "last_event_at": null, "device_url": "http://d", "last_error": null, "down_since": null,
            "token": "valid", "token_rejected_since": null, "token_error": null, "replaced_at": null},
            "events": {"handled": 0, "duplicates": 0},
            "outbox": {"stalled": false, "since": null, "error": null}}))
        .unwrap();
        let text = render_health(&health);
        assert!(text.contains("connected since 2026-11-25T13:00:00Z"), "{text}");
        assert!(text.contains("HITL Bot <hitl-bot@webex.bot>"));
        assert!(text.contains("reconnects:    2"));
    }
}
