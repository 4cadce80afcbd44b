//! The pieces of a loopback forward proxy that the proxy tests share: the
//! accept loop, reading a request head, and the credentials check. Each test
//! decides what to carry and what to count.

use std::future::Future;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// `proxyuser:s3cret`, as a proxy sees it in `Proxy-Authorization`.
pub const CREDENTIALS: &str = "Basic cHJveHl1c2VyOnMzY3JldA==";
pub const ESTABLISHED: &[u8] = b"HTTP/1.1 200 Connection established\r\n\r\n";
pub const AUTH_REQUIRED: &[u8] = b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n";

/// Listens on loopback and hands every connection to `carry`, each in its own task.
pub async fn listen<F, Fut>(carry: F) -> SocketAddr
where
    F: Fn(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(carry(client));
        }
    });
    addr
}

/// A request's head as the proxy read it.
pub struct ProxyRequest {
    pub head: String,
    pub request_line: String,
    pub method: String,
    pub target: String,
    /// It carried `Proxy-Authorization: CREDENTIALS`.
    pub authorized: bool,
}

/// Reads up to the blank line, byte by byte, so nothing of the tunnel is swallowed.
pub async fn read_request(stream: &mut TcpStream) -> Option<ProxyRequest> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(stream.read_u8().await.ok()?);
        if head.len() > 64 * 1024 {
            return None;
        }
    }
    let head = String::from_utf8(head).ok()?;
    let request_line = head.lines().next().unwrap_or_default().to_owned();
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default().to_owned(), parts.next().unwrap_or_default().to_owned());
    let authorized = head.lines().any(|l| l.eq_ignore_ascii_case(&format!("proxy-authorization: {CREDENTIALS}")));
    Some(ProxyRequest { head, request_line, method, target, authorized })
}

/// Answers 407 and drops the connection.
pub async fn refuse(client: &mut TcpStream) {
    let _ = client.write_all(AUTH_REQUIRED).await;
}
