//! The I/O half of `doctor`: load the configuration, ask Webex (with the
//! clients `serve` would build) and the running daemon (over its socket).
//! Every step may fail; a failure is a fact, never an early exit.

use super::facts::{Bot, Counted, Daemon, Facts, Setup, SpaceProbe, WebexFailure};
use super::Options;
use crate::api::health::Health;
use crate::api::spaces::SpaceList;
use crate::cli::client::ApiClient;
use crate::config::Config;
use crate::store::Space;
use crate::webex::proxy::ProxyRules;
use crate::webex::rest::{Person, RestClient, RestError, RoomQuery};
use crate::webex::tls;
use crate::webex::wdm::DeviceManager;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::time::Duration;

/// Long enough for Webex's retries on a slow link, short enough for a human.
const WEBEX_WAIT: Duration = Duration::from_secs(20);
const DAEMON_WAIT: Duration = Duration::from_secs(5);

pub async fn gather(options: &Options) -> Facts {
    let mut facts = Facts { now: chrono::Utc::now(), ..Facts::default() };
    let file = Config::operator_file(options.config.as_deref());
    let config = match Config::load(file.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            facts.config = Some(Err(error.to_string()));
            return facts;
        }
    };
    facts.config = Some(Ok(setup(&config, file.as_deref())));
    facts.token = Some(config.load_token().map(|(_, source)| source.to_string()).map_err(|e| e.to_string()));
    if let Some(file) = &config.webex.ca_file {
        facts.ca = Some(tls::client_config(Some(file)).map(|_| ()).map_err(|e| e.to_string()));
    }
    let webex = match facts.token {
        Some(Ok(_)) => match crate::daemon::webex_clients(&config) {
            Ok(clients) => Some(clients),
            Err(error) => {
                facts.me = Some(Err(WebexFailure::Other(error.to_string())));
                None
            }
        },
        _ => None,
    };
    let socket = options.socket.clone().unwrap_or_else(|| config.api.socket.clone());
    let api = ApiClient::new(&socket);
    facts.daemon = Some(daemon(&api, &socket.display().to_string()).await);
    let daemon_up = matches!(facts.daemon, Some(Ok(_)));
    if let Some((rest, devices)) = &webex {
        facts.me = Some(me(rest).await);
        if matches!(facts.me, Some(Ok(_))) {
            facts.devices = Some(count_devices(devices).await);
        }
    } else if let (Some(Err(_)), Some(Ok(daemon))) = (&facts.token, &facts.daemon) {
        // systemd's credential is private to the unit: the daemon knows best.
        facts.me = daemons_token(daemon);
        facts.me_from_daemon = facts.me.is_some();
    }
    let rest = webex.as_ref().map(|(rest, _)| rest).filter(|_| matches!(facts.me, Some(Ok(_))));
    facts.spaces = match (daemon_up, rest) {
        (true, _) => Some(spaces_from_daemon(&api).await),
        (false, Some(rest)) => Some(spaces_from_webex(rest).await),
        (false, None) => None,
    };
    if let Some(id) = &options.space {
        facts.space = Some(match (daemon_up, rest) {
            (true, _) => space_from_daemon(&api, id).await,
            (false, Some(rest)) => space_from_webex(rest, id).await,
            (false, None) => {
                SpaceProbe::Error { id: id.clone(), message: "neither the daemon nor Webex answers".into() }
            }
        });
    }
    facts
}

/// What the daemon says of its own token; `None` before it validated one.
fn daemons_token(daemon: &Daemon) -> Option<Result<Bot, WebexFailure>> {
    match (&daemon.token_rejected, &daemon.bot) {
        (Some((_, detail)), _) => Some(Err(WebexFailure::Rejected(detail.clone()))),
        (None, Some(bot)) => Some(Ok(bot.clone())),
        (None, None) => None,
    }
}

fn setup(config: &Config, file: Option<&std::path::Path>) -> Setup {
    let proxy = match ProxyRules::new(config.webex.proxy.as_deref()) {
        Ok(rules) => reqwest::Url::parse(&config.webex.api_url)
            .ok()
            .and_then(|url| rules.for_target(&url))
            .map(|spec| format!("http://{}", spec.display())),
        Err(error) => Some(format!("unusable proxy setting: {error}")),
    };
    Setup {
        source: file.map_or("defaults and environment".to_owned(), |p| p.display().to_string()),
        socket: config.api.socket.display().to_string(),
        api_url: config.webex.api_url.clone(),
        proxy,
        ca_file: config.webex.ca_file.as_ref().map(|p| p.display().to_string()),
        device_name: config.webex.device_name.clone(),
    }
}

