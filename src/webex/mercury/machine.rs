//! One Mercury socket's life as an I/O-free state machine.
//!
//! The driver (`connection.rs`) feeds it what happened — the socket opened, a
//! frame arrived, time passed — and performs the [`Action`]s it returns. Keeping
//! the protocol here, away from sockets and timers, lets tests walk through every
//! transition with a fake clock.
//!
//! Protocol (see the Webex notes, section 4): authorize first; count as connected
//! only after `mercury.buffer_state`; JSON ping 15 s after the last pong, and give
//! up on the socket when no pong comes within 14 s. A socket that never becomes
//! ready is given up too, so a half-open TCP connection is noticed within ~30 s.

use super::event::Event;
use super::frame::{self, Frame, FrameBody};
use std::time::Duration;
// Tokio's clock, not std's: the driver sleeps until these instants, and a test
// that pauses tokio's clock must move them too.
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub ping_interval: Duration,
    pub pong_timeout: Duration,
    pub ready_timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(15),
            pong_timeout: Duration::from_secs(14),
            ready_timeout: Duration::from_secs(20),
        }
    }
}

/// Why the machine wants this socket closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GiveUp {
    PongTimeout,
    NotReadyInTime,
}

#[allow(clippy::large_enum_variant)] // short-lived, like FrameBody
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write this text frame.
    Send(String),
    /// The socket is live: events will flow.
    Ready,
    /// Hand an event over; ack `ack_id` once it is safely handled.
    Deliver {
        event: Event,
        ack_id: Option<String>,
    },
    /// Ack a frame that needs no handling.
    AckNow(String),
    /// The server announced a planned close: open a new socket, then drop this one.
    Handover,
    /// A sequence number was skipped: a frame was lost (Webex's SDK only logs it).
    SequenceGap {
        expected: u64,
        got: u64,
    },
    Close(GiveUp),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Authorizing { deadline: Instant },
    Ready { since: Instant },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Heartbeat {
    Idle { next_ping: Instant },
    AwaitingPong { deadline: Instant },
}

#[derive(Debug)]
pub struct Session {
    timing: Timing,
    phase: Phase,
    heartbeat: Heartbeat,
    pending_ping: Option<String>,
    next_sequence: Option<u64>,
}

impl Session {
    /// A socket has just opened: the returned frame (authorization) goes first.
    pub fn open(now: Instant, timing: Timing, token: &str) -> (Self, Action) {
        let session = Self {
            timing,
            phase: Phase::Authorizing { deadline: now + timing.ready_timeout },
            heartbeat: Heartbeat::Idle { next_ping: now + timing.ping_interval },
            pending_ping: None,
            next_sequence: None,
        };
        let auth = frame::authorization(&uuid::Uuid::new_v4().to_string(), token);
        (session, Action::Send(auth))
    }

    pub fn is_ready(&self) -> bool {
        matches!(self.phase, Phase::Ready { .. })
    }

    pub fn ready_since(&self) -> Option<Instant> {
        match self.phase {
            Phase::Ready { since } => Some(since),
            Phase::Authorizing { .. } => None,
        }
    }

    /// When [`Session::on_tick`] next has something to do.
    pub fn next_deadline(&self) -> Instant {
        let heartbeat = match self.heartbeat {
            Heartbeat::Idle { next_ping } => next_ping,
            Heartbeat::AwaitingPong { deadline } => deadline,
        };
        match self.phase {
            Phase::Authorizing { deadline } => deadline.min(heartbeat),
            Phase::Ready { .. } => heartbeat,
        }
    }

    pub fn on_tick(&mut self, now: Instant) -> Vec<Action> {
        if let Phase::Authorizing { deadline } = self.phase {
            if now >= deadline {
                return vec![Action::Close(GiveUp::NotReadyInTime)];
            }
        }
        match self.heartbeat {
            Heartbeat::AwaitingPong { deadline } if now >= deadline => {
                vec![Action::Close(GiveUp::PongTimeout)]
            }
            Heartbeat::Idle { next_ping } if now >= next_ping => {
                let id = uuid::Uuid::new_v4().to_string();
                let ping = frame::ping(&id);
                self.pending_ping = Some(id);
                self.heartbeat = Heartbeat::AwaitingPong { deadline: now + self.timing.pong_timeout };
                vec![Action::Send(ping)]
            }
            _ => Vec::new(),
        }
    }

