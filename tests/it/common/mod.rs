//! Shared test scaffolding: a simulator and a daemon in this process, with
//! timings shrunk so that heartbeats and backoff take milliseconds, talking only
//! over loopback and a Unix socket in a scratch directory.

pub mod client;
pub mod contract;
pub mod pg;
pub mod proxy;

pub use client::Client;
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use webex_hitl::config::Config;
use webex_hitl::daemon::{self, DaemonError};
use webex_hitl::sim::{SimHandle, SimOptions, Simulator};

/// How long a test waits for something that should happen, unless it says otherwise.
pub const WAIT: Duration = Duration::from_secs(10);

/// How often [`eventually`] looks again.
const POLL: Duration = Duration::from_millis(20);

/// Polls `probe` until it returns `Ok`, for at most [`WAIT`]; see [`eventually_within`].
pub async fn eventually<T, Fut>(what: &str, probe: impl FnMut() -> Fut) -> T
where
    Fut: Future<Output = Result<T, String>>,
{
    eventually_within(WAIT, what, probe).await
}

/// Polls `probe` every 20 ms until it returns `Ok`, and returns what that
/// carries. An `Err` says what the probe saw instead; when `within` has passed,
/// the test fails naming `what` and the last thing seen.
pub async fn eventually_within<T, Fut>(within: Duration, what: &str, mut probe: impl FnMut() -> Fut) -> T
where
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(seen) if tokio::time::Instant::now() >= deadline => {
                panic!("{what}: not within {within:?}; last seen:\n{seen}")
            }
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

pub struct Harness {
    pub simulator: Option<Simulator>,
    pub sim: SimHandle,
    pub dir: tempfile::TempDir,
    pub config: Config,
    pub client: Client,
    daemon: Option<(CancellationToken, JoinHandle<Result<(), DaemonError>>)>,
}

impl Harness {
    /// A simulator, and a daemon connected to it.
    pub async fn start() -> Self {
        let mut harness = Self::without_daemon().await;
        harness.start_daemon().await;
        harness.wait_health(|h| h["webex"]["connected"] == true).await;
        harness
    }

    pub async fn without_daemon() -> Self {
        let simulator = Simulator::start(SimOptions::default()).await.expect("simulator starts");
        let dir = tempfile::tempdir().expect("scratch dir");
        let config = test_config(&simulator, dir.path(), "sim-token");
        let client = Client::new(&config.api.socket);
        Self { sim: simulator.handle(), simulator: Some(simulator), dir, config, client, daemon: None }
    }

    pub fn simulator(&self) -> &Simulator {
        self.simulator.as_ref().expect("simulator running")
    }

    pub async fn start_daemon(&mut self) {
        let shutdown = CancellationToken::new();
        let running = daemon::start(self.config.clone(), shutdown.clone()).await.expect("daemon starts");
        self.daemon = Some((shutdown, tokio::spawn(running.wait())));
    }

    /// Starts the daemon without waiting for it to validate its token (Webex may
    /// be unreachable on purpose); returns once its socket answers.
    pub async fn start_daemon_in_background(&mut self) {
        let shutdown = CancellationToken::new();
        let (config, token) = (self.config.clone(), shutdown.clone());
        self.daemon = Some((shutdown, tokio::spawn(daemon::run(config, token))));
        self.wait_until_serving().await;
    }

    /// Waits until a daemon (in this process or another) answers on the socket.
    pub async fn wait_until_serving(&self) {
        eventually("the daemon's socket answers", || async move {
            self.client.get("/v1/health").await.map(drop).map_err(|e| e.to_string())
        })
        .await
    }

    pub async fn stop_daemon(&mut self) {
        let (shutdown, task) = self.daemon.take().expect("daemon running");
        shutdown.cancel();
        task.await.expect("daemon task").expect("daemon stops cleanly");
    }

    /// Stops the simulator and starts a new one on the same port, with the same
    /// world (`keep_world`) or a fresh one.
    pub async fn restart_simulator(&mut self, keep_world: bool) {
        let simulator = self.simulator.take().expect("simulator running");
        let listen = simulator.addr();
        let state = simulator.stop().await;
        let options = SimOptions { listen, state: keep_world.then_some(state), ..SimOptions::default() };
        let simulator = Simulator::start(options).await.expect("simulator restarts on the same port");
        self.sim = simulator.handle();
        self.simulator = Some(simulator);
    }

    pub async fn health(&self) -> Value {
        self.client.get("/v1/health").await.expect("health answers").body
    }

    /// Polls `/v1/health` until `ready` holds; panics with the last answer after [`WAIT`].
    pub async fn wait_health(&self, ready: impl Fn(&Value) -> bool) -> Value {
        let ready = &ready;
        eventually("the health condition holds", || async move {
            let health = self.health().await;
            if ready(&health) {
                Ok(health)
            } else {
                Err(format!("{health:#}"))
            }
        })
        .await
    }

    pub async fn handled(&self) -> u64 {
        self.health().await["events"]["handled"].as_u64().unwrap_or(0)
    }

