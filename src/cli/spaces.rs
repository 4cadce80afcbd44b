//! `webex-hitl spaces`: where escalations can go.

use super::client::ApiClient;
use super::{expect_ok, render_table};
use serde_json::Value;

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
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|s| {
            ["title", "space_type", "id", "added_at"].iter().map(|k| s[*k].as_str().unwrap_or("-").to_owned()).collect()
        })
        .collect();
    // Only titles are cut: ids must stay whole to be copied.
    render_table(&["TITLE", "TYPE", "ID", "ADDED"], &rows, Some((0, 40)))
}