    pub fn on_frame(&mut self, now: Instant, frame: Frame) -> Vec<Action> {
        let mut actions = Vec::new();
        if let Some(gap) = self.track_sequence(frame.sequence) {
            actions.push(gap);
        }
        let ack_id = frame.ack_id().map(str::to_owned);
        match frame.body {
            FrameBody::Pong { ping_id } => self.on_pong(now, &ping_id),
            FrameBody::Shutdown => actions.push(Action::Handover),
            FrameBody::Ready => {
                if !self.is_ready() {
                    self.phase = Phase::Ready { since: now };
                    actions.push(Action::Ready);
                }
                actions.extend(ack_id.map(Action::AckNow));
            }
            FrameBody::Activity(event) => actions.push(Action::Deliver { event, ack_id }),
            FrameBody::Ignored { .. } | FrameBody::OtherControl { .. } => actions.extend(ack_id.map(Action::AckNow)),
        }
        actions
    }

    fn on_pong(&mut self, now: Instant, ping_id: &str) {
        // A pong for an older ping still proves the socket is alive.
        if self.pending_ping.as_deref() != Some(ping_id) {
            tracing::debug!(ping_id, "pong for an earlier ping");
        }
        self.pending_ping = None;
        self.heartbeat = Heartbeat::Idle { next_ping: now + self.timing.ping_interval };
    }

    fn track_sequence(&mut self, sequence: Option<u64>) -> Option<Action> {
        let got = sequence?;
        let expected = self.next_sequence.replace(got + 1);
        match expected {
            Some(expected) if got > expected => Some(Action::SequenceGap { expected, got }),
            _ => None,
        }
    }
}

/// What a closed socket means for the next attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseClass {
    /// Ordinary: reconnect with backoff.
    Reconnect,
    /// Another connection took over this registration (4000). Reconnecting at
    /// once would fight it, so wait the longest backoff.
    Replaced,
    /// The token was refused (4401): check it before trying again.
    TokenProblem,
    /// Bad credentials or not entitled (4400, 4403): retrying will not help
    /// until an operator acts.
    Fatal(String),
}

