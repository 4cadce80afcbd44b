//! Prometheus metrics for operators: what the daemon counted since start, plus
//! gauges read at scrape time (`GET /metrics` on the API socket, served by
//! `api::metrics`; this module only counts and writes the text).
//!
//! Hand-written rather than through a client crate: the text exposition format
//! is a few lines, the daemon has a dozen series, and this keeps the dependency
//! list as the product owner fixed it. Counters live here (cheap, lock-held for
//! a map insert at most); state that already exists elsewhere — the link's
//! [`LinkState`](crate::webex::mercury::link::LinkState), the escalations table,
//! the outbox — is read when scraped, so it can never drift.

pub mod build_info;
mod gauges;
mod histogram;
mod text;

pub use build_info::write_build_info;
pub use gauges::{write_link, write_outbox, write_store, StoreGauges};
pub use histogram::Histogram;
pub use text::{escape_label, Exposition, CONTENT_TYPE};

use crate::webex::mercury::Event;
use crate::webex::rest::RestObserver;
use chrono::{DateTime, Utc};
use reqwest::Method;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Card posting: normally well under a second, minutes when Webex throttles.
const DELIVERY_BUCKETS: [f64; 11] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0];
/// What `webex_hitl_policy_steps_total` counts, each present from the start.
pub const POLICY_STEPS: [&str; 6] = ["reminded", "escalated", "claimed", "unclaimed", "defaulted", "kept_pending"];
/// A human answering: seconds to hours.
const ANSWER_BUCKETS: [f64; 12] =
    [5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 86400.0];

/// The daemon's counters; one per daemon, shared as `Arc<Metrics>`.
#[derive(Debug)]
pub struct Metrics {
    events: Mutex<BTreeMap<String, u64>>,
    /// (method, status or "error") → attempts.
    rest: Mutex<BTreeMap<(String, String), u64>>,
    rate_limited: AtomicU64,
    /// Steps escalation policies took, by step.
    policy: Mutex<BTreeMap<&'static str, u64>>,
    maybe_lost: AtomicU64,
    /// 1 while this instance runs the singleton chores (always, on SQLite).
    leader: AtomicU64,
    delivery: Mutex<Histogram>,
    answer: Mutex<Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let events = Event::KINDS.iter().map(|kind| ((*kind).to_owned(), 0)).collect();
        Self {
            events: Mutex::new(events),
            rest: Mutex::new(BTreeMap::new()),
            rate_limited: AtomicU64::new(0),
            policy: Mutex::new(POLICY_STEPS.iter().map(|step| (*step, 0)).collect()),
            maybe_lost: AtomicU64::new(0),
            leader: AtomicU64::new(1),
            delivery: Mutex::new(Histogram::new(&DELIVERY_BUCKETS)),
            answer: Mutex::new(Histogram::new(&ANSWER_BUCKETS)),
        }
    }

    /// A Mercury event arrived (duplicates included: they cost work too).
    pub fn event(&self, kind: &str) {
        *lock(&self.events).entry(kind.to_owned()).or_default() += 1;
    }

    /// One HTTP attempt to Webex, retries counted separately.
    pub fn rest_attempt(&self, method: &str, status: Option<u16>) {
        if status == Some(429) {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
        let status = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        *lock(&self.rest).entry((method.to_owned(), status)).or_default() += 1;
    }

    /// An escalation policy took a step: one of [`POLICY_STEPS`].
    pub fn policy_step(&self, step: &'static str) {
        *lock(&self.policy).entry(step).or_default() += 1;
    }

    /// Escalations whose answer an outage longer than Webex's replay window may have lost.
    pub fn maybe_lost(&self, escalations: usize) {
        self.maybe_lost.fetch_add(escalations as u64, Ordering::Relaxed);
    }

    /// A card went out: time from the engine's request to Webex accepting it.
    pub fn delivered(&self, created: DateTime<Utc>, posted: DateTime<Utc>) {
        lock(&self.delivery).observe(seconds_between(created, posted));
    }

    /// Whether this instance leads the chores of a shared store.
    pub fn set_leader(&self, leading: bool) {
        self.leader.store(u64::from(leading), Ordering::Relaxed);
    }

    /// An escalation was answered: time from its card being posted to the answer.
    pub fn answered(&self, posted: DateTime<Utc>, answered: DateTime<Utc>) {
        lock(&self.answer).observe(seconds_between(posted, answered));
    }

    /// Writes the counters and histograms (the scrape adds the gauges).
    pub fn write_counters(&self, out: &mut Exposition) {
        out.family("webex_hitl_events_total", "counter", "Webex events received from Mercury, by type.");
        for (kind, count) in lock(&self.events).iter() {
            out.sample("webex_hitl_events_total", &[("type", kind)], *count as f64);
        }
        out.family("webex_hitl_rest_requests_total", "counter", "HTTP attempts to Webex (REST and WDM), by status.");
        for ((method, status), count) in lock(&self.rest).iter() {
            out.sample("webex_hitl_rest_requests_total", &[("method", method), ("status", status)], *count as f64);
        }
        out.family("webex_hitl_rest_rate_limited_total", "counter", "Webex answers 429 Too Many Requests.");
        out.sample("webex_hitl_rest_rate_limited_total", &[], self.rate_limited.load(Ordering::Relaxed) as f64);
        out.family("webex_hitl_policy_steps_total", "counter", "Steps taken by escalation policies, by step.");
        for (step, count) in lock(&self.policy).iter() {
            out.sample("webex_hitl_policy_steps_total", &[("step", step)], *count as f64);
        }
        out.family(
            "webex_hitl_escalations_maybe_lost_total",
            "counter",
            "Escalations whose card was live during an outage longer than Webex's replay window.",
        );
        out.sample("webex_hitl_escalations_maybe_lost_total", &[], self.maybe_lost.load(Ordering::Relaxed) as f64);
        out.family(
            "webex_hitl_leader",
            "gauge",
            "1 while this instance runs the chores one instance runs for all (resync, retention).",
        );
        out.sample("webex_hitl_leader", &[], self.leader.load(Ordering::Relaxed) as f64);
        out.histogram(
            "webex_hitl_escalation_delivery_seconds",
            "Escalation created until its card was posted.",
            &lock(&self.delivery),
        );
        out.histogram(
            "webex_hitl_escalation_answer_seconds",
            "Escalation card posted until a specialist answered.",
            &lock(&self.answer),
        );
    }
}

