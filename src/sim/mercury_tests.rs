//! The Mercury socket as Webex runs it: activity ids, actor types, mentions,
//! cluster hosts, the replay window, the authorization timeout, frames a bot
//! does not act on, acks counted apart, and a 429 on the upgrade itself.

use super::server_tests::{authed, bot_room, connect, next_json, register, send, sim, Ws};
use super::world::MIGRATED_CLUSTER;
use super::*;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// The next frame, whatever it is (text or binary).
async fn next_frame(ws: &mut Ws) -> WsMessage {
    let next = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.expect("a frame in time");
    next.expect("socket open").expect("no error")
}

async fn ready(sim: &Simulator, c: &reqwest::Client) -> (Value, Ws) {
    let device = register(sim, c).await;
    let mut ws = connect(&device, "sim-token").await;
    assert_eq!(next_json(&mut ws).await["data"]["eventType"], "mercury.buffer_state");
    (device, ws)
}

#[tokio::test]
async fn a_post_activity_carries_the_message_uuid_its_mentions_and_typed_actors() {
    let (sim, c) = sim().await;
    let h = sim.handle();
    let room = bot_room(&h, "VIP");
    let ana = h.add_person("ana@example.com", "Ana");
    h.add_member(&room.id, &ana.id, None).unwrap();
    let (_, mut ws) = ready(&sim, &c).await;
    let message = h.post_message_mentioning(&room.id, &ana.id, "HITL Bot hi", &[h.bot().id]).unwrap();
    let frame = next_json(&mut ws).await;
    let activity = &frame["data"]["activity"];
    assert_eq!(activity["verb"], "post");
    assert_eq!(activity["id"], json!(crate::webex::ids::uuid_of(&message).unwrap()), "the REST id is built from it");
    assert_eq!(activity["object"]["mentions"]["items"], json!([{"id": h.bot().uuid, "objectType": "person"}]));
    assert_eq!(activity["actor"]["type"], "PERSON");

    let own = json!({"roomId": room.id, "text": "from the bot"});
    authed(&c, Method::POST, format!("{}/messages", sim.api_url())).json(&own).send().await.unwrap();
    let frame = next_json(&mut ws).await;
    assert_eq!(frame["data"]["activity"]["actor"]["type"], "ROBOT", "a bot's own actor is not a PERSON");
    sim.stop().await;
}

#[tokio::test]
async fn a_migrated_room_speaks_through_its_clusters_conversation_host() {
    let (sim, c) = sim().await;
    let h = sim.handle();
    let room = bot_room(&h, "VIP");
    let ana = h.add_person("ana@example.com", "Ana");
    h.add_member(&room.id, &ana.id, None).unwrap();
    let moved = h.migrate_room(&room.id).unwrap();
    let (_, mut ws) = ready(&sim, &c).await;
    h.post_message_mentioning(&moved.id, &ana.id, "HITL Bot moved", &[h.bot().id]).unwrap();
    let activity = next_json(&mut ws).await["data"]["activity"].clone();
    let target = activity["target"]["url"].as_str().unwrap().to_owned();
    let other_host = sim.api_url().replace("127.0.0.1", "localhost").replace("/v1", "");
    assert!(target.starts_with(&other_host), "{target} is on the migrated cluster's host");
    let catalog: Value =
        authed(&c, Method::GET, format!("{}/catalog", sim.u2c_url())).send().await.unwrap().json().await.unwrap();
    let host = other_host.trim_start_matches("http://");
    assert_eq!(catalog["hostCatalog"][host][0]["id"], format!("{MIGRATED_CLUSTER}:conversation"));
    // webex_bot's way: the activity uuid on the target's host gives the REST id.
    let url = target
        .replace(&format!("conversations/{}", moved.uuid), &format!("messages/{}", activity["id"].as_str().unwrap()));
    let msg: Value = authed(&c, Method::GET, url).send().await.unwrap().json().await.unwrap();
    let id = crate::webex::ids::RestId::decode(msg["id"].as_str().unwrap()).unwrap();
    assert_eq!(id.cluster, MIGRATED_CLUSTER);
    sim.stop().await;
}

