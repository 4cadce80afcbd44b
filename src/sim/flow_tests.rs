//! End-to-end flows: a card from post to submission, faults, shutdown.

use super::server_tests::{authed, bot_room, connect, next_json, register, sim};
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

fn card_body(room_id: &str) -> Value {
    json!({
        "roomId": room_id,
        "text": "Specialist input needed",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {"type": "AdaptiveCard", "version": "1.3",
                "body": [{"type": "Input.Text", "id": "response"}],
                "actions": [{"type": "Action.Submit", "title": "Send", "data": {"escalation": "esc_01"}}]}
        }]
    })
}

#[tokio::test]
async fn card_round_trip_over_rest_and_mercury() {
    let (sim, c) = sim().await;
    let h = sim.handle();
    let device = register(&sim, &c).await;
    let room = bot_room(&h, "VIP");
    let ana = h.add_person("ana@example.com", "Ana Specialist");
    h.add_member(&room.id, &ana.id, None).unwrap();

    let resp = authed(&c, Method::POST, format!("{}/messages", sim.api_url()))
        .json(&card_body(&room.id))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let msg: Value = resp.json().await.unwrap();
    assert_eq!(msg["roomId"], json!(room.id));
    assert_eq!(msg["personEmail"], "hitl-bot@webex.bot");
    assert_eq!(msg["attachments"][0]["content"]["version"], "1.3");
    let msg_id = msg["id"].as_str().unwrap();

    let mut inputs = serde_json::Map::new();
    inputs.insert("response".into(), json!("Approve"));
    let action_id = h.submit_card(msg_id, &ana.id, inputs).unwrap();

    // add(bot), add(ana), post(bot's card), cardAction: all buffered for the device.
    let mut ws = connect(&device, "sim-token").await;
    next_json(&mut ws).await;
    let mut verbs = Vec::new();
    let mut card_action = Value::Null;
    for _ in 0..4 {
        let frame = next_json(&mut ws).await;
        let activity = frame["data"]["activity"].clone();
        verbs.push(activity["verb"].as_str().unwrap().to_owned());
        card_action = activity;
    }
    assert_eq!(verbs, ["add", "add", "post", "cardAction"]);
    let msg_uuid = crate::webex::ids::uuid_of(msg_id).unwrap();
    assert_eq!(card_action["parent"]["id"], json!(msg_uuid));

    // The conversation-service path from target.url leads to the same REST object.
    let target = card_action["target"]["url"].as_str().unwrap();
    let conv = target.replace(
        &format!("conversations/{}", room.uuid),
        &format!("attachment/actions/{}", card_action["id"].as_str().unwrap()),
    );
    let via_conv: Value = authed(&c, Method::GET, conv).send().await.unwrap().json().await.unwrap();
    let url = format!("{}/attachment/actions/{action_id}", sim.api_url());
    let via_rest: Value = authed(&c, Method::GET, url).send().await.unwrap().json().await.unwrap();
    assert_eq!(via_conv, via_rest);
    assert_eq!(via_rest["type"], "submit");
    assert_eq!(via_rest["messageId"], json!(msg_id));
    assert_eq!(via_rest["personId"], json!(ana.id));
    assert_eq!(via_rest["inputs"], json!({"response": "Approve", "escalation": "esc_01"}));
    sim.stop().await;
}

#[tokio::test]
async fn injected_rate_limit_carries_retry_after() {
    let (sim, c) = sim().await;
    sim.handle().fail_next_rest(1, 429, Some(7));
    let url = format!("{}/people/me", sim.api_url());
    let resp = authed(&c, Method::GET, url.clone()).send().await.unwrap();
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    assert!(resp.headers().contains_key("TrackingID"));
    let body: Value = resp.json().await.unwrap();
    assert!(body["errors"][0]["description"].is_string());
    assert_eq!(authed(&c, Method::GET, url).send().await.unwrap().status(), 200);
    sim.stop().await;
}

