//! `webex-hitl demo`: the simulator and the daemon in one process, so a newcomer
//! sees the whole thing work with one command and no Webex account.

use crate::cli::client::ApiClient;
use crate::config::Config;
use crate::daemon;
use crate::sim::{SimOptions, Simulator};
use anyhow::Context;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub async fn run(once: bool, shutdown: CancellationToken) -> anyhow::Result<()> {
    crate::logging::init(&crate::config::LogConfig { level: "warn".into(), ..Default::default() });
    let simulator = Simulator::start(SimOptions::default()).await.context("starting the simulator")?;
    let sim = simulator.handle();
    let dir = tempfile::Builder::new().prefix("webex-hitl-demo-").tempdir().context("creating a scratch directory")?;
    let config = demo_config(&simulator, dir.path())?;
    step(&format!("Webex simulator listening on {}", simulator.addr()));

    let daemon_shutdown = shutdown.child_token();
    let running = daemon::start(config.clone(), daemon_shutdown.clone()).await?;
    step(&format!(
        "daemon started; bot token valid for {} <{}>",
        running.bot.name,
        running.bot.email.as_deref().unwrap_or("?")
    ));
    let client = ApiClient::new(&running.socket);
    let daemon_task = tokio::spawn(running.wait());

    let health = wait_connected(&client).await?;
    step(&format!("connected to Mercury through device {}", health["webex"]["device_url"].as_str().unwrap_or("?")));

    let ana = sim.add_person("ana.specialist@example.com", "Ana Specialist");
    let room = sim.create_room("VIP Escalations");
    sim.add_member(&room.id, &ana.id, None)?;
    sim.add_member(&room.id, &sim.bot().id, Some(&ana.id))?;
    step(&format!("Ana added the bot to the space \"{}\" ({})", room.title, room.id));
    let handled = wait_for_events(&client, 1).await?;
    step(&format!("the daemon received the membership event over the websocket ({handled} event(s) handled)"));

    let health = client.get("/v1/health").await?.body;
    println!("\n{}\n", serde_json::to_string_pretty(&health)?);
    print_try_it(&running_socket(&config), &simulator);

    if !once {
        println!("Running until Ctrl-C.");
        shutdown.cancelled().await;
    }
    daemon_shutdown.cancel();
    daemon_task.await.context("daemon task")??;
    simulator.stop().await;
    Ok(())
}

fn demo_config(simulator: &Simulator, dir: &std::path::Path) -> anyhow::Result<Config> {
    let token_file = dir.join("token");
    std::fs::write(&token_file, "sim-token")?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600))?;
    }
    let toml = format!(
        "[webex]\ntoken_file = {:?}\napi_url = {:?}\nu2c_url = {:?}\n[api]\nsocket = {:?}\n[store]\npath = {:?}\n",
        token_file,
        simulator.api_url(),
        simulator.u2c_url(),
        dir.join("webex-hitl.sock"),
        dir.join("webex-hitl.db"),
    );
    Ok(Config::from_toml(&toml)?)
}

fn running_socket(config: &Config) -> String {
    config.api.socket.display().to_string()
}

fn step(text: &str) {
    println!("==> {text}");
}

async fn wait_connected(client: &ApiClient) -> anyhow::Result<serde_json::Value> {
    for _ in 0..100 {
        let health = client.get("/v1/health").await?.body;
        if health["webex"]["connected"] == true {
            return Ok(health);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the daemon did not connect to the simulator within 10 s")
}

async fn wait_for_events(client: &ApiClient, at_least: u64) -> anyhow::Result<u64> {
    for _ in 0..100 {
        let handled = client.get("/v1/health").await?.body["events"]["handled"].as_u64().unwrap_or(0);
        if handled >= at_least {
            return Ok(handled);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("no event reached the daemon within 10 s")
}

fn print_try_it(socket: &str, simulator: &Simulator) {
    let base = format!("http://{}", simulator.addr());
    println!("Try it (in another terminal):");
    println!("  curl --unix-socket {socket} http://localhost/v1/health");
    println!("  cargo run --release -- status --socket {socket}");
    println!("  curl {base}/_sim/state");
    println!("  curl -X POST {base}/_sim/faults/drop     # drop the websocket; watch `reconnects` grow");
    println!();
}
