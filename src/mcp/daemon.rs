//! The daemon's socket API as the tools need it: one typed call per endpoint,
//! every refusal turned into a [`ToolError`] that keeps the daemon's error code.
//!
//! This is the MCP server's only link to anything: it holds no state, so the
//! process can be killed and relaunched at any time without losing an
//! escalation (they live in the daemon's store).

use super::error::ToolError;
use crate::api::error::ErrorBody;
use crate::api::spaces::{PersonView, SpaceList};
use crate::api::Page;
use crate::cli::client::{Answer, ApiClient};
use crate::escalation::notify::Sent;
use crate::escalation::request::EscalationRequest;
use crate::model::{Destination, EscalationView};
use serde::de::DeserializeOwned;
use serde_json::json;

/// The longest long-poll the daemon accepts (`GET /v1/escalations/{id}?wait=`).
pub const MAX_POLL_S: u64 = 300;

#[derive(Debug, Clone)]
pub struct Daemon {
    client: ApiClient,
}

impl Daemon {
    pub fn new(client: ApiClient) -> Self {
        Self { client }
    }

    /// The spaces the bot is in (the daemon's cache), titles containing `query`.
    pub async fn spaces(&self, query: Option<&str>) -> Result<SpaceList, ToolError> {
        let path = match query.map(str::trim).filter(|q| !q.is_empty()) {
            Some(query) => format!("/v1/spaces?type=group&q={}", encode(query)),
            None => "/v1/spaces?type=group".to_owned(),
        };
        read("list_spaces", self.client.get(&path).await?)
    }

    pub async fn person(&self, email: &str) -> Result<PersonView, ToolError> {
        read("find_person", self.client.get(&format!("/v1/people?email={}", encode(email))).await?)
    }

    /// `POST /v1/escalations`: a new escalation (201), or the one with the same key (200).
    pub async fn create(&self, request: &EscalationRequest) -> Result<EscalationView, ToolError> {
        let body = serde_json::to_value(request)
            .map_err(|source| ToolError::Shape { what: "the escalation request".into(), source })?;
        read("the new escalation", self.client.post("/v1/escalations", &body).await?)
    }

    /// The newest escalation created with `key`, if any.
    pub async fn by_key(&self, key: &str) -> Result<Option<EscalationView>, ToolError> {
        let page: Page<EscalationView> = read(
            "the escalation list",
            self.client.get(&format!("/v1/escalations?key={}&limit=1", encode(key))).await?,
        )?;
        Ok(page.items.into_iter().next())
    }

    /// One escalation; with `wait_s` > 0 the daemon answers as soon as it leaves
    /// `pending`, or after `wait_s` (at most [`MAX_POLL_S`]).
    pub async fn escalation(&self, id: &str, wait_s: u64) -> Result<EscalationView, ToolError> {
        let path = format!("/v1/escalations/{}?wait={}", encode(id), wait_s.min(MAX_POLL_S));
        read("the escalation", self.client.get(&path).await?)
    }

    pub async fn cancel(&self, id: &str, reason: Option<&str>) -> Result<EscalationView, ToolError> {
        let path = format!("/v1/escalations/{}/cancel", encode(id));
        read("the cancelled escalation", self.client.post(&path, &json!({"reason": reason})).await?)
    }

    pub async fn message(
        &self,
        to: &Destination,
        text: Option<&str>,
        markdown: Option<&str>,
    ) -> Result<Sent, ToolError> {
        let body = json!({"to": to, "text": text, "markdown": markdown});
        read("the sent message", self.client.post("/v1/messages", &body).await?)
    }
}

/// A 2xx body as `T`; any other status as the daemon's error code and message.
fn read<T: DeserializeOwned>(what: &str, answer: Answer) -> Result<T, ToolError> {
    if !answer.status.is_success() {
        return Err(match serde_json::from_value::<ErrorBody>(answer.body.clone()) {
            Ok(body) => ToolError::Daemon { code: body.error.code, message: body.error.message },
            Err(_) => ToolError::Daemon {
                code: "daemon_error".into(),
                message: format!("the daemon answered {} with {}", answer.status, answer.body),
            },
        });
    }
    serde_json::from_value(answer.body).map_err(|source| ToolError::Shape { what: what.to_owned(), source })
}

/// Percent-encodes a path or query value: everything but RFC 3986's unreserved characters.
fn encode(value: &str) -> String {
    const RESERVED: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(value, RESERVED).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::StatusCode;

    #[test]
    fn an_error_answer_keeps_the_daemons_code() {
        let body =
            json!({"error": {"code": "unknown_person", "message": "Webex knows no person with the email x@y.z"}});
        let error = read::<PersonView>("x", Answer { status: StatusCode::NOT_FOUND, body }).unwrap_err();
        assert_eq!(error.code(), "unknown_person");
        assert!(error.to_string().contains("x@y.z"));
    }

    #[test]
    fn an_error_without_the_api_shape_still_says_what_came() {
        let answer = Answer { status: StatusCode::BAD_GATEWAY, body: json!("upstream") };
        let error = read::<PersonView>("x", answer).unwrap_err();
        assert_eq!(error.code(), "daemon_error");
        assert!(error.to_string().contains("502"));
    }

    #[test]
    fn values_are_percent_encoded() {
        assert_eq!(encode("a+b@c.d"), "a%2Bb%40c.d");
    }
}
