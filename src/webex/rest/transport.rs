//! The one place that sends an HTTP request to Webex: bearer token, retries,
//! error mapping and failure logging. REST calls and WDM calls both go through
//! [`Transport::send`], so 429 handling and TrackingID logging are uniform.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::episode::Episodes;
use super::error::RestError;
use super::retry::{self, RetryPolicy};
use crate::secret::SharedSecret;
use tokio_util::sync::CancellationToken;

/// A successful answer: the decoded body plus the headers callers need (Link).
#[derive(Debug)]
pub struct Response<T> {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: T,
}

impl<T> Response<T> {
    pub fn tracking_id(&self) -> Option<&str> {
        tracking_id(&self.headers)
    }
}

/// Webex's `TrackingID` response header.
pub fn tracking_id(headers: &HeaderMap) -> Option<&str> {
    headers.get("trackingid").and_then(|v| v.to_str().ok())
}

/// Sees every HTTP attempt's outcome (retries included), for metrics; kept a
/// trait so this module knows nothing of who counts.
pub trait RestObserver: Send + Sync {
    /// `status` is `None` when no answer came back (network failure).
    fn on_attempt(&self, method: &Method, status: Option<u16>);
}

/// Sends authenticated JSON requests to absolute URLs, with the retry policy.
#[derive(Clone)]
pub struct Transport {
    http: reqwest::Client,
    token: SharedSecret,
    policy: RetryPolicy,
    observers: Vec<Arc<dyn RestObserver>>,
    /// Ends a wait between attempts (a `Retry-After` can be minutes) at shutdown.
    shutdown: CancellationToken,
    /// Shared by every clone: an outage is one episode whoever meets it.
    episodes: Arc<Episodes>,
}

/// One failed attempt: the error, and the `Retry-After` of a 5xx answer.
struct Failure {
    error: RestError,
    server_retry_after: Option<Duration>,
}

impl Transport {
    pub fn new(http: reqwest::Client, token: SharedSecret, policy: RetryPolicy) -> Self {
        Self {
            http,
            token,
            policy,
            observers: Vec::new(),
            shutdown: CancellationToken::new(),
            episodes: Arc::default(),
        }
    }

    /// The same transport, giving up waiting to retry once `shutdown` fires
    /// (the failure that made it wait is returned).
    pub fn stopped_by(mut self, shutdown: CancellationToken) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// The same transport, reporting every attempt to `observer` too.
    pub fn observed(mut self, observer: Arc<dyn RestObserver>) -> Self {
        self.observers.push(observer);
        self
    }

    /// The same transport with another retry policy.
    pub fn with_policy(&self, policy: RetryPolicy) -> Self {
        Self { policy, ..self.clone() }
    }

    /// The same transport (connections, policy) with another token and no
    /// observers: for checking a candidate token without it counting as ours.
    pub fn with_token(&self, token: SharedSecret) -> Self {
        Self { token, observers: Vec::new(), ..self.clone() }
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Sends `method url` with an optional JSON body, retrying per the policy.
    /// An empty body (e.g. 204) decodes as JSON `null`, so `T = ()` fits.
    pub async fn send<T, B>(&self, method: Method, url: &str, body: Option<&B>) -> Result<Response<T>, RestError>
    where
        T: DeserializeOwned,
        B: Serialize + ?Sized,
    {
        let url = Url::parse(url).map_err(|e| RestError::Config(format!("bad URL {url}: {e}")))?;
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| RestError::Invalid { field: "request body", reason: e.to_string() })?;
        let max_attempts = self.policy.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let result = self.attempt(&method, &url, body.as_deref()).await;
            for observer in &self.observers {
                observer.on_attempt(&method, attempt_status(&result));
            }
            let failure = match result {
                Ok(response) => {
                    self.episodes.succeeded();
                    return Ok(response);
                }
                Err(failure) => failure,
            };
            self.episodes.failed(&method, url.path(), attempt, &failure.error);
            if attempt >= max_attempts || !retry::should_retry(&method, &failure.error) {
                return Err(failure.error);
            }
            let delay =
                retry::delay_for(&failure.error, attempt, failure.server_retry_after, &self.policy, &mut rand::rng());
            if self.policy.patience.is_some_and(|patience| delay > patience) {
                return Err(failure.error);
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.shutdown.cancelled() => return Err(failure.error),
            }
            attempt += 1;
        }
    }

    pub async fn get<T: DeserializeOwned>(&self, url: &str) -> Result<Response<T>, RestError> {
        self.send::<T, ()>(Method::GET, url, None).await
    }

    pub async fn delete(&self, url: &str) -> Result<(), RestError> {
        self.send::<serde::de::IgnoredAny, ()>(Method::DELETE, url, None).await.map(|_| ())
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
    ) -> Result<Response<T>, Failure> {
        let mut request = self
            .http
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, self.authorization()?)
            .header(ACCEPT, "application/json");
        if let Some(bytes) = body {
            request = request.header(CONTENT_TYPE, "application/json").body(bytes.to_vec());
        }
        let response = request.send().await.map_err(network_failure)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.map_err(network_failure)?;
        if !(200..300).contains(&status) {
            return Err(status_failure(status, &headers, &bytes, &self.policy));
        }
        let body = decode::<T>(&bytes).map_err(|message| Failure {
            error: RestError::Decode { what: "response body", message },
            server_retry_after: None,
        })?;
        Ok(Response { status, headers, body })
    }
}

