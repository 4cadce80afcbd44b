//! Two daemon processes on one PostgreSQL store, either killed with `kill -9`
//! at random moments and restarted, while escalations are created (through
//! either), posted and answered, and an engine follows the event log from
//! one instance and then the other: no answer lost, no engine event twice,
//! no seq skipped, duplicate cards counted.
//!
//! `shared_chaos_small` runs with the suite; `shared_chaos_full` (500
//! escalations, 60 kills) by hand:
//! `cargo test --release --test it shared_chaos_full -- --ignored --nocapture`
//! (`CHAOS_ESCALATIONS`, `CHAOS_KILLS` override the sizes). A daemon stopped
//! with SIGSTOP (its socket open, nothing read: half-open to Webex) does not
//! keep answers from the engine either.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::{json, Value};

use crate::chaos::{
    answer_on_random_cards, check_answers_and_close_every_card, check_events_once, create_all, events_of,
    pause_before_a_kill, Daemon,
};
use crate::common::pg::Scratch;
use crate::common::{eventually, write_config, Client, Harness};

/// Two instances: their configs and processes.
struct Pair {
    configs: [PathBuf; 2],
    daemons: [Daemon; 2],
}

impl Pair {
    fn start(h: &Harness, pg: &Scratch, prefix: &str) -> Pair {
        let configs = ["a", "b"].map(|side| {
            let name = format!("{prefix}-{side}");
            let dir = h.dir.path().join(&name);
            std::fs::create_dir_all(&dir).unwrap();
            let overrides = [
                ("store.backend", "postgres"),
                ("store.url", pg.url.as_str()),
                ("store.schema", pg.schema.as_str()),
                ("webex.device_name", name.as_str()),
            ];
            write_config(&dir, h.simulator(), "sim-token", &overrides)
        });
        let daemons = [Daemon::start(&configs[0]), Daemon::start(&configs[1])];
        Pair { configs, daemons }
    }

    /// A client of each, on its socket (beside its config).
    fn clients(&self) -> [Client; 2] {
        self.configs.clone().map(|config| Client::new(config.parent().unwrap().join("api.sock")))
    }

    /// Kills one of them at random `kills` times, restarting it at once: one
    /// is always running, or starting.
    async fn kill_now_and_then(&mut self, kills: usize) {
        for _ in 0..kills {
            pause_before_a_kill().await;
            let victim = rand::rng().random_range(0..2);
            self.daemons[victim].kill_9().await;
            self.daemons[victim] = Daemon::start(&self.configs[victim]);
        }
    }
}

/// An engine following the log, from one instance and then the other at each
/// read, with `after` = the last seq it saw: every seq must come, in order.
struct Follower {
    after: i64,
    events: Vec<Value>,
    reads: usize,
}

impl Follower {
    async fn read(&mut self, daemons: [&Client; 2]) {
        self.reads += 1;
        let daemon = daemons[self.reads % 2];
        let path = format!("/v1/events?after={}&limit=500", self.after);
        let Ok((status, body)) = daemon.raw(hyper::Method::GET, &path, None).await else { return };
        if status != 200 {
            return;
        }
        for line in std::str::from_utf8(&body).unwrap().lines() {
            let event: Value = serde_json::from_str(line).unwrap();
            let seq = event["seq"].as_i64().unwrap();
            assert_eq!(seq, self.after + 1, "the follower's next event after {} (read {})", self.after, self.reads);
            self.after = seq;
            self.events.push(event);
        }
    }
}

