//! The faults that used to lose answers or flood a space (issue 9): each test
//! reproduces one through the simulator, and fails on the code before the fix.

use crate::common::{eventually, eventually_within, serve_command, write_config, Harness};
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};
use webex_hitl::sim::{SimPerson, SimRoom};

struct World {
    h: Harness,
    ana: SimPerson,
    room: SimRoom,
}

/// A daemon and a space with the bot and Ana in it.
async fn world() -> World {
    world_on(Harness::start().await).await
}

fn inputs(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect()
}

async fn escalation(h: &Harness, id: &str, wait: u64) -> Value {
    h.client.get(&format!("/v1/escalations/{id}?wait={wait}")).await.unwrap().body
}

/// Posts an escalation to the room and waits for its card: (escalation id, card message id).
async fn delivered(w: &World, summary: &str) -> (String, String) {
    let body = json!({"to": {"space_id": w.room.id}, "summary": summary});
    let created = w.h.client.post("/v1/escalations", &body).await.unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let posted = eventually("the card is posted", || async {
        let e = escalation(&w.h, &id, 0).await;
        e["delivery"]["message_id"].as_str().map(str::to_owned).ok_or_else(|| e.to_string())
    })
    .await;
    (id, posted)
}

/// Waits until the card message shows `text`.
async fn card_shows(h: &Harness, message_id: &str, text: &str) {
    eventually(&format!("card {message_id} shows {text:?}"), || async {
        let card = h.sim.message(message_id).and_then(|m| m.card).map(|c| c.to_string()).unwrap_or_default();
        card.contains(text).then_some(()).ok_or(card)
    })
    .await
}

/// What Webex stored when the answer to our post never reached us: the same
/// card, posted with the bot's token, that the daemon has no record of.
async fn lost_duplicate(h: &Harness, tracked: &str) -> String {
    let original = h.sim.message(tracked).unwrap();
    let body = json!({
        "roomId": original.room_id,
        "text": original.text,
        "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": original.card}],
    });
    let posted: Value = reqwest::Client::new()
        .post(format!("{}/messages", h.simulator().api_url()))
        .bearer_auth("sim-token")
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    posted["id"].as_str().expect("a message id").to_owned()
}

fn replies_under(h: &Harness, room: &str, card: &str) -> Vec<String> {
    h.sim.messages(room).into_iter().filter(|m| m.parent_id.as_deref() == Some(card)).filter_map(|m| m.text).collect()
}

// 1. A duplicate card, and then the answer silently lost.
#[tokio::test]
async fn an_answer_on_a_duplicate_card_is_honoured_and_every_card_closed() {
    let w = world().await;
    let (id, tracked) = delivered(&w, "Refund request").await;
    let duplicate = lost_duplicate(&w.h, &tracked).await;
    assert_ne!(duplicate, tracked);

    w.h.sim.submit_card(&duplicate, &w.ana.id, inputs(&[("response", "Approved")])).unwrap();
    let answered = escalation(&w.h, &id, 10).await;
    assert_eq!(answered["status"], "answered", "{answered:#}");
    assert_eq!(answered["answer"]["inputs"], json!({"response": "Approved"}));
    card_shows(&w.h, &duplicate, "Answered by Ana Specialist").await;
    card_shows(&w.h, &tracked, "Answered by Ana Specialist").await;
    assert_eq!(w.h.metric("webex_hitl_cards{origin=\"found\"}").await, Some(1.0));
}

#[tokio::test]
async fn a_late_click_on_a_duplicate_of_an_answered_escalation_closes_it_too() {
    let w = world().await;
    let (id, tracked) = delivered(&w, "Refund request").await;
    let duplicate = lost_duplicate(&w.h, &tracked).await;
    w.h.sim.submit_card(&tracked, &w.ana.id, inputs(&[("response", "Approved")])).unwrap();
    assert_eq!(escalation(&w.h, &id, 10).await["status"], "answered");

    w.h.sim.submit_card(&duplicate, &w.ana.id, inputs(&[("response", "Denied")])).unwrap();
    card_shows(&w.h, &duplicate, "Answered by Ana Specialist").await;
    let replies = eventually("the late click is told", || async {
        let replies = replies_under(&w.h, &w.room.id, &duplicate);
        (!replies.is_empty()).then_some(replies.clone()).ok_or(format!("{replies:?}"))
    })
    .await;
    assert!(replies[0].starts_with("Already answered by Ana Specialist"), "{replies:?}");
    assert_eq!(escalation(&w.h, &id, 0).await["answer"]["inputs"]["response"], "Approved");
}

