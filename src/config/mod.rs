//! Configuration: a TOML file, overridden by `WEBEX_HITL__SECTION__KEY`
//! environment variables, validated once at start.
//!
//! Every mistake is reported as one [`ConfigError`] naming the key, and the
//! process exits with `EX_CONFIG` (78) so systemd does not restart it in a loop.
//! The bot token is never required in the file: it comes from `WEBEX_HITL_TOKEN`,
//! `webex.token_file`, or systemd's `$CREDENTIALS_DIRECTORY/webex-token`.

use crate::backoff::Backoff;
use crate::model::PolicyRequest;
use crate::secret::Secret;
use crate::webex::mercury::machine::Timing;
use crate::webex::rest::DEFAULT_API_URL;
use crate::webex::wdm::{DEFAULT_DEVICE_NAME, DEFAULT_U2C_URL};
use reqwest::Url;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `EX_CONFIG` from sysexits.h: the configuration is wrong; restarting won't help.
pub const EXIT_CONFIG: i32 = 78;

/// The shortest `timeout_s` an engine may ask for, unless `escalations.min_timeout_s` says otherwise.
pub const DEFAULT_MIN_TIMEOUT_S: u64 = 30;
/// Where the packaged unit reads its configuration (`serve --config`), and so
/// where the operator tools (`doctor`, `token rotate`) look without `--config`.
pub const SYSTEM_CONFIG: &str = "/etc/webex-hitl/config.toml";
/// The file the packaged unit loads as the `webex-token` credential.
pub const SYSTEM_TOKEN_FILE: &str = "/etc/webex-hitl/token";
const ENV_PREFIX: &str = "WEBEX_HITL";
const TOKEN_ENV: &str = "WEBEX_HITL_TOKEN";
const CREDENTIAL_NAME: &str = "webex-token";

#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { key: key.into(), message: message.into() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub webex: WebexConfig,
    #[serde(default)]
    pub api: ApiConfig,
    #[serde(default)]
    pub store: StoreConfig,
    #[serde(default)]
    pub spaces: SpacesConfig,
    #[serde(default)]
    pub escalations: EscalationsConfig,
    #[serde(default)]
    pub log: LogConfig,
    #[serde(default)]
    pub metrics: MetricsConfig,
}

/// `/metrics` is always on the API socket; stock Prometheus cannot scrape a
/// Unix socket, so it can also be served on TCP (that path alone, nothing else).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// e.g. "127.0.0.1:9464"; unset (the default): no TCP listener.
    pub listen: Option<std::net::SocketAddr>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebexConfig {
    pub token_file: Option<PathBuf>,
    pub api_url: String,
    pub u2c_url: String,
    /// Skips U2C discovery when set.
    pub wdm_url: Option<String>,
    /// `http://[user:pass@]host:port`; unset means `HTTPS_PROXY`/`NO_PROXY` decide.
    pub proxy: Option<String>,
    /// Extra PEM certificates to trust (a TLS-inspecting proxy's CA).
    pub ca_file: Option<PathBuf>,
    pub device_name: String,
    pub ping_interval_s: f64,
    pub pong_timeout_s: f64,
    pub ready_timeout_s: f64,
    pub backoff_base_s: f64,
    pub backoff_cap_s: f64,
    /// One Webex request and its answer, at most (retries are timed apart).
    pub request_timeout_s: f64,
    /// How long Webex keeps unacked events for a device (about 15 minutes):
    /// after a longer outage, answers given meanwhile may be lost, and the
    /// specialists of live cards are asked to press again.
    pub replay_window_s: f64,
}

