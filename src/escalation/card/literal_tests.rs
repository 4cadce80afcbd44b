//! Untrusted text reads on the card exactly as it was given, on every
//! renderer: it is in TextRuns, never markdown. What the card changes is
//! documented and asserted here: control characters and bidi overrides are
//! dropped (they would make the text read differently from what it is),
//! mentions and autolinks carry an invisible zero-width space, and an answer
//! longer than the card has room for is cut with `…`.

use super::tests::{facts, rich_texts};
use super::*;
use crate::escalation::request;
use crate::model::ValidEscalation;
use crate::webex::ids::{IdKind, RestId};
use serde_json::json;

const ZWSP: char = '\u{200B}';

/// Strings that mean something to some renderer, parser or reader.
fn corpus() -> Vec<String> {
    let mut nasty: Vec<String> = [
        "**bold** _it_ ~~strike~~ `code` \\*escaped\\* \\#not-a-heading",
        "# heading\n> quote\n- item\n+ item\n1. first\n2) second\n---\n| a | b |",
        "[click](https://evil.example/login) ![img](http://x.io/a.png) <https://auto.link>",
        "<@all> <@personEmail:boss@example.com> <@personId:Y2lzY29z> @here",
        "see https://evil.example, www.evil.example and WWW.EVIL.EXAMPLE or ftp://x",
        "<script>alert(1)</script> <b>bold</b> &amp; &lt;tag&gt; &#x41; {{template}}",
        "abc\u{202E}cba\u{202D} \u{2066}isolate\u{2069} \u{200F}rtl mark\u{200E}",
        "😀👍🏽 👨‍👩‍👧 🇨🇭 é ñ ü 中文 العربية עברית",
        "tab\there\nnew line\r\nwindows line\u{0007}bell\u{0000}nul",
        "   leading spaces, trailing   ",
    ]
    .map(str::to_owned)
    .to_vec();
    // 7,000 bytes in 1,750 chars: within a summary's 4,000 chars.
    nasty.push("😀".repeat(1750));
    nasty
}

/// What the card reads: the runs' texts without the invisible zero-width spaces.
fn visible(s: &str) -> String {
    s.chars().filter(|&c| c != ZWSP).collect()
}

/// The input as it should read: without control characters (line breaks and
/// tabs kept) and bidi embedding, override and isolate characters.
fn expected(s: &str) -> String {
    s.chars()
        .filter(|&c| !(c.is_control() && c != '\n' && c != '\t'))
        .filter(|c| !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
        .collect()
}

/// `text` in every field, as far as validation lets it: one-line fields refuse
/// control characters, the summary and question all but line breaks and tabs
/// (an answer takes anything). A long text goes in the summary only: in every
/// field the card would not fit, and validation would refuse the request.
fn request_with(text: &str) -> ValidEscalation {
    let room = RestId::new(IdKind::Room, "us", "5e0f7a30-1b2c-11ef-8d9e-0123456789ab").encode();
    let long = text.len() > 1000;
    let keep = |c: char, multiline: bool| !c.is_control() || (multiline && matches!(c, '\n' | '\r' | '\t'));
    let field =
        |max: usize, multiline: bool| text.chars().filter(|&c| keep(c, multiline)).take(max).collect::<String>();
    let line = |max: usize| if long { "Jane".to_owned() } else { field(max, false) };
    let lines =
        |max: usize| if long && max < request::MAX_SUMMARY_CHARS { "Why?".to_owned() } else { field(max, true) };
    let body = json!({
        "to": {"space_id": room},
        "player": {"name": line(request::MAX_NAME_CHARS), "tags": [line(request::MAX_TAG_CHARS)]},
        "summary": lines(request::MAX_SUMMARY_CHARS),
        "question": lines(request::MAX_QUESTION_CHARS),
    });
    request::parse(body.to_string().as_bytes()).and_then(|r| r.validate()).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

#[test]
fn every_nasty_string_reads_on_the_card_as_it_was_given() {
    for text in corpus() {
        let request = request_with(&text);
        let view = CardView { escalation_id: "esc_01", signature: "sig", request: &request, claim: None };
        let pending = render(&view, &CardState::Pending).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let texts: Vec<String> = rich_texts(&pending.card).iter().map(|t| visible(t)).collect();
        assert!(texts.contains(&expected(&request.summary)), "summary of {text:?}: {texts:#?}");
        let question = request.question.as_deref().unwrap();
        assert!(texts.contains(&expected(question)), "question of {text:?}");
        let rows: Vec<(String, String)> = facts(&pending.card).into_iter().map(|(t, v)| (t, visible(&v))).collect();
        let name = request.player.name.as_deref().unwrap();
        assert!(rows.contains(&("Name".into(), expected(name))), "name of {text:?}: {rows:?}");
        assert!(rows.contains(&("Tags".into(), expected(&request.player.tags[0]))), "tag of {text:?}");

        let answer: String = text.chars().take(request::MAX_ANSWER_CHARS as usize).collect();
        let inputs = [("response".to_owned(), answer.clone())].into();
        let state =
            CardState::Answered { by_name: "Ana", by_email: None, at: chrono::Utc::now(), inputs: Some(&inputs) };
        let answered = render(&view, &state).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert!(answered.size() <= MAX_RENDERED_BYTES);
        let shown = facts(&answered.card).into_iter().find(|(title, _)| title == "Your input").expect("the answer");
        // The documented cut: an answer shows at most its first 1,000 chars.
        let cut = text::truncate_chars(&answer, ANSWER_CAPS[0]);
        assert_eq!(visible(&shown.1), expected(&cut), "answer of {text:?}");
    }
}

#[test]
fn the_long_answer_is_cut_as_documented_and_the_card_still_fits() {
    let long = "😀".repeat(1750);
    let request = request_with("s");
    let view = CardView { escalation_id: "esc_01", signature: "sig", request: &request, claim: None };
    let inputs = [("response".to_owned(), long)].into();
    let state = CardState::Answered { by_name: "Ana", by_email: None, at: chrono::Utc::now(), inputs: Some(&inputs) };
    let answered = render(&view, &state).unwrap();
    let (_, shown) = facts(&answered.card).into_iter().find(|(title, _)| title == "Your input").unwrap();
    assert_eq!(shown.chars().count(), ANSWER_CAPS[0]);
    assert!(shown.ends_with('…'));
    assert!(answered.size() <= MAX_RENDERED_BYTES);
}

#[test]
fn mentions_and_autolinks_stay_broken_in_the_runs() {
    let request = request_with("<@all> https://evil.example www.evil.example");
    let view = CardView { escalation_id: "esc_01", signature: "sig", request: &request, claim: None };
    let card = render(&view, &CardState::Pending).unwrap().card;
    for run in rich_texts(&card) {
        assert!(!run.contains("<@") && !run.contains("://") && !run.contains("www."), "{run:?}");
    }
}
