//! `GET /v1/version`: which build answers on this socket, the same facts as
//! `webex-hitl --version` and the `webex_hitl_build_info` gauge.

use crate::metrics::build_info::{COMMIT, VERSION};
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Version {
    pub version: String,
    pub commit: String,
}

pub async fn get() -> Json<Version> {
    Json(Version { version: VERSION.to_owned(), commit: COMMIT.to_owned() })
}
