//! The escalations part of the bench: how fast the daemon accepts escalations
//! and gets their cards posted, and how long a specialist's click takes to
//! reach an engine following the event stream.

use super::follow::{Follower, Seen};
use super::{ms, percentile, BenchOptions, Setup};
use crate::cli::client::ApiClient;
use crate::store::{EventKind, EventRecord};
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Generous: a stall here is a bug to report, not a number to print.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// A delivered card: (escalation id, card message id).
pub(super) type Card = (String, String);

pub async fn run(setup: &Setup, options: &BenchOptions) -> anyhow::Result<()> {
    let after = latest_seq(&setup.client).await?;
    let mut follower = Follower::open(&setup.socket, after).await?;
    let outcome = measure(setup, options, &mut follower).await;
    let closed = follower.close().await;
    outcome.and(closed)
}

async fn measure(setup: &Setup, options: &BenchOptions, follower: &mut Follower) -> anyhow::Result<()> {
    let total = options.escalations.max(1);
    let clients = options.concurrency.clamp(1, total);
    println!("\nescalations: {total} to one space, {clients} concurrent client(s) on the socket");
    let started = Instant::now();
    let mut latencies = accept(setup, total, clients).await?;
    let accepted_in = started.elapsed();
    println!(
        "  accepted (POST /v1/escalations, 201): {total} in {:.2} s = {:.0}/s; latency p50 {:.1} ms, p99 {:.1} ms",
        accepted_in.as_secs_f64(),
        total as f64 / accepted_in.as_secs_f64(),
        ms(percentile(&mut latencies, 0.50)),
        ms(percentile(&mut latencies, 0.99)),
    );
    let (cards, last) = delivered(follower, total).await?;
    let posted_in = last.saturating_duration_since(started);
    println!(
        "  cards posted (escalation.delivered on the stream): all {total} {:.2} s after the first POST = {:.0}/s",
        posted_in.as_secs_f64(),
        total as f64 / posted_in.as_secs_f64(),
    );
    let wanted = options.answers.min(cards.len());
    if wanted < options.answers {
        println!("  (--answers {} capped at the {wanted} escalations created)", options.answers);
    }
    answers(setup, follower, &cards[..wanted]).await
}

/// The seq to follow from, so the stream starts with this run's escalations
/// rather than replaying every space the resync recorded.
pub(super) async fn latest_seq(client: &ApiClient) -> anyhow::Result<i64> {
    let (status, body) = client.raw(hyper::Method::GET, "/v1/events?after=0", None).await?;
    anyhow::ensure!(status.is_success(), "GET /v1/events answered {status}");
    let last = body.split(|b| *b == b'\n').rev().find_map(|line| serde_json::from_slice::<EventRecord>(line).ok());
    Ok(last.map_or(0, |event| event.seq))
}

/// `total` creations shared by `clients` concurrent clients; the latency of each.
async fn accept(setup: &Setup, total: usize, clients: usize) -> anyhow::Result<Vec<Duration>> {
    accept_keyed(setup, total, clients, Some("bench/")).await
}

/// The same, each with the key `{prefix}{index}`, or with no key at all.
pub(super) async fn accept_keyed(
    setup: &Setup,
    total: usize,
    clients: usize,
    prefix: Option<&str>,
) -> anyhow::Result<Vec<Duration>> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = JoinSet::new();
    for _ in 0..clients {
        let (client, next, space) = (setup.client.clone(), next.clone(), setup.room.id.clone());
        let prefix = prefix.map(str::to_owned);
        workers.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= total {
                    return Ok::<_, anyhow::Error>(latencies);
                }
                let key = prefix.as_ref().map(|prefix| format!("{prefix}{index}"));
                latencies.push(create(&client, &space, key, index).await?);
            }
        });
    }
    let mut latencies = Vec::with_capacity(total);
    while let Some(joined) = workers.join_next().await {
        // An error drops `workers`, which aborts the other clients.
        latencies.extend(joined??);
    }
    Ok(latencies)
}

async fn create(client: &ApiClient, space_id: &str, key: Option<String>, index: usize) -> anyhow::Result<Duration> {
    let mut body = escalation_body(space_id, index);
    if let Some(key) = key {
        body["key"] = json!(key);
    }
    let started = Instant::now();
    let answer = client.post("/v1/escalations", &body).await?;
    let took = started.elapsed();
    anyhow::ensure!(answer.status == 201, "POST /v1/escalations answered {}: {}", answer.status, answer.body);
    Ok(took)
}

/// The body every bench escalation has (the scale seed stores the same one).
pub(super) fn escalation_body(space_id: &str, index: usize) -> Value {
    json!({
        "to": {"space_id": space_id},
        "player": {"name": "Jane Doe", "email": "jane@example.com", "tags": ["VIP"], "brand": "LuckySpin"},
        "summary": format!("Bench escalation {index}: player asks why withdrawal #4411 is on hold."),
        "question": "Can we release the withdrawal?",
        "timeout_s": 1800,
        "context": {"bench_index": index}
    })
}

/// Waits for `total` cards; returns them in delivery order with the moment the
/// last one was announced.
pub(super) async fn delivered(follower: &mut Follower, total: usize) -> anyhow::Result<(Vec<Card>, Instant)> {
    let deadline = Instant::now() + DELIVERY_TIMEOUT;
    let mut cards = Vec::with_capacity(total);
    let mut last = Instant::now();
    while cards.len() < total {
        let seen =
            follower.next(deadline).await.map_err(|e| e.context(format!("{} of {total} cards posted", cards.len())))?;
        match seen.kind {
            EventKind::EscalationDelivered => {
                let message_id =
                    seen.message_id.ok_or_else(|| anyhow::anyhow!("a delivered event without a message id"))?;
                cards.push((seen.escalation_id, message_id));
                last = seen.at;
            }
            EventKind::EscalationFailed => {
                anyhow::bail!("escalation {} failed instead of being delivered", seen.escalation_id)
            }
            _ => {}
        }
    }
    Ok((cards, last))
}

/// One answer at a time, so each latency is that answer's alone: the click in
/// the simulator to its `escalation.answered` line on the stream.
pub(super) async fn answers(setup: &Setup, follower: &mut Follower, cards: &[Card]) -> anyhow::Result<()> {
    if cards.is_empty() {
        return Ok(());
    }
    println!(
        "\nanswers: {}, one at a time (card submitted in the simulator -> escalation.answered on a follow stream)",
        cards.len()
    );
    let mut latencies = Vec::with_capacity(cards.len());
    for (index, (id, message_id)) in cards.iter().enumerate() {
        let inputs: Map<String, Value> =
            [("response".to_owned(), json!(format!("Bench answer {index}")))].into_iter().collect();
        let clicked = Instant::now();
        setup.sim.submit_card(message_id, &setup.specialist.id, inputs)?;
        let seen = answered(follower, id, clicked + ANSWER_TIMEOUT).await?;
        latencies.push(seen.at.saturating_duration_since(clicked));
    }
    let max = latencies.iter().max().copied().unwrap_or_default();
    println!(
        "  latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(percentile(&mut latencies, 0.50)),
        ms(percentile(&mut latencies, 0.99)),
        ms(max)
    );
    Ok(())
}

async fn answered(follower: &mut Follower, id: &str, deadline: Instant) -> anyhow::Result<Seen> {
    loop {
        let seen = follower.next(deadline).await.map_err(|e| e.context(format!("waiting for the answer to {id}")))?;
        if seen.kind == EventKind::EscalationAnswered && seen.escalation_id == id {
            return Ok(seen);
        }
    }
}
