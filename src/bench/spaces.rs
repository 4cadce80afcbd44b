//! The spaces part of the bench: a full resync from the simulator, then
//! listing every space through the socket API.

use super::{ms, percentile};
use crate::api::spaces::SpaceList;
use crate::cli::client::ApiClient;
use crate::cli::expect_ok;
use crate::store::SyncReport;
use std::time::{Duration, Instant};

/// `spaces` spaces were created for the listing, plus the one escalations use.
pub async fn run(client: &ApiClient, spaces: usize, list_calls: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let report: SyncReport = expect_ok(client.post("/v1/spaces/refresh", &serde_json::Value::Null).await?)?;
    let sync = started.elapsed();
    let listed = expect_ok::<SpaceList>(client.get("/v1/spaces").await?)?.items.len();
    anyhow::ensure!(listed == spaces + 1, "listed {listed} spaces, expected {}", spaces + 1);
    let (p50, p99) = time_list_calls(client, list_calls).await?;
    println!("spaces: {listed} across pages of 1000");
    println!("  full resync (POST /v1/spaces/refresh, {} added on this call): {:.1} ms", report.added.len(), ms(sync));
    println!("  list all (GET /v1/spaces, {list_calls} calls): p50 {:.1} ms, p99 {:.1} ms", ms(p50), ms(p99));
    Ok(())
}

async fn time_list_calls(client: &ApiClient, calls: usize) -> anyhow::Result<(Duration, Duration)> {
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls.max(1) {
        let started = Instant::now();
        client.get("/v1/spaces").await?;
        samples.push(started.elapsed());
    }
    Ok((percentile(&mut samples, 0.50), percentile(&mut samples, 0.99)))
}
