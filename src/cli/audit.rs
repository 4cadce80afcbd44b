//! `webex-hitl audit`: who changed what through the socket API, newest first.

use super::client::ApiClient;
use super::status::time;
use super::{expect_ok, render_table};
use crate::api::Page;
use crate::store::AuditRecord;

/// `webex-hitl audit [--limit N] [--json]`.
pub async fn audit(client: &ApiClient, limit: u32, json: bool) -> anyhow::Result<()> {
    let page: Page<AuditRecord> = expect_ok(client.get(&format!("/v1/audit?limit={limit}")).await?)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&page)?);
        return Ok(());
    }
    if page.items.is_empty() {
        println!("No mutating request has been made through the API yet.");
        return Ok(());
    }
    print!("{}", render_audit(&page.items));
    Ok(())
}

pub fn render_audit(items: &[AuditRecord]) -> String {
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".to_owned());
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|r| {
            let e = &r.entry;
            vec![
                time(r.at),
                or_dash(e.uid.map(|u| u.to_string())),
                or_dash(e.pid.map(|p| p.to_string())),
                e.method.clone(),
                e.path.clone(),
                e.status.to_string(),
            ]
        })
        .collect();
    render_table(&["AT", "UID", "PID", "METHOD", "PATH", "STATUS"], &rows, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_table_with_unknown_peers_as_dashes() {
        let items: Vec<AuditRecord> = serde_json::from_value(json!([
            {"id": 2, "at": "2025-01-01T00:00:00.000000Z", "uid": 65534, "gid": 65534, "pid": 12, "method": "POST",
             "path": "/v1/spaces/refresh", "status": 403, "detail": null},
            {"id": 1, "at": "2025-01-01T00:00:01.000000Z", "uid": null, "gid": null, "pid": null, "method": "DELETE",
             "path": "/v1/x", "status": 404, "detail": null},
        ]))
        .unwrap();
        let text = render_audit(&items);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("AT") && lines[0].ends_with("STATUS"), "{text}");
        assert!(lines[1].contains("65534") && lines[1].contains("/v1/spaces/refresh") && lines[1].ends_with("403"));
        assert!(lines[2].contains(" -  ") && lines[2].ends_with("404"), "{text}");
    }
}
