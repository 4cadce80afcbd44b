//! The CLI verbs that talk to a running daemon over its socket: the same API
//! the AI engine uses, so what the CLI shows is what the engine gets.

pub mod audit;
pub mod client;
pub mod escalations;
pub mod spaces;
pub mod status;

use client::Answer;
use serde_json::Value;

pub use audit::audit;
pub use escalations::{cancel, escalate, escalations, events, notify, wait};
pub use spaces::spaces;
pub use status::status;

/// The body of a 2xx answer, or the API's error message as an error.
pub fn expect_ok(answer: Answer) -> anyhow::Result<Value> {
    if answer.status.is_success() {
        return Ok(answer.body);
    }
    let message =
        answer.body["error"]["message"].as_str().map(str::to_owned).unwrap_or_else(|| answer.body.to_string());
    anyhow::bail!("{} ({})", message, answer.status)
}

/// A plain-text table; column `cut.0` is cut to `cut.1` characters.
pub fn render_table(headers: &[&str], rows: &[Vec<String>], cut: Option<(usize, usize)>) -> String {
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            let widest = rows.iter().map(|r| r[i].chars().count()).chain([headers[i].len()]).max().unwrap_or(0);
            match cut {
                Some((column, max)) if column == i => widest.min(max),
                _ => widest,
            }
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> =
            cells.iter().zip(&widths).map(|(c, w)| format!("{:<w$}", truncate(c, *w), w = *w)).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}
