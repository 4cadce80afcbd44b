//! The control API: every [`SimHandle`] operation over HTTP+JSON, for humans
//! with curl and for AI-engine developers driving the demo. No auth.
//! Errors are `{"error": {"code": "not_found"|"invalid", "message": "..."}}`
//! with status 404 or 400. People may be named by `personId` or `personEmail`.
//!
//! | Method & path | Body | Answer |
//! |---|---|---|
//! | `GET /_sim/state` | | bot, people, rooms, device/connection/ack counts |
//! | `GET /_sim/calls` | | log of Webex calls `[{method, path, status}]` |
//! | `POST /_sim/people` | `{email, displayName}` | the person |
//! | `POST /_sim/rooms` | `{title}` | the room (group, empty) |
//! | `PATCH /_sim/rooms/{id}` | `{title}` | `{}` (emits `update`) |
//! | `POST /_sim/rooms/{id}/members` | `{personId \| personEmail, actorId?}` | `{}` (emits `add`) |
//! | `DELETE /_sim/rooms/{id}/members/{personId}` | | `{}` (emits `leave`) |
//! | `POST /_sim/rooms/{id}/migrate` | | the room with its new id and cluster |
//! | `GET /_sim/rooms/{id}/messages` | | messages in order, deleted ones included |
//! | `POST /_sim/messages` | `{roomId, personId \| personEmail, text}` | `{messageId}` (emits `post`) |
//! | `POST /_sim/cards/submit` | `{messageId, personId \| personEmail, inputs}` | `{actionId}` (emits `cardAction`) |
//! | `POST /_sim/faults/drop` | | drop every websocket without a close frame |
//! | `POST /_sim/faults/close` | `{code, reason}` | close every websocket with that code |
//! | `POST /_sim/faults/shutdown` | | send `{"type":"shutdown"}`, close with 4001 after ~2 s |
//! | `POST /_sim/faults/pong` | `{answer}` | stop/resume answering pings |
//! | `POST /_sim/faults/rest` | `{count, status, retryAfter?, path?}` | next `count` `/v1` calls (whose path contains `path`) fail |
//! | `POST /_sim/faults/wdm` | `{count, status, retryAfter?}` | next `count` `/wdm` calls fail |
//! | `POST /_sim/faults/stale-devices` | | forget every device registration |
//! | `POST /_sim/faults/duplicate-next` | | next activity frame is sent twice |
//! | `POST /_sim/faults/refuse-card-edits` | `{refuse}` | card edits answer 400 |
//! | `POST /_sim/faults/lose-acks` | `{lose}` | acks are dropped: frames stay unacked and come back on reconnect |
//! | `POST /_sim/faults/stall-upgrades` | `{stall}` | websocket upgrades are held unanswered (a stalled dial) |
//! | `POST /_sim/token` | `{token}` | the bot token is regenerated: only this one works from now on |

use super::handle::{sim_person, sim_room, Shared, SimError, SimHandle};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;

type Answer = Result<Response, ControlError>;

pub struct ControlError(StatusCode, &'static str, String);

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.1, "message": self.2}});
        (self.0, Json(body)).into_response()
    }
}

impl From<SimError> for ControlError {
    fn from(e: SimError) -> Self {
        match e {
            SimError::NotFound(m) => ControlError(StatusCode::NOT_FOUND, "not_found", m),
            SimError::Invalid(m) => ControlError(StatusCode::BAD_REQUEST, "invalid", m),
        }
    }
}

fn invalid(message: String) -> ControlError {
    ControlError(StatusCode::BAD_REQUEST, "invalid", message)
}

fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ControlError> {
    let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { bytes };
    serde_json::from_slice(bytes).map_err(|e| invalid(format!("bad body: {e}")))
}

fn ok(v: impl serde::Serialize) -> Answer {
    Ok(Json(v).into_response())
}

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/state", get(state))
        .route("/token", post(regenerate_token))
        .route("/calls", get(calls))
        .route("/people", post(add_person))
        .route("/rooms", post(create_room))
        .route("/rooms/{id}", patch(rename_room))
        .route("/rooms/{id}/members", post(add_member))
        .route("/rooms/{id}/members/{person}", axum::routing::delete(remove_member))
        .route("/rooms/{id}/migrate", post(migrate_room))
        .route("/rooms/{id}/messages", get(messages))
        .route("/messages", post(post_message))
        .route("/cards/submit", post(submit_card))
        .route("/faults/{fault}", post(fault))
}

fn handle(s: &Arc<Shared>) -> SimHandle {
    SimHandle { shared: s.clone() }
}

async fn state(State(s): State<Arc<Shared>>) -> Answer {
    let w = s.read();
    let people: Vec<_> = w.people().iter().map(sim_person).collect();
    let rooms: Vec<_> = w.rooms_in_order().map(sim_room).collect();
    let bot = w.person(&w.bot).map(sim_person);
    ok(json!({
        "bot": bot,
        "people": people,
        "rooms": rooms,
        "devices": w.devices().len(),
        "connections": s.connections.load(Ordering::SeqCst),
        "stalled_upgrades": s.stalled.load(Ordering::SeqCst),
        "acked": s.acked.load(Ordering::SeqCst),
    }))
}

