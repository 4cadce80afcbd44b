//! Drives Mercury sockets over real I/O, forever, until shutdown.
//!
//! The protocol decisions of one socket live in [`machine`](super::machine); this
//! file moves bytes, keeps time, registers the device when needed, and decides
//! the wait before the next socket from how the last one ended (its close class,
//! a stale registration), racing every wait, dial and registration against
//! shutdown. Events go out on an unbounded channel so that the read loop never
//! waits for a handler (a handler waiting for something this same loop must
//! read would deadlock); acks come back on another channel and are written to
//! whichever socket is live.

#[path = "connection_live.rs"]
mod live;

use super::frame::{self, FrameBody};
use super::link::{Ack, Heartbeat, Inbound, LinkState, BEAT_EVERY};
use super::machine::{classify_close, Action, CloseClass, Timing};
use super::transport::{Dialer, TransportError};
use super::unfamiliar::Unfamiliar;
use crate::backoff::Backoff;
use crate::secret::SharedSecret;
use crate::webex::rest::RestError;
use crate::webex::wdm::{Device, DeviceManager, WdmError};
use futures_util::StreamExt;
use live::Live;
use rand::{rngs::StdRng, SeedableRng};
use std::future::Future;
use std::pin::Pin;
use tokio::sync::{mpsc, watch};
// One clock for the driver and the machine, so paused-time tests steer both.
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum MercuryError {
    #[error("Webex refused the bot token on the device websocket or device registration")]
    TokenRejected,
    #[error("{0}")]
    Fatal(String),
}

pub struct Settings {
    pub timing: Timing,
    pub backoff: Backoff,
    pub bot_uuid: String,
    /// Event types acked and skipped, each logged once.
    pub unfamiliar: Unfamiliar,
}

pub struct Connection {
    pub devices: DeviceManager,
    pub dialer: Dialer,
    pub token: SharedSecret,
    pub settings: Settings,
    pub events: mpsc::UnboundedSender<Inbound>,
    pub state: watch::Sender<LinkState>,
    /// Beaten on every turn and every designed wait, for the systemd watchdog.
    pub heartbeat: Heartbeat,
}

/// How one socket's life ended.
enum SocketEnd {
    Cancelled,
    Stale,
    Closed { class: CloseClass, why: String },
}

enum Flow {
    Continue,
    Handover,
    End(SocketEnd),
}

/// How long a socket must have been ready to count as a working connection.
const STABLE_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

type Opening = Pin<Box<dyn Future<Output = Result<(Live, Vec<Action>), String>> + Send>>;

impl Connection {
    pub async fn run(mut self, shutdown: CancellationToken) -> Result<(), MercuryError> {
        let (ack_tx, mut ack_rx) = mpsc::unbounded_channel();
        let mut rng = StdRng::from_os_rng();
        let mut device: Option<Device> = None;
        let mut stale_in_a_row = 0;
        loop {
            let current = match covered(&shutdown, &self.heartbeat, self.device(device.take())).await {
                None => return Ok(()),
                Some(Ok(current)) => current,
                Some(Err(WdmError::Rest(RestError::Unauthorized { .. }))) => return Err(MercuryError::TokenRejected),
                Some(Err(error)) => {
                    self.disconnected(format!("device registration failed: {error}"));
                    let delay = self.settings.backoff.next_delay(&mut rng);
                    if pause(&shutdown, &self.heartbeat, delay).await.is_err() {
                        return Ok(());
                    }
                    continue;
                }
            };
            let end = self.run_socket(&current, &ack_tx, &mut ack_rx, &shutdown).await;
            if self.was_stable() {
                self.settings.backoff.reset();
            }
            let delay = match end {
                SocketEnd::Cancelled => return Ok(()),
                SocketEnd::Stale => {
                    tracing::warn!(device = %current.url, "device registration is stale: registering again");
                    self.disconnected("device registration was stale".into());
                    stale_in_a_row += 1;
                    // Re-register at once; only a repeat suggests something deeper.
                    (stale_in_a_row > 1).then(|| self.settings.backoff.next_delay(&mut rng))
                }
                SocketEnd::Closed { class, why } => {
                    stale_in_a_row = 0;
                    device = Some(current);
                    self.disconnected(why.clone());
                    match class {
                        CloseClass::Reconnect => Some(self.settings.backoff.next_delay(&mut rng)),
                        CloseClass::Replaced => {
                            self.replaced();
                            Some(self.settings.backoff.cap())
                        }
                        CloseClass::TokenProblem => return Err(MercuryError::TokenRejected),
                        CloseClass::Fatal(message) => return Err(MercuryError::Fatal(message)),
                    }
                }
            };
            if let Some(delay) = delay {
                tracing::info!(?delay, "reconnecting to Mercury");
                if pause(&shutdown, &self.heartbeat, delay).await.is_err() {
                    return Ok(());
                }
            }
        }
    }

