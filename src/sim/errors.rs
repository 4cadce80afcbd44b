//! Webex-shaped error responses and the per-response tracking id.
//!
//! Handlers return [`ApiError`]; it travels in the response's extensions to
//! [`track`], the outermost middleware, which knows the request's tracking id
//! and renders `{"message","errors":[{"description"}],"trackingId"}` with the
//! same id as the `TrackingID` header. `track` also logs every Webex call.

use super::handle::{RestCall, Shared};
use super::world::WorldError;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;

pub const UNAUTHORIZED: &str = "The request requires a valid access token set in the Authorization request header.";

/// An error answer in Webex's shape.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), retry_after: None }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    fn render(&self, tracking_id: &str) -> Response {
        let body = json!({
            "message": self.message,
            "errors": [{"description": self.message}],
            "trackingId": tracking_id,
        });
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = self.status;
        resp.extensions_mut().insert(self);
        resp
    }
}

impl From<WorldError> for ApiError {
    fn from(e: WorldError) -> Self {
        let status = match e {
            WorldError::RoomNotFound
            | WorldError::PersonNotFound
            | WorldError::MessageNotFound
            | WorldError::ActionNotFound => StatusCode::NOT_FOUND,
            WorldError::Invalid(_) => StatusCode::BAD_REQUEST,
            WorldError::Forbidden(_) => StatusCode::FORBIDDEN,
        };
        Self::new(status, e.to_string())
    }
}

/// Paths that belong to Webex (as opposed to the `/_sim` control API).
fn is_webex_path(path: &str) -> bool {
    ["/v1", "/u2c", "/wdm", "/conversation"].iter().any(|p| path.starts_with(p))
}

/// Outermost middleware: tracking id header, error bodies, call log.
pub async fn track(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let tracking_id = format!("ROUTER_{}", uuid::Uuid::new_v4().to_string().to_uppercase());
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let mut resp = next.run(req).await;
    if let Some(err) = resp.extensions_mut().remove::<ApiError>() {
        resp = err.render(&tracking_id);
    }
    if let Ok(value) = HeaderValue::from_str(&tracking_id) {
        resp.headers_mut().insert("TrackingID", value);
    }
    if is_webex_path(&path) {
        shared.log_call(RestCall { method, path, status: resp.status().as_u16() });
    }
    resp
}

/// Bearer token check for every Webex endpoint.
pub async fn require_token(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let expected = format!("Bearer {}", shared.token());
    let ok = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).is_some_and(|v| v == expected);
    if !ok {
        return ApiError::new(StatusCode::UNAUTHORIZED, UNAUTHORIZED).into_response();
    }
    next.run(req).await
}

/// Unknown paths answer like Webex does, with a body and a tracking id.
pub async fn not_found() -> ApiError {
    ApiError::not_found("The requested resource could not be found.")
}
