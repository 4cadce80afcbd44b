//! `webex-hitl serve`: wires the Webex clients, the Mercury link, the event
//! dispatcher and the socket API together under one shutdown token.
//!
//! Every task is spawned into one `JoinSet`, so none can outlive the daemon; the
//! first task to fail cancels the rest, and its error decides the exit code.

use crate::api::{self, health::BotIdentity, AppState, BindError};
use crate::backoff::Backoff;
use crate::config::{Config, ConfigError, EXIT_CONFIG};
use crate::dispatch::{self, Dispatcher, EventCounts, Handler};
use crate::escalation::answer::AnswerHandler;
use crate::escalation::delivery::Deliverer;
use crate::escalation::expiry;
use crate::escalation::service::Escalations;
use crate::escalation::signature::Signer;
use crate::escalation::Context;
use crate::metrics::Metrics;
use crate::secret::SharedSecret;
use crate::spaces::{self, Spaces};
use crate::store::{retention, Store, StoreError};
use crate::systemd;
use crate::webex::ids;
use crate::webex::mercury::connection::{Connection, MercuryError, Settings};
use crate::webex::mercury::link::{Heartbeat, Inbound, LinkState};
use crate::webex::mercury::machine::Timing;
use crate::webex::mercury::transport::Dialer;
use crate::webex::proxy::ProxyRules;
use crate::webex::rest::{Person, RestClient, RestError, RetryKind, RetryPolicy};
use crate::webex::tls::{self, HttpOptions, TlsError};
use crate::webex::wdm::DeviceManager;
use rand::SeedableRng;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("configuration error: {0}")]
    Config(#[from] ConfigError),
    #[error("configuration error: {0}")]
    Tls(#[from] TlsError),
    #[error("Webex rejected the bot token ({detail}). The token is invalid, revoked, or was regenerated in the Webex Developer Portal (regenerating kills the old one). Put the current bot token in webex.token_file, WEBEX_HITL_TOKEN or the webex-token credential, then restart.")]
    TokenInvalid { detail: String },
    #[error("cannot serve the API socket: {0}")]
    Bind(#[from] BindError),
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Fatal(String),
}

impl DaemonError {
    /// 78 (EX_CONFIG) for what only an operator can fix, so systemd stops retrying.
    pub fn exit_code(&self) -> i32 {
        match self {
            DaemonError::Config(_) | DaemonError::Tls(_) | DaemonError::TokenInvalid { .. } | DaemonError::Store(_) => {
                EXIT_CONFIG
            }
            DaemonError::Bind(_) | DaemonError::Fatal(_) => 1,
        }
    }
}

/// The Webex-facing clients, built once from the configuration.
#[derive(Clone)]
struct Clients {
    rest: RestClient,
    devices_factory: DevicesFactory,
    dialer: Dialer,
    token: SharedSecret,
}

#[derive(Clone)]
struct DevicesFactory {
    rest: RestClient,
    u2c_url: String,
    wdm_url: Option<String>,
    device_name: String,
}

impl DevicesFactory {
    fn build(&self) -> DeviceManager {
        DeviceManager::new(self.rest.transport().clone(), &self.u2c_url, self.wdm_url.as_deref(), &self.device_name)
    }
}

fn clients(config: &Config) -> Result<Clients, DaemonError> {
    let token = SharedSecret::new(config.load_token()?.0);
    let tls = tls::client_config(config.webex.ca_file.as_deref())?;
    let proxy =
        ProxyRules::new(config.webex.proxy.as_deref()).map_err(|e| ConfigError::new("webex.proxy", e.to_string()))?;
    let http = tls::http_client(&HttpOptions::new(proxy.clone()), tls.clone())?;
    let rest = RestClient::new(http, &config.webex.api_url, token.clone(), RetryPolicy::default())
        .map_err(|e| ConfigError::new("webex.api_url", e.to_string()))?;
    let devices_factory = DevicesFactory {
        rest: rest.clone(),
        u2c_url: config.webex.u2c_url.clone(),
        wdm_url: config.webex.wdm_url.clone(),
        device_name: config.webex.device_name.clone(),
    };
    Ok(Clients { rest, devices_factory, dialer: Dialer::new(tls, proxy), token })
}

/// The REST client and device manager exactly as `serve` builds them, for `doctor`.
pub(crate) fn webex_clients(config: &Config) -> Result<(RestClient, DeviceManager), DaemonError> {
    let clients = clients(config)?;
    Ok((clients.rest, clients.devices_factory.build()))
}

/// A daemon that has bound its socket and validated its token.
pub struct Running {
    pub socket: PathBuf,
    pub bot: BotIdentity,
    /// The token every Webex client uses; replace it to rotate the token live.
    pub token: SharedSecret,
    tasks: JoinSet<Result<(), DaemonError>>,
    shutdown: CancellationToken,
}

/// How long the tasks get to end on their own once shutdown began (a REST call
/// waiting out `Retry-After`, a long poll, a dial); then they are aborted, well
/// within systemd's `TimeoutStopSec`. Aborting loses nothing: an unacked frame
/// is redelivered by Mercury and the outbox is durable.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Where shutting down is.
#[derive(Clone, Copy)]
enum Stopping {
    No,
    Since(tokio::time::Instant),
    Aborted,
}

impl Running {
    /// Waits until shutdown or the first fatal error, then for every task:
    /// [`SHUTDOWN_GRACE`] at most before the rest are aborted.
    pub async fn wait(mut self) -> Result<(), DaemonError> {
        let mut outcome = Ok(());
        let mut stopping = Stopping::No;
        loop {
            let joined = tokio::select! {
                joined = self.tasks.join_next() => match joined {
                    Some(joined) => joined,
                    None => break,
                },
                () = self.shutdown.cancelled(), if matches!(stopping, Stopping::No) => {
                    stopping = Stopping::Since(tokio::time::Instant::now());
                    continue;
                }
                () = grace_over(stopping) => {
                    tracing::warn!(busy = self.tasks.len(), "still busy {SHUTDOWN_GRACE:?} after shutdown began: aborting");
                    self.tasks.abort_all();
                    stopping = Stopping::Aborted;
                    continue;
                }
            };
            if let Err(error) = task_result(joined) {
                tracing::error!(%error, "stopping");
                self.shutdown.cancel();
                outcome = outcome.and(Err(error));
            }
        }
        // The API task removes its socket when it ends, unless it was aborted.
        let _ = std::fs::remove_file(&self.socket);
        outcome
    }
}

async fn grace_over(stopping: Stopping) {
    match stopping {
        Stopping::Since(at) => tokio::time::sleep_until(at + SHUTDOWN_GRACE).await,
        Stopping::No | Stopping::Aborted => std::future::pending().await,
    }
}

/// A task aborted at shutdown ended as intended; one that panicked did not.
fn task_result(joined: Result<Result<(), DaemonError>, tokio::task::JoinError>) -> Result<(), DaemonError> {
    match joined {
        Ok(result) => result,
        Err(error) if error.is_cancelled() => Ok(()),
        Err(error) => Err(DaemonError::Fatal(format!("a daemon task panicked: {error}"))),
    }
}

/// What every part of the running daemon shares.
struct Shared {
    config: Config,
    clients: Clients,
    store: Store,
    spaces: Spaces,
    /// The handles of the escalation logic (store, Webex, signer, metrics…).
    escalations: Context,
    metrics: Arc<Metrics>,
    link: watch::Sender<LinkState>,
    shutdown: CancellationToken,
}

/// Starts everything; returns once the API answers and the token is known good.
pub async fn start(config: Config, shutdown: CancellationToken) -> Result<Running, DaemonError> {
    let shared = open(config, shutdown).await?;
    let listener = api::bind(&shared.config.api).await?;
    let (bot_tx, bot_rx) = watch::channel(None);
    let (counts_tx, counts_rx) = watch::channel(Default::default());
    let mut tasks = JoinSet::new();
    let socket = shared.config.api.socket.clone();
    let app = api::access::protect(router(&shared, bot_rx, counts_rx), &shared.config.api, shared.store.clone());
    tasks.spawn(serve_api(listener, socket.clone(), app, shared.shutdown.clone()));

    systemd::status("validating the bot token…");
    let me = match validate_token(&shared.clients.rest, &shared.shutdown).await {
        Ok(me) => me,
        Err(error) => {
            shared.shutdown.cancel();
            if tokio::time::timeout(SHUTDOWN_GRACE, async { while tasks.join_next().await.is_some() {} }).await.is_err()
            {
                tasks.shutdown().await;
            }
            return Err(error);
        }
    };
    let bot =
        BotIdentity { id: me.id.clone(), email: me.primary_email().map(str::to_owned), name: me.display_name.clone() };
    tracing::info!(bot = %bot.name, email = ?bot.email, "bot token is valid");
    let _ = bot_tx.send(Some(bot.clone()));
    let bot_uuid = ids::uuid_of(&me.id).unwrap_or_else(|| me.id.clone());
    spawn_chores(&shared, &mut tasks);
    spawn_event_path(&shared, &mut tasks, &bot, bot_uuid, counts_tx);
    // The store is open, the socket bound and the token valid: ready for systemd.
    systemd::ready();
    let token = shared.clients.token.clone();
    Ok(Running { socket, bot, token, tasks, shutdown: shared.shutdown })
}

/// Builds the clients and opens the store: everything that can fail on bad configuration.
async fn open(config: Config, shutdown: CancellationToken) -> Result<Shared, DaemonError> {
    let metrics = Arc::new(Metrics::new());
    let mut clients = clients(&config)?;
    clients.rest = clients.rest.observed(metrics.clone()).stopped_by(shutdown.clone());
    clients.devices_factory.rest = clients.rest.clone();
    let store = Store::open(&config.store.path).await?;
    let signer = Arc::new(Signer::new(store.signing_key().await?));
    let spaces = Spaces::new(clients.rest.clone(), store.clone());
    let escalations = Context {
        store: store.clone(),
        rest: clients.rest.clone(),
        spaces: spaces.clone(),
        signer,
        metrics: metrics.clone(),
        config: config.escalations.clone(),
    };
    let (link, _) = watch::channel(LinkState::default());
    Ok(Shared { config, clients, store, spaces, escalations, metrics, link, shutdown })
}

fn router(
    shared: &Shared,
    bot: watch::Receiver<Option<BotIdentity>>,
    counts: watch::Receiver<EventCounts>,
) -> axum::Router {
    api::router(AppState {
        link: shared.link.subscribe(),
        bot,
        counts,
        store: shared.store.clone(),
        spaces: shared.spaces.clone(),
        escalations: Escalations::new(shared.escalations.clone()),
        rest: shared.clients.rest.clone(),
        metrics: shared.metrics.clone(),
        shutdown: shared.shutdown.clone(),
    })
}

/// Resync, connection events, retention, card delivery and expiry.
fn spawn_chores(shared: &Shared, tasks: &mut JoinSet<Result<(), DaemonError>>) {
    let (store, shutdown) = (&shared.store, &shared.shutdown);
    let resync_every = Duration::from_secs_f64(shared.config.spaces.resync_interval_s);
    let retention = Duration::from_secs_f64(shared.config.store.event_retention_days * 86_400.0);
    let link = shared.link.subscribe();
    tasks.spawn(chore(spaces::keep_in_sync(shared.spaces.clone(), resync_every, link, shutdown.clone())));
    tasks.spawn(chore(dispatch::record_link_changes(store.clone(), shared.link.subscribe(), shutdown.clone())));
    tasks.spawn(chore(retention::prune_periodically(store.clone(), retention, shutdown.clone())));
    tasks.spawn(chore(Deliverer::new(shared.escalations.clone()).run(shutdown.clone())));
    tasks.spawn(chore(expiry::run(store.clone(), shutdown.clone())));
}

/// The Mercury link, the systemd watchdog that watches it, and the dispatcher
/// that handles what it delivers.
fn spawn_event_path(
    shared: &Shared,
    tasks: &mut JoinSet<Result<(), DaemonError>>,
    bot: &BotIdentity,
    bot_uuid: String,
    counts: watch::Sender<EventCounts>,
) {
    let shutdown = &shared.shutdown;
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let heartbeat = Heartbeat::new();
    let watched = systemd::Supervision {
        watchdog: systemd::watchdog_interval(),
        heartbeat: heartbeat.clone(),
        link: shared.link.subscribe(),
        bot: bot.name.clone(),
    };
    tasks.spawn(chore(systemd::supervise(watched, systemd::send, shutdown.clone())));
    let link = Link { clients: shared.clients.clone(), config: shared.config.clone(), bot_uuid: bot_uuid.clone() };
    tasks.spawn(supervise_link(link, events_tx, shared.link.clone(), heartbeat, shutdown.clone()));
    let answers = AnswerHandler::new(shared.escalations.clone(), bot_uuid);
    let handler = Handler {
        counts,
        store: shared.store.clone(),
        spaces: shared.spaces.clone(),
        answers,
        metrics: shared.metrics.clone(),
    };
    let dispatcher = Dispatcher { events: events_rx, handler };
    tasks.spawn(chore(dispatcher.run(shutdown.clone())));
}

/// A task that cannot fail on its own, in the `JoinSet`'s terms.
async fn chore(work: impl std::future::Future<Output = ()>) -> Result<(), DaemonError> {
    work.await;
    Ok(())
}

pub async fn run(config: Config, shutdown: CancellationToken) -> Result<(), DaemonError> {
    start(config, shutdown).await?.wait().await
}

async fn serve_api(
    listener: tokio::net::UnixListener,
    path: PathBuf,
    app: axum::Router,
    shutdown: CancellationToken,
) -> Result<(), DaemonError> {
    api::serve(listener, path, app, shutdown).await.map_err(|e| DaemonError::Fatal(format!("API socket failed: {e}")))
}

/// `GET /people/me`, retried while Webex is unreachable; a 401 is final.
async fn validate_token(rest: &RestClient, shutdown: &CancellationToken) -> Result<Person, DaemonError> {
    let mut backoff = Backoff::default();
    let mut rng = rand::rngs::StdRng::from_os_rng();
    loop {
        let answer = tokio::select! {
            answer = rest.me() => answer,
            () = shutdown.cancelled() => return Err(shut_down_while_validating()),
        };
        let error = match answer {
            Ok(me) => return Ok(me),
            Err(RestError::Unauthorized { message, .. }) => {
                return Err(DaemonError::TokenInvalid { detail: format!("401: {message}") })
            }
            Err(RestError::BadRequest { status: 407, .. }) => {
                let message = "the proxy refused our credentials (407 Proxy Authentication Required): \
                    check the user and password in webex.proxy (or HTTPS_PROXY)";
                return Err(ConfigError::new("webex.proxy", message).into());
            }
            Err(error) if matches!(error.retry_kind(), RetryKind::Permanent) => {
                return Err(DaemonError::Fatal(format!("cannot validate the bot token: {error}")))
            }
            Err(error) => error,
        };
        let delay = backoff.next_delay(&mut rng);
        tracing::warn!(%error, ?delay, "cannot reach Webex to validate the bot token; retrying");
        tokio::select! {
            _ = shutdown.cancelled() => return Err(shut_down_while_validating()),
            _ = tokio::time::sleep(delay) => {}
        }
    }
}

/// What the Mercury supervisor needs to build a connection.
struct Link {
    clients: Clients,
    config: Config,
    bot_uuid: String,
}

impl Link {
    fn connection(
        &self,
        events: &mpsc::UnboundedSender<Inbound>,
        state: &watch::Sender<LinkState>,
        heartbeat: &Heartbeat,
    ) -> Connection {
        let webex = &self.config.webex;
        let backoff =
            Backoff::new(Duration::from_secs_f64(webex.backoff_base_s), Duration::from_secs_f64(webex.backoff_cap_s));
        Connection {
            devices: self.clients.devices_factory.build(),
            dialer: self.clients.dialer.clone(),
            token: self.clients.token.clone(),
            settings: Settings { timing: timing(&self.config), backoff, bot_uuid: self.bot_uuid.clone() },
            events: events.clone(),
            state: state.clone(),
            heartbeat: heartbeat.clone(),
        }
    }
}

/// Keeps a Mercury connection running. A refused token is checked over REST:
/// a 401 there ends the daemon with the clear message; anything else retries.
async fn supervise_link(
    link: Link,
    events: mpsc::UnboundedSender<Inbound>,
    state: watch::Sender<LinkState>,
    heartbeat: Heartbeat,
    shutdown: CancellationToken,
) -> Result<(), DaemonError> {
    let cap = Duration::from_secs_f64(link.config.webex.backoff_cap_s);
    let rest = link.clients.rest.clone();
    loop {
        let connection = link.connection(&events, &state, &heartbeat);
        match connection.run(shutdown.clone()).await {
            Ok(()) => return Ok(()),
            Err(MercuryError::TokenRejected) => {
                if let Err(RestError::Unauthorized { message, .. }) = heartbeat.cover(rest.me()).await {
                    return Err(DaemonError::TokenInvalid { detail: format!("401: {message}") });
                }
                tracing::warn!("Mercury refused the token but REST accepts it; retrying");
            }
            Err(MercuryError::Fatal(message)) => {
                tracing::error!(%message, "Mercury refused this device; retrying slowly")
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = heartbeat.cover(tokio::time::sleep(cap)) => {}
        }
    }
}

/// The Mercury heartbeat and readiness timings, from `webex.*_s`.
fn timing(config: &Config) -> Timing {
    let webex = &config.webex;
    Timing {
        ping_interval: Duration::from_secs_f64(webex.ping_interval_s),
        pong_timeout: Duration::from_secs_f64(webex.pong_timeout_s),
        ready_timeout: Duration::from_secs_f64(webex.ready_timeout_s),
    }
}

fn shut_down_while_validating() -> DaemonError {
    DaemonError::Fatal("shut down before the token was validated".into())
}
