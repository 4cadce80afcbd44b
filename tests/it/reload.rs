//! The bot token at run time: a token Webex stops accepting is seen within one
//! REST call (health degraded, not "ok"); SIGHUP brings a new token in only once
//! Webex accepts it, and a new log level; the socket API answers throughout.

use crate::common::{eventually, serve_command, write_config, Harness};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

async fn hang_up(pid: u32) {
    let status = tokio::process::Command::new("kill").args(["-HUP", &pid.to_string()]).status().await.unwrap();
    assert!(status.success());
}

async fn refresh_status(h: &Harness) -> (u16, String) {
    let answer = h.client.post("/v1/spaces/refresh", &serde_json::Value::Null).await.expect("the API keeps answering");
    (answer.status.as_u16(), answer.body["error"]["code"].as_str().unwrap_or_default().to_owned())
}

/// The daemon's log, line by line, as it comes.
fn log_lines(child: &mut tokio::process::Child) -> mpsc::UnboundedReceiver<String> {
    let (lines_tx, lines) = mpsc::unbounded_channel();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    lines
}

async fn a_line_with(lines: &mut mpsc::UnboundedReceiver<String>, text: &str) -> String {
    let wanted = async {
        while let Some(line) = lines.recv().await {
            if line.contains(text) {
                return line;
            }
        }
        panic!("the log ended without {text:?}")
    };
    tokio::time::timeout(Duration::from_secs(10), wanted).await.unwrap_or_else(|_| panic!("no log line with {text:?}"))
}

#[tokio::test]
async fn a_revoked_token_degrades_health_and_only_a_good_sighup_recovers() {
    let h = Harness::without_daemon().await;
    let dir = h.dir.path().to_owned();
    let config = write_config(&dir, h.simulator(), "sim-token", &[("log.level", "info")]);
    let mut child =
        serve_command(&config).env_remove("RUST_LOG").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id().unwrap();
    let mut lines = log_lines(&mut child);
    h.wait_until_serving().await;
    h.wait_health(|health| health["status"] == "ok").await;

    // A token Webex refuses, put in place and SIGHUP sent: it is checked first, and refused.
    std::fs::write(dir.join("token"), "a-mistyped-token").unwrap();
    hang_up(pid).await;
    a_line_with(&mut lines, "keeping the current bot token").await;
    assert_eq!(refresh_status(&h).await.0, 200, "the current token stays in use");

    // The bot's token is regenerated in the Developer Portal: the one in use dies.
    h.sim.regenerate_token("sim-token-2");
    assert_eq!(refresh_status(&h).await, (502, "webex_token_rejected".to_owned()));
    let health = h.health().await;
    assert_eq!(health["status"], "degraded", "{health:#}");
    assert_eq!(health["webex"]["token"], "rejected", "within one REST call: {health:#}");
    assert!(health["webex"]["token_rejected_since"].is_string(), "{health:#}");
    a_line_with(&mut lines, "Webex rejects the bot token").await;
    assert_eq!(h.metric("webex_hitl_webex_token_valid").await, Some(0.0));

    // The new token, and debug logging, without a restart.
    write_config(&dir, h.simulator(), "sim-token-2", &[("log.level", "debug")]);
    hang_up(pid).await;
    a_line_with(&mut lines, "Webex accepted the new bot token").await;
    let health = h.wait_health(|health| health["status"] == "ok").await;
    assert_eq!(health["webex"]["token"], "valid", "{health:#}");
    eventually("the valid token is used again", || async {
        match refresh_status(&h).await {
            (200, _) => Ok(()),
            refused => Err(format!("{refused:?}")),
        }
    })
    .await;
    a_line_with(&mut lines, "DEBUG").await;
    assert_eq!(child.try_wait().unwrap(), None, "the same process served throughout");
}

/// `webex-hitl token rotate --config CONFIG --write FILE`, the token on stdin.
async fn rotate(config: &std::path::Path, write: &std::path::Path, token: &str) -> (Option<i32>, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new(crate::common::binary())
        .args(["token", "rotate", "--config", config.to_str().unwrap(), "--write", write.to_str().unwrap()])
        .env_remove("WEBEX_HITL_TOKEN")
        .env_remove("CREDENTIALS_DIRECTORY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{token}\n").as_bytes()).await.unwrap();
    drop(stdin);
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output()).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), text)
}

/// Under systemd the token is a credential: a copy made at start, which
/// neither the token file nor SIGHUP refreshes. `token rotate` delivers a new
/// one to the running daemon and saves it where the next start copies it from.
#[tokio::test]
async fn token_rotate_reaches_a_daemon_on_a_systemd_credential_and_survives_its_restart() {
    use std::os::unix::fs::PermissionsExt;
    let h = Harness::without_daemon().await;
    let dir = h.dir.path().to_owned();
    // What the unit does: LoadCredential=webex-token:<dir>/etc-token, no webex.token_file.
    let (etc_token, credentials) = (dir.join("etc-token"), dir.join("credentials"));
    std::fs::create_dir(&credentials).unwrap();
    std::fs::write(&etc_token, "sim-token\n").unwrap();
    std::fs::set_permissions(&etc_token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let start = || {
        std::fs::copy(&etc_token, credentials.join("webex-token")).unwrap();
        serve_command(&config_without_token_file(&dir, &h)).env("CREDENTIALS_DIRECTORY", &credentials).spawn().unwrap()
    };
    let mut daemon = start();
    h.wait_until_serving().await;
    h.wait_health(|health| health["status"] == "ok").await;

    h.sim.regenerate_token("sim-token-2");
    assert_eq!(refresh_status(&h).await, (502, "webex_token_rejected".to_owned()));
    let config = dir.join("config.toml");

    let (code, said) = rotate(&config, &etc_token, "a-mistyped-token").await;
    assert_eq!(code, Some(78), "a refused token: {said}");
    assert!(said.contains("rejected") && said.contains("nothing was changed"), "{said}");
    assert_eq!(std::fs::read_to_string(&etc_token).unwrap(), "sim-token\n", "the saved token is untouched");

    let (code, said) = rotate(&config, &etc_token, "sim-token-2").await;
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("now uses the token of"), "{said}");
    assert_eq!(refresh_status(&h).await.0, 200, "the running daemon uses it, without a restart");
    assert_eq!(h.health().await["webex"]["token"], "valid");
    assert_eq!(std::fs::read_to_string(&etc_token).unwrap(), "sim-token-2\n");
    assert_eq!(std::fs::metadata(&etc_token).unwrap().permissions().mode() & 0o777, 0o600);

    // A reload must not bring back the stale copy in the credential directory.
    hang_up(daemon.id().unwrap()).await;
    assert_eq!(refresh_status(&h).await.0, 200, "after SIGHUP");

    // And a restart (systemd copies the credential again) starts on the new token.
    daemon.kill().await.unwrap();
    let _daemon = start();
    h.wait_until_serving().await;
    h.wait_health(|health| health["status"] == "ok").await;
}

/// The harness's config file, minus `webex.token_file`: the token comes from the credential.
fn config_without_token_file(dir: &std::path::Path, h: &Harness) -> std::path::PathBuf {
    let path = write_config(dir, h.simulator(), "sim-token", &[]);
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: String = text.lines().filter(|l| !l.starts_with("token_file")).map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, kept).unwrap();
    path
}