impl Default for WebexConfig {
    fn default() -> Self {
        Self {
            token_file: None,
            api_url: DEFAULT_API_URL.into(),
            u2c_url: DEFAULT_U2C_URL.into(),
            wdm_url: None,
            proxy: None,
            ca_file: None,
            device_name: DEFAULT_DEVICE_NAME.into(),
            ping_interval_s: 15.0,
            pong_timeout_s: 14.0,
            ready_timeout_s: 20.0,
            backoff_base_s: 1.0,
            backoff_cap_s: 32.0,
            request_timeout_s: 30.0,
            replay_window_s: 900.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    pub socket: PathBuf,
    /// Octal text, e.g. "0660": who may open the socket file.
    pub socket_mode: String,
    /// A group name or numeric gid to give the socket file; unset keeps the daemon's.
    pub socket_group: Option<String>,
    /// Peer uids (`SO_PEERCRED`) allowed to call the API; root and the daemon's own
    /// uid always are. Both lists empty: the file permissions alone decide.
    pub allowed_uids: Vec<u32>,
    /// Peer primary gids allowed to call the API.
    pub allowed_gids: Vec<u32>,
    /// Connections the API keeps open at most (fewer if the descriptor limit
    /// is low); at the cap, a connection idle or slow to send its request gives way.
    pub max_connections: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            socket: systemd_dir("RUNTIME_DIRECTORY", "/run/webex-hitl").join("webex-hitl.sock"),
            socket_mode: "0660".into(),
            socket_group: None,
            allowed_uids: Vec::new(),
            allowed_gids: Vec::new(),
            max_connections: 512,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpacesConfig {
    /// Full resync of the spaces cache from `GET /rooms` this often.
    pub resync_interval_s: f64,
}

impl Default for SpacesConfig {
    fn default() -> Self {
        Self { resync_interval_s: 600.0 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EscalationsConfig {
    /// Whether an answered card shows the answer itself, or only who answered and when.
    pub show_answer_on_card: bool,
    /// The shortest `timeout_s` an engine may ask for.
    pub min_timeout_s: u64,
    /// The preset an escalation without a `policy` runs under; none: no reminders, it expires.
    pub default_policy: Option<String>,
    /// Whether `on_deadline: {"default": …}` may answer an escalation automatically.
    /// Off by default: the daemon cannot tell a default that approves something
    /// (a refund, a withdrawal) from a harmless one, so the operator decides.
    pub automatic_answers: bool,
    /// Named policies (`[escalations.policies.standard]`) a request can name.
    pub policies: BTreeMap<String, PolicyRequest>,
}

impl Default for EscalationsConfig {
    fn default() -> Self {
        Self {
            show_answer_on_card: true,
            min_timeout_s: DEFAULT_MIN_TIMEOUT_S,
            default_policy: None,
            automatic_answers: false,
            policies: BTreeMap::new(),
        }
    }
}

impl EscalationsConfig {
    /// Presets are held to the request's rules here, so a bad one stops the
    /// start (naming its key) instead of refusing every escalation that names it.
    fn check_policies(&self) -> Result<(), ConfigError> {
        for (name, preset) in &self.policies {
            preset
                .validate()
                .map_err(|e| ConfigError::new(format!("escalations.policies.{name}.{}", e.field), e.message))?;
        }
        match &self.default_policy {
            Some(name) if !self.policies.contains_key(name) => Err(ConfigError::new(
                "escalations.default_policy",
                format!("no preset {name:?} in [escalations.policies] (presets: {})", self.preset_names()),
            )),
            _ => Ok(()),
        }
    }

    pub fn preset_names(&self) -> String {
        if self.policies.is_empty() {
            return "none".into();
        }
        self.policies.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter: `info`, `debug`, `webex_hitl=debug,info`, ...
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { level: "info".into(), format: LogFormat::Text }
    }
}

// Durations are written as seconds (or days) in the file; each is turned into a
// `Duration` here, once, after `validate` checked its range.

impl WebexConfig {
    /// The Mercury heartbeat and readiness timings.
    pub fn timing(&self) -> Timing {
        Timing {
            ping_interval: Duration::from_secs_f64(self.ping_interval_s),
            pong_timeout: Duration::from_secs_f64(self.pong_timeout_s),
            ready_timeout: Duration::from_secs_f64(self.ready_timeout_s),
        }
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.request_timeout_s)
    }

    pub fn replay_window(&self) -> Duration {
        Duration::from_secs_f64(self.replay_window_s)
    }

    /// The pace of Mercury reconnects.
    pub fn reconnect_backoff(&self) -> Backoff {
        Backoff::new(Duration::from_secs_f64(self.backoff_base_s), Duration::from_secs_f64(self.backoff_cap_s))
    }
}

impl SpacesConfig {
    pub fn resync_interval(&self) -> Duration {
        Duration::from_secs_f64(self.resync_interval_s)
    }
}

/// systemd hands `StateDirectory=`/`RuntimeDirectory=` over in these variables
/// (possibly several, colon-separated: the first is ours).
fn systemd_dir(var: &str, fallback: &str) -> PathBuf {
    std::env::var(var)
        .ok()
        .and_then(|v| v.split(':').next().filter(|s| !s.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(fallback))
}

impl Config {
    /// Loads the file (if given) and the environment, then validates.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(file) = file {
            if !file.exists() {
                return Err(ConfigError::new("--config", format!("{} does not exist", file.display())));
            }
            builder = builder.add_source(config::File::from(file).format(config::FileFormat::Toml));
        }
        builder = builder.add_source(
            config::Environment::with_prefix(ENV_PREFIX).prefix_separator("__").separator("__").try_parsing(true),
        );
        let raw = builder.build().map_err(from_config_crate)?;
        let config: Config = raw.try_deserialize().map_err(from_config_crate)?;
        let config = config.resolved();
        config.validate()?;
        Ok(config)
    }

    /// Defaults that depend on other settings: on a shared store, each
    /// instance needs a device of its own (a shared device would evict each
    /// other's socket), so the default device name names the host.
    fn resolved(mut self) -> Self {
        if self.store.backend == StoreBackend::Postgres && self.webex.device_name == DEFAULT_DEVICE_NAME {
            self.webex.device_name = format!("{DEFAULT_DEVICE_NAME}@{}", store::host_name());
        }
        self
    }

    /// The file an operator tool reads: `given`, else [`SYSTEM_CONFIG`] when it
    /// exists (a packaged install), else none (defaults and environment).
    pub fn operator_file(given: Option<&Path>) -> Option<PathBuf> {
        given.map(Path::to_owned).or_else(|| Some(PathBuf::from(SYSTEM_CONFIG)).filter(|p| p.exists()))
    }

    /// Parses TOML text alone (no environment), for tests and `config check`.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let raw = config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .build()
            .map_err(from_config_crate)?;
        let config: Config = raw.try_deserialize().map_err(from_config_crate)?;
        let config = config.resolved();
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let webex = &self.webex;
        check_url("webex.api_url", &webex.api_url)?;
        check_url("webex.u2c_url", &webex.u2c_url)?;
        if let Some(wdm) = &webex.wdm_url {
            check_url("webex.wdm_url", wdm)?;
        }
        if let Some(proxy) = &webex.proxy {
            check_url("webex.proxy", proxy)?;
        }
        if let Some(ca) = &webex.ca_file {
            if !ca.is_file() {
                return Err(ConfigError::new("webex.ca_file", format!("{} is not a readable file", ca.display())));
            }
        }
        if webex.device_name.trim().is_empty() {
            return Err(ConfigError::new("webex.device_name", "must not be empty"));
        }
        for (key, value) in [
            ("webex.ping_interval_s", webex.ping_interval_s),
            ("webex.pong_timeout_s", webex.pong_timeout_s),
            ("webex.ready_timeout_s", webex.ready_timeout_s),
            ("webex.backoff_base_s", webex.backoff_base_s),
            ("webex.backoff_cap_s", webex.backoff_cap_s),
            ("webex.request_timeout_s", webex.request_timeout_s),
            ("webex.replay_window_s", webex.replay_window_s),
        ] {
            if !(value.is_finite() && value > 0.0 && value <= 3600.0) {
                return Err(ConfigError::new(key, format!("must be a number of seconds in (0, 3600], got {value}")));
            }
        }
        if self.api.socket.as_os_str().is_empty() {
            return Err(ConfigError::new("api.socket", "must not be empty"));
        }
        self.api.mode()?;
        if !(1..=100_000).contains(&self.api.max_connections) {
            return Err(ConfigError::new("api.max_connections", "must be 1..=100000"));
        }
        self.api.group_id()?;
        self.store.check()?;
        if !(self.spaces.resync_interval_s.is_finite()
            && self.spaces.resync_interval_s >= 1.0
            && self.spaces.resync_interval_s <= 86_400.0)
        {
            return Err(ConfigError::new("spaces.resync_interval_s", "must be a number of seconds in [1, 86400]"));
        }
        if !(1..=3600).contains(&self.escalations.min_timeout_s) {
            return Err(ConfigError::new("escalations.min_timeout_s", "must be 1..=3600 seconds"));
        }
        self.escalations.check_policies()?;
        level::check(&self.log.level).map_err(|e| ConfigError::new("log.level", e))
    }

    /// The bot token and where it came from: `WEBEX_HITL_TOKEN`, else
    /// `webex.token_file`, else the systemd credential `webex-token`.
    pub fn load_token(&self) -> Result<(Secret, TokenSource), ConfigError> {
        if let Ok(token) = std::env::var(TOKEN_ENV) {
            return Ok((non_empty(TOKEN_ENV, token)?, TokenSource::Environment));
        }
        if let Some(path) = &self.webex.token_file {
            return Ok((read_token_file("webex.token_file", path)?, TokenSource::File(path.clone())));
        }
        if let Ok(dir) = std::env::var("CREDENTIALS_DIRECTORY") {
            let path = Path::new(&dir).join(CREDENTIAL_NAME);
            if path.exists() {
                let token = read_token_file("$CREDENTIALS_DIRECTORY/webex-token", &path)?;
                return Ok((token, TokenSource::Credential(path)));
            }
        }
        Err(ConfigError::new(
            "webex.token_file",
            format!("no bot token: set {TOKEN_ENV}, webex.token_file, or a systemd credential named {CREDENTIAL_NAME}"),
        ))
    }
}

/// Where [`Config::load_token`] found the token (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Environment,
    File(PathBuf),
    Credential(PathBuf),
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Environment => write!(f, "from {TOKEN_ENV}"),
            TokenSource::File(path) => write!(f, "from webex.token_file {}", path.display()),
            TokenSource::Credential(_) => write!(f, "from the systemd credential {CREDENTIAL_NAME}"),
        }
    }
}

