//! Opening the Mercury socket: URL parameters, TCP (direct or through a proxy
//! tunnel), TLS with our shared rustls config, and the websocket upgrade.
//!
//! Every step of a dial is bounded by [`DIAL_STEP_TIMEOUT`]: a server or proxy
//! that accepts the connection and then says nothing would otherwise hold the
//! reconnect loop until the systemd watchdog kills the daemon.

use crate::webex::proxy::{self, ProxyError, ProxyRules};
use reqwest::Url;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the socket reads whole at most; a frame past the decoder's own limit
/// ([`super::frame::MAX_FRAME_BYTES`]) is still read, so that it can be acked.
pub const MAX_SOCKET_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// How long one step of a dial may take; twilight's gateway allows its
/// connect the same. Generous for a TCP or TLS round trip, even through a
/// proxy, and short against the backoff cap of 32 s.
pub const DIAL_STEP_TIMEOUT: Duration = crate::webex::tls::CONNECT_TIMEOUT;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("the device registration is stale (404 on the websocket upgrade)")]
    Stale,
    #[error("websocket upgrade refused with HTTP {0}")]
    Refused(u16),
    #[error("bad websocket URL {0:?}")]
    BadUrl(String),
    #[error(transparent)]
    Proxy(#[from] ProxyError),
    #[error("cannot connect to {target}: {source}")]
    Connect { target: String, source: std::io::Error },
    #[error("websocket handshake failed: {0}")]
    Handshake(String),
    #[error("{step} did not answer within {}", in_words(.after))]
    TimedOut { step: DialStep, after: Duration },
}

/// A step of a dial, as a timeout names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialStep {
    /// TCP to `host:port` (the name lookup included): the server's, or the proxy's.
    Connect(String),
    /// The proxy at `host:port` answering our `CONNECT`.
    ProxyConnect(String),
    /// TLS (for `wss`) and the websocket upgrade with the server at `host:port`.
    Upgrade(String),
}

impl std::fmt::Display for DialStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DialStep::Connect(target) => write!(f, "TCP connect to {target}"),
            DialStep::ProxyConnect(proxy) => write!(f, "proxy CONNECT to {proxy}"),
            DialStep::Upgrade(target) => write!(f, "TLS and websocket handshake with {target}"),
        }
    }
}

/// "10 s", or "250 ms" for the short bounds of tests.
fn in_words(duration: &Duration) -> String {
    match duration.subsec_millis() {
        0 => format!("{} s", duration.as_secs()),
        _ => format!("{} ms", duration.as_millis()),
    }
}

/// How sockets are opened; shared by every connection attempt.
#[derive(Clone)]
pub struct Dialer {
    pub tls: Arc<rustls::ClientConfig>,
    /// Which proxy the socket goes through: the rules REST follows too.
    pub proxy: ProxyRules,
    /// The bound on each step: [`DIAL_STEP_TIMEOUT`], but tests may shorten it.
    pub step_timeout: Duration,
}

impl Dialer {
    pub fn new(tls: Arc<rustls::ClientConfig>, proxy: ProxyRules) -> Self {
        Self { tls, proxy, step_timeout: DIAL_STEP_TIMEOUT }
    }

    pub async fn open(&self, web_socket_url: &str) -> Result<Socket, TransportError> {
        let url = mercury_url(web_socket_url, chrono::Utc::now().timestamp_millis())?;
        let host = url.host_str().ok_or_else(|| TransportError::BadUrl(web_socket_url.into()))?.to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        let stream = self.tcp(&url, &host, port).await?;
        let _ = stream.set_nodelay(true);
        self.upgrade(&url, stream, format!("{host}:{port}")).await
    }

    /// A TCP stream to the server: direct, or tunnelled through the proxy.
    async fn tcp(&self, url: &Url, host: &str, port: u16) -> Result<TcpStream, TransportError> {
        let Some(spec) = self.proxy.for_target(url) else {
            let target = format!("{host}:{port}");
            let connect = self.bounded(DialStep::Connect(target.clone()), TcpStream::connect((host, port)));
            return connect.await?.map_err(|source| TransportError::Connect { target, source });
        };
        tracing::debug!(proxy = %spec.display(), "opening the websocket through the proxy");
        let stream = self.bounded(DialStep::Connect(spec.display()), proxy::connect(&spec)).await??;
        let tunnel = proxy::tunnel(&spec, stream, host, port);
        Ok(self.bounded(DialStep::ProxyConnect(spec.display()), tunnel).await??)
    }

    async fn upgrade(&self, url: &Url, stream: TcpStream, target: String) -> Result<Socket, TransportError> {
        let request = url.as_str().into_client_request().map_err(|e| TransportError::BadUrl(e.to_string()))?;
        let connector = Connector::Rustls(self.tls.clone());
        let limits = WebSocketConfig::default()
            .max_message_size(Some(MAX_SOCKET_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_SOCKET_MESSAGE_BYTES));
        let handshake = tokio_tungstenite::client_async_tls_with_config(request, stream, Some(limits), Some(connector));
        match self.bounded(DialStep::Upgrade(target), handshake).await? {
            Ok((socket, _response)) => Ok(socket),
            Err(tungstenite::Error::Http(response)) if response.status() == 404 => Err(TransportError::Stale),
            Err(tungstenite::Error::Http(response)) => Err(TransportError::Refused(response.status().as_u16())),
            Err(other) => Err(TransportError::Handshake(other.to_string())),
        }
    }

