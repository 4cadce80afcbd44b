//! Process signals: SIGINT and SIGTERM shut the process down through one
//! cancellation token; SIGHUP re-reads the configuration and applies what can
//! change live (the bot token, the log level) without dropping the socket API.

use crate::config::Config;
use crate::logging;
use crate::webex::token::{ReplaceError, TokenKeeper};
use std::future::Future;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// Runs `work` to its end; a SIGINT or SIGTERM meanwhile cancels `shutdown`,
/// the one shutdown signal of the process, which `work` watches. The watcher is
/// a future polled alongside `work`, not a task: it cannot outlive it.
pub async fn run_until_signalled<F: Future>(shutdown: &CancellationToken, work: F) -> F::Output {
    tokio::pin!(work);
    tokio::select! {
        output = &mut work => return output,
        () = wait_for_signal() => {
            tracing::info!("shutting down");
            shutdown.cancel();
        }
    }
    work.await
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// SIGHUP re-reads the configuration and applies what can change live: the bot
/// token (checked with Webex first; a refused one leaves the current token in
/// place) and the log level. The socket API keeps serving throughout.
///
/// A token is taken from its source only when the source changed since it was
/// last read: under systemd the credential is a copy made at start, and a token
/// delivered since by `webex-hitl token rotate` must not give way to it.
pub async fn reload_on_hangup(file: Option<PathBuf>, token: TokenKeeper, shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else { return };
        let mut from_source = token.current();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                received = hangups.recv() => if received.is_none() { return },
            }
            match Config::load(file.as_deref()).and_then(|config| Ok((config.load_token()?.0, config))) {
                Ok((new_token, config)) => {
                    if new_token != from_source && reload_token(&token, new_token.clone()).await {
                        from_source = new_token;
                    }
                    match logging::set_level(&config.log.level) {
                        Ok(()) => tracing::info!(level = %config.log.level, "SIGHUP: log level applied"),
                        Err(error) => tracing::warn!(%error, "SIGHUP: log level not changed"),
                    }
                }
                Err(error) => tracing::error!(%error, "SIGHUP: configuration not reloaded; keeping the current one"),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (file, token, shutdown);
}

/// True when the new token is in use.
async fn reload_token(token: &TokenKeeper, new_token: crate::secret::Secret) -> bool {
    match token.replace(new_token).await {
        Ok(bot) => {
            tracing::info!(bot = %bot.display_name, "SIGHUP: Webex accepted the new bot token; it is in use");
            true
        }
        Err(error @ (ReplaceError::Rejected(_) | ReplaceError::OtherBot { .. })) => {
            tracing::error!(%error, "SIGHUP: keeping the current bot token");
            false
        }
        Err(error @ ReplaceError::Unchecked(_)) => {
            tracing::warn!(%error, "SIGHUP: send SIGHUP again once Webex is reachable");
            false
        }
    }
}
