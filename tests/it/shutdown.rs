//! SIGTERM ends the daemon within seconds whatever is in flight: a long poll, a
//! REST call waiting out a long `Retry-After`, and a websocket dial that stalls.
//! systemd's `TimeoutStopSec=30s` must never be what stops it.

use crate::common::Client as ApiClient;
use crate::common::{eventually, serve_command, write_config, Harness};
use std::process::Stdio;
use std::time::{Duration, Instant};

#[tokio::test]
async fn sigterm_under_load_exits_within_five_seconds() {
    let h = Harness::without_daemon().await;
    let config = write_config(h.dir.path(), h.simulator(), "sim-token", &[]);
    let mut child = serve_command(&config).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    h.wait_until_serving().await;
    h.wait_health(|health| health["webex"]["connected"] == true).await;

    // A long poll on an escalation nobody answers.
    let room = h.sim.create_room("Shutdown");
    h.sim.add_member(&room.id, &h.sim.bot().id, None).unwrap();
    let body = serde_json::json!({"to": {"space_id": room.id}, "summary": "Nobody answers"});
    let created = h.client.post("/v1/escalations", &body).await.unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let long_poll = background_get(&h.client, format!("/v1/escalations/{id}?wait=300"));

    // A REST retry storm: every room listing answers 429 with a long Retry-After.
    h.sim.fail_next_rest_matching("/rooms", 1000, 429, Some(100));
    let storm = tokio::spawn({
        let client = h.client.clone();
        async move { client.post("/v1/spaces/refresh", &serde_json::Value::Null).await }
    });
    eventually("the resync meets a 429", || async {
        let calls = h.sim.rest_calls();
        calls.iter().any(|call| call.status == 429).then_some(()).ok_or_else(|| format!("{} calls", calls.len()))
    })
    .await;

    // A stalled dial: the socket is dropped and every new upgrade hangs.
    h.sim.stall_upgrades(true);
    h.sim.drop_sockets();
    eventually("a dial is stalled in its upgrade", || async {
        (h.sim.stalled_upgrades() > 0).then_some(()).ok_or_else(|| "no stalled upgrade".to_owned())
    })
    .await;

    let pid = child.id().unwrap().to_string();
    let started = Instant::now();
    assert!(tokio::process::Command::new("kill").args(["-TERM", &pid]).status().await.unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.expect("exits").unwrap();
    let took = started.elapsed();
    eprintln!("exit after SIGTERM with a long poll, a 429 storm and a stalled dial in flight: {took:?}");
    assert!(status.success(), "a clean exit: {status}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(!h.config.api.socket.exists(), "the socket file is removed");
    drop((long_poll, storm));
}

fn background_get(client: &ApiClient, path: String) -> tokio::task::JoinHandle<()> {
    let client = client.clone();
    tokio::spawn(async move {
        let _ = client.get(&path).await;
    })
}
