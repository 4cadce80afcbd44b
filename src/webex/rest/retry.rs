//! The one retry policy for every Webex HTTP call (REST and WDM).
//!
//! Pure functions only, so each rule is unit-tested: which failures are worth a
//! second attempt for which method, how long `Retry-After` asks us to wait, and
//! which schedule of the daemon's one [`Backoff`] applies between attempts.
//! Webex has no idempotency key, so a POST is repeated only when it provably
//! did not take effect.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::Method;

use super::error::RestError;
use crate::backoff::{Backoff, Jitter};

/// Bounds for retrying one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first one included (at least 1).
    pub max_attempts: u32,
    /// First backoff step; also the jitter added to `Retry-After` waits.
    pub base_delay: Duration,
    /// Cap of one exponential backoff step.
    pub max_delay: Duration,
    /// Cap of one `Retry-After` wait, whatever Webex asks for.
    pub max_retry_after: Duration,
    /// A caller who cannot wait long: when the wait before the next attempt
    /// would be longer, the call fails at once with what Webex said (its
    /// `Retry-After` included), for the caller's own caller to decide.
    pub patience: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            patience: None,
        }
    }
}

/// Used when `Retry-After` is missing or unreadable: Webex's usual window.
const FALLBACK_RETRY_AFTER_SECS: std::ops::RangeInclusive<u64> = 15..=60;

/// `Retry-After` as integer seconds or an HTTP-date; `None` for anything else
/// (including negative numbers). A date in the past means "now".
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    // Some servers send fractional seconds; accept them, reject negatives.
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)));
    }
    let date = DateTime::parse_from_rfc2822(value).ok()?;
    let wait = date.with_timezone(&Utc) - now;
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// The wait Webex asked for, falling back to a random 15–60 s when the header
/// is missing or garbage, clamped to `max_retry_after`.
pub fn retry_after_delay(
    header: Option<&str>,
    now: DateTime<Utc>,
    policy: &RetryPolicy,
    rng: &mut impl Rng,
) -> Duration {
    let asked = header
        .and_then(|h| parse_retry_after(h, now))
        .unwrap_or_else(|| Duration::from_secs(rng.random_range(FALLBACK_RETRY_AFTER_SECS)));
    asked.min(policy.max_retry_after)
}

impl RetryPolicy {
    /// For calls made while an engine waits on the API: two quick tries, and
    /// no waiting out a long `Retry-After` (the engine is told it instead).
    pub fn for_callers_waiting() -> Self {
        Self { max_attempts: 2, patience: Some(Duration::from_secs(2)), ..Self::default() }
    }

    /// The schedule between attempts of one call: full jitter, from
    /// `base_delay` doubling to `max_delay` (the few quick retries of one call
    /// spread best that way).
    pub fn backoff(&self) -> Backoff {
        Backoff::new(self.base_delay, self.max_delay).with_jitter(Jitter::Full)
    }
}

/// The backoff before attempt `attempt + 1` (`attempt` counts from 1).
fn backoff(attempt: u32, policy: &RetryPolicy, rng: &mut impl Rng) -> Duration {
    policy.backoff().delay(attempt.saturating_sub(1), rng)
}

/// A small random addition to a `Retry-After` wait, so that several waiting
/// calls do not hit Webex in the same millisecond.
pub fn jitter(policy: &RetryPolicy, rng: &mut impl Rng) -> Duration {
    let cap = policy.base_delay.min(Duration::from_secs(1));
    let nanos = u64::try_from(cap.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.random_range(0..=nanos))
}

/// Whether `error` from a `method` call is worth another attempt.
///
/// GET/PUT/DELETE are idempotent: retried on 429, 423, 500/502/503/504 and any
/// network error. A POST is retried only when Webex cannot have acted on it:
/// the connection was never made, or Webex answered 429 or 503.
pub fn should_retry(method: &Method, error: &RestError) -> bool {
    let idempotent = method != Method::POST && method != Method::PATCH;
    match error {
        RestError::Network { sent, .. } => idempotent || !*sent,
        RestError::RateLimited { .. } => true,
        RestError::Server { status: 503, .. } => true,
        RestError::Locked { .. } => idempotent,
        RestError::Server { status, .. } => idempotent && matches!(status, 500 | 502 | 504),
        _ => false,
    }
}

