//! `POST /v1/escalations`, `GET /v1/escalations[/{id}?wait=S]`,
//! `POST /v1/escalations/{id}/cancel`, and `POST /v1/messages` (one-way
//! notifications).

use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery};
use super::{AppState, Page};
use crate::escalation::notify::{self, Notification, Outcome, Sent};
use crate::escalation::request::{merge_key, InvalidRequest, Problem};
use crate::escalation::service::Created;
use crate::model::{EscalationView, Status};
use crate::store::EscalationFilter;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::time::Duration;

const MAX_WAIT_S: u64 = 300;
const MAX_REASON_CHARS: usize = 500;

/// Asks a specialist: `201` with a new escalation, `200` with the one a known key made.
#[utoipa::path(post, path = "/v1/escalations", operation_id = "create_escalation", tag = "escalations", params(("Idempotency-Key" = Option<String>, Header, description = "The idempotency key, instead of (or equal to) the body's `key`; a different one is 422 `invalid`; the key reused with another body is 422 `key_conflict`")), request_body = crate::escalation::request::EscalationRequest, responses(
    (status = 201, description = "Created", body = EscalationView),
    (status = 200, description = "The escalation this key made before", body = EscalationView,
        headers(("Idempotent-Replayed" = String, description = "`true`: a replay of the first answer"))), (status = "default", description = "An error: see `ErrorBody` for the codes", body = crate::api::error::ErrorBody)))]
pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    Ok(match state.escalations.create(&body, key).await? {
        Created::New(record) => (StatusCode::CREATED, Json(EscalationView::from(&record))).into_response(),
        Created::Existing(record) => replayed(Json(EscalationView::from(&record))),
    })
}

/// `Idempotency-Key`, when sent (IETF draft-ietf-httpapi-idempotency-key-header).
fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else { return Ok(None) };
    let key = value.to_str().map_err(|_| ApiError::bad_request("Idempotency-Key: must be visible ASCII"))?;
    Ok(Some(key.trim_matches('"')))
}

/// The answer a key got before, marked as a replay (`Idempotent-Replayed: true`).
fn replayed(body: impl IntoResponse) -> Response {
    (StatusCode::OK, [(IDEMPOTENT_REPLAYED, "true")], body).into_response()
}

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<String>,
    space: Option<String>,
    key: Option<String>,
    limit: Option<usize>,
    cursor: Option<i64>,
}

/// Escalations, newest first; `next_cursor` pages on.
#[utoipa::path(get, path = "/v1/escalations", operation_id = "list_escalations", tag = "escalations", params(ListQuery), responses((status = 200, body = Page<EscalationView>), (status = "default", description = "An error: see `ErrorBody` for the codes", body = crate::api::error::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Page<EscalationView>>, ApiError> {
    let status = query.status.as_deref().map(str::parse::<Status>).transpose();
    let status = status.map_err(|unknown| ApiError::bad_request(unknown.to_string()))?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("limit: between 1 and 500"));
    }
    let filter = EscalationFilter { status, space_id: query.space, key: query.key, before: query.cursor, limit };
    let records = state.escalations.list(filter).await?;
    let page = Page::of(records, limit, |r| r.cursor);
    Ok(Json(Page { items: page.items.iter().map(EscalationView::from).collect(), next_cursor: page.next_cursor }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GetQuery {
    wait: Option<u64>,
}

/// One escalation; with `wait` (≤ 300 s) it answers as soon as it leaves `pending`.
#[utoipa::path(get, path = "/v1/escalations/{id}", operation_id = "get_escalation", tag = "escalations", params(("id" = String, Path), GetQuery), responses((status = 200, body = EscalationView), (status = "default", description = "An error: see `ErrorBody` for the codes", body = crate::api::error::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<GetQuery>,
) -> Result<Json<EscalationView>, ApiError> {
    let record = match query.wait {
        Some(wait) if wait > MAX_WAIT_S => {
            return Err(ApiError::bad_request(format!("wait: at most {MAX_WAIT_S} seconds")))
        }
        Some(wait) => state.escalations.wait(&id, Duration::from_secs(wait), &state.shutdown).await?,
        None => state.escalations.get(&id).await?,
    };
    Ok(Json((&record).into()))
}

#[derive(utoipa::ToSchema, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    reason: Option<String>,
}

/// Withdraws a pending escalation; the card says so.
#[utoipa::path(post, path = "/v1/escalations/{id}/cancel", operation_id = "cancel_escalation", tag = "escalations", params(("id" = String, Path)), request_body(content = Option<CancelBody>), responses((status = 200, body = EscalationView), (status = "default", description = "An error: see `ErrorBody` for the codes", body = crate::api::error::ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<EscalationView>, ApiError> {
    let blank = body.iter().all(u8::is_ascii_whitespace) || body.trim_ascii() == b"null";
    let body: CancelBody = if blank {
        CancelBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            let kind = if e.is_syntax() || e.is_eof() { Problem::Syntax } else { Problem::Field };
            InvalidRequest { kind, ..InvalidRequest::new("body", e.to_string()) }
        })?
    };
    if body.reason.as_ref().is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
        return Err(ApiError::unprocessable("invalid", format!("reason: at most {MAX_REASON_CHARS} characters")));
    }
    let record = state.escalations.cancel(&id, body.reason).await?;
    Ok(Json((&record).into()))
}

/// A one-way message to a space or a person: `201`, or `200` for a known key.
#[utoipa::path(post, path = "/v1/messages", operation_id = "send_message", tag = "escalations", params(("Idempotency-Key" = Option<String>, Header, description = "The idempotency key, instead of (or equal to) the body's `key`; a different one is 422 `invalid`; the key reused with another body is 422 `key_conflict`")), request_body = Notification, responses(
    (status = 201, description = "Sent", body = Sent),
    (status = 200, description = "The message this key sent before", body = Sent,
        headers(("Idempotent-Replayed" = String, description = "`true`: a replay of the first answer"))), (status = "default", description = "An error: see `ErrorBody` for the codes", body = crate::api::error::ErrorBody)))]
pub async fn notify(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(mut body): ApiJson<Notification>,
) -> Result<Response, ApiError> {
    body.key = merge_key(body.key.take(), idempotency_key(&headers)?)?;
    Ok(match notify::send(&state.rest, &state.store, body).await? {
        Outcome::New(sent) => (StatusCode::CREATED, Json(sent)).into_response(),
        Outcome::Existing(sent) => replayed(Json(sent)),
    })
}
