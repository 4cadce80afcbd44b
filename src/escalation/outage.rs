//! Webex replays a device's unacked events for a limited time only (the replay
//! window, `webex.replay_window_s`, about 15 minutes), and a new device gets
//! none. An answer pressed while the daemon was away longer never arrives, and
//! nothing says so. This task keeps a durable mark of when the link was last
//! known up (beaten while connected), and when the link comes back after a gap
//! longer than the window, or on another device, it records the outage: the
//! store queues a threaded reply under every live card asking to press again,
//! and appends `escalation.maybe_lost` — once, in one transaction.

use super::Context;
use crate::store::{LinkAlive, Outage};
use crate::webex::mercury::link::LinkState;
use chrono::{DateTime, Utc};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The mark is beaten at most this far apart, so that a gap is measured to
/// within a minute of the real outage (never shorter than it).
const MAX_BEAT: Duration = Duration::from_secs(60);

pub struct OutageWatch {
    pub ctx: Context,
    pub replay_window: Duration,
}

/// The outage to report, if the link comes up at `now` on `device_url` after
/// being last known up as `last` says. The first start ever reports nothing.
pub fn detect(
    last: Option<&LinkAlive>,
    now: DateTime<Utc>,
    device_url: Option<&str>,
    window: Duration,
) -> Option<Outage> {
    let last = last?;
    let gap = (now - last.at).to_std().unwrap_or_default();
    let new_device = last.device_url.is_some() && device_url.is_some() && last.device_url.as_deref() != device_url;
    (gap > window || new_device).then_some(Outage { start: last.at, end: now })
}

/// What the specialist reads under the card.
pub fn reply_text(outage: &Outage) -> String {
    let at = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    format!(
        "This bot could not receive answers from {} to {}, longer than Webex keeps them for it. \
         If you already answered this request, press Provide Input again.",
        at(outage.start),
        at(outage.end)
    )
}

impl OutageWatch {
    /// How often the mark is beaten while the link is up.
    fn beat_every(&self) -> Duration {
        (self.replay_window / 3).min(MAX_BEAT)
    }

    pub async fn run(self, mut link: watch::Receiver<LinkState>, shutdown: CancellationToken) {
        let every = self.beat_every();
        // Some(device) while connected.
        let mut up: Option<Option<String>> = None;
        // Set when the link comes up; an outage that could not be recorded (the
        // store failing) is tried again on the next beat, before the mark moves.
        let mut unchecked = false;
        // When the link came up (the mark says so, for the other instances).
        let mut since = None;
        let mut next_beat = Instant::now();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                changed = link.changed() => {
                    if changed.is_err() { break }
                    let state = link.borrow_and_update().clone();
                    if up.is_none() && state.connected {
                        unchecked = true;
                        since = Some(Utc::now());
                    }
                    up = state.connected.then_some(state.device_url);
                }
                _ = tokio::time::sleep_until(next_beat), if up.is_some() => {}
            }
            let Some(device_url) = &up else { continue };
            if unchecked {
                unchecked = !self.check(device_url.clone(), since).await;
                next_beat = Instant::now() + every;
            } else if Instant::now() >= next_beat {
                self.beat(device_url.clone(), since).await;
                next_beat = Instant::now() + every;
            }
        }
        // Up until now: a restart within the window finds no outage.
        if let Some(device_url) = up {
            self.beat(device_url, since).await;
        }
    }

    /// Moves the mark to now; false if the store failed.
    async fn beat(&self, device_url: Option<String>, up_since: Option<DateTime<Utc>>) -> bool {
        let alive = LinkAlive { at: Utc::now(), device_url, up_since };
        self.ctx
            .store
            .mark_link_alive(alive)
            .await
            .map_err(|e| tracing::warn!(%e, "cannot mark the link alive"))
            .is_ok()
    }

    /// The link just came up: records an outage if there was one; false if the store failed.
    async fn check(&self, device_url: Option<String>, up_since: Option<DateTime<Utc>>) -> bool {
        let store = &self.ctx.store;
        let now = LinkAlive { at: Utc::now(), device_url, up_since };
        let last = match store.link_alive().await {
            Ok(last) => last,
            Err(error) => return log_failed(error),
        };
        let Some(outage) = detect(last.as_ref(), now.at, now.device_url.as_deref(), self.replay_window) else {
            return self.beat(now.device_url, up_since).await;
        };
        match store.record_outage(outage, now, reply_text(&outage), self.beat_every()).await {
            Ok(concerned) => {
                self.ctx.metrics.maybe_lost(concerned.len());
                tracing::warn!(
                    start = %outage.start, end = %outage.end, escalations = concerned.len(),
                    "no event reached the daemon for longer than Webex replays them: answers given meanwhile may be lost; the live cards ask to press again"
                );
                true
            }
            Err(error) => log_failed(error),
        }
    }
}

fn log_failed(error: crate::store::StoreError) -> bool {
    tracing::error!(%error, "cannot check for an outage longer than Webex's replay window; will try again");
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn alive(t: &str, device: &str) -> LinkAlive {
        LinkAlive { at: at(t), device_url: Some(device.into()), up_since: None }
    }

    const WINDOW: Duration = Duration::from_secs(900);

    #[test]
    fn a_gap_longer_than_the_window_or_a_new_device_is_an_outage() {
        let last = alive("2026-12-02T10:00:00Z", "https://wdm/devices/a");
        let within = detect(Some(&last), at("2026-12-02T10:15:00Z"), Some("https://wdm/devices/a"), WINDOW);
        assert_eq!(within, None, "Webex replays what came in 15 minutes");
        let longer = detect(Some(&last), at("2026-12-02T10:15:01Z"), Some("https://wdm/devices/a"), WINDOW);
        assert_eq!(longer, Some(Outage { start: last.at, end: at("2026-12-02T10:15:01Z") }));
        let new_device = detect(Some(&last), at("2026-12-02T10:00:05Z"), Some("https://wdm/devices/b"), WINDOW);
        assert_eq!(new_device.map(|o| o.start), Some(last.at), "a new device gets no replay at all");
        assert_eq!(detect(None, at("2026-12-02T11:00:00Z"), None, WINDOW), None, "the first start ever");
    }

    #[test]
    fn the_reply_states_the_window_and_what_to_do() {
        let outage = Outage { start: at("2026-12-02T10:00:00Z"), end: at("2026-12-02T10:40:00Z") };
        let text = reply_text(&outage);
        assert!(text.contains("2026-12-02 10:00:00 UTC") && text.contains("2026-12-02 10:40:00 UTC"), "{text}");
        assert!(text.contains("If you already answered this request, press Provide Input again."), "{text}");
    }
}