impl Transport {
    /// The header is built per request: the token may be reloaded at run time.
    fn authorization(&self) -> Result<HeaderValue, Failure> {
        let token = self.token.get();
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| Failure {
            error: RestError::Config("the bot token contains characters that cannot go in an HTTP header".into()),
            server_retry_after: None,
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

fn attempt_status<T>(result: &Result<Response<T>, Failure>) -> Option<u16> {
    match result {
        Ok(response) => Some(response.status),
        Err(failure) => failure.error.status(),
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let trimmed = bytes.trim_ascii();
    let json: &[u8] = if trimmed.is_empty() { b"null" } else { trimmed };
    serde_json::from_slice(json).map_err(|e| e.to_string())
}

fn network_failure(e: reqwest::Error) -> Failure {
    // Only a failed connect proves the request never reached Webex.
    let sent = !e.is_connect();
    let mut message = error_chain(&e);
    if untrusted_certificate(&e) {
        message.push_str(UNTRUSTED_HINT);
    }
    Failure { error: RestError::Network { message, sent }, server_retry_after: None }
}

/// What the operator can do about a certificate that fails verification.
const UNTRUSTED_HINT: &str = " (the server's TLS certificate is not trusted: if a TLS-inspecting proxy \
    re-signs HTTPS, put its CA certificate (PEM) in webex.ca_file)";

/// Whether rustls rejected the peer's certificate somewhere in the chain.
/// hyper wraps it in an `io::Error`, whose `source()` skips the inner error.
fn untrusted_certificate(e: &(dyn std::error::Error + 'static)) -> bool {
    let is_invalid = |e: &(dyn std::error::Error + 'static)| {
        matches!(e.downcast_ref::<rustls::Error>(), Some(rustls::Error::InvalidCertificate(_)))
    };
    let mut cause = Some(e);
    while let Some(error) = cause {
        let inner = error.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref());
        if is_invalid(error) || inner.is_some_and(|inner| is_invalid(inner)) {
            return true;
        }
        cause = error.source();
    }
    false
}

fn status_failure(status: u16, headers: &HeaderMap, body: &[u8], policy: &RetryPolicy) -> Failure {
    let header = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now();
    let asked = match status {
        429 | 423 => Some(retry::retry_after_delay(header, now, policy, &mut rand::rng())),
        _ => None,
    };
    let server_retry_after = header.and_then(|h| retry::parse_retry_after(h, now));
    let tracking = tracking_id(headers).map(str::to_string);
    Failure { error: RestError::from_status(status, body, tracking, asked), server_retry_after }
}

/// The error and its causes on one line ("error sending request: connection refused").
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_id_header_is_found_case_insensitively() {
        let mut headers = HeaderMap::new();
        headers.insert("TrackingID", HeaderValue::from_static("ROUTER_1"));
        assert_eq!(tracking_id(&headers), Some("ROUTER_1"));
        assert_eq!(tracking_id(&HeaderMap::new()), None);
    }

    #[test]
    fn empty_bodies_decode_as_null() {
        assert_eq!(decode::<()>(b""), Ok(()));
        assert_eq!(decode::<Option<u8>>(b"  \n"), Ok(None));
        assert!(decode::<u8>(b"<html>").is_err());
    }

    #[test]
    fn status_failure_uses_retry_after_for_429() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        headers.insert("trackingid", HeaderValue::from_static("T1"));
        let f = status_failure(429, &headers, b"", &RetryPolicy::default());
        match f.error {
            RestError::RateLimited { retry_after, tracking_id } => {
                assert_eq!(retry_after, Duration::from_secs(7));
                assert_eq!(tracking_id.as_deref(), Some("T1"));
            }
            other => panic!("unexpected {other:?}"),
        }
        let f = status_failure(503, &headers, b"", &RetryPolicy::default());
        assert_eq!(f.server_retry_after, Some(Duration::from_secs(7)));
    }
}
