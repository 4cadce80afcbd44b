//! Day-2 operations and the engine's view of failures: every error in the one
//! JSON shape, one daemon per store, a replaced socket named as such, and the
//! exit codes of `wait`.

use crate::common::{binary, eventually, serve_command, write_config, Harness, WAIT};
use serde_json::{json, Map, Value};
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One raw HTTP/1.1 exchange on the socket, so that the test, not a client
/// library, chooses the method, headers and body. Returns status, head, body.
async fn exchange(socket: &Path, head: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut stream = tokio::net::UnixStream::connect(socket).await.expect("the socket answers");
    let request = format!("{head}\r\nHost: localhost\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut answer)).await.expect("an answer in time").unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete head");
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    (status, head, answer[split + 4..].to_vec())
}

#[tokio::test]
async fn every_error_is_json_in_the_one_shape_and_every_body_must_be_json() {
    let h = Harness::start().await;
    let socket = h.config.api.socket.as_path();
    let big = vec![b' '; 300 * 1024];
    let cases: Vec<(&str, &[u8], u16, &str)> = vec![
        ("GET /v1/nowhere HTTP/1.1", b"", 404, "not_found"),
        ("DELETE /v1/health HTTP/1.1", b"", 405, "method_not_allowed"),
        ("GET /v1/escalations/esc_nope HTTP/1.1", b"", 404, "not_found"),
        ("GET /v1/events?after=abc HTTP/1.1", b"", 400, "bad_request"),
        ("POST /v1/escalations HTTP/1.1\r\nContent-Type: application/json", b"{", 400, "bad_request"),
        ("POST /v1/escalations HTTP/1.1\r\nContent-Type: application/json", b"{\"summary\": 3}", 422, "invalid"),
        ("POST /v1/escalations HTTP/1.1\r\nContent-Type: application/json", &big, 413, "payload_too_large"),
        (
            "POST /v1/escalations/esc_x/cancel HTTP/1.1\r\nContent-Type: application/json",
            &big,
            413,
            "payload_too_large",
        ),
        ("POST /v1/escalations HTTP/1.1\r\nContent-Type: text/plain", b"{}", 415, "unsupported_media_type"),
        ("POST /v1/messages HTTP/1.1\r\nContent-Type: text/plain", b"{}", 415, "unsupported_media_type"),
        (
            "POST /v1/escalations/esc_x/cancel HTTP/1.1\r\nContent-Type: text/plain",
            b"{}",
            415,
            "unsupported_media_type",
        ),
        ("POST /v1/spaces/refresh HTTP/1.1\r\nContent-Type: text/plain", b"x", 415, "unsupported_media_type"),
        ("POST /v1/escalations/esc_x/cancel HTTP/1.1", b"{}", 415, "unsupported_media_type"),
    ];
    for (head, body, status, code) in cases {
        let (got, answer_head, answer) = exchange(socket, head, body).await;
        let json: Value = serde_json::from_slice(&answer)
            .unwrap_or_else(|e| panic!("{head}: the body is not JSON ({e}): {}", String::from_utf8_lossy(&answer)));
        assert_eq!((got, json["error"]["code"].as_str()), (status, Some(code)), "{head}: {json}");
        assert!(json["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{head}: {json}");
        assert!(answer_head.to_ascii_lowercase().contains("content-type: application/json"), "{head}: {answer_head}");
    }
    // No body needs no content type, on every POST that takes none.
    let (status, _, answer) = exchange(socket, "POST /v1/escalations/esc_nope/cancel HTTP/1.1", b"").await;
    assert_eq!(status, 404, "{}", String::from_utf8_lossy(&answer));
}

/// `webex-hitl wait ID [--timeout N]`: its exit code and what it printed.
async fn wait_exit(h: &Harness, id: &str, timeout: Option<&str>) -> (Option<i32>, String) {
    let socket = h.config.api.socket.to_str().unwrap();
    let mut args = vec!["wait", "--socket", socket, id, "--json"];
    args.extend(timeout.map(|t| ["--timeout", t]).into_iter().flatten());
    let output = tokio::process::Command::new(binary()).args(&args).kill_on_drop(true).output();
    let output = tokio::time::timeout(WAIT, output).await.expect("wait exits in time").unwrap();
    let printed = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), printed)
}

