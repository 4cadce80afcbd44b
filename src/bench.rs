//! `webex-hitl bench`: numbers, measured end to end through the simulator and
//! the socket API on this machine (performance is shown here, never asserted
//! in tests).

use crate::cli::client::ApiClient;
use crate::config::Config;
use crate::daemon;
use crate::sim::{SimOptions, Simulator};
use anyhow::Context;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

pub struct BenchOptions {
    pub spaces: usize,
    pub list_calls: usize,
}

pub async fn run(options: BenchOptions) -> anyhow::Result<()> {
    crate::logging::init(&crate::config::LogConfig { level: "error".into(), ..Default::default() });
    let simulator = Simulator::start(SimOptions::default()).await.context("starting the simulator")?;
    let sim = simulator.handle();
    let dir = tempfile::Builder::new().prefix("webex-hitl-bench-").tempdir()?;
    let bot = sim.bot();
    for i in 0..options.spaces {
        let room = sim.create_room(&format!("Bench space {i:05}"));
        sim.add_member(&room.id, &bot.id, None)?;
    }
    let config = bench_config(&simulator, dir.path())?;
    let shutdown = CancellationToken::new();
    let running = daemon::start(config, shutdown.clone()).await?;
    let client = ApiClient::new(&running.socket);
    let daemon_task = tokio::spawn(running.wait());

    let started = Instant::now();
    let report = crate::cli::expect_ok(client.post("/v1/spaces/refresh", &serde_json::Value::Null).await?)?;
    let sync = started.elapsed();
    let listed = crate::cli::expect_ok(client.get("/v1/spaces").await?)?["items"].as_array().map_or(0, Vec::len);
    anyhow::ensure!(listed == options.spaces, "listed {listed} spaces, expected {}", options.spaces);
    let (p50, p99) = time_list_calls(&client, options.list_calls).await?;
    println!("spaces: {} across pages of 1000", options.spaces);
    println!(
        "  full resync (POST /v1/spaces/refresh, {} added on this call): {:.1} ms",
        report["added"].as_array().map_or(0, Vec::len),
        ms(sync)
    );
    println!("  list all (GET /v1/spaces, {} calls): p50 {:.1} ms, p99 {:.1} ms", options.list_calls, ms(p50), ms(p99));

    shutdown.cancel();
    daemon_task.await??;
    simulator.stop().await;
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

pub fn percentile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
    samples.get(index).copied().unwrap_or_default()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn bench_config(simulator: &Simulator, dir: &std::path::Path) -> anyhow::Result<Config> {
    let token_file = dir.join("token");
    std::fs::write(&token_file, "sim-token")?;
    let toml = format!(
        "[webex]\ntoken_file = {:?}\napi_url = {:?}\nu2c_url = {:?}\n[api]\nsocket = {:?}\n[store]\npath = {:?}\n[log]\nlevel = \"error\"\n",
        token_file,
        simulator.api_url(),
        simulator.u2c_url(),
        dir.join("bench.sock"),
        dir.join("bench.db"),
    );
    Ok(Config::from_toml(&toml)?)
}