impl RestObserver for Metrics {
    fn on_attempt(&self, method: &Method, status: Option<u16>) {
        self.rest_attempt(method.as_str(), status);
    }
}

/// Clock skew or a reordered write must not make a negative latency.
fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    ((to - from).num_microseconds().unwrap_or(0) as f64 / 1e6).max(0.0)
}

/// A counter update cannot leave a map half-written, so a poisoned lock is fine to reuse.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(metrics: &Metrics) -> String {
        let mut out = Exposition::default();
        metrics.write_counters(&mut out);
        out.finish()
    }

    #[test]
    fn counts_events_rest_calls_and_429s() {
        let metrics = Metrics::new();
        metrics.event("card_submitted");
        metrics.event("card_submitted");
        metrics.rest_attempt("GET", Some(200));
        metrics.rest_attempt("POST", Some(429));
        metrics.rest_attempt("POST", None);
        let text = rendered(&metrics);
        assert!(text.contains("webex_hitl_events_total{type=\"card_submitted\"} 2\n"), "{text}");
        assert!(text.contains("webex_hitl_events_total{type=\"member_added\"} 0\n"), "{text}");
        assert!(text.contains("webex_hitl_rest_requests_total{method=\"GET\",status=\"200\"} 1\n"), "{text}");
        assert!(text.contains("webex_hitl_rest_requests_total{method=\"POST\",status=\"429\"} 1\n"), "{text}");
        assert!(text.contains("webex_hitl_rest_requests_total{method=\"POST\",status=\"error\"} 1\n"), "{text}");
        assert!(text.contains("webex_hitl_rest_rate_limited_total 1\n"), "{text}");
    }

    #[test]
    fn latencies_land_in_their_histograms() {
        let metrics = Metrics::new();
        let t0 = Utc::now();
        metrics.delivered(t0, t0 + chrono::Duration::milliseconds(300));
        metrics.answered(t0, t0 + chrono::Duration::seconds(90));
        metrics.answered(t0, t0 - chrono::Duration::seconds(1));
        let text = rendered(&metrics);
        assert!(text.contains("webex_hitl_escalation_delivery_seconds_bucket{le=\"0.25\"} 0\n"), "{text}");
        assert!(text.contains("webex_hitl_escalation_delivery_seconds_bucket{le=\"0.5\"} 1\n"), "{text}");
        assert!(text.contains("webex_hitl_escalation_delivery_seconds_count 1\n"), "{text}");
        assert!(text.contains("webex_hitl_escalation_answer_seconds_bucket{le=\"60\"} 1\n"), "{text}");
        assert!(text.contains("webex_hitl_escalation_answer_seconds_bucket{le=\"120\"} 2\n"), "{text}");
        assert!(text.contains("webex_hitl_escalation_answer_seconds_sum 90\n"), "{text}");
    }
}