/// Creates an escalation in `room` and waits until its card is posted; returns (id, card id).
async fn posted(h: &Harness, room: &str, timeout_s: u64) -> (String, String) {
    let body = json!({"to": {"space_id": room}, "summary": "Withdrawal on hold", "timeout_s": timeout_s});
    let created = h.client.post("/v1/escalations", &body).await.unwrap();
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let card = eventually("the card is posted", || async {
        let e = h.client.get(&format!("/v1/escalations/{id}")).await.unwrap().body;
        e["delivery"]["message_id"].as_str().map(str::to_owned).ok_or_else(|| e.to_string())
    })
    .await;
    (id, card)
}

#[tokio::test]
async fn wait_exits_0_only_for_an_answer_and_a_distinct_code_for_each_other_end() {
    let h = Harness::start().await;
    let ana = h.sim.add_person("ana.specialist@example.com", "Ana Specialist");
    let room = h.sim.create_room("VIP Escalations");
    for person in [&ana.id, &h.sim.bot().id] {
        h.sim.add_member(&room.id, person, Some(&ana.id)).unwrap();
    }

    let (pending, card) = posted(&h, &room.id, 600).await;
    let (code, printed) = wait_exit(&h, &pending, Some("1")).await;
    assert_eq!(code, Some(2), "still pending after --timeout 1: {printed}");
    assert!(printed.contains("\"pending\""), "{printed}");
    let inputs: Map<String, Value> = [("response".to_owned(), json!("Release it."))].into_iter().collect();
    h.sim.submit_card(&card, &ana.id, inputs).unwrap();
    let (code, printed) = wait_exit(&h, &pending, None).await;
    assert_eq!(code, Some(0), "answered: {printed}");
    assert!(printed.contains("Release it."), "{printed}");

    let (expiring, _) = posted(&h, &room.id, 1).await;
    assert_eq!(wait_exit(&h, &expiring, Some("30")).await.0, Some(3), "expired");

    let (cancelled, _) = posted(&h, &room.id, 600).await;
    h.client.post(&format!("/v1/escalations/{cancelled}/cancel"), &json!({})).await.unwrap();
    assert_eq!(wait_exit(&h, &cancelled, None).await.0, Some(4), "cancelled");

    let (failing, _) = posted(&h, &room.id, 600).await;
    h.sim.remove_member(&room.id, &h.sim.bot().id, Some(&ana.id)).unwrap();
    assert_eq!(wait_exit(&h, &failing, Some("30")).await.0, Some(5), "failed: the bot was removed");

    let (code, printed) = wait_exit(&h, "esc_nope", None).await;
    assert_eq!(code, Some(1), "the command itself failed: {printed}");
}

async fn event_lines(h: &Harness, query: &str) -> Vec<Value> {
    let (status, body) = h.client.raw(hyper::Method::GET, &format!("/v1/events?{query}"), None).await.unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    std::str::from_utf8(&body).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test]
async fn a_cursor_from_a_wiped_store_is_reset_to_the_new_logs_start() {
    let mut h = Harness::start().await;
    let before = event_lines(&h, "after=0").await;
    let last = before.last().expect("the connection was recorded");
    let (old_seq, old_epoch) = (last["seq"].as_i64().unwrap(), last["epoch"].as_str().unwrap().to_owned());
    let health = h.health().await;
    assert_eq!(health["event_log"]["epoch"], old_epoch.as_str());
    assert_eq!(health["event_log"]["head"], old_seq);
    assert!(health["version"].as_str().is_some_and(|v| v.contains("commit")), "{health}");

    h.stop_daemon().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", h.config.store.path.display()));
    }
    h.start_daemon().await;
    h.wait_health(|health| health["webex"]["connected"] == true).await;

    let after = event_lines(&h, &format!("after={old_seq}&epoch={old_epoch}")).await;
    let reset = &after[0];
    assert_eq!(reset["type"], "stream.reset", "{after:#?}");
    let new_epoch = reset["epoch"].as_str().unwrap();
    assert_ne!(new_epoch, old_epoch, "a wiped store has a new epoch");
    assert_eq!(reset["from"], 0);
    assert_eq!(after[1]["seq"], 1, "every event of the new log follows: {after:#?}");
    assert!(after[1..].iter().all(|e| e["epoch"] == new_epoch), "{after:#?}");
}

