//! The Mercury websocket: authorization, buffer state, JSON ping/pong, acks,
//! delivery of each device's buffered activity frames, and socket faults.
//!
//! A connection remembers the last buffer position it sent; frames stay in
//! the device's buffer until acked, so the next connection of that device
//! starts from the beginning of the buffer and redelivers them — those still
//! inside the replay window. A socket that does not authorize in time is
//! closed (1008), as Mercury does.

use super::errors::ApiError;
use super::faults::{ConnCommand, FaultTarget, Injection};
use super::frames;
use super::handle::Shared;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

/// How long a client may linger after a `shutdown` frame before we close with 4001.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

pub fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/mercury/v1/apps/wx2/registrations/{registration}/messages", get(upgrade))
}

async fn upgrade(State(s): State<Arc<Shared>>, Path(registration): Path<String>, ws: WebSocketUpgrade) -> Response {
    let path = format!("/mercury/v1/apps/wx2/registrations/{registration}/messages");
    if let Some(refused) = s.faults.take(FaultTarget::Upgrade, &path) {
        return refused.into_response();
    }
    if s.read().device_by_registration(&registration).is_none() {
        // A stale registration: 404, the client must register again.
        return ApiError::new(StatusCode::NOT_FOUND, "Registration not found.").into_response();
    }
    if s.faults.stall_upgrades() {
        stall(&s).await;
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "Stalled by the simulator.").into_response();
    }
    let tasks = s.tasks.clone();
    ws.on_upgrade(move |socket| tasks.track_future(serve(socket, s, registration)))
}

/// Holds the upgrade request until the client gives up (hyper drops this
/// future) or the simulator stops; the count follows either way.
async fn stall(s: &Shared) {
    struct Held<'a>(&'a AtomicUsize);
    impl Drop for Held<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    s.stalled.fetch_add(1, Ordering::SeqCst);
    let _held = Held(&s.stalled);
    s.cancel.cancelled().await;
}

enum Auth {
    Granted,
    Refused,
    Gone,
    TimedOut,
}

/// Waits for the authorization frame; nothing else is honoured before it.
async fn authorize(socket: &mut WebSocket, token: &str) -> Auth {
    let expected = format!("Bearer {token}");
    while let Some(Ok(msg)) = socket.recv().await {
        let Message::Text(text) = msg else {
            if matches!(msg, Message::Close(_)) {
                return Auth::Gone;
            }
            continue;
        };
        let Ok(frame) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if frame["type"] == "authorization" {
            return match frame["data"]["token"].as_str() == Some(expected.as_str()) {
                true => Auth::Granted,
                false => Auth::Refused,
            };
        }
    }
    Auth::Gone
}

fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}

async fn serve(mut socket: WebSocket, s: Arc<Shared>, registration: String) {
    let timeout = s.settings.auth_timeout();
    let token = s.token();
    let auth = tokio::select! {
        _ = s.cancel.cancelled() => return,
        auth = tokio::time::timeout(timeout, authorize(&mut socket, &token)) => auth.unwrap_or(Auth::TimedOut),
    };
    match auth {
        Auth::Granted => {}
        Auth::Refused => {
            let _ = socket.send(close(4401, "Unauthorized")).await;
            return;
        }
        Auth::TimedOut => {
            let _ = socket.send(close(1008, &s.settings.auth_timeout_reason())).await;
            return;
        }
        Auth::Gone => return,
    }
    s.connections.fetch_add(1, Ordering::SeqCst);
    let mut conn = Connection {
        id: s.next_conn_id.fetch_add(1, Ordering::SeqCst),
        socket,
        shared: s.clone(),
        registration,
        sequence: 0,
        sent_up_to: 0,
        shutting_down: false,
    };
    // Errors only mean the socket is gone; either way this connection ends.
    let _ = conn.run().await;
    s.connections.fetch_sub(1, Ordering::SeqCst);
}

/// Why the connection loop stopped (the socket is then dropped).
struct Ended;

struct Connection {
    id: u64,
    socket: WebSocket,
    shared: Arc<Shared>,
    registration: String,
    sequence: u64,
    sent_up_to: u64,
    /// After a `shutdown` frame the client is expected to open a successor on
    /// the same registration; that handover must not count as a replacement.
    shutting_down: bool,
}

impl Connection {
    async fn send(&mut self, frame: Value) -> Result<(), Ended> {
        let text = frame.to_string();
        self.socket.send(Message::Text(text.into())).await.map_err(|_| Ended)
    }