#[tokio::test]
async fn device_limit_and_card_edit_refusal() {
    let (sim, c) = sim().await;
    let h = sim.handle();
    for _ in 0..100 {
        register(&sim, &c).await;
    }
    let extra = authed(&c, Method::POST, format!("{}/devices", sim.wdm_url()))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(extra.status(), 403);
    assert_eq!(h.device_count(), 100);

    let room = bot_room(&h, "VIP");
    let msg: Value = authed(&c, Method::POST, format!("{}/messages", sim.api_url()))
        .json(&card_body(&room.id))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!("{}/messages/{}", sim.api_url(), msg["id"].as_str().unwrap());
    h.refuse_card_edits(true);
    let edit = authed(&c, Method::PUT, url.clone()).json(&card_body(&room.id));
    assert_eq!(edit.send().await.unwrap().status(), 400);
    h.refuse_card_edits(false);
    let edit = authed(&c, Method::PUT, url.clone()).json(&card_body(&room.id));
    assert_eq!(edit.send().await.unwrap().status(), 200);
    assert_eq!(h.message(msg["id"].as_str().unwrap()).unwrap().edits, 1);
    let delete = authed(&c, Method::DELETE, url.clone()).send().await.unwrap();
    assert_eq!(delete.status(), 204);
    assert_eq!(authed(&c, Method::GET, url).send().await.unwrap().status(), 404);
    sim.stop().await;
}

#[tokio::test]
async fn faults_close_sockets_and_stop_drops_them() {
    let (sim, c) = sim().await;
    let h = sim.handle();
    let device = register(&sim, &c).await;
    let mut ws = connect(&device, "sim-token").await;
    next_json(&mut ws).await;
    h.close_sockets(4000, "replaced");
    match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap() {
        Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(f)))) => {
            assert_eq!(u16::from(f.code), 4000);
            assert_eq!(f.reason.as_str(), "replaced");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }

    let mut ws = connect(&device, "sim-token").await;
    next_json(&mut ws).await;
    h.send_shutdown();
    assert_eq!(next_json(&mut ws).await, json!({"type": "shutdown"}));

    // The handover successor does not "replace" the old socket: it goes with 4001.
    let mut ws2 = connect(&device, "sim-token").await;
    next_json(&mut ws2).await;
    match tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap() {
        Some(Ok(tokio_tungstenite::tungstenite::Message::Close(Some(f)))) => {
            assert_eq!(u16::from(f.code), 4001);
        }
        other => panic!("expected close 4001, got {other:?}"),
    }
    tokio::time::timeout(Duration::from_secs(5), sim.stop()).await.expect("stop does not wait for clients");
    // Abrupt: no close frame, just the end of the stream.
    let end = tokio::time::timeout(Duration::from_secs(5), ws2.next()).await.unwrap();
    assert!(!matches!(end, Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_)))), "{end:?}");
}

#[tokio::test]
async fn control_api_scripts_the_world() {
    let (sim, c) = sim().await;
    let base = sim.api_url().replace("/v1", "/_sim");
    let post = |path: &str, body: Value| c.post(format!("{base}{path}")).json(&body).send();
    let ana: Value =
        post("/people", json!({"email": "ana@example.com", "displayName": "Ana"})).await.unwrap().json().await.unwrap();
    let room: Value = post("/rooms", json!({"title": "VIP"})).await.unwrap().json().await.unwrap();
    let room_id = room["id"].as_str().unwrap();
    let members = format!("/rooms/{room_id}/members");
    let added = post(&members, json!({"personEmail": "ana@example.com"})).await.unwrap();
    assert_eq!(added.status(), 200);
    let again = post(&members, json!({"personId": ana["id"]})).await.unwrap();
    assert_eq!(again.status(), 400);
    let err: Value = again.json().await.unwrap();
    assert_eq!(err["error"]["code"], "invalid");
    let missing = post("/rooms/nope/members", json!({"personId": ana["id"]})).await.unwrap();
    assert_eq!(missing.status(), 404);
    let said =
        post("/messages", json!({"roomId": room_id, "personEmail": "ana@example.com", "text": "hi"})).await.unwrap();
    assert_eq!(said.status(), 200);
    let msgs: Value = c.get(format!("{base}/rooms/{room_id}/messages")).send().await.unwrap().json().await.unwrap();
    assert_eq!(msgs[0]["text"], "hi");
    let state: Value = c.get(format!("{base}/state")).send().await.unwrap().json().await.unwrap();
    assert_eq!(state["rooms"][0]["title"], "VIP");
    assert_eq!(state["bot"]["email"], "hitl-bot@webex.bot");
    let fault = post("/faults/rest", json!({"count": 1, "status": 503})).await.unwrap();
    assert_eq!(fault.status(), 200);
    let me = authed(&c, Method::GET, format!("{}/people/me", sim.api_url()));
    assert_eq!(me.send().await.unwrap().status(), 503);
    sim.stop().await;
}
