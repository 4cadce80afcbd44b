//! The HTTP+JSON API on a Unix socket, for the AI engine and the CLI.
//!
//! A Unix socket rather than TCP: the engine runs on the same host, file
//! permissions decide who may talk to the daemon, and nothing listens on the
//! network. Everything lives under `/v1/`, so
//! `curl --unix-socket SOCK http://localhost/v1/health` works.

pub mod access;
pub mod error;
pub mod escalations;
pub mod events;
pub mod extract;
pub mod health;
mod metrics;
pub mod openapi;
mod serve;
pub mod spaces;
mod sse;
pub mod token;
pub mod uniform;
pub mod version;

use crate::config::ApiConfig;
use crate::dispatch::EventCounts;
use crate::escalation::delivery::Stalled;
use crate::escalation::service::Escalations;
use crate::metrics::Metrics;
use crate::spaces::Spaces;
use crate::store::Store;
use crate::webex::mercury::link::LinkState;
use crate::webex::rest::RestClient;
use crate::webex::token::TokenKeeper;
use axum::routing::get;
use axum::Router;
use health::BotIdentity;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::UnixListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Requests are small JSON documents; anything bigger is refused before parsing.
const MAX_BODY_BYTES: usize = 256 * 1024;

/// What handlers read, behind one `Arc`: axum clones the state for every
/// request, and cloning the parts themselves (a dozen reference counts) was
/// 2.6% of the daemon's CPU under API load.
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl From<AppParts> for AppState {
    fn from(parts: AppParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;
    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// The parts of [`AppState`], built once by the daemon; every field is a channel end or a shared handle.
pub struct AppParts {
    pub link: watch::Receiver<LinkState>,
    /// Set while the outbox is stopped (the store refuses writes).
    pub outbox: watch::Receiver<Option<Stalled>>,
    pub bot: watch::Receiver<Option<BotIdentity>>,
    pub counts: watch::Receiver<EventCounts>,
    pub store: Store,
    pub spaces: Spaces,
    pub rest: RestClient,
    pub escalations: Escalations,
    /// Counters for `GET /metrics` (Prometheus text, outside `/v1/`).
    pub metrics: Arc<Metrics>,
    /// The event log's epoch ([`Store::epoch`]), in every event line and heartbeat.
    pub epoch: Arc<str>,
    /// The bot token, for `POST /v1/token` (rotation without a restart).
    pub token: TokenKeeper,
    /// Ends long-lived answers (event follow) so shutdown is not held up.
    pub shutdown: CancellationToken,
}

/// Every route with its entry in the OpenAPI document: mounting a handler
/// through `routes!` is what documents it (see [`openapi`]).
pub(crate) fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::Base::openapi())
        .routes(routes!(metrics::get))
        .routes(routes!(health::get))
        .routes(routes!(version::get))
        .routes(routes!(openapi::get))
        .routes(routes!(spaces::list))
        .routes(routes!(spaces::refresh))
        .routes(routes!(spaces::get))
        .routes(routes!(spaces::people))
        .routes(routes!(events::stream))
        .routes(routes!(escalations::create, escalations::list))
        .routes(routes!(escalations::get))
        .routes(routes!(escalations::cancel))
        .routes(routes!(escalations::notify))
        .routes(routes!(access::audit_list))
        .routes(routes!(token::rotate))
}

pub fn router(state: AppState) -> Router {
    let routes = Router::from(api_router())
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .fallback(|| async { error::ApiError::not_found("no such endpoint; see GET /v1/openapi.json for the API") })
        .with_state(state);
    uniform::wrap(routes)
}

/// `/metrics` alone, for the optional TCP listener (`metrics.listen`): a
/// Prometheus scrape needs nothing else, and nothing else is safe without the
/// socket's peer credentials.
pub fn metrics_router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/metrics", get(metrics::get))
        .fallback(|| async { error::ApiError::not_found("only /metrics is served here") })
        .with_state(state);
    uniform::wrap(routes)
}

/// One page of a list, newest first; `next_cursor` asks for the next page
/// (`?cursor=`), absent on the last one.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<i64>,
}

impl<T> Page<T> {
    /// A full page may have more after it; `cursor` gives its last item's position.
    pub fn of(items: Vec<T>, limit: usize, cursor: impl Fn(&T) -> i64) -> Self {
        let next_cursor = (items.len() == limit).then(|| items.last().map(&cursor)).flatten();
        Self { items, next_cursor }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error("api.socket {path}: another process is already serving on this socket")]
    InUse { path: PathBuf },
    #[error("api.socket {path}: {source}{}", hint(source))]
    Io { path: PathBuf, source: std::io::Error },
    #[error("metrics.listen {addr}: {source}")]
    Metrics { addr: std::net::SocketAddr, source: std::io::Error },
}

/// What an operator running the daemon by hand can do about it.
fn hint(source: &std::io::Error) -> &'static str {
    match source.kind() {
        std::io::ErrorKind::PermissionDenied => {
            " (set api.socket, or WEBEX_HITL__API__SOCKET, to a path you may write, e.g. ./webex-hitl.sock)"
        }
        _ => "",
    }
}

impl BindError {
    /// Only an operator can fix it: a path that cannot be used, or a daemon already there.
    pub fn is_configuration(&self) -> bool {
        match self {
            BindError::InUse { .. } => true,
            BindError::Io { source, .. } => {
                matches!(source.kind(), std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::NotFound)
            }
            BindError::Metrics { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::PermissionDenied
                    | std::io::ErrorKind::AddrInUse
                    | std::io::ErrorKind::AddrNotAvailable
            ),
        }
    }
}

/// The TCP listener for `/metrics`, when `metrics.listen` asks for one.
pub async fn bind_metrics(listen: Option<std::net::SocketAddr>) -> Result<Option<tokio::net::TcpListener>, BindError> {
    let Some(addr) = listen else { return Ok(None) };
    tokio::net::TcpListener::bind(addr).await.map(Some).map_err(|source| BindError::Metrics { addr, source })
}

/// Binds the socket, replacing a stale file left by a crash but never one that
/// a live daemon still answers on, and gives it `api.socket_mode` and `api.socket_group`.
pub async fn bind(api: &ApiConfig) -> Result<UnixListener, BindError> {
    let path = api.socket.as_path();
    let io = |source| BindError::Io { path: path.to_owned(), source };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
        tokio::fs::create_dir_all(parent).await.map_err(io)?;
        tracing::info!(directory = %parent.display(), "created the directory of api.socket");
    }
    if path.exists() {
        if tokio::net::UnixStream::connect(path).await.is_ok() {
            return Err(BindError::InUse { path: path.to_owned() });
        }
        tokio::fs::remove_file(path).await.map_err(io)?;
    }
    let listener = UnixListener::bind(path).map_err(io)?;
    set_access(path, api).map_err(io)?;
    Ok(listener)
}

#[cfg(unix)]
fn set_access(path: &Path, api: &ApiConfig) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let invalid = |e: crate::config::ConfigError| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string());
    if let Some(gid) = api.group_id().map_err(invalid)? {
        std::os::unix::fs::chown(path, None, Some(gid))?;
    }
    let mode = api.mode().map_err(invalid)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

pub use serve::{serve, serve_on, Limits};
