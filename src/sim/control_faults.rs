//! `POST /_sim/faults/{fault}`: the fault switches and Mercury settings over
//! HTTP, for the demo, engine developers and the conformance suite.
//!
//! | Fault | Body | Effect |
//! |---|---|---|
//! | `drop` | | drop every websocket without a close frame |
//! | `close` | `{code, reason}` | close every websocket with that code |
//! | `shutdown` | | send `{"type":"shutdown"}`, close with 4001 after ~2 s |
//! | `pong` | `{answer}` | stop/resume answering pings |
//! | `rest` | `{count, status, retryAfter?, retryAfterHttpDate?, path?}` | next `count` `/v1` calls (whose path contains `path`) fail |
//! | `wdm` | same | next `count` `/wdm` calls fail |
//! | `u2c` | same | next `count` `/u2c` (discovery) calls fail |
//! | `upgrade` | same | next `count` websocket upgrades fail (e.g. 429) |
//! | `stale-devices` | | forget every device registration |
//! | `duplicate-next` | | next activity frame is sent twice |
//! | `refuse-card-edits` | `{refuse}` | card edits answer 400 |
//! | `lose-acks` | `{lose}` | acks are dropped: frames stay unacked and come back on reconnect |
//! | `stall-upgrades` | `{stall}` | websocket upgrades are held unanswered (a stalled dial) |
//! | `replay-window` | `{seconds}` | unacked frames older than this are not redelivered (default 900) |
//! | `auth-timeout` | `{seconds}` | a socket not authorized by then is closed with 1008 (default 30) |
//! | `inject` | `{eventType}` or `{binary: true}` | every live socket gets a frame of that type (typing, KMS, …) or a binary frame |
//! | `lose-answers` | `{count, method?, path?, status \| delayMs}` | the next matching `/v1` calls are carried out, and their answers lost: replaced by `status` (a proxy's 502) or sent `delayMs` late |
//! | `oversized-frame` | `{roomId, bytes?}` | queues a room update frame of about `bytes` (default 20 MiB), redelivered until acked |
//!
//! `retryAfter` is a number (seconds) or a string sent verbatim (an HTTP date,
//! or something malformed); `retryAfterHttpDate: N` sends the HTTP date N
//! seconds from now.

use super::control::{body, handle, invalid, ok, Answer, ControlError};
use super::faults::{Failure, FaultTarget, RetryAfter};
use super::handle::{Shared, SimHandle};
use super::lost_answers::{Lost, LostAnswers};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct FaultArgs {
    code: Option<u16>,
    reason: Option<String>,
    answer: Option<bool>,
    count: Option<usize>,
    status: Option<u16>,
    retry_after: Option<Value>,
    retry_after_http_date: Option<u64>,
    refuse: Option<bool>,
    lose: Option<bool>,
    stall: Option<bool>,
    path: Option<String>,
    seconds: Option<f64>,
    event_type: Option<String>,
    binary: Option<bool>,
    method: Option<String>,
    delay_ms: Option<u64>,
    room_id: Option<String>,
    bytes: Option<usize>,
}

impl FaultArgs {
    fn retry_after(&self) -> Result<Option<RetryAfter>, ControlError> {
        if let Some(secs) = self.retry_after_http_date {
            return Ok(Some(RetryAfter::HttpDateIn(secs)));
        }
        match &self.retry_after {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(raw)) => Ok(Some(RetryAfter::Raw(raw.clone()))),
            Some(v) => v
                .as_u64()
                .map(|s| Some(RetryAfter::Seconds(s)))
                .ok_or_else(|| invalid(format!("retryAfter must be seconds or a string, not {v}"))),
        }
    }

    fn failure(&self) -> Result<Failure, ControlError> {
        Ok(Failure {
            count: self.count.unwrap_or(1),
            status: self.status.unwrap_or(500),
            retry_after: self.retry_after()?,
            path: self.path.clone(),
        })
    }

    fn lost_answers(&self) -> Result<LostAnswers, ControlError> {
        let lost = match (self.status, self.delay_ms) {
            (Some(status), None) => Lost::Status(status),
            (None, Some(ms)) => Lost::Delay(Duration::from_millis(ms)),
            _ => return Err(invalid("lose-answers takes status (the answer instead) or delayMs".into())),
        };
        let method = self.method.as_deref().map(str::parse::<Method>).transpose();
        let method = method.map_err(|e| invalid(format!("method: {e}")))?;
        Ok(LostAnswers { count: self.count.unwrap_or(1), method, path: self.path.clone(), lost })
    }

    fn duration(&self) -> Result<Duration, ControlError> {
        let secs = self.seconds.ok_or_else(|| invalid("seconds is required".into()))?;
        Duration::try_from_secs_f64(secs).map_err(|e| invalid(format!("seconds: {e}")))
    }
}

fn target(fault: &str) -> Option<FaultTarget> {
    match fault {
        "rest" => Some(FaultTarget::Rest),
        "wdm" => Some(FaultTarget::Wdm),
        "u2c" => Some(FaultTarget::U2c),
        "upgrade" => Some(FaultTarget::Upgrade),
        _ => None,
    }
}

/// Switches that take a flag or nothing; false if `fault` is not one of them.
fn switch(h: &SimHandle, fault: &str, a: &FaultArgs) -> bool {
    match fault {
        "drop" => h.drop_sockets(),
        "close" => h.close_sockets(a.code.unwrap_or(1000), a.reason.as_deref().unwrap_or("")),
        "shutdown" => h.send_shutdown(),
        "pong" => h.set_pong(a.answer.unwrap_or(true)),
        "stale-devices" => h.make_devices_stale(),
        "duplicate-next" => h.duplicate_next_event(),
        "refuse-card-edits" => h.refuse_card_edits(a.refuse.unwrap_or(true)),
        "lose-acks" => h.lose_acks(a.lose.unwrap_or(true)),
        "stall-upgrades" => h.stall_upgrades(a.stall.unwrap_or(true)),
        _ => return false,
    }
    true
}

pub async fn fault(State(s): State<Arc<Shared>>, Path(fault): Path<String>, b: Bytes) -> Answer {
    let a: FaultArgs = body(&b)?;
    let h = handle(&s);
    if let Some(target) = target(&fault) {
        h.fail_next_calls(target, a.failure()?);
        return ok(json!({}));
    }
    if switch(&h, &fault, &a) {
        return ok(json!({}));
    }
    match fault.as_str() {
        "replay-window" => h.set_replay_window(a.duration()?),
        "auth-timeout" => h.set_auth_timeout(a.duration()?),
        "lose-answers" => h.lose_answers(a.lost_answers()?),
        "oversized-frame" => {
            let room = a.room_id.as_deref().ok_or_else(|| invalid("roomId is required".into()))?;
            h.emit_oversized_frame(room, a.bytes.unwrap_or(20 * 1024 * 1024)).map_err(ControlError::from)?
        }
        "inject" => match (&a.event_type, a.binary.unwrap_or(false)) {
            (_, true) => h.inject_binary(b"\x00\x01binary frame".to_vec()),
            (Some(event_type), false) => h.inject_event(event_type),
            (None, false) => return Err(invalid("inject needs eventType or binary: true".into())),
        },
        other => {
            let msg = format!("unknown fault {other}");
            return Err(ControlError(StatusCode::NOT_FOUND, "not_found", msg));
        }
    }
    ok(json!({}))
}
