//! `GET /v1/spaces`, `GET /v1/spaces/{id}`, `POST /v1/spaces/refresh`, and
//! `GET /v1/people?email=` (resolving a DM destination).

use super::error::ApiError;
use super::extract::ApiQuery;
use super::AppState;
use crate::store::{Space, SpaceFilter, SyncReport};
use crate::webex::rest::Person;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(rename = "type")]
    space_type: Option<String>,
    q: Option<String>,
    #[serde(default)]
    include_removed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpaceList {
    pub items: Vec<Space>,
}

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<SpaceList>, ApiError> {
    if let Some(kind) = query.space_type.as_deref().filter(|k| !matches!(*k, "group" | "direct")) {
        return Err(ApiError::bad_request(format!("type: must be \"group\" or \"direct\", got {kind:?}")));
    }
    let filter =
        SpaceFilter { space_type: query.space_type, title_contains: query.q, include_removed: query.include_removed };
    let items = state.store.spaces(filter).await?;
    Ok(Json(SpaceList { items }))
}

pub async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Space>, ApiError> {
    match state.store.space(&id).await? {
        Some(space) => Ok(Json(space)),
        None => Err(ApiError::not_found(format!(
            "no space {id} is known; the bot sees only spaces it was added to: add the bot to the space, then POST /v1/spaces/refresh"
        ))),
    }
}

pub async fn refresh(State(state): State<AppState>) -> Result<Json<SyncReport>, ApiError> {
    Ok(Json(state.spaces.resync().await?))
}

#[derive(Debug, Deserialize)]
pub struct PeopleQuery {
    email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonView {
    pub id: String,
    pub email: Option<String>,
    pub display_name: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

impl From<Person> for PersonView {
    fn from(person: Person) -> Self {
        Self {
            email: person.primary_email().map(str::to_owned),
            id: person.id,
            display_name: person.display_name,
            kind: person.kind,
        }
    }
}

pub async fn people(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<PeopleQuery>,
) -> Result<Json<PersonView>, ApiError> {
    let email = query
        .email
        .filter(|e| e.contains('@'))
        .ok_or_else(|| ApiError::bad_request("email: give a person's email address, e.g. ?email=ana@example.com"))?;
    let people = state.rest.people_by_email(&email).await?;
    match people.into_iter().next() {
        Some(person) => Ok(Json(person.into())),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_person",
            format!("Webex knows no person with the email {email}"),
        )),
    }
}
