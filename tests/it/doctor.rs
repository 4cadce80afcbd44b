//! `webex-hitl doctor` as an operator runs it: the binary against a daemon and
//! the simulator, healthy and broken, with its exit code.

use crate::common::{binary, eventually, write_config, Harness, WAIT};

/// Runs `doctor`; returns (exit code, stdout), printing stdout for the README.
async fn doctor(config: &std::path::Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut command = tokio::process::Command::new(binary());
    command.arg("doctor").arg("--config").arg(config).args(extra).kill_on_drop(true);
    for name in ["WEBEX_HITL_TOKEN", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"] {
        command.env_remove(name);
    }
    let output = tokio::time::timeout(WAIT * 3, command.output()).await.expect("doctor ends").expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    println!("$ webex-hitl doctor {}\n{stdout}", extra.join(" "));
    (output.status.code(), stdout)
}

fn line<'a>(stdout: &'a str, check: &str) -> &'a str {
    let prefix = |l: &&str| l.get(7..).is_some_and(|rest| rest.split_whitespace().next() == Some(check));
    stdout.lines().find(prefix).unwrap_or_else(|| panic!("no {check} line in:\n{stdout}"))
}

#[tokio::test]
async fn a_healthy_setup_passes_every_check() {
    let h = Harness::start().await;
    let room = h.sim.create_room("VIP Escalations");
    h.sim.add_member(&room.id, &h.sim.bot().id, None).unwrap();
    h.wait_health(|_| true).await;
    eventually("the space reaches the cache", || async {
        let spaces = h.client.get("/v1/spaces").await.unwrap().body;
        if spaces["items"].as_array().is_none_or(|a| a.is_empty()) {
            Err(format!("{spaces:#}"))
        } else {
            Ok(())
        }
    })
    .await;

    let config = write_config(h.dir.path(), h.simulator(), "sim-token", &[]);
    let (code, stdout) = doctor(&config, &["--space", &room.id]).await;
    assert_eq!(code, Some(0), "{stdout}");
    for check in ["config", "token", "network", "bot", "daemon", "websocket", "devices", "spaces", "space"] {
        assert!(line(&stdout, check).starts_with("[ OK ]"), "{check}:\n{stdout}");
    }
    assert!(line(&stdout, "bot").contains("token valid"), "{stdout}");
    assert!(line(&stdout, "spaces").contains("1 spaces visible"), "{stdout}");
    assert!(line(&stdout, "devices").contains("1 device registration"), "{stdout}");
    assert!(line(&stdout, "space").contains("VIP Escalations"), "{stdout}");
    assert!(stdout.contains("0 failed"), "{stdout}");
}

#[tokio::test]
async fn no_spaces_and_a_missing_space_fail_with_their_fixes() {
    let h = Harness::start().await;
    let room = h.sim.create_room("Ops");
    let config = write_config(h.dir.path(), h.simulator(), "sim-token", &[]);
    let (code, stdout) = doctor(&config, &["--space", &room.id]).await;
    assert_eq!(code, Some(1), "{stdout}");
    assert!(line(&stdout, "spaces").starts_with("[FAIL]"), "{stdout}");
    assert!(stdout.contains("fix: Add the bot to at least one Webex space (People > Add people)"), "{stdout}");
    assert!(line(&stdout, "space").starts_with("[FAIL]"), "{stdout}");
    assert!(stdout.contains("fix: Add the bot to the space in Webex"), "{stdout}");
    assert!(line(&stdout, "websocket").starts_with("[ OK ]"), "the rest is healthy:\n{stdout}");
}

#[tokio::test]
async fn a_bad_token_and_a_stopped_daemon_fail() {
    let h = Harness::without_daemon().await;
    let config = write_config(h.dir.path(), h.simulator(), "revoked-token", &[]);
    let (code, stdout) = doctor(&config, &[]).await;
    assert_eq!(code, Some(1), "{stdout}");
    let bot = line(&stdout, "bot");
    assert!(bot.starts_with("[FAIL]") && bot.contains("401"), "{stdout}");
    assert!(stdout.contains("fix: Generate a new token in the Webex Developer Portal"), "{stdout}");
    assert!(line(&stdout, "daemon").starts_with("[FAIL]"), "{stdout}");
    assert!(line(&stdout, "websocket").starts_with("[SKIP]"), "{stdout}");
    assert!(!stdout.contains("revoked-token\n") && !stdout.contains(": revoked-token"), "token printed:\n{stdout}");
}
