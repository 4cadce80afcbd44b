//! Opening the Mercury socket: URL parameters, TCP (direct or through a proxy
//! tunnel), TLS with our shared rustls config, and the websocket upgrade.

use crate::webex::proxy::{self, ProxyError, ProxyRules, ProxySpec};
use reqwest::Url;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

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
}

/// How sockets are opened; shared by every connection attempt.
#[derive(Clone)]
pub struct Dialer {
    pub tls: Arc<rustls::ClientConfig>,
    /// Which proxy the socket goes through: the rules REST follows too.
    pub proxy: ProxyRules,
}

impl Dialer {
    pub async fn open(&self, web_socket_url: &str) -> Result<Socket, TransportError> {
        let url = mercury_url(web_socket_url, chrono::Utc::now().timestamp_millis())?;
        let host = url.host_str().ok_or_else(|| TransportError::BadUrl(web_socket_url.into()))?.to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        let stream = match self.proxy.for_target(&url) {
            Some(spec) => self.via_proxy(&spec, &host, port).await?,
            None => TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|source| TransportError::Connect { target: format!("{host}:{port}"), source })?,
        };
        let _ = stream.set_nodelay(true);
        let request = url.as_str().into_client_request().map_err(|e| TransportError::BadUrl(e.to_string()))?;
        let connector = Connector::Rustls(self.tls.clone());
        match tokio_tungstenite::client_async_tls_with_config(request, stream, None, Some(connector)).await {
            Ok((socket, _response)) => Ok(socket),
            Err(tungstenite::Error::Http(response)) if response.status() == 404 => Err(TransportError::Stale),
            Err(tungstenite::Error::Http(response)) => Err(TransportError::Refused(response.status().as_u16())),
            Err(other) => Err(TransportError::Handshake(other.to_string())),
        }
    }

    async fn via_proxy(&self, spec: &ProxySpec, host: &str, port: u16) -> Result<TcpStream, TransportError> {
        tracing::debug!(proxy = %spec.display(), "opening the websocket through the proxy");
        Ok(proxy::tunnel(spec, host, port).await?)
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
mod tests {
    use super::*;

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
