//! An MCP session as an agent's client has one: rmcp's own client, over the
//! stdio of a real `webex-hitl mcp` child process, recording the progress
//! notifications it receives.

use crate::common::{binary, eventually, Harness};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, ClientRequest, Implementation,
    ProgressNotificationParam, Request, ServerResult,
};
use rmcp::service::{NotificationContext, PeerRequestOptions, RunningService, ServiceError};
use rmcp::{ClientHandler, Peer, RoleClient, ServiceExt};
use serde_json::{json, Map, Value};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::Child;
use tokio::sync::{mpsc, Mutex};

/// Seconds between progress notifications in the tests' MCP servers (5 in real use).
pub const PROGRESS_EVERY_S: &str = "1";

/// Forwards every progress notification to the test; declares the tasks
/// extension when `tasks`.
#[derive(Clone)]
pub struct Recorder {
    progress: mpsc::UnboundedSender<ProgressNotificationParam>,
    tasks: bool,
}

impl ClientHandler for Recorder {
    async fn on_progress(&self, params: ProgressNotificationParam, _: NotificationContext<RoleClient>) {
        let _ = self.progress.send(params);
    }

    fn get_info(&self) -> ClientConfig {
        let capabilities = match self.tasks {
            true => ClientCapabilities::builder().enable_tasks().build(),
            false => ClientCapabilities::default(),
        };
        ClientConfig::new(capabilities, Implementation::new("webex-hitl-tests", env!("CARGO_PKG_VERSION")))
    }
}

pub struct Session {
    pub client: RunningService<RoleClient, Recorder>,
    pub progress: Mutex<mpsc::UnboundedReceiver<ProgressNotificationParam>>,
    child: Child,
}

impl Session {
    /// `webex-hitl mcp --socket` the harness's daemon socket, initialized.
    pub async fn launch(h: &Harness) -> Self {
        Self::start(&h.config.api.socket, false).await
    }

    /// As [`Session::launch`], for a client that runs `ask_specialist` as a task.
    pub async fn launch_with_tasks(h: &Harness) -> Self {
        Self::start(&h.config.api.socket, true).await
    }

    pub async fn launch_on(socket: &Path) -> Self {
        Self::start(socket, false).await
    }

    async fn start(socket: &Path, tasks: bool) -> Self {
        let mut child = tokio::process::Command::new(binary())
            .args(["mcp", "--socket", socket.to_str().expect("a UTF-8 socket path")])
            .args(["--progress-every-s", PROGRESS_EVERY_S])
            .env("RUST_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("webex-hitl mcp starts");
        let (stdout, stdin) = (child.stdout.take().expect("stdout"), child.stdin.take().expect("stdin"));
        let (sender, progress) = mpsc::unbounded_channel();
        // rmcp's futures are large in a debug build: boxed, off the test thread's stack.
        let client = Box::pin(Recorder { progress: sender, tasks }.serve((stdout, stdin)))
            .await
            .expect("the MCP session initializes");
        Self { client, progress: Mutex::new(progress), child }
    }

    /// A handle for calls that outlive a borrow of the session (one that is killed).
    pub fn peer(&self) -> Peer<RoleClient> {
        self.client.peer().clone()
    }

    /// `tools/call`, with no client-side time limit.
    pub async fn call(&self, tool: &str, arguments: Value) -> CallToolResult {
        Box::pin(call(&self.peer(), tool, arguments)).await.unwrap_or_else(|e| panic!("{tool} call failed: {e}"))
    }

    /// `tools/call` as a client with a time limit makes it: past `timeout` the
    /// client gives up (and tells the server it cancelled the call).
    pub async fn call_within(
        &self,
        tool: &str,
        arguments: Value,
        timeout: Duration,
    ) -> Result<CallToolResult, ServiceError> {
        let request = ClientRequest::CallToolRequest(Request::new(params(tool, arguments)));
        let handle =
            Box::pin(self.client.send_request_with_option(request, PeerRequestOptions::with_timeout(timeout))).await?;
        match Box::pin(handle.await_response()).await? {
            ServerResult::CallToolResult(result) => Ok(result),
            other => panic!("{tool}: not a tool result: {other:?}"),
        }
    }

    /// The next progress notification, within `WAIT`.
    pub async fn next_progress(&self) -> ProgressNotificationParam {
        let mut progress = self.progress.lock().await;
        tokio::time::timeout(crate::common::WAIT, progress.recv())
            .await
            .expect("a progress notification in time")
            .expect("the session is open")
    }

    /// `kill -9`: the process gets no chance to say goodbye.
    pub async fn kill(mut self) {
        self.child.start_kill().expect("kill the MCP server");
        self.child.wait().await.expect("the MCP server is reaped");
    }
}

pub async fn call(peer: &Peer<RoleClient>, tool: &str, arguments: Value) -> Result<CallToolResult, ServiceError> {
    peer.call_tool(params(tool, arguments)).await
}

pub fn params(tool: &str, arguments: Value) -> CallToolRequestParams {
    CallToolRequestParams::new(tool.to_owned()).with_arguments(object(arguments))
}

fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("tool arguments are an object")
}

/// What a tool returned: its structured content (the same JSON as its text).
pub fn body(result: &CallToolResult) -> Value {
    let structured = result.structured_content.clone().expect("structured content");
    let text = result.content.first().and_then(|c| c.as_text()).map(|t| t.text.clone()).expect("a text content");
    assert_eq!(serde_json::from_str::<Value>(&text).expect("the text is JSON"), structured);
    structured
}

/// A tool error's `{code, message, advice}`; fails on a result that is not one.
pub fn tool_error(result: &CallToolResult) -> Value {
    assert_eq!(result.is_error, Some(true), "not a tool error: {result:?}");
    body(result)["error"].clone()
}

/// The id of an escalation's card, once the daemon posted it.
pub async fn card_of(h: &Harness, escalation_id: &str) -> String {
    eventually(&format!("the card of {escalation_id} is posted"), || async move {
        let view = h.client.get(&format!("/v1/escalations/{escalation_id}")).await.map_err(|e| e.to_string())?.body;
        view["delivery"]["message_id"].as_str().map(str::to_owned).ok_or_else(|| view.to_string())
    })
    .await
}

/// The inputs of a card answered in its one default field.
pub fn response(text: &str) -> Map<String, Value> {
    object(json!({"response": text}))
}
