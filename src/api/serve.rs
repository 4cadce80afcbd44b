//! Serving the API on its Unix socket so that no client can starve it.
//!
//! A server that keeps every connection for as long as the client likes lets a
//! thousand idle or slow clients (slowloris) use up the process's file
//! descriptors: `/v1/health` stops answering and Mercury cannot reconnect. So:
//! - a request head must arrive within [`Limits::header_timeout`] (hyper's
//!   header read timeout, which also ends a keep-alive connection idle as long);
//! - at most [`Limits::capacity`] connections are open, below the descriptor
//!   limit with room kept for Webex and the store. At capacity the oldest
//!   connection waiting for a request head (idle or slow) is closed to admit the
//!   new one; one in the middle of a request (a long poll, an event stream)
//!   never is, and when every connection is busy the new one is refused.

use super::access::Peer;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use axum::Router;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::net::UnixListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Descriptors kept out of the API's reach: Webex connections, the store, logs.
pub const RESERVED_FDS: u64 = 128;
/// How long open connections get to finish once the daemon stops.
const DRAIN: Duration = Duration::from_secs(2);

/// How many connections the API keeps open, and how long a head may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub capacity: usize,
    pub header_timeout: Duration,
}

impl Limits {
    /// `wanted` connections, but never so many that the descriptors left under
    /// `fd_limit` are fewer than [`RESERVED_FDS`].
    pub fn new(wanted: usize, fd_limit: u64, header_timeout: Duration) -> Self {
        let room = usize::try_from(fd_limit.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX);
        Self { capacity: wanted.min(room).max(1), header_timeout }
    }
}

/// Where connections come from: the API's Unix socket, or the optional TCP
/// listener that serves `/metrics` to Prometheus.
pub trait Listener: Send {
    type Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static;

    /// The next connection, and who is at its other end.
    fn next(&self) -> impl Future<Output = std::io::Result<(Self::Stream, Peer)>> + Send;
}

impl Listener for UnixListener {
    type Stream = tokio::net::UnixStream;

    async fn next(&self) -> std::io::Result<(Self::Stream, Peer)> {
        let (stream, _) = self.accept().await?;
        let peer = Peer::of(&stream);
        Ok((stream, peer))
    }
}

/// A TCP caller has no kernel-vouched uid: only routes open to anyone belong here.
impl Listener for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;

    async fn next(&self) -> std::io::Result<(Self::Stream, Peer)> {
        Ok((self.accept().await?.0, Peer(None)))
    }
}

/// Serves `app` on the Unix socket until `shutdown`, then removes the socket file.
pub async fn serve(listener: UnixListener, path: PathBuf, app: Router, limits: Limits, shutdown: CancellationToken) {
    serve_on(listener, app, limits, shutdown).await;
    let _ = std::fs::remove_file(&path);
}

/// Serves `app` on `listener` until `shutdown`, within `limits`.
pub async fn serve_on(listener: impl Listener, app: Router, limits: Limits, shutdown: CancellationToken) {
    let slots = Arc::new(Slots::default());
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.next() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // EMFILE and the like: the limits keep it rare; don't spin on it.
                    tracing::warn!(%error, "API: cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            () = shutdown.cancelled() => break,
        };
        let Some(slot) = Slots::admit(&slots, limits.capacity) else {
            tracing::warn!(capacity = limits.capacity, "API: every connection is busy; a new one is refused");
            continue;
        };
        let service = hyper::service::service_fn(request_handler(app.clone(), peer, slot.in_flight()));
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            tokio::select! {
                _ = connection => {}
                () = slot.evicted() => tracing::debug!("API: closed a connection waiting for its request, to admit a new one"),
            }
        });
    }
    drop(listener);
    // Requests in flight get a moment; long polls and streams end at shutdown themselves.
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
    connections.shutdown().await;
}

/// What a connection's service answers a request with.
type Answer = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

