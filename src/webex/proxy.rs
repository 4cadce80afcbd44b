//! HTTPS proxies for the websocket: choosing one, and tunnelling through it.
//!
//! reqwest handles proxies for REST on its own, but tokio-tungstenite reads no
//! proxy settings, and an on-prem network often allows outbound traffic only
//! through a proxy. So the websocket opens an HTTP `CONNECT` tunnel itself,
//! honouring the same settings: `webex.proxy`, else `HTTPS_PROXY` (or
//! `HTTP_PROXY` for plain `ws://`), minus hosts listed in `NO_PROXY`.

use crate::secret::Secret;
use base64::Engine;
use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("proxy {0:?} is not a usable http://host:port URL")]
    BadUrl(String),
    #[error("cannot reach proxy {proxy}: {source}")]
    Connect { proxy: String, source: std::io::Error },
    #[error("proxy {proxy} refused the tunnel: {status_line}")]
    Refused { proxy: String, status_line: String },
    #[error("proxy {proxy} answered garbage to CONNECT")]
    BadAnswer { proxy: String },
}

#[derive(Clone, PartialEq, Eq)]
pub struct ProxySpec {
    pub host: String,
    pub port: u16,
    /// `Basic` credentials, already base64-encoded.
    authorization: Option<Secret>,
}

impl std::fmt::Debug for ProxySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.display())
    }
}

impl ProxySpec {
    pub fn parse(value: &str) -> Result<Self, ProxyError> {
        let url = Url::parse(value).map_err(|_| ProxyError::BadUrl(redact(value)))?;
        let host = url.host_str().ok_or_else(|| ProxyError::BadUrl(redact(value)))?.to_owned();
        let port = url.port_or_known_default().unwrap_or(8080);
        let authorization = (!url.username().is_empty()).then(|| {
            let user = percent_decode(url.username());
            let pass = percent_decode(url.password().unwrap_or(""));
            Secret::new(base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}")))
        });
        Ok(Self { host, port, authorization })
    }

    /// `host:port`, never the credentials.
    pub fn display(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// The proxy to use for `target`, if any.
pub fn for_target(target: &Url, configured: Option<&str>) -> Result<Option<ProxySpec>, ProxyError> {
    let host = target.host_str().unwrap_or_default();
    if no_proxy_matches(&env_any(&["NO_PROXY", "no_proxy"]).unwrap_or_default(), host) {
        return Ok(None);
    }
    let from_env = || match target.scheme() {
        "wss" | "https" => env_any(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]),
        _ => env_any(&["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]),
    };
    configured.map(str::to_owned).or_else(from_env).map(|value| ProxySpec::parse(&value)).transpose()
}

fn env_any(names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
}

/// `NO_PROXY` as curl reads it: `*`, or comma-separated host suffixes.
pub fn no_proxy_matches(no_proxy: &str, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    no_proxy.split(',').map(|entry| entry.trim().to_ascii_lowercase()).filter(|e| !e.is_empty()).any(|entry| {
        let entry = entry.trim_start_matches('.');
        entry == "*" || host == entry || host.ends_with(&format!(".{entry}"))
    })
}

/// Opens a TCP stream to `host:port` through the proxy with `CONNECT`.
pub async fn tunnel(proxy: &ProxySpec, host: &str, port: u16) -> Result<TcpStream, ProxyError> {
    let connect_error = |source| ProxyError::Connect { proxy: proxy.display(), source };
    let mut stream = TcpStream::connect((proxy.host.as_str(), proxy.port)).await.map_err(connect_error)?;
    let mut request = format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n");
    if let Some(auth) = &proxy.authorization {
        request.push_str(&format!("Proxy-Authorization: Basic {}\r\n", auth.expose()));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.map_err(connect_error)?;
    let head = read_response_head(&mut stream).await.map_err(|_| ProxyError::BadAnswer { proxy: proxy.display() })?;
    let status_line = head.lines().next().unwrap_or_default().to_owned();
    let status = status_line.split_whitespace().nth(1).unwrap_or_default();
    if !status.starts_with('2') {
        return Err(ProxyError::Refused { proxy: proxy.display(), status_line });
    }
    Ok(stream)
}

/// Reads byte by byte up to the blank line, so that nothing of the tunnelled
/// stream (the TLS handshake) is swallowed.
async fn read_response_head(stream: &mut TcpStream) -> std::io::Result<String> {
    const LIMIT: usize = 16 * 1024;
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= LIMIT {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "response head too long"));
        }
        head.push(stream.read_u8().await?);
    }
    String::from_utf8(head).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// A proxy URL as it may appear in messages: without its password.
pub fn redact(value: &str) -> String {
    match Url::parse(value) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("<redacted>"));
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => "<unparsable proxy URL>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_credentials_without_showing_them() {
        let spec = ProxySpec::parse("http://us%40er:p%3Ass@proxy.corp:3128").unwrap();
        assert_eq!(spec.display(), "proxy.corp:3128");
        let expected = base64::engine::general_purpose::STANDARD.encode("us@er:p:ss");
        assert_eq!(spec.authorization.as_ref().unwrap().expose(), expected);
        assert!(!format!("{spec:?}").contains("p:ss"));
        assert!(!redact("http://u:hunter2@p:1").contains("hunter2"));
    }

    #[test]
    fn no_proxy_matches_suffixes_and_star() {
        assert!(no_proxy_matches("localhost,.corp.example", "wdm.corp.example"));
        assert!(no_proxy_matches("corp.example", "corp.example"));
        assert!(!no_proxy_matches("corp.example", "notcorp.example"));
        assert!(no_proxy_matches("*", "anything"));
        assert!(no_proxy_matches("127.0.0.1, ::1", "[::1]"));
        assert!(!no_proxy_matches("", "host"));
    }

    #[tokio::test]
    async fn tunnels_through_a_connect_proxy() {
        use tokio::net::TcpListener;
        let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = proxy.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut socket, _) = proxy.accept().await.unwrap();
            let head = read_response_head_from_client(&mut socket).await;
            socket.write_all(b"HTTP/1.1 200 Connection established\r\n\r\nhello").await.unwrap();
            head
        });
        let spec = ProxySpec::parse(&format!("http://u:p@127.0.0.1:{port}")).unwrap();
        let mut stream = tunnel(&spec, "webex.example", 443).await.unwrap();
        let mut tail = [0u8; 5];
        stream.read_exact(&mut tail).await.unwrap();
        assert_eq!(&tail, b"hello", "bytes after the proxy's answer belong to the tunnel");
        let head = server.await.unwrap();
        assert!(head.starts_with("CONNECT webex.example:443 HTTP/1.1\r\n"));
        assert!(head.contains("Proxy-Authorization: Basic dTpw\r\n"));
    }

    #[tokio::test]
    async fn a_refusing_proxy_is_reported() {
        use tokio::net::TcpListener;
        let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = proxy.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = proxy.accept().await.unwrap();
            read_response_head_from_client(&mut socket).await;
            socket.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n").await.unwrap();
        });
        let spec = ProxySpec::parse(&format!("http://127.0.0.1:{port}")).unwrap();
        let error = tunnel(&spec, "h", 443).await.unwrap_err();
        assert!(error.to_string().contains("407"), "{error}");
    }

    async fn read_response_head_from_client(socket: &mut TcpStream) -> String {
        read_response_head(socket).await.unwrap()
    }
}
