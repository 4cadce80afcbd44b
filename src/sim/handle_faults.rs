//! [`SimHandle`]'s fault switches and Mercury settings: what makes the
//! simulated Webex misbehave the way the real one does on a bad day.

use super::faults::{ConnCommand, Failure, FaultTarget, Injection, RetryAfter};
use super::frames;
use super::handle::{SimError, SimHandle};
use super::lost_answers::LostAnswers;
use super::world::World;
use std::sync::atomic::Ordering;
use std::time::Duration;

impl SimHandle {
    pub fn drop_sockets(&self) {
        self.shared.command(ConnCommand::Drop);
    }

    pub fn close_sockets(&self, code: u16, reason: &str) {
        self.shared.command(ConnCommand::Close(code, reason.to_owned()));
    }

    pub fn send_shutdown(&self) {
        self.shared.command(ConnCommand::Shutdown);
    }

    pub fn set_pong(&self, answer: bool) {
        self.shared.faults.set_answer_pings(answer);
    }

    pub fn fail_next_rest(&self, n: usize, status: u16, retry_after_s: Option<u64>) {
        self.shared.faults.fail_next(FaultTarget::Rest, n, status, retry_after_s);
    }

    /// As [`SimHandle::fail_next_rest`], for `/v1` calls whose path contains
    /// `path_part` only (e.g. `"/rooms/"`: single-room lookups); others pass.
    pub fn fail_next_rest_matching(&self, path_part: &str, n: usize, status: u16, retry_after_s: Option<u64>) {
        let retry_after = retry_after_s.map(RetryAfter::Seconds);
        let failure = Failure { count: n, status, retry_after, path: Some(path_part.to_owned()) };
        self.shared.faults.arm(FaultTarget::Rest, failure);
    }

    pub fn fail_next_wdm(&self, n: usize, status: u16, retry_after_s: Option<u64>) {
        self.shared.faults.fail_next(FaultTarget::Wdm, n, status, retry_after_s);
    }

    /// The general form: REST, WDM, U2C or the websocket upgrade, with a
    /// `Retry-After` in seconds, as an HTTP date, or malformed.
    pub fn fail_next_calls(&self, target: FaultTarget, failure: Failure) {
        self.shared.faults.arm(target, failure);
    }

    pub fn make_devices_stale(&self) {
        self.shared.update(World::forget_devices);
    }

    pub fn duplicate_next_event(&self) {
        self.shared.update(World::duplicate_next_event);
    }

    pub fn refuse_card_edits(&self, refuse: bool) {
        self.shared.faults.set_refuse_card_edits(refuse);
    }

    /// Acks are dropped on the floor, as if lost in transit: every frame stays
    /// buffered and is redelivered when the device connects again.
    pub fn lose_acks(&self, lose: bool) {
        self.shared.faults.set_lose_acks(lose);
    }

    /// Websocket upgrades are accepted at the TCP level and never answered, as
    /// by a proxy or load balancer that stalls: the client's dial hangs.
    pub fn stall_upgrades(&self, stall: bool) {
        self.shared.faults.set_stall_upgrades(stall);
    }

    /// How many upgrade requests are being held by [`SimHandle::stall_upgrades`].
    pub fn stalled_upgrades(&self) -> usize {
        self.shared.stalled.load(Ordering::SeqCst)
    }

    /// The bot's token is regenerated: only `token` works from now on, on REST
    /// and on new sockets (live sockets stay up, as on Webex).
    pub fn regenerate_token(&self, token: &str) {
        self.shared.set_token(token);
    }

    /// The next matching REST requests are carried out (a card is stored) and
    /// their answers lost: replaced by a status, or delayed past a timeout.
    pub fn lose_answers(&self, lost: LostAnswers) {
        self.shared.faults.lost_answers.arm(lost);
    }

    /// Queues, like any activity, a room update frame of about `bytes` bytes:
    /// Mercury redelivers it until it is acked.
    pub fn emit_oversized_frame(&self, room_id: &str, bytes: usize) -> Result<(), SimError> {
        self.shared.update(|w| {
            let room = w.room_by_rest(room_id).map(|r| r.uuid.clone());
            let room = room.ok_or_else(|| SimError::NotFound(format!("room {room_id}")))?;
            w.emit_padded(&room, bytes).map_err(SimError::from)
        })
    }

    /// How long unacked frames are redelivered (15 minutes unless shortened).
    pub fn replay_window(&self) -> Duration {
        self.shared.settings.replay_window()
    }

    /// Shortens (or lengthens) the replay window; it applies at the next connect.
    pub fn set_replay_window(&self, window: Duration) {
        self.shared.settings.set_replay_window(window);
    }

    /// How long a socket may go without authorizing before Mercury closes it.
    pub fn set_auth_timeout(&self, timeout: Duration) {
        self.shared.settings.set_auth_timeout(timeout);
    }

    /// Acks that removed a buffered frame.
    pub fn matched_ack_count(&self) -> usize {
        self.shared.acks_matched.load(Ordering::SeqCst)
    }

    /// Acks of nothing buffered: pongs and buffer states (Cisco's SDK acks every
    /// frame), typing notices, repeats, or ids that never existed.
    pub fn unmatched_ack_count(&self) -> usize {
        self.shared.acks_unmatched.load(Ordering::SeqCst)
    }

    /// Sends every live socket an event of a type a bot does not act on:
    /// `status.start_typing`, `encryption.kms_message`,
    /// `mercury.registration_status`, or any other `eventType`.
    pub fn inject_event(&self, event_type: &str) {
        let frame = frames::unsolicited(event_type, &self.bot().uuid);
        self.shared.command(ConnCommand::Inject(Injection::Json(frame)));
    }

    /// Sends every live socket a binary frame (Mercury speaks text to clients
    /// that ask for `outboundWireFormat=text`, but a client must survive one).
    pub fn inject_binary(&self, bytes: Vec<u8>) {
        self.shared.command(ConnCommand::Inject(Injection::Binary(bytes)));
    }
}
