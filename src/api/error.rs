//! The one error shape of the socket API: `{"error": {"code", "message"}}` with
//! a fitting HTTP status, so engines can branch on `code` and humans read `message`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Sent as `Retry-After` (seconds) when waiting is the remedy.
    pub retry_after: Option<std::time::Duration>,
}

/// The body of every error answer, as clients read it.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    #[schema(schema_with = super::openapi::error_code_schema)]
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None }
    }

    pub fn retry_after(mut self, wait: std::time::Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_owned(), message: self.message } };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(wait) = self.retry_after {
            // Whole seconds, rounded up: a client must not come back too early.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.max(1).into());
        }
        response
    }
}

// ---------------------------------------------------------------------------
// What each module's errors mean to an engine: one mapping, used through `?`.
// ---------------------------------------------------------------------------

use crate::escalation::notify::NotifyError;
use crate::escalation::request::{InvalidRequest, Problem};
use crate::escalation::service::ServiceError;
use crate::spaces::SpacesError;
use crate::store::StoreError;
use crate::webex::rest::RestError;
use std::time::Duration;

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "store failure");
        ApiError::internal(format!("the local store failed: {error}"))
    }
}

impl From<RestError> for ApiError {
    fn from(error: RestError) -> Self {
        match error {
            RestError::Unauthorized { .. } => ApiError::new(
                StatusCode::BAD_GATEWAY,
                "webex_token_rejected",
                "Webex rejected the bot token: it is invalid, revoked or was regenerated",
            ),
            RestError::RateLimited { retry_after, .. } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "webex_rate_limited",
                format!("Webex is rate limiting the bot; retry after {} s", retry_after.as_secs().max(1)),
            )
            .retry_after(retry_after),
            RestError::Network { .. } => ApiError::new(StatusCode::BAD_GATEWAY, "webex_unreachable", error.to_string()),
            other => ApiError::new(StatusCode::BAD_GATEWAY, "webex_error", other.to_string()),
        }
    }
}

impl From<SpacesError> for ApiError {
    fn from(error: SpacesError) -> Self {
        match error {
            SpacesError::Rest(rest) => rest.into(),
            SpacesError::Store(store) => store.into(),
        }
    }
}

impl From<InvalidRequest> for ApiError {
    fn from(invalid: InvalidRequest) -> Self {
        let message = invalid.to_string();
        match invalid.kind {
            Problem::Field => ApiError::unprocessable("invalid", message),
            Problem::Syntax => ApiError::bad_request(message),
            Problem::TooLarge => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message),
        }
    }
}

fn not_in_space(space: &str) -> ApiError {
    ApiError::unprocessable(
        "bot_not_in_space",
        format!("to.space_id: the bot is not in space {space}. A bot sees only spaces it was added to: add the bot to the space in Webex (People > Add people), then retry"),
    )
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Invalid(invalid) => invalid.into(),
            ServiceError::BotNotInSpace { space_id } => not_in_space(&space_id),
            e @ ServiceError::UnknownPerson { .. } => ApiError::unprocessable("unknown_person", e.to_string()),
            e @ ServiceError::KeyConflict { .. } => ApiError::unprocessable("key_conflict", e.to_string()),
            e @ ServiceError::NotPending { .. } => ApiError::new(StatusCode::CONFLICT, "not_pending", e.to_string()),
            e @ ServiceError::NotFound(_) => ApiError::not_found(e.to_string()),
            ServiceError::Webex(error) => error.into(),
            ServiceError::Store(error) => error.into(),
        }
    }
}

impl From<NotifyError> for ApiError {
    fn from(error: NotifyError) -> Self {
        match error {
            NotifyError::Invalid(invalid) => invalid.into(),
            NotifyError::BotNotInSpace(space) => not_in_space(&space),
            NotifyError::UnknownPerson(who) => {
                ApiError::unprocessable("unknown_person", format!("to: Webex knows no person {who}"))
            }
            NotifyError::Webex(error) => error.into(),
            e @ NotifyError::KeyConflict(_) => ApiError::unprocessable("key_conflict", format!("key: {e}")),
            e @ NotifyError::InFlight(_) => ApiError::new(StatusCode::CONFLICT, "in_progress", format!("key: {e}"))
                .retry_after(Duration::from_secs(1)),
            NotifyError::Store(error) => error.into(),
        }
    }
}
