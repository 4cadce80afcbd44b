//! The `text` Webex derives when a message is posted with `markdown` only.
//!
//! Webex answers every message with a plain-text `text`, even when the sender
//! gave only `markdown` (clients that show notifications or logs read it). The
//! exact rendering is not documented; this strips what markdown adds and keeps
//! what a reader sees: emphasis markers go, a link shows its label, a mention
//! its name (or email), an escaped character itself.

/// Plain text of a markdown message.
pub fn text_of_markdown(markdown: &str) -> String {
    markdown.lines().map(line_text).collect::<Vec<_>>().join("\n")
}

/// A heading's `#`s (before a space) and a quote's `>` are not shown.
fn line_text(line: &str) -> String {
    let line = line.trim_start();
    let unheaded = line.trim_start_matches('#');
    let line = match unheaded.strip_prefix(' ') {
        Some(title) if unheaded.len() < line.len() => title,
        _ => line,
    };
    let line = line.strip_prefix('>').map_or(line, str::trim_start);
    inline_text(line)
}

/// Walks one line: `[label](url)` → label, `<@personEmail:x|Name>` → Name,
/// `<url>` → url, `\*` → `*`, and drops `*`, `_`, `~` and backticks.
fn inline_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        let after = &rest[c.len_utf8()..];
        match c {
            '\\' if after.starts_with(|n: char| n.is_ascii_punctuation()) => {
                let escaped = after.chars().next().unwrap_or('\\');
                out.push(escaped);
                rest = &after[escaped.len_utf8()..];
            }
            '[' => match link(after) {
                Some((label, tail)) => {
                    out.push_str(&inline_text(label));
                    rest = tail;
                }
                None => {
                    out.push(c);
                    rest = after;
                }
            },
            '<' => match angle(after) {
                Some((shown, tail)) => {
                    out.push_str(shown);
                    rest = tail;
                }
                None => {
                    out.push(c);
                    rest = after;
                }
            },
            '*' | '_' | '~' | '`' => rest = after,
            _ => {
                out.push(c);
                rest = after;
            }
        }
    }
    out
}

/// `label](url)…` → (label, …).
fn link(s: &str) -> Option<(&str, &str)> {
    let close = s.find("](")?;
    let end = s[close + 2..].find(')')? + close + 2;
    Some((&s[..close], &s[end + 1..]))
}

/// `@personEmail:x|Name>…`, `@all>…` or `https://…>…` → (what is shown, …).
fn angle(s: &str) -> Option<(&str, &str)> {
    let end = s.find('>')?;
    let inner = &s[..end];
    let shown = if let Some(mention) = inner.strip_prefix('@') {
        match mention.split_once('|') {
            Some((_, name)) => name,
            None => mention.split_once(':').map_or(mention, |(_, who)| who),
        }
    } else if inner.starts_with("http://") || inner.starts_with("https://") || inner.starts_with("mailto:") {
        inner
    } else {
        return None;
    };
    Some((shown, &s[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::text_of_markdown;

    #[test]
    fn markdown_becomes_what_a_reader_sees() {
        let cases = [
            ("**Heads up**: queue is _long_", "Heads up: queue is long"),
            ("see [the plan](https://example.com/p) now", "see the plan now"),
            ("ask <@personEmail:ana@example.com|Ana> or <@personEmail:bo@example.com>", "ask Ana or bo@example.com"),
            ("# Title\n> quoted `code`", "Title\nquoted code"),
            (r"Withdrawal \#4411 \(VIP\) 2 \* 3", "Withdrawal #4411 (VIP) 2 * 3"),
            ("<https://example.com> a < b > c", "https://example.com a < b > c"),
            ("plain, nothing to strip: ünïcødé [x]", "plain, nothing to strip: ünïcødé [x]"),
        ];
        for (markdown, text) in cases {
            assert_eq!(text_of_markdown(markdown), text, "{markdown}");
        }
    }
}
