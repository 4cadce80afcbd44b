//! Escalations end to end: the engine's API on the socket, the simulator's
//! specialists pressing "Provide Input", and the card updated in place.

use crate::common::{eventually, eventually_within, Harness, WAIT};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use std::time::Duration;
use tokio::sync::oneshot;
use webex_hitl::sim::{SimPerson, SimRoom};

pub(crate) struct World {
    pub(crate) h: Harness,
    ana: SimPerson,
    ben: SimPerson,
    pub(crate) room: SimRoom,
}

/// A daemon, a space "VIP Escalations" with the bot, Ana and Ben in it.
pub(crate) async fn world() -> World {
    let h = Harness::start().await;
    let ana = h.sim.add_person("ana.specialist@example.com", "Ana Specialist");
    let ben = h.sim.add_person("ben.ops@example.com", "Ben Ops");
    let room = h.sim.create_room("VIP Escalations");
    for person in [&ana.id, &ben.id, &h.sim.bot().id] {
        h.sim.add_member(&room.id, person, Some(&ana.id)).unwrap();
    }
    h.wait_health(|_| true).await;
    World { h, ana, ben, room }
}

pub(crate) fn request(to: Value, key: Option<&str>) -> Value {
    json!({
        "key": key,
        "to": to,
        "player": {"name": "Jane Doe", "email": "jane@example.com", "tags": ["VIP", "KYC pending"], "brand": "LuckySpin"},
        "summary": "Player asks why withdrawal #4411 is on hold. Deposit cleared yesterday.",
        "question": "Can we release the withdrawal?",
        "timeout_s": 1800,
        "context": {"conversation_id": "8812"}
    })
}

pub(crate) async fn create(h: &Harness, body: &Value) -> (u16, Value) {
    let answer = h.client.post("/v1/escalations", body).await.unwrap();
    (answer.status.as_u16(), answer.body)
}

async fn get(h: &Harness, id: &str, wait: u64) -> Value {
    h.client.get(&format!("/v1/escalations/{id}?wait={wait}")).await.unwrap().body
}

/// Polls until `check` holds for the escalation.
async fn until(h: &Harness, id: &str, check: impl Fn(&Value) -> bool) -> Value {
    let check = &check;
    eventually(&format!("escalation {id} reaches the state"), || async move {
        let escalation = get(h, id, 0).await;
        if check(&escalation) {
            Ok(escalation)
        } else {
            Err(format!("{escalation:#}"))
        }
    })
    .await
}

fn inputs(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect()
}

fn card_texts(card: &Value) -> String {
    card.to_string()
}