    /// Runs one step of a dial for at most [`Dialer::step_timeout`].
    async fn bounded<F: Future>(&self, step: DialStep, work: F) -> Result<F::Output, TransportError> {
        tokio::time::timeout(self.step_timeout, work)
            .await
            .map_err(|_| TransportError::TimedOut { step, after: self.step_timeout })
    }
}

/// `webSocketUrl` plus the query parameters Webex's clients send.
pub fn mercury_url(web_socket_url: &str, now_ms: i64) -> Result<Url, TransportError> {
    let mut url = Url::parse(web_socket_url).map_err(|_| TransportError::BadUrl(web_socket_url.into()))?;
    if !matches!(url.scheme(), "ws" | "wss") {
        return Err(TransportError::BadUrl(web_socket_url.into()));
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| {
            !matches!(k.as_ref(), "outboundWireFormat" | "bufferStates" | "aliasHttpStatus" | "clientTimestamp")
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("outboundWireFormat", "text")
        .append_pair("bufferStates", "true")
        .append_pair("aliasHttpStatus", "true")
        .append_pair("clientTimestamp", &now_ms.to_string());
    Ok(url)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::webex::tls::client_config;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;
    use tokio::time::Instant;

    /// Awaits `work` while keeping the runtime busy. Paused time jumps to the
    /// next timer as soon as every task is idle, even while loopback I/O is
    /// still on its way through the kernel; a busy task holds the clock still.
    async fn busily<F: Future>(work: F) -> F::Output {
        tokio::pin!(work);
        loop {
            tokio::select! {
                biased;
                output = &mut work => return output,
                () = tokio::task::yield_now() => {}
            }
        }
    }

    /// A peer that accepts one connection, waits for the client's first byte
    /// (so the client is waiting for an answer, its step's timer running on
    /// a clock that has not moved), and then never answers. The socket is
    /// returned, to keep the connection open.
    pub(crate) async fn accept_and_stall(listener: &TcpListener) -> TcpStream {
        let (mut socket, _) = busily(listener.accept()).await.expect("accept");
        let mut first = [0u8; 1];
        busily(socket.read_exact(&mut first)).await.expect("the client speaks first");
        socket
    }

    /// Dials `url` against `peer` that stalls; the outer bound turns a dial
    /// that is not bounded into a failure instead of a hang.
    async fn dial_stalled(dialer: &Dialer, url: &str, peer: &TcpListener) -> TransportError {
        let dial = async { tokio::join!(dialer.open(url), accept_and_stall(peer)).0 };
        match tokio::time::timeout(3 * DIAL_STEP_TIMEOUT, dial).await.expect("the dial is bounded") {
            Ok(_) => panic!("a peer that never answers gave a socket"),
            Err(error) => error,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_that_never_answers_the_tls_handshake_times_out() {
        let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = format!("127.0.0.1:{}", server.local_addr().unwrap().port());
        let dialer = Dialer::new(client_config(None).unwrap(), ProxyRules::direct());
        let start = Instant::now();
        let error = dial_stalled(&dialer, &format!("wss://{target}/mercury"), &server).await;
        assert_eq!(start.elapsed(), DIAL_STEP_TIMEOUT);
        assert!(
            matches!(&error, TransportError::TimedOut { step: DialStep::Upgrade(t), after } if *t == target && *after == DIAL_STEP_TIMEOUT),
            "{error:?}"
        );
        assert_eq!(error.to_string(), format!("TLS and websocket handshake with {target} did not answer within 10 s"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_proxy_that_never_answers_connect_times_out_naming_that_step() {
        let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy_at = format!("127.0.0.1:{}", proxy.local_addr().unwrap().port());
        let rules = ProxyRules::explicit(&format!("http://u:p@{proxy_at}"), "").unwrap();
        let dialer = Dialer::new(client_config(None).unwrap(), rules);
        let start = Instant::now();
        let error = dial_stalled(&dialer, "wss://mercury.example/mercury", &proxy).await;
        assert_eq!(start.elapsed(), DIAL_STEP_TIMEOUT);
        assert!(
            matches!(&error, TransportError::TimedOut { step: DialStep::ProxyConnect(p), .. } if *p == proxy_at),
            "{error:?}"
        );
        assert_eq!(error.to_string(), format!("proxy CONNECT to {proxy_at} did not answer within 10 s"));
    }

    #[tokio::test(start_paused = true)]
    async fn the_step_bound_is_the_dialers_own() {
        let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = format!("127.0.0.1:{}", server.local_addr().unwrap().port());
        let dialer = Dialer {
            step_timeout: Duration::from_millis(250),
            ..Dialer::new(client_config(None).unwrap(), ProxyRules::direct())
        };
        let start = Instant::now();
        let error = dial_stalled(&dialer, &format!("wss://{target}/mercury"), &server).await;
        assert_eq!(start.elapsed(), Duration::from_millis(250));
        assert!(error.to_string().ends_with("did not answer within 250 ms"), "{error}");
    }

    #[test]
    fn adds_the_documented_parameters_once() {
        let url = mercury_url("wss://mercury.example/v1/apps/wx2/registrations/r/messages?bufferStates=false&x=1", 42)
            .unwrap();
        assert_eq!(
            url.query(),
            Some("x=1&outboundWireFormat=text&bufferStates=true&aliasHttpStatus=true&clientTimestamp=42")
        );
        assert!(mercury_url("https://not-a-socket", 1).is_err());
    }
}
