//! The binary as an operator meets it: exit codes and messages.

use crate::common::{binary, write_config, Harness, WAIT};
use std::process::Output;

async fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(binary());
    command.args(args).env_remove("WEBEX_HITL_TOKEN").kill_on_drop(true);
    for (key, value) in envs {
        command.env(key, value);
    }
    tokio::time::timeout(WAIT, command.output()).await.expect("the binary exits in time").expect("the binary runs")
}

#[tokio::test]
async fn a_bad_token_is_reported_clearly_with_exit_78() {
    let h = Harness::without_daemon().await;
    let config = write_config(h.dir.path(), h.simulator(), "not-the-bot-token", &[]);

    let output = run(&["serve", "--config", config.to_str().unwrap()], &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "stderr: {stderr}");
    assert!(stderr.contains("Webex rejected the bot token"), "stderr: {stderr}");
    assert!(stderr.contains("401"), "stderr: {stderr}");
    assert!(!stderr.contains("not-the-bot-token"), "the token must never be printed");
}

#[tokio::test]
async fn the_token_from_the_environment_wins() {
    let h = Harness::without_daemon().await;
    let config = write_config(h.dir.path(), h.simulator(), "not-the-bot-token", &[]);
    let output =
        run(&["config", "check", "--config", config.to_str().unwrap()], &[("WEBEX_HITL_TOKEN", "sim-token")]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[tokio::test]
async fn an_invalid_config_names_the_key_with_exit_78() {
    let h = Harness::without_daemon().await;
    let config = write_config(h.dir.path(), h.simulator(), "sim-token", &[("webex.api_url", "webexapis.com")]);
    let output = run(&["serve", "--config", config.to_str().unwrap()], &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "stderr: {stderr}");
    assert!(stderr.contains("webex.api_url"), "stderr: {stderr}");

    let output = run(
        &["serve", "--config", config.to_str().unwrap()],
        &[("WEBEX_HITL__WEBEX__API_URL", "https://webexapis.com/v1"), ("WEBEX_HITL__LOG__FORMAT", "yaml")],
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "stderr: {stderr}");
    assert!(stderr.contains("log.format"), "environment overrides are validated too: {stderr}");
}

#[tokio::test]
async fn status_talks_to_a_running_daemon() {
    let h = Harness::start().await;
    let socket = h.config.api.socket.to_str().unwrap().to_owned();
    let output = run(&["status", "--socket", &socket], &[]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("connected since"), "{stdout}");
    assert!(stdout.contains("HITL Bot <hitl-bot@webex.bot>"), "{stdout}");
}

#[tokio::test]
async fn a_database_that_is_not_ours_is_refused_untouched() {
    let h = Harness::without_daemon().await;
    let config = write_config(h.dir.path(), h.simulator(), "sim-token", &[]);
    let store = h.dir.path().join("store.db");
    let garbage = b"this is not a database, it is somebody's notes\n".repeat(100);
    std::fs::write(&store, &garbage).unwrap();

    let output = run(&["serve", "--config", config.to_str().unwrap()], &[]).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "stderr: {stderr}");
    assert!(stderr.contains("store.db"), "the message names the file: {stderr}");
    assert_eq!(std::fs::read(&store).unwrap(), garbage, "the file is left as it was");
}

#[tokio::test]
async fn spaces_lists_a_table_or_json() {
    let h = Harness::start().await;
    let room = h.sim.create_room("VIP Escalations");
    h.sim.add_member(&room.id, &h.sim.bot().id, None).unwrap();
    let socket = h.config.api.socket.to_str().unwrap().to_owned();
    let output = run(&["spaces", "--refresh", "--socket", &socket], &[]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout} {}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.starts_with("resynced: "), "{stdout}");
    assert!(stdout.lines().nth(1).unwrap().starts_with("TITLE"), "{stdout}");
    assert!(stdout.contains("VIP Escalations") && stdout.contains(&room.id), "{stdout}");
    let output = run(&["spaces", "--json", "--socket", &socket], &[]).await;
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["items"][0]["title"], "VIP Escalations");
}

#[tokio::test]
async fn escalate_wait_cancel_and_events_from_the_command_line() {
    let h = Harness::start().await;
    let ana = h.sim.add_person("ana.specialist@example.com", "Ana Specialist");
    let room = h.sim.create_room("VIP Escalations");
    h.sim.add_member(&room.id, &ana.id, None).unwrap();
    h.sim.add_member(&room.id, &h.sim.bot().id, None).unwrap();
    let socket = h.config.api.socket.to_str().unwrap().to_owned();
    let out = |o: &Output| format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));

    let created = run(
        &["escalate", "--socket", &socket, "--space", &room.id, "--summary", "Refund?", "--tag", "VIP", "--json"],
        &[],
    )
    .await;
    assert!(created.status.success(), "{}", out(&created));
    let escalation: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    let id = escalation["id"].as_str().unwrap().to_owned();
    assert_eq!(escalation["player"]["tags"], serde_json::json!(["VIP"]));

    let listed = run(&["escalations", "--socket", &socket, "--status", "pending"], &[]).await;
    assert!(out(&listed).contains(&id), "{}", out(&listed));

    let cancelled = run(&["cancel", "--socket", &socket, &id, "--reason", "resolved by chat"], &[]).await;
    assert!(
        out(&cancelled).contains("cancelled") && out(&cancelled).contains("resolved by chat"),
        "{}",
        out(&cancelled)
    );
    let waited = run(&["wait", "--socket", &socket, &id, "--timeout", "5"], &[]).await;
    assert_eq!(waited.status.code(), Some(4), "a cancelled escalation exits 4: {}", out(&waited));
    assert!(out(&waited).contains("cancelled"), "{}", out(&waited));

    let events = run(&["events", "--socket", &socket, "--after", "0"], &[]).await;
    let types: Vec<String> = String::from_utf8_lossy(&events.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["type"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        types.contains(&"escalation.created".to_owned()) && types.contains(&"escalation.cancelled".to_owned()),
        "{types:?}"
    );

    let refused = run(&["escalate", "--socket", &socket, "--space", &room.id, "--summary", ""], &[]).await;
    assert!(!refused.status.success());
    assert!(out(&refused).contains("summary"), "{}", out(&refused));
    let notify = run(&["notify", "--socket", &socket, "--space", &room.id, "--text", "FYI"], &[]).await;
    assert!(out(&notify).starts_with("sent: message "), "{}", out(&notify));
}

#[tokio::test]
async fn a_token_file_readable_by_others_gets_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let h = Harness::without_daemon().await;
    let config = write_config(h.dir.path(), h.simulator(), "sim-token", &[]);
    let token = h.dir.path().join("token");
    for (mode, warned) in [(0o644, true), (0o600, false)] {
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(mode)).unwrap();
        let output = run(&["config", "check", "--config", config.to_str().unwrap()], &[]).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        assert_eq!(stderr.contains("readable by every user"), warned, "mode {mode:o}: {stderr}");
    }
}