    pub async fn reconnects(&self) -> u64 {
        self.health().await["webex"]["reconnects"].as_u64().unwrap_or(0)
    }

    /// Waits until the daemon owes Webex nothing (`webex_hitl_outbox_jobs 0`):
    /// every card, card update and reply it accepted was sent or given up on.
    pub async fn wait_outbox_empty(&self) {
        eventually("the outbox is empty", || async {
            let jobs = self.metric("webex_hitl_outbox_jobs").await;
            if jobs == Some(0.0) {
                Ok(())
            } else {
                Err(format!("outbox jobs: {jobs:?}"))
            }
        })
        .await
    }

    /// The value of one series in `GET /metrics`, e.g. `webex_hitl_outbox_jobs`.
    /// Waits until the card in message `message_id` (its JSON, as text) satisfies `check`.
    pub async fn card_matching(&self, message_id: &str, check: impl Fn(&str) -> bool) -> String {
        let check = &check;
        eventually(&format!("card {message_id} matches"), || async move {
            let text = self.sim.message(message_id).and_then(|m| m.card).map(|c| c.to_string()).unwrap_or_default();
            if check(&text) {
                Ok(text)
            } else {
                Err(text)
            }
        })
        .await
    }

    pub async fn metric(&self, series: &str) -> Option<f64> {
        let (status, body) = self.client.raw(hyper::Method::GET, "/metrics", None).await.expect("metrics answer");
        assert_eq!(status, 200);
        sample(std::str::from_utf8(&body).expect("metrics are text"), series)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some((shutdown, _)) = &self.daemon {
            shutdown.cancel();
        }
    }
}

/// The value of the sample written exactly as `series` (name plus labels) in
/// Prometheus text.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// A configuration pointing at the simulator, with test-speed timings; `token`
/// is in `dir/token`.
pub fn test_config(simulator: &Simulator, dir: &Path, token: &str) -> Config {
    std::fs::write(dir.join("token"), token).unwrap();
    Config::from_toml(&config_text(simulator, dir, &[])).expect("test config is valid")
}

/// Writes `token` to `dir/token` and the settings of [`test_config`] to
/// `dir/config.toml`, with each `("table.key", value)` of `overrides` set to the
/// string `value`; returns the config file's path, for `serve --config` and the
/// like. A daemon started from it shares the harness's socket and store.
pub fn write_config(dir: &Path, simulator: &Simulator, token: &str, overrides: &[(&str, &str)]) -> PathBuf {
    std::fs::write(dir.join("token"), token).unwrap();
    let path = dir.join("config.toml");
    std::fs::write(&path, config_text(simulator, dir, overrides)).unwrap();
    path
}

/// The TOML of [`test_config`]: the simulator's URLs, heartbeats and backoff in
/// milliseconds, the token file, socket and store in `dir`; then `overrides`.
fn config_text(simulator: &Simulator, dir: &Path, overrides: &[(&str, &str)]) -> String {
    let path = |name: &str| toml_string(dir.join(name).to_str().expect("a UTF-8 scratch dir"));
    let number = |n: &str| n.to_owned();
    let mut tables = BTreeMap::from([
        (
            "webex",
            BTreeMap::from([
                ("token_file", path("token")),
                ("api_url", toml_string(&simulator.api_url())),
                ("u2c_url", toml_string(&simulator.u2c_url())),
                ("ping_interval_s", number("0.3")),
                ("pong_timeout_s", number("0.5")),
                ("ready_timeout_s", number("2.0")),
                ("backoff_base_s", number("0.05")),
                ("backoff_cap_s", number("0.4")),
            ]),
        ),
        ("api", BTreeMap::from([("socket", path("api.sock"))])),
        ("store", BTreeMap::from([("path", path("store.db"))])),
        ("escalations", BTreeMap::from([("min_timeout_s", number("1"))])),
        ("log", BTreeMap::from([("level", toml_string("warn"))])),
    ]);
    for (name, value) in overrides {
        let (table, key) = name.split_once('.').unwrap_or_else(|| panic!("override {name:?} is not `table.key`"));
        tables.entry(table).or_default().insert(key, toml_string(value));
    }
    tables
        .iter()
        .map(|(table, entries)| {
            let lines: String = entries.iter().map(|(key, value)| format!("{key} = {value}\n")).collect();
            format!("[{table}]\n{lines}")
        })
        .collect()
}

/// A TOML basic string: for the paths, URLs and words written here, Rust's
/// `Debug` quotes and escapes (`"`, `\`) as TOML does.
fn toml_string(text: &str) -> String {
    format!("{text:?}")
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_webex-hitl"))
}

/// `webex-hitl serve --config FILE` as a child process, with no token from the
/// environment (the config names the token file), killed when dropped.
pub fn serve_command(config: &Path) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(binary());
    command
        .args(["serve", "--config", config.to_str().expect("utf-8 path")])
        .env_remove("WEBEX_HITL_TOKEN")
        .kill_on_drop(true);
    command
}
