//! SIGHUP: a rotated token and a new log level take effect without a restart,
//! and the socket API keeps answering throughout.

use crate::common::{eventually, serve_command, write_config, Harness};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

async fn hang_up(pid: u32) {
    let status = tokio::process::Command::new("kill").args(["-HUP", &pid.to_string()]).status().await.unwrap();
    assert!(status.success());
}

async fn refresh_status(h: &Harness) -> (u16, String) {
    let answer = h.client.post("/v1/spaces/refresh", &serde_json::Value::Null).await.expect("the API keeps answering");
    (answer.status.as_u16(), answer.body["error"]["code"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn sighup_reloads_the_token_and_the_log_level() {
    let h = Harness::without_daemon().await;
    let dir = h.dir.path().to_owned();
    let config = write_config(&dir, h.simulator(), "sim-token", &[]);
    let mut child =
        serve_command(&config).env_remove("RUST_LOG").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let pid = child.id().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    h.wait_until_serving().await;
    h.wait_health(|health| health["webex"]["connected"] == true).await;
    assert_eq!(refresh_status(&h).await.0, 200);

    // The token is rotated on disk (here: to one Webex refuses) and the daemon told.
    std::fs::write(dir.join("token"), "a-regenerated-token").unwrap();
    hang_up(pid).await;
    let refused = eventually("the rotated token is used", || async {
        match refresh_status(&h).await {
            (200, _) => Err("still 200".to_owned()),
            refused => Ok(refused),
        }
    })
    .await;
    assert_eq!(refused, (502, "webex_token_rejected".to_owned()));

    // Back to the valid token, and debug logging on, without a restart.
    write_config(&dir, h.simulator(), "sim-token", &[("log.level", "debug")]);
    hang_up(pid).await;
    eventually("the valid token is used again", || async {
        match refresh_status(&h).await {
            (200, _) => Ok(()),
            refused => Err(format!("{refused:?}")),
        }
    })
    .await;
    let debug_line = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(line)) = stderr.next_line().await {
            if line.contains("DEBUG") {
                return line;
            }
        }
        String::new()
    });
    h.client.post("/v1/spaces/refresh", &serde_json::Value::Null).await.unwrap();
    assert!(!debug_line.await.expect("debug logs appear").is_empty());
    assert_eq!(child.try_wait().unwrap(), None, "the same process served throughout");
}
