//! Access control on the API socket: file mode and group, the `SO_PEERCRED`
//! allow-list checked on every connection, and the audit log of mutating requests.
//!
//! "Another uid" is real: when the tests run as root (as CI does) the CLI binary
//! is started as `nobody` (65534) with `Command::uid`. Not root: those tests say
//! why and skip, since only root can start a process as another user.

use crate::common::{binary, write_config, Harness, WAIT};
use serde_json::{json, Value};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Output;

const NOBODY: u32 = 65534;

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

/// A copy of the binary that any user can execute: the build directory may sit
/// under a path that `nobody` cannot traverse (a checkout in /root, say).
fn binary_for_anyone() -> std::path::PathBuf {
    static COPY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    COPY.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("webex-hitl-access-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = dir.join("webex-hitl");
        std::fs::copy(binary(), &copy).unwrap();
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
        copy
    })
    .clone()
}

/// Runs the CLI binary as `uid`/`gid` (or as ourselves); returns its output and pid.
async fn cli_as(ids: Option<(u32, u32)>, args: &[&str]) -> (Output, u32) {
    let program = if ids.is_some() { binary_for_anyone() } else { binary() };
    let mut command = tokio::process::Command::new(program);
    command.args(args).env_remove("WEBEX_HITL_TOKEN").kill_on_drop(true);
    if let Some((uid, gid)) = ids {
        command.uid(uid).gid(gid);
    }
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("the binary starts");
    let pid = child.id().expect("a running child has a pid");
    let output = tokio::time::timeout(WAIT, child.wait_with_output())
        .await
        .expect("the binary exits in time")
        .expect("the binary runs");
    (output, pid)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A daemon whose socket another user can reach: the scratch dir is traversable
/// and the socket file is 0666, so only the allow-list stands in the way.
async fn daemon_open_to_others(uids: Vec<u32>, gids: Vec<u32>) -> Harness {
    let mut h = Harness::without_daemon().await;
    std::fs::set_permissions(h.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    h.config.api.socket_mode = "0666".into();
    h.config.api.allowed_uids = uids;
    h.config.api.allowed_gids = gids;
    h.start_daemon().await;
    h.wait_health(|v| v["webex"]["connected"] == true).await;
    h
}

async fn audit(h: &Harness) -> Vec<Value> {
    let answer = h.client.get("/v1/audit?limit=100").await.expect("audit answers");
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_uid_off_the_list_is_refused_until_it_is_allowed() {
    if !running_as_root() {
        eprintln!("skipped: only root can run a client as another uid");
        return;
    }
    let mut h = daemon_open_to_others(vec![0], vec![]).await;
    let socket = h.config.api.socket.to_str().unwrap().to_owned();

    let (read, _) = cli_as(Some((NOBODY, NOBODY)), &["spaces", "--socket", &socket, "--json"]).await;
    let stderr = text(&read.stderr);
    assert!(!read.status.success(), "nobody was let in: {}", text(&read.stdout));
    assert!(stderr.contains("uid 65534 (gid 65534) may not use this API") && stderr.contains("403"), "{stderr}");

    let (write, refused_pid) = cli_as(Some((NOBODY, NOBODY)), &["spaces", "--socket", &socket, "--refresh"]).await;
    assert!(!write.status.success(), "nobody could refresh: {}", text(&write.stdout));

    // Root, in this process, is let in on the same daemon.
    assert_eq!(h.client.get("/v1/health").await.unwrap().status, 200);
    let (root, _) = cli_as(None, &["spaces", "--socket", &socket, "--json"]).await;
    assert!(root.status.success(), "{}", text(&root.stderr));

    let entries = audit(&h).await;
    assert_eq!(entries.len(), 1, "only the refused POST is recorded, not the GETs: {entries:#?}");
    let refused = &entries[0];
    assert_eq!((refused["method"].as_str(), refused["path"].as_str()), (Some("POST"), Some("/v1/spaces/refresh")));
    assert_eq!(refused["status"], 403);
    assert_eq!((refused["uid"].as_u64(), refused["gid"].as_u64()), (Some(65534), Some(65534)));
    assert_eq!(refused["pid"].as_u64(), Some(u64::from(refused_pid)), "the pid is the refused process's");

    h.stop_daemon().await;
    h.config.api.allowed_uids = vec![NOBODY];
    h.start_daemon().await;
    let (read, _) = cli_as(Some((NOBODY, NOBODY)), &["spaces", "--socket", &socket, "--json"]).await;
    assert!(read.status.success(), "nobody, now listed, was refused: {}", text(&read.stderr));
    let (write, pid) = cli_as(Some((NOBODY, NOBODY)), &["spaces", "--socket", &socket, "--refresh"]).await;
    assert!(write.status.success(), "{}", text(&write.stderr));
    let latest = &audit(&h).await[0];
    assert_eq!((latest["uid"].as_u64(), latest["status"].as_u64()), (Some(65534), Some(200)));
    assert_eq!(latest["pid"].as_u64(), Some(u64::from(pid)));
}

#[tokio::test]
async fn a_listed_gid_lets_its_members_in() {
    if !running_as_root() {
        eprintln!("skipped: only root can run a client as another uid");
        return;
    }
    let h = daemon_open_to_others(vec![], vec![NOBODY]).await;
    let socket = h.config.api.socket.to_str().unwrap().to_owned();
    let (member, _) = cli_as(Some((NOBODY, NOBODY)), &["spaces", "--socket", &socket, "--json"]).await;
    assert!(member.status.success(), "{}", text(&member.stderr));
    // Same uid, another primary group: refused.
    let (other, _) = cli_as(Some((NOBODY, 1)), &["spaces", "--socket", &socket, "--json"]).await;
    assert!(!other.status.success());
    assert!(text(&other.stderr).contains("uid 65534 (gid 1)"), "{}", text(&other.stderr));
}

#[tokio::test]
async fn the_socket_file_gets_the_configured_mode_and_group() {
    let mut h = Harness::start().await;
    let meta = std::fs::metadata(&h.config.api.socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o660, "the default mode");

    h.stop_daemon().await;
    h.config.api.socket_mode = "0600".into();
    // Root may give the file any group; anyone else, one of their own.
    let group = if running_as_root() { NOBODY } else { std::fs::metadata("/proc/self").unwrap().gid() };
    h.config.api.socket_group = Some(group.to_string());
    h.start_daemon().await;
    let meta = std::fs::metadata(&h.config.api.socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
    assert_eq!(meta.gid(), group);
}

#[tokio::test]
async fn mutating_requests_are_audited_and_reads_are_not() {
    let h = Harness::start().await;
    let me = std::fs::metadata("/proc/self").unwrap();
    assert_eq!(h.client.get("/v1/spaces").await.unwrap().status, 200);
    let refresh = h.client.post("/v1/spaces/refresh", &Value::Null).await.unwrap();
    let bad = h.client.post("/v1/escalations", &json!({"summary": 7})).await.unwrap();
    assert!(bad.status.is_client_error(), "{}", bad.body);
    assert_eq!(h.client.get("/v1/health").await.unwrap().status, 200);

    let entries = audit(&h).await;
    let seen: Vec<(&str, &str, u64)> = entries
        .iter()
        .map(|e| (e["method"].as_str().unwrap(), e["path"].as_str().unwrap(), e["status"].as_u64().unwrap()))
        .collect();
    let expected = [
        ("POST", "/v1/escalations", u64::from(bad.status.as_u16())),
        ("POST", "/v1/spaces/refresh", u64::from(refresh.status.as_u16())),
    ];
    assert_eq!(seen, expected, "newest first, GETs left out");
    for entry in &entries {
        assert_eq!(entry["uid"].as_u64(), Some(u64::from(me.uid())));
        assert_eq!(entry["gid"].as_u64(), Some(u64::from(me.gid())));
        assert_eq!(entry["pid"].as_u64(), Some(u64::from(std::process::id())));
        assert!(entry["at"].as_str().is_some_and(|at| at.ends_with('Z')), "{entry}");
        assert!(!entry.to_string().contains("summary"), "no request body is kept: {entry}");
    }

    let page = h.client.get("/v1/audit?limit=1").await.unwrap().body;
    let cursor = page["next_cursor"].as_i64().expect("a full page has a cursor");
    let next = h.client.get(&format!("/v1/audit?limit=1&cursor={cursor}")).await.unwrap().body;
    assert_eq!(next["items"][0]["path"], "/v1/spaces/refresh");
    assert_eq!(h.client.get("/v1/audit?limit=0").await.unwrap().status, 400);

    let socket = h.config.api.socket.to_str().unwrap().to_owned();
    let (table, _) = cli_as(None, &["audit", "--socket", &socket]).await;
    let stdout = text(&table.stdout);
    assert!(table.status.success(), "{}", text(&table.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("AT") && lines[0].contains("METHOD") && lines[0].ends_with("STATUS"), "{stdout}");
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[2].contains("POST") && lines[2].contains("/v1/spaces/refresh"), "{stdout}");
    let (json_out, _) = cli_as(None, &["audit", "--socket", &socket, "--json", "--limit", "1"]).await;
    let parsed: Value = serde_json::from_slice(&json_out.stdout).expect("--json prints JSON");
    assert_eq!(parsed["items"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_bad_socket_mode_is_a_configuration_error_naming_the_key() {
    let h = Harness::without_daemon().await;
    let config = write_config(h.dir.path(), h.simulator(), "sim-token", &[("api.socket_mode", "0986")]);
    let (output, _) = cli_as(None, &["serve", "--config", config.to_str().unwrap()]).await;
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("api.socket_mode") && stderr.contains("0986"), "{stderr}");
}
