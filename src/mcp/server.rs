//! The MCP server: six tools over the daemon's socket API. Each tool parses its
//! arguments (a bad one is a tool error naming it), makes one or two calls of
//! the API, and answers with [`super::outcome`]'s JSON or a [`ToolError`].
//! For a client that declared the tasks extension, `ask_specialist` runs as a
//! task ([`super::task`]).

use super::args::{self, AskArgs, CancelArgs, FindPersonArgs, GetAnswerArgs, ListSpacesArgs, SendMessageArgs};
use super::ask::ask;
use super::daemon::Daemon;
use super::error::ToolError;
use super::outcome;
use super::task;
use super::text;
use super::wait::{Progress, Wait};
use super::Options;
use rmcp::handler::server::common::{schema_for_empty_input, schema_for_input};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams, GetTaskParams, GetTaskResult,
    Implementation, JsonObject, ServerCapabilities, ServerConfig, UpdateTaskParams,
};
use rmcp::schemars::JsonSchema;
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, ErrorData, RoleServer, ServerHandler};
use serde_json::Value;
use std::sync::Arc;

#[derive(Clone)]
pub struct HitlServer {
    daemon: Daemon,
    options: Options,
    tool_router: ToolRouter<Self>,
}

/// Every tool answers `Ok`: failures are tool results with `isError`, which
/// the model reads, rather than protocol errors, which it does not.
type Reply = Result<CallToolResult, ErrorData>;

#[tool_router]
impl HitlServer {
    pub fn new(daemon: Daemon, options: Options) -> Self {
        Self { daemon, options, tool_router: Self::tool_router() }
    }

    #[tool(description = text::LIST_SPACES, input_schema = input::<ListSpacesArgs>(),
        annotations(read_only_hint = true, open_world_hint = true))]
    async fn list_spaces(&self, arguments: JsonObject) -> Reply {
        let result = async {
            let arguments: ListSpacesArgs = args::parse(arguments)?;
            Ok(outcome::spaces(&self.daemon.spaces(arguments.query.as_deref()).await?))
        };
        reply("list_spaces", result.await)
    }

    #[tool(description = text::FIND_PERSON, input_schema = input::<FindPersonArgs>(),
        annotations(read_only_hint = true, open_world_hint = true))]
    async fn find_person(&self, arguments: JsonObject) -> Reply {
        let result = async {
            let arguments: FindPersonArgs = args::parse(arguments)?;
            Ok(outcome::person(&self.daemon.person(arguments.email.trim()).await?))
        };
        reply("find_person", result.await)
    }

    #[tool(description = text::ASK_SPECIALIST, input_schema = input::<AskArgs>(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = true))]
    async fn ask_specialist(&self, arguments: JsonObject, context: RequestContext<RoleServer>) -> Reply {
        let result = async {
            let arguments: AskArgs = args::parse(arguments)?;
            Ok(outcome::escalation(&ask(&self.daemon, arguments, &self.wait(&context)).await?))
        };
        reply("ask_specialist", result.await)
    }

    #[tool(description = text::GET_ANSWER, input_schema = input::<GetAnswerArgs>(),
        annotations(read_only_hint = true, open_world_hint = true))]
    async fn get_answer(&self, arguments: JsonObject, context: RequestContext<RoleServer>) -> Reply {
        let result = async {
            let arguments: GetAnswerArgs = args::parse(arguments)?;
            let wait_for = args::wait(arguments.wait_s)?;
            let view = self.daemon.escalation(arguments.escalation_id.trim(), 0).await?;
            Ok(outcome::escalation(&self.wait(&context).until_closed(view, wait_for).await?))
        };
        reply("get_answer", result.await)
    }

    #[tool(description = text::CANCEL_ESCALATION, input_schema = input::<CancelArgs>(),
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = true))]
    async fn cancel_escalation(&self, arguments: JsonObject) -> Reply {
        let result = async {
            let arguments: CancelArgs = args::parse(arguments)?;
            let id = arguments.escalation_id.trim();
            Ok(outcome::escalation(&self.daemon.cancel(id, arguments.reason.as_deref()).await?))
        };
        reply("cancel_escalation", result.await)
    }

    #[tool(description = text::SEND_MESSAGE, input_schema = input::<SendMessageArgs>(),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = false, open_world_hint = true))]
    async fn send_message(&self, arguments: JsonObject) -> Reply {
        let result = async {
            let arguments: SendMessageArgs = args::parse(arguments)?;
            let to = arguments.to.destination()?;
            let sent = self.daemon.message(&to, arguments.text.as_deref(), arguments.markdown.as_deref()).await?;
            Ok(outcome::sent(&sent))
        };
        reply("send_message", result.await)
    }
}

