//! `bench --scale`: the daemon with many spaces and escalations already stored
//! (issue 12's table): the keyed accept rate on an empty store and at scale,
//! the rate without keys, the answer latency, a Mercury flood, and the
//! daemon's memory and threads.
//!
//! The daemon runs as a child process (`webex-hitl serve`), so that
//! `/proc/PID/status` shows its own memory, not the simulator's; the store is
//! seeded directly (`Store::seed_escalations`) between a first run on the
//! empty store and the run at scale. Every figure is printed; none is asserted.

use super::child::{self, Daemon};
use super::escalations::{self, Card};
use super::follow::Follower;
use super::{flood, ms, percentile, populate, Setup};
use crate::sim::{SimOptions, Simulator};
use crate::store::{SeedTarget, Store};
use crate::webex::ids::RestId;
use anyhow::Context;
use tokio::time::Instant;

/// What `--scale` sizes.
#[derive(Debug, Clone)]
pub struct ScaleOptions {
    pub spaces: usize,
    pub escalations: usize,
    /// Escalations created per accept measurement.
    pub accepts: usize,
    pub answers: usize,
    pub events: usize,
}

pub async fn run(options: &ScaleOptions) -> anyhow::Result<()> {
    println!("webex-hitl bench --scale: {options:?}");
    println!("  the daemon is a child process (webex-hitl serve); simulator and bench share this one\n");
    let simulator = Simulator::start(SimOptions::default()).await.context("starting the simulator")?;
    let sim = simulator.handle();
    let dir = tempfile::Builder::new().prefix("webex-hitl-scale-").tempdir()?;
    let started = Instant::now();
    let (room, specialist) = populate(&sim, options.spaces)?;
    println!("simulator: {} spaces with the bot in {:.1} s", options.spaces + 1, started.elapsed().as_secs_f64());

    let daemon = Daemon::start(&simulator, dir.path(), &room.id).await?;
    println!("empty store: daemon {}", idle(&daemon)?);
    let setup = Setup { client: daemon.client.clone(), socket: daemon.socket.clone(), sim, room, specialist };
    accepts(&setup, options.accepts, 8, Some("empty/"), "with a key, 0 rows").await?;
    daemon.stop().await?;

    seed(&setup, dir.path(), options.escalations).await?;
    let daemon = Daemon::start(&simulator, dir.path(), &setup.room.id).await?;
    println!("\nat scale: daemon {}", idle(&daemon)?);
    let outcome = at_scale(&setup, options).await;
    println!("\ndaemon after the run: {}", daemon.memory()?);
    println!("store files after the run: {}", store_files(&child::store_path(dir.path())));
    println!("bench + simulator process: {}", child::own_memory()?);
    daemon.stop().await?;
    simulator.stop().await;
    outcome
}

async fn at_scale(setup: &Setup, options: &ScaleOptions) -> anyhow::Result<()> {
    let after = escalations::latest_seq(&setup.client).await?;
    let mut follower = Follower::open(&setup.socket, after).await?;
    let rows = options.escalations;
    let mut created = 0;
    for (clients, prefix, what) in [
        (8, Some("scale8/"), format!("with a key, {rows} rows")),
        (32, Some("scale32/"), format!("with a key, {rows} rows")),
        (8, None, format!("without a key, {rows} rows")),
        (32, None, format!("without a key, {rows} rows")),
    ] {
        accepts(setup, options.accepts, clients, prefix, &what).await?;
        created += options.accepts;
    }
    let started = Instant::now();
    let (cards, _) = escalations::delivered(&mut follower, created).await?;
    println!("  their {created} cards posted {:.1} s after the last accept", started.elapsed().as_secs_f64());
    let last: Vec<Card> = cards.iter().rev().take(options.answers).cloned().collect();
    escalations::answers(setup, &mut follower, &last).await?;
    let closed = follower.close().await;
    let (client, sim, room, who) = (&setup.client, &setup.sim, &setup.room, &setup.specialist);
    flood::run(client, sim, room, who, options.events).await?;
    flood::backlog(client, sim, room, who, options.events).await?;
    closed
}

/// The daemon once its start-up chores are done (measurements start then).
fn idle(daemon: &Daemon) -> anyhow::Result<String> {
    let after = daemon.idle_after.as_secs_f64();
    Ok(format!(
        "ready; idle {after:.1} s later (its start-up chores, such as the sync of every space, done): {}",
        daemon.memory()?
    ))
}

/// One accept measurement: `total` creations by `clients` concurrent clients.
async fn accepts(setup: &Setup, total: usize, clients: usize, prefix: Option<&str>, what: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut latencies = escalations::accept_keyed(setup, total, clients, prefix).await?;
    let took = started.elapsed();
    println!(
        "  accepted {what}, {clients} clients: {total} in {:.2} s = {:.0}/s; latency p50 {:.1} ms, p99 {:.1} ms",
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
        ms(percentile(&mut latencies, 0.50)),
        ms(percentile(&mut latencies, 0.99)),
    );
    Ok(())
}

/// `count` closed escalations (with their cards) straight into the stopped daemon's store.
async fn seed(setup: &Setup, dir: &std::path::Path, count: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let body = escalations::escalation_body(&setup.room.id, 0).to_string();
    let request = crate::escalation::request::parse(body.as_bytes())
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .validate()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let room = RestId::decode(&setup.room.id).map_err(|e| anyhow::anyhow!("room id: {e}"))?;
    let target = SeedTarget {
        space_id: setup.room.id.clone(),
        room_uuid: room.uuid,
        message_id_prefix: format!("seed:{}:", room.cluster),
    };
    let store = Store::open(&child::store_path(dir)).await?;
    let stored = store.seed_escalations(request, target, "seed/", count).await?;
    drop(store);
    println!("\nseeded {stored} escalations (expired, each with its card) in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The database's and its WAL's sizes on disk (the WAL's file keeps its size
/// when SQLite starts it again, unless `journal_size_limit` cuts it back).
fn store_files(db: &std::path::Path) -> String {
    let mib = |path: &std::path::Path| {
        std::fs::metadata(path).map_or_else(|e| e.to_string(), |m| format!("{:.1} MiB", m.len() as f64 / 1048576.0))
    };
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    format!("database {}, WAL {}", mib(db), mib(std::path::Path::new(&wal)))
}
