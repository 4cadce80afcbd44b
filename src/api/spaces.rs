//! `GET /v1/spaces`, `GET /v1/spaces/{id}`, `POST /v1/spaces/refresh`, and
//! `GET /v1/people?email=` (resolving a DM destination) and `?q=` (the person
//! picker), each person marked with the DM the bot already has with them.
//!
//! The listing pages (`limit`, `cursor` → `next_cursor`), and a client that does
//! not page still gets every space: `limit` defaults to [`MAX_LIMIT`]. Its body is
//! streamed a store page at a time, so even a full list of 10k spaces is never
//! held in memory whole (each full listing used to leave 4–11 MiB with glibc).

use super::error::ApiError;
use super::extract::ApiQuery;
use super::AppState;
use crate::store::{PersonKey, Space, SpaceCursor, SpaceFilter, Store, SyncReport};
use crate::webex::rest::Person;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// Spaces a listing returns at most, and by default: more than any bot is in.
pub const MAX_LIMIT: usize = 100_000;

/// Spaces serialized per chunk of the body.
const CHUNK: usize = 500;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(rename = "type")]
    space_type: Option<String>,
    q: Option<String>,
    #[serde(default)]
    include_removed: bool,
    limit: Option<usize>,
    cursor: Option<String>,
}

/// The listing's body (streamed in this shape, read back by the CLI and tools).
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpaceList {
    pub items: Vec<Space>,
    /// Where the next page starts; `None` once every space was listed.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

/// The spaces the bot is in, from the local cache, by title.
#[utoipa::path(get, path = "/v1/spaces", operation_id = "list_spaces", tag = "spaces", params(ListQuery), responses((status = 200, body = SpaceList), (status = "default", description = "An error: see `ErrorBody` for the codes", body = crate::api::error::ErrorBody)))]
pub async fn list(State(state): State<AppState>, ApiQuery(query): ApiQuery<ListQuery>) -> Result<Response, ApiError> {
    if let Some(kind) = query.space_type.as_deref().filter(|k| !matches!(*k, "group" | "direct")) {
        return Err(ApiError::bad_request(format!("type: must be \"group\" or \"direct\", got {kind:?}")));
    }
    let limit = query.limit.unwrap_or(MAX_LIMIT).clamp(1, MAX_LIMIT);
    let cursor = query.cursor.as_deref().map(decode_cursor).transpose()?;
    let filter =
        SpaceFilter { space_type: query.space_type, title_contains: query.q, include_removed: query.include_removed };
    // The first chunk is read before answering, so a failing store is a proper 500.
    let listing = Listing { store: state.store.clone(), filter, cursor, left: limit, started: false };
    let (first, listing) = listing.chunk().await?;
    let body = futures_util::stream::unfold((Some(first), listing), |(ready, listing)| async move {
        if let Some(bytes) = ready {
            return Some((Ok::<_, std::io::Error>(bytes), (None, listing)));
        }
        match listing?.chunk().await {
            Ok((bytes, next)) => Some((Ok(bytes), (None, next))),
            Err(error) => {
                // Nothing else can be said once the answer has begun: cut it short.
                tracing::error!(%error, "spaces listing failed half-way");
                Some((Err(std::io::Error::other(error.to_string())), (None, None)))
            }
        }
    });
    Ok(([(header::CONTENT_TYPE, "application/json")], Body::from_stream(body)).into_response())
}

/// A listing under way: what is left to send, and where the store resumes.
struct Listing {
    store: Store,
    filter: SpaceFilter,
    cursor: Option<SpaceCursor>,
    left: usize,
    started: bool,
}

impl Listing {
    /// The next piece of the body, and the listing after it (`None`: the body is complete).
    async fn chunk(mut self) -> Result<(Bytes, Option<Listing>), crate::store::StoreError> {
        let mut out = Vec::new();
        if !self.started {
            out.extend_from_slice(b"{\"items\":[");
        }
        let (page, next) =
            self.store.spaces_page(self.filter.clone(), self.cursor.take(), self.left.min(CHUNK)).await?;
        for space in &page {
            if std::mem::replace(&mut self.started, true) {
                out.push(b',');
            }
            serde_json::to_writer(&mut out, space)?;
        }
        self.started = true;
        self.left -= page.len();
        if next.is_some() && self.left > 0 {
            self.cursor = next;
            return Ok((out.into(), Some(self)));
        }
        out.extend_from_slice(b"],\"next_cursor\":");
        serde_json::to_writer(&mut out, &next.as_ref().map(encode_cursor))?;
        out.push(b'}');
        Ok((out.into(), None))
    }
}

/// A cursor is opaque to clients: the listing key of the last space sent.
fn encode_cursor(cursor: &SpaceCursor) -> String {
    let json = serde_json::json!([cursor.title_key, cursor.id]).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
}

fn decode_cursor(text: &str) -> Result<SpaceCursor, ApiError> {
    let bad = || ApiError::bad_request("cursor: not a next_cursor of GET /v1/spaces");
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let (title_key, id): (String, String) = serde_json::from_slice(&json).map_err(|_| bad())?;
    Ok(SpaceCursor { title_key, id })
}

/// One space, by REST id or uuid.
#[utoipa::path(get, path = "/v1/spaces/{id}", operation_id = "get_space", tag = "spaces", params(("id" = String, Path, description = "REST id or uuid")), responses((status = 200, body = Space), (status = "default", description = "An error: see `ErrorBody` for the codes", body = crate::api::error::ErrorBody)))]
pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Space>, ApiError> {
    match state.store.space(&id).await? {
        Some(space) => Ok(Json(space)),
        None => Err(ApiError::not_found(format!(
            "no space {id} is known; the bot sees only spaces it was added to: add the bot to the space, then POST /v1/spaces/refresh"
        ))),
    }
}

/// Resync from Webex now.
#[utoipa::path(post, path = "/v1/spaces/refresh", operation_id = "refresh_spaces", tag = "spaces", responses((status = 200, body = SyncReport), (status = "default", description = "An error: see `ErrorBody` for the codes", body = crate::api::error::ErrorBody)))]
pub async fn refresh(State(state): State<AppState>) -> Result<Json<SyncReport>, ApiError> {
    Ok(Json(state.spaces.resync().await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeopleQuery {
    /// Resolve one person by email (a DM destination).
    email: Option<String>,
    /// Search: people of the bot's org whose name or email starts with this (a person picker).
    q: Option<String>,
    /// At most this many results of `q` (1–100, default 20).
    limit: Option<usize>,
}

/// `?email=`: the one person; `?q=`: the people found.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PeopleAnswer {
    Person(PersonView),
    Found(PeopleList),
}

#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeopleList {
    pub items: Vec<PersonView>,
}

const PEOPLE_DEFAULT: usize = 20;
const PEOPLE_MAX: usize = 100;

#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonView {
    pub id: String,
    pub email: Option<String>,
    pub display_name: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Whether the bot already has a DM with them (from the local spaces cache,
    /// by id or email; a DM whose other person is not learnt yet counts only
    /// once a resync has learnt it).
    pub has_direct_space: bool,
    /// That DM's space id, when there is one.
    pub direct_space_id: Option<String>,
}

impl From<Person> for PersonView {
    fn from(person: Person) -> Self {
        Self {
            email: person.primary_email().map(str::to_owned),
            id: person.id,
            display_name: person.display_name,
            kind: person.kind,
            has_direct_space: false,
            direct_space_id: None,
        }
    }
}

/// Marks the people the bot already has a DM with (one indexed lookup each).
async fn with_direct_spaces(store: &Store, mut people: Vec<PersonView>) -> Result<Vec<PersonView>, ApiError> {
    let keys = people.iter().map(|p| PersonKey { id: p.id.clone(), email: p.email.clone() }).collect();
    for (person, space) in people.iter_mut().zip(store.direct_spaces_of(keys).await?) {
        person.has_direct_space = space.is_some();
        person.direct_space_id = space;
    }
    Ok(people)
}

/// Resolves a DM destination by `email` (`unknown_person`, 404, when Webex knows
/// no one), or searches by name or email prefix (`q`) through Webex's people
/// search, which sees the bot's own org only.
#[utoipa::path(get, path = "/v1/people", operation_id = "find_people", tag = "spaces", params(PeopleQuery), responses((status = 200, body = PeopleAnswer), (status = "default", description = "An error: see `ErrorBody` for the codes", body = crate::api::error::ErrorBody)))]
pub async fn people(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PeopleQuery>,
) -> Result<Json<PeopleAnswer>, ApiError> {
    if let Some(q) = query.q {
        return search(&state, &q, query.limit).await.map(|found| Json(PeopleAnswer::Found(found)));
    }
    let email = query
        .email
        .filter(|e| e.contains('@'))
        .ok_or_else(|| ApiError::bad_request("email: give a person's email address, e.g. ?email=ana@example.com"))?;
    let people = state.rest.people_by_email(&email).await?;
    match people.into_iter().next() {
        Some(person) => {
            let mut marked = with_direct_spaces(&state.store, vec![person.into()]).await?;
            Ok(Json(PeopleAnswer::Person(marked.remove(0))))
        }
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_person",
            format!("Webex knows no person with the email {email}"),
        )),
    }
}

