//! Log output through tracing: human-readable by default, JSON when configured.
//! Both go to stderr, which journald captures with the unit's name. The level
//! can be changed at run time (SIGHUP re-reads `log.level`).

use crate::config::{LogConfig, LogFormat};
use std::sync::OnceLock;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Layer, Registry};

static LEVEL: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// Installs the global subscriber. `RUST_LOG`, when set, wins over the config,
/// so an operator can turn up one module without editing the file.
pub fn init(config: &LogConfig) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| filter_for(&config.level));
    let (filter, handle) = reload::Layer::new(never_below_info(filter));
    // Colours only for a person at a terminal, never in journald or a pipe.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let output = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(ansi);
    let output = match config.format {
        LogFormat::Text => output.boxed(),
        LogFormat::Json => output.json().flatten_event(true).boxed(),
    };
    // A subscriber already installed (tests, the demo) is fine.
    if tracing_subscriber::registry().with(filter).with(output).try_init().is_ok() {
        let _ = LEVEL.set(handle);
    }
}

/// Changes the level filter of the running process.
pub fn set_level(level: &str) -> Result<(), String> {
    let handle = LEVEL.get().ok_or("logging was not initialised by this process")?;
    let filter = EnvFilter::try_new(level).map_err(|e| format!("log.level: {e}"))?;
    handle.reload(never_below_info(filter)).map_err(|e| e.to_string())
}

fn filter_for(level: &str) -> EnvFilter {
    EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The websocket library traces whole frame payloads, and the first frame
/// carries the bot token: those targets never log below `info`, whatever the
/// operator asked for.
fn never_below_info(filter: EnvFilter) -> EnvFilter {
    ["tungstenite", "tokio_tungstenite"].iter().fold(filter, |filter, target| match format!("{target}=info").parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    })
}
