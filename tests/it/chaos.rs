//! `kill -9` at random moments while escalations are created, posted and
//! answered on a random card of each: no answer lost, no engine event twice,
//! every card of every escalation closed, duplicate cards counted.
//!
//! `chaos_small` runs with the suite; `chaos_full` (1,000 escalations, 100
//! kills) is run by hand: `cargo test --release --test it chaos_full -- --ignored --nocapture`
//! (`CHAOS_ESCALATIONS`, `CHAOS_KILLS` override the sizes).

use crate::common::{eventually_within, serve_command, write_config, Client, Harness};
use rand::Rng;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use webex_hitl::sim::SimMessage;

#[tokio::test]
async fn chaos_small() {
    let report = chaos(40, 5).await;
    eprintln!("{report}");
}

#[tokio::test]
#[ignore = "minutes long: run by hand (see the module doc)"]
async fn chaos_full() {
    let size = |name: &str, default: usize| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let report = chaos(size("CHAOS_ESCALATIONS", 1000), size("CHAOS_KILLS", 100)).await;
    eprintln!("{report}");
}

struct Report {
    escalations: usize,
    kills: usize,
    cards: usize,
    duplicates: usize,
    found_metric: f64,
    took: Duration,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "chaos: {} escalations, {} kill -9s in {:.1?}: 0 answers lost, 0 duplicate engine events, \
             {} cards all closed ({} duplicates, webex_hitl_cards{{origin=\"found\"}} = {})",
            self.escalations, self.kills, self.took, self.cards, self.duplicates, self.found_metric
        )
    }
}

/// The mean time between kills; start-up takes a few hundred milliseconds, so
/// kills land in start-up, in deliveries and in answers alike.
const KILL_EVERY_MEAN: Duration = Duration::from_millis(700);

/// A daemon process the chaos kills and restarts.
pub(crate) struct Daemon(Option<tokio::process::Child>);

impl Daemon {
    pub(crate) fn start(config: &Path) -> Self {
        let child = serve_command(config).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("starts");
        Daemon(Some(child))
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        self.0.as_ref()?.id()
    }

    pub(crate) async fn kill_9(&mut self) {
        if let Some(mut child) = self.0.take() {
            child.start_kill().unwrap();
            child.wait().await.unwrap();
        }
    }
}

async fn chaos(escalations: usize, kills: usize) -> Report {
    let started = Instant::now();
    let h = Harness::without_daemon().await;
    let config = write_config(h.dir.path(), h.simulator(), "sim-token", &[]);
    let ana = h.sim.add_person("ana.specialist@example.com", "Ana Specialist");
    let room = h.sim.create_room("Chaos");
    for person in [&ana.id, &h.sim.bot().id] {
        h.sim.add_member(&room.id, person, Some(&ana.id)).unwrap();
    }
    let mut daemon = Daemon::start(&config);
    // Kills land while escalations are created, posted and answered.
    // Creation spans about the first 60% of the kills; answering, the rest.
    let pace = KILL_EVERY_MEAN.mul_f64(0.6 * kills as f64 / escalations.max(1) as f64);
    let ((ids, answers), ()) = tokio::join!(
        async {
            let ids = create_all(&[&h.client], &room.id, escalations, pace).await;
            let answers = answer_on_random_cards(&h, &room.id, &ana.id, &ids).await;
            (ids, answers)
        },
        kill_now_and_then(&mut daemon, &config, kills)
    );
    h.wait_until_serving().await;
    let closed = check_answers_and_close_every_card(&h, &[&h.client], &room.id, &ana.id, &answers).await;
    check_events_once(&events_of(&h.client).await, &ids);
    let found_metric = h.metric("webex_hitl_cards{origin=\"found\"}").await.unwrap_or(0.0);
    assert_eq!(found_metric as usize, closed.duplicates, "every duplicate card is counted once");
    Report {
        escalations,
        kills,
        cards: closed.cards,
        duplicates: closed.duplicates,
        found_metric,
        took: started.elapsed(),
    }
}

/// Creates the escalations at a steady pace (so kills land in deliveries),
/// retrying each with its key until a daemon answered it (each try through
/// the next of `daemons`: an engine that fails over).
pub(crate) async fn create_all(daemons: &[&Client], room: &str, n: usize, pace: Duration) -> Vec<String> {
    let mut ids = Vec::with_capacity(n);
    let tries = std::cell::Cell::new(0_usize);
    for i in 0..n {
        let body = json!({"key": format!("chaos-{i}"), "to": {"space_id": room}, "summary": format!("Chaos {i}")});
        let id = eventually_within(Duration::from_secs(60), "an escalation is accepted", || async {
            tries.set(tries.get() + 1);
            match daemons[tries.get() % daemons.len()].post("/v1/escalations", &body).await {
                Ok(answer) if answer.status.is_success() => Ok(answer.body["id"].as_str().unwrap().to_owned()),
                Ok(answer) => Err(format!("{}: {}", answer.status, answer.body)),
                Err(error) => Err(error.to_string()),
            }
        })
        .await;
        ids.push(id);
        tokio::time::sleep(pace).await;
    }
    ids
}

