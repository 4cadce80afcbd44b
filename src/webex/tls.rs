//! TLS and HTTP client construction shared by every Webex connection.
//!
//! One rustls configuration (ring provider, Mozilla roots from webpki-roots, plus
//! the operator's private CA for TLS-inspecting proxies) serves both reqwest and
//! the Mercury websocket, so a proxy CA configured once works everywhere. Errors
//! name the file at fault, because the operator fixes it by hand.

use crate::webex::proxy::ProxyRules;
use rustls::pki_types::{pem::PemObject, CertificateDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Why the TLS configuration or the HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the CA bundle {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the CA bundle {path} is not valid PEM: {message}")]
    Pem { path: PathBuf, message: String },
    #[error(
        "the CA bundle {path} contains no certificates \
         (expected one or more -----BEGIN CERTIFICATE----- blocks)"
    )]
    NoCertificates { path: PathBuf },
    #[error("certificate #{index} in the CA bundle {path} was rejected: {message}")]
    BadCertificate { path: PathBuf, index: usize, message: String },
    #[error("cannot set up TLS: {0}")]
    Config(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// The rustls client configuration: ring provider, webpki roots, and every
/// certificate of `ca_file` (a PEM bundle) when given.
///
/// ALPN is left empty on purpose: the websocket needs HTTP/1.1, and
/// [`http_client`] adds its own ALPN list to its copy.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        add_pem_bundle(&mut roots, path)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn add_pem_bundle(roots: &mut rustls::RootCertStore, path: &Path) -> Result<(), TlsError> {
    let bytes = std::fs::read(path).map_err(|source| TlsError::Read { path: path.to_path_buf(), source })?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem { path: path.to_path_buf(), message: e.to_string() })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificates { path: path.to_path_buf() });
    }
    for (i, cert) in certs.into_iter().enumerate() {
        roots.add(cert).map_err(|e| TlsError::BadCertificate {
            path: path.to_path_buf(),
            index: i + 1,
            message: e.to_string(),
        })?;
    }
    Ok(())
}

/// How the HTTP client reaches Webex.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Which requests go through which proxy: the rules the websocket follows too.
    pub proxy: ProxyRules,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub user_agent: String,
}

/// `webex-hitl/<version>`, so Webex's logs and a proxy's can tell our requests apart.
pub const USER_AGENT: &str = concat!("webex-hitl/", env!("CARGO_PKG_VERSION"));
/// Reaching Webex takes well under a second; ten mean the network is in the way.
/// The websocket dial bounds each of its steps by the same.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// One whole request and its answer (retries are timed separately).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl HttpOptions {
    pub fn new(proxy: ProxyRules) -> Self {
        Self {
            proxy,
            connect_timeout: CONNECT_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            user_agent: USER_AGENT.to_owned(),
        }
    }
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self::new(ProxyRules::from_env())
    }
}

/// A reqwest client that uses `tls` (so the private CA applies) and the proxy rules.
pub fn http_client(opts: &HttpOptions, tls: Arc<rustls::ClientConfig>) -> Result<reqwest::Client, TlsError> {
    let mut config = (*tls).clone();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .connect_timeout(opts.connect_timeout)
        .timeout(opts.request_timeout)
        .user_agent(opts.user_agent.clone())
        .proxy(opts.proxy.for_reqwest())
        .build()
        .map_err(|e| TlsError::Client(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const SELF_SIGNED: &str = "-----BEGIN CERTIFICATE-----
MIIBkjCCATegAwIBAgIUC9xs6J0r9zfKo2gfe1irO5qVhtMwCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSd2ViZXgtaGl0bCB0ZXN0IENBMCAXDTI2MTEyNTE0MjI1MVoY
DzIxMjYxMTAxMTQyMjUxWjAdMRswGQYDVQQDDBJ3ZWJleC1oaXRsIHRlc3QgQ0Ew
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASLeWsKaMprkZIb5UruD6cfwT6j+J2y
XuiFsCa2sutSk8lRUoV3WbaI/jQIUVySrZLT9KjFBxa1E9EA+bmfSdQUo1MwUTAd
BgNVHQ4EFgQULK8+yXfKmz4jz+DpIo374QTlNOUwHwYDVR0jBBgwFoAULK8+yXfK
mz4jz+DpIo374QTlNOUwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBG
AiEA14uSEXQH43eMIe5JQhlXHQemEVWC50fGnaEE1g5kJvUCIQCN/iXAczZ8e3Lk
0skOCOR4199wIZoX1NiVU5+nDCzM2A==
-----END CERTIFICATE-----
";

    fn pem_file(content: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(content.as_bytes()).expect("write");
        file
    }

    #[test]
    fn without_bundle_uses_webpki_roots() {
        let config = client_config(None).expect("config");
        // The websocket shares this config: it must not offer h2.
        assert!(config.alpn_protocols.is_empty());
    }

    #[test]
    fn a_real_self_signed_certificate_is_accepted() {
        let file = pem_file(SELF_SIGNED);
        client_config(Some(file.path())).expect("self-signed CA accepted");
        let mut store = rustls::RootCertStore::empty();
        add_pem_bundle(&mut store, file.path()).expect("added");
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = client_config(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(matches!(err, TlsError::Read { .. }));
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn garbage_is_named_as_having_no_certificates() {
        let file = pem_file("this is not a certificate\n");
        let err = client_config(Some(file.path())).unwrap_err();
        assert!(matches!(err, TlsError::NoCertificates { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&file.path().display().to_string()), "{text}");
    }

    #[test]
    fn a_corrupt_certificate_block_is_rejected() {
        let file = pem_file("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        let err = client_config(Some(file.path())).unwrap_err();
        assert!(matches!(err, TlsError::BadCertificate { index: 1, .. } | TlsError::Pem { .. }), "{err:?}");
        assert!(err.to_string().contains(&file.path().display().to_string()));
    }

    #[test]
    fn an_unterminated_block_is_named_as_bad_pem() {
        let file = pem_file("-----BEGIN CERTIFICATE-----\nAAAA\n");
        let err = client_config(Some(file.path())).unwrap_err();
        assert!(matches!(err, TlsError::Pem { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("is not valid PEM") && text.contains(&file.path().display().to_string()), "{text}");
    }

    #[test]
    fn a_rejected_certificate_is_named_by_its_place_in_the_bundle() {
        let file = pem_file(&format!("{SELF_SIGNED}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"));
        let err = client_config(Some(file.path())).unwrap_err();
        assert!(matches!(err, TlsError::BadCertificate { index: 2, .. }), "{err:?}");
        assert!(err.to_string().contains("certificate #2"), "{err}");
    }

    #[test]
    fn http_client_builds_with_and_without_proxy() {
        let tls = client_config(None).expect("config");
        http_client(&HttpOptions::default(), tls.clone()).expect("no proxy");
        let proxy = ProxyRules::explicit("http://user:pw@127.0.0.1:3128", "").expect("proxy");
        let opts = HttpOptions { proxy, ..HttpOptions::default() };
        http_client(&opts, tls).expect("with proxy");
    }
}