impl HitlServer {
    /// How this call waits: progress to the client if it gave a token, and an
    /// end when it cancels the call.
    fn wait(&self, context: &RequestContext<RoleServer>) -> Wait<'_> {
        let progress = context.meta.get_progress_token().map(|token| Progress { peer: context.peer.clone(), token });
        Wait { daemon: &self.daemon, every: self.options.progress_every, progress, cancelled: context.ct.clone() }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for HitlServer {
    /// `ask_specialist` from a client that declared the tasks extension runs
    /// as a task; every other call goes to its tool.
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let tasks = context.client_capabilities().is_some_and(|c| c.supports_tasks());
        if tasks && request.name == "ask_specialist" {
            let arguments = request.arguments.unwrap_or_default();
            return Ok(task::create(&self.daemon, arguments, self.options.progress_every).await);
        }
        self.tool_router.call(ToolCallContext::new(self, request, context)).await
    }

    async fn get_task(
        &self,
        request: GetTaskParams,
        _: RequestContext<RoleServer>,
    ) -> Result<GetTaskResult, ErrorData> {
        task::get(&self.daemon, request.task_id.trim(), self.options.progress_every).await
    }

    /// Our tasks never ask for input, so every response is to an unknown
    /// request, which the extension says to ignore.
    async fn update_task(&self, _: UpdateTaskParams, _: RequestContext<RoleServer>) -> Result<(), ErrorData> {
        Ok(())
    }

    async fn cancel_task(&self, request: CancelTaskParams, _: RequestContext<RoleServer>) -> Result<(), ErrorData> {
        task::cancel(&self.daemon, request.task_id.trim()).await
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_tasks().build())
            .with_server_info(
                Implementation::new("webex-hitl", env!("CARGO_PKG_VERSION"))
                    .with_title("Webex specialists (human in the loop)"),
            )
            .with_instructions(text::INSTRUCTIONS)
    }
}

/// A tool's input schema from its argument type (checked by a unit test, so
/// the empty fallback is never what a client sees).
fn input<T: JsonSchema + 'static>() -> Arc<JsonObject> {
    schema_for_input::<T>().unwrap_or_else(|error| {
        tracing::error!(%error, "an input schema is not an object");
        schema_for_empty_input()
    })
}

fn reply(tool: &str, result: Result<Value, ToolError>) -> Reply {
    Ok(match result {
        Ok(value) => CallToolResult::structured(value),
        Err(error) => {
            tracing::warn!(tool, code = error.code(), %error, "tool error");
            error.into_result()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_schema_is_an_object_with_described_properties() {
        for schema in [
            schema_for_input::<ListSpacesArgs>(),
            schema_for_input::<FindPersonArgs>(),
            schema_for_input::<AskArgs>(),
            schema_for_input::<GetAnswerArgs>(),
            schema_for_input::<CancelArgs>(),
            schema_for_input::<SendMessageArgs>(),
        ] {
            let schema = schema.expect("an object schema");
            let properties = schema["properties"].as_object().expect("properties");
            for (name, property) in properties {
                assert!(property.get("description").is_some(), "{name} has no description: {property}");
            }
        }
    }
}
