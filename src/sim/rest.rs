//! The Messaging REST API under `/v1` (messages are in `rest_messages.rs`),
//! plus the conversation-service paths that `target.url` in activities leads
//! to. Auth and fault injection are layered on in `server.rs`; handlers only
//! talk to the world.
//!
//! People are found by email only in the bot's own organization (the spec:
//! "lookup by email is only supported for people within the same org"), by id
//! anywhere. `max` above a list's limit is clamped, as Webex does.

use super::errors::ApiError;
use super::handle::Shared;
use super::render;
use super::rest_messages;
use super::world::{Room, World, WorldError};
use crate::webex::ids::{IdKind, RestId};
use axum::extract::{Path, Query, State};
use axum::http::header;
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

pub fn v1_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/people/me", get(me))
        .route("/people", get(list_people))
        // Cisco's SDK asks `GET /people/?id=…` (its batcher keeps the slash).
        .route("/people/", get(list_people))
        .route("/people/{id}", get(get_person))
        .route("/rooms", get(list_rooms))
        .route("/rooms/{id}", get(get_room))
        .route("/memberships", get(list_memberships))
        .route("/memberships/{id}", get(get_membership))
        .route("/attachment/actions/{id}", get(get_action))
        .merge(rest_messages::routes())
}

pub fn conversation_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/messages/{uuid}", get(rest_messages::conv_message))
        .route("/attachment/actions/{uuid}", get(conv_action))
}

pub(super) fn items(list: Vec<Value>) -> Response {
    Json(json!({ "items": list })).into_response()
}

async fn me(State(s): State<Arc<Shared>>) -> Answer {
    let w = s.read();
    let bot = w.person(&w.bot).ok_or(WorldError::PersonNotFound)?;
    Ok(Json(render::person(&w, bot)).into_response())
}

/// Anyone, in any org: an id is enough (presence fields only for the bot's org).
async fn get_person(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let w = s.read();
    let p = w.person_by_rest(&id).ok_or(WorldError::PersonNotFound)?;
    Ok(Json(render::person(&w, p)).into_response())
}

/// Webex's default page of people (the spec: `max` defaults to 100).
const PEOPLE_MAX_DEFAULT: usize = 100;
/// Our cap on `max` for people (Webex documents none for a name search; above it, clamped).
const PEOPLE_MAX_LIMIT: usize = 1000;

/// `email` finds people of the bot's own org only (someone elsewhere is an
/// empty list, not an error); `displayName` those of the org whose name starts
/// with it (an empty one is no search: 400); `id` takes up to 85 comma-separated ids.
async fn list_people(State(s): State<Arc<Shared>>, Query(q): Params) -> Answer {
    let w = s.read();
    let found: Vec<Value> = match (q.get("email"), q.get("id")) {
        (Some(email), _) => w.person_in_bot_org(email).into_iter().map(|p| render::person(&w, p)).collect(),
        (None, None) if q.contains_key("displayName") => {
            let name = q["displayName"].trim();
            if name.is_empty() {
                return Err(ApiError::bad_request("Email, displayName, or id list should be specified."));
            }
            let max = parse_max(&q, PEOPLE_MAX_DEFAULT, PEOPLE_MAX_LIMIT)?;
            w.people_named(name, max).into_iter().map(|p| render::person(&w, p)).collect()
        }
        (None, Some(ids)) if ids.split(',').count() > 85 => {
            return Err(ApiError::bad_request("At most 85 person ids may be given."))
        }
        (None, Some(ids)) => {
            ids.split(',').filter_map(|id| w.person_by_rest(id.trim())).map(|p| render::person(&w, p)).collect()
        }
        (None, None) => return Err(ApiError::bad_request("Email, displayName, or id list should be specified.")),
    };
    Ok(items(found))
}

/// `max` as Webex reads it: `default` when absent, at least 1, and clamped to
/// `limit` above it (Webex answers a too-big `max` with `limit` items, not 400).
pub(super) fn parse_max(q: &HashMap<String, String>, default: usize, limit: usize) -> Result<usize, ApiError> {
    match q.get("max") {
        None => Ok(default),
        Some(m) => m
            .parse::<u64>()
            .ok()
            .filter(|m| *m >= 1)
            .map(|m| usize::try_from(m).unwrap_or(usize::MAX).min(limit))
            .ok_or_else(|| ApiError::bad_request("max must be a positive integer.")),
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
pub(super) fn with_next(mut resp: Response, base: &str, path: &str, next: Option<u64>, max: usize) -> Response {
    if let Some(position) = next {
        let link = format!("<{base}/v1/{path}?cursor={}&max={max}>; rel=\"next\"", encode_cursor(position));
        if let Ok(value) = link.parse() {
            resp.headers_mut().insert(header::LINK, value);
        }
    }
    resp
}

async fn list_rooms(State(s): State<Arc<Shared>>, Query(q): Params) -> Answer {
    let max = parse_max(&q, 100, 1000)?;
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
    let resp = items(page.into_iter().map(|r| render::room(&w, r)).collect());
    Ok(with_next(resp, &s.base, "rooms", next, max))
}

async fn get_room(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let w = s.read();
    Ok(Json(render::room(&w, w.bot_room(&id)?)).into_response())
}

async fn list_memberships(State(s): State<Arc<Shared>>, Query(q): Params) -> Answer {
    let max = parse_max(&q, 100, 1000)?;
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

/// One membership by id (`<personUuid>:<roomUuid>` in the room's cluster), in
/// a room the bot is in: what an SDK fetches after a membership event.
async fn get_membership(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let not_found = || ApiError::not_found("Could not find a membership with provided ID.");
    let rest = RestId::decode(&id).ok().filter(|r| r.kind == IdKind::Membership).ok_or_else(not_found)?;
    let (person, room) = rest.uuid.split_once(':').ok_or_else(not_found)?;
    let w = s.read();
    let r = w.room(room).filter(|r| r.cluster == rest.cluster && r.has_member(&w.bot)).ok_or_else(not_found)?;
    let m = r.members.iter().find(|m| m.person == person).ok_or_else(not_found)?;
    Ok(Json(render::membership(&w, r, m)).into_response())
}

fn bot_memberships(w: &World) -> Vec<Value> {
    w.rooms_in_order()
        .filter_map(|r: &Room| {
            let m = r.members.iter().find(|m| m.person == w.bot)?;
            Some(render::membership(w, r, m))
        })
        .collect()
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

async fn conv_action(State(s): State<Arc<Shared>>, Path(uuid): Path<String>) -> Answer {
    let w = s.read();
    Ok(Json(visible_action(&w, &uuid, None)?).into_response())
}
