//! `ask_specialist`: the request built from the tool's arguments, its key
//! (the caller's, or one derived from the arguments, see [`super::key`]), the
//! escalation created or found again, and the wait for its answer (or, for a
//! client that runs it as a task, none: see [`super::task`]).

use super::args::{self, AskArgs};
use super::daemon::Daemon;
use super::error::ToolError;
use super::key;
use super::wait::Wait;
use crate::escalation::request::EscalationRequest;
use crate::model::{EscalationView, PolicyChoice};
use serde_json::json;

/// Asks, then waits up to the call's `wait_s` for the answer.
pub async fn ask(daemon: &Daemon, arguments: AskArgs, wait: &Wait<'_>) -> Result<EscalationView, ToolError> {
    let wait_for = args::wait(arguments.wait_s)?;
    let view = post(daemon, arguments).await?;
    wait.until_closed(view, wait_for).await
}

/// The escalation these arguments ask for: created, or found again by its key.
pub async fn post(daemon: &Daemon, arguments: AskArgs) -> Result<EscalationView, ToolError> {
    let mut request = request(arguments)?;
    let view = if request.key.is_some() {
        daemon.create(&request).await?
    } else {
        let keys = key::derive(&request, unix_now());
        match daemon.by_key(&keys.previous).await? {
            Some(earlier) => earlier,
            None => {
                request.key = Some(keys.current);
                daemon.create(&request).await?
            }
        }
    };
    tracing::info!(escalation = %view.id, status = %view.status, "ask_specialist");
    Ok(view)
}

fn request(arguments: AskArgs) -> Result<EscalationRequest, ToolError> {
    Ok(EscalationRequest {
        key: arguments.key,
        to: Some(arguments.to.destination()?),
        player: arguments.player.map(Into::into).unwrap_or_default(),
        summary: arguments.summary,
        question: arguments.question,
        fields: arguments.fields.unwrap_or_default().into_iter().map(Into::into).collect(),
        timeout_s: arguments.timeout_s,
        // Without one, the daemon's default policy applies (escalations.default_policy).
        policy: arguments.policy.map(PolicyChoice::Preset),
        // Says where the escalation came from, to whoever reads the events.
        context: json!({"via": "mcp"}),
    })
}

fn unix_now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}
