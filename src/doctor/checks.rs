//! Facts → findings, each with the fix from the product documentation's
//! troubleshooting table where one applies. Pure: no I/O, unit-tested.

use super::facts::{Bot, Counted, Daemon, Facts, Setup, SpaceProbe, WebexFailure};
use chrono::{DateTime, Utc};

pub const FIX_NO_SPACES: &str =
    "Add the bot to at least one Webex space (People > Add people), then `webex-hitl spaces --refresh`";
pub const FIX_TOKEN_REJECTED: &str = "Generate a new token in the Webex Developer Portal (developer.webex.com > My Webex Apps > your bot > Regenerate), then `sudo webex-hitl token rotate < FILE`: the running daemon takes it without a restart, and it is saved for the next start";
pub const FIX_NO_TOKEN: &str = "Put the bot token in the file named by webex.token_file, in WEBEX_HITL_TOKEN, or in the systemd credential webex-token (/etc/webex-hitl/token); a credential is private to the unit: run doctor as root, or while the daemon runs";
pub const FIX_REPLACED: &str =
    "Another instance uses this bot's device: stop it, or give each instance its own webex.device_name";
pub const FIX_NETWORK: &str = "Check proxy/firewall: outbound HTTPS (443) to *.wbx2.com and webexapis.com must be allowed; behind a proxy set webex.proxy (and webex.ca_file for a TLS-inspecting one)";
pub const FIX_READD: &str =
    "Re-add the bot to the space in Webex (People > Add people), then `webex-hitl spaces --refresh`";
pub const FIX_NOT_ADDED: &str =
    "Add the bot to the space in Webex (People > Add people), then `webex-hitl spaces --refresh`";
pub const FIX_DAEMON_DOWN: &str =
    "Start the daemon: `webex-hitl serve --config FILE` (or `systemctl start webex-hitl`); see its log for why it stopped";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Fail,
    /// Not checked: something it depends on failed.
    Skip,
}

