//! `webex-hitl serve`: wires the Webex clients, the Mercury link, the event
//! dispatcher and the socket API together under one shutdown token.
//!
//! Every task is spawned into one `JoinSet`, so none can outlive the daemon; the
//! first task to fail cancels the rest, and its error decides the exit code.
//! - [`clients`]: the Webex clients built from the configuration, and the token check;
//! - [`link`]: the supervisor that keeps a Mercury connection running;
//! - [`running`]: the started daemon, and how its tasks end.

mod clients;
mod link;
mod running;

pub(crate) use clients::{rest_with_token, webex_clients};
pub use running::{Running, SHUTDOWN_GRACE};

use crate::api::{self, health::BotIdentity, AppParts, AppState, BindError};
use crate::config::{Config, ConfigError, StoreBackend, EXIT_CONFIG};
use crate::dispatch::{self, Dispatcher, EventCounts, Handler};
use crate::escalation::answer::AnswerHandler;
use crate::escalation::delivery::{Deliverer, Stalled};
use crate::escalation::outage::OutageWatch;
use crate::escalation::service::Escalations;
use crate::escalation::signature::Signer;
use crate::escalation::timers;
use crate::escalation::Context;
use crate::leader::Election;
use crate::metrics::build_info::VERSION_LINE;
use crate::metrics::Metrics;
use crate::spaces::{self, Spaces};
use crate::store::{retention, Backend, InstanceLock, Leadership, Store, StoreError};
use crate::systemd;
use crate::webex::ids;
use crate::webex::mercury::link::{Heartbeat, LinkState};
use crate::webex::rest::RetryPolicy;
use crate::webex::tls::TlsError;
use crate::webex::token::{TokenKeeper, TokenWatch};
use clients::{validate_token, Clients};
use link::{supervise_link, Link};
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
            // A PostgreSQL server that is down or restarting: systemd tries again.
            DaemonError::Store(error) if error.is_transient() => 1,
            DaemonError::Config(_) | DaemonError::Tls(_) | DaemonError::TokenInvalid { .. } | DaemonError::Store(_) => {
                EXIT_CONFIG
            }
            DaemonError::Bind(error) if error.is_configuration() => EXIT_CONFIG,
            DaemonError::Bind(_) | DaemonError::Fatal(_) => 1,
        }
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
    /// Set while the outbox is stopped because the store refuses writes.
    outbox: watch::Sender<Option<Stalled>>,
    /// The bot token, replaced only once Webex accepted the new one.
    token: TokenKeeper,
    /// This daemon's claim on a SQLite store, for its whole life (a
    /// PostgreSQL store is shared by design).
    lock: Option<InstanceLock>,
    /// The event log's epoch, fixed for the store's life.
    epoch: Arc<str>,
    shutdown: CancellationToken,
}

/// Starts everything; returns once the API answers and the token is known good.
pub async fn start(config: Config, shutdown: CancellationToken) -> Result<Running, DaemonError> {
    // Boxed: a caller that awaits `start` inside a larger future (a test, `run`)
    // would otherwise carry this state machine on its stack.
    Box::pin(start_boxed(config, shutdown)).await
}

async fn start_boxed(config: Config, shutdown: CancellationToken) -> Result<Running, DaemonError> {
    let shared = open(config, shutdown).await?;
    let listener = api::bind(&shared.config.api).await?;
    let (bot_tx, bot_rx) = watch::channel(None);
    let (counts_tx, counts_rx) = watch::channel(Default::default());
    let mut tasks = JoinSet::new();
    let socket = shared.config.api.socket.clone();
    let metrics_listener = api::bind_metrics(shared.config.metrics.listen).await?;
    let state = app_state(&shared, bot_rx, counts_rx);
    let app = api::access::protect(api::router(state.clone()), &shared.config.api, shared.store.clone());
    let limits = api::Limits::new(shared.config.api.max_connections, raise_fd_limit(), API_HEADER_TIMEOUT);
    tracing::debug!(?limits, "API connection limits");
    tasks.spawn(serve_api(listener, socket.clone(), app, limits, shared.shutdown.clone()));
    if let Some(listener) = metrics_listener {
        let at = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
        tracing::info!(url = %format!("http://{at}/metrics"), "serving /metrics on TCP (metrics.listen)");
        let limits = api::Limits::new(METRICS_CONNECTIONS, u64::MAX, API_HEADER_TIMEOUT);
        tasks.spawn(serve_metrics(listener, api::metrics_router(state), limits, shared.shutdown.clone()));
    }
    tracing::info!(socket = %socket.display(), store = %shared.config.store.path.display(), version = VERSION_LINE,
        "serving the API");

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
    shared.token.pin_bot(&me.id);
    shared.spaces.know_bot(&me.id);
    let _ = bot_tx.send(Some(bot.clone()));
    let bot_uuid = ids::uuid_of(&me.id).unwrap_or_else(|| me.id.clone());
    spawn_chores(&shared, &mut tasks);
    spawn_event_path(&shared, &mut tasks, &bot, bot_uuid, counts_tx);
    // The store is open, the socket bound and the token valid: ready for systemd.
    systemd::ready();
    let token = shared.token.clone();
    Ok(Running { socket, bot, token, tasks, shutdown: shared.shutdown, _lock: shared.lock })
}

