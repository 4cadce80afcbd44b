//! One open Mercury socket and its protocol state, for [`Connection`](super::Connection):
//! opening it (authorizing, or waiting until a replacement is ready), writing
//! to it (acks batched under one flush) and closing it.

use super::{closed, Flow, Opening};
use crate::secret::SharedSecret;
use crate::webex::mercury::frame;
use crate::webex::mercury::machine::{Action, CloseClass, Session, Timing};
use crate::webex::mercury::transport::{Dialer, Socket, TransportError};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame};
use tokio_tungstenite::tungstenite::Message;

/// Acks written before one flush at most, so a long burst still reaches Mercury as it goes.
const ACK_BATCH: usize = 64;

/// One open socket and its protocol state.
pub(super) struct Live {
    pub(super) socket: Socket,
    pub(super) session: Session,
}

impl Live {
    pub(super) async fn open(
        dialer: &Dialer,
        url: &str,
        token: &SharedSecret,
        timing: Timing,
    ) -> Result<Self, TransportError> {
        let mut socket = dialer.open(url).await?;
        let (session, Action::Send(auth)) = Session::open(Instant::now(), timing, token.get().expose()) else {
            unreachable!("a session always starts by authorizing")
        };
        socket.send(Message::Text(auth.into())).await.map_err(|e| TransportError::Handshake(e.to_string()))?;
        Ok(Self { socket, session })
    }

    /// Opens a socket and waits until it is ready, keeping whatever the server
    /// sent meanwhile for the caller to act on.
    pub(super) fn open_ready(
        dialer: Dialer,
        url: String,
        token: SharedSecret,
        timing: Timing,
        bot_uuid: String,
    ) -> Opening {
        Box::pin(async move {
            let mut live = Live::open(&dialer, &url, &token, timing).await.map_err(|e| e.to_string())?;
            let mut pending = Vec::new();
            let deadline = Instant::now() + timing.ready_timeout;
            while !live.session.is_ready() {
                let message = tokio::time::timeout_at(deadline, live.socket.next()).await;
                let Ok(Some(Ok(message))) = message else {
                    return Err("the replacement socket did not become ready".to_owned());
                };
                if let Message::Text(text) = message {
                    if let Ok(decoded) = frame::decode(&text, &bot_uuid) {
                        pending.extend(live.session.on_frame(Instant::now(), decoded));
                    }
                }
            }
            Ok((live, pending))
        })
    }

    pub(super) async fn send(&mut self, text: String) -> Flow {
        match self.socket.send(Message::Text(text.into())).await {
            Ok(()) => Flow::Continue,
            Err(error) => write_failed(&error),
        }
    }

    /// Acks `first` and the acks already waiting behind it, flushed once: a
    /// burst of events is acked in a few writes, not one per event.
    pub(super) async fn send_acks(&mut self, first: String, waiting: &mut mpsc::UnboundedReceiver<String>) -> Flow {
        let mut next = Some(first);
        let mut sent = 0;
        while let Some(id) = next.take() {
            if let Err(error) = self.socket.feed(Message::Text(frame::ack(&id).into())).await {
                return write_failed(&error);
            }
            sent += 1;
            next = if sent < ACK_BATCH { waiting.try_recv().ok() } else { None };
        }
        match self.socket.flush().await {
            Ok(()) => Flow::Continue,
            Err(error) => write_failed(&error),
        }
    }

    pub(super) async fn close(&mut self) {
        let frame = CloseFrame { code: CloseCode::Normal, reason: "".into() };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), self.socket.close(Some(frame))).await;
    }
}

/// A write that failed ends the socket; the driver reconnects.
fn write_failed(error: &impl std::fmt::Display) -> Flow {
    Flow::End(closed(CloseClass::Reconnect, format!("write failed: {error}")))
}