/// The person picker: Webex's `displayName` search (name or email prefix), the bot left out.
async fn search(state: &AppState, q: &str, limit: Option<usize>) -> Result<PeopleList, ApiError> {
    let q = q.trim();
    if q.is_empty() {
        return Err(ApiError::bad_request("q: give the start of a name or an email, e.g. ?q=ana"));
    }
    let limit = limit.unwrap_or(PEOPLE_DEFAULT);
    if !(1..=PEOPLE_MAX).contains(&limit) {
        return Err(ApiError::bad_request(format!("limit: between 1 and {PEOPLE_MAX}")));
    }
    let bot = state.bot.borrow().as_ref().map(|bot| bot.id.clone());
    // One more than asked, so that leaving the bot out still fills the page.
    let found = state.rest.people_by_name(q, limit + 1).await?;
    let items = found.into_iter().filter(|p| Some(&p.id) != bot.as_ref()).take(limit).map(PersonView::from).collect();
    Ok(PeopleList { items: with_direct_spaces(&state.store, items).await? })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RoomSnapshot;

    fn room(n: usize) -> RoomSnapshot {
        RoomSnapshot {
            id: format!("ROOM-{n:04}"),
            uuid: format!("uuid-{n}"),
            cluster: "us".into(),
            title: format!("Room {n:04}"),
            space_type: "group".into(),
            is_locked: false,
            last_activity: None,
        }
    }

    /// The body, as the chunks of a streamed answer would make it.
    async fn body(store: &Store, cursor: Option<SpaceCursor>, limit: usize) -> SpaceList {
        let mut listing =
            Some(Listing { store: store.clone(), filter: SpaceFilter::default(), cursor, left: limit, started: false });
        let mut bytes = Vec::new();
        while let Some(next) = listing {
            let (chunk, after) = next.chunk().await.expect("chunk");
            bytes.extend_from_slice(&chunk);
            listing = after;
        }
        serde_json::from_slice(&bytes).expect("the chunks make one JSON body")
    }

    #[tokio::test]
    async fn the_streamed_listing_is_one_body_and_its_cursor_pages_on() {
        let store = Store::open_in_memory().await.expect("store");
        assert_eq!(body(&store, None, MAX_LIMIT).await, SpaceList { items: vec![], next_cursor: None });
        store.sync_spaces((0..1_234).map(room).collect()).await.expect("sync");
        let all = body(&store, None, MAX_LIMIT).await;
        assert_eq!((all.items.len(), all.next_cursor.as_deref()), (1_234, None));
        let first = body(&store, None, 1_000).await;
        assert_eq!(first.items[..], all.items[..1_000]);
        let cursor = decode_cursor(first.next_cursor.as_deref().expect("more")).expect("cursor");
        let rest = body(&store, Some(cursor), 1_000).await;
        assert_eq!(rest.items[..], all.items[1_000..]);
        assert_eq!(rest.next_cursor, None);
        assert!(decode_cursor("not-a-cursor").is_err());
    }
}
