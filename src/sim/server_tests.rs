//! End-to-end tests against the real server on 127.0.0.1:0.

use super::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub(super) type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(super) async fn sim() -> (Simulator, reqwest::Client) {
    let sim = Simulator::start(SimOptions::default()).await.unwrap();
    (sim, reqwest::Client::new())
}

pub(super) fn authed(c: &reqwest::Client, method: reqwest::Method, url: String) -> reqwest::RequestBuilder {
    c.request(method, url).bearer_auth("sim-token")
}

/// A group room with the bot in it.
pub(super) fn bot_room(h: &SimHandle, title: &str) -> SimRoom {
    let room = h.create_room(title);
    h.add_member(&room.id, &h.bot().id, None).unwrap();
    room
}

#[tokio::test]
async fn rest_requires_the_token_and_tracks_every_response() {
    let (sim, c) = sim().await;
    let url = format!("{}/people/me", sim.api_url());
    let resp = c.get(&url).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let tracking = resp.headers()["TrackingID"].to_str().unwrap().to_owned();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["message"], errors::UNAUTHORIZED);
    assert_eq!(body["trackingId"], json!(tracking));

    let resp = authed(&c, reqwest::Method::GET, url).send().await.unwrap();
    assert!(resp.headers().contains_key("TrackingID"));
    let me: Value = resp.json().await.unwrap();
    assert_eq!(me["type"], "bot");
    assert_eq!(me["emails"][0], "hitl-bot@webex.bot");
    assert_eq!(me["id"], json!(sim.handle().bot().id));
    let calls = sim.handle().rest_calls();
    assert_eq!(calls.iter().map(|c| c.status).collect::<Vec<_>>(), [401, 200]);
    sim.stop().await;
}

