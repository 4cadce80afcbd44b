//! What the rest of the daemon gets from the Mercury connection: events with an
//! ack handle, and a live view of the link's health.

use super::event::Event;
use chrono::{DateTime, Utc};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// An event from Webex. Ack it once its effects are safely stored: Mercury
/// redelivers unacked frames after a reconnect, so dropping an [`Ack`] unsent
/// means "give it to me again".
#[derive(Debug)]
pub struct Inbound {
    pub event: Event,
    pub ack: Ack,
}

#[derive(Debug)]
pub struct Ack {
    frame_id: Option<String>,
    acks: mpsc::UnboundedSender<String>,
}

impl Ack {
    pub(super) fn new(frame_id: Option<String>, acks: mpsc::UnboundedSender<String>) -> Self {
        Self { frame_id, acks }
    }

    /// Acks the frame on whatever socket is live now. If none is, Mercury will
    /// redeliver and de-duplication will drop the copy.
    pub fn send(self) {
        if let Some(id) = self.frame_id {
            let _ = self.acks.send(id);
        }
    }
}

/// The daemon's hold on Webex, as `/v1/health`, `STATUS=` and the metrics
/// show it: the Mercury link, and whether Webex accepts the bot token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkState {
    pub connected: bool,
    /// When the current (or, while disconnected, the last) connection became ready.
    pub since: Option<DateTime<Utc>>,
    /// When the link was lost; `None` while connected.
    pub down_since: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
    /// Ready connections lost and re-established since start.
    pub reconnects: u64,
    pub device_url: Option<String>,
    pub last_error: Option<String>,
    /// Another connection took over this device registration (close 4000), and
    /// when; cleared once this daemon is connected again.
    pub replaced_at: Option<DateTime<Utc>>,
    /// How often that happened since start.
    pub replaced: u64,
    /// Webex refuses the bot token (a 401 on REST or the socket).
    pub token_rejected: Option<TokenRejected>,
}

/// Since when Webex refuses the token, and what it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRejected {
    pub since: DateTime<Utc>,
    pub detail: String,
}

/// Proof of life from the connection driver, for the systemd watchdog: the
/// driver beats on every turn of its loop and while it waits as designed
/// (backoff sleeps, dialing, registering). An atomic rather than a field of
/// [`LinkState`], so beating every second wakes no `watch` receiver.
#[derive(Debug, Clone)]
pub struct Heartbeat {
    inner: Arc<Beat>,
}

#[derive(Debug)]
struct Beat {
    epoch: Instant,
    /// Milliseconds after `epoch` of the last beat.
    last_ms: AtomicU64,
}

/// How often a driver that has nothing else to do still beats.
pub const BEAT_EVERY: Duration = Duration::from_secs(1);

/// A wait longer than this no longer counts as alive: every wait the driver
/// covers is bounded below it (a REST call with its retries: 5 attempts of at
/// most 30 s plus 120 s of `Retry-After`; a dial: three steps of at most
/// `DIAL_STEP_TIMEOUT`), so a wait this long is a wedge and the watchdog
/// should restart the service.
pub const MAX_COVERED_WAIT: Duration = Duration::from_secs(15 * 60);

impl Default for Heartbeat {
    fn default() -> Self {
        Self::new()
    }
}

impl Heartbeat {
    /// A heartbeat that has just beaten.
    pub fn new() -> Self {
        Self { inner: Arc::new(Beat { epoch: Instant::now(), last_ms: AtomicU64::new(0) }) }
    }

    pub fn beat(&self) {
        let now = self.inner.epoch.elapsed().as_millis() as u64;
        self.inner.last_ms.fetch_max(now, Ordering::Relaxed);
    }

    /// Time since the last beat.
    pub fn age(&self) -> Duration {
        let last = Duration::from_millis(self.inner.last_ms.load(Ordering::Relaxed));
        self.inner.epoch.elapsed().saturating_sub(last)
    }

    /// Awaits `work`, beating every [`BEAT_EVERY`] meanwhile, for at most
    /// [`MAX_COVERED_WAIT`]: waiting on a bounded call is being alive.
    pub async fn cover<F: Future>(&self, work: F) -> F::Output {
        self.cover_with(work, BEAT_EVERY, MAX_COVERED_WAIT).await
    }

    pub(crate) async fn cover_with<F: Future>(&self, work: F, every: Duration, limit: Duration) -> F::Output {
        let until = Instant::now() + limit;
        tokio::pin!(work);
        loop {
            let now = Instant::now();
            if now >= until {
                tracing::error!("the Mercury driver has waited {limit:?} on one call; no longer beating");
                return work.await;
            }
            self.beat();
            tokio::select! {
                output = &mut work => return output,
                _ = tokio::time::sleep_until((now + every).min(until)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Paused time: the clock moves only when every task waits, and then
    // straight to the next timer, so every age below is exact.
    const EVERY: Duration = Duration::from_millis(10);

    #[tokio::test(start_paused = true)]
    async fn a_heartbeat_ages_until_it_beats() {
        let heart = Heartbeat::new();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(heart.age(), Duration::from_millis(50));
        heart.beat();
        assert_eq!(heart.age(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn covering_a_wait_beats_through_it_but_not_forever() {
        let heart = Heartbeat::new();
        let watcher = heart.clone();
        let limit = Duration::from_millis(300);
        let waiting = tokio::spawn(async move { heart.cover_with(std::future::pending::<()>(), EVERY, limit).await });
        // Look 5 ms after each beat, never at the instant of one, where the
        // order of two timers firing together would decide the answer.
        tokio::time::sleep(Duration::from_millis(5)).await;
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert_eq!(watcher.age(), Duration::from_millis(5), "beats while waiting");
        }
        // Now at 205 ms; the last beat is at 290 ms, the last one before the limit.
        tokio::time::sleep(limit).await;
        assert_eq!(watcher.age(), Duration::from_millis(505 - 290), "a wedged wait stops beating");
        waiting.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn covering_returns_what_the_work_returns() {
        let heart = Heartbeat::new();
        let work = async {
            tokio::time::sleep(Duration::from_millis(55)).await;
            7
        };
        assert_eq!(heart.cover_with(work, EVERY, Duration::from_secs(5)).await, 7);
        assert_eq!(heart.age(), Duration::from_millis(5), "beat every 10 ms until the work was done");
    }
}