async fn shared_chaos(test: &str, escalations: usize, kills: usize) -> Option<String> {
    let pg = Scratch::new(test).await?;
    let started = Instant::now();
    let h = Harness::without_daemon().await;
    let ana = h.sim.add_person("ana.specialist@example.com", "Ana Specialist");
    let room = h.sim.create_room("Chaos");
    for person in [&ana.id, &h.sim.bot().id] {
        h.sim.add_member(&room.id, person, Some(&ana.id)).unwrap();
    }
    let mut pair = Pair::start(&h, &pg, test);
    let clients = pair.clients();
    let daemons = [&clients[0], &clients[1]];
    let follower = tokio::sync::Mutex::new(Follower { after: 0, events: Vec::new(), reads: 0 });
    let pace = Duration::from_millis(700).mul_f64(0.6 * kills as f64 / escalations.max(1) as f64);
    let work = async {
        tokio::join!(
            async {
                let ids = create_all(&daemons, &room.id, escalations, pace).await;
                let answers = answer_on_random_cards(&h, &room.id, &ana.id, &ids).await;
                (ids, answers)
            },
            pair.kill_now_and_then(kills)
        )
    };
    // The engine follows the log all along, from either instance.
    let follow = async {
        let mut follower = follower.lock().await;
        loop {
            follower.read(daemons).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let ((ids, answers), ()) = tokio::select! {
        done = work => done,
        () = follow => unreachable!("the follower follows until the work is done"),
    };
    let closed = check_answers_and_close_every_card(&h, &daemons, &room.id, &ana.id, &answers).await;
    let logged = events_of(daemons[0]).await;
    check_events_once(&logged, &ids);
    let mut follower = follower.into_inner();
    while follower.after < logged.last().map_or(0, |e| e["seq"].as_i64().unwrap()) {
        follower.read(daemons).await;
    }
    assert_eq!(follower.events, logged, "the follower saw the whole log, once, in order");
    let per_type = follower.events.iter().fold(BTreeMap::<String, usize>::new(), |mut counts, e| {
        *counts.entry(e["type"].as_str().unwrap().to_owned()).or_default() += 1;
        counts
    });
    Some(format!(
        "shared chaos: {escalations} escalations, {kills} kill -9s of either instance in {:.1?}: 0 answers lost, \
         0 duplicate engine events, 0 seqs skipped over {} follower reads alternating instances; {} cards, \
         {} duplicates; events {per_type:?}",
        started.elapsed(),
        follower.reads,
        closed.cards,
        closed.duplicates
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_chaos_small() {
    if let Some(report) = shared_chaos("chaos_small", 40, 6).await {
        eprintln!("{report}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes long: run by hand (see the module doc)"]
async fn shared_chaos_full() {
    let size = |name: &str, default: usize| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    if let Some(report) = shared_chaos("chaos_full", size("CHAOS_ESCALATIONS", 500), size("CHAOS_KILLS", 60)).await {
        eprintln!("{report}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_reach_the_engine_through_the_other_instance_while_one_is_frozen() {
    let Some(pg) = Scratch::new("frozen").await else { return };
    let h = Harness::without_daemon().await;
    let ana = h.sim.add_person("ana.specialist@example.com", "Ana Specialist");
    let room = h.sim.create_room("Frozen");
    for person in [&ana.id, &h.sim.bot().id] {
        h.sim.add_member(&room.id, person, Some(&ana.id)).unwrap();
    }
    let pair = Pair::start(&h, &pg, "frozen");
    let clients = pair.clients();
    let [a, b] = [&clients[0], &clients[1]];
    for daemon in [a, b] {
        eventually("connected", || async move {
            let health = daemon.get("/v1/health").await.map_err(|e| e.to_string())?.body;
            (health["webex"]["connected"] == true).then_some(()).ok_or(health.to_string())
        })
        .await;
    }
    let body = json!({"to": {"space_id": room.id}, "summary": "Frozen"});
    let id = b.post("/v1/escalations", &body).await.unwrap().body["id"].as_str().unwrap().to_owned();
    let card = eventually("posted", || async {
        let e = b.get(&format!("/v1/escalations/{id}")).await.map_err(|e| e.to_string())?.body;
        e["delivery"]["message_id"].as_str().map(str::to_owned).ok_or(e.to_string())
    })
    .await;
    // A stops reading its socket: Webex's frames to its device pile up unacked.
    let frozen = pair.daemons[0].pid().expect("running");
    signal(frozen, libc::SIGSTOP);
    let pressed = Instant::now();
    let inputs = [("response".to_owned(), json!("through b"))].into_iter().collect();
    h.sim.submit_card(&card, &ana.id, inputs).unwrap();
    let answered = eventually("answered through the other instance", || async {
        let e: Value = b.get(&format!("/v1/escalations/{id}?wait=5")).await.map_err(|e| e.to_string())?.body;
        (e["status"] == "answered").then_some(e.clone()).ok_or(e.to_string())
    })
    .await;
    eprintln!("answered through the other instance {:?} after the press", pressed.elapsed());
    assert_eq!(answered["answer"]["inputs"]["response"], "through b");
    signal(frozen, libc::SIGCONT);
    let thawed = eventually("the thawed instance sees it too, and does not answer twice", || async {
        let e: Value = a.get(&format!("/v1/escalations/{id}")).await.map_err(|e| e.to_string())?.body;
        (e["status"] == "answered").then_some(e.clone()).ok_or(e.to_string())
    })
    .await;
    assert_eq!(thawed["answer"], answered["answer"]);
    let answered_events = events_of(a).await.iter().filter(|e| e["type"] == "escalation.answered").count();
    assert_eq!(answered_events, 1);
}

fn signal(pid: u32, signal: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).expect("a pid");
    // SAFETY: kill(2) with a pid of our own child and a valid signal number.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "signal {signal} to {pid}");
}