// 3. An answer stuck after a long REST outage.
#[tokio::test]
async fn an_answer_waits_out_a_long_rest_outage() {
    let w = world().await;
    let (id, card) = delivered(&w, "Withdrawal on hold").await;
    // Far more failures than the 8 tries after which an event used to be left
    // for a redelivery that never came (each try is several REST attempts).
    w.h.sim.fail_next_rest_matching("/attachment/actions/", 60, 503, Some(0));
    w.h.sim.submit_card(&card, &w.ana.id, inputs(&[("response", "Release it")])).unwrap();
    let answered = eventually_within(Duration::from_secs(60), "the answer arrives after the outage", || async {
        let e = escalation(&w.h, &id, 1).await;
        (e["status"] == "answered").then_some(e.clone()).ok_or_else(|| e["status"].to_string())
    })
    .await;
    assert_eq!(answered["answer"]["inputs"]["response"], "Release it");
    let failed =
        w.h.sim.rest_calls().iter().filter(|c| c.path.contains("/attachment/actions/") && c.status == 503).count();
    assert_eq!(failed, 60, "the outage was waited out, not cut short");
}

// 5. Duplicate and flooding threaded replies.
#[tokio::test]
async fn repeated_forged_clicks_get_one_reply_and_a_flood_of_them_a_capped_few() {
    let w = world().await;
    let (_, card) = delivered(&w, "Bonus dispute").await;
    let forged = inputs(&[("response", "x"), ("_sig", "00")]);
    let before = w.h.health().await["events"]["handled"].as_u64().unwrap_or(0);
    for _ in 0..5 {
        w.h.sim.submit_card(&card, &w.ana.id, forged.clone()).unwrap();
    }
    let others: Vec<SimPerson> = (0..14)
        .map(|i| {
            let p = w.h.sim.add_person(&format!("clicker{i}@example.com"), &format!("Clicker {i}"));
            w.h.sim.add_member(&w.room.id, &p.id, None).unwrap();
            p
        })
        .collect();
    for person in &others {
        w.h.sim.submit_card(&card, &person.id, forged.clone()).unwrap();
    }
    // Every click handled (and each clicker's membership event: the two go by
    // different lanes, so counting clicks alone could stop before the last
    // click), and every reply owed posted: then count.
    let events = 5 + 2 * others.len() as u64;
    eventually("every click is handled", || async {
        let handled = w.h.health().await["events"]["handled"].as_u64().unwrap_or(0);
        (handled >= before + events).then_some(()).ok_or(format!("{} of {events} handled", handled - before))
    })
    .await;
    let cap = webex_hitl::store::MAX_REPLIES_PER_ESCALATION as usize;
    eventually("the capped replies are posted", || async {
        let replies = replies_under(&w.h, &w.room.id, &card);
        (replies.len() >= cap).then_some(()).ok_or(format!("{} replies", replies.len()))
    })
    .await;
    w.h.wait_outbox_empty().await;
    let replies = replies_under(&w.h, &w.room.id, &card);
    assert_eq!(replies.len(), cap, "one per person and text, at most {cap}: {replies:#?}");
    assert!(replies.iter().all(|r| r.contains("not issued by this service")), "{replies:#?}");
}

#[tokio::test]
async fn a_reply_under_way_when_the_daemon_died_is_not_posted_twice() {
    let mut h = Harness::without_daemon().await;
    let store = webex_hitl::store::Store::open(&h.config.store.path).await.unwrap();
    let reply =
        webex_hitl::store::Reply { room_id: "R".into(), parent_id: None, text: "posted once".into(), markdown: None };
    let to = webex_hitl::store::ReplyTo { escalation_id: "esc_gone".into(), person_id: "P".into() };
    store.enqueue_reply(reply, to, None).await.unwrap();
    let job = store.due_jobs(chrono::Utc::now(), 10).await.unwrap().remove(0);
    // The daemon marked the reply started, posted it, and died before removing the job.
    store.start_job(job.id).await.unwrap();
    drop(store);
    h.start_daemon().await;
    h.wait_outbox_empty().await;
    let posted = h.sim.rest_calls().iter().filter(|c| c.method == "POST" && c.path.ends_with("/messages")).count();
    assert_eq!(posted, 0, "the reply is not posted a second time");
}

