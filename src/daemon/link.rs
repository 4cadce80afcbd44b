//! Keeps a Mercury connection running for the daemon's whole life, and tells a
//! token Webex refuses (fatal) from a socket that merely failed (retried).

use super::clients::Clients;
use super::DaemonError;
use crate::config::Config;
use crate::webex::mercury::connection::{Connection, MercuryError, Settings};
use crate::webex::mercury::link::{Heartbeat, Inbound, LinkState};
use crate::webex::mercury::unfamiliar::Unfamiliar;
use crate::webex::rest::RestError;
use std::time::Duration;
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
                unfamiliar: Unfamiliar::default(),
            },
            events: events.clone(),
            state: state.clone(),
            heartbeat: heartbeat.clone(),
        }
    }
}

/// Keeps a Mercury connection running. A refused token is checked over REST:
/// a 401 there means Webex rejects it (the daemon says so, stays up and waits
/// for a good token); anything else retries.
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
                if let Err(RestError::Unauthorized { .. }) = heartbeat.cover(rest.me()).await {
                    if !wait_for_a_good_token(&link, &heartbeat, &shutdown).await {
                        return Ok(());
                    }
                    continue;
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

/// How often a rejected token is tried again without being told of a new one
/// (a revocation can be undone; a token file can change without a SIGHUP).
const TOKEN_RECHECK: Duration = Duration::from_secs(60);

/// Waits until Webex accepts the token again: a new one arrives (SIGHUP,
/// `token rotate`), or the current one works on a re-check. Waiting as designed
/// is being alive, so the watchdog keeps being fed. False on shutdown.
async fn wait_for_a_good_token(link: &Link, heartbeat: &Heartbeat, shutdown: &CancellationToken) -> bool {
    loop {
        let token = &link.clients.token;
        let waited = heartbeat.cover(async {
            tokio::select! {
                () = token.changed() => true,
                () = tokio::time::sleep(TOKEN_RECHECK) => true,
                () = shutdown.cancelled() => false,
            }
        });
        if !waited.await {
            return false;
        }
        match heartbeat.cover(link.clients.rest.me()).await {
            Err(RestError::Unauthorized { .. }) => continue,
            // Accepted, or Webex unreachable: the connection will find out.
            Ok(_) | Err(_) => return true,
        }
    }
}
