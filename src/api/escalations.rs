//! `POST /v1/escalations`, `GET /v1/escalations[/{id}?wait=S]`,
//! `POST /v1/escalations/{id}/cancel`, and `POST /v1/messages` (one-way
//! notifications).

use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery};
use super::{AppState, Page};
use crate::escalation::notify::{self, Notification, Outcome, Sent};
use crate::escalation::request::{InvalidRequest, Problem};
use crate::escalation::service::Created;
use crate::model::{EscalationView, Status};
use crate::store::EscalationFilter;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use std::time::Duration;

const MAX_WAIT_S: u64 = 300;
const MAX_REASON_CHARS: usize = 500;

pub async fn create(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<EscalationView>), ApiError> {
    Ok(match state.escalations.create(&body).await? {
        Created::New(record) => (StatusCode::CREATED, Json((&record).into())),
        Created::Existing(record) => (StatusCode::OK, Json((&record).into())),
    })
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetQuery {
    wait: Option<u64>,
}

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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    reason: Option<String>,
}

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

pub async fn notify(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Notification>,
) -> Result<(StatusCode, Json<Sent>), ApiError> {
    Ok(match notify::send(&state.rest, &state.store, body).await? {
        Outcome::New(sent) => (StatusCode::CREATED, Json(sent)),
        Outcome::Existing(sent) => (StatusCode::OK, Json(sent)),
    })
}