async fn events(h: &Harness, after: i64) -> Vec<Value> {
    let (_, body) = h.client.raw(hyper::Method::GET, &format!("/v1/events?after={after}"), None).await.unwrap();
    std::str::from_utf8(&body).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// Posts an escalation and waits for its card; returns (escalation id, card message id).
async fn delivered(w: &World, to: Value) -> (String, String) {
    let (status, body) = create(&w.h, &request(to, None)).await;
    assert_eq!(status, 201, "{body:#}");
    let id = body["id"].as_str().unwrap().to_owned();
    let escalation = until(&w.h, &id, |e| e["delivery"]["state"] == "posted").await;
    (id, escalation["delivery"]["message_id"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn a_space_round_trip() {
    let w = world().await;
    let (status, created) = create(&w.h, &request(json!({"space_id": w.room.id}), Some("conv-8812/turn-14"))).await;
    assert_eq!(status, 201, "{created:#}");
    assert_eq!(created["status"], "pending");
    assert_eq!(created["delivery"]["state"], "queued");
    let id = created["id"].as_str().unwrap().to_owned();

    let posted = until(&w.h, &id, |e| e["delivery"]["state"] == "posted").await;
    let message_id = posted["delivery"]["message_id"].as_str().unwrap();
    let card = w.h.sim.message(message_id).unwrap();
    let content = card.card.clone().expect("a card");
    assert_eq!(content["version"], "1.3");
    assert!(card_texts(&content).contains("Provide Input") && card_texts(&content).contains("Jane Doe"));
    assert!(card.text.unwrap().contains("Jane Doe"), "plain-text fallback");

    w.h.sim.submit_card(message_id, &w.ana.id, inputs(&[("response", "Release it; the deposit cleared.")])).unwrap();
    let answered = get(&w.h, &id, 10).await;
    assert_eq!(answered["status"], "answered", "{answered:#}");
    assert_eq!(answered["answer"]["inputs"], json!({"response": "Release it; the deposit cleared."}));
    assert_eq!(answered["answer"]["by"]["email"], "ana.specialist@example.com");
    assert_eq!(answered["answer"]["by"]["name"], "Ana Specialist");
    assert_eq!(answered["context"], json!({"conversation_id": "8812"}));

    let card = until_card(&w, message_id, |c| c.contains("Answered by Ana Specialist")).await;
    assert!(!card.contains("Provide Input"), "the answered card has no submit button: {card}");
    let types: Vec<_> = events(&w.h, 0)
        .await
        .into_iter()
        .filter(|e| e["escalation"]["id"] == id.as_str())
        .map(|e| e["type"].clone())
        .collect();
    assert_eq!(types, ["escalation.created", "escalation.delivered", "escalation.answered"]);
}

async fn until_card(w: &World, message_id: &str, check: impl Fn(&str) -> bool) -> String {
    w.h.card_matching(message_id, check).await
}

#[tokio::test]
async fn a_dm_round_trip_and_only_its_recipient_may_answer() {
    let w = world().await;
    let (id, message_id) = delivered(&w, json!({"person_email": "ana.specialist@example.com"})).await;
    let card = w.h.sim.message(&message_id).unwrap();
    // Ben is not in the DM; the simulator refuses his click as Webex would.
    assert!(w.h.sim.submit_card(&message_id, &w.ben.id, inputs(&[("response", "me!")])).is_err());
    w.h.sim.submit_card(&message_id, &w.ana.id, inputs(&[("response", "Yes")])).unwrap();
    let answered = get(&w.h, &id, 10).await;
    assert_eq!(answered["status"], "answered");
    assert_eq!(answered["delivery"]["space_id"], card.room_id.as_str());
}

#[tokio::test]
async fn two_specialists_racing_give_one_answer_and_the_other_is_told() {
    let w = world().await;
    let (id, message_id) = delivered(&w, json!({"space_id": w.room.id})).await;
    w.h.sim.submit_card(&message_id, &w.ana.id, inputs(&[("response", "Ana's answer")])).unwrap();
    w.h.sim.submit_card(&message_id, &w.ben.id, inputs(&[("response", "Ben's answer")])).unwrap();
    let answered = get(&w.h, &id, 10).await;
    assert_eq!(answered["answer"]["inputs"]["response"], "Ana's answer");
    let reply = until_reply(&w, &message_id).await;
    assert!(reply.contains("Already answered by Ana Specialist"), "{reply}");
    let answered_events = events(&w.h, 0).await.into_iter().filter(|e| e["type"] == "escalation.answered").count();
    assert_eq!(answered_events, 1);
}

async fn until_reply(w: &World, parent: &str) -> String {
    eventually(&format!("a threaded reply to {parent}"), || async move {
        let room = w.h.sim.message(parent).unwrap().room_id;
        let messages = w.h.sim.messages(&room);
        match messages.iter().find(|m| m.parent_id.as_deref() == Some(parent)) {
            Some(reply) => Ok(reply.text.clone().unwrap_or_default()),
            None => Err(format!("{messages:#?}")),
        }
    })
    .await
}

#[tokio::test]
async fn a_forged_submission_or_a_bad_answer_is_refused() {
    let w = world().await;
    let (id, message_id) = delivered(&w, json!({"space_id": w.room.id})).await;
    w.h.sim.submit_card(&message_id, &w.ben.id, inputs(&[("response", "forged"), ("_sig", "00")])).unwrap();
    assert!(until_reply(&w, &message_id).await.contains("not issued by this service"));
    w.h.sim.submit_card(&message_id, &w.ben.id, inputs(&[("response", "   ")])).unwrap();
    // Its refusal is the mark that the daemon has handled the blank answer.
    eventually("a \"not accepted\" reply to the blank answer", || async {
        let messages = w.h.sim.messages(&w.room.id);
        let replies: Vec<_> = messages.iter().filter(|m| m.parent_id.as_deref() == Some(message_id.as_str())).collect();
        if replies.iter().any(|m| m.text.as_deref().unwrap_or_default().contains("not accepted")) {
            Ok(())
        } else {
            Err(format!("{replies:#?}"))
        }
    })
    .await;
    assert_eq!(get(&w.h, &id, 0).await["status"], "pending", "neither counts as an answer");
}

#[tokio::test]
async fn expiry_updates_the_card() {
    let w = world().await;
    let mut body = request(json!({"space_id": w.room.id}), None);
    body["timeout_s"] = json!(1);
    let (_, created) = create(&w.h, &body).await;
    let id = created["id"].as_str().unwrap();
    let expired = get(&w.h, id, 10).await;
    assert_eq!(expired["status"], "expired");
    let message_id = until(&w.h, id, |e| e["delivery"]["message_id"].is_string()).await["delivery"]["message_id"]
        .as_str()
        .unwrap()
        .to_owned();
    until_card(&w, &message_id, |c| c.contains("Expired")).await;
    w.h.sim.submit_card(&message_id, &w.ana.id, inputs(&[("response", "late")])).unwrap();
    let reply = until_reply(&w, &message_id).await;
    assert!(reply.contains("expired"), "{reply}");
}

#[tokio::test]
async fn escalations_that_expired_while_the_daemon_was_down_expire_at_start() {
    let mut w = world().await;
    let mut body = request(json!({"space_id": w.room.id}), None);
    body["timeout_s"] = json!(2);
    let (_, created) = create(&w.h, &body).await;
    let id = created["id"].as_str().unwrap().to_owned();
    until(&w.h, &id, |e| e["delivery"]["state"] == "posted").await;
    assert_eq!(get(&w.h, &id, 0).await["status"], "pending", "it has not expired before the daemon stops");
    w.h.stop_daemon().await;
    // Its deadline passing while the daemon is down is the scenario itself:
    // sleep until the escalation's own `expires_at` has passed.
    let expires_at: DateTime<Utc> = created["expires_at"].as_str().unwrap().parse().unwrap();
    let left = (expires_at - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(100)).await;
    w.h.start_daemon().await;
    let expired = until(&w.h, &id, |e| e["status"] != "pending").await;
    assert_eq!(expired["status"], "expired");
}

#[tokio::test]
async fn cancel_closes_it_once() {
    let w = world().await;
    let (id, message_id) = delivered(&w, json!({"space_id": w.room.id})).await;
    let cancelled =
        w.h.client.post(&format!("/v1/escalations/{id}/cancel"), &json!({"reason": "player left"})).await.unwrap();
    assert_eq!(cancelled.status, 200, "{:#}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    until_card(&w, &message_id, |c| c.contains("Cancelled") && c.contains("player left")).await;
    let again = w.h.client.post(&format!("/v1/escalations/{id}/cancel"), &Value::Null).await.unwrap();
    assert_eq!(again.status, 409);
    assert_eq!(again.body["error"]["code"], "not_pending");
}

#[tokio::test]
async fn the_same_key_is_idempotent_and_a_different_body_conflicts() {
    let w = world().await;
    let body = request(json!({"space_id": w.room.id}), Some("conv-1/turn-1"));
    let (first, a) = create(&w.h, &body).await;
    let (second, b) = create(&w.h, &body).await;
    assert_eq!((first, second), (201, 200));
    assert_eq!(a["id"], b["id"]);
    let mut changed = body.clone();
    changed["summary"] = json!("Something else");
    let (status, conflict) = create(&w.h, &changed).await;
    assert_eq!(status, 422, "as the IETF idempotency-key draft says");
    assert_eq!(conflict["error"]["code"], "key_conflict");
    let list = w.h.client.get("/v1/escalations").await.unwrap().body;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_refused_card_edit_falls_back_to_delete_and_repost() {
    let w = world().await;
    let (id, message_id) = delivered(&w, json!({"space_id": w.room.id})).await;
    w.h.sim.refuse_card_edits(true);
    w.h.sim.submit_card(&message_id, &w.ana.id, inputs(&[("response", "ok")])).unwrap();
    let answered = get(&w.h, &id, 10).await;
    assert_eq!(answered["status"], "answered");
    let moved = until(&w.h, &id, |e| e["delivery"]["message_id"] != message_id.as_str()).await;
    assert!(w.h.sim.message(&message_id).unwrap().deleted, "the old card is deleted");
    let new_card = w.h.sim.message(moved["delivery"]["message_id"].as_str().unwrap()).unwrap();
    assert!(new_card.card.unwrap().to_string().contains("Answered by Ana Specialist"));
}

#[tokio::test]
async fn removing_the_bot_fails_pending_escalations() {
    let w = world().await;
    let (id, _) = delivered(&w, json!({"space_id": w.room.id})).await;
    w.h.sim.remove_member(&w.room.id, &w.h.sim.bot().id, Some(&w.ana.id)).unwrap();
    let failed = until(&w.h, &id, |e| e["status"] != "pending").await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["close_reason"].as_str().unwrap().contains("removed"));
    assert!(events(&w.h, 0)
        .await
        .iter()
        .any(|e| e["type"] == "escalation.failed" && e["escalation"]["id"] == id.as_str()));
}

#[tokio::test]
async fn bad_destinations_and_bad_input_are_clear_4xx_and_store_nothing() {
    let w = world().await;
    let outside = w.h.sim.create_room("Bot not here");
    let cases = [
        (request(json!({"space_id": outside.id}), None), 422, "bot_not_in_space"),
        (json!({"to": {"space_id": w.room.id}, "summary": ""}), 422, "invalid"),
        (json!({"to": {"space_id": w.room.id}, "summary": "x", "timeout_s": 0}), 422, "invalid"),
        (json!({"to": {"space_id": w.room.id}, "summary": "x".repeat(5000)}), 422, "invalid"),
        (
            json!({"to": {"space_id": w.room.id}, "summary": "x", "fields": [{"id": "a", "label": "A", "kind": "date"}]}),
            422,
            "invalid",
        ),
    ];
    for (body, status, code) in cases {
        let (got, answer) = create(&w.h, &body).await;
        assert_eq!((got, answer["error"]["code"].as_str().unwrap()), (status, code), "{body} → {answer:#}");
    }
    let (_, answer) = create(&w.h, &json!({"to": {"space_id": w.room.id}, "summary": "", "question": "q"})).await;
    assert!(answer["error"]["message"].as_str().unwrap().starts_with("summary"), "{answer:#}");
    let (_, answer) = create(&w.h, &request(json!({"space_id": outside.id}), None)).await;
    assert!(answer["error"]["message"].as_str().unwrap().contains("add the bot to the space"));

    let garbage = w.h.client.raw(hyper::Method::POST, "/v1/escalations", Some("{not json".into())).await.unwrap();
    assert!(garbage.0.is_client_error());
    let huge = format!("{{\"summary\": \"{}\"}}", "x".repeat(300 * 1024));
    let oversized = w.h.client.raw(hyper::Method::POST, "/v1/escalations", Some(huge)).await.unwrap();
    assert_eq!(oversized.0, 413);
    let list = w.h.client.get("/v1/escalations").await.unwrap().body;
    assert_eq!(list["items"], json!([]), "nothing stored");
}

#[tokio::test]
async fn an_engine_that_reconnects_with_after_gets_exactly_what_it_missed() {
    let w = world().await;
    let (first, _) = delivered(&w, json!({"space_id": w.room.id})).await;
    let seen = events(&w.h, 0).await;
    let last_seen = seen.last().unwrap()["seq"].as_i64().unwrap();
    // The engine is away while this happens.
    let cancelled = w.h.client.post(&format!("/v1/escalations/{first}/cancel"), &Value::Null).await.unwrap();
    assert_eq!(cancelled.status, 200);
    let (second, _) = delivered(&w, json!({"space_id": w.room.id})).await;
    let missed = events(&w.h, last_seen).await;
    let described: Vec<_> =
        missed.iter().map(|e| (e["type"].as_str().unwrap().to_owned(), e["escalation"]["id"].clone())).collect();
    assert_eq!(
        described,
        [
            ("escalation.cancelled".to_owned(), json!(first)),
            ("escalation.created".to_owned(), json!(second)),
            ("escalation.delivered".to_owned(), json!(second)),
        ]
    );
    assert!(missed.iter().all(|e| e["seq"].as_i64().unwrap() > last_seen));
}

#[tokio::test]
async fn follow_pushes_the_answer_as_it_happens() {
    let w = world().await;
    let (id, message_id) = delivered(&w, json!({"space_id": w.room.id})).await;
    let after = events(&w.h, 0).await.last().unwrap()["seq"].as_i64().unwrap();
    let socket = w.h.config.api.socket.clone();
    let (opened, stream_open) = oneshot::channel();
    let follower = tokio::spawn(async move { follow_until_answered(socket, after, opened).await });
    // The stream subscribes before it answers: from here on, the answer can only be pushed.
    tokio::time::timeout(WAIT, stream_open).await.expect("the stream opens in time").expect("the stream opens");
    w.h.sim.submit_card(&message_id, &w.ana.id, inputs(&[("response", "pushed")])).unwrap();
    let line = tokio::time::timeout(WAIT, follower).await.expect("pushed in time").unwrap();
    assert_eq!(line["escalation"]["id"], id.as_str());
    assert_eq!(line["escalation"]["answer"]["inputs"]["response"], "pushed");
}

/// Reads a `follow=true` stream until an `escalation.answered` line; says on
/// `opened` when the answer's head has arrived.
async fn follow_until_answered(socket: std::path::PathBuf, after: i64, opened: oneshot::Sender<()>) -> Value {
    use http_body_util::BodyExt;
    let stream = tokio::net::UnixStream::connect(socket).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::get(format!("/v1/events?after={after}&follow=true"))
        .header("host", "localhost")
        .body(http_body_util::Empty::<hyper::body::Bytes>::new())
        .unwrap();
    let mut body = sender.send_request(request).await.unwrap().into_body();
    opened.send(()).unwrap();
    let mut buffer = String::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            buffer.push_str(std::str::from_utf8(&data).unwrap());
        }
        for line in buffer.lines() {
            let value: Value = serde_json::from_str(line).unwrap_or_default();
            if value["type"] == "escalation.answered" {
                return value;
            }
        }
    }
    panic!("stream ended without the answer: {buffer}");
}

#[tokio::test]
async fn notifications_reach_a_space_or_say_why_not() {
    let w = world().await;
    let sent =
        w.h.client
            .post("/v1/messages", &json!({"to": {"space_id": w.room.id}, "markdown": "**Heads up**: queue is long"}))
            .await
            .unwrap();
    assert_eq!(sent.status, 201, "{:#}", sent.body);
    let message = w.h.sim.message(sent.body["message_id"].as_str().unwrap()).unwrap();
    assert_eq!(message.markdown.as_deref(), Some("**Heads up**: queue is long"));
    let outside = w.h.sim.create_room("Elsewhere");
    let refused =
        w.h.client.post("/v1/messages", &json!({"to": {"space_id": outside.id}, "text": "hi"})).await.unwrap();
    assert_eq!((refused.status.as_u16(), refused.body["error"]["code"].as_str()), (422, Some("bot_not_in_space")));
    let empty = w.h.client.post("/v1/messages", &json!({"to": {"space_id": w.room.id}})).await.unwrap();
    assert_eq!(empty.status, 422);
    assert!(empty.body["error"]["message"].as_str().unwrap().starts_with("text"));
}

#[tokio::test]
async fn listing_filters_and_pages() {
    let w = world().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let (status, created) =
            create(&w.h, &request(json!({"space_id": w.room.id}), Some(&format!("page-{i}")))).await;
        assert_eq!(status, 201);
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let cancelled = w.h.client.post(&format!("/v1/escalations/{}/cancel", ids[0]), &Value::Null).await.unwrap();
    assert_eq!(cancelled.status, 200);
    let first = w.h.client.get("/v1/escalations?limit=2").await.unwrap().body;
    let page: Vec<_> =
        first["items"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(page, [ids[2].clone(), ids[1].clone()], "newest first");
    let cursor = first["next_cursor"].as_i64().unwrap();
    let second = w.h.client.get(&format!("/v1/escalations?limit=2&cursor={cursor}")).await.unwrap().body;
    assert_eq!(second["items"][0]["id"], ids[0].as_str());
    assert!(second["next_cursor"].is_null());
    let pending = w.h.client.get("/v1/escalations?status=pending").await.unwrap().body;
    assert_eq!(pending["items"].as_array().unwrap().len(), 2);
    let by_key = w.h.client.get("/v1/escalations?key=page-1").await.unwrap().body;
    assert_eq!(by_key["items"][0]["id"], ids[1].as_str());
    let bad = w.h.client.get("/v1/escalations?status=done").await.unwrap();
    assert_eq!(bad.status, 400);
    assert!(bad.body["error"]["message"].as_str().unwrap().starts_with("status"));
}

#[tokio::test]
async fn a_slow_space_lookup_does_not_delay_an_answer() {
    let w = world().await;
    let (id, message_id) = delivered(&w, json!({"space_id": w.room.id})).await;
    // Single-room lookups now wait out two 429s of 3 s each.
    w.h.sim.fail_next_rest_matching("/rooms/", 2, 429, Some(3));
    let slow = w.h.sim.create_room("Slow to look up");
    w.h.sim.add_member(&slow.id, &w.h.sim.bot().id, None).unwrap();
    // Answer only once the lookup is waiting out its first 429.
    eventually("the room lookup is rate limited", || async {
        let calls = w.h.sim.rest_calls();
        let lookups: Vec<_> = calls.iter().filter(|c| c.path.contains("/rooms/")).collect();
        if lookups.iter().any(|c| c.status == 429) {
            Ok(())
        } else {
            Err(format!("room lookups: {lookups:?}"))
        }
    })
    .await;
    w.h.sim.submit_card(&message_id, &w.ana.id, inputs(&[("response", "not stuck")])).unwrap();
    let answered = get(&w.h, &id, 10).await;
    assert_eq!(answered["status"], "answered");
    let titles = |body: Value| body["items"].as_array().unwrap().iter().map(|s| s["title"].clone()).collect::<Vec<_>>();
    let spaces = titles(w.h.client.get("/v1/spaces").await.unwrap().body);
    assert!(!spaces.contains(&json!("Slow to look up")), "the answer did not wait behind the lookup: {spaces:?}");
    // Two Retry-After of 3 s come before the lookup: more than WAIT leaves room for a busy machine.
    eventually_within(Duration::from_secs(15), "the slow space appears", || async {
        let spaces = titles(w.h.client.get("/v1/spaces").await.unwrap().body);
        if spaces.contains(&json!("Slow to look up")) {
            Ok(())
        } else {
            Err(format!("{spaces:?}"))
        }
    })
    .await;
}