/// `kills` kill -9s at random moments (start-up included), each followed at
/// once by a restart, so a daemon is running when it returns.
async fn kill_now_and_then(daemon: &mut Daemon, config: &Path, kills: usize) {
    for _ in 0..kills {
        pause_before_a_kill().await;
        daemon.kill_9().await;
        *daemon = Daemon::start(config);
    }
}

/// A random pause around [`KILL_EVERY_MEAN`].
pub(crate) async fn pause_before_a_kill() {
    let mean = KILL_EVERY_MEAN.as_millis() as u64;
    let pause = rand::rng().random_range(mean / 3..mean * 5 / 3);
    tokio::time::sleep(Duration::from_millis(pause)).await;
}

/// The escalation an open card message was posted for, from its submit data
/// (a closed card has no submit button any more).
fn escalation_of(message: &SimMessage) -> Option<String> {
    let card = message.card.as_ref()?;
    card["actions"][0]["data"]["_escalation"].as_str().map(str::to_owned)
}

fn cards_by_escalation(h: &Harness, room: &str) -> BTreeMap<String, Vec<String>> {
    let mut cards: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for message in h.sim.messages(room).into_iter().filter(|m| !m.deleted) {
        if let Some(id) = escalation_of(&message) {
            cards.entry(id).or_default().push(message.id);
        }
    }
    cards
}

/// Once every escalation has a card, a specialist answers each on a random one.
pub(crate) async fn answer_on_random_cards(
    h: &Harness,
    room: &str,
    ana: &str,
    ids: &[String],
) -> BTreeMap<String, String> {
    let cards = eventually_within(Duration::from_secs(120), "every escalation has a card", || async {
        let cards = cards_by_escalation(h, room);
        let missing = ids.iter().filter(|id| !cards.contains_key(*id)).count();
        (missing == 0).then_some(cards.clone()).ok_or(format!("{missing} without a card"))
    })
    .await;
    let mut answers = BTreeMap::new();
    for id in ids {
        let of_this = &cards[id];
        let card = &of_this[rand::rng().random_range(0..of_this.len())];
        let answer = format!("answer to {id}");
        let inputs = [("response".to_owned(), json!(answer))].into_iter().collect();
        h.sim.submit_card(card, ana, inputs).unwrap();
        answers.insert(id.clone(), answer);
    }
    answers
}

pub(crate) struct Closed {
    pub(crate) cards: usize,
    pub(crate) duplicates: usize,
}

/// Every answer arrived as given. Then every card still open is pressed too (the
/// daemon learns of a duplicate only when it is pressed), until every card in
/// the space shows its answer.
pub(crate) async fn check_answers_and_close_every_card(
    h: &Harness,
    daemons: &[&Client],
    room: &str,
    ana: &str,
    answers: &BTreeMap<String, String>,
) -> Closed {
    let tries = std::cell::Cell::new(0_usize);
    for (id, answer) in answers {
        let escalation = eventually_within(Duration::from_secs(120), "the answer arrives", || async {
            tries.set(tries.get() + 1);
            let daemon = daemons[tries.get() % daemons.len()];
            let e: Value = daemon.get(&format!("/v1/escalations/{id}?wait=5")).await.map_err(|e| e.to_string())?.body;
            (e["status"] == "answered").then_some(e.clone()).ok_or_else(|| e.to_string())
        })
        .await;
        assert_eq!(escalation["answer"]["inputs"]["response"], answer.as_str(), "{escalation:#}");
    }
    let pressed = std::cell::RefCell::new(BTreeSet::new());
    eventually_within(Duration::from_secs(120), "every card shows its answer", || async {
        let open = cards_by_escalation(h, room);
        let mut pressed = pressed.borrow_mut();
        for card in open.values().flatten() {
            if pressed.insert(card.clone()) {
                let inputs = [("response".to_owned(), json!("late"))].into_iter().collect();
                h.sim.submit_card(card, ana, inputs).unwrap();
            }
        }
        let still_open: usize = open.values().map(Vec::len).sum();
        (still_open == 0).then_some(()).ok_or(format!("{still_open} cards still open"))
    })
    .await;
    let cards = h.sim.messages(room).into_iter().filter(|m| m.card.is_some() && !m.deleted).count();
    Closed { cards, duplicates: cards - answers.len() }
}

/// The whole event log, as one daemon serves it.
pub(crate) async fn events_of(daemon: &Client) -> Vec<Value> {
    let (_, body) = daemon.raw(hyper::Method::GET, "/v1/events?after=0", None).await.unwrap();
    std::str::from_utf8(&body).unwrap().lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

/// The engine's log has each escalation created once and answered once.
pub(crate) fn check_events_once(events: &[Value], ids: &[String]) {
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    for event in events {
        if let Some(id) = event["escalation"]["id"].as_str() {
            *seen.entry((event["type"].as_str().unwrap().to_owned(), id.to_owned())).or_default() += 1;
        }
    }
    let twice: BTreeSet<_> = seen.iter().filter(|(_, n)| **n > 1).map(|(k, _)| k.clone()).collect();
    assert!(twice.is_empty(), "engine events more than once: {twice:?}");
    for id in ids {
        for kind in ["escalation.created", "escalation.answered"] {
            assert_eq!(seen.get(&(kind.to_owned(), id.clone())), Some(&1), "{kind} for {id}");
        }
    }
}
