//! Proxies: one rule set for REST and the websocket, and the websocket's tunnel.
//!
//! An on-prem network often lets traffic out only through an HTTP proxy, and
//! `NO_PROXY=10.0.0.0/8` must mean the same thing to REST (reqwest) as to the
//! websocket (tokio-tungstenite, which reads no proxy settings, so we open its
//! `CONNECT` tunnel ourselves). Two hand-written rule sets drift apart, so both
//! connections ask one [`ProxyRules`], built once, around hyper-util's
//! [`Matcher`]: the matcher reqwest itself uses for its environment handling.
//! Its rules, as curl's:
//! - the proxy is `webex.proxy` for every target when configured, else
//!   `HTTPS_PROXY` for `https`/`wss`, `HTTP_PROXY` for `http`/`ws`, else
//!   `ALL_PROXY` (upper case first, then lower case);
//! - `NO_PROXY` lists host names, each matching itself and its subdomains (a
//!   leading dot changes nothing: `corp.example` and `.corp.example` both
//!   match `wdm.corp.example`, neither `notcorp.example`); IP addresses and CIDR
//!   ranges, matching IP literals (`::1` matches `[::1]`, but a bracketed entry
//!   `[::1]` matches nothing); and `*`, matching every host *name* but no IP
//!   literal;
//! - an entry with a port (`wdm.corp.example:8443`) matches nothing, on any
//!   port: the matcher compares hosts only.

use crate::secret::Secret;
use base64::Engine;
use hyper::header::HeaderValue;
use hyper::Uri;
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use reqwest::Url;
use std::sync::Arc;
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

/// Which proxy, if any, each target goes through; cheap to clone, and every
/// clone asks the same matcher. `Debug` shows proxies without their credentials.
#[derive(Clone, Debug)]
pub struct ProxyRules {
    matcher: Arc<Matcher>,
}

impl ProxyRules {
    /// The rules `serve` follows: `webex.proxy` minus `NO_PROXY` when
    /// configured, else the environment's.
    pub fn new(configured: Option<&str>) -> Result<Self, ProxyError> {
        match configured {
            Some(proxy) => Self::explicit(proxy, &first_env(&["NO_PROXY", "no_proxy"])),
            None => Ok(Self::from_env()),
        }
    }

    /// `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`. An unusable
    /// proxy there means no proxy, as it always has to reqwest.
    pub fn from_env() -> Self {
        Self::wrap(Matcher::from_env())
    }

    /// `proxy` for every target but those `no_proxy` (`NO_PROXY` syntax) lists.
    pub fn explicit(proxy: &str, no_proxy: &str) -> Result<Self, ProxyError> {
        check(proxy)?;
        Ok(Self::wrap(Matcher::builder().all(proxy).no(no_proxy).build()))
    }

    /// No proxy for anything, whatever the environment says.
    #[cfg(test)]
    pub(crate) fn direct() -> Self {
        Self::wrap(Matcher::builder().build())
    }

    fn wrap(matcher: Matcher) -> Self {
        Self { matcher: Arc::new(matcher) }
    }

    /// Where the websocket to `target` must open its tunnel, if anywhere.
    pub fn for_target(&self, target: &Url) -> Option<ProxySpec> {
        self.intercept(target).and_then(|intercept| ProxySpec::from_intercept(&intercept))
    }

    /// The same rules for reqwest, which asks them for every request. Handing
    /// it to `ClientBuilder::proxy` also turns reqwest's own environment
    /// handling off, so there is only this one.
    pub fn for_reqwest(&self) -> reqwest::Proxy {
        let rules = self.clone();
        reqwest::Proxy::custom(move |target| rules.rest_proxy_url(target))
    }

    /// The proxy for a REST request, as the URL reqwest wants back: reqwest
    /// takes Basic credentials only from that URL's userinfo, and the matcher
    /// hands them out only encoded, so they are decoded back into it.
    fn rest_proxy_url(&self, target: &Url) -> Option<Url> {
        let intercept = self.intercept(target)?;
        let mut url = Url::parse(&intercept.uri().to_string()).ok()?;
        if let Some((user, password)) = intercept.basic_auth().and_then(decode_basic) {
            // Cannot fail on a URL with a host; were it to, the proxy's 407 would say so.
            let _ = url.set_username(&utf8_percent_encode(&user, NON_ALPHANUMERIC).to_string());
            let _ = url.set_password(Some(&utf8_percent_encode(&password, NON_ALPHANUMERIC).to_string()));
        }
        Some(url)
    }

    /// The one decision both connections share. The matcher knows `http` and
    /// `https` only; a websocket is asked as the HTTP request its upgrade is.
    fn intercept(&self, target: &Url) -> Option<Intercept> {
        let scheme = match target.scheme() {
            "ws" => "http",
            "wss" => "https",
            other => other,
        };
        let port = target.port().map(|port| format!(":{port}")).unwrap_or_default();
        let uri: Uri = format!("{scheme}://{}{port}/", target.host_str()?).parse().ok()?;
        self.matcher.intercept(&uri)
    }
}