/// Each request carries its connection's peer, and counts as in flight until
/// its response body is dropped (sent, or abandoned).
fn request_handler(
    app: Router,
    peer: Peer,
    in_flight: Arc<AtomicUsize>,
) -> impl Fn(Request<Incoming>) -> Answer + Clone {
    move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let guard = InFlight::start(in_flight.clone());
        let app = app.clone();
        Box::pin(async move {
            let response = app.oneshot(request.map(Body::new)).await.unwrap_or_else(|never| match never {});
            Ok(response.map(|body| Body::new(Guarded { body, _guard: guard })))
        })
    }
}

/// The open connections, oldest first.
#[derive(Default)]
struct Slots {
    open: Mutex<BTreeMap<u64, SlotState>>,
    next: AtomicU64,
}

struct SlotState {
    in_flight: Arc<AtomicUsize>,
    evict: CancellationToken,
}

/// One admitted connection; dropping it frees its place.
struct Slot {
    id: u64,
    slots: Arc<Slots>,
    in_flight: Arc<AtomicUsize>,
    evict: CancellationToken,
}

impl Slots {
    /// A place for a new connection: a free one, or the oldest connection that
    /// is waiting for a request head; `None` when every open one is busy.
    fn admit(slots: &Arc<Slots>, capacity: usize) -> Option<Slot> {
        let mut open = slots.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.len() >= capacity {
            let idle = open.iter().find(|(_, s)| s.in_flight.load(Ordering::SeqCst) == 0).map(|(id, _)| *id)?;
            if let Some(evicted) = open.remove(&idle) {
                evicted.evict.cancel();
            }
        }
        let id = slots.next.fetch_add(1, Ordering::SeqCst);
        let (in_flight, evict) = (Arc::new(AtomicUsize::new(0)), CancellationToken::new());
        open.insert(id, SlotState { in_flight: in_flight.clone(), evict: evict.clone() });
        Some(Slot { id, slots: slots.clone(), in_flight, evict })
    }
}

impl Slot {
    fn in_flight(&self) -> Arc<AtomicUsize> {
        self.in_flight.clone()
    }

    async fn evicted(&self) {
        self.evict.cancelled().await
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.open.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.id);
    }
}

/// A request in flight on its connection.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn start(count: Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(count)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that ends its request's time in flight when it is dropped.
struct Guarded {
    body: Body,
    _guard: InFlight,
}

impl hyper::body::Body for Guarded {
    type Data = <Body as hyper::body::Body>::Data;
    type Error = <Body as hyper::body::Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_leaves_descriptors_for_webex_and_the_store() {
        let timeout = Duration::from_secs(10);
        assert_eq!(Limits::new(512, 1024, timeout).capacity, 512);
        assert_eq!(Limits::new(2000, 1024, timeout).capacity, 896);
        assert_eq!(Limits::new(512, 100, timeout).capacity, 1, "never zero");
    }

    #[test]
    fn at_capacity_the_oldest_waiting_connection_gives_way() {
        let slots = Arc::new(Slots::default());
        let first = Slots::admit(&slots, 2).unwrap();
        let second = Slots::admit(&slots, 2).unwrap();
        let _busy = InFlight::start(second.in_flight());
        let third = Slots::admit(&slots, 2).expect("the waiting one gives way");
        assert!(first.evict.is_cancelled() && !second.evict.is_cancelled());
        let _busy_too = InFlight::start(third.in_flight());
        assert!(Slots::admit(&slots, 2).is_none(), "every open connection is busy: refused");
        drop(first);
        assert_eq!(slots.open.lock().unwrap().len(), 2, "an evicted slot is already gone");
    }

    #[test]
    fn a_finished_request_makes_its_connection_waiting_again() {
        let slots = Arc::new(Slots::default());
        let only = Slots::admit(&slots, 1).unwrap();
        let request = InFlight::start(only.in_flight());
        assert!(Slots::admit(&slots, 1).is_none());
        drop(request);
        assert!(Slots::admit(&slots, 1).is_some());
        assert!(only.evict.is_cancelled());
    }
}
