//! The `metrics` service (`/metrics/api/v1`): where Cisco's SDK posts its
//! client metrics. Webex's catalog always lists it, and the SDK fails hard
//! (an unhandled rejection ends a Node process) when a catalog does not, so
//! the simulator lists it and swallows what arrives.

use super::handle::Shared;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use std::sync::Arc;

/// `metrics` and `clientmetrics`, behind the token check.
pub fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/metrics", post(accepted)).route("/clientmetrics", post(accepted))
}

/// `clientmetrics-prelogin`, sent before the SDK has a token.
pub fn public_routes() -> Router<Arc<Shared>> {
    Router::new().route("/clientmetrics-prelogin", post(accepted))
}

async fn accepted() -> StatusCode {
    StatusCode::NO_CONTENT
}
