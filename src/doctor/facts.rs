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
    /// `GET /people/me` with the configured token.
    pub me: Option<Result<Bot, WebexFailure>>,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebexFailure {
    /// 401: the token is wrong, revoked or regenerated.
    Rejected(String),
    /// No answer: network, proxy, firewall, TLS.
    Unreachable(String),
    Other(String),
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
