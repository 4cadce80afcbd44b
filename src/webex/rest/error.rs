//! What can go wrong talking to Webex, in words an operator can act on.
//!
//! Every HTTP failure becomes one [`RestError`] variant; the retry loop and the
//! callers decide from the variant, never from raw status codes. Webex error
//! bodies are parsed defensively: proxies and load balancers answer with HTML.

use std::time::Duration;

use serde::Deserialize;

/// How a failure should be treated by whoever may try again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryKind {
    /// The connection failed (it may or may not have reached Webex).
    Network,
    /// Webex is busy or briefly broken: try again later.
    Transient { retry_after: Option<Duration> },
    /// Trying again will give the same answer.
    Permanent,
}

/// A failed Webex call.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    #[error("Webex rejected the bot token (401): {message}{}", tid(tracking_id))]
    Unauthorized { message: String, tracking_id: Option<String> },
    #[error("Webex refused the request (403): {message}{}", tid(tracking_id))]
    Forbidden { message: String, tracking_id: Option<String> },
    #[error("not found (404) — the bot may not be in that room: {message}{}", tid(tracking_id))]
    NotFound { message: String, tracking_id: Option<String> },
    #[error(
        "Webex is rate limiting the bot (429): still limited after retrying, \
         asked to wait {}s{}",
        retry_after.as_secs(),
        tid(tracking_id)
    )]
    RateLimited { retry_after: Duration, tracking_id: Option<String> },
    #[error("the resource is locked (423): {message}{}", tid(tracking_id))]
    Locked { retry_after: Option<Duration>, message: String, tracking_id: Option<String> },
    #[error("Webex rejected the request ({status}): {message}{}", tid(tracking_id))]
    BadRequest { status: u16, message: String, tracking_id: Option<String> },
    #[error("Webex server error ({status}): {message}{}", tid(tracking_id))]
    Server { status: u16, message: String, tracking_id: Option<String> },
    #[error("cannot reach Webex{}: {message}", if *sent { " (the request may have arrived)" } else { "" })]
    Network { message: String, sent: bool },
    #[error("unexpected answer from Webex for {what}: {message}")]
    Decode { what: &'static str, message: String },
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("bad Webex configuration: {0}")]
    Config(String),
}

fn tid(tracking_id: &Option<String>) -> String {
    match tracking_id {
        Some(id) => format!(" [TrackingID {id}]"),
        None => String::new(),
    }
}

impl RestError {
    pub fn retry_kind(&self) -> RetryKind {
        match self {
            RestError::Network { .. } => RetryKind::Network,
            RestError::RateLimited { retry_after, .. } => RetryKind::Transient { retry_after: Some(*retry_after) },
            RestError::Locked { retry_after, .. } => RetryKind::Transient { retry_after: *retry_after },
            RestError::Server { status: 500 | 502 | 503 | 504, .. } => RetryKind::Transient { retry_after: None },
            _ => RetryKind::Permanent,
        }
    }

