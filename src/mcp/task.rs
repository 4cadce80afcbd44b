//! `ask_specialist` as an MCP task (the tasks extension, SEP-2663), for clients
//! that declare it: the call answers at once with a task whose id is the
//! escalation's id, and the client polls `tasks/get` instead of holding the
//! call open.
//!
//! Why this needs no task store of its own: the task *is* the escalation, so
//! its state lives in the daemon's store. `tasks/get` reads it there, and a
//! task survives a restart of this process or of the daemon.

use super::args::{self, AskArgs};
use super::ask::post;
use super::daemon::Daemon;
use super::error::ToolError;
use super::outcome;
use crate::model::{EscalationView, Status};
use rmcp::model::{
    CallToolResponse, CallToolResult, CreateTaskResult, DetailedTask, GetTaskResult, JsonObject, Task, TaskPayload,
    TaskStatus,
};
use rmcp::ErrorData;
use std::time::Duration;

/// The reason a card shows when the client cancels the task.
const CANCEL_REASON: &str = "cancelled by the AI agent";

/// `tools/call ask_specialist` as a task: the escalation is created (or found
/// again) and answered as a task handle; a refusal is the usual tool error.
pub async fn create(daemon: &Daemon, arguments: JsonObject, poll: Duration) -> CallToolResponse {
    let posted = async {
        let arguments: AskArgs = args::parse(arguments)?;
        post(daemon, arguments).await
    };
    match posted.await {
        Ok(view) => CallToolResponse::Task(CreateTaskResult::new(task(&view, poll))),
        Err(error) => {
            tracing::warn!(code = error.code(), %error, "ask_specialist (task): tool error");
            CallToolResponse::Complete(error.into_result())
        }
    }
}

/// `tasks/get`: the escalation's state as the task's.
pub async fn get(daemon: &Daemon, task_id: &str, poll: Duration) -> Result<GetTaskResult, ErrorData> {
    let view = daemon.escalation(task_id, 0).await.map_err(protocol)?;
    Ok(GetTaskResult::new(detailed(&view, poll)))
}

/// `tasks/cancel`: cancels the escalation; one already closed stays as it is
/// (cancellation is cooperative: the task's status says how it ended).
pub async fn cancel(daemon: &Daemon, task_id: &str) -> Result<(), ErrorData> {
    match daemon.cancel(task_id, Some(CANCEL_REASON)).await {
        Ok(_) => Ok(()),
        Err(error) if error.code() == "not_pending" => Ok(()),
        Err(error) => Err(protocol(error)),
    }
}

fn task(view: &EscalationView, poll: Duration) -> Task {
    let updated = view.answer.as_ref().map(|a| a.at).or(view.closed_at).unwrap_or(view.created_at);
    let message = match view.status {
        Status::Pending => format!("waiting for a specialist in Webex until {}", view.expires_at.to_rfc3339()),
        other => format!("escalation {other}"),
    };
    // No TTL: the escalation stays in the daemon's store (see its retention).
    Task::new(view.id.clone(), status(view.status), view.created_at.to_rfc3339(), updated.to_rfc3339())
        .with_status_message(message)
        .with_poll_interval_ms(u64::try_from(poll.as_millis()).unwrap_or(u64::MAX))
}

fn status(status: Status) -> TaskStatus {
    match status {
        Status::Pending => TaskStatus::Working,
        Status::Cancelled => TaskStatus::Cancelled,
        // An expired or failed escalation is a tool call that completed with that outcome.
        Status::Answered | Status::Expired | Status::Failed => TaskStatus::Completed,
    }
}

fn detailed(view: &EscalationView, poll: Duration) -> DetailedTask {
    let payload = match status(view.status) {
        TaskStatus::Working => TaskPayload::Working,
        TaskStatus::Cancelled => TaskPayload::Cancelled,
        _ => TaskPayload::Completed { result: result(view) },
    };
    DetailedTask::new(task(view, poll), payload)
}

/// The `CallToolResult` the synchronous call would have returned, as JSON.
fn result(view: &EscalationView) -> JsonObject {
    match serde_json::to_value(CallToolResult::structured(outcome::escalation(view))) {
        Ok(serde_json::Value::Object(object)) => object,
        _ => JsonObject::new(),
    }
}

/// A failure of `tasks/*` is a protocol error (there is no tool result to carry it).
fn protocol(error: ToolError) -> ErrorData {
    let message = format!("{} ({}): {}", error, error.code(), error.advice());
    match error.code() {
        "not_found" => ErrorData::invalid_params(message, None),
        _ => ErrorData::internal_error(message, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_pending_escalation_is_a_working_task() {
        assert_eq!(status(Status::Pending), TaskStatus::Working);
        assert_eq!(status(Status::Answered), TaskStatus::Completed);
        assert_eq!(status(Status::Expired), TaskStatus::Completed);
        assert_eq!(status(Status::Failed), TaskStatus::Completed);
        assert_eq!(status(Status::Cancelled), TaskStatus::Cancelled);
    }
}
