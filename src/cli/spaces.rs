//! `webex-hitl spaces`: where escalations can go.

use super::client::ApiClient;
use super::status::time;
use super::{expect_ok, render_table};
use crate::api::spaces::SpaceList;
use crate::store::{Space, SyncReport};
use serde_json::Value;

/// `webex-hitl spaces [--refresh] [--json]`: where escalations can go.
pub async fn spaces(client: &ApiClient, refresh: bool, json: bool) -> anyhow::Result<()> {
    if refresh {
        let report: SyncReport = expect_ok(client.post("/v1/spaces/refresh", &Value::Null).await?)?;
        if !json {
            let (added, removed, updated) = (report.added.len(), report.removed.len(), report.updated.len());
            println!("resynced: {added} added, {removed} removed, {updated} updated");
        }
    }
    let list: SpaceList = expect_ok(client.get("/v1/spaces").await?)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if list.items.is_empty() {
        println!("The bot is in no space. Add it to a Webex space (People > Add people), then run `webex-hitl spaces --refresh`.");
        return Ok(());
    }
    print!("{}", render_spaces(&list.items));
    Ok(())
}

pub fn render_spaces(items: &[Space]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|s| {
            let added = s.added_at.map_or_else(|| "-".to_owned(), time);
            vec![s.title.clone(), s.space_type.clone(), s.id.clone(), added]
        })
        .collect();
    // Only titles are cut: ids must stay whole to be copied.
    render_table(&["TITLE", "TYPE", "ID", "ADDED"], &rows, Some((0, 40)))
}