    /// The HTTP status Webex answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            RestError::Unauthorized { .. } => Some(401),
            RestError::Forbidden { .. } => Some(403),
            RestError::NotFound { .. } => Some(404),
            RestError::RateLimited { .. } => Some(429),
            RestError::Locked { .. } => Some(423),
            RestError::BadRequest { status, .. } | RestError::Server { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Webex's TrackingID for this failure: quote it to Cisco support.
    pub fn tracking_id(&self) -> Option<&str> {
        match self {
            RestError::Unauthorized { tracking_id, .. }
            | RestError::Forbidden { tracking_id, .. }
            | RestError::NotFound { tracking_id, .. }
            | RestError::RateLimited { tracking_id, .. }
            | RestError::Locked { tracking_id, .. }
            | RestError::BadRequest { tracking_id, .. }
            | RestError::Server { tracking_id, .. } => tracking_id.as_deref(),
            _ => None,
        }
    }

    /// The error for a non-success answer. `retry_after` is the wait already
    /// derived from the `Retry-After` header (see `retry::retry_after_delay`).
    pub fn from_status(
        status: u16,
        body: &[u8],
        header_tracking_id: Option<String>,
        retry_after: Option<Duration>,
    ) -> RestError {
        let parsed = ErrorBody::parse(body);
        let message = parsed.message;
        let tracking_id = header_tracking_id.or(parsed.tracking_id);
        match status {
            401 => RestError::Unauthorized { message, tracking_id },
            403 => RestError::Forbidden { message, tracking_id },
            404 => RestError::NotFound { message, tracking_id },
            423 => RestError::Locked { retry_after, message, tracking_id },
            429 => RestError::RateLimited { retry_after: retry_after.unwrap_or_default(), tracking_id },
            500..=599 => RestError::Server { status, message, tracking_id },
            _ => RestError::BadRequest { status, message, tracking_id },
        }
    }
}

/// The useful parts of a Webex error body.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ErrorBody {
    pub message: String,
    pub tracking_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireError {
    message: Option<String>,
    #[serde(default)]
    errors: Option<Vec<WireErrorItem>>,
    tracking_id: Option<String>,
}

#[derive(Deserialize)]
struct WireErrorItem {
    description: Option<String>,
}

const EXCERPT_CHARS: usize = 200;

impl ErrorBody {
    pub(crate) fn parse(body: &[u8]) -> ErrorBody {
        if let Ok(wire) = serde_json::from_slice::<WireError>(body) {
            let described = wire
                .errors
                .unwrap_or_default()
                .into_iter()
                .filter_map(|e| e.description)
                .filter(|d| !d.trim().is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            let message = match wire.message {
                Some(m) if !m.trim().is_empty() => m,
                _ if !described.is_empty() => described,
                _ => excerpt(body),
            };
            return ErrorBody { message, tracking_id: wire.tracking_id };
        }
        ErrorBody { message: excerpt(body), tracking_id: None }
    }
}

/// A short single-line excerpt of a body that is not Webex's JSON.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.is_empty() {
        return "(empty body)".to_string();
    }
    let mut short: String = flat.chars().take(EXCERPT_CHARS).collect();
    if flat.chars().count() > EXCERPT_CHARS {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOT_FOUND: &str = include_str!("../../../tests/fixtures/frames/rest-error-404-room.json");

    #[test]
    fn webex_error_body_gives_message_and_tracking_id() {
        let body = ErrorBody::parse(NOT_FOUND.as_bytes());
        assert_eq!(body.message, "Could not find a room with provided ID.");
        assert_eq!(body.tracking_id.as_deref(), Some("ROUTER_674474D0-4D3A-01BB-0C5A-0AFA6F2E0C5A"));
    }

    #[test]
    fn descriptions_stand_in_for_a_missing_message() {
        let body = ErrorBody::parse(br#"{"errors":[{"description":"a"},{"description":"b"}]}"#);
        assert_eq!(body.message, "a; b");
        assert_eq!(body.tracking_id, None);
    }

    #[test]
    fn html_and_empty_bodies_become_short_excerpts() {
        let html = format!("<html>\n<body>{}</body></html>", "x".repeat(500));
        let body = ErrorBody::parse(html.as_bytes());
        assert!(body.message.starts_with("<html> <body>xxx"));
        assert!(body.message.chars().count() <= EXCERPT_CHARS + 1);
        assert_eq!(ErrorBody::parse(b"").message, "(empty body)");
        assert_eq!(ErrorBody::parse(b"null").message, "null");
    }

    #[test]
    fn header_tracking_id_wins_over_body() {
        let err = RestError::from_status(404, NOT_FOUND.as_bytes(), Some("HDR".into()), None);
        assert_eq!(err.tracking_id(), Some("HDR"));
        assert_eq!(err.status(), Some(404));
        let text = err.to_string();
        assert!(text.starts_with("not found (404) — the bot may not be in that room"));
        assert!(text.contains("[TrackingID HDR]"), "{text}");
    }

    #[test]
    fn statuses_map_to_variants_and_retry_kinds() {
        let e = |s| RestError::from_status(s, b"{}", None, Some(Duration::from_secs(3)));
        assert!(matches!(e(401), RestError::Unauthorized { .. }));
        assert!(e(401).to_string().starts_with("Webex rejected the bot token (401)"));
        assert!(matches!(e(403), RestError::Forbidden { .. }));
        assert!(matches!(e(409), RestError::BadRequest { status: 409, .. }));
        assert_eq!(e(429).retry_kind(), RetryKind::Transient { retry_after: Some(Duration::from_secs(3)) });
        assert!(matches!(e(423).retry_kind(), RetryKind::Transient { .. }));
        assert!(matches!(e(502).retry_kind(), RetryKind::Transient { .. }));
        assert_eq!(e(501).retry_kind(), RetryKind::Permanent);
        assert_eq!(e(400).retry_kind(), RetryKind::Permanent);
        let net = RestError::Network { message: "refused".into(), sent: false };
        assert_eq!(net.retry_kind(), RetryKind::Network);
        assert_eq!(net.status(), None);
    }
}
