//! An outage longer than Webex's replay window: answers pressed meanwhile are
//! dropped by Webex, so on reconnect every live card gets a threaded reply
//! asking to press again, the engine gets `escalation.maybe_lost`, and the
//! second press wins — once.

use crate::common::{eventually, write_config, Harness};
use crate::crash::Daemon;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// Shortened for the test, in the daemon and in the simulator alike.
const WINDOW: Duration = Duration::from_millis(1000);

fn inputs(text: &str) -> Map<String, Value> {
    [("response".to_owned(), json!(text))].into_iter().collect()
}

async fn events(h: &Harness) -> Vec<Value> {
    let (_, body) = h.client.raw(hyper::Method::GET, "/v1/events?after=0", None).await.unwrap();
    std::str::from_utf8(&body).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

async fn of_type(h: &Harness, kind: &str, id: &str) -> Vec<Value> {
    events(h).await.into_iter().filter(|e| e["type"] == kind && e["escalation"]["id"] == id).collect()
}

async fn escalation(h: &Harness, id: &str) -> Value {
    h.client.get(&format!("/v1/escalations/{id}")).await.unwrap().body
}

#[tokio::test]
async fn answers_lost_in_a_long_outage_are_asked_again_and_the_second_press_wins_once() {
    let mut h = Harness::without_daemon().await;
    h.config.webex.replay_window_s = WINDOW.as_secs_f64();
    h.sim.set_replay_window(WINDOW);
    h.start_daemon().await;
    h.wait_health(|health| health["webex"]["connected"] == true).await;
    let ana = h.sim.add_person("ana.specialist@example.com", "Ana Specialist");
    let room = h.sim.create_room("VIP Escalations");
    for person in [&ana.id, &h.sim.bot().id] {
        h.sim.add_member(&room.id, person, Some(&ana.id)).unwrap();
    }
    let body = json!({"to": {"space_id": room.id}, "summary": "Release withdrawal #4411?"});
    let id = h.client.post("/v1/escalations", &body).await.unwrap().body["id"].as_str().unwrap().to_owned();
    let card = eventually("the card is posted", || async {
        let e = escalation(&h, &id).await;
        e["delivery"]["message_id"].as_str().map(str::to_owned).ok_or(format!("{e:#}"))
    })
    .await;

    h.stop_daemon().await;
    h.sim.submit_card(&card, &ana.id, inputs("lost in the outage")).unwrap();
    // The outage itself: time must pass beyond the window, so that the
    // simulator, as Webex, no longer replays the answer.
    tokio::time::sleep(WINDOW + Duration::from_millis(300)).await;
    h.start_daemon().await;

    let reply = eventually("the specialist is told under the card", || async {
        let messages = h.sim.messages(&room.id);
        let replies: Vec<_> = messages.iter().filter(|m| m.parent_id.as_deref() == Some(card.as_str())).collect();
        match replies.as_slice() {
            [one] => Ok(one.text.clone().unwrap_or_default()),
            other => Err(format!("{other:#?}")),
        }
    })
    .await;
    assert!(reply.contains("If you already answered this request, press Provide Input again."), "{reply}");
    let lost = eventually("the engine hears escalation.maybe_lost", || async {
        let all = events(&h).await;
        let lost = all.iter().find(|e| e["type"] == "escalation.maybe_lost" && e["escalation"]["id"] == id.as_str());
        lost.cloned().ok_or_else(|| format!("{all:#?}"))
    })
    .await;
    let outage = &lost["escalation"]["outage"];
    let (start, end) = (outage["start"].as_str().unwrap(), outage["end"].as_str().unwrap());
    assert!(start < end, "{outage:#}");
    assert_eq!(lost["escalation"]["status"], "pending", "the first press never arrived");
    assert_eq!(h.metric("webex_hitl_escalations_maybe_lost_total").await, Some(1.0));

    h.sim.submit_card(&card, &ana.id, inputs("pressed again")).unwrap();
    let answered = eventually("the second press wins", || async {
        let e = escalation(&h, &id).await;
        (e["status"] == "answered").then(|| e.clone()).ok_or(format!("{e:#}"))
    })
    .await;
    assert_eq!(answered["answer"]["inputs"], json!({"response": "pressed again"}));

    // A restart (within the window or not) reports nothing more: the answered
    // escalation has no live card, and the outage was recorded once.
    h.stop_daemon().await;
    h.start_daemon().await;
    h.wait_health(|health| health["webex"]["connected"] == true).await;
    h.wait_outbox_empty().await;
    assert_eq!(of_type(&h, "escalation.answered", &id).await.len(), 1, "answered once");
    assert_eq!(of_type(&h, "escalation.maybe_lost", &id).await.len(), 1, "reported once");
    let replies =
        h.sim.messages(&room.id).into_iter().filter(|m| m.parent_id.as_deref() == Some(card.as_str())).count();
    assert_eq!(replies, 1, "one reply under the card");
}

/// Under the card of `card`, the bot's threaded replies.
fn replies(h: &Harness, room: &str, card: &str) -> Vec<String> {
    let messages = h.sim.messages(room).into_iter();
    messages.filter(|m| m.parent_id.as_deref() == Some(card)).map(|m| m.text.unwrap_or_default()).collect()
}

#[tokio::test]
async fn a_daemon_killed_with_sigkill_finds_the_outage_on_restart() {
    let h = Harness::without_daemon().await;
    let window = WINDOW.as_secs_f64().to_string();
    let config = write_config(h.dir.path(), h.simulator(), "sim-token", &[("webex.replay_window_s", &window)]);
    h.sim.set_replay_window(WINDOW);
    let ana = h.sim.add_person("ana.specialist@example.com", "Ana Specialist");
    let room = h.sim.create_room("VIP Escalations");
    for person in [&ana.id, &h.sim.bot().id] {
        h.sim.add_member(&room.id, person, Some(&ana.id)).unwrap();
    }
    let daemon = Daemon::start(&config, &h).await;
    let body = json!({"to": {"space_id": room.id}, "summary": "Release withdrawal #4411?"});
    let id = eventually("the escalation is accepted", || async {
        let created = h.client.post("/v1/escalations", &body).await.unwrap();
        created.body["id"].as_str().map(str::to_owned).ok_or(format!("{:#}", created.body))
    })
    .await;
    let card = eventually("the card is posted", || async {
        let e = escalation(&h, &id).await;
        e["delivery"]["message_id"].as_str().map(str::to_owned).ok_or(format!("{e:#}"))
    })
    .await;
    // No shutdown path runs: the last mark is the one written while it ran.
    daemon.kill_9().await;
    h.sim.submit_card(&card, &ana.id, inputs("lost in the outage")).unwrap();
    tokio::time::sleep(WINDOW + Duration::from_millis(300)).await;
    let daemon = Daemon::start(&config, &h).await;
    let told = eventually("the specialist is told under the card", || async {
        let told = replies(&h, &room.id, &card);
        (told.len() == 1).then_some(told).ok_or_else(|| format!("{:#?}", h.sim.messages(&room.id)))
    })
    .await;
    assert!(told[0].contains("press Provide Input again"), "{told:?}");
    assert_eq!(of_type(&h, "escalation.maybe_lost", &id).await.len(), 1);
    assert_eq!(escalation(&h, &id).await["status"], "pending", "the first press never arrived");
    daemon.kill_9().await;
}

#[tokio::test]
async fn a_quick_restart_after_sigkill_reports_no_outage_thanks_to_the_heartbeat() {
    // Longer than the other tests' window: a restart must fit in it on a busy machine.
    let window = Duration::from_secs(3);
    let h = Harness::without_daemon().await;
    let setting = window.as_secs_f64().to_string();
    let config = write_config(h.dir.path(), h.simulator(), "sim-token", &[("webex.replay_window_s", &setting)]);
    h.sim.set_replay_window(window);
    let room = h.sim.create_room("VIP Escalations");
    h.sim.add_member(&room.id, &h.sim.bot().id, None).unwrap();
    let daemon = Daemon::start(&config, &h).await;
    let body = json!({"to": {"space_id": room.id}, "summary": "Release withdrawal #4411?"});
    let id = eventually("the escalation is accepted", || async {
        let created = h.client.post("/v1/escalations", &body).await.unwrap();
        created.body["id"].as_str().map(str::to_owned).ok_or(format!("{:#}", created.body))
    })
    .await;
    let card = eventually("the card is posted", || async {
        let e = escalation(&h, &id).await;
        e["delivery"]["message_id"].as_str().map(str::to_owned).ok_or(format!("{e:#}"))
    })
    .await;
    // Connected for longer than the window: only the heartbeat keeps the mark recent.
    tokio::time::sleep(window + Duration::from_millis(500)).await;
    daemon.kill_9().await;
    let daemon = Daemon::start(&config, &h).await;
    eventually("the second connection is in the log", || async {
        let ups = events(&h).await.into_iter().filter(|e| e["type"] == "connection.up").count();
        (ups >= 2).then_some(()).ok_or(format!("{ups} connection.up"))
    })
    .await;
    h.wait_outbox_empty().await;
    assert_eq!(replies(&h, &room.id, &card), Vec::<String>::new(), "no outage was claimed");
    assert_eq!(of_type(&h, "escalation.maybe_lost", &id).await.len(), 0);
    daemon.kill_9().await;
}
