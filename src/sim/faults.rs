//! Fault switches that tests flip to reproduce what real Webex does on bad days.
//!
//! Socket-level faults (drop, close, shutdown, injected frames) are commands
//! broadcast to the live Mercury connections; the switches here are read by the
//! HTTP layers. An injected failure can hit REST, WDM, U2C or the websocket
//! upgrade, and its `Retry-After` can be seconds, an HTTP date or garbage:
//! RFC 9110 allows the first two and clients meet the third.

use super::errors::ApiError;
use super::handle::Shared;
use super::lost_answers::LostAnswerSlot;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A command to every live Mercury connection.
#[derive(Clone, Debug)]
pub enum ConnCommand {
    /// Drop the TCP connection without a close frame.
    Drop,
    /// Send a close frame with this code and reason.
    Close(u16, String),
    /// Announce a planned close, then close with 4001 if the client stays.
    Shutdown,
    /// A newer connection authorized on this registration: close the others with 4000.
    Replaced { registration: String, keep: u64 },
    /// Send this frame as it is (not buffered, not redelivered).
    Inject(Injection),
}

/// A frame outside the activity buffer, as Mercury sends typing notices and KMS traffic.
#[derive(Clone, Debug)]
pub enum Injection {
    /// A JSON frame; the connection stamps its `sequenceNumber`.
    Json(serde_json::Value),
    /// A binary websocket frame.
    Binary(Vec<u8>),
}

/// How an injected failure says when to retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: 7`.
    Seconds(u64),
    /// An HTTP date this many seconds from now (`Retry-After: Wed, 21 Oct 2026 07:28:00 GMT`).
    HttpDateIn(u64),
    /// Sent verbatim, however malformed.
    Raw(String),
}

impl RetryAfter {
    pub fn header_value(&self) -> String {
        match self {
            RetryAfter::Seconds(s) => s.to_string(),
            RetryAfter::HttpDateIn(s) => {
                let at = chrono::Utc::now() + chrono::Duration::seconds(i64::try_from(*s).unwrap_or(i64::MAX / 1000));
                at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
            }
            RetryAfter::Raw(raw) => raw.clone(),
        }
    }
}

/// The next `count` calls (whose path contains `path`, when given) fail with `status`.
#[derive(Clone, Debug, Default)]
pub struct Failure {
    pub count: usize,
    pub status: u16,
    pub retry_after: Option<RetryAfter>,
    /// Only requests whose path contains this fail (e.g. `/rooms/`); others pass.
    pub path: Option<String>,
}

/// The HTTP-level fault switches.
#[derive(Debug)]
pub struct Faults {
    answer_pings: AtomicBool,
    refuse_card_edits: AtomicBool,
    lose_acks: AtomicBool,
    stall_upgrades: AtomicBool,
    rest: Mutex<Option<Failure>>,
    wdm: Mutex<Option<Failure>>,
    u2c: Mutex<Option<Failure>>,
    upgrade: Mutex<Option<Failure>>,
    /// REST requests carried out whose answers are lost.
    pub lost_answers: LostAnswerSlot,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            answer_pings: AtomicBool::new(true),
            refuse_card_edits: AtomicBool::new(false),
            lose_acks: AtomicBool::new(false),
            stall_upgrades: AtomicBool::new(false),
            rest: Mutex::new(None),
            wdm: Mutex::new(None),
            u2c: Mutex::new(None),
            upgrade: Mutex::new(None),
            lost_answers: LostAnswerSlot::default(),
        }
    }
}

/// Which family of endpoints an injected failure applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultTarget {
    /// `/v1`.
    Rest,
    /// `/wdm`.
    Wdm,
    /// `/u2c` (service discovery).
    U2c,
    /// The Mercury websocket upgrade request.
    Upgrade,
}

impl Faults {
    fn slot(&self, target: FaultTarget) -> &Mutex<Option<Failure>> {
        match target {
            FaultTarget::Rest => &self.rest,
            FaultTarget::Wdm => &self.wdm,
            FaultTarget::U2c => &self.u2c,
            FaultTarget::Upgrade => &self.upgrade,
        }
    }

    pub fn fail_next(&self, target: FaultTarget, n: usize, status: u16, retry_after: Option<u64>) {
        let retry_after = retry_after.map(RetryAfter::Seconds);
        self.arm(target, Failure { count: n, status, retry_after, path: None });
    }

    /// Arms `failure` for `target`, replacing what was armed there.
    pub fn arm(&self, target: FaultTarget, failure: Failure) {
        let armed = (failure.count > 0).then_some(failure);
        *self.slot(target).lock().unwrap_or_else(|e| e.into_inner()) = armed;
    }

