//! The Python client's own suite (`clients/python/tests`, unittest) against the
//! binary cargo built: the client, and the example engine restarted in the
//! middle of a wait. Part of `cargo test`, so one command runs every test; it
//! skips loudly (and passes) where python3 or httpx is missing (`.ci/run`
//! installs httpx).

use std::path::Path;
use std::process::Command;

#[test]
fn the_python_client_suite_passes_against_the_daemon() {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let ready = Command::new(&python).args(["-c", "import httpx"]).output();
    if !ready.as_ref().is_ok_and(|out| out.status.success()) {
        eprintln!("!!! SKIPPED: {python} with httpx is not available, so the Python client's tests did NOT run.");
        eprintln!("!!! `python3 -m pip install httpx==0.28.1` (as .ci/run does) to run them.");
        return;
    }
    let client = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/python");
    let output = Command::new(&python)
        .args(["-m", "unittest", "discover", "-v", "-s"])
        .arg(client.join("tests"))
        .env("PYTHONPATH", &client)
        .env("WEBEX_HITL_BIN", env!("CARGO_BIN_EXE_webex-hitl"))
        .env_remove("WEBEX_HITL_TOKEN")
        .output()
        .expect("python3 runs");
    let report = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the Python client's tests failed:\n{report}");
    let ran = report.lines().rev().find(|l| l.starts_with("Ran ")).unwrap_or_default().to_owned();
    assert!(ran.starts_with("Ran ") && !ran.starts_with("Ran 0 "), "no Python test ran:\n{report}");
    eprintln!("python client: {ran}");
}
