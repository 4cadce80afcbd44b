//! What the rest of the daemon gets from the Mercury connection: events with an
//! ack handle, and a live view of the link's health.

use super::event::Event;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

/// An event from Webex. Ack it once its effects are safely stored: Mercury
/// redelivers unacked frames after a reconnect, so dropping an [`Ack`] unsent
/// means "give it to me again".
#[derive(Debug)]
pub struct Inbound {
    pub event: Event,
    pub ack: Ack,
}

#[derive(Debug)]
pub struct Ack {
    frame_id: Option<String>,
    acks: mpsc::UnboundedSender<String>,
}

impl Ack {
    pub(super) fn new(frame_id: Option<String>, acks: mpsc::UnboundedSender<String>) -> Self {
        Self { frame_id, acks }
    }

    /// Acks the frame on whatever socket is live now. If none is, Mercury will
    /// redeliver and de-duplication will drop the copy.
    pub fn send(self) {
        if let Some(id) = self.frame_id {
            let _ = self.acks.send(id);
        }
    }
}

/// The connection's state, as `/v1/health` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkState {
    pub connected: bool,
    pub since: Option<DateTime<Utc>>,
    pub last_event_at: Option<DateTime<Utc>>,
    /// Ready connections lost and re-established since start.
    pub reconnects: u64,
    pub device_url: Option<String>,
    pub last_error: Option<String>,
}