    /// Consumes one injected failure for a request to `path`, if one is armed.
    pub fn take(&self, target: FaultTarget, path: &str) -> Option<ApiError> {
        let mut slot = self.slot(target).lock().unwrap_or_else(|e| e.into_inner());
        let armed = slot.as_mut()?;
        if armed.path.as_deref().is_some_and(|part| !path.contains(part)) {
            return None;
        }
        armed.count -= 1;
        let (status, retry_after) = (armed.status, armed.retry_after.clone());
        if armed.count == 0 {
            *slot = None;
        }
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = match status.as_u16() {
            429 => "Too many requests have been sent in a given amount of time.".to_owned(),
            _ => format!("{} (injected by the simulator)", status.canonical_reason().unwrap_or("Error")),
        };
        Some(ApiError { status, message, retry_after })
    }

    pub fn set_answer_pings(&self, answer: bool) {
        self.answer_pings.store(answer, Ordering::SeqCst);
    }

    pub fn set_lose_acks(&self, lose: bool) {
        self.lose_acks.store(lose, Ordering::SeqCst);
    }

    pub fn lose_acks(&self) -> bool {
        self.lose_acks.load(Ordering::SeqCst)
    }

    pub fn answer_pings(&self) -> bool {
        self.answer_pings.load(Ordering::SeqCst)
    }

    pub fn set_refuse_card_edits(&self, refuse: bool) {
        self.refuse_card_edits.store(refuse, Ordering::SeqCst);
    }

    pub fn refuse_card_edits(&self) -> bool {
        self.refuse_card_edits.load(Ordering::SeqCst)
    }

    pub fn set_stall_upgrades(&self, stall: bool) {
        self.stall_upgrades.store(stall, Ordering::SeqCst);
    }

    pub fn stall_upgrades(&self) -> bool {
        self.stall_upgrades.load(Ordering::SeqCst)
    }
}

async fn inject(shared: &Shared, target: FaultTarget, req: Request, next: Next) -> Response {
    match shared.faults.take(target, req.uri().path()) {
        Some(err) => err.into_response(),
        None => next.run(req).await,
    }
}

/// Middleware for `/v1`: answers with an armed failure instead of the handler,
/// or loses the handler's answer after it did its work.
pub async fn fail_rest(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let lost = shared.faults.lost_answers.take(req.method(), req.uri().path());
    let answer = inject(&shared, FaultTarget::Rest, req, next).await;
    match lost {
        Some(lost) => super::lost_answers::lose(lost, answer).await,
        None => answer,
    }
}

/// Middleware for `/wdm`.
pub async fn fail_wdm(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    inject(&shared, FaultTarget::Wdm, req, next).await
}

/// Middleware for `/u2c`.
pub async fn fail_u2c(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    inject(&shared, FaultTarget::U2c, req, next).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_failures_run_out() {
        let f = Faults::default();
        f.fail_next(FaultTarget::Rest, 2, 429, Some(3));
        let e = f.take(FaultTarget::Rest, "/v1/x").unwrap();
        assert_eq!((e.status.as_u16(), e.retry_after), (429, Some(RetryAfter::Seconds(3))));
        assert!(f.take(FaultTarget::Wdm, "/wdm/x").is_none());
        assert!(f.take(FaultTarget::Rest, "/v1/x").is_some());
        assert!(f.take(FaultTarget::Rest, "/v1/x").is_none());
    }

    #[test]
    fn a_matching_fault_spares_other_paths() {
        let f = Faults::default();
        let failure =
            Failure { count: 1, status: 429, retry_after: Some(RetryAfter::Seconds(3)), path: Some("/rooms/".into()) };
        f.arm(FaultTarget::Rest, failure);
        assert!(f.take(FaultTarget::Rest, "/v1/people/me").is_none());
        assert!(f.take(FaultTarget::Rest, "/v1/rooms").is_none(), "the list is not a single-room lookup");
        let e = f.take(FaultTarget::Rest, "/v1/rooms/abc").unwrap();
        assert_eq!(e.status.as_u16(), 429);
        assert!(f.take(FaultTarget::Rest, "/v1/rooms/abc").is_none());
    }

    #[test]
    fn retry_after_comes_in_three_forms() {
        assert_eq!(RetryAfter::Seconds(7).header_value(), "7");
        assert_eq!(RetryAfter::Raw("soon-ish".into()).header_value(), "soon-ish");
        let date = RetryAfter::HttpDateIn(60).header_value();
        let parsed = chrono::DateTime::parse_from_rfc2822(&date.replace("GMT", "+0000")).expect("an HTTP date");
        let ahead = parsed.with_timezone(&chrono::Utc) - chrono::Utc::now();
        assert!((55..=60).contains(&ahead.num_seconds()), "{date}: {ahead}");
    }

    #[test]
    fn u2c_and_upgrade_failures_are_their_own() {
        let f = Faults::default();
        f.fail_next(FaultTarget::U2c, 1, 429, Some(1));
        f.fail_next(FaultTarget::Upgrade, 1, 429, Some(2));
        assert!(f.take(FaultTarget::Rest, "/v1/x").is_none());
        assert_eq!(f.take(FaultTarget::U2c, "/u2c/api/v1/catalog").unwrap().retry_after, Some(RetryAfter::Seconds(1)));
        assert_eq!(f.take(FaultTarget::Upgrade, "/mercury/x").unwrap().retry_after, Some(RetryAfter::Seconds(2)));
    }
}
