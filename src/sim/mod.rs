//! A faithful Webex simulator on loopback (plain HTTP and ws, or HTTPS and WSS).
//!
//! The daemon's integration tests, the `demo` command and AI-engine developers
//! need a Webex that behaves like the real one (shapes, ids, status codes,
//! Mercury buffering and redelivery) without any network. This module is an
//! independent implementation of the protocol notes: it shares no types with
//! the client in `crate::webex`, only the REST id codec.
//!
//! Layout: `world` (people in organizations, rooms), `messages`, `reading`
//! (what a bot may read) and `events` (devices, Mercury buffers and their
//! replay window) are the pure state; `rest`, `catalog` (U2C), `wdm`,
//! `mercury`, `telemetry` (the SDK's metrics sink) and `control` serve it; `render`, `plaintext` and `frames` shape
//! the answers; `errors`, `faults` and `settings` hold the response plumbing,
//! the fault switches and Mercury's time limits; `handle` is the scripting API.
//! Where Cisco's SDK and the simulator disagreed, the SDK won (see each file).

mod catalog;
mod control;
mod control_faults;
mod errors;
mod events;
mod faults;
mod frames;
mod handle;
mod handle_faults;
mod lost_answers;
mod mercury;
mod messages;
mod plaintext;
mod reading;
mod render;
mod rest;
mod rest_messages;
mod server;
mod settings;
mod telemetry;
mod tls;
mod wdm;
mod world;

pub use faults::{Failure, FaultTarget, RetryAfter};
pub use handle::{RestCall, SimError, SimHandle, SimMessage, SimPerson, SimRoom};
pub use lost_answers::{Lost, LostAnswers};
pub use server::{SimOptions, SimState, Simulator};
pub use settings::{DEFAULT_AUTH_TIMEOUT, DEFAULT_REPLAY_WINDOW};
pub use tls::SimTls;
pub use world::{ORG_UUID, OTHER_ORG_UUID};

use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

/// `webex-hitl sim`: start (over TLS when `tls` is given), print the config
/// lines and the control API hint, serve until `shutdown` is cancelled.
pub async fn run(
    listen: SocketAddr,
    token: String,
    tls: Option<SimTls>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let sim = Simulator::start(SimOptions { listen, token: token.clone(), tls, ..SimOptions::default() }).await?;
    let base = sim.base_url();
    println!("Webex simulator listening on {base}");
    println!("Put these lines in the daemon's config (token: {token}):\n");
    println!("{}", sim.config_lines());
    println!(
        "Run by you rather than by systemd, the daemon also needs a socket and a store it may write:\n\n\
         [api]\nsocket = \"webex-hitl.sock\"\n[store]\npath = \"webex-hitl.db\"\n"
    );
    if sim.is_tls() {
        println!(
            "The daemon trusts only public CAs: unless the certificate chains to one, also set\n\
             webex.ca_file = \"/path/to/the/ca.pem\" (the CA that signed --tls-cert).\n"
        );
    }
    let curl = if sim.is_tls() { "curl -s --cacert /path/to/the/ca.pem" } else { "curl -s" };
    println!("Control API (no auth), e.g.:");
    println!("  {curl} {base}/_sim/state");
    println!(
        "  {curl} -XPOST {base}/_sim/people -H 'content-type: application/json' \
         -d '{{\"email\":\"ana@example.com\",\"displayName\":\"Ana\"}}'"
    );
    shutdown.cancelled().await;
    sim.stop().await;
    Ok(())
}

#[cfg(test)]
mod errors_tests;
#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod mercury_tests;
#[cfg(test)]
mod people_tests;
#[cfg(test)]
mod rest_messages_tests;
#[cfg(test)]
mod server_tests;
#[cfg(test)]
mod tls_tests;