// 6. A cursor ahead of the store sees nothing.
#[tokio::test]
async fn a_cursor_beyond_the_head_is_reset_and_follows_new_events() {
    let w = world().await;
    let head = head_seq(&w.h).await;
    for after in [head + 50, i64::MAX] {
        let (_, body) = w.h.client.raw(hyper::Method::GET, &format!("/v1/events?after={after}"), None).await.unwrap();
        let lines: Vec<Value> =
            std::str::from_utf8(&body).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines[0]["type"], "stream.reset", "not a gap: {lines:#?}");
        // Events may still land meanwhile (the space, the connection): the head only moves on,
        // and whatever landed after the reset's head follows it, in order, never below it.
        let reset_head = lines[0]["head"].as_i64().expect("the reset names the head");
        assert!(reset_head >= head && reset_head < after, "{lines:#?}");
        let seqs: Vec<i64> = lines[1..].iter().map(|l| l["seq"].as_i64().expect("an event has a seq")).collect();
        assert!(seqs.iter().all(|&s| s > reset_head), "only events after the head follow: {lines:#?}");
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "gap-free: {lines:#?}");
    }
    // A follower with a cursor from a longer log still gets what happens next.
    let socket = w.h.config.api.socket.clone();
    let (reset_seen, reset) = tokio::sync::oneshot::channel();
    let follower = tokio::spawn(async move {
        let client = crate::common::Client::new(socket);
        let (mut lines, mut reset_seen) = (Vec::new(), Some(reset_seen));
        let path = format!("/v1/events?after={}&follow=true", head + 1000);
        client
            .stream_lines(&path, |line| {
                lines.push(line.to_owned());
                if let Some(seen) = reset_seen.take() {
                    let _ = seen.send(());
                }
                !line.contains("escalation.created")
            })
            .await
            .unwrap();
        lines
    });
    // The reset line means the stream is open at the head: what comes next is pushed.
    reset.await.expect("the follower reads its first line");
    delivered(&w, "After the restore").await;
    let lines = tokio::time::timeout(Duration::from_secs(10), follower).await.expect("the new event arrives").unwrap();
    assert!(lines[0].contains("stream.reset"), "{lines:#?}");
    assert!(lines.last().unwrap().contains("escalation.created"), "{lines:#?}");
}

async fn head_seq(h: &Harness) -> i64 {
    let (_, body) = h.client.raw(hyper::Method::GET, "/v1/events?after=0", None).await.unwrap();
    let last = std::str::from_utf8(&body).unwrap().lines().last().map(|l| serde_json::from_str::<Value>(l).unwrap());
    last.and_then(|l| l["seq"].as_i64()).unwrap_or(0)
}

// 7. A client error answered 502.
#[tokio::test]
async fn an_empty_person_email_on_a_message_is_the_callers_error() {
    let h = Harness::start().await;
    for to in [json!({"person_email": ""}), json!({"person_email": "   "}), json!({"person_id": ""})] {
        let answer = h.client.post("/v1/messages", &json!({"to": to, "text": "hi"})).await.unwrap();
        assert_eq!(answer.status, 422, "{to}: {}", answer.body);
        assert_eq!(answer.body["error"]["code"], "invalid");
        assert!(answer.body["error"]["message"].as_str().unwrap().starts_with("to.person_"), "{}", answer.body);
    }
}

