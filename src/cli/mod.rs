//! The CLI verbs that talk to a running daemon over its socket: the same API
//! the AI engine uses, read through the API's own types, so what the CLI shows
//! is what the engine gets.

pub mod audit;
pub mod client;
pub mod escalations;
pub mod spaces;
pub mod status;

use crate::api::error::ErrorBody;
use anyhow::Context;
use client::Answer;
use serde::de::DeserializeOwned;

pub use audit::audit;
pub use escalations::{cancel, escalate, escalations, events, exit_code, notify, wait};
pub use spaces::spaces;
pub use status::status;

/// The body of a 2xx answer as the API's type for it, or the API's error
/// message as an error. A field renamed in the API fails here, loudly.
pub fn expect_ok<T: DeserializeOwned>(answer: Answer) -> anyhow::Result<T> {
    if !answer.status.is_success() {
        let message = match serde_json::from_value::<ErrorBody>(answer.body.clone()) {
            Ok(body) => body.error.message,
            Err(_) => answer.body.to_string(),
        };
        anyhow::bail!("{} ({})", message, answer.status)
    }
    serde_json::from_value(answer.body).context("the daemon's answer does not have the expected shape")
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
