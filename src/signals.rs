//! Process signals: SIGINT and SIGTERM shut the process down through one
//! cancellation token; SIGHUP re-reads the configuration and applies what can
//! change live (the bot token, the log level) without dropping the socket API.

use crate::config::Config;
use crate::logging;
use crate::secret::SharedSecret;
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
/// token and the log level. The socket API keeps serving throughout.
pub async fn reload_on_hangup(file: Option<PathBuf>, token: SharedSecret, shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else { return };
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                received = hangups.recv() => if received.is_none() { return },
            }
            match Config::load(file.as_deref()).and_then(|config| Ok((config.load_token()?.0, config))) {
                Ok((new_token, config)) => {
                    if new_token != token.get() {
                        token.set(new_token);
                        tracing::info!("SIGHUP: bot token reloaded");
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
