//! The same rules for every request, whichever handler (or none) answers it.
//!
//! Engines branch on the JSON error's `code`; an answer in another shape (axum's
//! plain-text 405 for a wrong method, a path that does not parse, a body over
//! the limit) makes them guess. Two layers over the whole router:
//! - a body, on any method, must be `Content-Type: application/json`; an empty
//!   body needs no type (`POST .../cancel`, `POST /v1/spaces/refresh`);
//! - an error answer that is not already JSON becomes the one error shape, its
//!   status and headers (`Allow` on a 405) kept.

use super::error::ApiError;
use axum::extract::Request;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;

/// The longest framework message kept as the error's `message`; longer ones
/// (none today) fall back to the status's own words.
const MAX_MESSAGE_BYTES: usize = 512;

pub fn wrap(router: Router) -> Router {
    router.layer(axum::middleware::from_fn(json_errors)).layer(axum::middleware::from_fn(json_bodies))
}

async fn json_bodies(request: Request, next: Next) -> Response {
    if has_body(request.headers()) && !is_json(request.headers()) {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as Content-Type: application/json",
        )
        .into_response();
    }
    next.run(request).await
}

async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_MESSAGE_BYTES).await.ok();
    let text = text.as_deref().map(String::from_utf8_lossy).map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    let mut shaped = ApiError::new(status, code_of(status), text.unwrap_or_else(|| words_of(status))).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            shaped.headers_mut().insert(name, value.clone());
        }
    }
    shaped
}

fn has_body(headers: &HeaderMap) -> bool {
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    length.is_some_and(|n| n > 0) || headers.contains_key(header::TRANSFER_ENCODING)
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// The `code` of an error the framework raised, by its status.
pub fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_server_error() => "internal",
        _ => "bad_request",
    }
}

fn words_of(status: StatusCode) -> String {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => "this endpoint does not take that method; see `Allow`".to_owned(),
        StatusCode::PAYLOAD_TOO_LARGE => format!("the body is over {} bytes", super::MAX_BODY_BYTES),
        other => other.canonical_reason().unwrap_or("error").to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use tower::ServiceExt;

    fn request(method: &str, content_type: Option<&str>, body: &'static str) -> Request {
        let mut builder = Request::builder().method(method).uri("/x").header(header::CONTENT_LENGTH, body.len());
        if let Some(content_type) = content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        builder.body(axum::body::Body::from(body)).unwrap()
    }

    fn app() -> Router {
        wrap(Router::new().route("/x", post(|| async { "plain ok" })))
    }

    async fn call(request: Request) -> (StatusCode, HeaderMap, serde_json::Value) {
        let response = app().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 16).await.unwrap();
        (parts.status, parts.headers, serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null))
    }

    #[tokio::test]
    async fn a_wrong_method_is_a_json_405_that_keeps_allow() {
        let (status, headers, body) = call(request("GET", None, "")).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(headers[header::ALLOW], "POST");
        assert_eq!(body["error"]["code"], "method_not_allowed");
    }

    #[tokio::test]
    async fn a_body_must_be_json_but_no_body_needs_no_type() {
        let (status, _, body) = call(request("POST", Some("text/plain"), "hi")).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type"))
        );
        let (status, _, _) = call(request("POST", None, "")).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = call(request("POST", Some("application/json; charset=utf-8"), "{}")).await;
        assert_eq!(status, StatusCode::OK);
    }

    #[test]
    fn every_framework_status_has_a_code() {
        assert_eq!(code_of(StatusCode::PAYLOAD_TOO_LARGE), "payload_too_large");
        assert_eq!(code_of(StatusCode::BAD_GATEWAY), "internal");
    }
}
