//! Failing Webex calls, told once per episode rather than once per attempt.
//!
//! During an outage or a rate-limit storm every request retries, and a line per
//! attempt buries the one thing the operator needs (Webex has been failing
//! since 10:02, here is the first error) under thousands of copies. So the
//! first retryable failure opens an episode with a warning, later ones only
//! count (at debug level), a reminder with the count comes every
//! [`REMINDER`], and the first success closes the episode with a line saying
//! how many attempts failed over how long. Answers that retrying cannot change
//! (a 404, a 400) are the caller's business and are logged at debug level only;
//! a rejected token has its own single line (`webex::token`).

use super::error::{RestError, RetryKind};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A long episode is recalled this often, with its count so far.
pub const REMINDER: Duration = Duration::from_secs(300);

#[derive(Debug, Default)]
pub struct Episodes {
    open: Mutex<Option<Episode>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Episode {
    since: Instant,
    failures: u64,
    reminded: Instant,
}

/// What one attempt's outcome asks to be logged.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    Started,
    StillFailing { failures: u64, lasted: Duration },
    Ended { failures: u64, lasted: Duration },
}

impl Episodes {
    /// A failed attempt of `method path`.
    pub fn failed(&self, method: &reqwest::Method, path: &str, attempt: u32, error: &RestError) {
        let status = error.status();
        if matches!(error, RestError::Unauthorized { .. }) || matches!(error.retry_kind(), RetryKind::Permanent) {
            tracing::debug!(%method, path, ?status, attempt, %error, "Webex request failed");
            return;
        }
        let line = step(&mut self.open.lock().unwrap_or_else(PoisonError::into_inner), false, Instant::now());
        match line {
            Some(Line::Started) => tracing::warn!(%method, path, ?status, tracking_id = error.tracking_id(), %error,
                "Webex requests are failing; retrying (one line until they succeed again)"),
            Some(Line::StillFailing { failures, lasted }) => tracing::warn!(failures, lasted_s = lasted.as_secs(),
                %error, "Webex requests are still failing"),
            _ => tracing::debug!(%method, path, ?status, attempt, %error, "Webex request failed"),
        }
    }

    /// A successful attempt: closes an open episode.
    pub fn succeeded(&self) {
        let line = step(&mut self.open.lock().unwrap_or_else(PoisonError::into_inner), true, Instant::now());
        if let Some(Line::Ended { failures, lasted }) = line {
            tracing::warn!(failures, lasted_ms = lasted.as_millis() as u64, "Webex requests succeed again");
        }
    }
}

/// The episode after one attempt (`ok` or a retryable failure) at `now`, and the line to log.
fn step(open: &mut Option<Episode>, ok: bool, now: Instant) -> Option<Line> {
    match (open.as_mut(), ok) {
        (None, true) => None,
        (Some(episode), true) => {
            let line = Line::Ended { failures: episode.failures, lasted: now - episode.since };
            *open = None;
            Some(line)
        }
        (None, false) => {
            *open = Some(Episode { since: now, failures: 1, reminded: now });
            Some(Line::Started)
        }
        (Some(episode), false) => {
            episode.failures += 1;
            (now - episode.reminded >= REMINDER).then(|| {
                episode.reminded = now;
                Line::StillFailing { failures: episode.failures, lasted: now - episode.since }
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storm_is_one_line_a_reminder_and_one_line_at_its_end() {
        let t0 = Instant::now();
        let mut open = None;
        assert_eq!(step(&mut open, true, t0), None, "success without an episode says nothing");
        assert_eq!(step(&mut open, false, t0), Some(Line::Started));
        let quiet: Vec<_> = (1..1000).map(|i| step(&mut open, false, t0 + Duration::from_millis(i))).collect();
        assert!(quiet.iter().all(Option::is_none), "a thousand more failures: no line");
        let later = t0 + REMINDER + Duration::from_secs(1);
        assert_eq!(step(&mut open, false, later), Some(Line::StillFailing { failures: 1001, lasted: later - t0 }));
        assert_eq!(step(&mut open, false, later + Duration::from_secs(1)), None);
        let end = later + Duration::from_secs(2);
        assert_eq!(step(&mut open, true, end), Some(Line::Ended { failures: 1002, lasted: end - t0 }));
        assert_eq!(open, None);
        assert_eq!(step(&mut open, false, end), Some(Line::Started), "the next failure is a new episode");
    }
}