// 4. The API socket starved by slow or idle clients.
#[tokio::test]
async fn stalled_connections_cannot_starve_the_api_or_the_link() {
    let h = Harness::without_daemon().await;
    raise_own_fd_limit(4096);
    let config = write_config(h.dir.path(), h.simulator(), "sim-token", &[]);
    let mut command = serve_command(&config);
    command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    limit_child_fds(&mut command, 1024);
    let _child = command.spawn().unwrap();
    h.wait_until_serving().await;
    h.wait_health(|health| health["webex"]["connected"] == true).await;

    // 1,100 clients that open a connection, start a request, and stall.
    let mut stalled = Vec::new();
    for _ in 0..1100 {
        let mut stream = tokio::net::UnixStream::connect(&h.config.api.socket).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut stream, b"GET /v1/health HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        stalled.push(stream);
    }
    let started = Instant::now();
    let health = tokio::time::timeout(Duration::from_secs(1), h.client.get("/v1/health")).await;
    let took = started.elapsed();
    eprintln!("/v1/health with 1,100 stalled connections under a 1,024 fd limit: {took:?}");
    assert_eq!(health.expect("answers within 1 s").unwrap().status, 200);

    let reconnects = h.reconnects().await;
    h.sim.drop_sockets();
    h.wait_health(|health| health["webex"]["reconnects"].as_u64() > Some(reconnects)).await;
    drop(stalled);
}

fn raise_own_fd_limit(at_least: u64) {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if soft < at_least {
        setrlimit(Resource::RLIMIT_NOFILE, at_least.min(hard), hard).unwrap();
    }
}

/// The unit's old default: 1,024 open files for the daemon.
fn limit_child_fds(command: &mut tokio::process::Command, limit: u64) {
    // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        command.pre_exec(move || {
            nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE, limit, limit)
                .map_err(std::io::Error::from)
        });
    }
}

// 9. The database world-readable when run by hand.
#[tokio::test]
async fn store_files_are_private_whatever_the_umask_across_kill_and_restart() {
    use std::os::unix::fs::PermissionsExt;
    let h = Harness::without_daemon().await;
    let store = h.dir.path().join("private").join("store.db");
    let config = write_config(h.dir.path(), h.simulator(), "sim-token", &[("store.path", store.to_str().unwrap())]);
    let mode = |path: &std::path::Path| std::fs::metadata(path).map(|m| m.permissions().mode() & 0o777).ok();
    for round in 0..2 {
        if round == 1 {
            // As an older version (or a copy by hand) may have left it.
            std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let mut command = serve_command(&config);
        command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        // SAFETY: umask is async-signal-safe.
        unsafe {
            command.pre_exec(|| {
                nix::sys::stat::umask(nix::sys::stat::Mode::empty());
                Ok(())
            });
        }
        let mut child = command.spawn().unwrap();
        h.wait_until_serving().await;
        assert_eq!(mode(store.parent().unwrap()), Some(0o700), "round {round}: the directory");
        for suffix in ["", "-wal", "-shm"] {
            let file = std::path::PathBuf::from(format!("{}{suffix}", store.display()));
            assert_eq!(mode(&file), Some(0o600), "round {round}: {}", file.display());
        }
        child.start_kill().unwrap();
        child.wait().await.unwrap();
    }
}

// 2. A full disk floods the room.
#[tokio::test]
async fn a_full_disk_stops_the_outbox_and_posting_resumes_when_space_returns() {
    let mut h = Harness::without_daemon().await;
    let disk = h.dir.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let mounted =
        std::process::Command::new("mount").args(["-t", "tmpfs", "-o", "size=8m", "tmpfs"]).arg(&disk).status();
    if !mounted.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED a_full_disk_stops_the_outbox…: cannot mount a tmpfs here (needs root)");
        return;
    }
    let _unmount = Unmount(disk.clone());
    h.config.store.path = disk.join("store.db");
    h.start_daemon().await;
    h.wait_health(|health| health["webex"]["connected"] == true).await;
    let w = world_on(h).await;

    // The post is answered 503 twice (Retry-After 2 s): time to fill the disk before it goes through.
    w.h.sim.fail_next_rest_matching("/messages", 2, 503, Some(2));
    let body =
        json!({"to": {"space_id": w.room.id}, "summary": "x".repeat(4000), "context": {"pad": "y".repeat(16_000)}});
    let created = w.h.client.post("/v1/escalations", &body).await.unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let filler = disk.join("filler");
    fill(&filler);

    let cards = || w.h.sim.messages(&w.room.id).into_iter().filter(|m| m.card.is_some()).count();
    let health = w.h.wait_health(|health| health["outbox"]["stalled"] == true).await;
    assert_eq!(health["status"], "degraded", "{health:#}");
    // The old outbox posted again at once, thousands of times a second: a second is plenty to see it.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(cards(), 1, "posted once while the store could not record it");

    std::fs::remove_file(&filler).unwrap();
    eventually_within(Duration::from_secs(30), "the card is recorded once space returns", || async {
        let e = escalation(&w.h, &id, 0).await;
        (e["delivery"]["state"] == "posted").then_some(()).ok_or_else(|| e["delivery"].to_string())
    })
    .await;
    assert!(cards() <= 2, "at most one extra post for the job: {}", cards());
    assert_eq!(w.h.health().await["outbox"]["stalled"], false);
}

