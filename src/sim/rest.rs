//! The Messaging REST API under `/v1`, plus the two conversation-service paths
//! that `target.url` in activities leads to. Auth and fault injection are
//! layered on in `server.rs`; handlers only talk to the world.

use super::errors::ApiError;
use super::handle::Shared;
use super::messages::{EditMessage, NewMessage};
use super::render;
use super::world::{Room, World, WorldError};
use crate::webex::ids::{IdKind, RestId};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

type Params = Query<HashMap<String, String>>;
type Answer = Result<Response, ApiError>;

/// Bodies above this are refused, as Webex refuses oversized cards.
const MAX_BODY_BYTES: usize = 22 * 1024;

pub fn v1_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/people/me", get(me))
        .route("/people", get(list_people))
        .route("/people/{id}", get(get_person))
        .route("/rooms", get(list_rooms))
        .route("/rooms/{id}", get(get_room))
        .route("/memberships", get(list_memberships))
        .route("/messages", axum::routing::post(post_message))
        .route("/messages/{id}", get(get_message).put(edit_message).delete(delete_message))
        .route("/attachment/actions/{id}", get(get_action))
}

pub fn conversation_routes() -> Router<Arc<Shared>> {
    Router::new().route("/messages/{uuid}", get(conv_message)).route("/attachment/actions/{uuid}", get(conv_action))
}

fn items(list: Vec<Value>) -> Response {
    Json(json!({ "items": list })).into_response()
}

async fn me(State(s): State<Arc<Shared>>) -> Answer {
    let w = s.read();
    let bot = w.person(&w.bot).ok_or(WorldError::PersonNotFound)?;
    Ok(Json(render::person(bot)).into_response())
}

async fn get_person(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let w = s.read();
    let p = w.person_by_rest(&id).ok_or(WorldError::PersonNotFound)?;
    Ok(Json(render::person(p)).into_response())
}

async fn list_people(State(s): State<Arc<Shared>>, Query(q): Params) -> Answer {
    let w = s.read();
    let found = match (q.get("email"), q.get("id")) {
        (Some(email), _) => w.person_by_email(email),
        (None, Some(id)) => w.person_by_rest(id),
        (None, None) => return Err(ApiError::bad_request("Email, displayName, or id list should be specified.")),
    };
    Ok(items(found.map(render::person).into_iter().collect()))
}

/// `max` as Webex accepts it: 1..=1000, 100 when absent.
fn parse_max(q: &HashMap<String, String>) -> Result<usize, ApiError> {
    match q.get("max") {
        None => Ok(100),
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|m| (1..=1000).contains(m))
            .ok_or_else(|| ApiError::bad_request("max must be an integer between 1 and 1000.")),
    }
}

fn encode_cursor(position: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("cursor:{position}"))
}

