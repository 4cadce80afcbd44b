//! A faithful Webex simulator on loopback (plain HTTP and ws, no TLS).
//!
//! The daemon's integration tests, the `demo` command and AI-engine developers
//! need a Webex that behaves like the real one (shapes, ids, status codes,
//! Mercury buffering and redelivery) without any network. This module is an
//! independent implementation of the protocol notes: it shares no types with
//! the client in `crate::webex`, only the REST id codec.
//!
//! Layout: `world`, `messages` and `events` are the pure state; `rest`, `wdm`,
//! `mercury` and `control` serve it; `errors` and `faults` hold the response
//! plumbing and the fault switches; `handle` is the scripting API.

mod control;
mod errors;
mod events;
mod faults;
mod frames;
mod handle;
mod mercury;
mod messages;
mod render;
mod rest;
mod server;
mod wdm;
mod world;

pub use handle::{RestCall, SimError, SimHandle, SimMessage, SimPerson, SimRoom};
pub use server::{SimOptions, SimState, Simulator};

use std::net::SocketAddr;
use tokio_util::sync::CancellationToken;

/// `webex-hitl sim`: start, print the config lines and the control API hint,
/// serve until `shutdown` is cancelled.
pub async fn run(listen: SocketAddr, token: String, shutdown: CancellationToken) -> anyhow::Result<()> {
    let sim = Simulator::start(SimOptions { listen, token: token.clone(), state: None }).await?;
    let base = sim.base_url();
    println!("Webex simulator listening on {base}");
    println!("Put these lines in the daemon's config (token: {token}):\n");
    println!("{}", sim.config_lines());
    println!("Control API (no auth), e.g.:");
    println!("  curl -s {base}/_sim/state");
    println!(
        "  curl -s -XPOST {base}/_sim/people -H 'content-type: application/json' \
         -d '{{\"email\":\"ana@example.com\",\"displayName\":\"Ana\"}}'"
    );
    shutdown.cancelled().await;
    sim.stop().await;
    Ok(())
}

#[cfg(test)]
mod flow_tests;
#[cfg(test)]
mod server_tests;
