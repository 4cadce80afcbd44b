//! Secrets that must never reach a log line or an API answer.
//!
//! The bot token is the only credential this daemon holds. Wrapping it in
//! [`Secret`] means a stray `{:?}` or `{}` prints `<redacted>`; reading the
//! value takes a deliberate call to [`Secret::expose`].

use std::fmt;
use std::sync::Arc;
use tokio::sync::watch;

/// A string whose `Debug` and `Display` print `<redacted>`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must send it (an HTTP header, the
    /// websocket authorization frame).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Read from a request body (`POST /v1/token`); never written back: no `Serialize`.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// The bot token as every Webex client holds it: shared, and replaceable at run
/// time (SIGHUP, `webex-hitl token rotate`) without rebuilding the clients;
/// whoever waits for a good token can wait for it to change.
#[derive(Clone)]
pub struct SharedSecret(Arc<watch::Sender<Secret>>);

impl Default for SharedSecret {
    fn default() -> Self {
        Self::new(Secret::default())
    }
}

impl SharedSecret {
    pub fn new(secret: Secret) -> Self {
        Self(Arc::new(watch::channel(secret).0))
    }

    pub fn get(&self) -> Secret {
        self.0.borrow().clone()
    }

    pub fn set(&self, secret: Secret) {
        self.0.send_replace(secret);
    }

    /// Resolves the next time the secret is replaced.
    pub async fn changed(&self) {
        let mut receiver = self.0.subscribe();
        let _ = receiver.changed().await;
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let secret = Secret::new("MzQ1Njc4OTAtdG9rZW4");
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(format!("{secret}"), "<redacted>");
        assert_eq!(secret.expose(), "MzQ1Njc4OTAtdG9rZW4");
    }

    #[test]
    fn shared_secret_can_be_replaced() {
        let shared = SharedSecret::new(Secret::new("old"));
        let clone = shared.clone();
        shared.set(Secret::new("new"));
        assert_eq!(clone.get().expose(), "new");
        assert_eq!(format!("{clone:?}"), "<redacted>");
    }
}
