//! The bot token at run time. Every Webex answer says whether Webex still
//! accepts it: a 401 means it was regenerated or revoked (the daemon keeps
//! serving, degraded, and says so once), and the next success means a good
//! token is back. A new token is checked with Webex before it replaces the
//! current one (SIGHUP, `webex-hitl token rotate`); a refused one changes nothing.

use crate::secret::{Secret, SharedSecret};
use crate::webex::mercury::link::{LinkState, TokenRejected};
use crate::webex::rest::{Person, RestClient, RestError, RestObserver};
use reqwest::Method;
use std::sync::{Arc, OnceLock};
use tokio::sync::watch;

/// Reads every Webex answer for what it says about the token.
pub struct TokenWatch {
    link: watch::Sender<LinkState>,
}

impl TokenWatch {
    pub fn new(link: watch::Sender<LinkState>) -> Self {
        Self { link }
    }
}

impl RestObserver for TokenWatch {
    fn on_attempt(&self, method: &Method, status: Option<u16>) {
        match status {
            Some(401) => {
                let detail = format!("Webex answered 401 to a {method} with the bot token");
                self.link.send_if_modified(|state| mark_rejected(state, detail));
            }
            Some(200..=299) => {
                self.link.send_if_modified(mark_accepted);
            }
            _ => {}
        }
    }
}

/// One error line per episode, however many calls are refused.
fn mark_rejected(state: &mut LinkState, detail: String) -> bool {
    if state.token_rejected.is_some() {
        return false;
    }
    tracing::error!(%detail, "Webex rejects the bot token: it is invalid, revoked, or was regenerated in the Developer Portal. \
        The API keeps serving what it has; put the current token in place with `webex-hitl token rotate`, or in the token source and `systemctl reload webex-hitl`");
    state.token_rejected = Some(TokenRejected { since: chrono::Utc::now(), detail });
    true
}

fn mark_accepted(state: &mut LinkState) -> bool {
    let Some(rejected) = state.token_rejected.take() else { return false };
    let rejected_for = (chrono::Utc::now() - rejected.since).to_std().unwrap_or_default();
    tracing::info!(?rejected_for, "Webex accepts the bot token again");
    true
}

/// Why a new token was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ReplaceError {
    #[error("Webex rejected the new bot token: {0}")]
    Rejected(String),
    #[error("cannot check the new bot token with Webex ({0}); the current one stays")]
    Unchecked(RestError),
    /// A daemon's device, cards and cache belong to one bot: changing bots is a restart.
    #[error("the new token is the bot {got}'s, not this daemon's ({expected}); the current one stays (to change bots, restart with the new token)")]
    OtherBot { expected: String, got: String },
}

/// The daemon's token, and the one way to change it: checked first.
#[derive(Clone)]
pub struct TokenKeeper {
    token: SharedSecret,
    rest: RestClient,
    link: watch::Sender<LinkState>,
    /// The bot the daemon validated at start; a new token must be its too.
    bot: Arc<OnceLock<String>>,
}

impl TokenKeeper {
    pub fn new(token: SharedSecret, rest: RestClient, link: watch::Sender<LinkState>) -> Self {
        Self { token, rest, link, bot: Arc::default() }
    }

    /// Fixes the bot (its person id) that every later token must belong to.
    pub fn pin_bot(&self, id: &str) {
        let _ = self.bot.set(id.to_owned());
    }

    pub fn current(&self) -> Secret {
        self.token.get()
    }

    /// Makes `candidate` the token if Webex accepts it (`GET /people/me`);
    /// returns the bot it belongs to.
    pub async fn replace(&self, candidate: Secret) -> Result<Person, ReplaceError> {
        let check = self.rest.with_token(SharedSecret::new(candidate.clone()));
        match check.me().await {
            Ok(me) if self.bot.get().is_some_and(|id| *id != me.id) => Err(ReplaceError::OtherBot {
                expected: self.bot.get().cloned().unwrap_or_default(),
                got: me.display_name,
            }),
            Ok(me) => {
                self.token.set(candidate);
                self.link.send_if_modified(mark_accepted);
                Ok(me)
            }
            Err(RestError::Unauthorized { message, .. }) => Err(ReplaceError::Rejected(format!("401: {message}"))),
            Err(error) => Err(ReplaceError::Unchecked(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_is_an_episode_until_a_success() {
        let link = watch::channel(LinkState::default()).0;
        let watch = TokenWatch::new(link.clone());
        watch.on_attempt(&Method::GET, Some(401));
        let since = link.borrow().token_rejected.clone().expect("rejected").since;
        watch.on_attempt(&Method::POST, Some(401));
        watch.on_attempt(&Method::GET, Some(503));
        watch.on_attempt(&Method::GET, None);
        assert_eq!(link.borrow().token_rejected.as_ref().map(|r| r.since), Some(since), "one episode");
        watch.on_attempt(&Method::GET, Some(200));
        assert_eq!(link.borrow().token_rejected, None);
    }
}