impl Level {
    pub fn tag(self) -> &'static str {
        match self {
            Level::Ok => "[ OK ]",
            Level::Warn => "[WARN]",
            Level::Fail => "[FAIL]",
            Level::Skip => "[SKIP]",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub check: &'static str,
    pub level: Level,
    pub message: String,
    pub fix: Option<String>,
}

impl Finding {
    fn new(check: &'static str, level: Level, message: impl Into<String>, fix: Option<&str>) -> Self {
        Self { check, level, message: message.into(), fix: fix.map(str::to_owned) }
    }
}

/// Every check, in the order an operator would fix things.
pub fn findings(facts: &Facts) -> Vec<Finding> {
    let mut out = vec![config(facts.config.as_ref())];
    let setup = facts.config.as_ref().and_then(|c| c.as_ref().ok());
    out.push(token(facts.token.as_ref(), facts.me_from_daemon));
    out.push(network(setup, facts.ca.as_ref()));
    out.push(bot(facts.me.as_ref()));
    out.push(daemon(facts.daemon.as_ref(), facts.me.as_ref()));
    out.push(websocket(facts.daemon.as_ref(), facts.now));
    out.push(devices(facts.devices.as_ref(), facts.daemon.as_ref()));
    out.push(spaces(facts.spaces.as_ref()));
    if let Some(probe) = &facts.space {
        out.push(space(probe));
    }
    out
}

fn skipped(check: &'static str, why: &str) -> Finding {
    Finding::new(check, Level::Skip, format!("not checked: {why}"), None)
}

fn config(fact: Option<&Result<Setup, String>>) -> Finding {
    match fact {
        Some(Ok(setup)) => Finding::new(
            "config",
            Level::Ok,
            format!("{}: socket {}, Webex API {}", setup.source, setup.socket, setup.api_url),
            None,
        ),
        Some(Err(error)) => Finding::new(
            "config",
            Level::Fail,
            format!("configuration error: {error}"),
            Some("Fix the named key (every key and its default is in config.toml.example)"),
        ),
        None => skipped("config", "no configuration"),
    }
}

fn token(fact: Option<&Result<String, String>>, daemon_asked: bool) -> Finding {
    match fact {
        Some(Ok(source)) => Finding::new("token", Level::Ok, format!("bot token found ({source})"), None),
        Some(Err(error)) if daemon_asked => Finding::new(
            "token",
            Level::Ok,
            format!("not readable here ({error}); the running daemon's token is checked instead"),
            None,
        ),
        Some(Err(error)) => Finding::new("token", Level::Fail, error.clone(), Some(FIX_NO_TOKEN)),
        None => skipped("token", "the configuration did not load"),
    }
}

fn network(setup: Option<&Setup>, ca: Option<&Result<(), String>>) -> Finding {
    let Some(setup) = setup else { return skipped("network", "the configuration did not load") };
    let proxy = setup.proxy.as_deref().map_or("none (direct)".to_owned(), |p| format!("{p} (REST and websocket)"));
    let ca_text = match (&setup.ca_file, ca) {
        (None, _) => "built-in web roots".to_owned(),
        (Some(file), Some(Err(error))) => {
            return Finding::new(
                "network",
                Level::Fail,
                format!("proxy {proxy}; CA file {file} unusable: {error}"),
                Some("webex.ca_file must be a readable PEM file holding the TLS-inspecting proxy's CA certificate"),
            )
        }
        (Some(file), _) => format!("built-in web roots + {file}"),
    };
    Finding::new("network", Level::Ok, format!("proxy {proxy}; CA {ca_text}"), None)
}

fn bot(fact: Option<&Result<Bot, WebexFailure>>) -> Finding {
    match fact {
        Some(Ok(bot)) => Finding::new("bot", Level::Ok, format!("token valid: {}", describe(bot)), None),
        Some(Err(failure)) => {
            let fix = match failure {
                WebexFailure::Rejected(_) => Some(FIX_TOKEN_REJECTED),
                WebexFailure::Unreachable(_) => Some(FIX_NETWORK),
                WebexFailure::Other(_) => None,
            };
            Finding::new("bot", Level::Fail, failure.to_string(), fix)
        }
        None => skipped("bot", "no token"),
    }
}

pub(super) fn describe(bot: &Bot) -> String {
    match &bot.email {
        Some(email) => format!("{} <{email}>", bot.name),
        None => bot.name.clone(),
    }
}

fn daemon(fact: Option<&Result<Daemon, String>>, me: Option<&Result<Bot, WebexFailure>>) -> Finding {
    match fact {
        Some(Ok(Daemon { token_rejected: Some((since, detail)), socket, .. })) => Finding::new(
            "daemon",
            Level::Fail,
            format!("answering on {socket}, but Webex rejects its bot token since {since} ({detail})"),
            Some(FIX_TOKEN_REJECTED),
        ),
        Some(Ok(daemon)) => {
            let token_bot = me.and_then(|m| m.as_ref().ok());
            match (&daemon.bot, token_bot) {
                (Some(running), Some(configured)) if running.id != configured.id => Finding::new(
                    "daemon",
                    Level::Warn,
                    format!(
                        "answering on {}, but as {} while the configured token is {}",
                        daemon.socket,
                        describe(running),
                        describe(configured)
                    ),
                    Some("Restart the daemon so it uses the current token"),
                ),
                (Some(running), _) => Finding::new(
                    "daemon",
                    Level::Ok,
                    format!("answering on {} as {}", daemon.socket, describe(running)),
                    None,
                ),
                (None, _) => Finding::new(
                    "daemon",
                    Level::Fail,
                    format!("answering on {}, but it has not validated its token yet", daemon.socket),
                    Some(FIX_NETWORK),
                ),
            }
        }
        Some(Err(error)) => Finding::new("daemon", Level::Fail, error.clone(), Some(FIX_DAEMON_DOWN)),
        None => skipped("daemon", "the configuration did not load"),
    }
}

fn websocket(fact: Option<&Result<Daemon, String>>, now: DateTime<Utc>) -> Finding {
    let Some(Ok(daemon)) = fact else { return skipped("websocket", "the daemon is not answering") };
    if let (false, Some(at)) = (daemon.connected, daemon.replaced_at) {
        let message = format!("not connected: another connection took over this bot's device {} ago", age(now, at));
        return Finding::new("websocket", Level::Fail, message, Some(FIX_REPLACED));
    }
    let last_event = match daemon.last_event_at {
        Some(at) => format!("last event {} ago", age(now, at)),
        None => "no event received yet".to_owned(),
    };
    if daemon.connected {
        let since = daemon.since.map(|at| format!(" for {}", age(now, at))).unwrap_or_default();
        let message = format!("connected{since}, {} reconnects; {last_event}", daemon.reconnects);
        return Finding::new("websocket", Level::Ok, message, None);
    }
    let error = daemon.last_error.as_deref().unwrap_or("no error recorded yet");
    Finding::new(
        "websocket",
        Level::Fail,
        format!("not connected (last error: {error}); {last_event}"),
        Some(FIX_NETWORK),
    )
}

/// "42s", "3m 5s", "2h 10m", "4d 3h".
pub fn age(now: DateTime<Utc>, then: DateTime<Utc>) -> String {
    let s = (now - then).num_seconds().max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m {}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

fn devices(fact: Option<&Result<usize, String>>, daemon: Option<&Result<Daemon, String>>) -> Finding {
    let running = matches!(daemon, Some(Ok(d)) if d.connected);
    match fact {
        Some(Ok(1)) => Finding::new("devices", Level::Ok, "1 device registration (this daemon's)", None),
        Some(Ok(0)) if !running => Finding::new(
            "devices",
            Level::Ok,
            "no device registration (none expected: the daemon is not connected)",
            None,
        ),
        Some(Ok(0)) => Finding::new(
            "devices",
            Level::Warn,
            "no device registration, yet the daemon says it is connected",
            Some("Restart the daemon so it registers its device again"),
        ),
        Some(Ok(n)) => Finding::new(
            "devices",
            Level::Warn,
            format!("{n} device registrations with this device name: each receives every event"),
            Some("Stop any other daemon using this bot and device_name; a restart deletes the extras"),
        ),
        Some(Err(error)) => Finding::new(
            "devices",
            Level::Fail,
            format!("cannot list device registrations: {error}"),
            Some(FIX_NETWORK),
        ),
        None => skipped("devices", "Webex did not confirm the token here"),
    }
}

fn spaces(fact: Option<&Result<Counted, String>>) -> Finding {
    match fact {
        Some(Ok(Counted { count: 0, from })) => {
            Finding::new("spaces", Level::Fail, format!("the bot is in no space (per {from})"), Some(FIX_NO_SPACES))
        }
        Some(Ok(Counted { count, from })) => {
            Finding::new("spaces", Level::Ok, format!("{count} spaces visible to the bot (per {from})"), None)
        }
        Some(Err(error)) => Finding::new("spaces", Level::Fail, format!("cannot list spaces: {error}"), None),
        None => skipped("spaces", "neither the daemon nor Webex could be asked"),
    }
}

fn space(probe: &SpaceProbe) -> Finding {
    match probe {
        SpaceProbe::Member { id, title } => {
            Finding::new("space", Level::Ok, format!("\"{title}\" ({id}) reachable: the bot is a member"), None)
        }
        SpaceProbe::Removed { id, title } => {
            Finding::new("space", Level::Fail, format!("the bot was removed from \"{title}\" ({id})"), Some(FIX_READD))
        }
        SpaceProbe::Unknown { id } => {
            Finding::new("space", Level::Fail, format!("{id}: not a space the bot is in"), Some(FIX_NOT_ADDED))
        }
        SpaceProbe::Error { id, message } => {
            Finding::new("space", Level::Fail, format!("{id}: cannot check: {message}"), None)
        }
    }
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
