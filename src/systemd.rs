//! Talking to systemd when it runs the daemon as a `Type=notify` service.
//!
//! systemd learns three things from us: that start-up is done (`READY=1`, once
//! the store is open, the socket bound and the token validated), what the link
//! is doing (`STATUS=`, shown by `systemctl status`), and that the daemon is not
//! wedged (`WATCHDOG=1`). The last one is only worth something if it is earned:
//! a timer that pings unconditionally would keep a daemon alive whose Mercury
//! loop hangs forever. So we ping only while the connection driver's
//! [`Heartbeat`] is fresh — it beats on every turn of its loop and while it
//! waits to reconnect — and stop when it goes stale, so systemd restarts us.
//!
//! Every call is a no-op when `NOTIFY_SOCKET` is unset (not under systemd,
//! tests, the demo).

use crate::webex::mercury::link::{Heartbeat, LinkState};
use sd_notify::NotifyState;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// One message for the service manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    Ready,
    Status(String),
    Watchdog,
    Stopping,
}

/// Sends a note over `$NOTIFY_SOCKET`; a failure is logged, never fatal.
pub fn send(note: Note) {
    let state = match &note {
        Note::Ready => NotifyState::Ready,
        Note::Status(text) => NotifyState::Status(text),
        Note::Watchdog => NotifyState::Watchdog,
        Note::Stopping => NotifyState::Stopping,
    };
    if let Err(error) = sd_notify::notify(false, &[state]) {
        tracing::debug!(%error, ?note, "could not notify systemd");
    }
}

/// `READY=1`: start-up is done.
pub fn ready() {
    send(Note::Ready);
}

/// `STATUS=…`: one line for `systemctl status`.
pub fn status(text: &str) {
    send(Note::Status(text.to_owned()));
}

/// `STOPPING=1`: shutdown has begun.
pub fn stopping() {
    send(Note::Stopping);
}

/// The watchdog interval systemd expects pings within (`WatchdogSec=`), if it
/// set one for this very process (`WATCHDOG_PID`).
pub fn watchdog_interval() -> Option<Duration> {
    let mut usec = 0;
    (sd_notify::watchdog_enabled(false, &mut usec) && usec > 0).then(|| Duration::from_micros(usec))
}

/// The watchdog decision: ping only if the driver beat within the interval.
/// A stale beat means its loop is stuck; staying silent lets systemd restart us.
pub fn should_ping(beat_age: Duration, interval: Duration) -> bool {
    beat_age < interval
}

/// The `STATUS=` line for a link state.
pub fn status_line(link: &LinkState, bot: &str) -> String {
    if let Some(rejected) = &link.token_rejected {
        let since = rejected.since.format("%Y-%m-%d %H:%M UTC");
        return format!(
            "Webex rejects the bot token (since {since}): put the current one in place with `webex-hitl token rotate`"
        );
    }
    if let (false, Some(at)) = (link.connected, link.replaced_at) {
        let at = at.format("%H:%M UTC");
        return format!("another instance took over this bot's device at {at}: stop it, or set webex.device_name");
    }
    match (link.connected, &link.last_error) {
        (true, _) => {
            let device = link.device_url.as_deref().unwrap_or("unknown device");
            format!("connected to Webex as {bot} (device {device})")
        }
        (false, Some(error)) => format!("reconnecting: {error}"),
        (false, None) => "connecting to Webex…".to_owned(),
    }
}

/// What [`supervise`] watches.
pub struct Supervision {
    /// `None` when systemd set no watchdog: then only statuses are sent.
    pub watchdog: Option<Duration>,
    pub heartbeat: Heartbeat,
    pub link: watch::Receiver<LinkState>,
    pub bot: String,
}

/// Sends `STATUS=` on every link change and `WATCHDOG=1` every half interval
/// while the heartbeat is fresh, until shutdown, when it sends `STOPPING=1`.
/// `notify` is [`send`] in the daemon; tests collect the notes instead.
pub async fn supervise(mut watched: Supervision, notify: impl Fn(Note), shutdown: CancellationToken) {
    let mut last_status = String::new();
    let period = watched.watchdog.map_or(Duration::from_secs(3600), |interval| interval / 2);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut silent = false;
    loop {
        let line = status_line(&watched.link.borrow_and_update(), &watched.bot);
        if line != last_status {
            notify(Note::Status(line.clone()));
            last_status = line;
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            changed = watched.link.changed() => if changed.is_err() {
                // The driver is gone, so the daemon is stopping.
                shutdown.cancelled().await;
                break;
            },
            _ = tick.tick() => {
                let Some(interval) = watched.watchdog else { continue };
                let age = watched.heartbeat.age();
                if should_ping(age, interval) {
                    notify(Note::Watchdog);
                    silent = false;
                } else if !silent {
                    tracing::error!(?age, "the Mercury driver has not beaten for {age:?}: withholding watchdog pings so systemd restarts the daemon");
                    silent = true;
                }
            }
        }
    }
    notify(Note::Stopping);
}

#[cfg(test)]
mod tests {
    use super::*;

    const INTERVAL: Duration = Duration::from_secs(30);

    #[test]
    fn a_fresh_beat_earns_a_ping() {
        assert!(should_ping(Duration::ZERO, INTERVAL));
        assert!(should_ping(Duration::from_secs(29), INTERVAL));
    }

    #[test]
    fn a_stale_beat_withholds_the_ping() {
        assert!(!should_ping(INTERVAL, INTERVAL));
        assert!(!should_ping(Duration::from_secs(600), INTERVAL));
    }

    #[tokio::test]
    async fn sleeping_to_reconnect_keeps_the_beat_fresh() {
        // The driver's backoff sleep is a covered wait: it beats throughout.
        let interval = Duration::from_millis(200);
        let heart = Heartbeat::new();
        let sleeper = heart.clone();
        let backoff = tokio::time::sleep(interval * 2);
        let sleeping = tokio::spawn(async move {
            sleeper.cover_with(backoff, interval / 10, Duration::from_secs(60)).await;
        });
        for _ in 0..4 {
            tokio::time::sleep(interval / 2).await;
            assert!(should_ping(heart.age(), interval), "age {:?}", heart.age());
        }
        sleeping.await.unwrap();
        tokio::time::sleep(interval).await;
        assert!(!should_ping(heart.age(), interval), "nothing beats after the sleep: age {:?}", heart.age());
    }

    #[test]
    fn status_lines_say_what_the_link_does() {
        let mut link = LinkState::default();
        assert_eq!(status_line(&link, "Bot"), "connecting to Webex…");
        link.last_error = Some("socket error: reset".into());
        assert_eq!(status_line(&link, "Bot"), "reconnecting: socket error: reset");
        link.connected = true;
        link.device_url = Some("https://wdm/devices/1".into());
        assert_eq!(status_line(&link, "Bot"), "connected to Webex as Bot (device https://wdm/devices/1)");
        link.token_rejected = Some(crate::webex::mercury::link::TokenRejected {
            since: chrono::DateTime::parse_from_rfc3339("2026-11-25T13:05:00Z").unwrap().into(),
            detail: "401".into(),
        });
        assert_eq!(
            status_line(&link, "Bot"),
            "Webex rejects the bot token (since 2026-11-25 13:05 UTC): put the current one in place with `webex-hitl token rotate`"
        );
        link.token_rejected = None;
        link.connected = false;
        link.replaced_at = Some(chrono::DateTime::parse_from_rfc3339("2026-11-25T13:06:00Z").unwrap().into());
        assert!(status_line(&link, "Bot").starts_with("another instance took over this bot's device at 13:06 UTC"));
    }
}
