//! Which build is running: `--version`, `GET /v1/version` and the
//! `webex_hitl_build_info` gauge name the same version and commit, the commit
//! the checkout is at; and the Debian changelog's newest entry is this version.

use crate::common::{binary, Harness};
use serde_json::json;
use std::path::Path;
use std::process::Command;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `webex-hitl --version` → (version, commit), from `webex-hitl 0.1.0 (commit 1a2b3c4)`.
fn version_flag() -> (String, String) {
    let out = Command::new(binary()).arg("--version").output().expect("the binary runs");
    assert!(out.status.success(), "--version exits 0: {out:?}");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let parsed = text
        .trim_end()
        .strip_prefix("webex-hitl ")
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|rest| rest.split_once(" (commit "));
    let (version, commit) = parsed.unwrap_or_else(|| panic!("not `webex-hitl V (commit C)`: {text:?}"));
    (version.to_owned(), commit.to_owned())
}

/// The checkout's short HEAD, when this crate is a git work tree with git at hand.
fn checkout_head() -> Option<String> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let git = |args: &[&str]| {
        let out = Command::new("git").args(args).current_dir(here).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let top = git(&["rev-parse", "--show-toplevel"])?;
    (Path::new(&top).canonicalize().ok()? == here.canonicalize().ok()?)
        .then(|| git(&["rev-parse", "--short", "HEAD"]))?
}

#[tokio::test]
async fn the_flag_the_endpoint_and_the_metric_name_the_same_build() {
    let (version, commit) = version_flag();
    assert_eq!(version, VERSION, "--version names the crate's version");
    match checkout_head() {
        Some(head) if std::env::var_os("WEBEX_HITL_COMMIT").is_none() => {
            assert_eq!(commit, head, "--version names the commit checked out")
        }
        _ => eprintln!("not a git checkout (or WEBEX_HITL_COMMIT given): the commit is {commit:?}, not compared"),
    }

    let h = Harness::start().await;
    let answer = h.client.get("/v1/version").await.expect("/v1/version answers");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, json!({"version": version, "commit": commit}));
    let series = format!("webex_hitl_build_info{{version=\"{version}\",commit=\"{commit}\"}}");
    assert_eq!(h.metric(&series).await, Some(1.0), "{series} 1 in /metrics");
}

#[test]
fn the_debian_changelog_starts_with_this_version() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("debian/changelog");
    let text = std::fs::read_to_string(&path).expect("debian/changelog exists");
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("webex-hitl ({VERSION}-")),
        "the newest entry of {} is `{first}`: add one for {VERSION} (the package's version comes from Cargo.toml)",
        path.display()
    );
}