    /// The device to connect with: the known one refreshed, else a registration.
    async fn device(&self, known: Option<Device>) -> Result<Device, WdmError> {
        if let Some(device) = known {
            match self.devices.refresh(&device).await {
                Ok(device) => return Ok(device),
                Err(WdmError::Gone) => {
                    tracing::warn!(device = %device.url, "device is gone (404 on refresh)")
                }
                Err(other) => return Err(other),
            }
        }
        self.devices.register().await
    }

    async fn run_socket(
        &mut self,
        device: &Device,
        ack_tx: &mpsc::UnboundedSender<String>,
        ack_rx: &mut mpsc::UnboundedReceiver<String>,
        shutdown: &CancellationToken,
    ) -> SocketEnd {
        let dial = Live::open(&self.dialer, &device.web_socket_url, &self.token, self.settings.timing);
        let mut live = match covered(shutdown, &self.heartbeat, dial).await {
            None => return SocketEnd::Cancelled,
            Some(Ok(live)) => live,
            Some(Err(TransportError::Stale)) => return SocketEnd::Stale,
            Some(Err(error)) => return closed(CloseClass::Reconnect, format!("cannot open the websocket: {error}")),
        };
        let mut opening: Option<Opening> = None;
        loop {
            self.heartbeat.beat();
            let deadline = live.session.next_deadline();
            let flow = tokio::select! {
                _ = shutdown.cancelled() => {
                    live.close().await;
                    return SocketEnd::Cancelled;
                }
                message = live.socket.next() => self.on_message(&mut live, message, device, ack_tx).await,
                Some(frame_id) = ack_rx.recv() => live.send_acks(frame_id, ack_rx).await,
                _ = tokio::time::sleep_until(deadline) => {
                    let actions = live.session.on_tick(Instant::now());
                    self.perform(&mut live, actions, device, ack_tx).await
                }
                result = poll_opening(&mut opening), if opening.is_some() => {
                    opening = None;
                    self.hand_over(&mut live, result, device, ack_tx).await
                }
                // An idle socket still turns the loop, so that it beats.
                _ = tokio::time::sleep(BEAT_EVERY) => Flow::Continue,
            };
            match flow {
                Flow::Continue => {}
                Flow::Handover if opening.is_none() => {
                    tracing::info!("Mercury announced a shutdown: opening a new socket before leaving this one");
                    opening = Some(Live::open_ready(
                        self.dialer.clone(),
                        device.web_socket_url.clone(),
                        self.token.clone(),
                        self.settings.timing,
                        self.settings.bot_uuid.clone(),
                    ));
                }
                Flow::Handover => {}
                Flow::End(end) => return end,
            }
        }
    }

    async fn hand_over(
        &mut self,
        live: &mut Live,
        result: Result<(Live, Vec<Action>), String>,
        device: &Device,
        ack_tx: &mpsc::UnboundedSender<String>,
    ) -> Flow {
        match result {
            Ok((new, pending)) => {
                let mut old = std::mem::replace(live, new);
                old.close().await;
                tracing::info!("handed over to a new Mercury socket");
                self.perform(live, pending, device, ack_tx).await
            }
            Err(error) => {
                tracing::warn!(%error, "could not open the replacement socket; staying on the old one until it closes");
                Flow::Continue
            }
        }
    }

