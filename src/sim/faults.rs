//! Fault switches that tests flip to reproduce what real Webex does on bad days.
//!
//! Socket-level faults (drop, close, shutdown) are commands broadcast to the
//! live Mercury connections; the switches here are read by the HTTP layers.

use super::errors::ApiError;
use super::handle::Shared;
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
}

#[derive(Clone, Debug)]
struct Injected {
    remaining: usize,
    status: u16,
    retry_after: Option<u64>,
    /// Only requests whose path contains this fail (e.g. `/rooms/`); others pass.
    path_part: Option<String>,
}

/// The HTTP-level fault switches.
#[derive(Debug)]
pub struct Faults {
    answer_pings: AtomicBool,
    refuse_card_edits: AtomicBool,
    lose_acks: AtomicBool,
    stall_upgrades: AtomicBool,
    rest: Mutex<Option<Injected>>,
    wdm: Mutex<Option<Injected>>,
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
        }
    }
}

/// Which family of endpoints an injected failure applies to.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    Rest,
    Wdm,
}

impl Faults {
    fn slot(&self, target: Target) -> &Mutex<Option<Injected>> {
        match target {
            Target::Rest => &self.rest,
            Target::Wdm => &self.wdm,
        }
    }

    pub fn fail_next(&self, target: Target, n: usize, status: u16, retry_after: Option<u64>) {
        self.fail_next_matching(target, None, n, status, retry_after);
    }

    pub fn fail_next_matching(
        &self,
        target: Target,
        path_part: Option<&str>,
        n: usize,
        status: u16,
        retry_after: Option<u64>,
    ) {
        let path_part = path_part.map(str::to_owned);
        let injected = (n > 0).then_some(Injected { remaining: n, status, retry_after, path_part });
        *self.slot(target).lock().unwrap_or_else(|e| e.into_inner()) = injected;
    }

    /// Consumes one injected failure for a request to `path`, if one is armed.
    fn take(&self, target: Target, path: &str) -> Option<ApiError> {
        let mut slot = self.slot(target).lock().unwrap_or_else(|e| e.into_inner());
        let injected = slot.as_mut()?;
        if injected.path_part.as_deref().is_some_and(|part| !path.contains(part)) {
            return None;
        }
        injected.remaining -= 1;
        let (status, retry_after) = (injected.status, injected.retry_after);
        if injected.remaining == 0 {
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

async fn inject(shared: &Shared, target: Target, req: Request, next: Next) -> Response {
    match shared.faults.take(target, req.uri().path()) {
        Some(err) => err.into_response(),
        None => next.run(req).await,
    }
}

/// Middleware for `/v1`: answers with an armed failure instead of the handler.
pub async fn fail_rest(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    inject(&shared, Target::Rest, req, next).await
}

/// Middleware for `/wdm`.
pub async fn fail_wdm(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    inject(&shared, Target::Wdm, req, next).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_failures_run_out() {
        let f = Faults::default();
        f.fail_next(Target::Rest, 2, 429, Some(3));
        let e = f.take(Target::Rest, "/v1/x").unwrap();
        assert_eq!((e.status.as_u16(), e.retry_after), (429, Some(3)));
        assert!(f.take(Target::Wdm, "/wdm/x").is_none());
        assert!(f.take(Target::Rest, "/v1/x").is_some());
        assert!(f.take(Target::Rest, "/v1/x").is_none());
    }

    #[test]
    fn a_matching_fault_spares_other_paths() {
        let f = Faults::default();
        f.fail_next_matching(Target::Rest, Some("/rooms/"), 1, 429, Some(3));
        assert!(f.take(Target::Rest, "/v1/people/me").is_none());
        assert!(f.take(Target::Rest, "/v1/rooms").is_none(), "the list is not a single-room lookup");
        let e = f.take(Target::Rest, "/v1/rooms/abc").unwrap();
        assert_eq!((e.status.as_u16(), e.retry_after), (429, Some(3)));
        assert!(f.take(Target::Rest, "/v1/rooms/abc").is_none());
    }
}
