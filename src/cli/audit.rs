//! `webex-hitl audit`: who changed what through the socket API, newest first.

use super::client::ApiClient;
use super::{expect_ok, render_table};
use serde_json::Value;

/// `webex-hitl audit [--limit N] [--json]`.
pub async fn audit(client: &ApiClient, limit: u32, json: bool) -> anyhow::Result<()> {
    let page = expect_ok(client.get(&format!("/v1/audit?limit={limit}")).await?)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&page)?);
        return Ok(());
    }
    let items = page["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        println!("No mutating request has been made through the API yet.");
        return Ok(());
    }
    print!("{}", render_audit(&items));
    Ok(())
}

pub fn render_audit(items: &[Value]) -> String {
    let cell = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => "-".to_owned(),
    };
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|r| ["at", "uid", "pid", "method", "path", "status"].iter().map(|k| cell(&r[*k])).collect())
        .collect();
    render_table(&["AT", "UID", "PID", "METHOD", "PATH", "STATUS"], &rows, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_table_with_unknown_peers_as_dashes() {
        let items = [
            json!({"at": "2025-01-01T00:00:00.000000Z", "uid": 65534, "pid": 12, "method": "POST",
                   "path": "/v1/spaces/refresh", "status": 403}),
            json!({"at": "2025-01-01T00:00:01.000000Z", "uid": null, "pid": null, "method": "DELETE",
                   "path": "/v1/x", "status": 404}),
        ];
        let text = render_audit(&items);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("AT") && lines[0].ends_with("STATUS"), "{text}");
        assert!(lines[1].contains("65534") && lines[1].contains("/v1/spaces/refresh") && lines[1].ends_with("403"));
        assert!(lines[2].contains(" -  ") && lines[2].ends_with("404"), "{text}");
    }
}