#[tokio::test]
async fn unacked_frames_are_not_replayed_once_the_window_has_passed() {
    let (sim, c) = sim().await;
    let h = sim.handle();
    let (device, mut ws) = ready(&sim, &c).await;
    bot_room(&h, "VIP");
    assert_eq!(next_json(&mut ws).await["data"]["activity"]["verb"], "add");
    drop(ws); // never acked
    let control = sim.api_url().replace("/v1", "/_sim");
    c.post(format!("{control}/faults/replay-window")).json(&json!({"seconds": 0})).send().await.unwrap();
    assert_eq!(h.replay_window(), Duration::ZERO);
    let mut ws = connect(&device, "sim-token").await;
    next_json(&mut ws).await; // buffer state
    send(&mut ws, json!({"id": "p1", "type": "ping"})).await;
    assert_eq!(next_json(&mut ws).await["type"], "pong", "the unacked frame is gone, not redelivered");
    sim.stop().await;
}

#[tokio::test]
async fn a_socket_that_never_authorizes_is_closed() {
    let options = SimOptions { auth_timeout: Duration::from_millis(300), ..SimOptions::default() };
    let sim = Simulator::start(options).await.unwrap();
    let c = reqwest::Client::new();
    let device = register(&sim, &c).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(device["webSocketUrl"].as_str().unwrap()).await.unwrap();
    match next_frame(&mut ws).await {
        WsMessage::Close(Some(f)) => {
            assert_eq!(u16::from(f.code), 1008);
            assert_eq!(f.reason.as_str(), "Authentication did not happen within the timeout window of 300 seconds.");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    sim.stop().await;
}

#[tokio::test]
async fn frames_a_bot_ignores_can_be_injected_and_acks_are_counted_apart() {
    let (sim, c) = sim().await;
    let h = sim.handle();
    let (_, mut ws) = ready(&sim, &c).await;
    let kinds = ["status.start_typing", "encryption.kms_message", "mercury.registration_status"];
    for kind in kinds {
        h.inject_event(kind);
    }
    h.inject_binary(vec![0, 1, 2]);
    let mut sequences = Vec::new();
    for kind in kinds {
        let frame = next_json(&mut ws).await;
        assert_eq!(frame["data"]["eventType"], kind);
        assert!(frame["id"].is_string() && frame["data"].get("activity").is_none());
        sequences.push(frame["sequenceNumber"].as_u64().unwrap());
        send(&mut ws, json!({"messageId": frame["id"], "type": "ack"})).await;
    }
    assert_eq!(sequences, [2, 3, 4], "one sequence with the buffer state");
    assert_eq!(next_frame(&mut ws).await, WsMessage::Binary(vec![0, 1, 2].into()));
    bot_room(&h, "VIP");
    let added = next_json(&mut ws).await;
    send(&mut ws, json!({"messageId": added["id"], "type": "ack"})).await;
    send(&mut ws, json!({"id": "p1", "type": "ping"})).await;
    assert_eq!(next_json(&mut ws).await["type"], "pong", "acks are read in order before the ping");
    assert_eq!((h.matched_ack_count(), h.unmatched_ack_count(), h.acked_count()), (1, 3, 4));
    let state: Value = c.get(sim.api_url().replace("/v1", "/_sim/state")).send().await.unwrap().json().await.unwrap();
    assert_eq!((state["acks_matched"].clone(), state["acks_unmatched"].clone()), (json!(1), json!(3)));
    sim.stop().await;
}

#[tokio::test]
async fn the_upgrade_itself_can_be_rate_limited() {
    let (sim, c) = sim().await;
    let device = register(&sim, &c).await;
    let failure = Failure { count: 1, status: 429, retry_after: Some(RetryAfter::Seconds(3)), path: None };
    sim.handle().fail_next_calls(FaultTarget::Upgrade, failure);
    let url = device["webSocketUrl"].as_str().unwrap();
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 429);
            assert_eq!(resp.headers()["retry-after"], "3");
            let body: Value = serde_json::from_slice(resp.body().as_deref().unwrap_or_default()).unwrap();
            assert!(body["errors"][0]["description"].is_string(), "{body}");
        }
        other => panic!("expected a 429, got {other:?}"),
    }
    assert!(tokio_tungstenite::connect_async(url).await.is_ok(), "one failure only");
    sim.stop().await;
}
