//! `[store]`: where the daemon keeps its state — a SQLite file (one instance,
//! the default) or a PostgreSQL database that several instances share.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{systemd_dir, ConfigError};
use crate::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    #[default]
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    pub backend: StoreBackend,
    /// The SQLite file (`backend = "sqlite"`).
    pub path: PathBuf,
    /// The PostgreSQL server and database (`backend = "postgres"`), as a
    /// `postgres://user:password@host:port/database` URL or `key=value` pairs.
    pub url: Option<Secret>,
    /// A schema of its own in that database; unset: the connection's search path.
    pub schema: Option<String>,
    /// How long the event log keeps events for engines to replay.
    pub event_retention_days: f64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            backend: StoreBackend::Sqlite,
            path: systemd_dir("STATE_DIRECTORY", "/var/lib/webex-hitl").join("webex-hitl.db"),
            url: None,
            schema: None,
            event_retention_days: 7.0,
        }
    }
}

impl StoreConfig {
    pub fn event_retention(&self) -> Duration {
        Duration::from_secs_f64(self.event_retention_days * 86_400.0)
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if !(self.event_retention_days.is_finite()
            && self.event_retention_days > 0.0
            && self.event_retention_days <= 3650.0)
        {
            return Err(ConfigError::new("store.event_retention_days", "must be a number of days in (0, 3650]"));
        }
        match self.backend {
            StoreBackend::Sqlite if self.path.as_os_str().is_empty() => {
                Err(ConfigError::new("store.path", "must not be empty"))
            }
            StoreBackend::Sqlite => Ok(()),
            StoreBackend::Postgres => self.check_postgres(),
        }
    }

    fn check_postgres(&self) -> Result<(), ConfigError> {
        let Some(url) = self.url.as_ref().filter(|u| !u.is_empty()) else {
            return Err(ConfigError::new(
                "store.url",
                "is required with store.backend = \"postgres\" (e.g. postgres://webex_hitl@db.internal/webex_hitl)",
            ));
        };
        // The parser's message never repeats the URL (it may hold a password).
        let parsed: postgres::Config = url
            .expose()
            .parse()
            .map_err(|e| ConfigError::new("store.url", format!("is not a PostgreSQL connection URL: {e}")))?;
        if parsed.get_ssl_mode() == postgres::config::SslMode::Require {
            return Err(ConfigError::new(
                "store.url",
                "asks for sslmode=require, but this build speaks to PostgreSQL without TLS: \
                 reach it over a Unix socket, loopback or a private network, or through a TLS tunnel",
            ));
        }
        if let Some(schema) = &self.schema {
            let valid = !schema.is_empty()
                && schema.len() <= 63
                && schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !schema.starts_with(|c: char| c.is_ascii_digit());
            if !valid {
                return Err(ConfigError::new(
                    "store.schema",
                    "must be 1 to 63 letters, digits or underscores, not starting with a digit",
                ));
            }
        }
        Ok(())
    }
}

/// This machine's name, for the default device name of a shared store
/// (gethostname(2): the unit's `ProcSubset=pid` hides /proc/sys).
pub(super) fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|name| name.into_string().ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
