//! Several daemons, one PostgreSQL store, one simulator (which, as Webex does,
//! sends every activity to every device of the bot): each answer is processed
//! once, each engine event logged once with a gap-free seq, each escalation
//! gets one card, and each instance keeps one device of its own.

use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use webex_hitl::config::Config;
use webex_hitl::daemon::{self, DaemonError};

use crate::common::pg::{Bouncer, Scratch};
use crate::common::{eventually, sample, serve_command, write_config, Client, Harness};

/// One daemon of the group, in this process, with its own socket and device.
struct Instance {
    client: Client,
    config: Config,
    running: Option<(CancellationToken, JoinHandle<Result<(), DaemonError>>)>,
}

impl Instance {
    fn configure(h: &Harness, pg: &Scratch, name: &str) -> Config {
        let dir = h.dir.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let overrides = [
            ("store.backend", "postgres"),
            ("store.url", pg.url.as_str()),
            ("store.schema", pg.schema.as_str()),
            ("webex.device_name", name),
        ];
        let path = write_config(&dir, h.simulator(), "sim-token", &overrides);
        Config::load(Some(&path)).expect("a valid config")
    }

    async fn start(config: Config) -> Instance {
        let client = Client::new(&config.api.socket);
        let mut instance = Instance { client, config, running: None };
        instance.restart().await;
        instance
    }

    async fn restart(&mut self) {
        let shutdown = CancellationToken::new();
        let running = daemon::start(self.config.clone(), shutdown.clone()).await.expect("daemon starts");
        self.running = Some((shutdown, tokio::spawn(running.wait())));
        let client = &self.client;
        eventually("the instance is connected to Webex", || async move {
            let health = client.get("/v1/health").await.map_err(|e| e.to_string())?.body;
            if health["webex"]["connected"] == true {
                Ok(())
            } else {
                Err(format!("{health:#}"))
            }
        })
        .await;
    }

    async fn stop(&mut self) {
        let (shutdown, task) = self.running.take().expect("running");
        shutdown.cancel();
        task.await.expect("daemon task").expect("stops cleanly");
    }

    async fn leads(&self) -> Option<f64> {
        let (_, body) = self.client.raw(hyper::Method::GET, "/metrics", None).await.expect("metrics");
        sample(std::str::from_utf8(&body).expect("text"), "webex_hitl_leader")
    }
}

/// The leader lease as the store has it: (holder, fence).
async fn lease(pg: &Scratch) -> Option<(String, i64)> {
    let rows = pg.rows("SELECT holder, fence FROM leases WHERE name = 'leader'").await;
    rows.first().map(|row| (row[0].clone(), row[1].parse().expect("a fence")))
}

async fn escalation(client: &Client, id: &str) -> Value {
    client.get(&format!("/v1/escalations/{id}")).await.unwrap().body
}

async fn until(client: &Client, id: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let check = &check;
    eventually(&format!("escalation {id}: {what}"), || async move {
        let e = escalation(client, id).await;
        if check(&e) {
            Ok(e)
        } else {
            Err(format!("{e:#}"))
        }
    })
    .await
}