/// The matcher silently ignores a proxy URL it cannot use; a configured one
/// must be usable, or the operator would never learn why nothing is proxied.
fn check(proxy: &str) -> Result<(), ProxyError> {
    let bad = || ProxyError::BadUrl(redact(proxy));
    let url = Url::parse(proxy).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err(bad());
    }
    let probe = Matcher::builder().all(proxy).build();
    probe.intercept(&Uri::from_static("https://probe.invalid/")).map(|_| ()).ok_or_else(bad)
}

/// The first of `names` that is set, as hyper-util's `Matcher::from_env` reads them.
fn first_env(names: &[&str]) -> String {
    names.iter().find_map(|name| std::env::var(name).ok()).unwrap_or_default()
}

/// `Basic base64(user:password)` back into its two halves.
fn decode_basic(header: &HeaderValue) -> Option<(String, String)> {
    let encoded = header.to_str().ok()?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    let (user, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// A proxy to tunnel through: where it is, and what to tell it.
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
    fn from_intercept(intercept: &Intercept) -> Option<Self> {
        let uri = intercept.uri();
        let default_port = if uri.scheme_str() == Some("https") { 443 } else { 80 };
        let authorization = intercept
            .basic_auth()
            .and_then(|header| header.to_str().ok())
            .and_then(|header| header.strip_prefix("Basic "))
            .map(Secret::new);
        Some(Self { host: uri.host()?.to_owned(), port: uri.port_u16().unwrap_or(default_port), authorization })
    }

    /// `host:port`, never the credentials.
    pub fn display(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Opens the TCP connection to the proxy itself. Apart from [`tunnel`], so
/// that the caller can bound the two steps on their own and tell them apart.
pub async fn connect(proxy: &ProxySpec) -> Result<TcpStream, ProxyError> {
    let connect_error = |source| ProxyError::Connect { proxy: proxy.display(), source };
    TcpStream::connect((proxy.host.as_str(), proxy.port)).await.map_err(connect_error)
}

/// Turns `stream`, connected to the proxy, into a tunnel to `host:port` with `CONNECT`.
pub async fn tunnel(proxy: &ProxySpec, mut stream: TcpStream, host: &str, port: u16) -> Result<TcpStream, ProxyError> {
    let connect_error = |source| ProxyError::Connect { proxy: proxy.display(), source };
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

/// A proxy URL fit for messages: any `user:password@` becomes `***@`. Works on
/// text, so that even a URL too broken to parse is shown without its password.
pub fn redact(proxy: &str) -> String {
    let (scheme, rest) = match proxy.find("://") {
        Some(i) => proxy.split_at(i + 3),
        None => ("", proxy),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}***@{}", &rest[at + 1..]),
        None => proxy.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROXY: &str = "http://proxy.corp:3128";

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    /// The proxy the websocket to `wss://webex.example` gets from `proxy`.
    fn spec(proxy: &str) -> ProxySpec {
        let rules = ProxyRules::explicit(proxy, "").unwrap();
        rules.for_target(&url("wss://webex.example/mercury")).expect("proxied")
    }

    /// Whether `host` (with a port, if any) goes through the proxy, given
    /// `no_proxy`. REST (`https`, `http`) and the websocket (`wss`, `ws`) ask
    /// the same rules, so they must decide the same: that is asserted here.
    fn proxied(no_proxy: &str, host: &str) -> bool {
        let rules = ProxyRules::explicit(PROXY, no_proxy).unwrap();
        let rest = ["https", "http"].map(|scheme| rules.rest_proxy_url(&url(&format!("{scheme}://{host}/v1"))));
        let websocket = ["wss", "ws"].map(|scheme| rules.for_target(&url(&format!("{scheme}://{host}/mercury"))));
        let decisions = [rest[0].is_some(), rest[1].is_some(), websocket[0].is_some(), websocket[1].is_some()];
        assert!(
            decisions.iter().all(|&d| d == decisions[0]),
            "REST and the websocket disagree on {host} with NO_PROXY={no_proxy:?}: {decisions:?}"
        );
        decisions[0]
    }

    #[test]
    fn parses_credentials_without_showing_them() {
        let spec = spec("http://us%40er:p%3Ass@proxy.corp:3128");
        assert_eq!(spec.display(), "proxy.corp:3128");
        let expected = base64::engine::general_purpose::STANDARD.encode("us@er:p:ss");
        assert_eq!(spec.authorization.as_ref().unwrap().expose(), expected);
        assert!(!format!("{spec:?}").contains("p:ss"));
        assert!(!redact("http://u:hunter2@p:1").contains("hunter2"));
        let rules = ProxyRules::explicit("http://user:hunter2@proxy.corp:3128", "").unwrap();
        assert!(!format!("{rules:?}").contains("hunter2"), "{rules:?}");
    }

    #[test]
    fn rest_gets_the_same_proxy_and_credentials_as_the_websocket() {
        let proxy = "http://us%40er:p%3As%25s@proxy.corp:3128";
        let rules = ProxyRules::explicit(proxy, "").unwrap();
        let rest = rules.rest_proxy_url(&url("https://webex.example/v1")).expect("proxied");
        // What reqwest 0.12 does with the URL a custom proxy returns (proxy.rs, `Custom::call`).
        let target: Uri = "https://webex.example/".parse().unwrap();
        let seen = Matcher::builder().all(String::from(rest)).build().intercept(&target).expect("proxied");
        assert_eq!(seen.uri().to_string(), "http://proxy.corp:3128/");
        let basic = seen.basic_auth().expect("credentials reach reqwest").to_str().unwrap().to_owned();
        let expected = base64::engine::general_purpose::STANDARD.encode("us@er:p:s%s");
        assert_eq!(basic, format!("Basic {expected}"));
        assert_eq!(spec(proxy).authorization.unwrap().expose(), expected, "the websocket sends the same");
    }

    #[test]
    fn no_proxy_matches_suffixes_and_star() {
        assert!(!proxied("localhost,.corp.example", "wdm.corp.example"));
        assert!(!proxied("corp.example", "corp.example"));
        assert!(proxied("corp.example", "notcorp.example"));
        assert!(!proxied("*", "anything"));
        assert!(!proxied("127.0.0.1, ::1", "[::1]"));
        assert!(proxied("", "host"));
    }

    #[test]
    fn no_proxy_cidr_ranges_match_addresses_inside_only() {
        assert!(!proxied("10.0.0.0/8", "10.1.2.3"));
        assert!(proxied("10.0.0.0/8", "11.0.0.1"));
        assert!(!proxied("192.168.1.0/24, 172.16.0.0/12", "172.20.0.9:8443"));
    }

    #[test]
    fn no_proxy_domains_match_subdomains_with_or_without_a_leading_dot() {
        for entry in [".corp.example", "corp.example", "CORP.example"] {
            assert!(!proxied(entry, "wdm.corp.example"), "{entry}");
            assert!(!proxied(entry, "corp.example"), "{entry}");
            assert!(proxied(entry, "notcorp.example"), "{entry}");
        }
    }

    #[test]
    fn no_proxy_ipv6_entries_are_bare_addresses() {
        assert!(!proxied("::1", "[::1]"));
        assert!(!proxied("fd00::/8", "[fd12:3456::1]:443"));
        assert!(proxied("fd00::/8", "[2001:db8::1]"));
        // A bracketed entry is neither an address nor a name to the matcher.
        assert!(proxied("[::1]", "[::1]"));
    }

    #[test]
    fn no_proxy_star_matches_every_name_but_no_address() {
        assert!(!proxied("*", "wdm.corp.example"));
        assert!(!proxied("localhost, *", "webex.example:8443"));
        // As reqwest has always read it: `*` is a name wildcard only.
        assert!(proxied("*", "10.1.2.3"));
        assert!(proxied("*", "[::1]"));
    }

    #[test]
    fn no_proxy_entries_with_a_port_match_nothing() {
        // The matcher compares hosts only, so `host:port` is a name no host has.
        assert!(proxied("wdm.corp.example:8443", "wdm.corp.example"));
        assert!(proxied("wdm.corp.example:8443", "wdm.corp.example:8443"));
        assert!(proxied("10.1.2.3:8443", "10.1.2.3:8443"));
    }

    #[test]
    fn a_bad_proxy_url_is_refused_without_its_credentials() {
        let err = ProxyRules::explicit("http://user:s3cret@[bad host:3128", "").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, ProxyError::BadUrl(_)), "{err:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("***@[bad host:3128"), "{text}");
        assert!(matches!(ProxyRules::explicit("socks5://proxy.corp:1080", ""), Err(ProxyError::BadUrl(_))));
    }

    #[test]
    fn redaction_keeps_host_and_scheme() {
        assert_eq!(redact("http://u:p@h:1"), "http://***@h:1");
        assert_eq!(redact("http://h:1"), "http://h:1");
        assert_eq!(redact("u:p@h:1/x@y"), "***@h:1/x@y");
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
        let spec = spec(&format!("http://u:p@127.0.0.1:{port}"));
        let mut stream = tunnel(&spec, connect(&spec).await.unwrap(), "webex.example", 443).await.unwrap();
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
        let server = tokio::spawn(async move {
            let (mut socket, _) = proxy.accept().await.unwrap();
            read_response_head_from_client(&mut socket).await;
            socket.write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n").await.unwrap();
        });
        let spec = spec(&format!("http://127.0.0.1:{port}"));
        let error = tunnel(&spec, connect(&spec).await.unwrap(), "h", 443).await.unwrap_err();
        assert!(error.to_string().contains("407"), "{error}");
        server.await.unwrap();
    }

    async fn read_response_head_from_client(socket: &mut TcpStream) -> String {
        read_response_head(socket).await.unwrap()
    }
}
