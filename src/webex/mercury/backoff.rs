//! Reconnect pacing: exponential from 1 s to a 32 s cap, with jitter, forever.
//!
//! Jitter keeps a fleet of daemons (or one daemon's REST and socket retries) from
//! hammering Webex in lockstep after an outage.

use rand::Rng;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    attempt: u32,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self { base, cap, attempt: 0 }
    }

    /// The delay before the next attempt: the exponential step for this attempt,
    /// less up to half of it at random ("equal jitter", so it never drops to zero).
    pub fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        let step = self.base.saturating_mul(1u32 << self.attempt.min(16)).min(self.cap);
        self.attempt = self.attempt.saturating_add(1);
        let half = step / 2;
        half + half.mul_f64(rng.random::<f64>())
    }

    /// The longest delay, for when retrying soon would only make things worse.
    pub fn cap(&self) -> Duration {
        self.cap
    }

    /// A connection became ready: the next failure starts from the base again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Duration::from_secs(1), Duration::from_secs(32))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn grows_to_the_cap_and_stays_within_jitter_bounds() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut backoff = Backoff::default();
        let expected_steps = [1, 2, 4, 8, 16, 32, 32, 32];
        for step in expected_steps {
            let delay = backoff.next_delay(&mut rng);
            let step = Duration::from_secs(step);
            assert!(delay >= step / 2 && delay <= step, "{delay:?} outside [{:?}, {step:?}]", step / 2);
        }
        for _ in 0..100 {
            assert!(backoff.next_delay(&mut rng) <= Duration::from_secs(32));
        }
    }

    #[test]
    fn reset_starts_over() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut backoff = Backoff::default();
        for _ in 0..6 {
            backoff.next_delay(&mut rng);
        }
        backoff.reset();
        assert!(backoff.next_delay(&mut rng) <= Duration::from_secs(1));
    }
}