async fn within<T, E: From<String>>(wait: Duration, work: impl Future<Output = Result<T, E>>) -> Result<T, E> {
    tokio::time::timeout(wait, work).await.unwrap_or_else(|_| Err(E::from(format!("no answer within {wait:?}"))))
}

pub(super) async fn me(rest: &RestClient) -> Result<Bot, WebexFailure> {
    match tokio::time::timeout(WEBEX_WAIT, rest.me()).await {
        Ok(Ok(person)) => Ok(bot_of(person)),
        Ok(Err(RestError::Unauthorized { message, .. })) => Err(WebexFailure::Rejected(format!("401: {message}"))),
        Ok(Err(error @ RestError::Network { .. })) => Err(WebexFailure::Unreachable(error.to_string())),
        Ok(Err(error)) => Err(WebexFailure::Other(error.to_string())),
        Err(_) => Err(WebexFailure::Unreachable(format!("no answer within {WEBEX_WAIT:?}"))),
    }
}

fn bot_of(person: Person) -> Bot {
    Bot { email: person.primary_email().map(str::to_owned), id: person.id, name: person.display_name }
}

async fn count_devices(devices: &DeviceManager) -> Result<usize, String> {
    within(WEBEX_WAIT, async { devices.list_ours().await.map(|d| d.len()).map_err(|e| e.to_string()) }).await
}

/// A daemon answer: its status, and the body read as the API's type when it is a 2xx.
async fn get<T: DeserializeOwned>(api: &ApiClient, path: &str) -> Result<(u16, Result<T, String>), String> {
    let answer = within(DAEMON_WAIT, async { api.get(path).await.map_err(|e| e.to_string()) }).await?;
    let status = answer.status.as_u16();
    let body = answer.body.to_string();
    Ok((status, crate::cli::expect_ok(answer).map_err(|e| format!("{e:#}; body: {body}"))))
}

async fn daemon(api: &ApiClient, socket: &str) -> Result<Daemon, String> {
    let (_, health) = get::<Health>(api, "/v1/health").await?;
    let webex = health?.webex;
    let bot = webex.bot.map(|b| Bot { id: b.id, name: b.name, email: b.email });
    let token_rejected = webex.token_rejected_since.map(|since| (since, webex.token_error.unwrap_or_default()));
    Ok(Daemon {
        socket: socket.to_owned(),
        connected: webex.connected,
        since: webex.since,
        last_event_at: webex.last_event_at,
        reconnects: webex.reconnects,
        last_error: webex.last_error,
        bot,
        token_rejected,
        replaced_at: webex.replaced_at,
    })
}

async fn spaces_from_daemon(api: &ApiClient) -> Result<Counted, String> {
    let (status, list) = get::<SpaceList>(api, "/v1/spaces").await?;
    match list {
        Ok(list) => Ok(Counted { count: list.items.len(), from: "the daemon's cache" }),
        Err(message) => Err(format!("the daemon answered {status}: {message}")),
    }
}

async fn spaces_from_webex(rest: &RestClient) -> Result<Counted, String> {
    let rooms = within(WEBEX_WAIT, async { rest.rooms(&RoomQuery::default()).await.map_err(|e| e.to_string()) });
    Ok(Counted { count: rooms.await?.len(), from: "Webex" })
}

async fn space_from_daemon(api: &ApiClient, id: &str) -> SpaceProbe {
    let id = id.to_owned();
    match get::<Space>(api, &space_path(&id)).await {
        Ok((_, Ok(space))) if space.visible => SpaceProbe::Member { title: space.title, id },
        Ok((_, Ok(space))) => SpaceProbe::Removed { title: space.title, id },
        Ok((404, _)) => SpaceProbe::Unknown { id },
        Ok((status, Err(message))) => {
            SpaceProbe::Error { id, message: format!("the daemon answered {status}: {message}") }
        }
        Err(message) => SpaceProbe::Error { id, message },
    }
}

/// `/v1/spaces/{id}` with the id percent-encoded as one path segment.
fn space_path(id: &str) -> String {
    let mut url = reqwest::Url::parse("http://localhost/v1/spaces").expect("a fixed, valid URL");
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.push(id);
    }
    url.path().to_owned()
}

async fn space_from_webex(rest: &RestClient, id: &str) -> SpaceProbe {
    let id = id.to_owned();
    match tokio::time::timeout(WEBEX_WAIT, rest.room(&id)).await {
        Ok(Ok(room)) => SpaceProbe::Member { id, title: room.title },
        Ok(Err(RestError::NotFound { .. })) => SpaceProbe::Unknown { id },
        Ok(Err(error)) => SpaceProbe::Error { id, message: error.to_string() },
        Err(_) => SpaceProbe::Error { id, message: format!("no answer within {WEBEX_WAIT:?}") },
    }
}