async fn events(client: &Client) -> Vec<Value> {
    let (_, body) = client.raw(hyper::Method::GET, "/v1/events?after=0&limit=1000", None).await.unwrap();
    std::str::from_utf8(&body).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn live_cards(h: &Harness, room: &str) -> usize {
    h.sim.messages(room).iter().filter(|m| m.card.is_some() && !m.deleted).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_daemons_on_one_store_answer_once_log_once_and_post_one_card_each() {
    let Some(pg) = Scratch::new("two_daemons_on_one_store").await else { return };
    let h = Harness::without_daemon().await;
    let ana = h.sim.add_person("ana.specialist@example.com", "Ana Specialist");
    let room = h.sim.create_room("VIP Escalations");
    for person in [&ana.id, &h.sim.bot().id] {
        h.sim.add_member(&room.id, person, Some(&ana.id)).unwrap();
    }
    let mut a = Instance::start(Instance::configure(&h, &pg, "two-a")).await;
    let mut b = Instance::start(Instance::configure(&h, &pg, "two-b")).await;
    assert_eq!(h.sim.device_count(), 2, "one device per instance");

    const N: usize = 20;
    let mut ids = Vec::new();
    for n in 0..N {
        // The engine may talk to either instance: every instance answers from the shared store.
        let (via, other) = if n % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let body = json!({"to": {"space_id": room.id}, "summary": format!("Case {n}"), "key": format!("case-{n}")});
        let created = via.client.post("/v1/escalations", &body).await.unwrap();
        assert_eq!(created.status, 201, "{:#}", created.body);
        let id = created.body["id"].as_str().unwrap().to_owned();
        let replay = other.client.post("/v1/escalations", &body).await.unwrap();
        assert_eq!(replay.body["id"], id.as_str(), "the key is known to the other instance too: {:#}", replay.body);
        ids.push(id);
    }
    let mut cards = Vec::new();
    for id in &ids {
        let posted = until(&b.client, id, "posted", |e| e["delivery"]["state"] == "posted").await;
        cards.push(posted["delivery"]["message_id"].as_str().unwrap().to_owned());
    }
    for (n, card) in cards.iter().enumerate() {
        let inputs = json!({"response": format!("answer {n}")}).as_object().unwrap().clone();
        h.sim.submit_card(card, &ana.id, inputs).unwrap();
    }
    for (n, id) in ids.iter().enumerate() {
        let answered = until(&a.client, id, "answered", |e| e["status"] == "answered").await;
        assert_eq!(answered["answer"]["inputs"]["response"], format!("answer {n}"));
    }
    for card in &cards {
        h.card_matching(card, |c| c.contains("Answered by Ana Specialist")).await;
    }
    assert_eq!(live_cards(&h, &room.id), N, "one card per escalation, none posted twice");

    let seen_by_a = events(&a.client).await;
    let seen_by_b = events(&b.client).await;
    assert_eq!(seen_by_a, seen_by_b, "both instances serve the same log");
    let seqs: Vec<i64> = seen_by_a.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "seq is gap-free");
    for id in &ids {
        let of =
            |kind: &str| seen_by_a.iter().filter(|e| e["type"] == kind && e["escalation"]["id"] == id.as_str()).count();
        assert_eq!(
            (of("escalation.created"), of("escalation.delivered"), of("escalation.answered")),
            (1, 1, 1),
            "{id}: each event once"
        );
    }

    a.stop().await;
    b.stop().await;
    a.restart().await;
    b.restart().await;
    assert_eq!(h.sim.device_count(), 2, "restarted instances reuse their own devices");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_database_session_is_killed_stops_and_another_takes_over() {
    let Some(pg) = Scratch::new("leader_session_killed").await else { return };
    let h = Harness::without_daemon().await;
    let mut a = Instance::start(Instance::configure(&h, &pg, "leader-a")).await;
    let mut b = Instance::start(Instance::configure(&h, &pg, "leader-b")).await;
    let (holder, fence) = eventually("a leader is elected", || async {
        match lease(&pg).await {
            Some(lease) if a.leads().await.zip(b.leads().await).is_some_and(|(x, y)| x + y == 1.0) => Ok(lease),
            other => Err(format!("lease {other:?}, a {:?}, b {:?}", a.leads().await, b.leads().await)),
        }
    })
    .await;
    let (leader, follower) = if holder == "leader-a" { (&a, &b) } else { (&b, &a) };
    assert_eq!(leader.leads().await, Some(1.0));

    // Every session of the leader, its writer's included, is killed by the server.
    let killed = pg
        .rows(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE '% {holder}'"
        ))
        .await;
    assert!(killed.len() >= 2, "the writer and the readers, at least: {killed:?}");
    eventually("the peer takes the lease over, with a new fence", || async {
        match lease(&pg).await {
            Some((now, new)) if now != holder && new == fence + 1 => Ok(()),
            other => Err(format!("lease {other:?}")),
        }
    })
    .await;
    eventually("the deposed leader has stopped, the peer leads", || async {
        match (leader.leads().await, follower.leads().await) {
            (Some(0.0), Some(1.0)) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let listed = leader.client.get("/v1/escalations").await.unwrap();
    assert_eq!(listed.status, 200, "the deposed instance reads the store again: {:#}", listed.body);
    a.stop().await;
    b.stop().await;
}

/// `serve` with `overrides` on the scratch store: its exit code and stderr.
async fn serve_once(h: &Harness, pg_url: &str, schema: &str, name: &str) -> (Option<i32>, String) {
    let dir = h.dir.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let overrides =
        [("store.backend", "postgres"), ("store.url", pg_url), ("store.schema", schema), ("webex.device_name", name)];
    let config = write_config(&dir, h.simulator(), "sim-token", &overrides);
    let output = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        serve_command(&config).stdout(std::process::Stdio::null()).output(),
    )
    .await
    .expect("serve gives up by itself")
    .expect("serve runs");
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[tokio::test]
async fn a_schema_of_another_program_is_refused_untouched_and_an_unreachable_server_is_worth_a_retry() {
    let Some(pg) = Scratch::new("refused").await else { return };
    pg.rows("CREATE TABLE users (id BIGINT PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'alice')").await;
    let h = Harness::without_daemon().await;
    let (code, stderr) = serve_once(&h, &pg.url, &pg.schema, "refused-a").await;
    assert_eq!(code, Some(78), "only an operator can fix it: {stderr}");
    assert!(stderr.contains("not a webex-hitl store") && stderr.contains("users"), "{stderr}");
    let rows =
        pg.rows("SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()").await;
    assert_eq!(rows, [["users".to_owned()]], "nothing was created beside it");
    assert_eq!(pg.rows("SELECT name FROM users").await, [["alice".to_owned()]], "nor changed");

    // Nothing listens on port 1: the server may come back, so systemd should try again.
    let (code, stderr) = serve_once(&h, "postgres://postgres@127.0.0.1:1/test", "x", "refused-b").await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("store.url: cannot connect to PostgreSQL"), "{stderr}");
}

#[tokio::test]
async fn a_transaction_pooling_proxy_is_refused_with_78_and_session_pooling_is_fine() {
    let Some(pg) = Scratch::new("pooling").await else { return };
    let Some(transaction) = Bouncer::start("a_transaction_pooling_proxy…", "transaction").await else { return };
    let h = Harness::without_daemon().await;
    let (code, stderr) = serve_once(&h, &transaction.url, &pg.schema, "pooled-a").await;
    assert_eq!(code, Some(78), "{stderr}");
    assert!(stderr.contains("transaction-pooling proxy") && stderr.contains("server processes"), "{stderr}");

    let Some(session) = Bouncer::start("a_transaction_pooling_proxy…", "session").await else { return };
    let url = webex_hitl::secret::Secret::new(session.url.clone());
    let store = webex_hitl::store::Store::open_postgres(&url, Some(&pg.schema), "pooled-b").await;
    assert!(store.is_ok(), "session pooling keeps a session per client: {:?}", store.err());
}