/// Builds the clients and opens the store: everything that can fail on bad configuration.
async fn open(config: Config, shutdown: CancellationToken) -> Result<Shared, DaemonError> {
    let metrics = Arc::new(Metrics::new());
    let (link, _) = watch::channel(LinkState::default());
    let mut clients = clients::clients(&config)?;
    let token_watch = Arc::new(TokenWatch::new(link.clone()));
    clients.rest = clients.rest.observed(metrics.clone()).observed(token_watch).stopped_by(shutdown.clone());
    clients.devices_factory.rest = clients.rest.clone();
    let token = TokenKeeper::new(clients.token.clone(), clients.rest.clone(), link.clone());
    let (lock, store) = open_store(&config).await?;
    let signer = Arc::new(Signer::new(store.signing_key().await?));
    let epoch = store.epoch().await?.into();
    let spaces = Spaces::new(clients.rest.clone(), store.clone());
    let escalations = Context {
        store: store.clone(),
        rest: clients.rest.clone(),
        spaces: spaces.clone(),
        signer,
        metrics: metrics.clone(),
        config: config.escalations.clone(),
    };
    let (outbox, _) = watch::channel(None);
    Ok(Shared { config, clients, store, spaces, escalations, metrics, link, outbox, token, lock, epoch, shutdown })
}

/// The configured store, and the lock that keeps a SQLite file to one daemon.
async fn open_store(config: &Config) -> Result<(Option<InstanceLock>, Store), DaemonError> {
    let store = &config.store;
    match (store.backend, &store.url) {
        (StoreBackend::Postgres, Some(url)) => {
            let instance = &config.webex.device_name;
            let opened = Store::open_postgres(url, store.schema.as_deref(), instance).await?;
            tracing::info!(instance = %instance, schema = ?store.schema, "store: PostgreSQL, shared with other instances");
            Ok((None, opened))
        }
        (StoreBackend::Postgres, None) => Err(ConfigError::new("store.url", "is required").into()),
        (StoreBackend::Sqlite, _) => {
            let lock = InstanceLock::acquire(&store.path)?;
            Ok((Some(lock), Store::open(&store.path).await?))
        }
    }
}

fn app_state(
    shared: &Shared,
    bot: watch::Receiver<Option<BotIdentity>>,
    counts: watch::Receiver<EventCounts>,
) -> AppState {
    // An engine waits on these calls: Webex's rate limits reach it as 503 with
    // Retry-After rather than as a minute of silence.
    let rest = shared.clients.rest.with_policy(RetryPolicy::for_callers_waiting());
    let escalations = Context { rest: rest.clone(), ..shared.escalations.clone() };
    AppParts {
        link: shared.link.subscribe(),
        outbox: shared.outbox.subscribe(),
        bot,
        counts,
        store: shared.store.clone(),
        spaces: shared.spaces.clone(),
        escalations: Escalations::new(escalations),
        rest,
        metrics: shared.metrics.clone(),
        epoch: shared.epoch.clone(),
        token: shared.token.clone(),
        shutdown: shared.shutdown.clone(),
    }
    .into()
}

/// Resync, connection events, retention, card delivery, deadlines and reminders.
fn spawn_chores(shared: &Shared, tasks: &mut JoinSet<Result<(), DaemonError>>) {
    let (store, shutdown) = (&shared.store, &shared.shutdown);
    let resync_every = shared.config.spaces.resync_interval();
    let retention = shared.config.store.event_retention();
    let link = shared.link.subscribe();
    // A SQLite store has one instance (its lock says so): it leads, unelected.
    let leader = match store.backend() {
        Backend::Sqlite => Leadership::alone(),
        Backend::Postgres => {
            let (election, leader) = Election::new(store.clone(), shared.metrics.clone());
            tasks.spawn(chore(election.run(shutdown.clone())));
            leader
        }
    };
    let sync = spaces::keep_in_sync(shared.spaces.clone(), resync_every, link, leader.clone(), shutdown.clone());
    tasks.spawn(chore(sync));
    tasks.spawn(chore(dispatch::record_link_changes(store.clone(), shared.link.subscribe(), shutdown.clone())));
    let outages = OutageWatch { ctx: shared.escalations.clone(), replay_window: shared.config.webex.replay_window() };
    tasks.spawn(chore(outages.run(shared.link.subscribe(), shutdown.clone())));
    tasks.spawn(chore(retention::prune_periodically(store.clone(), retention, leader, shutdown.clone())));
    tasks.spawn(chore(Deliverer::new(shared.escalations.clone(), shared.outbox.clone()).run(shutdown.clone())));
    tasks.spawn(chore(timers::run(shared.escalations.clone(), shutdown.clone())));
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
    let answers = AnswerHandler::new(shared.escalations.clone(), bot_uuid).with_link(shared.link.subscribe());
    let handler = Handler {
        counts,
        store: shared.store.clone(),
        spaces: shared.spaces.clone(),
        answers,
        metrics: shared.metrics.clone(),
        retry: shared.config.webex.reconnect_backoff(),
        unfamiliar: Default::default(),
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
    limits: api::Limits,
    shutdown: CancellationToken,
) -> Result<(), DaemonError> {
    api::serve(listener, path, app, limits, shutdown).await;
    Ok(())
}

async fn serve_metrics(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    limits: api::Limits,
    shutdown: CancellationToken,
) -> Result<(), DaemonError> {
    api::serve_on(listener, app, limits, shutdown).await;
    Ok(())
}

/// Scrapers connect one or two at a time; this many is plenty, and bounded.
const METRICS_CONNECTIONS: usize = 16;

/// A client has this long to send a request head (and a kept-alive connection
/// may idle this long) before the API closes it.
const API_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Lifts the soft limit on open files to the hard one (systemd's default soft
/// limit is 1024, the hard one far higher) and returns the limit in force.
fn raise_fd_limit() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else { return 1024 };
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return hard;
    }
    soft
}
