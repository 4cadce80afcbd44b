//! `webex-hitl mcp`: the daemon's escalations as Model Context Protocol tools,
//! so that any MCP-capable agent can ask a Webex specialist.
//!
//! Why it is a thin client: MCP clients launch a stdio server per session, kill
//! it at will, and give up on a tool call after about a minute. Everything that
//! must survive that (the escalation, its card, its answer, idempotency by key)
//! already lives in the daemon's store, so this process keeps no state: it
//! turns each tool call into calls of the daemon's socket API and can be killed
//! and relaunched mid-wait without losing an answer.
//!
//! - [`server`]: the tools and the server's instructions ([`text`]);
//! - [`args`], [`to`]: the tools' arguments and their schemas;
//! - [`ask`], [`key`], [`wait`]: asking, the derived idempotency key, waiting with progress;
//! - [`task`]: `ask_specialist` as an MCP task, for clients that run it so;
//! - [`daemon`]: the socket API; [`outcome`], [`error`]: what the model reads back.
//!
//! stdout carries the protocol; logs go to stderr only.

pub mod args;
pub mod ask;
pub mod daemon;
pub mod error;
pub mod key;
pub mod outcome;
pub mod server;
pub mod task;
pub mod text;
pub mod to;
pub mod wait;

use crate::cli::client::ApiClient;
use rmcp::ServiceExt;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How the server behaves (the defaults are for real use; tests shorten them).
#[derive(Debug, Clone)]
pub struct Options {
    /// The longest stretch without a progress notification during a wait.
    pub progress_every: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self { progress_every: Duration::from_secs(5) }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum McpError {
    // The causes are sources, not part of the message: `{:#}` prints the chain once.
    #[error("the MCP session did not start")]
    Start(#[source] Box<rmcp::service::ServerInitializeError>),
    #[error("the MCP session failed")]
    Session(#[source] tokio::task::JoinError),
}

/// Serves MCP on stdin/stdout until the client closes it or `shutdown` is cancelled.
pub async fn serve(client: ApiClient, options: Options, shutdown: CancellationToken) -> Result<(), McpError> {
    let server = server::HitlServer::new(daemon::Daemon::new(client), options);
    let running = server.serve(rmcp::transport::stdio_pipes()).await.map_err(|e| McpError::Start(Box::new(e)))?;
    tracing::info!("MCP server ready on stdio");
    let stop = running.cancellation_token();
    let waiting = running.waiting();
    tokio::pin!(waiting);
    // On a signal the session is cancelled, and still waited for: its task
    // (and the tool calls it runs) end before this returns.
    let ended = tokio::select! {
        ended = &mut waiting => ended,
        () = shutdown.cancelled() => {
            stop.cancel();
            waiting.await
        }
    };
    let reason = ended.map_err(McpError::Session)?;
    tracing::info!(?reason, "MCP session ended");
    Ok(())
}
