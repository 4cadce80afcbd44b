//! The daemon as a child process (`webex-hitl serve`) for `bench --scale`, so
//! that its memory and threads, read from `/proc/PID/status`, are its own and
//! not the simulator's or the bench's, which share the bench's process.

use crate::api::health::Health;
use crate::cli::client::ApiClient;
use crate::cli::expect_ok;
use crate::sim::Simulator;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// Start-up includes the first sync of every space: generous.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// A running `webex-hitl serve`.
pub struct Daemon {
    process: Child,
    pid: u32,
    pub client: ApiClient,
    pub socket: PathBuf,
}

/// Figures of `/proc/PID/status`, in KiB and threads.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub hwm_kib: u64,
    pub rss_kib: u64,
    /// Of VmRSS: heap and stacks, and the executable's pages (shared with the bench).
    pub anon_kib: u64,
    pub file_kib: u64,
    pub threads: u64,
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = |kib: u64| kib as f64 / 1024.0;
        write!(
            f,
            "VmHWM {:.1} MiB, VmRSS {:.1} MiB (RssAnon {:.1}, RssFile {:.1}), {} threads",
            mib(self.hwm_kib),
            mib(self.rss_kib),
            mib(self.anon_kib),
            mib(self.file_kib),
            self.threads
        )
    }
}

impl Daemon {
    /// Starts the daemon on the store in `dir` against `simulator`; returns once
    /// it is connected to Mercury and knows the space `last_space` (the start-up
    /// sync applies the whole list at once: then it knows every space).
    pub async fn start(simulator: &Simulator, dir: &Path, last_space: &str) -> anyhow::Result<Daemon> {
        let config = write_config(simulator, dir)?;
        let exe = std::env::current_exe().context("finding this executable")?;
        let process = Command::new(exe)
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting webex-hitl serve")?;
        let pid = process.id().context("the daemon exited at once")?;
        let socket = dir.join("webex-hitl.sock");
        let daemon = Daemon { process, pid, client: ApiClient::new(&socket), socket };
        daemon.wait_ready(last_space).await?;
        Ok(daemon)
    }

    async fn wait_ready(&self, last_space: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let space = format!("/v1/spaces/{last_space}");
        loop {
            if let Ok(answer) = self.client.get("/v1/health").await {
                let health: Health = expect_ok(answer)?;
                let known = self.client.get(&space).await.is_ok_and(|a| a.status.is_success());
                if health.webex.connected && known {
                    return Ok(());
                }
            }
            anyhow::ensure!(Instant::now() < deadline, "the daemon was not ready within {START_TIMEOUT:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn memory(&self) -> anyhow::Result<Memory> {
        memory_of(&format!("/proc/{}/status", self.pid))
    }

    /// SIGTERM, so that the store closes as in production, then waits.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let pid = libc::pid_t::try_from(self.pid)?;
        // SAFETY: kill(2) with a pid this process spawned and has not reaped yet.
        if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
            self.process.kill().await?;
        }
        let status = tokio::time::timeout(Duration::from_secs(30), self.process.wait()).await??;
        anyhow::ensure!(status.success(), "the daemon ended with {status}");
        Ok(())
    }
}

/// The store file of the daemon started in `dir`.
pub fn store_path(dir: &Path) -> PathBuf {
    dir.join("webex-hitl.db")
}

/// This process's own figures (the simulator and the bench).
pub fn own_memory() -> anyhow::Result<Memory> {
    memory_of("/proc/self/status")
}

fn memory_of(path: &str) -> anyhow::Result<Memory> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .with_context(|| format!("{path} has no {name}"))
    };
    Ok(Memory {
        hwm_kib: field("VmHWM:")?,
        rss_kib: field("VmRSS:")?,
        anon_kib: field("RssAnon:")?,
        file_kib: field("RssFile:")?,
        threads: field("Threads:")?,
    })
}

/// The scratch configuration, as a file for `serve --config`.
fn write_config(simulator: &Simulator, dir: &Path) -> anyhow::Result<PathBuf> {
    let token_file = dir.join("token");
    std::fs::write(&token_file, "sim-token")?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600))?;
    }
    let toml = format!(
        "[webex]\ntoken_file = {:?}\napi_url = {:?}\nu2c_url = {:?}\n[api]\nsocket = {:?}\n[store]\npath = {:?}\n[log]\nlevel = \"error\"\n",
        token_file,
        simulator.api_url(),
        simulator.u2c_url(),
        dir.join("webex-hitl.sock"),
        store_path(dir),
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, toml)?;
    Ok(path)
}
