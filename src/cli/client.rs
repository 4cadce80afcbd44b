//! A small HTTP/1.1 client over the daemon's Unix socket, for the CLI verbs
//! (and the tests, which talk to the daemon exactly as an engine would).

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::path::{Path, PathBuf};
use tokio::net::UnixStream;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "cannot reach the daemon at {path}: {source} (is `webex-hitl serve` running, and may you open its socket?)"
    )]
    Connect { path: PathBuf, source: std::io::Error },
    #[error("talking to the daemon: {0}")]
    Http(String),
    #[error("the daemon answered {status} with a body that is not JSON: {body}")]
    NotJson { status: StatusCode, body: String },
}

#[derive(Debug, Clone)]
pub struct ApiClient {
    socket: PathBuf,
}

/// A JSON answer with its status.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub body: serde_json::Value,
}

impl ApiClient {
    pub fn new(socket: impl AsRef<Path>) -> Self {
        Self { socket: socket.as_ref().to_owned() }
    }

    pub async fn get(&self, path: &str) -> Result<Answer, ClientError> {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &serde_json::Value) -> Result<Answer, ClientError> {
        self.request(Method::POST, path, Some(body.to_string())).await
    }

    pub async fn request(&self, method: Method, path: &str, body: Option<String>) -> Result<Answer, ClientError> {
        let (status, bytes) = self.raw(method, path, body).await?;
        let body = if bytes.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|_| ClientError::NotJson {
                status,
                body: String::from_utf8_lossy(&bytes).chars().take(300).collect(),
            })?
        };
        Ok(Answer { status, body })
    }

    /// One HTTP/1.1 connection to the daemon; the caller drives `connection`.
    async fn connect(
        &self,
    ) -> Result<
        (
            hyper::client::conn::http1::SendRequest<Full<Bytes>>,
            hyper::client::conn::http1::Connection<TokioIo<UnixStream>, Full<Bytes>>,
        ),
        ClientError,
    > {
        let stream = UnixStream::connect(&self.socket)
            .await
            .map_err(|source| ClientError::Connect { path: self.socket.clone(), source })?;
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| ClientError::Http(e.to_string()))
    }

    /// GETs a streaming (NDJSON) answer, calling `on_line` for each line until it
    /// returns false or the stream ends.
    pub async fn stream_lines(&self, path: &str, on_line: impl FnMut(&str) -> bool) -> Result<(), ClientError> {
        self.stream_lines_with(path, &[], on_line).await
    }

    /// [`Self::stream_lines`] with extra request headers (`Accept: text/event-stream`, `Last-Event-ID`).
    pub async fn stream_lines_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        mut on_line: impl FnMut(&str) -> bool,
    ) -> Result<(), ClientError> {
        let (mut sender, connection) = self.connect().await?;
        let mut request = Request::get(path).header("host", "localhost");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(Bytes::new())).map_err(|e| ClientError::Http(e.to_string()))?;
        let exchange = async move {
            let response = sender.send_request(request).await.map_err(|e| ClientError::Http(e.to_string()))?;
            if !response.status().is_success() {
                return Err(ClientError::Http(format!("the daemon answered {}", response.status())));
            }
            let mut body = response.into_body();
            let mut pending = String::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| ClientError::Http(e.to_string()))?;
                let Ok(data) = frame.into_data() else { continue };
                pending.push_str(&String::from_utf8_lossy(&data));
                while let Some(end) = pending.find('\n') {
                    let line: String = pending.drain(..=end).collect();
                    if !on_line(line.trim_end()) {
                        return Ok(());
                    }
                }
            }
            Ok(())
        };
        tokio::select! {
            result = exchange => result,
            _ = connection => Ok(()),
        }
    }

    /// One request on a fresh connection; returns the status and the whole body.
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        self.exchange(method, path, &[], body).await.map(|reply| (reply.status, reply.body))
    }

    /// One request with extra `headers` on a fresh connection; the whole answer.
    pub async fn exchange(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Result<Reply, ClientError> {
        let (mut sender, connection) = self.connect().await?;
        // The connection is driven right here, so nothing outlives this call.
        let driver = async move {
            let _ = connection.await;
        };
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| ClientError::Http(e.to_string()))?;
        let exchange = async move {
            let response = sender.send_request(request).await.map_err(|e| ClientError::Http(e.to_string()))?;
            let (status, headers) = (response.status(), response.headers().clone());
            let body = response.into_body().collect().await.map_err(|e| ClientError::Http(e.to_string()))?.to_bytes();
            // Dropping the sender lets the connection (and `driver`) finish.
            drop(sender);
            Ok(Reply { status, headers, body })
        };
        let (result, ()) = tokio::join!(exchange, driver);
        result
    }
}

/// A whole answer: status, headers and body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}
