//! Keeps a Mercury connection running for the daemon's whole life, and tells a
//! token Webex refuses (fatal) from a socket that merely failed (retried).

use super::clients::Clients;
use super::DaemonError;
use crate::config::Config;
use crate::webex::mercury::connection::{Connection, MercuryError, Settings};
use crate::webex::mercury::link::{Heartbeat, Inbound, LinkState};
use crate::webex::rest::RestError;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// What the Mercury supervisor needs to build a connection.
pub(super) struct Link {
    pub(super) clients: Clients,
    pub(super) config: Config,
    pub(super) bot_uuid: String,
}

impl Link {
    fn connection(
        &self,
        events: &mpsc::UnboundedSender<Inbound>,
        state: &watch::Sender<LinkState>,
        heartbeat: &Heartbeat,
    ) -> Connection {
        let webex = &self.config.webex;
        Connection {
            devices: self.clients.devices_factory.build(),
            dialer: self.clients.dialer.clone(),
            token: self.clients.token.clone(),
            settings: Settings {
                timing: webex.timing(),
                backoff: webex.reconnect_backoff(),
                bot_uuid: self.bot_uuid.clone(),
            },
            events: events.clone(),
            state: state.clone(),
            heartbeat: heartbeat.clone(),
        }
    }
}

/// Keeps a Mercury connection running. A refused token is checked over REST:
/// a 401 there ends the daemon with the clear message; anything else retries.
pub(super) async fn supervise_link(
    link: Link,
    events: mpsc::UnboundedSender<Inbound>,
    state: watch::Sender<LinkState>,
    heartbeat: Heartbeat,
    shutdown: CancellationToken,
) -> Result<(), DaemonError> {
    let cap = link.config.webex.reconnect_backoff().cap();
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
