//! The Mercury flood of `bench --scale`: many events at once (messages posted in
//! a space, which the daemon de-duplicates, records and acks), timed until the
//! daemon says it handled every one, and checked for loss.
//!
//! Live, the rate is bounded by how fast the simulator emits (it says when it was
//! done). So a second flood is a backlog: events queued while the daemon's
//! websocket is down (upgrades stalled), delivered at once when it reconnects,
//! timed from the first handled to the last — the daemon's own rate, beside the
//! resync every reconnect starts.

use crate::api::health::Health;
use crate::cli::client::ApiClient;
use crate::cli::expect_ok;
use crate::sim::{SimHandle, SimPerson, SimRoom};
use std::time::Duration;
use tokio::time::Instant;

const FLOOD_TIMEOUT: Duration = Duration::from_secs(300);

pub async fn run(
    client: &ApiClient,
    sim: &SimHandle,
    room: &SimRoom,
    person: &SimPerson,
    total: usize,
) -> anyhow::Result<()> {
    // Beyond its buffer the simulator drops the oldest unacked frames, as
    // Mercury does: a flood larger than that measures the buffer, not the daemon.
    let total = total.min(BUFFERED);
    let before = quiet(client).await?;
    let acked_before = sim.acked_count();
    let started = Instant::now();
    let (sim_posting, room_id, person_id) = (sim.clone(), room.id.clone(), person.id.clone());
    // A bot is sent a group message only when it is mentioned (as by Webex).
    let bot = [sim.bot().id];
    // The simulator is driven from a thread of its own, so that its websocket
    // tasks keep running while it emits.
    let posting = tokio::task::spawn_blocking(move || {
        (0..total).try_for_each(|n| {
            sim_posting.post_message_mentioning(&room_id, &person_id, &format!("flood {n}"), &bot).map(drop)
        })
    });
    let seen = |h: &Health| (h.events.handled - before.events.handled, h.events.duplicates - before.events.duplicates);
    let deadline = started + FLOOD_TIMEOUT;
    let (handled, duplicates) = loop {
        let health: Health = expect_ok(client.get("/v1/health").await?)?;
        let (handled, duplicates) = seen(&health);
        if handled + duplicates >= total as u64 {
            break (handled, duplicates);
        }
        anyhow::ensure!(Instant::now() < deadline, "{handled} of {total} events handled in {FLOOD_TIMEOUT:?}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let took = started.elapsed();
    posting.await??;
    let emitted = started.elapsed();
    let acked = wait_acked(sim, acked_before + total).await;
    println!("\nMercury flood: {total} events (messages posted in a space) as fast as the simulator emits them");
    println!(
        "  handled {handled}, duplicates {duplicates}, acked {} of {total}: {} in {:.2} s = {:.0} events/s (simulator done emitting after {:.2} s)",
        acked - acked_before,
        if handled == total as u64 && duplicates == 0 && acked >= acked_before + total { "zero loss" } else { "LOSS" },
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64(),
        emitted.as_secs_f64(),
    );
    Ok(())
}

/// The simulator buffers 10,000 unacked frames per device: a flood stays below.
const BUFFERED: usize = 9_000;

pub async fn backlog(
    client: &ApiClient,
    sim: &SimHandle,
    room: &SimRoom,
    person: &SimPerson,
    total: usize,
) -> anyhow::Result<()> {
    let total = total.min(BUFFERED);
    let before = quiet(client).await?;
    sim.stall_upgrades(true);
    sim.drop_sockets();
    wait_health(client, |h| !h.webex.connected).await?;
    for n in 0..total {
        sim.post_message_mentioning(&room.id, &person.id, &format!("backlog {n}"), &[sim.bot().id])?;
    }
    sim.stall_upgrades(false);
    let handled = |h: &Health| h.events.handled - before.events.handled;
    let first = wait_health(client, |h| handled(h) > 0).await?;
    let last = wait_health(client, |h| handled(h) >= total as u64).await?;
    let took = last.1.saturating_duration_since(first.1);
    let (got, duplicates) = (handled(&last.0), last.0.events.duplicates - before.events.duplicates);
    println!("  backlog: {total} events queued while the websocket was down, delivered on reconnect");
    println!(
        "  handled {got}, duplicates {duplicates}: {} in {:.2} s = {:.0} events/s (first to last handled)",
        if got == total as u64 && duplicates == 0 { "zero loss" } else { "LOSS" },
        took.as_secs_f64(),
        total as f64 / took.as_secs_f64().max(1e-6),
    );
    Ok(())
}

/// Polls health every millisecond until `ready`; the answer and when it came.
async fn wait_health(client: &ApiClient, ready: impl Fn(&Health) -> bool) -> anyhow::Result<(Health, Instant)> {
    let deadline = Instant::now() + FLOOD_TIMEOUT;
    loop {
        let health: Health = expect_ok(client.get("/v1/health").await?)?;
        if ready(&health) {
            return Ok((health, Instant::now()));
        }
        anyhow::ensure!(Instant::now() < deadline, "the daemon's health did not come to what the flood waits for");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Waits until the daemon has handled no event for a while (the bot's own card
/// posts and edits come back as events), so the flood counts only its own.
async fn quiet(client: &ApiClient) -> anyhow::Result<Health> {
    let mut last: Health = expect_ok(client.get("/v1/health").await?)?;
    let mut still_since = Instant::now();
    let deadline = still_since + Duration::from_secs(60);
    while still_since.elapsed() < Duration::from_millis(500) {
        anyhow::ensure!(Instant::now() < deadline, "the daemon kept handling events for a minute");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now: Health = expect_ok(client.get("/v1/health").await?)?;
        if now.events != last.events {
            still_since = Instant::now();
        }
        last = now;
    }
    Ok(last)
}

/// Acks follow the handling; give them a moment to reach the simulator.
async fn wait_acked(sim: &SimHandle, wanted: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    while sim.acked_count() < wanted && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sim.acked_count()
}
