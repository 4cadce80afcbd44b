//! `POST /v1/token`: a new bot token for the running daemon, without a restart.
//!
//! Under systemd the token is a credential (`LoadCredential=`): a copy made at
//! start that `systemctl reload` does not refresh, so SIGHUP cannot deliver a
//! new one. `webex-hitl token rotate` sends it here instead. Webex checks it
//! first (`GET /people/me`); a token Webex refuses, or another bot's, leaves
//! the current one in use. Only root and the daemon's own user may call it,
//! whatever `api.allowed_uids` says: the token is the bot's whole identity.

use super::access::{Caller, PeerInfo};
use super::error::ApiError;
use super::extract::ApiJson;
use super::health::BotIdentity;
use super::AppState;
use crate::secret::Secret;
use crate::webex::token::ReplaceError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    #[schema(value_type = String)]
    pub token: Secret,
}

/// The bot the new token belongs to (now the daemon's token).
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotated {
    pub bot: BotIdentity,
}

/// A new bot token, checked with Webex first; root or the daemon's user only.
#[utoipa::path(post, path = "/v1/token", operation_id = "rotate_token", tag = "daemon", request_body = NewToken, responses((status = 200, body = Rotated), (status = "default", description = "An error: see `ErrorBody` for the codes", body = crate::api::error::ErrorBody)))]
pub async fn rotate(
    State(state): State<AppState>,
    Caller(peer): Caller,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<Json<Rotated>, ApiError> {
    if !may_rotate(peer.as_ref(), nix::unistd::geteuid().as_raw()) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only root or the daemon's own user may change the bot token (sudo webex-hitl token rotate)",
        ));
    }
    if body.token.expose().trim().is_empty() {
        return Err(ApiError::unprocessable("invalid", "token: must not be empty"));
    }
    let me = state.token.replace(Secret::new(body.token.expose().trim().to_owned())).await.map_err(refused)?;
    tracing::info!(bot = %me.display_name, "the bot token was rotated through the API; it is in use");
    let bot = BotIdentity { email: me.primary_email().map(str::to_owned), id: me.id, name: me.display_name };
    Ok(Json(Rotated { bot }))
}

/// Root, or the user the daemon runs as.
fn may_rotate(peer: Option<&PeerInfo>, daemon_uid: u32) -> bool {
    peer.is_some_and(|p| p.uid == 0 || p.uid == daemon_uid)
}

fn refused(error: ReplaceError) -> ApiError {
    tracing::warn!(%error, "a new bot token was refused; the current one stays");
    match error {
        ReplaceError::Rejected(_) => ApiError::unprocessable("token_rejected", format!("token: {error}")),
        ReplaceError::OtherBot { .. } => ApiError::unprocessable("token_other_bot", format!("token: {error}")),
        ReplaceError::Unchecked(rest) => {
            let mut api = ApiError::from(rest);
            api.message = format!("{}; the current token stays", api.message);
            api
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_root_and_the_daemons_user_may_rotate() {
        let peer = |uid| PeerInfo { uid, gid: uid, pid: None };
        assert!(may_rotate(Some(&peer(0)), 990));
        assert!(may_rotate(Some(&peer(990)), 990));
        assert!(!may_rotate(Some(&peer(1000)), 990));
        assert!(!may_rotate(None, 990), "an unknown caller is refused");
    }
}
