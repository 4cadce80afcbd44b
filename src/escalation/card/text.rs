//! Making untrusted text safe to show on a card or in the plain-text fallback.
//!
//! Player names, summaries, labels and answers come from players and from the AI
//! engine; none of them may format the card, open a link or mention anyone. On
//! the card they go in TextRuns, which are never markdown ([`plain`] is enough
//! there); only input labels, a plain string property that some renderers treat
//! as markdown, are backslash-escaped ([`md`]). Everywhere, mention syntax
//! (`<@all>`, `<@personEmail:…>`) and autolinks (`https://…`, `www.…`) are
//! broken with a zero-width space, for clients that look for them in any text.

const ZWSP: char = '\u{200B}';

/// Characters that start or end markdown constructs (links, emphasis, code,
/// headings, quotes, tables, strike-through, HTML, entities).
const MARKDOWN: &[char] = &['\\', '*', '_', '[', ']', '(', ')', '#', '>', '<', '`', '~', '|', '&', '!', '{', '}'];

/// Drops control characters (except line breaks and tabs) and bidi overrides that
/// could make text read differently from what it is.
fn sanitize(s: &str) -> String {
    s.chars()
        .filter(|&c| !(c.is_control() && c != '\n' && c != '\t'))
        .filter(|c| !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
        .collect()
}

/// Breaks mentions and autolinks; the text still reads the same.
fn neutralize(s: &str) -> String {
    s.replace("<@", &format!("<{ZWSP}@"))
        .replace("://", &format!(":{ZWSP}//"))
        .replace("www.", &format!("www{ZWSP}."))
        .replace("WWW.", &format!("WWW{ZWSP}."))
}

/// Text for the plain `text` fallback: no markdown is sent, but clients still
/// autolink and some parse mentions.
pub fn plain(s: &str) -> String {
    neutralize(&sanitize(s))
}

/// Text for a TextBlock or fact: shows literally whatever the input was.
pub fn md(s: &str) -> String {
    let safe = plain(s);
    let mut out = String::with_capacity(safe.len() + safe.len() / 8);
    for (i, line) in safe.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        escape_line(line, &mut out);
    }
    out
}

fn escape_line(line: &str, out: &mut String) {
    let body = line.trim_start_matches([' ', '\t']);
    out.push_str(&line[..line.len() - body.len()]);
    // List, heading-underline and ordered-list markers only count at a line start.
    let mut rest = body;
    if let Some(c) = body.chars().next().filter(|c| matches!(c, '-' | '+' | '=')) {
        out.push('\\');
        out.push(c);
        rest = &body[c.len_utf8()..];
    } else {
        let digits = body.len() - body.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if let Some(marker @ ('.' | ')')) = body[digits..].chars().next().filter(|_| digits > 0) {
            out.push_str(&body[..digits]);
            out.push('\\');
            out.push(marker);
            rest = &body[digits + 1..];
        }
    }
    for c in rest.chars() {
        if MARKDOWN.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// At most `max` chars, ending in `…` when cut.
pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// At most `max` bytes, cut on a char boundary, ending in `…` when cut.
pub fn truncate_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let budget = max.saturating_sub('…'.len_utf8());
    let mut end = budget.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = s[..end].to_owned();
    if max >= '…'.len_utf8() {
        out.push('…');
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Every one of `chars` in `s` follows a backslash.
    pub fn all_escaped(s: &str, chars: &str) -> bool {
        let mut prev = ' ';
        for c in s.chars() {
            if chars.contains(c) && prev != '\\' {
                return false;
            }
            prev = c;
        }
        true
    }

    #[test]
    fn markdown_is_escaped() {
        assert_eq!(md("**bold**"), "\\*\\*bold\\*\\*");
        assert_eq!(md("a_b `c`"), "a\\_b \\`c\\`");
        assert_eq!(md("# h\n> q\n- item\n+ x\n12. n\n  3) m"), "\\# h\n\\> q\n\\- item\n\\+ x\n12\\. n\n  3\\) m");
        assert_eq!(md("a - b 1. c"), "a - b 1. c", "markers mid-line stay");
    }

    #[test]
    fn links_mentions_and_urls_are_broken() {
        let out = md("[click](http://evil) <@all> <@personEmail:a@b.c> https://x.io www.y.io");
        for bad in ["://", "<@", "www."] {
            assert!(!out.contains(bad), "{bad:?} in {out:?}");
        }
        assert!(all_escaped(&out, "[]()<>"), "{out:?}");
        let p = plain("see https://evil.example or <@all>");
        assert!(!p.contains("://") && !p.contains("<@"), "{p:?}");
        assert!(p.contains("evil.example"));
    }

    #[test]
    fn control_and_bidi_characters_are_dropped() {
        assert_eq!(plain("a\u{0007}b\u{202E}c\nd"), "abc\nd");
    }

    #[test]
    fn truncation_keeps_char_boundaries() {
        assert_eq!(truncate_chars("abcdef", 4), "abc…");
        assert_eq!(truncate_chars("abc", 4), "abc");
        let s = "é".repeat(10);
        let t = truncate_bytes(&s, 8);
        assert!(t.len() <= 8 && t.ends_with('…'), "{t:?}");
        assert_eq!(truncate_bytes("short", 100), "short");
    }
}
