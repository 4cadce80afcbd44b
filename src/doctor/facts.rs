//! What `doctor` found out, before any judgement. `None` means "not checked"
//! (an earlier step it depends on failed).

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub now: DateTime<Utc>,
    /// The loaded configuration, or why it did not load.
    pub config: Option<Result<Setup, String>>,
    /// Where the token came from, or why none was found.
    pub token: Option<Result<String, String>>,
    /// The CA bundle could be read (only checked when `webex.ca_file` is set).
    pub ca: Option<Result<(), String>>,
    /// `GET /people/me` with the configured token, or (when this process cannot
    /// read the token) the running daemon's word on its own.
    pub me: Option<Result<Bot, WebexFailure>>,
    /// `me` is the daemon's word, not a check made here.
    pub me_from_daemon: bool,
    /// `GET /v1/health` on the daemon's socket.
    pub daemon: Option<Result<Daemon, String>>,
    /// Spaces the bot is in, and where that number came from.
    pub spaces: Option<Result<Counted, String>>,
    /// Our device registrations at WDM.
    pub devices: Option<Result<usize, String>>,
    /// The `--space` asked about.
    pub space: Option<SpaceProbe>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    pub source: String,
    pub socket: String,
    pub api_url: String,
    /// The proxy REST and the websocket go through (credentials redacted).
    pub proxy: Option<String>,
    pub ca_file: Option<String>,
    pub device_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bot {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebexFailure {
    /// 401: the token is wrong, revoked or regenerated.
    #[error("Webex rejected the bot token ({0}): invalid, revoked, expired or regenerated")]
    Rejected(String),
    /// No answer: network, proxy, firewall, TLS. Says nothing about the token.
    #[error("cannot reach Webex to check the token: {0}")]
    Unreachable(String),
    #[error("GET /people/me failed: {0}")]
    Other(String),
}

impl WebexFailure {
    /// `EX_CONFIG` for a rejected token, as `serve` exits; 1 for the rest.
    pub fn exit_code(&self) -> i32 {
        match self {
            WebexFailure::Rejected(_) => crate::config::EXIT_CONFIG,
            _ => 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daemon {
    pub socket: String,
    pub connected: bool,
    pub since: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
    pub reconnects: u64,
    pub last_error: Option<String>,
    pub bot: Option<Bot>,
    /// Since when Webex rejects the daemon's token, and what it said.
    pub token_rejected: Option<(DateTime<Utc>, String)>,
    /// When another connection last took over the daemon's device.
    pub replaced_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    pub count: usize,
    /// "the daemon's cache" or "Webex".
    pub from: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpaceProbe {
    Member {
        id: String,
        title: String,
    },
    /// The bot was in it once and was removed.
    Removed {
        id: String,
        title: String,
    },
    /// Neither the daemon nor Webex knows it as one of the bot's spaces.
    Unknown {
        id: String,
    },
    Error {
        id: String,
        message: String,
    },
}
