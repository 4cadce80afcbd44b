//! `/v1/messages`: post, read, list, edit and delete, with what a bot may see.
//!
//! Posting answers with the message as Webex stores it: a `text` even when
//! only `markdown` was sent, and `toPersonId`/`toPersonEmail` for a message
//! addressed to a person. Reading goes through `reading.rs`: a group message
//! that does not mention the bot is a 404, listing a group room without
//! `mentionedPeople=me` a 403. `max` defaults to 50 and is clamped to 100 with
//! `mentionedPeople` (the spec's limit), 1000 otherwise.

use super::errors::ApiError;
use super::handle::Shared;
use super::messages::{EditMessage, NewMessage};
use super::reading::ListQuery;
use super::render::{self, MessageView};
use super::rest::{items, parse_max};
use super::world::{World, WorldError};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::collections::HashMap;
use std::sync::Arc;

type Answer = Result<Response, ApiError>;

/// Bodies above this are refused, as Webex refuses oversized cards.
const MAX_BODY_BYTES: usize = 22 * 1024;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/messages", get(list_messages).post(post_message))
        .route("/messages/{id}", get(get_message).put(edit_message).delete(delete_message))
}

fn parse_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::bad_request("The request payload is too big"));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))
}

fn detail(w: &World, uuid: &str) -> Answer {
    let msg = w.message(uuid).ok_or(WorldError::MessageNotFound)?;
    Ok(Json(render::message(w, msg, MessageView::Detail)).into_response())
}

async fn post_message(State(s): State<Arc<Shared>>, body: Bytes) -> Answer {
    let req: NewMessage = parse_body(&body)?;
    s.update(|w| {
        let uuid = w.post_as_bot(req)?;
        detail(w, &uuid)
    })
}

async fn get_message(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let w = s.read();
    let uuid = w.readable_message(&id)?.uuid.clone();
    detail(&w, &uuid)
}

/// `GET /conversation/api/v1/messages/{uuid}`, where `target.url` leads.
pub async fn conv_message(State(s): State<Arc<Shared>>, Path(uuid): Path<String>) -> Answer {
    let w = s.read();
    let uuid = w.readable_message_by_uuid(&uuid)?.uuid.clone();
    detail(&w, &uuid)
}

fn list_query(w: &World, q: &HashMap<String, String>) -> Result<ListQuery, ApiError> {
    let room_id = q.get("roomId").ok_or_else(|| ApiError::bad_request("roomId is required."))?;
    let mentioning_me = match q.get("mentionedPeople") {
        None => false,
        Some(m) if w.names_the_bot(m) => true,
        Some(_) => return Err(ApiError::bad_request("Only me or the person ID of the current user may be specified.")),
    };
    let before = match q.get("before") {
        None => None,
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|_| ApiError::bad_request("before must be an ISO 8601 date and time."))?
                .with_timezone(&chrono::Utc),
        ),
    };
    Ok(ListQuery {
        room_id: room_id.clone(),
        mentioning_me,
        parent_id: q.get("parentId").cloned(),
        before,
        before_message: q.get("beforeMessage").cloned(),
    })
}

async fn list_messages(State(s): State<Arc<Shared>>, Query(q): Query<HashMap<String, String>>) -> Answer {
    let w = s.read();
    let query = list_query(&w, &q)?;
    let max = parse_max(&q, 50, if query.mentioning_me { 100 } else { 1000 })?;
    let found = w.list_messages(&query)?;
    let page: Vec<_> = found.iter().take(max).map(|m| render::message(&w, m, MessageView::ListItem)).collect();
    let last = (found.len() > max).then(|| page.last().and_then(|m| m["id"].as_str().map(str::to_owned))).flatten();
    let mut resp = items(page);
    if let Some(last) = last {
        // Webex's next link for messages keeps the room and pages by `beforeMessage`.
        let mentioned = q.get("mentionedPeople").map(|m| format!("&mentionedPeople={m}")).unwrap_or_default();
        let link = format!(
            "<{}/v1/messages?roomId={}{mentioned}&max={max}&beforeMessage={last}>; rel=\"next\"",
            s.base, query.room_id
        );
        if let Ok(value) = link.parse() {
            resp.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(resp)
}

async fn edit_message(State(s): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Answer {
    let req: EditMessage = parse_body(&body)?;
    let refuse = s.faults.refuse_card_edits();
    s.update(|w| {
        w.edit_as_bot(&id, req, refuse)?;
        let uuid = w.bot_message(&id)?.uuid.clone();
        detail(w, &uuid)
    })
}

async fn delete_message(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    s.update(|w| w.delete_as_bot(&id))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