/// Classifies a close code as the Webex notes describe. Unknown codes reconnect:
/// being wrong about an unknown code must be survivable.
pub fn classify_close(code: Option<u16>, reason: &str) -> CloseClass {
    match code {
        Some(4000) => CloseClass::Replaced,
        Some(4401) => CloseClass::TokenProblem,
        Some(code @ (4400 | 4403)) => CloseClass::Fatal(format!("Mercury closed with {code}: {reason}")),
        _ => CloseClass::Reconnect,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webex::mercury::frame::decode;

    const BOT: &str = "bot-uuid";

    fn timing() -> Timing {
        Timing {
            ping_interval: Duration::from_secs(15),
            pong_timeout: Duration::from_secs(14),
            ready_timeout: Duration::from_secs(20),
        }
    }

    fn frame(text: &str) -> Frame {
        decode(text, BOT).unwrap()
    }

    const READY: &str = r#"{"id":"r1","sequenceNumber":1,"data":{"eventType":"mercury.buffer_state"}}"#;

    fn ready_session(t0: Instant) -> Session {
        let (mut session, _) = Session::open(t0, timing(), "tok");
        assert_eq!(session.on_frame(t0, frame(READY)), vec![Action::Ready, Action::AckNow("r1".into())]);
        session
    }

    fn sent_ping_id(actions: &[Action]) -> String {
        let [Action::Send(text)] = actions else { panic!("expected one ping, got {actions:?}") };
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(value["type"], "ping");
        value["id"].as_str().unwrap().to_owned()
    }

    #[test]
    fn authorizes_first_and_is_ready_only_after_buffer_state() {
        let t0 = Instant::now();
        let (mut session, first) = Session::open(t0, timing(), "tok");
        let Action::Send(auth) = first else { panic!() };
        assert!(auth.contains(r#""type":"authorization""#) && auth.contains("Bearer tok"));
        assert!(!session.is_ready());
        session.on_frame(t0, frame(READY));
        assert!(session.is_ready());
    }

    #[test]
    fn not_ready_in_time_gives_up() {
        let t0 = Instant::now();
        let (mut session, _) = Session::open(t0, timing(), "tok");
        assert_eq!(session.next_deadline(), t0 + Duration::from_secs(15));
        session.on_tick(t0 + Duration::from_secs(15));
        assert_eq!(session.on_tick(t0 + Duration::from_secs(20)), vec![Action::Close(GiveUp::NotReadyInTime)]);
    }

    #[test]
    fn pings_after_interval_and_expects_pong() {
        let t0 = Instant::now();
        let mut session = ready_session(t0);
        assert!(session.on_tick(t0 + Duration::from_secs(14)).is_empty());
        let ping_id = sent_ping_id(&session.on_tick(t0 + Duration::from_secs(15)));
        let pong = format!(r#"{{"id":"{ping_id}","type":"pong"}}"#);
        assert!(session.on_frame(t0 + Duration::from_secs(16), frame(&pong)).is_empty());
        // The next ping is due 15 s after the pong, not after the ping.
        assert!(session.on_tick(t0 + Duration::from_secs(30)).is_empty());
        sent_ping_id(&session.on_tick(t0 + Duration::from_secs(31)));
    }

    #[test]
    fn silent_socket_is_detected_within_thirty_seconds() {
        let t0 = Instant::now();
        let mut session = ready_session(t0);
        sent_ping_id(&session.on_tick(t0 + Duration::from_secs(15)));
        assert!(session.on_tick(t0 + Duration::from_secs(28)).is_empty());
        assert_eq!(session.on_tick(t0 + Duration::from_secs(29)), vec![Action::Close(GiveUp::PongTimeout)]);
    }

    #[test]
    fn activities_are_delivered_with_their_ack_id() {
        let t0 = Instant::now();
        let mut session = ready_session(t0);
        let text = r#"{"id":"f2","sequenceNumber":2,"data":{"eventType":"conversation.activity","activity":{"id":"a","verb":"create"}}}"#;
        let actions = session.on_frame(t0, frame(text));
        let [Action::Deliver { event, ack_id }] = actions.as_slice() else { panic!("{actions:?}") };
        assert_eq!(event.activity_id(), "a");
        assert_eq!(ack_id.as_deref(), Some("f2"));
    }

    #[test]
    fn ignored_events_are_acked_at_once_and_gaps_reported() {
        let t0 = Instant::now();
        let mut session = ready_session(t0);
        let typing = r#"{"id":"f5","sequenceNumber":5,"data":{"eventType":"status.start_typing"}}"#;
        assert_eq!(
            session.on_frame(t0, frame(typing)),
            vec![Action::SequenceGap { expected: 2, got: 5 }, Action::AckNow("f5".into())]
        );
    }

    #[test]
    fn shutdown_asks_for_a_handover() {
        let t0 = Instant::now();
        let mut session = ready_session(t0);
        assert_eq!(session.on_frame(t0, frame(r#"{"type":"shutdown"}"#)), vec![Action::Handover]);
    }

    #[test]
    fn close_codes_are_classified() {
        assert_eq!(classify_close(Some(1000), "idle"), CloseClass::Reconnect);
        assert_eq!(classify_close(Some(1006), ""), CloseClass::Reconnect);
        assert_eq!(classify_close(None, ""), CloseClass::Reconnect);
        assert_eq!(classify_close(Some(4001), "shutdown"), CloseClass::Reconnect);
        assert_eq!(classify_close(Some(4000), "replaced"), CloseClass::Replaced);
        assert_eq!(classify_close(Some(4401), ""), CloseClass::TokenProblem);
        assert!(matches!(classify_close(Some(4403), "not entitled"), CloseClass::Fatal(m) if m.contains("4403")));
    }
}