fn decode_cursor(q: &HashMap<String, String>) -> Result<u64, ApiError> {
    let Some(c) = q.get("cursor") else {
        return Ok(0);
    };
    URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("cursor:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| ApiError::bad_request("Invalid cursor."))
}

/// Adds `Link: <next>; rel="next"`. Like the real thing has been seen to, the
/// link carries only `cursor` and `max`: clients must re-add their filters.
fn with_next(mut resp: Response, base: &str, path: &str, next: Option<u64>, max: usize) -> Response {
    if let Some(position) = next {
        let link = format!("<{base}/v1/{path}?cursor={}&max={max}>; rel=\"next\"", encode_cursor(position));
        if let Ok(value) = link.parse() {
            resp.headers_mut().insert(header::LINK, value);
        }
    }
    resp
}

async fn list_rooms(State(s): State<Arc<Shared>>, Query(q): Params) -> Answer {
    let max = parse_max(&q)?;
    let direct = match q.get("type").map(String::as_str) {
        None => None,
        Some("direct") => Some(true),
        Some("group") => Some(false),
        Some(_) => return Err(ApiError::bad_request("type must be direct or group.")),
    };
    if let Some(sort) = q.get("sortBy") {
        if !["id", "lastactivity", "created"].contains(&sort.as_str()) {
            return Err(ApiError::bad_request("sortBy must be id, lastactivity or created."));
        }
    }
    let cursor = decode_cursor(&q)?;
    let w = s.read();
    let (page, next) = w.bot_rooms_page(cursor, max, direct);
    let resp = items(page.into_iter().map(render::room).collect());
    Ok(with_next(resp, &s.base, "rooms", next, max))
}

async fn get_room(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let w = s.read();
    Ok(Json(render::room(w.bot_room(&id)?)).into_response())
}

async fn list_memberships(State(s): State<Arc<Shared>>, Query(q): Params) -> Answer {
    let max = parse_max(&q)?;
    let offset = decode_cursor(&q)? as usize;
    let w = s.read();
    let person = match (q.get("personId"), q.get("personEmail")) {
        (Some(id), _) => Some(w.person_by_rest(id).map(|p| p.uuid.clone())),
        (None, Some(email)) => Some(w.person_by_email(email).map(|p| p.uuid.clone())),
        (None, None) => None,
    };
    let all: Vec<Value> = match q.get("roomId") {
        Some(id) => {
            let room = w.bot_room(id)?;
            room.members
                .iter()
                .filter(|m| person.as_ref().is_none_or(|p| p.as_deref() == Some(&m.person)))
                .map(|m| render::membership(&w, room, m))
                .collect()
        }
        None if person.is_some() => {
            return Err(ApiError::bad_request("roomId is required when filtering by personId or personEmail."))
        }
        None => bot_memberships(&w),
    };
    let next = (all.len() > offset + max).then_some((offset + max) as u64);
    let page = all.into_iter().skip(offset).take(max).collect();
    Ok(with_next(items(page), &s.base, "memberships", next, max))
}

fn bot_memberships(w: &World) -> Vec<Value> {
    w.rooms_in_order()
        .filter_map(|r: &Room| {
            let m = r.members.iter().find(|m| m.person == w.bot)?;
            Some(render::membership(w, r, m))
        })
        .collect()
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::bad_request("The request payload is too big"));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))
}

async fn post_message(State(s): State<Arc<Shared>>, body: Bytes) -> Answer {
    let req: NewMessage = parse_body(&body)?;
    s.update(|w| {
        let uuid = w.post_as_bot(req)?;
        let msg = w.message(&uuid).ok_or(WorldError::MessageNotFound)?;
        Ok(Json(render::message(w, msg)).into_response())
    })
}

async fn get_message(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let w = s.read();
    let msg = w.bot_message(&id)?;
    Ok(Json(render::message(&w, msg)).into_response())
}

async fn edit_message(State(s): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Answer {
    let req: EditMessage = parse_body(&body)?;
    let refuse = s.faults.refuse_card_edits();
    s.update(|w| {
        w.edit_as_bot(&id, req, refuse)?;
        let msg = w.bot_message(&id)?;
        Ok(Json(render::message(w, msg)).into_response())
    })
}

async fn delete_message(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    s.update(|w| w.delete_as_bot(&id))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// An attachment action visible to the bot, by uuid; `cluster` checked when given.
fn visible_action(w: &World, uuid: &str, cluster: Option<&str>) -> Result<Value, WorldError> {
    let action = w.action(uuid).ok_or(WorldError::ActionNotFound)?;
    let room = w.room(&action.room).ok_or(WorldError::ActionNotFound)?;
    let cluster_ok = cluster.is_none_or(|c| c == room.cluster);
    if !cluster_ok || !room.has_member(&w.bot) {
        return Err(WorldError::ActionNotFound);
    }
    Ok(render::action(w, action))
}

async fn get_action(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let rest =
        RestId::decode(&id).ok().filter(|r| r.kind == IdKind::AttachmentAction).ok_or(WorldError::ActionNotFound)?;
    let w = s.read();
    Ok(Json(visible_action(&w, &rest.uuid, Some(&rest.cluster))?).into_response())
}

async fn conv_message(State(s): State<Arc<Shared>>, Path(uuid): Path<String>) -> Answer {
    let w = s.read();
    let msg = w
        .message(&uuid)
        .filter(|m| !m.deleted)
        .filter(|m| w.room(&m.room).is_some_and(|r| r.has_member(&w.bot)))
        .ok_or(WorldError::MessageNotFound)?;
    Ok(Json(render::message(&w, msg)).into_response())
}

async fn conv_action(State(s): State<Arc<Shared>>, Path(uuid): Path<String>) -> Answer {
    let w = s.read();
    Ok(Json(visible_action(&w, &uuid, None)?).into_response())
}
