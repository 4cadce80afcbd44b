//! The typed Webex REST calls the daemon makes, on top of [`Transport`].

use std::marker::PhantomData;

use reqwest::{Method, Url};
use serde::de::DeserializeOwned;

use super::error::RestError;
use super::outgoing::{EditBody, NewMessageBody};
use super::paging;
use super::retry::RetryPolicy;
use super::transport::Transport;
use super::types::{
    AttachmentAction, Items, Membership, Message, MessageEdit, NewMessage, Person, PersonFilter, Room, RoomQuery,
};
use crate::secret::SharedSecret;

/// Default Webex REST base URL.
pub const DEFAULT_API_URL: &str = "https://webexapis.com/v1";

/// Pages followed at most for one listing: a server that links in circles
/// must not keep us busy forever.
const MAX_PAGES: usize = 1000;

/// Webex REST API client; cheap to clone.
#[derive(Clone)]
pub struct RestClient {
    transport: Transport,
    base: Url,
}

impl RestClient {
    pub fn new(
        http: reqwest::Client,
        api_url: &str,
        token: SharedSecret,
        policy: RetryPolicy,
    ) -> Result<Self, RestError> {
        let base = Url::parse(api_url.trim())
            .map_err(|e| RestError::Config(format!("api_url {api_url:?} is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(RestError::Config(format!(
                "api_url {api_url:?} must be an http(s) URL such as {DEFAULT_API_URL}"
            )));
        }
        Ok(Self { transport: Transport::new(http, token, policy), base })
    }

    /// The same client, reporting every HTTP attempt to `observer` (metrics).
    pub fn observed(mut self, observer: std::sync::Arc<dyn super::transport::RestObserver>) -> Self {
        self.transport = self.transport.observed(observer);
        self
    }

    /// The same client with another token, unobserved: for checking a candidate.
    pub fn with_token(&self, token: crate::secret::SharedSecret) -> Self {
        Self { transport: self.transport.with_token(token), base: self.base.clone() }
    }

    /// The same client with another retry policy (callers who cannot wait long).
    pub fn with_policy(&self, policy: RetryPolicy) -> Self {
        Self { transport: self.transport.with_policy(policy), base: self.base.clone() }
    }

    /// The same client, giving up waits between retries once `shutdown` fires.
    pub fn stopped_by(mut self, shutdown: tokio_util::sync::CancellationToken) -> Self {
        self.transport = self.transport.stopped_by(shutdown);
        self
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// `{base}/{segments...}` with each segment percent-encoded.
    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn get<T: DeserializeOwned>(&self, url: Url) -> Result<T, RestError> {
        Ok(self.transport.get::<T>(url.as_str()).await?.body)
    }

    /// The bot itself; a 401 here means the token is invalid or was regenerated.
    pub async fn me(&self) -> Result<Person, RestError> {
        self.get(self.endpoint(&["people", "me"])).await
    }

    pub async fn person(&self, id: &str) -> Result<Person, RestError> {
        self.get(self.endpoint(&["people", id])).await
    }

    pub async fn people_by_email(&self, email: &str) -> Result<Vec<Person>, RestError> {
        let mut url = self.endpoint(&["people"]);
        url.query_pairs_mut().append_pair("email", email);
        Ok(self.get::<Items<Person>>(url).await?.items)
    }

    /// People of the bot's org whose display name starts with `prefix` (Webex's
    /// `displayName` search), at most `max`.
    pub async fn people_by_name(&self, prefix: &str, max: usize) -> Result<Vec<Person>, RestError> {
        let mut url = self.endpoint(&["people"]);
        url.query_pairs_mut().append_pair("displayName", prefix).append_pair("max", &max.to_string());
        Ok(self.get::<Items<Person>>(url).await?.items)
    }

    /// Every room the bot is in that matches `query`, across all pages.
    pub async fn rooms(&self, query: &RoomQuery) -> Result<Vec<Room>, RestError> {
        self.room_pages(query).all().await
    }

    /// The same rooms, one page at a time: a caller that handles each page
    /// before the next never holds the whole list (10k rooms are megabytes).
    pub fn room_pages(&self, query: &RoomQuery) -> Pages<Room> {
        let mut params = Vec::new();
        if let Some(room_type) = &query.room_type {
            params.push(("type".to_string(), room_type.as_str().to_string()));
        }
        if let Some(sort) = query.sort_by {
            params.push(("sortBy".to_string(), sort.as_str().to_string()));
        }
        params.push(("max".to_string(), query.page_size.clamp(1, 1000).to_string()));
        self.pages(&["rooms"], params)
    }

    pub async fn room(&self, id: &str) -> Result<Room, RestError> {
        self.get(self.endpoint(&["rooms", id])).await
    }

    /// Members of a room (optionally only one person), across all pages.
    pub async fn memberships(&self, room_id: &str, person: Option<PersonFilter>) -> Result<Vec<Membership>, RestError> {
        let mut params = vec![("roomId".to_string(), room_id.to_string())];
        match person {
            Some(PersonFilter::Id(id)) => params.push(("personId".to_string(), id)),
            Some(PersonFilter::Email(email)) => params.push(("personEmail".to_string(), email)),
            None => {}
        }
        params.push(("max".to_string(), "1000".to_string()));
        self.list_all(&["memberships"], params).await
    }

    /// GETs `{base}/{path}?{params}` and every `rel="next"` page after it.
    async fn list_all<T: DeserializeOwned>(
        &self,
        path: &[&str],
        params: Vec<(String, String)>,
    ) -> Result<Vec<T>, RestError> {
        self.pages(path, params).all().await
    }

    fn pages<T>(&self, path: &[&str], params: Vec<(String, String)>) -> Pages<T> {
        let mut url = self.endpoint(path);
        url.query_pairs_mut().extend_pairs(params.iter());
        Pages { transport: self.transport.clone(), next: Some(url), params, left: MAX_PAGES, items: PhantomData }
    }

    /// Posts a message (validated first). Not retried once it may have
    /// reached Webex: a retried POST can post twice.
    pub async fn create_message(&self, msg: &NewMessage) -> Result<Message, RestError> {
        msg.validate()?;
        let url = self.endpoint(&["messages"]);
        let body = NewMessageBody::from(msg);
        Ok(self.transport.send::<Message, _>(Method::POST, url.as_str(), Some(&body)).await?.body)
    }

    pub async fn message(&self, id: &str) -> Result<Message, RestError> {
        self.get(self.endpoint(&["messages", id])).await
    }

    /// Replaces the text and card of one of the bot's messages.
    pub async fn edit_message(&self, id: &str, edit: &MessageEdit) -> Result<Message, RestError> {
        edit.validate()?;
        let url = self.endpoint(&["messages", id]);
        let body = EditBody::from(edit);
        Ok(self.transport.send::<Message, _>(Method::PUT, url.as_str(), Some(&body)).await?.body)
    }

    pub async fn delete_message(&self, id: &str) -> Result<(), RestError> {
        self.transport.delete(self.endpoint(&["messages", id]).as_str()).await
    }

    pub async fn attachment_action(&self, id: &str) -> Result<AttachmentAction, RestError> {
        self.get(self.endpoint(&["attachment", "actions", id])).await
    }
}

