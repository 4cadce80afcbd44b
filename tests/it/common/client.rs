//! The one client the integration tests talk to the daemon through: the CLI's
//! own [`ApiClient`], with every answer checked against the OpenAPI document
//! ([`super::contract`]) before the test sees it.

use super::contract;
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use std::path::Path;
use webex_hitl::cli::client::{Answer, ApiClient, ClientError, Reply};

#[derive(Debug, Clone)]
pub struct Client {
    inner: ApiClient,
}

impl Client {
    pub fn new(socket: impl AsRef<Path>) -> Self {
        Self { inner: ApiClient::new(socket) }
    }

    pub async fn get(&self, path: &str) -> Result<Answer, ClientError> {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &serde_json::Value) -> Result<Answer, ClientError> {
        self.request(Method::POST, path, Some(body.to_string())).await
    }

    pub async fn request(&self, method: Method, path: &str, body: Option<String>) -> Result<Answer, ClientError> {
        let reply = self.exchange(method, path, &[], body).await?;
        let body = if reply.body.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&reply.body).map_err(|_| ClientError::NotJson {
                status: reply.status,
                body: String::from_utf8_lossy(&reply.body).chars().take(300).collect(),
            })?
        };
        Ok(Answer { status: reply.status, body })
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        self.exchange(method, path, &[], body).await.map(|reply| (reply.status, reply.body))
    }

    /// A request with extra headers; the whole answer, validated.
    pub async fn exchange(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Reply, ClientError> {
        let reply = self.inner.exchange(method.clone(), path, headers, body).await?;
        let content_type = reply.headers.get(hyper::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        contract::check(method.as_str(), path, reply.status.as_u16(), content_type, &reply.body);
        Ok(reply)
    }

    /// A streamed SSE answer (`Accept: text/event-stream` added), line by line;
    /// each `data:` line is validated as an event line.
    pub async fn stream_sse(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        mut on_line: impl FnMut(&str) -> bool,
    ) -> Result<(), ClientError> {
        let mut all = vec![("Accept", "text/event-stream")];
        all.extend_from_slice(headers);
        self.inner
            .stream_lines_with(path, &all, |line| {
                if let Some(data) = line.strip_prefix("data: ") {
                    contract::check_line("GET", path, data);
                }
                on_line(line)
            })
            .await
    }

    /// A streamed NDJSON answer, each line validated before `on_line` sees it.
    pub async fn stream_lines(&self, path: &str, mut on_line: impl FnMut(&str) -> bool) -> Result<(), ClientError> {
        self.inner
            .stream_lines(path, |line| {
                if !line.trim().is_empty() {
                    contract::check_line("GET", path, line);
                }
                on_line(line)
            })
            .await
    }
}
