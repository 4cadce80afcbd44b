//! The control API: every [`SimHandle`] operation over HTTP+JSON, for humans
//! with curl and for AI-engine developers driving the demo. No auth.
//! Errors are `{"error": {"code": "not_found"|"invalid", "message": "..."}}`
//! with status 404 or 400. People may be named by `personId` or `personEmail`.
//!
//! | Method & path | Body | Answer |
//! |---|---|---|
//! | `GET /_sim/state` | | bot, people, rooms, device/connection/ack counts (`acks_matched`, `acks_unmatched`), settings |
//! | `GET /_sim/calls` | | log of Webex calls `[{method, path, status}]` |
//! | `POST /_sim/people` | `{email, displayName, orgId?}` | the person (in the bot's org, or in `orgId`) |
//! | `POST /_sim/rooms` | `{title}` | the room (group, empty) |
//! | `PATCH /_sim/rooms/{id}` | `{title}` | `{}` (emits `update`) |
//! | `POST /_sim/rooms/{id}/members` | `{personId \| personEmail, actorId?}` | `{}` (emits `add`) |
//! | `DELETE /_sim/rooms/{id}/members/{personId}` | | `{}` (emits `leave`) |
//! | `POST /_sim/rooms/{id}/migrate` | | the room with its new id and cluster |
//! | `GET /_sim/rooms/{id}/messages` | | messages in order, deleted ones included |
//! | `POST /_sim/messages` | `{roomId, personId \| personEmail, text, mentionedPeople?}` | `{messageId}` (emits `post`) |
//! | `POST /_sim/cards/submit` | `{messageId, personId \| personEmail, inputs, button?}` | `{actionId}` (emits `cardAction`; `button`: the title of the one pressed) |
//! | `POST /_sim/faults/{fault}` | | see `control_faults.rs` |
//! | `POST /_sim/token` | `{token}` | the bot token is regenerated: only this one works from now on |

use super::control_faults;
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

pub(super) type Answer = Result<Response, ControlError>;

pub struct ControlError(pub StatusCode, pub &'static str, pub String);

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

pub(super) fn invalid(message: String) -> ControlError {
    ControlError(StatusCode::BAD_REQUEST, "invalid", message)
}

pub(super) fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ControlError> {
    let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { bytes };
    serde_json::from_slice(bytes).map_err(|e| invalid(format!("bad body: {e}")))
}

pub(super) fn ok(v: impl serde::Serialize) -> Answer {
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
        .route("/faults/{fault}", post(control_faults::fault))
}

pub(super) fn handle(s: &Arc<Shared>) -> SimHandle {
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
        "acks_matched": s.acks_matched.load(Ordering::SeqCst),
        "acks_unmatched": s.acks_unmatched.load(Ordering::SeqCst),
        "replay_window_s": s.settings.replay_window().as_secs_f64(),
        "auth_timeout_s": s.settings.auth_timeout().as_secs_f64(),
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
    /// An organization (REST id or uuid) other than the bot's.
    org_id: Option<String>,
}

async fn add_person(State(s): State<Arc<Shared>>, b: Bytes) -> Answer {
    let p: NewPerson = body(&b)?;
    let h = handle(&s);
    match &p.org_id {
        Some(org) => ok(h.add_person_in_org(&p.email, &p.display_name, org)),
        None => ok(h.add_person(&p.email, &p.display_name)),
    }
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
    /// People mentioned, by id or email (the bot: so that it may read it).
    #[serde(default)]
    mentioned_people: Vec<String>,
}

async fn post_message(State(s): State<Arc<Shared>>, b: Bytes) -> Answer {
    let req: PersonPost = body(&b)?;
    let h = handle(&s);
    let person = req.who.resolve(&h)?;
    let mentioned = req
        .mentioned_people
        .iter()
        .map(|m| match m.contains('@') {
            true => Who { person_id: None, person_email: Some(m.clone()) }.resolve(&h),
            false => Ok(m.clone()),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let id = h.post_message_mentioning(&req.room_id, &person, &req.text, &mentioned)?;
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
    /// The title of the button pressed; the card's first when absent.
    #[serde(default)]
    button: Option<String>,
}

async fn submit_card(State(s): State<Arc<Shared>>, b: Bytes) -> Answer {
    let req: Submit = body(&b)?;
    let h = handle(&s);
    let person = req.who.resolve(&h)?;
    let id = h.press(&req.message_id, &person, req.button.as_deref(), req.inputs)?;
    ok(json!({ "actionId": id }))
}