    async fn close(&mut self, code: u16, reason: &str) -> Result<(), Ended> {
        let _ = self.socket.send(close(code, reason)).await;
        Err(Ended)
    }

    fn next_sequence(&mut self) -> u64 {
        self.sequence += 1;
        self.sequence
    }

    /// Sends the device's buffered frames this connection has not sent yet.
    async fn deliver(&mut self) -> Result<(), Ended> {
        let pending = self.shared.read().frames_after(&self.registration, self.sent_up_to);
        for p in pending {
            let sequence = self.next_sequence();
            let frame = frames::activity_frame(&self.shared.urls(), &p, sequence);
            self.send(frame).await?;
            self.sent_up_to = p.ordinal;
        }
        Ok(())
    }

    async fn run(&mut self) -> Result<(), Ended> {
        let s = self.shared.clone();
        let mut commands = s.commands.subscribe();
        let mut changed = s.changed.subscribe();
        s.command(ConnCommand::Replaced { registration: self.registration.clone(), keep: self.id });
        self.expire_old_frames();
        let sequence = self.next_sequence();
        self.send(frames::buffer_state(sequence)).await?;
        self.deliver().await?;
        let mut shutdown_at: Option<Instant> = None;
        loop {
            let deadline = shutdown_at.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                _ = s.cancel.cancelled() => return Err(Ended),
                cmd = commands.recv() => match cmd {
                    Ok(cmd) => {
                        if let Some(when) = self.on_command(cmd).await? {
                            shutdown_at = Some(when);
                        }
                    }
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return Err(Ended),
                },
                _ = tokio::time::sleep_until(deadline), if shutdown_at.is_some() => {
                    return self.close(4001, "shutdown").await;
                }
                res = changed.changed() => {
                    res.map_err(|_| Ended)?;
                    self.deliver().await?;
                }
                msg = self.socket.recv() => match msg {
                    Some(Ok(Message::Text(text))) => self.on_text(&text).await?,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Err(Ended),
                    Some(Ok(_)) => {}
                },
            }
        }
    }

    /// Mercury replays only the recent past: older unacked frames are gone.
    fn expire_old_frames(&self) {
        let window = chrono::Duration::from_std(self.shared.settings.replay_window()).unwrap_or(chrono::TimeDelta::MAX);
        let oldest = chrono::Utc::now().checked_sub_signed(window).unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        let dropped = self.shared.update(|w| w.expire_frames(&self.registration, oldest));
        if dropped > 0 {
            tracing::debug!(dropped, registration = %self.registration, "frames older than the replay window not redelivered");
        }
    }

    async fn inject(&mut self, injection: Injection) -> Result<(), Ended> {
        match injection {
            Injection::Json(mut frame) => {
                frame["sequenceNumber"] = serde_json::json!(self.next_sequence());
                self.send(frame).await
            }
            Injection::Binary(bytes) => self.socket.send(Message::Binary(bytes.into())).await.map_err(|_| Ended),
        }
    }

    /// Applies a fault command; returns when to close if a shutdown was announced.
    async fn on_command(&mut self, cmd: ConnCommand) -> Result<Option<Instant>, Ended> {
        match cmd {
            ConnCommand::Drop => Err(Ended),
            ConnCommand::Close(code, reason) => self.close(code, &reason).await.map(|_| None),
            ConnCommand::Shutdown => {
                self.shutting_down = true;
                self.send(frames::shutdown()).await?;
                Ok(Some(Instant::now() + SHUTDOWN_GRACE))
            }
            ConnCommand::Replaced { registration, keep }
                if registration == self.registration && keep != self.id && !self.shutting_down =>
            {
                self.close(4000, "replaced").await.map(|_| None)
            }
            ConnCommand::Replaced { .. } => Ok(None),
            ConnCommand::Inject(injection) => self.inject(injection).await.map(|_| None),
        }
    }

    async fn on_text(&mut self, text: &str) -> Result<(), Ended> {
        let Ok(frame) = serde_json::from_str::<Value>(text) else {
            return Ok(());
        };
        match frame["type"].as_str() {
            Some("ping") if self.shared.faults.answer_pings() => self.send(frames::pong(&frame["id"])).await,
            Some("ack") if self.shared.faults.lose_acks() => Ok(()),
            Some("ack") => {
                if let Some(id) = frame["messageId"].as_str() {
                    let s = &self.shared;
                    s.acked.fetch_add(1, Ordering::SeqCst);
                    let matched =
                        if s.read().ack(&self.registration, id) { &s.acks_matched } else { &s.acks_unmatched };
                    matched.fetch_add(1, Ordering::SeqCst);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}
