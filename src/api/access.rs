//! Who may use the socket API, and the record of what they changed.
//!
//! Two layers. The socket file's mode and group (`api.socket_mode`,
//! `api.socket_group`) decide who can open it at all. On top, an allow-list of
//! uids/gids (`api.allowed_uids`, `api.allowed_gids`) is checked against the
//! kernel's view of the caller (`SO_PEERCRED`, which a client cannot forge) on
//! every connection, so a socket opened up to a group can still be narrowed to
//! named service users. Root and the daemon's own uid are always allowed, so the
//! operator and the service user's CLI keep working. Empty lists: the file
//! permissions alone decide.
//!
//! Every mutating request (anything but GET/HEAD/OPTIONS), accepted or refused,
//! is written to the store's audit table with the peer, method, path and status.

use super::error::ApiError;
use super::extract::ApiQuery;
use super::{AppState, Page};
use crate::config::ApiConfig;
use crate::store::{AuditEntry, AuditRecord, Store};
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;
use tokio::net::UnixStream;

/// The caller of one connection, as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerInfo {
    pub uid: u32,
    pub gid: u32,
    pub pid: Option<i32>,
}

/// Per-connection info for axum: `None` when `SO_PEERCRED` failed.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<PeerInfo>);

impl Peer {
    /// The kernel's word on who is at the other end of `stream`.
    pub fn of(stream: &UnixStream) -> Self {
        match stream.peer_cred() {
            Ok(cred) => Peer(Some(PeerInfo { uid: cred.uid(), gid: cred.gid(), pid: cred.pid() })),
            Err(error) => {
                tracing::warn!(%error, "cannot read the API caller's credentials (SO_PEERCRED)");
                Peer(None)
            }
        }
    }
}

/// The caller of this request, for a handler with its own rule on top of the
/// allow-list; `None` when the kernel did not say.
pub struct Caller(pub Option<PeerInfo>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller(parts.extensions.get::<ConnectInfo<Peer>>().and_then(|info| info.0 .0)))
    }
}

/// The allow-list, resolved once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPolicy {
    uids: Vec<u32>,
    gids: Vec<u32>,
    daemon_uid: Option<u32>,
}

impl AccessPolicy {
    pub fn new(uids: Vec<u32>, gids: Vec<u32>, daemon_uid: Option<u32>) -> Self {
        Self { uids, gids, daemon_uid }
    }

    /// Whether any list narrows access beyond the socket file's permissions.
    pub fn is_open(&self) -> bool {
        self.uids.is_empty() && self.gids.is_empty()
    }

    /// `gid` is the caller's primary group only: `SO_PEERCRED` does not carry
    /// supplementary groups.
    pub fn allows(&self, peer: Option<&PeerInfo>) -> bool {
        if self.is_open() {
            return true;
        }
        let Some(peer) = peer else { return false };
        peer.uid == 0
            || Some(peer.uid) == self.daemon_uid
            || self.uids.contains(&peer.uid)
            || self.gids.contains(&peer.gid)
    }
}

struct Guard {
    policy: AccessPolicy,
    store: Store,
}

/// Wraps the whole router (unknown paths included) in the peer check and the
/// audit. The router must be served with [`Peer`] connect info (see `api::serve`);
/// without it every caller is unknown. The daemon's uid is the socket file's owner.
pub fn protect(router: Router, api: &ApiConfig, store: Store) -> Router {
    let policy = AccessPolicy::new(api.allowed_uids.clone(), api.allowed_gids.clone(), owner_uid(&api.socket));
    router.layer(axum::middleware::from_fn_with_state(Arc::new(Guard { policy, store }), check))
}

#[cfg(unix)]
fn owner_uid(path: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| m.uid())
}

#[cfg(not(unix))]
fn owner_uid(_path: &Path) -> Option<u32> {
    None
}

async fn check(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<Peer>>().and_then(|info| info.0 .0);
    let method = request.method().clone();
    // The path only: query strings may carry an email address.
    let path = request.uri().path().to_owned();
    let (response, detail) = if guard.policy.allows(peer.as_ref()) {
        (next.run(request).await, None)
    } else {
        tracing::warn!(uid = ?peer.map(|p| p.uid), gid = ?peer.map(|p| p.gid), pid = ?peer.and_then(|p| p.pid),
            %method, %path, "API caller refused: not on api.allowed_uids / api.allowed_gids");
        (forbidden(peer.as_ref()).into_response(), Some("refused: not on the allow-list".to_owned()))
    };
    if !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS) {
        let entry = AuditEntry {
            uid: peer.map(|p| p.uid),
            gid: peer.map(|p| p.gid),
            pid: peer.and_then(|p| p.pid),
            method: method.to_string(),
            path,
            status: response.status().as_u16(),
            detail,
        };
        if let Err(error) = guard.store.record_audit(entry).await {
            tracing::error!(%error, "cannot write the API audit record");
        }
    }
    response
}

fn forbidden(peer: Option<&PeerInfo>) -> ApiError {
    let message = match peer {
        Some(p) => format!(
            "uid {} (gid {}) may not use this API; add it to api.allowed_uids or its group to api.allowed_gids",
            p.uid, p.gid
        ),
        None => "the caller's credentials are unknown and api.allowed_uids / api.allowed_gids are set".to_owned(),
    };
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    limit: Option<usize>,
    cursor: Option<i64>,
}

/// `GET /v1/audit?limit=&cursor=`: newest first; `next_cursor` pages on.
#[utoipa::path(get, path = "/v1/audit", operation_id = "audit", tag = "daemon", params(AuditQuery), responses((status = 200, body = Page<AuditRecord>), (status = "default", description = "An error: see `ErrorBody` for the codes", body = crate::api::error::ErrorBody)))]
pub async fn audit_list(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Page<AuditRecord>>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit: between 1 and 1000"));
    }
    let records = state.store.audit_log(limit, query.cursor).await?;
    Ok(Json(Page::of(records, limit, |r| r.id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: PeerInfo = PeerInfo { uid: 1000, gid: 1000, pid: Some(7) };

    #[test]
    fn empty_lists_leave_it_to_the_file_permissions() {
        let open = AccessPolicy::new(vec![], vec![], Some(0));
        assert!(open.allows(Some(&ME)));
        assert!(open.allows(None));
    }

    #[test]
    fn lists_admit_listed_uids_gids_root_and_the_daemon_only() {
        let by_uid = AccessPolicy::new(vec![1000], vec![], Some(999));
        assert!(by_uid.allows(Some(&ME)));
        assert!(!by_uid.allows(Some(&PeerInfo { uid: 1001, ..ME })));
        assert!(by_uid.allows(Some(&PeerInfo { uid: 0, gid: 0, pid: None })), "root");
        assert!(by_uid.allows(Some(&PeerInfo { uid: 999, gid: 5, pid: None })), "the daemon's own uid");
        assert!(!by_uid.allows(None), "an unknown caller is refused when lists are set");

        let by_gid = AccessPolicy::new(vec![], vec![1000], None);
        assert!(by_gid.allows(Some(&PeerInfo { uid: 1234, ..ME })));
        assert!(!by_gid.allows(Some(&PeerInfo { uid: 1234, gid: 1234, pid: None })));
    }
}