fn read_token_file(key: &str, path: &Path) -> Result<Secret, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(key, format!("cannot read {}: {e}", path.display())))?;
    warn_if_readable_by_others(path);
    non_empty(key, text)
}

fn non_empty(key: &str, token: String) -> Result<Secret, ConfigError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(ConfigError::new(key, "the bot token is empty"));
    }
    Ok(Secret::new(token))
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o004 != 0 {
            tracing::warn!(path = %path.display(), "the token file is readable by every user: chmod 600 it");
        }
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// URLs may carry credentials (`webex.proxy`): messages show them redacted.
fn check_url(key: &str, value: &str) -> Result<(), ConfigError> {
    let shown = crate::webex::proxy::redact(value);
    let url = Url::parse(value).map_err(|e| ConfigError::new(key, format!("{shown:?} is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::new(key, format!("{shown:?} must be an http or https URL")));
    }
    Ok(())
}

/// The `config` crate names the key in its messages ("... for key `webex.api_url`");
/// surface it as ours.
fn from_config_crate(error: config::ConfigError) -> ConfigError {
    let text = error.to_string();
    let key = text
        .split("key `")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .or_else(|| text.split("unknown field `").nth(1).and_then(|rest| rest.split('`').next()))
        .unwrap_or("config")
        .to_owned();
    ConfigError { key, message: text }
}

mod level;
mod store;
pub use store::{StoreBackend, StoreConfig};
mod socket;
#[cfg(test)]
mod tests;
