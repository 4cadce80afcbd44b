//! Webex-shaped error responses and the per-response tracking id.
//!
//! Handlers return [`ApiError`]; it travels in the response's extensions to
//! [`track`], the outermost middleware, which knows the request's tracking id
//! and renders `{"message","errors":[{"description"}],"trackingId"}` with the
//! same id as the `TrackingID` header. Errors that the router itself produces
//! (405 for a wrong method, 413 for a body over its limit, a rejected
//! extractor) get the same body there: Webex never answers an error without
//! it. `track` also logs every Webex call.

use super::faults::RetryAfter;
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
    pub retry_after: Option<RetryAfter>,
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
        if let Some(value) = self.retry_after.as_ref().and_then(|r| HeaderValue::from_str(&r.header_value()).ok()) {
            resp.headers_mut().insert(header::RETRY_AFTER, value);
        }
        resp
    }

    /// The Webex error for a failure the router produced before any handler ran.
    fn for_status(status: StatusCode) -> Self {
        let message = match status {
            StatusCode::METHOD_NOT_ALLOWED => "The requested method is not supported for this resource.",
            StatusCode::PAYLOAD_TOO_LARGE => "The request payload is too big",
            StatusCode::NOT_FOUND => "The requested resource could not be found.",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "The request content type is not supported.",
            _ => status.canonical_reason().unwrap_or("The request could not be processed."),
        };
        Self::new(status, message)
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
    ["/v1", "/u2c", "/wdm", "/conversation", "/metrics"].iter().any(|p| path.starts_with(p))
}

/// Outermost middleware: tracking id header, error bodies, call log.
pub async fn track(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let tracking_id = format!("ROUTER_{}", uuid::Uuid::new_v4().to_string().to_uppercase());
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let mut resp = next.run(req).await;
    if let Some(err) = resp.extensions_mut().remove::<ApiError>() {
        resp = err.render(&tracking_id);
    } else if is_bare_error(&resp) && !path.starts_with("/_sim") {
        resp = ApiError::for_status(resp.status()).render(&tracking_id);
    }
    if let Ok(value) = HeaderValue::from_str(&tracking_id) {
        resp.headers_mut().insert("TrackingID", value);
    }
    if is_webex_path(&path) {
        shared.log_call(RestCall { method, path, status: resp.status().as_u16() });
    }
    resp
}

/// An error status whose body is not Webex's JSON (axum's own 405 and 413).
fn is_bare_error(resp: &Response) -> bool {
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    (resp.status().is_client_error() || resp.status().is_server_error()) && !json
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
