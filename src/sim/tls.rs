//! HTTPS and WSS for the simulator.
//!
//! Real Webex is only reachable over TLS, so the daemon's proxy `CONNECT`
//! tunnels and its private-CA bundle (`webex.ca_file`) can only be exercised
//! end to end against a simulator that speaks TLS too. [`TlsListener`] plugs
//! rustls (ring provider, like the daemon) into `axum::serve`: every accepted
//! TCP connection is handshaken in its own task, so a slow or broken client
//! never holds up the others, and a failed handshake is logged and skipped.

use axum::serve::Listener;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// A client that connects but never finishes its handshake is dropped after this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The server certificate chain and its private key, both PEM.
#[derive(Clone)]
pub struct SimTls {
    /// The server certificate first, then any intermediates.
    pub cert_pem: Vec<u8>,
    /// PKCS#8, PKCS#1 or SEC1.
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for SimTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs even though it is only a test key.
        f.debug_struct("SimTls").field("cert_pem", &format!("{} bytes", self.cert_pem.len())).finish_non_exhaustive()
    }
}

impl SimTls {
    /// Reads the two PEM files; errors name the file.
    pub fn from_files(cert: &Path, key: &Path) -> io::Result<SimTls> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|e| io::Error::new(e.kind(), format!("cannot read {}: {e}", path.display())))
        };
        Ok(SimTls { cert_pem: read(cert)?, key_pem: read(key)? })
    }

    /// The acceptor, with ALPN `http/1.1` (the simulator speaks HTTP/1 only).
    pub(crate) fn acceptor(&self) -> io::Result<TlsAcceptor> {
        let invalid = |what: &str, e: &dyn std::fmt::Display| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("simulator TLS: {what}: {e}"))
        };
        let certs = CertificateDer::pem_slice_iter(&self.cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid("certificate is not PEM", &e))?;
        if certs.is_empty() {
            return Err(invalid("certificate", &"no -----BEGIN CERTIFICATE----- block"));
        }
        let key = PrivateKeyDer::from_pem_slice(&self.key_pem).map_err(|e| match e {
            pem::Error::NoItemsFound => invalid("private key", &"no private key block"),
            other => invalid("private key is not PEM", &other),
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid("protocol versions", &e))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| invalid("certificate and key do not fit", &e))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

type Handshake = Option<(TlsStream<TcpStream>, SocketAddr)>;

/// A TCP listener whose connections come out already decrypted.
pub(crate) struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    /// Handshakes in progress; aborted with the listener when the server stops.
    handshakes: JoinSet<Handshake>,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> Self {
        Self { tcp, acceptor, handshakes: JoinSet::new() }
    }
}

async fn handshake(acceptor: TlsAcceptor, tcp: TcpStream, peer: SocketAddr) -> Handshake {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => Some((stream, peer)),
        Ok(Err(error)) => {
            tracing::warn!(%peer, %error, "simulator: TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::warn!(%peer, "simulator: TLS handshake timed out");
            None
        }
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    // Cancel-safe: all state lives in `self`, so axum may drop this future.
    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            tokio::select! {
                accepted = self.tcp.accept() => match accepted {
                    Ok((tcp, peer)) => {
                        self.handshakes.spawn(handshake(self.acceptor.clone(), tcp, peer));
                    }
                    Err(error) => {
                        // Like axum's own listener: out of descriptors and the like pass.
                        tracing::warn!(%error, "simulator: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(done) = self.handshakes.join_next(), if !self.handshakes.is_empty() => {
                    if let Ok(Some(connection)) = done {
                        return connection;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fixture(name: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls").join(name);
        std::fs::read(path).expect("fixture")
    }

    fn acceptor_error(cert_pem: Vec<u8>, key_pem: Vec<u8>) -> String {
        match (SimTls { cert_pem, key_pem }).acceptor() {
            Ok(_) => panic!("accepted"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn the_fixture_certificate_and_key_make_an_acceptor() {
        let tls = SimTls { cert_pem: fixture("localhost.pem"), key_pem: fixture("localhost.key") };
        tls.acceptor().expect("acceptor");
    }

    #[test]
    fn missing_pem_blocks_are_named() {
        let text = acceptor_error(b"not a certificate\n".to_vec(), fixture("localhost.key"));
        assert!(text.contains("certificate") && text.contains("no -----BEGIN CERTIFICATE----- block"), "{text}");
        let text = acceptor_error(fixture("localhost.pem"), fixture("localhost.pem"));
        assert!(text.contains("private key: no private key block"), "{text}");
        let text = acceptor_error(fixture("localhost.pem"), b"-----BEGIN PRIVATE KEY-----\nAAAA\n".to_vec());
        assert!(text.contains("private key is not PEM"), "{text}");
    }
}
