//! `webex-hitl doctor`: the product documentation's troubleshooting table, run
//! as live checks against the configuration, Webex and the running daemon.
//!
//! Split so the judgement is testable without a network: [`gather`] collects
//! [`Facts`] (every I/O step, each allowed to fail), [`checks::findings`] turns
//! them into findings with the documented fix, and [`render`] prints them.

pub mod checks;
pub mod facts;
mod gather;

pub use checks::{findings, Finding, Level};
pub use facts::{Facts, WebexFailure};

use std::path::PathBuf;

/// What `doctor` was asked to look at.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub config: Option<PathBuf>,
    /// The daemon's socket; defaults to the configuration's `api.socket`.
    pub socket: Option<PathBuf>,
    /// A space the bot must be able to post to.
    pub space: Option<String>,
}

/// Runs every check, prints the report; true when nothing failed.
pub async fn run(options: &Options) -> bool {
    let facts = gather::gather(options).await;
    let findings = findings(&facts);
    print!("{}", render(&findings));
    !findings.iter().any(|f| f.level == Level::Fail)
}

/// `config check --online`: does Webex accept the configured token? The bot, described.
pub async fn check_token_online(config: &crate::config::Config) -> Result<String, WebexFailure> {
    let (rest, _) = crate::daemon::webex_clients(config).map_err(|e| WebexFailure::Other(e.to_string()))?;
    gather::me(&rest).await.map(|bot| checks::describe(&bot))
}

/// One line per check, its fix indented under it, and a summary.
pub fn render(findings: &[Finding]) -> String {
    let mut out = String::new();
    for finding in findings {
        out.push_str(&format!("{} {:<10} {}\n", finding.level.tag(), finding.check, finding.message));
        if let Some(fix) = &finding.fix {
            out.push_str(&format!("       fix: {fix}\n"));
        }
    }
    let count = |level| findings.iter().filter(|f| f.level == level).count();
    let failed = count(Level::Fail);
    out.push_str(&format!(
        "\n{} passed, {} warnings, {} failed, {} skipped: {}\n",
        count(Level::Ok),
        count(Level::Warn),
        failed,
        count(Level::Skip),
        if failed == 0 { "healthy" } else { "needs attention" }
    ));
    out
}