/// A listing read page by page, following `rel="next"` links.
pub struct Pages<T> {
    transport: Transport,
    next: Option<Url>,
    /// Our own parameters, re-added to `next` links that dropped them.
    params: Vec<(String, String)>,
    left: usize,
    items: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Pages<T> {
    /// The next page's items; `None` after the last page.
    pub async fn next_page(&mut self) -> Result<Option<Vec<T>>, RestError> {
        let Some(url) = self.next.take() else { return Ok(None) };
        if self.left == 0 {
            tracing::warn!(pages = MAX_PAGES, "Webex listing stopped: too many pages");
            return Ok(None);
        }
        self.left -= 1;
        let page = self.transport.get::<Items<T>>(url.as_str()).await?;
        self.next = paging::next_page_url(&page.headers, &url, &self.params)
            .map_err(|message| RestError::Decode { what: "Link header", message })?;
        Ok(Some(page.body.items))
    }

    /// Every page's items, in one list.
    pub async fn all(mut self) -> Result<Vec<T>, RestError> {
        let mut all = Vec::new();
        while let Some(items) = self.next_page().await? {
            all.extend(items);
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn client(base: &str) -> Result<RestClient, RestError> {
        RestClient::new(reqwest::Client::new(), base, SharedSecret::new(Secret::new("t")), RetryPolicy::default())
    }

    #[test]
    fn endpoints_are_built_under_the_base_path() {
        let c = client("http://127.0.0.1:1/v1/").expect("client");
        assert_eq!(c.endpoint(&["messages", "a/b c"]).as_str(), "http://127.0.0.1:1/v1/messages/a%2Fb%20c");
        let c = client(DEFAULT_API_URL).expect("client");
        assert_eq!(c.endpoint(&["people", "me"]).as_str(), "https://webexapis.com/v1/people/me");
    }

    #[test]
    fn bad_api_urls_are_named() {
        for bad in ["not a url", "mailto:x@y", "ftp://h/v1"] {
            let err = client(bad).err().expect("rejected");
            assert!(matches!(err, RestError::Config(_)));
            assert!(err.to_string().contains(bad), "{err}");
        }
    }
}
