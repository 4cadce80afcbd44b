//! A scripted HTTP server on 127.0.0.1 for network tests of REST and WDM.
//!
//! Each (method, path) gets a queue of canned answers (the last one repeats);
//! every request is recorded so tests can count calls and inspect bodies.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;

use super::{RestClient, RetryPolicy, Transport};
use crate::secret::{Secret, SharedSecret};

pub(crate) const TOKEN: &str = "test-token-123";

/// A card message to a room, as the tests post it.
pub(crate) fn card_message() -> super::NewMessage {
    super::NewMessage {
        to: crate::model::Destination::SpaceId("R1".into()),
        text: Some("fallback".into()),
        markdown: None,
        parent_id: None,
        card: Some(serde_json::json!({"type": "AdaptiveCard", "version": "1.3"})),
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Canned {
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// Answers only after `delay` (to provoke client timeouts).
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub body: String,
    pub authorization: Option<String>,
    pub at: Instant,
}

#[derive(Default)]
struct Script {
    routes: Mutex<HashMap<(String, String), VecDeque<Canned>>>,
    calls: Mutex<Vec<Call>>,
}

pub(crate) struct MockServer {
    pub addr: SocketAddr,
    script: Arc<Script>,
    task: tokio::task::JoinHandle<()>,
}

impl MockServer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let script = Arc::new(Script::default());
        let app = axum::Router::new().fallback(answer).with_state(script.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, script, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn script(&self, method: &str, path: &str, answers: Vec<Canned>) {
        let mut routes = self.script.routes.lock().expect("lock");
        routes.insert((method.to_string(), path.to_string()), answers.into());
    }

    pub fn calls(&self) -> Vec<Call> {
        self.script.calls.lock().expect("lock").clone()
    }

    pub fn count(&self, method: &str, path: &str) -> usize {
        self.calls().iter().filter(|c| c.method == method && c.path == path).count()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    State(script): State<Arc<Script>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    script.calls.lock().expect("lock").push(Call {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        body,
        authorization,
        at: Instant::now(),
    });
    let key = (method.to_string(), uri.path().to_string());
    let canned = {
        let mut routes = script.routes.lock().expect("lock");
        match routes.get_mut(&key) {
            Some(queue) if queue.len() > 1 => queue.pop_front(),
            Some(queue) => queue.front().cloned(),
            None => None,
        }
    };
    let canned = canned.unwrap_or_else(|| Canned::json(418, format!("unscripted {key:?}")));
    tokio::time::sleep(canned.delay).await;
    let mut response = Response::builder()
        .status(StatusCode::from_u16(canned.status).expect("status"))
        .header("trackingid", format!("SIM_{}", canned.status));
    for (name, value) in &canned.headers {
        response = response.header(name, value);
    }
    response.body(Body::from(canned.body)).expect("response")
}

/// Millisecond delays: for tests that are not about waiting.
pub(crate) fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_retry_after: Duration::from_secs(5),
        patience: None,
    }
}

pub(crate) fn token() -> SharedSecret {
    SharedSecret::new(Secret::new(TOKEN))
}

pub(crate) fn transport(policy: RetryPolicy) -> Transport {
    Transport::new(reqwest::Client::new(), token(), policy)
}

pub(crate) fn client(server: &MockServer, policy: RetryPolicy) -> RestClient {
    RestClient::new(reqwest::Client::new(), &server.url("/v1"), token(), policy).expect("client")
}
