//! `GET /v1/version`: which build answers on this socket, the same facts as
//! `webex-hitl --version` and the `webex_hitl_build_info` gauge.

use crate::metrics::build_info::{COMMIT, VERSION};
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(utoipa::ToSchema, Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Version {
    pub version: String,
    pub commit: String,
}

/// The build answering on this socket.
#[utoipa::path(get, path = "/v1/version", operation_id = "version", tag = "daemon", responses((status = 200, body = Version), (status = "default", description = "An error: see `ErrorBody` for the codes", body = crate::api::error::ErrorBody)))]
pub async fn get() -> Json<Version> {
    Json(Version { version: VERSION.to_owned(), commit: COMMIT.to_owned() })
}
