//! `POST /v1/escalations`, `GET /v1/escalations[/{id}?wait=S]`,
//! `POST /v1/escalations/{id}/cancel`, and `POST /v1/messages` (one-way
//! notifications).

use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery};
use super::spaces::{store_error, webex_error};
use super::AppState;
use crate::escalation::model::view;
use crate::escalation::notify::{self, NotifyError};
use crate::escalation::service::{Created, ServiceError};
use crate::store::EscalationFilter;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

const MAX_WAIT_S: u64 = 300;

pub async fn create(State(state): State<AppState>, body: Bytes) -> Result<(StatusCode, Json<Value>), ApiError> {
    match state.escalations.create(&body).await.map_err(service_error)? {
        Created::New(record) => Ok((StatusCode::CREATED, Json(view(&record)))),
        Created::Existing(record) => Ok((StatusCode::OK, Json(view(&record)))),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    space: Option<String>,
    key: Option<String>,
    limit: Option<usize>,
    cursor: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    if let Some(status) =
        query.status.as_deref().filter(|s| !["pending", "answered", "expired", "cancelled", "failed"].contains(s))
    {
        return Err(ApiError::bad_request(format!(
            "status: one of pending, answered, expired, cancelled, failed; got {status:?}"
        )));
    }
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("limit: between 1 and 500"));
    }
    let filter =
        EscalationFilter { status: query.status, space_id: query.space, key: query.key, before: query.cursor, limit };
    let records = state.escalations.list(filter).await.map_err(service_error)?;
    let next_cursor = (records.len() == limit).then(|| records.last().map(|r| r.cursor)).flatten();
    Ok(Json(json!({"items": records.iter().map(view).collect::<Vec<_>>(), "next_cursor": next_cursor})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetQuery {
    wait: Option<u64>,
}

pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<GetQuery>,
) -> Result<Json<Value>, ApiError> {
    let record = match query.wait {
        Some(wait) if wait > MAX_WAIT_S => {
            return Err(ApiError::bad_request(format!("wait: at most {MAX_WAIT_S} seconds")))
        }
        Some(wait) => state.escalations.wait(&id, Duration::from_secs(wait)).await,
        None => state.escalations.get(&id).await,
    };
    Ok(Json(view(&record.map_err(service_error)?)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    reason: Option<String>,
}

pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let blank = body.iter().all(u8::is_ascii_whitespace) || body.trim_ascii() == b"null";
    let body: CancelBody = if blank {
        CancelBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", format!("body: {e}")))?
    };
    if body.reason.as_ref().is_some_and(|r| r.chars().count() > 500) {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "reason: at most 500 characters"));
    }
    let record = state.escalations.cancel(&id, body.reason).await.map_err(service_error)?;
    Ok(Json(view(&record)))
}

pub async fn notify(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<notify::Notification>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    match notify::send(&state.rest, body).await {
        Ok(sent) => Ok((StatusCode::CREATED, Json(serde_json::to_value(sent).unwrap_or_default()))),
        Err(NotifyError::Invalid(invalid)) => {
            Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", invalid.to_string()))
        }
        Err(NotifyError::BotNotInSpace(space)) => Err(not_in_space(&space)),
        Err(NotifyError::UnknownPerson(who)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_person",
            format!("to: Webex knows no person {who}"),
        )),
        Err(NotifyError::Webex(error)) => Err(webex_error(error)),
    }
}

fn not_in_space(space: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "bot_not_in_space",
        format!("to.space_id: the bot is not in space {space}. A bot sees only spaces it was added to: add the bot to the space in Webex (People > Add people), then retry"),
    )
}

fn service_error(error: ServiceError) -> ApiError {
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    match error {
        ServiceError::Invalid(invalid) => ApiError::new(unprocessable, "invalid", invalid.to_string()),
        ServiceError::BotNotInSpace { space_id } => not_in_space(&space_id),
        e @ ServiceError::UnknownPerson { .. } => ApiError::new(unprocessable, "unknown_person", e.to_string()),
        e @ ServiceError::KeyConflict { .. } => ApiError::new(StatusCode::CONFLICT, "key_conflict", e.to_string()),
        e @ ServiceError::NotPending { .. } => ApiError::new(StatusCode::CONFLICT, "not_pending", e.to_string()),
        e @ ServiceError::NotFound(_) => ApiError::not_found(e.to_string()),
        ServiceError::Webex(error) => webex_error(error),
        ServiceError::Store(error) => store_error(error),
    }
}
