//! `webex-hitl bench`: numbers, measured end to end through the simulator and
//! the socket API on this machine (performance is shown here, never asserted
//! in tests).
//!
//! Everything runs in one process: the Webex simulator on loopback, the daemon
//! talking to it over HTTP and the Mercury websocket, and the bench itself
//! talking to the daemon over its Unix socket, exactly as an engine would.
//! `--scale` ([`scale`]) runs the daemon as a child process instead, on a store
//! seeded with many escalations, and reads its memory and threads.

mod child;
mod escalations;
mod flood;
mod follow;
mod scale;
mod spaces;

use crate::cli::client::ApiClient;
use crate::daemon;
use crate::sim::{SimHandle, SimOptions, SimPerson, SimRoom, Simulator};
use anyhow::Context;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The flags of `webex-hitl bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchOptions {
    #[arg(long, default_value_t = 5000)]
    pub spaces: usize,
    #[arg(long, default_value_t = 50)]
    pub list_calls: usize,
    /// Escalations to create through the socket API.
    #[arg(long, default_value_t = 500)]
    pub escalations: usize,
    /// Of those, how many a specialist answers, one at a time.
    #[arg(long, default_value_t = 200)]
    pub answers: usize,
    /// Concurrent API clients creating escalations.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// The scale run instead: many spaces and escalations already stored, the
    /// daemon as a child process, its memory and threads.
    #[arg(long)]
    pub scale: bool,
    /// --scale: spaces the bot is in.
    #[arg(long, default_value_t = 10_000)]
    pub scale_spaces: usize,
    /// --scale: escalations already stored.
    #[arg(long, default_value_t = 100_000)]
    pub scale_escalations: usize,
    /// --scale: escalations created per accept measurement.
    #[arg(long, default_value_t = 2_000)]
    pub scale_accepts: usize,
    /// --scale: Mercury events in each flood (at most 9,000: the simulator's buffer is 10,000).
    #[arg(long, default_value_t = 9_000)]
    pub scale_events: usize,
}

/// What the measurements need: the daemon's socket, the simulator, and a
/// space with the bot and one specialist in it.
pub(crate) struct Setup {
    pub client: ApiClient,
    pub socket: std::path::PathBuf,
    pub sim: SimHandle,
    pub room: SimRoom,
    pub specialist: SimPerson,
}

pub async fn run(options: BenchOptions) -> anyhow::Result<()> {
    crate::logging::init(&crate::config::LogConfig { level: "error".into(), ..Default::default() });
    if options.scale {
        let scale = scale::ScaleOptions {
            spaces: options.scale_spaces,
            escalations: options.scale_escalations,
            accepts: options.scale_accepts,
            answers: options.answers,
            events: options.scale_events,
        };
        return scale::run(&scale).await;
    }
    print_header(&options);
    let simulator = Simulator::start(SimOptions::default()).await.context("starting the simulator")?;
    let sim = simulator.handle();
    let dir = tempfile::Builder::new().prefix("webex-hitl-bench-").tempdir()?;
    let (room, specialist) = populate(&sim, options.spaces)?;
    let config = crate::demo::scratch_config(&simulator, dir.path())?;
    let shutdown = CancellationToken::new();
    let running = daemon::start(config, shutdown.clone()).await?;
    let setup =
        Setup { client: ApiClient::new(&running.socket), socket: running.socket.clone(), sim, room, specialist };
    // The daemon runs beside the measurements and stops when they end, however
    // they end, so nothing outlives this function.
    let measured = async {
        let outcome = measure(&setup, &options).await;
        shutdown.cancel();
        outcome
    };
    let (outcome, stopped) = tokio::join!(measured, running.wait());
    simulator.stop().await;
    outcome?;
    Ok(stopped?)
}

async fn measure(setup: &Setup, options: &BenchOptions) -> anyhow::Result<()> {
    spaces::run(&setup.client, options.spaces, options.list_calls).await?;
    wait_connected(&setup.client).await?;
    escalations::run(setup, options).await
}

fn print_header(options: &BenchOptions) {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZeroUsize::get);
    let build =
        if cfg!(debug_assertions) { "debug build: numbers are pessimistic, use --release" } else { "release build" };
    println!("webex-hitl bench: {cores} CPU(s), {build}");
    println!("  in-process: Webex simulator on loopback (REST + Mercury websocket), daemon API on a Unix socket,");
    println!("  SQLite store in a scratch directory, daemon log level \"error\"");
    println!(
        "  --spaces {} --list-calls {} --escalations {} --answers {} --concurrency {}\n",
        options.spaces, options.list_calls, options.escalations, options.answers, options.concurrency
    );
}

/// The spaces to list, plus the space escalations go to (the bot and one
/// specialist are members, so she may press the card's button).
fn populate(sim: &SimHandle, spaces: usize) -> anyhow::Result<(SimRoom, SimPerson)> {
    let bot = sim.bot();
    for i in 0..spaces {
        let room = sim.create_room(&format!("Bench space {i:05}"));
        sim.add_member(&room.id, &bot.id, None)?;
    }
    let specialist = sim.add_person("bench.specialist@example.com", "Bench Specialist");
    let room = sim.create_room("Bench escalations");
    sim.add_member(&room.id, &specialist.id, None)?;
    sim.add_member(&room.id, &bot.id, Some(&specialist.id))?;
    Ok((room, specialist))
}

/// Answers arrive over Mercury, so the answer phase needs the websocket up.
async fn wait_connected(client: &ApiClient) -> anyhow::Result<()> {
    crate::demo::poll(client, "/v1/health", |h: &crate::api::health::Health| h.webex.connected).await.map(|_| ())
}

pub fn percentile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * q).round() as usize;
    samples.get(index).copied().unwrap_or_default()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
