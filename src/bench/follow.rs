//! One `GET /v1/events?follow=true` stream, read in a task, each escalation
//! event stamped with the moment its bytes arrived: latencies are measured
//! where an engine would see them, not when the bench got round to looking.

use crate::store::{EventKind, EventPayload, EventRecord};
use anyhow::Context;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use std::path::Path;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// An escalation event as it arrived on the stream.
#[derive(Debug)]
pub struct Seen {
    pub kind: EventKind,
    pub escalation_id: String,
    pub message_id: Option<String>,
    pub at: Instant,
}

/// Escalation events only; spaces, connection changes and heartbeats are not
/// what the bench waits for.
fn parse(line: &[u8], at: Instant) -> Option<Seen> {
    let event: EventRecord = serde_json::from_slice(line).ok()?;
    let EventPayload::Escalation(escalation) = event.payload else { return None };
    Some(Seen { kind: event.kind, escalation_id: escalation.id, message_id: escalation.delivery.message_id, at })
}

pub struct Follower {
    events: mpsc::UnboundedReceiver<Seen>,
    stop: CancellationToken,
    reader: JoinSet<anyhow::Result<()>>,
}

impl Follower {
    /// Returns once the daemon has answered, so no later event can be missed.
    pub async fn open(socket: &Path, after: i64) -> anyhow::Result<Self> {
        let (sender, events) = mpsc::unbounded_channel();
        let (ready_tx, ready) = oneshot::channel();
        let stop = CancellationToken::new();
        let mut reader = JoinSet::new();
        reader.spawn(read(socket.to_owned(), after, sender, ready_tx, stop.clone()));
        let mut follower = Self { events, stop, reader };
        if ready.await.is_err() {
            follower.stop.cancel();
            return Err(follower.join().await.err().unwrap_or_else(|| anyhow::anyhow!("the event stream closed")));
        }
        Ok(follower)
    }

    /// The next escalation event, or an error at `deadline`.
    pub async fn next(&mut self, deadline: Instant) -> anyhow::Result<Seen> {
        match tokio::time::timeout_at(deadline, self.events.recv()).await {
            Ok(Some(seen)) => Ok(seen),
            Ok(None) => anyhow::bail!("the event stream ended early"),
            Err(_) => anyhow::bail!("no expected event on the stream in time"),
        }
    }

    pub async fn close(mut self) -> anyhow::Result<()> {
        self.stop.cancel();
        self.join().await
    }

    async fn join(&mut self) -> anyhow::Result<()> {
        let mut outcome = Ok(());
        while let Some(joined) = self.reader.join_next().await {
            outcome = outcome.and(joined.context("the event stream reader panicked")?);
        }
        outcome
    }
}

async fn read(
    socket: std::path::PathBuf,
    after: i64,
    events: mpsc::UnboundedSender<Seen>,
    ready: oneshot::Sender<()>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let stream = UnixStream::connect(&socket).await.with_context(|| format!("connecting to {}", socket.display()))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let request = hyper::Request::get(format!("/v1/events?after={after}&follow=true"))
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())?;
    let lines = async move {
        let response = sender.send_request(request).await?;
        anyhow::ensure!(response.status().is_success(), "GET /v1/events answered {}", response.status());
        let _ = ready.send(());
        forward_lines(response.into_body(), &events).await
    };
    // Reading ends the exchange, which ends the connection; `stop` ends both.
    tokio::select! {
        _ = stop.cancelled() => Ok(()),
        (result, _) = async { tokio::join!(lines, connection) } => result,
    }
}

async fn forward_lines(mut body: hyper::body::Incoming, events: &mpsc::UnboundedSender<Seen>) -> anyhow::Result<()> {
    let mut buffer = Vec::new();
    while let Some(frame) = body.frame().await {
        let at = Instant::now();
        if let Ok(data) = frame?.into_data() {
            buffer.extend_from_slice(&data);
        }
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            if let Some(seen) = parse(&line, at) {
                if events.send(seen).is_err() {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}
