//! Mercury's time limits, which a test shortens instead of waiting them out.
//!
//! Real Mercury replays unacked frames for roughly the last 15 minutes only
//! (inferred from webex_bot#2, see the protocol notes) and closes a socket that
//! never authorizes; its close reason says "30000 seconds", its timer being in
//! milliseconds. Both are settings with those defaults, changeable while the
//! simulator runs (`/_sim/faults/replay-window`, `/_sim/faults/auth-timeout`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long Mercury keeps unacked frames for redelivery.
pub const DEFAULT_REPLAY_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long a socket may stay open without an authorization frame.
pub const DEFAULT_AUTH_TIMEOUT: Duration = Duration::from_secs(30);

/// The two limits, in milliseconds, shared by every connection.
#[derive(Debug)]
pub struct Settings {
    replay_window_ms: AtomicU64,
    auth_timeout_ms: AtomicU64,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Settings {
    pub fn new(replay_window: Duration, auth_timeout: Duration) -> Self {
        Self {
            replay_window_ms: AtomicU64::new(millis(replay_window)),
            auth_timeout_ms: AtomicU64::new(millis(auth_timeout)),
        }
    }

    pub fn replay_window(&self) -> Duration {
        Duration::from_millis(self.replay_window_ms.load(Ordering::SeqCst))
    }

    pub fn set_replay_window(&self, window: Duration) {
        self.replay_window_ms.store(millis(window), Ordering::SeqCst);
    }

    pub fn auth_timeout(&self) -> Duration {
        Duration::from_millis(self.auth_timeout_ms.load(Ordering::SeqCst))
    }

    pub fn set_auth_timeout(&self, timeout: Duration) {
        self.auth_timeout_ms.store(millis(timeout), Ordering::SeqCst);
    }

    /// The close reason Mercury gives, with its unit mistake.
    pub fn auth_timeout_reason(&self) -> String {
        let ms = self.auth_timeout_ms.load(Ordering::SeqCst);
        format!("Authentication did not happen within the timeout window of {ms} seconds.")
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self::new(DEFAULT_REPLAY_WINDOW, DEFAULT_AUTH_TIMEOUT)
    }
}
