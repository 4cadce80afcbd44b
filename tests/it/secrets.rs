//! The bot token never leaves the daemon: not in logs (even at trace level,
//! even when Webex answers with errors), not in API answers, not in the store.

use crate::common::{serve_command, write_config, Harness};
use serde_json::json;
use std::process::Stdio;
use tokio::io::AsyncReadExt;
use webex_hitl::sim::{SimOptions, Simulator};

const TOKEN: &str = "Zm9vYmFy-SECRET-bot-token-4f1c2a9e";

#[tokio::test]
async fn the_token_never_appears_in_logs_answers_or_the_store() {
    let simulator = Simulator::start(SimOptions { token: TOKEN.into(), ..SimOptions::default() }).await.unwrap();
    let mut h = Harness::without_daemon().await;
    h.sim = simulator.handle();
    let dir = h.dir.path().to_owned();
    let config = write_config(&dir, &simulator, TOKEN, &[]);

    let mut child =
        serve_command(&config).env("RUST_LOG", "trace").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let logs = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    h.wait_until_serving().await;
    h.wait_health(|health| health["webex"]["connected"] == true).await;
    let answers = a_session_with_errors(&h).await;
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let logs = logs.await.unwrap();

    assert!(logs.len() > 10_000, "trace logs were captured ({} bytes)", logs.len());
    assert!(logs.contains("429") && logs.contains("404"), "the session included Webex errors");
    let leaks: Vec<&str> = logs.lines().filter(|l| l.contains(TOKEN)).collect();
    assert!(leaks.is_empty(), "the token is in the logs: {leaks:#?}");
    assert!(!answers.contains(TOKEN), "the token is in an API answer");
    for file in std::fs::read_dir(&dir).unwrap() {
        let path = file.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("store.db") {
            let bytes = std::fs::read(&path).unwrap();
            assert!(!String::from_utf8_lossy(&bytes).contains(TOKEN), "the token is in {}", path.display());
        }
    }
}

/// Escalations, a 429 storm, a 404 and a refused destination; returns every answer body.
async fn a_session_with_errors(h: &Harness) -> String {
    let mut answers = String::new();
    let ana = h.sim.add_person("ana.specialist@example.com", "Ana Specialist");
    let room = h.sim.create_room("VIP");
    h.sim.add_member(&room.id, &ana.id, None).unwrap();
    h.sim.add_member(&room.id, &h.sim.bot().id, None).unwrap();
    let outside = h.sim.create_room("Not ours");
    h.sim.fail_next_rest(3, 429, Some(1));
    for body in [
        json!({"to": {"space_id": room.id}, "summary": "One"}),
        json!({"to": {"space_id": outside.id}, "summary": "Two"}),
        json!({"to": {"person_email": "nobody@example.com"}, "summary": "Three"}),
    ] {
        answers.push_str(&h.client.post("/v1/escalations", &body).await.unwrap().body.to_string());
    }
    h.sim.fail_next_rest(2, 500, None);
    answers.push_str(
        &h.client
            .post("/v1/messages", &json!({"to": {"space_id": outside.id}, "text": "hi"}))
            .await
            .unwrap()
            .body
            .to_string(),
    );
    // The card for "One" gets through the 429s: the session is over when nothing is owed.
    h.wait_outbox_empty().await;
    for path in ["/v1/health", "/v1/spaces", "/v1/escalations", "/v1/people?email=ana.specialist@example.com"] {
        answers.push_str(&h.client.get(path).await.unwrap().body.to_string());
    }
    let (_, events) = h.client.raw(hyper::Method::GET, "/v1/events?after=0", None).await.unwrap();
    answers.push_str(&String::from_utf8_lossy(&events));
    answers
}
