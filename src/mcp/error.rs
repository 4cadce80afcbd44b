//! What can go wrong in a tool call, as the model must see it: an MCP tool
//! error (`isError: true`) whose text names the daemon's error `code`, its
//! message, and plain advice on what to do next.
//!
//! Why tool errors and not JSON-RPC errors: clients show a protocol error to
//! the user as an opaque failure, but hand a tool error's text to the model,
//! which can then fix an argument, ask an operator, or retry later.

use crate::cli::client::ClientError;
use rmcp::model::CallToolResult;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The arguments do not fit the tool's schema (checked here, before the daemon).
    #[error("{0}")]
    Arguments(String),
    /// No daemon answers on the socket.
    #[error("{0}")]
    Unreachable(#[source] ClientError),
    /// The daemon answered, but not in HTTP+JSON we understand.
    #[error("{0}")]
    Transport(#[source] ClientError),
    /// The daemon refused the call: its `error.code` and `error.message`.
    #[error("{message}")]
    Daemon { code: String, message: String },
    /// A 2xx answer whose body is not what the API's types say it is.
    #[error("the daemon's answer to {what} does not have the expected shape: {source}")]
    Shape { what: String, source: serde_json::Error },
    /// The client cancelled the call (or gave up on it).
    #[error("the call was cancelled by the client")]
    Cancelled,
}

impl From<ClientError> for ToolError {
    fn from(error: ClientError) -> Self {
        match error {
            ClientError::Connect { .. } => ToolError::Unreachable(error),
            other => ToolError::Transport(other),
        }
    }
}

impl ToolError {
    /// The code the model branches on: the daemon's own, or one of ours.
    pub fn code(&self) -> &str {
        match self {
            ToolError::Arguments(_) => "invalid",
            ToolError::Unreachable(_) => "daemon_unreachable",
            ToolError::Transport(_) | ToolError::Shape { .. } => "daemon_error",
            ToolError::Daemon { code, .. } => code,
            ToolError::Cancelled => "cancelled",
        }
    }

    /// What to do about it, in words a model (and its user) can act on.
    pub fn advice(&self) -> &'static str {
        advice(self.code())
    }

    /// The tool result: `isError`, with `{"error": {code, message, advice}}`
    /// as its structured content and as its text.
    pub fn into_result(self) -> CallToolResult {
        let body = json!({"error": {"code": self.code(), "message": self.to_string(), "advice": self.advice()}});
        CallToolResult::structured_error(body)
    }
}

/// Advice per error code, for every code the daemon's API answers and ours.
pub fn advice(code: &str) -> &'static str {
    match code {
        "invalid" | "bad_request" => {
            "An argument is wrong; the message names it. Fix that argument and call the tool again."
        }
        "bot_not_in_space" => {
            "The Webex bot is not a member of that space, so it cannot post there. Ask a Webex user in that space to add the bot (People > Add people), or pick a space from list_spaces, then call again."
        }
        "unknown_person" => {
            "Webex knows no person with that email. Check the address (find_person tells), or send to a space from list_spaces instead."
        }
        "key_conflict" => {
            "This key was already used for a different request. Repeat the original arguments exactly to get that escalation back, or use a new key for a new question."
        }
        "not_pending" => {
            "The escalation is already closed (answered, expired, cancelled or failed). Call get_answer to see how it ended."
        }
        "not_found" => "Nothing with that id is known to the daemon. Use the escalation_id (or space id) exactly as a tool returned it.",
        "webex_token_rejected" => {
            "Webex rejected the daemon's bot token. A human operator must install a valid token and restart the daemon (`webex-hitl doctor` explains); retrying will not help until then."
        }
        "webex_rate_limited" => {
            "Webex is rate-limiting the bot. Wait a minute, then retry the same call; with the same arguments or key it never posts a second card."
        }
        "webex_unreachable" | "unavailable" => {
            "The daemon cannot reach Webex right now. Retry in a minute; if it persists, a human operator should run `webex-hitl doctor`."
        }
        "webex_error" => "Webex refused the call; the message says why. Retrying the same call is safe.",
        "forbidden" => {
            "This MCP server's user may not use the daemon's socket. A human operator must allow it (api.allowed_uids, or the socket's group)."
        }
        "daemon_unreachable" => {
            "The webex-hitl daemon is not running, or this MCP server points at the wrong socket. A human operator must start it (`webex-hitl serve`, or `systemctl start webex-hitl`) or fix --socket/--config in the MCP server's registration; then retry."
        }
        "cancelled" => "The call was cancelled. Nothing is lost: call get_answer (or the same ask_specialist again) to continue.",
        _ => "Retry once; if it fails again, tell a human operator (the daemon's log says more).",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_result_carries_code_message_and_advice() {
        let error = ToolError::Daemon { code: "bot_not_in_space".into(), message: "the bot is not in space R".into() };
        let result = error.into_result();
        assert_eq!(result.is_error, Some(true));
        let body = result.structured_content.expect("structured");
        assert_eq!(body["error"]["code"], "bot_not_in_space");
        assert_eq!(body["error"]["message"], "the bot is not in space R");
        assert!(body["error"]["advice"].as_str().unwrap().contains("add the bot"));
    }

    #[test]
    fn a_refused_connection_is_daemon_unreachable() {
        let source = std::io::Error::from(std::io::ErrorKind::NotFound);
        let error: ToolError = ClientError::Connect { path: "/run/x.sock".into(), source }.into();
        assert_eq!(error.code(), "daemon_unreachable");
        assert!(error.to_string().contains("/run/x.sock"));
        assert!(error.advice().contains("webex-hitl serve"));
    }

    #[test]
    fn every_api_code_has_its_own_advice() {
        let fallback = advice("no_such_code");
        for code in [
            "invalid",
            "bot_not_in_space",
            "unknown_person",
            "key_conflict",
            "not_pending",
            "not_found",
            "webex_token_rejected",
            "webex_rate_limited",
            "webex_unreachable",
            "webex_error",
            "forbidden",
            "bad_request",
            "daemon_unreachable",
        ] {
            assert_ne!(advice(code), fallback, "{code}");
        }
    }
}