/// How long to wait before the next attempt after `error` on attempt `attempt`.
/// `retry_after` is the server's wait for a 503 that carried the header.
pub fn delay_for(
    error: &RestError,
    attempt: u32,
    server_retry_after: Option<Duration>,
    policy: &RetryPolicy,
    rng: &mut impl Rng,
) -> Duration {
    let asked = match error {
        RestError::RateLimited { retry_after, .. } => Some(*retry_after),
        RestError::Locked { retry_after, .. } => *retry_after,
        _ => server_retry_after,
    };
    match asked {
        Some(wait) => wait.min(policy.max_retry_after) + jitter(policy, rng),
        None => backoff(attempt, policy, rng),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 13, 0, 0).single().expect("valid date")
    }

    #[test]
    fn retry_after_parses_seconds_dates_and_rejects_garbage() {
        let n = now();
        assert_eq!(parse_retry_after("7", n), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", n), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("1.5", n), Some(Duration::from_millis(1500)));
        assert_eq!(parse_retry_after("Wed, 25 Nov 2026 13:00:30 GMT", n), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Wed, 25 Nov 2026 12:00:00 GMT", n), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", n), None);
        assert_eq!(parse_retry_after("", n), None);
        assert_eq!(parse_retry_after("-5", n), None);
        assert_eq!(parse_retry_after("NaN", n), None);
    }

    #[test]
    fn retry_after_delay_clamps_and_falls_back() {
        let policy = RetryPolicy::default();
        let mut rng = rand::rng();
        let huge = retry_after_delay(Some("99999999999"), now(), &policy, &mut rng);
        assert_eq!(huge, policy.max_retry_after);
        for header in [None, Some("garbage"), Some("-3")] {
            let d = retry_after_delay(header, now(), &policy, &mut rng);
            assert!(d >= Duration::from_secs(15) && d <= Duration::from_secs(60), "{d:?}");
        }
        let small = RetryPolicy { max_retry_after: Duration::from_secs(2), ..policy };
        assert_eq!(retry_after_delay(None, now(), &small, &mut rng), Duration::from_secs(2));
    }

    #[test]
    fn backoff_stays_within_exponential_bounds() {
        let policy = RetryPolicy::default();
        let mut rng = rand::rng();
        let exponential_ceiling = |attempt: u32, policy: &RetryPolicy| policy.backoff().step(attempt - 1);
        for attempt in 1..=40 {
            let ceiling = exponential_ceiling(attempt, &policy);
            assert!(ceiling <= policy.max_delay);
            for _ in 0..50 {
                assert!(backoff(attempt, &policy, &mut rng) <= ceiling);
            }
        }
        assert_eq!(exponential_ceiling(1, &policy), Duration::from_millis(500));
        assert_eq!(exponential_ceiling(3, &policy), Duration::from_secs(2));
        assert_eq!(exponential_ceiling(10, &policy), Duration::from_secs(30));
        // Full jitter: the draws are spread, not all at the ceiling.
        let draws: Vec<_> = (0..100).map(|_| backoff(5, &policy, &mut rng)).collect();
        assert!(draws.iter().any(|d| *d < Duration::from_secs(4)));
    }

    #[test]
    fn retry_after_waits_get_small_jitter_only() {
        let policy = RetryPolicy::default();
        let mut rng = rand::rng();
        let err = RestError::RateLimited { retry_after: Duration::from_secs(10), tracking_id: None };
        for _ in 0..50 {
            let d = delay_for(&err, 1, None, &policy, &mut rng);
            assert!(d >= Duration::from_secs(10) && d <= Duration::from_millis(10_500));
        }
        let server = RestError::Server { status: 503, message: String::new(), tracking_id: None };
        let d = delay_for(&server, 1, Some(Duration::from_secs(4)), &policy, &mut rng);
        assert!(d >= Duration::from_secs(4));
    }

    fn status(s: u16) -> RestError {
        RestError::from_status(s, b"", None, Some(Duration::from_secs(1)))
    }

    fn network(sent: bool) -> RestError {
        RestError::Network { message: "x".into(), sent }
    }

    #[test]
    fn retry_decisions_by_method_and_failure() {
        let cases: Vec<(Method, RestError, bool)> = vec![
            (Method::POST, network(false), true),
            (Method::POST, network(true), false),
            (Method::POST, status(429), true),
            (Method::POST, status(503), true),
            (Method::POST, status(500), false),
            (Method::POST, status(502), false),
            (Method::POST, status(504), false),
            (Method::POST, status(423), false),
            (Method::POST, status(400), false),
            (Method::GET, status(502), true),
            (Method::GET, status(500), true),
            (Method::GET, status(501), false),
            (Method::GET, network(true), true),
            (Method::GET, status(423), true),
            (Method::GET, status(401), false),
            (Method::GET, status(404), false),
            (Method::PUT, status(504), true),
            (Method::PUT, status(400), false),
            (Method::DELETE, network(true), true),
            (Method::DELETE, status(429), true),
        ];
        for (method, error, expected) in cases {
            assert_eq!(should_retry(&method, &error), expected, "{method} after {error:?}");
        }
    }
}
