//! The one backoff rule of the daemon: exponential steps from a base to a cap,
//! with jitter. Every retry uses it — Webex REST calls, Mercury reconnects,
//! outbox jobs, events whose handling failed, resyncs.
//!
//! Jitter keeps a fleet of daemons (or one daemon's REST and socket retries)
//! from hammering Webex in lockstep after an outage. "Equal" jitter (half the
//! step, plus up to the other half at random) never drops to zero, which suits
//! loops that retry forever; "full" jitter (anywhere in `[0, step]`) spreads
//! best, which suits the few quick retries of one REST call.

use rand::Rng;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    /// Uniform in `[step / 2, step]`.
    Equal,
    /// Uniform in `[0, step]`.
    Full,
}

/// A schedule (base, cap, jitter) and, for loops that retry until they
/// succeed, the count of attempts so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    jitter: Jitter,
    attempt: u32,
}

impl Backoff {
    /// Equal jitter, from `base` doubling up to `cap`.
    pub const fn new(base: Duration, cap: Duration) -> Self {
        Self { base, cap, jitter: Jitter::Equal, attempt: 0 }
    }

    pub const fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// The ceiling of retry number `attempt` (0 for the first): `base * 2^attempt`, capped.
    pub fn step(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(31));
        self.base.checked_mul(factor).unwrap_or(self.cap).min(self.cap)
    }

    /// The wait before retry number `attempt` (0 for the first), jittered.
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let step = self.step(attempt);
        let floor = match self.jitter {
            Jitter::Equal => step / 2,
            Jitter::Full => Duration::ZERO,
        };
        floor + random_up_to(step - floor, rng)
    }

    /// The next wait of a retry loop; counts the attempt.
    pub fn next_delay(&mut self, rng: &mut impl Rng) -> Duration {
        let delay = self.delay(self.attempt, rng);
        self.attempt = self.attempt.saturating_add(1);
        delay
    }

    /// The longest wait, for when retrying soon would only make things worse.
    pub fn cap(&self) -> Duration {
        self.cap
    }

    /// It worked: the next failure starts from the base again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    pub fn attempt(&self) -> u32 {
        self.attempt
    }
}

impl Default for Backoff {
    /// Webex's recommendation for reconnecting: 1 s doubling to 32 s.
    fn default() -> Self {
        Self::new(Duration::from_secs(1), Duration::from_secs(32))
    }
}

fn random_up_to(max: Duration, rng: &mut impl Rng) -> Duration {
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.random_range(0..=nanos))
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
        assert_eq!(backoff.attempt(), 0);
        assert!(backoff.next_delay(&mut rng) <= Duration::from_secs(1));
    }

    #[test]
    fn full_jitter_spreads_down_to_zero() {
        let mut rng = StdRng::seed_from_u64(3);
        let full = Backoff::new(Duration::from_millis(500), Duration::from_secs(30)).with_jitter(Jitter::Full);
        assert_eq!(full.step(0), Duration::from_millis(500));
        assert_eq!(full.step(2), Duration::from_secs(2));
        assert_eq!(full.step(9), Duration::from_secs(30));
        let draws: Vec<_> = (0..100).map(|_| full.delay(4, &mut rng)).collect();
        assert!(draws.iter().all(|d| *d <= Duration::from_secs(8)));
        assert!(draws.iter().any(|d| *d < Duration::from_secs(4)), "below the equal-jitter floor");
    }

    #[test]
    fn huge_attempts_saturate_at_the_cap() {
        let backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
        assert_eq!(backoff.step(u32::MAX), Duration::from_secs(60));
        let mut rng = StdRng::seed_from_u64(5);
        assert!(backoff.delay(1_000, &mut rng) >= Duration::from_secs(30));
    }
}