#[tokio::test]
async fn a_second_serve_on_the_same_store_is_refused_with_exit_78_naming_the_first() {
    let h = Harness::start().await;
    // Its own socket, so that only the store is shared.
    let other_socket = h.dir.path().join("other.sock");
    let config =
        write_config(h.dir.path(), h.simulator(), "sim-token", &[("api.socket", other_socket.to_str().unwrap())]);
    let output = tokio::time::timeout(WAIT, serve_command(&config).output()).await.expect("refused at once").unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains(&std::process::id().to_string()), "names the pid holding the store: {stderr}");
    assert!(stderr.contains("store.path"), "{stderr}");
    assert_eq!(h.health().await["webex"]["connected"], true, "the first daemon is undisturbed");
}

#[tokio::test]
async fn a_device_taken_over_by_another_instance_is_reported_as_such() {
    let h = Harness::start().await;
    // Another instance: its own store and socket, the same bot and device name.
    let other = tempfile::tempdir().unwrap();
    let overrides = [
        ("api.socket", other.path().join("api.sock").to_str().unwrap().to_owned()),
        ("store.path", other.path().join("store.db").to_str().unwrap().to_owned()),
    ];
    let overrides: Vec<(&str, &str)> = overrides.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let config = write_config(other.path(), h.simulator(), "sim-token", &overrides);
    let _intruder = serve_command(&config).spawn().unwrap();

    let health = h.wait_health(|health| health["webex"]["replaced_at"].is_string()).await;
    assert_eq!(health["status"], "degraded", "{health:#}");
    assert!(h.metric("webex_hitl_webex_replaced_total").await >= Some(1.0));
}

#[tokio::test]
async fn a_notification_retried_with_its_key_is_posted_once() {
    let h = Harness::start().await;
    let room = h.sim.create_room("Ops");
    let message = |text: &str| json!({"key": "conv-8812/notice-1", "to": {"space_id": room.id}, "text": text});

    // The bot is not in the space yet: the call fails, and the key stays free.
    let refused = h.client.post("/v1/messages", &message("Deposit cleared")).await.unwrap();
    assert_eq!(refused.status, 422, "{}", refused.body);
    h.sim.add_member(&room.id, &h.sim.bot().id, None).unwrap();

    let first = h.client.post("/v1/messages", &message("Deposit cleared")).await.unwrap();
    assert_eq!(first.status, 201, "{}", first.body);
    let again = h.client.post("/v1/messages", &message("Deposit cleared")).await.unwrap();
    assert_eq!(again.status, 200, "a retry: {}", again.body);
    assert_eq!(again.body, first.body, "the same message");
    let posted: Vec<_> =
        h.sim.messages(&room.id).into_iter().filter(|m| m.text.as_deref() == Some("Deposit cleared")).collect();
    assert_eq!(posted.len(), 1, "posted once");

    let other = h.client.post("/v1/messages", &message("Something else")).await.unwrap();
    assert_eq!(
        (other.status.as_u16(), other.body["error"]["code"].as_str()),
        (422, Some("key_conflict")),
        "{}",
        other.body
    );
    let unkeyed = json!({"to": {"space_id": room.id}, "text": "Deposit cleared"});
    assert_eq!(h.client.post("/v1/messages", &unkeyed).await.unwrap().status, 201, "no key: a new message");
}