#[derive(Deserialize)]
struct TokenArgs {
    token: String,
}

async fn regenerate_token(State(s): State<Arc<Shared>>, b: Bytes) -> Answer {
    let a: TokenArgs = body(&b)?;
    handle(&s).regenerate_token(&a.token);
    ok(json!({}))
}

async fn calls(State(s): State<Arc<Shared>>) -> Answer {
    ok(handle(&s).rest_calls())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewPerson {
    email: String,
    display_name: String,
}

async fn add_person(State(s): State<Arc<Shared>>, b: Bytes) -> Answer {
    let p: NewPerson = body(&b)?;
    ok(handle(&s).add_person(&p.email, &p.display_name))
}

#[derive(Deserialize)]
struct Title {
    title: String,
}

async fn create_room(State(s): State<Arc<Shared>>, b: Bytes) -> Answer {
    let t: Title = body(&b)?;
    ok(handle(&s).create_room(&t.title))
}

async fn rename_room(State(s): State<Arc<Shared>>, Path(id): Path<String>, b: Bytes) -> Answer {
    let t: Title = body(&b)?;
    handle(&s).rename_room(&id, &t.title)?;
    ok(json!({}))
}

/// A person named by id or email, as the control API accepts both.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Who {
    person_id: Option<String>,
    person_email: Option<String>,
}

impl Who {
    fn resolve(&self, h: &SimHandle) -> Result<String, ControlError> {
        match (&self.person_id, &self.person_email) {
            (Some(id), _) => Ok(id.clone()),
            (None, Some(email)) => h
                .person_by_email(email)
                .map(|p| p.id)
                .ok_or_else(|| SimError::NotFound(format!("person {email}")).into()),
            (None, None) => Err(invalid("personId or personEmail is required".into())),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddMember {
    #[serde(flatten)]
    who: Who,
    actor_id: Option<String>,
}

async fn add_member(State(s): State<Arc<Shared>>, Path(id): Path<String>, b: Bytes) -> Answer {
    let req: AddMember = body(&b)?;
    let h = handle(&s);
    let person = req.who.resolve(&h)?;
    h.add_member(&id, &person, req.actor_id.as_deref())?;
    ok(json!({}))
}

async fn remove_member(State(s): State<Arc<Shared>>, Path((id, person)): Path<(String, String)>) -> Answer {
    handle(&s).remove_member(&id, &person, None)?;
    ok(json!({}))
}

async fn migrate_room(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    ok(handle(&s).migrate_room(&id)?)
}

async fn messages(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    ok(handle(&s).messages(&id))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersonPost {
    room_id: String,
    #[serde(flatten)]
    who: Who,
    text: String,
}

async fn post_message(State(s): State<Arc<Shared>>, b: Bytes) -> Answer {
    let req: PersonPost = body(&b)?;
    let h = handle(&s);
    let person = req.who.resolve(&h)?;
    let id = h.post_message(&req.room_id, &person, &req.text)?;
    ok(json!({ "messageId": id }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Submit {
    message_id: String,
    #[serde(flatten)]
    who: Who,
    #[serde(default)]
    inputs: Map<String, Value>,
}

async fn submit_card(State(s): State<Arc<Shared>>, b: Bytes) -> Answer {
    let req: Submit = body(&b)?;
    let h = handle(&s);
    let person = req.who.resolve(&h)?;
    let id = h.submit_card(&req.message_id, &person, req.inputs)?;
    ok(json!({ "actionId": id }))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct FaultArgs {
    code: Option<u16>,
    reason: Option<String>,
    answer: Option<bool>,
    count: Option<usize>,
    status: Option<u16>,
    retry_after: Option<u64>,
    refuse: Option<bool>,
    lose: Option<bool>,
    stall: Option<bool>,
    path: Option<String>,
}

async fn fault(State(s): State<Arc<Shared>>, Path(fault): Path<String>, b: Bytes) -> Answer {
    let a: FaultArgs = body(&b)?;
    let h = handle(&s);
    match fault.as_str() {
        "drop" => h.drop_sockets(),
        "close" => h.close_sockets(a.code.unwrap_or(1000), a.reason.as_deref().unwrap_or("")),
        "shutdown" => h.send_shutdown(),
        "pong" => h.set_pong(a.answer.unwrap_or(true)),
        "rest" => match &a.path {
            Some(path) => h.fail_next_rest_matching(path, a.count.unwrap_or(1), a.status.unwrap_or(500), a.retry_after),
            None => h.fail_next_rest(a.count.unwrap_or(1), a.status.unwrap_or(500), a.retry_after),
        },
        "wdm" => h.fail_next_wdm(a.count.unwrap_or(1), a.status.unwrap_or(500), a.retry_after),
        "stale-devices" => h.make_devices_stale(),
        "duplicate-next" => h.duplicate_next_event(),
        "refuse-card-edits" => h.refuse_card_edits(a.refuse.unwrap_or(true)),
        "lose-acks" => h.lose_acks(a.lose.unwrap_or(true)),
        "stall-upgrades" => h.stall_upgrades(a.stall.unwrap_or(true)),
        other => {
            let msg = format!("unknown fault {other}");
            return Err(ControlError(StatusCode::NOT_FOUND, "not_found", msg));
        }
    }
    ok(json!({}))
}
