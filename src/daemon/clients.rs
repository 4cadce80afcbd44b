//! The Webex-facing clients, built once from the configuration (the same way
//! for `serve` and `doctor`), and the start-up check of the bot token.

use super::DaemonError;
use crate::backoff::Backoff;
use crate::config::{Config, ConfigError};
use crate::secret::{Secret, SharedSecret};
use crate::webex::mercury::transport::Dialer;
use crate::webex::proxy::ProxyRules;
use crate::webex::rest::{Person, RestClient, RestError, RetryKind, RetryPolicy};
use crate::webex::tls::{self, HttpOptions};
use crate::webex::wdm::DeviceManager;
use rand::SeedableRng;
use tokio_util::sync::CancellationToken;

/// The Webex-facing clients, built once from the configuration.
#[derive(Clone)]
pub(super) struct Clients {
    pub(super) rest: RestClient,
    pub(super) devices_factory: DevicesFactory,
    pub(super) dialer: Dialer,
    pub(super) token: SharedSecret,
}

#[derive(Clone)]
pub(super) struct DevicesFactory {
    pub(super) rest: RestClient,
    u2c_url: String,
    wdm_url: Option<String>,
    device_name: String,
}

impl DevicesFactory {
    pub(super) fn build(&self) -> DeviceManager {
        DeviceManager::new(self.rest.transport().clone(), &self.u2c_url, self.wdm_url.as_deref(), &self.device_name)
    }
}

pub(super) fn clients(config: &Config) -> Result<Clients, DaemonError> {
    clients_with(config, config.load_token()?.0)
}

fn clients_with(config: &Config, token: Secret) -> Result<Clients, DaemonError> {
    let token = SharedSecret::new(token);
    let tls = tls::client_config(config.webex.ca_file.as_deref())?;
    let proxy =
        ProxyRules::new(config.webex.proxy.as_deref()).map_err(|e| ConfigError::new("webex.proxy", e.to_string()))?;
    let options = HttpOptions { request_timeout: config.webex.request_timeout(), ..HttpOptions::new(proxy.clone()) };
    let http = tls::http_client(&options, tls.clone())?;
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

/// The REST client as `serve` builds it, with `token` instead of the configured
/// one: `token rotate` checks a new token with it while the daemon is stopped.
pub(crate) fn rest_with_token(config: &Config, token: Secret) -> Result<RestClient, DaemonError> {
    Ok(clients_with(config, token)?.rest)
}

/// `GET /people/me`, retried while Webex is unreachable; a 401 is final.
pub(super) async fn validate_token(rest: &RestClient, shutdown: &CancellationToken) -> Result<Person, DaemonError> {
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

fn shut_down_while_validating() -> DaemonError {
    DaemonError::Fatal("shut down before the token was validated".into())
}
