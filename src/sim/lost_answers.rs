//! A request Webex carried out whose answer never reached the client: the card
//! is stored, but the client sees a 502 from a proxy in between, or an answer
//! slower than its timeout. Webex has no idempotency key, so a client that
//! posts again makes a second card; the simulator makes that case reproducible.

use super::errors::ApiError;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::Mutex;
use std::time::Duration;

/// What becomes of the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lost {
    /// Replaced by this status (a proxy's 502), after the handler did its work.
    Status(u16),
    /// Sent this much later (past the client's timeout).
    Delay(Duration),
}

/// The next `count` requests (of `method`, whose path contains `path`) are
/// carried out, and their answers lost.
#[derive(Clone, Debug)]
pub struct LostAnswers {
    pub count: usize,
    pub method: Option<Method>,
    pub path: Option<String>,
    pub lost: Lost,
}

#[derive(Debug, Default)]
pub struct LostAnswerSlot(Mutex<Option<LostAnswers>>);

impl LostAnswerSlot {
    pub fn arm(&self, lost: LostAnswers) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = (lost.count > 0).then_some(lost);
    }

    /// Consumes one armed loss for this request, if one matches.
    pub fn take(&self, method: &Method, path: &str) -> Option<Lost> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let armed = slot.as_mut()?;
        let method_matches = armed.method.as_ref().is_none_or(|m| m == method);
        if !method_matches || armed.path.as_deref().is_some_and(|part| !path.contains(part)) {
            return None;
        }
        armed.count -= 1;
        let lost = armed.lost.clone();
        if armed.count == 0 {
            *slot = None;
        }
        Some(lost)
    }
}

/// The answer the client gets instead of `done`, the handler's own.
pub async fn lose(lost: Lost, done: Response) -> Response {
    match lost {
        Lost::Status(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            let message = format!(
                "{} (the request was carried out; its answer was lost)",
                status.canonical_reason().unwrap_or("Error")
            );
            ApiError { status, message, retry_after: None }.into_response()
        }
        Lost::Delay(delay) => {
            tokio::time::sleep(delay).await;
            done
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_match_method_and_path_and_run_out() {
        let slot = LostAnswerSlot::default();
        slot.arm(LostAnswers {
            count: 1,
            method: Some(Method::POST),
            path: Some("/messages".into()),
            lost: Lost::Status(502),
        });
        assert_eq!(slot.take(&Method::GET, "/v1/messages/x"), None);
        assert_eq!(slot.take(&Method::POST, "/v1/rooms"), None);
        assert_eq!(slot.take(&Method::POST, "/v1/messages"), Some(Lost::Status(502)));
        assert_eq!(slot.take(&Method::POST, "/v1/messages"), None);
    }
}
