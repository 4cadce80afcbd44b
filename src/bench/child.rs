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

/// How the daemon is seen to be idle: its CPU time, read this often, grows by at
/// most `IDLE_TICKS` clock ticks (10 ms each) in each of `IDLE_WINDOWS` windows in a row.
const IDLE_WINDOW: Duration = Duration::from_millis(100);
const IDLE_WINDOWS: u32 = 3;
const IDLE_TICKS: u64 = 1;

/// A running `webex-hitl serve`.
pub struct Daemon {
    process: Child,
    pid: u32,
    pub client: ApiClient,
    pub socket: PathBuf,
    /// From ready to idle: how long its start-up chores ran on.
    pub idle_after: Duration,
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
        let mut daemon = Daemon { process, pid, client: ApiClient::new(&socket), socket, idle_after: Duration::ZERO };
        daemon.wait_ready(last_space).await?;
        daemon.idle_after = daemon.wait_idle().await?;
        Ok(daemon)
    }

    /// Ready is not idle: a restarted daemon answers for the spaces it stored
    /// before while its start-up sync of every space still runs. A measurement
    /// started then would time that sync, not the store, so it waits for the
    /// start-up chores to end: the daemon's CPU time stops growing.
    async fn wait_idle(&self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let stat = format!("/proc/{}/stat", self.pid);
        let ticks = || -> anyhow::Result<u64> {
            let text = std::fs::read_to_string(&stat).with_context(|| format!("reading {stat}"))?;
            cpu_ticks(&text).with_context(|| format!("{stat} has no utime and stime"))
        };
        let (mut last, mut quiet) = (ticks()?, 0);
        while quiet < IDLE_WINDOWS {
            anyhow::ensure!(started.elapsed() < START_TIMEOUT, "the daemon was not idle within {START_TIMEOUT:?}");
            tokio::time::sleep(IDLE_WINDOW).await;
            let now = ticks()?;
            quiet = if now - last <= IDLE_TICKS { quiet + 1 } else { 0 };
            last = now;
        }
        Ok(started.elapsed().saturating_sub(IDLE_WINDOW * IDLE_WINDOWS))
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

/// A process's CPU time (user + system, in clock ticks) from its `/proc/PID/stat`:
/// the 14th and 15th fields, counted after the command name, which is in
/// parentheses and may itself hold spaces and parentheses.
fn cpu_ticks(stat: &str) -> Option<u64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    // After the name: state (field 3) first, so utime (14) is the 12th here.
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
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

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_ticks_are_read_after_a_name_with_spaces_and_parentheses() {
        let stat = "4242 (web ex) (x)) S 1 4242 4242 0 -1 4194560 1200 0 3 0 57 31 0 0 20 0 6 0 100 1000 200";
        assert_eq!(super::cpu_ticks(stat), Some(57 + 31));
        assert_eq!(super::cpu_ticks("4242 (short) S 1 2"), None);
        assert_eq!(super::cpu_ticks("no name at all"), None);
    }
}