    async fn on_message(
        &mut self,
        live: &mut Live,
        message: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
        device: &Device,
        ack_tx: &mpsc::UnboundedSender<String>,
    ) -> Flow {
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(close))) => {
                let (code, reason) =
                    close.map(|c| (Some(u16::from(c.code)), c.reason.to_string())).unwrap_or((None, String::new()));
                let why = format!(
                    "Mercury closed the socket ({}{})",
                    code.map_or("no code".into(), |c| c.to_string()),
                    if reason.is_empty() { String::new() } else { format!(": {reason}") }
                );
                return Flow::End(closed(classify_close(code, &reason), why));
            }
            Some(Ok(_)) => return Flow::Continue,
            Some(Err(error)) => return Flow::End(closed(CloseClass::Reconnect, format!("socket error: {error}"))),
            None => return Flow::End(closed(CloseClass::Reconnect, "socket ended without a close frame".into())),
        };
        if text.len() > frame::MAX_FRAME_BYTES {
            // Mercury would send it again on every connection: read it, ack it, skip it.
            tracing::warn!(bytes = text.len(), limit = frame::MAX_FRAME_BYTES, "skipping an oversized frame");
            return match frame::salvage_id(&text) {
                Some(id) => live.send(frame::ack(&id)).await,
                None => Flow::Continue,
            };
        }
        match frame::decode(&text, &self.settings.bot_uuid) {
            Ok(decoded) => {
                match &decoded.body {
                    FrameBody::Ignored { event_type } => self.settings.unfamiliar.note("event", event_type),
                    FrameBody::OtherControl { frame_type } => self.settings.unfamiliar.note("frame", frame_type),
                    _ => {}
                }
                let actions = live.session.on_frame(Instant::now(), decoded);
                self.perform(live, actions, device, ack_tx).await
            }
            Err(error) => {
                tracing::warn!(%error, frame = %excerpt(&text), "skipping a frame that does not decode");
                match frame::salvage_id(&text) {
                    Some(id) => live.send(frame::ack(&id)).await,
                    None => Flow::Continue,
                }
            }
        }
    }

    async fn perform(
        &mut self,
        live: &mut Live,
        actions: Vec<Action>,
        device: &Device,
        ack_tx: &mpsc::UnboundedSender<String>,
    ) -> Flow {
        let mut flow = Flow::Continue;
        for action in actions {
            let step = match action {
                Action::Send(text) => live.send(text).await,
                Action::AckNow(id) => live.send(frame::ack(&id)).await,
                Action::Ready => {
                    self.connected(device);
                    Flow::Continue
                }
                Action::Deliver { event, ack_id } => self.deliver(event, ack_id, ack_tx),
                Action::Handover => Flow::Handover,
                Action::SequenceGap { expected, got } => {
                    tracing::warn!(expected, got, "Mercury sequence gap: frames may have been lost");
                    Flow::Continue
                }
                Action::Close(give_up) => {
                    live.close().await;
                    Flow::End(closed(CloseClass::Reconnect, format!("giving up on the socket: {give_up:?}")))
                }
            };
            match step {
                Flow::Continue => {}
                Flow::Handover => flow = Flow::Handover,
                end @ Flow::End(_) => return end,
            }
        }
        flow
    }

    fn deliver(&self, event: super::Event, ack_id: Option<String>, ack_tx: &mpsc::UnboundedSender<String>) -> Flow {
        tracing::debug!(kind = event.kind(), activity = event.activity_id(), "event");
        self.state.send_modify(|s| s.last_event_at = Some(chrono::Utc::now()));
        match self.events.send(Inbound { event, ack: Ack::new(ack_id, ack_tx.clone()) }) {
            Ok(()) => Flow::Continue,
            // Nobody listens any more: the daemon is shutting down.
            Err(_) => Flow::End(SocketEnd::Cancelled),
        }
    }

    /// Whether the socket that just ended had been ready for [`STABLE_AFTER`]:
    /// only then does the next failure start the backoff from its base. A socket
    /// that fails soon after it is ready (a frame that breaks it, resent on every
    /// connection) must not make reconnecting a storm.
    fn was_stable(&self) -> bool {
        let state = self.state.borrow();
        let up_for = state.since.map(|since| chrono::Utc::now() - since).unwrap_or_default();
        state.connected && up_for.to_std().is_ok_and(|up_for| up_for >= STABLE_AFTER)
    }

    fn connected(&mut self, device: &Device) {
        tracing::info!(device = %device.url, "connected to Mercury");
        self.state.send_modify(|s| {
            if s.since.is_some() {
                s.reconnects += 1;
            }
            s.connected = true;
            s.since = Some(chrono::Utc::now());
            s.down_since = None;
            s.device_url = Some(device.url.clone());
            s.last_error = None;
            s.replaced_at = None;
        });
    }

    fn disconnected(&self, why: String) {
        tracing::warn!(reason = %why, "Mercury disconnected");
        self.state.send_modify(|s| {
            if s.connected || s.down_since.is_none() {
                s.down_since = Some(chrono::Utc::now());
            }
            s.connected = false;
            s.last_error = Some(why);
        });
    }

    /// Another connection took this device registration over (4000). Said
    /// loudly, once per takeover: fighting back would only evict it in turn.
    fn replaced(&self) {
        tracing::error!("another connection took over this bot's device registration (close 4000): another instance uses this bot's device; stop it, or give each instance its own webex.device_name");
        self.state.send_modify(|s| {
            s.replaced_at = Some(chrono::Utc::now());
            s.replaced += 1;
        });
    }
}

fn closed(class: CloseClass, why: String) -> SocketEnd {
    SocketEnd::Closed { class, why }
}

async fn poll_opening(opening: &mut Option<Opening>) -> Result<(Live, Vec<Action>), String> {
    match opening {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

/// Awaits `work` as a designed wait, so it beats, unless shutdown comes first:
/// a shutdown must not wait for a dial or a registration to finish or give up.
async fn covered<F: Future>(shutdown: &CancellationToken, heartbeat: &Heartbeat, work: F) -> Option<F::Output> {
    shutdown.run_until_cancelled(heartbeat.cover(work)).await
}

/// Sleeps between attempts; reconnecting as designed is being alive, so it beats.
async fn pause(shutdown: &CancellationToken, heartbeat: &Heartbeat, delay: std::time::Duration) -> Result<(), ()> {
    covered(shutdown, heartbeat, tokio::time::sleep(delay)).await.ok_or(())
}

fn excerpt(text: &str) -> String {
    text.chars().take(200).collect()
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