async fn world_on(h: Harness) -> World {
    let ana = h.sim.add_person("ana.specialist@example.com", "Ana Specialist");
    let room = h.sim.create_room("VIP Escalations");
    for person in [&ana.id, &h.sim.bot().id] {
        h.sim.add_member(&room.id, person, Some(&ana.id)).unwrap();
    }
    World { h, ana, room }
}

/// Writes until the file system says it is full.
fn fill(path: &std::path::Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let block = vec![0u8; 64 * 1024];
    while file.write_all(&block).is_ok() {}
    let _ = file.sync_all();
}

struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

// 1, through the simulator: Webex stores the card, its answer is lost.
#[tokio::test]
async fn a_card_stored_but_answered_502_or_too_late_is_posted_again_and_both_work() {
    use webex_hitl::sim::{Lost, LostAnswers};
    for lost in [Lost::Status(502), Lost::Delay(Duration::from_millis(1500))] {
        let mut h = Harness::without_daemon().await;
        h.config.webex.request_timeout_s = 0.5;
        h.start_daemon().await;
        h.wait_health(|health| health["webex"]["connected"] == true).await;
        let w = world_on(h).await;
        let post = LostAnswers { count: 1, method: Some(hyper::Method::POST), path: Some("/messages".into()), lost };
        w.h.sim.lose_answers(post.clone());
        let (id, tracked) = delivered(&w, "Refund request").await;
        let cards: Vec<String> =
            w.h.sim.messages(&w.room.id).into_iter().filter(|m| m.card.is_some()).map(|m| m.id).collect();
        assert_eq!(cards.len(), 2, "{:?}: Webex kept the first post, the outbox posted again", post.lost);
        let lost_card = cards.iter().find(|c| **c != tracked).unwrap();

        w.h.sim.submit_card(lost_card, &w.ana.id, inputs(&[("response", "Approved")])).unwrap();
        assert_eq!(escalation(&w.h, &id, 10).await["status"], "answered", "{:?}", post.lost);
        card_shows(&w.h, lost_card, "Answered by Ana Specialist").await;
        card_shows(&w.h, &tracked, "Answered by Ana Specialist").await;
    }
}

// 8. An oversized frame that Mercury keeps resending stalls the link.
#[tokio::test]
async fn an_oversized_frame_is_acked_and_skipped_not_a_reconnect_storm() {
    let w = world().await;
    let reconnects = w.h.reconnects().await;
    let acked = w.h.sim.matched_ack_count();
    // Past tungstenite's default frame limit (16 MiB), which used to break the socket each time.
    w.h.sim.emit_oversized_frame(&w.room.id, 20 * 1024 * 1024).unwrap();
    eventually("the oversized frame is acked", || async {
        let now = w.h.sim.matched_ack_count();
        (now > acked).then_some(()).ok_or(format!("{now} acks"))
    })
    .await;
    // The link carries on: an answer goes through on the same socket.
    let (id, card) = delivered(&w, "After the big frame").await;
    w.h.sim.submit_card(&card, &w.ana.id, inputs(&[("response", "fine")])).unwrap();
    assert_eq!(escalation(&w.h, &id, 10).await["status"], "answered");
    assert_eq!(w.h.reconnects().await, reconnects, "no reconnect");
}
