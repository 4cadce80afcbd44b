//! Starting and stopping the simulator, and how its routes are layered.
//!
//! One loopback listener serves everything: `/v1` (REST), `/u2c`, `/wdm`,
//! `/conversation`, `/metrics`, the Mercury websocket and the `/_sim` control API, in plain
//! HTTP/ws or, with [`SimOptions::tls`], HTTPS/WSS on `https://localhost:PORT`.
//! `stop` ends every connection abruptly and hands back the world so that a
//! test can start again on the same port, as if Webex had restarted.

use super::errors::{not_found, require_token, track};
use super::faults::{fail_rest, fail_u2c, fail_wdm};
use super::handle::{Shared, SimHandle};
use super::settings::{Settings, DEFAULT_AUTH_TIMEOUT, DEFAULT_REPLAY_WINDOW};
use super::tls::{SimTls, TlsListener};
use super::world::World;
use super::{catalog, control, mercury, rest, telemetry, wdm};
use axum::middleware::from_fn_with_state;
use axum::Router;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How long `stop` waits for in-flight HTTP requests before cutting them off.
const STOP_GRACE: Duration = Duration::from_secs(5);

pub struct SimOptions {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The bot token the simulator accepts.
    pub token: String,
    /// Start from a previous simulator's world (see [`Simulator::stop`]).
    pub state: Option<SimState>,
    /// Serve HTTPS/WSS with this certificate instead of plain HTTP/ws; every
    /// URL handed out then reads `https://localhost:PORT` (or `wss://`).
    pub tls: Option<SimTls>,
    /// How long Mercury redelivers unacked frames (15 minutes, as observed).
    pub replay_window: Duration,
    /// How long a websocket may stay unauthorized before it is closed (30 s).
    pub auth_timeout: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            token: "sim-token".to_owned(),
            state: None,
            tls: None,
            replay_window: DEFAULT_REPLAY_WINDOW,
            auth_timeout: DEFAULT_AUTH_TIMEOUT,
        }
    }
}

/// The world of a stopped simulator: people, rooms, memberships, messages,
/// devices and their unacked frames. Opaque; only good for a restart.
#[derive(Clone)]
pub struct SimState {
    world: World,
}

impl std::fmt::Debug for SimState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimState")
            .field("rooms", &self.world.room_count())
            .field("devices", &self.world.devices().len())
            .finish()
    }
}

pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: Option<JoinHandle<std::io::Result<()>>>,
}

fn router(s: Arc<Shared>) -> Router {
    let auth = from_fn_with_state(s.clone(), require_token);
    let v1 = rest::v1_routes().layer(auth.clone()).layer(from_fn_with_state(s.clone(), fail_rest));
    let wdm = wdm::wdm_routes().layer(auth.clone()).layer(from_fn_with_state(s.clone(), fail_wdm));
    let u2c = catalog::routes().layer(auth.clone()).merge(catalog::public_routes());
    let metrics = telemetry::routes().layer(auth.clone()).merge(telemetry::public_routes());
    Router::new()
        .nest("/v1", v1)
        .nest("/u2c/api/v1", u2c.layer(from_fn_with_state(s.clone(), fail_u2c)))
        .nest("/wdm/api/v1", wdm)
        .nest("/metrics/api/v1", metrics)
        .nest("/conversation/api/v1", rest::conversation_routes().layer(auth))
        .nest("/_sim", control::routes())
        .merge(mercury::routes())
        .fallback(not_found)
        .layer(from_fn_with_state(s.clone(), track))
        .with_state(s)
}

/// The scheme and host of every URL the simulator hands out. With TLS the host
/// is `localhost`, the name a test certificate carries, whatever the address.
fn base_url(addr: SocketAddr, tls: bool) -> String {
    if tls {
        format!("https://localhost:{}", addr.port())
    } else {
        format!("http://{addr}")
    }
}

/// A second name for the same listener (`localhost` for `127.0.0.1`, and back
/// with TLS, whose test certificate carries both), for the migrated cluster's
/// conversation host. Another address has no second name: then it is `base`.
fn other_url(addr: SocketAddr, tls: bool) -> String {
    match (tls, addr.ip() == Ipv4Addr::LOCALHOST) {
        (true, _) => format!("https://127.0.0.1:{}", addr.port()),
        (false, true) => format!("http://localhost:{}", addr.port()),
        (false, false) => base_url(addr, false),
    }
}

impl Simulator {
    pub async fn start(opts: SimOptions) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind(opts.listen).await?;
        let mut addr = listener.local_addr()?;
        if addr.ip().is_unspecified() {
            addr.set_ip(Ipv4Addr::LOCALHOST.into());
        }
        let acceptor = opts.tls.as_ref().map(SimTls::acceptor).transpose()?;
        let world = opts.state.map(|s| s.world).unwrap_or_default();
        let tls = acceptor.is_some();
        let settings = Settings::new(opts.replay_window, opts.auth_timeout);
        let shared = Arc::new(Shared::new(world, base_url(addr, tls), other_url(addr, tls), opts.token, settings));
        let app = router(shared.clone());
        let cancel = shared.cancel.clone();
        let stopped = async move { cancel.cancelled().await };
        let server = match acceptor {
            Some(acceptor) => {
                let listener = TlsListener::new(listener, acceptor);
                tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stopped).await })
            }
            None => tokio::spawn(async move { axum::serve(listener, app).with_graceful_shutdown(stopped).await }),
        };
        tracing::info!(%addr, base = %shared.base, "Webex simulator listening");
        Ok(Simulator { addr, shared, server: Some(server) })
    }

    pub fn handle(&self) -> SimHandle {
        SimHandle { shared: self.shared.clone() }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(crate) fn base_url(&self) -> String {
        self.shared.base.clone()
    }

    pub fn api_url(&self) -> String {
        format!("{}/v1", self.shared.base)
    }

    pub fn u2c_url(&self) -> String {
        format!("{}/u2c/api/v1", self.shared.base)
    }

    pub fn wdm_url(&self) -> String {
        format!("{}/wdm/api/v1", self.shared.base)
    }

    /// Whether the simulator serves HTTPS/WSS.
    pub fn is_tls(&self) -> bool {
        self.shared.base.starts_with("https://")
    }

    /// The `[webex]` lines a daemon config needs to talk to this simulator.
    pub fn config_lines(&self) -> String {
        format!("[webex]\napi_url = \"{}\"\nu2c_url = \"{}\"\n", self.api_url(), self.u2c_url())
    }

    /// Closes every socket abruptly, stops listening, returns the world.
    pub async fn stop(mut self) -> SimState {
        self.shared.cancel.cancel();
        if let Some(mut server) = self.server.take() {
            if tokio::time::timeout(STOP_GRACE, &mut server).await.is_err() {
                server.abort();
            }
        }
        self.shared.tasks.close();
        self.shared.tasks.wait().await;
        SimState { world: self.shared.read().clone() }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        // Dropped without `stop`: still end the server and every connection.
        self.shared.cancel.cancel();
    }
}