#[tokio::test]
async fn posting_to_a_foreign_room_is_the_documented_404() {
    let (sim, c) = sim().await;
    let room = sim.handle().create_room("Not ours");
    let resp = authed(&c, reqwest::Method::POST, format!("{}/messages", sim.api_url()))
        .json(&json!({"roomId": room.id, "text": "hi"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let tracking = resp.headers()["TrackingID"].to_str().unwrap().to_owned();
    let body: Value = resp.json().await.unwrap();
    let expected = "Could not find a room with provided ID.";
    assert_eq!(body, json!({"message": expected, "errors": [{"description": expected}], "trackingId": tracking}));
    sim.stop().await;
}

#[tokio::test]
async fn rooms_page_through_link_headers_without_filters() {
    let (sim, c) = sim().await;
    let h = sim.handle();
    for i in 0..250 {
        bot_room(&h, &format!("room {i}"));
    }
    h.create_room("not the bot's");
    let mut url = format!("{}/rooms?max=100&type=group", sim.api_url());
    let mut sizes = Vec::new();
    loop {
        let resp = authed(&c, reqwest::Method::GET, url.clone()).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let link = resp.headers().get("link").map(|l| l.to_str().unwrap().to_owned());
        let body: Value = resp.json().await.unwrap();
        sizes.push(body["items"].as_array().unwrap().len());
        let Some(link) = link else { break };
        assert!(!link.contains("type="), "next links drop filters: {link}");
        let next = link.trim_start_matches('<').split('>').next().unwrap();
        url = format!("{next}&type=group");
    }
    assert_eq!(sizes, [100, 100, 50]);
    let bad = authed(&c, reqwest::Method::GET, format!("{}/rooms?max=0", sim.api_url()));
    assert_eq!(bad.send().await.unwrap().status(), 400);
    sim.stop().await;
}

pub(super) async fn register(sim: &Simulator, c: &reqwest::Client) -> Value {
    let body = json!({"deviceName": "webex-hitl", "deviceType": "DESKTOP", "name": "webex-hitl"});
    let resp = authed(c, reqwest::Method::POST, format!("{}/devices", sim.wdm_url())).json(&body).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

pub(super) async fn next_json(ws: &mut Ws) -> Value {
    let msg = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("a frame in time")
        .expect("socket open")
        .expect("no error");
    serde_json::from_str(msg.to_text().unwrap()).unwrap()
}

pub(super) async fn send(ws: &mut Ws, v: Value) {
    ws.send(WsMessage::text(v.to_string())).await.unwrap();
}

/// Connects and authorizes; returns the socket after the buffer-state frame.
pub(super) async fn connect(device: &Value, token: &str) -> Ws {
    let url = device["webSocketUrl"].as_str().unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let auth = json!({"id": "a1", "type": "authorization", "data": {"token": format!("Bearer {token}")}});
    send(&mut ws, auth).await;
    ws
}

#[tokio::test]
async fn websocket_delivers_and_redelivers_until_acked() {
    let (sim, c) = sim().await;
    let h = sim.handle();
    let device = register(&sim, &c).await;
    assert_eq!(device["userId"], json!(h.bot().uuid));

    let mut ws = connect(&device, "sim-token").await;
    let state = next_json(&mut ws).await;
    assert_eq!(state["data"]["eventType"], "mercury.buffer_state");
    assert_eq!(state["sequenceNumber"], 1);
    send(&mut ws, json!({"id": "p1", "type": "ping"})).await;
    assert_eq!(next_json(&mut ws).await, json!({"id": "p1", "type": "pong"}));
    assert_eq!(h.connection_count(), 1);

    let room = bot_room(&h, "VIP");
    let added = next_json(&mut ws).await;
    let activity = &added["data"]["activity"];
    assert_eq!(activity["verb"], "add");
    assert_eq!(activity["object"]["entryUUID"], json!(h.bot().uuid));
    assert_eq!(activity["target"]["id"], json!(room.uuid));
    assert_eq!(added["sequenceNumber"], 2);
    drop(ws);

    // Not acked: the next connection of the device gets it again.
    let mut ws = connect(&device, "sim-token").await;
    assert_eq!(next_json(&mut ws).await["sequenceNumber"], 1);
    let again = next_json(&mut ws).await;
    assert_eq!(again["id"], added["id"]);
    assert_eq!(again["sequenceNumber"], 2);
    send(&mut ws, json!({"messageId": again["id"], "type": "ack"})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(h.acked_count(), 1);
    drop(ws);

    let mut ws = connect(&device, "sim-token").await;
    next_json(&mut ws).await; // buffer state
    send(&mut ws, json!({"id": "p2", "type": "ping"})).await;
    assert_eq!(next_json(&mut ws).await["type"], "pong", "nothing left to redeliver");
    sim.stop().await;
}

#[tokio::test]
async fn bad_token_closes_4401_and_stale_registration_is_404() {
    let (sim, c) = sim().await;
    let device = register(&sim, &c).await;
    let mut ws = connect(&device, "wrong").await;
    let msg = tokio::time::timeout(Duration::from_secs(5), ws.next()).await.unwrap();
    match msg {
        Some(Ok(WsMessage::Close(Some(frame)))) => assert_eq!(frame.code, CloseCode::from(4401)),
        other => panic!("expected close 4401, got {other:?}"),
    }
    sim.handle().make_devices_stale();
    let url = device["webSocketUrl"].as_str().unwrap();
    let err = tokio_tungstenite::connect_async(url).await.unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
    let refresh = authed(&c, reqwest::Method::PUT, device["url"].as_str().unwrap().to_owned());
    assert_eq!(refresh.send().await.unwrap().status(), 404);
    sim.stop().await;
}

#[tokio::test]
async fn restart_on_the_same_port_keeps_the_world() {
    let (sim, c) = sim().await;
    let addr = sim.addr();
    let room = bot_room(&sim.handle(), "Kept");
    let state = sim.stop().await;
    let sim = Simulator::start(SimOptions { listen: addr, state: Some(state), ..Default::default() }).await.unwrap();
    let resp = authed(&c, reqwest::Method::GET, format!("{}/rooms/{}", sim.api_url(), room.id));
    let body: Value = resp.send().await.unwrap().json().await.unwrap();
    assert_eq!(body["title"], "Kept");
    sim.stop().await;
}
