use super::*;
use crate::escalation::request;
use crate::model::ValidEscalation;
use crate::webex::ids::{IdKind, RestId};
use chrono::TimeZone;
use serde_json::{json, Value};

/// Element and action types Webex renders from Adaptive Cards 1.3 that we use.
const SUPPORTED: &[&str] = &[
    "AdaptiveCard",
    "RichTextBlock",
    "TextRun",
    "Container",
    "ColumnSet",
    "Column",
    "Input.Text",
    "Input.ChoiceSet",
    "Action.Submit",
    "ActionSet",
];

fn valid(body: Value) -> ValidEscalation {
    let room = RestId::new(IdKind::Room, "us", "5e0f7a30-1b2c-11ef-8d9e-0123456789ab").encode();
    let mut full = json!({"to": {"space_id": room}});
    if let (Some(f), Some(b)) = (full.as_object_mut(), body.as_object()) {
        f.extend(b.clone());
    }
    request::parse(full.to_string().as_bytes())
        .and_then(|r| r.validate())
        .unwrap_or_else(|e| panic!("invalid test request: {e}"))
}

fn example() -> ValidEscalation {
    valid(json!({
        "player": {"name": "Jane Doe", "email": "jane@example.com", "tags": ["VIP", "KYC pending"], "brand": "LuckySpin"},
        "summary": "Player asks why withdrawal #4411 is on hold. Deposit cleared yesterday.",
        "question": "Can we release the withdrawal?",
    }))
}

fn view(request: &ValidEscalation) -> CardView<'_> {
    CardView { escalation_id: "esc_01", signature: "c2lnbmF0dXJlLXNpZ24", request, claim: None }
}

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 13, 5, 0).unwrap()
}

/// Every `type` in the card, depth first.
fn types(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(v, &mut |o| {
        if let Some(t) = o.get("type").and_then(Value::as_str) {
            out.push(t.to_owned());
        }
    });
    out
}

fn walk(v: &Value, visit: &mut dyn FnMut(&serde_json::Map<String, Value>)) {
    match v {
        Value::Object(o) => {
            visit(o);
            o.values().for_each(|c| walk(c, visit));
        }
        Value::Array(items) => items.iter().for_each(|c| walk(c, visit)),
        _ => {}
    }
}

/// What a RichTextBlock reads: its runs' texts, in order.
pub(super) fn rich_text(block: &Value) -> String {
    block["inlines"].as_array().into_iter().flatten().map(|run| run["text"].as_str().unwrap_or("")).collect()
}

/// Every RichTextBlock's text, depth first.
pub(super) fn rich_texts(card: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(card, &mut |o| {
        if o.get("type").and_then(Value::as_str) == Some("RichTextBlock") {
            out.push(rich_text(&Value::Object(o.clone())));
        }
    });
    out
}

/// Every string shown as text: RichTextBlocks (literal) and input labels (markdown, escaped).
fn shown_texts(card: &Value) -> Vec<String> {
    let mut out = rich_texts(card);
    walk(card, &mut |o| {
        if o.get("type").and_then(Value::as_str).is_some_and(|t| t.starts_with("Input.")) {
            out.extend(o.get("label").and_then(Value::as_str).map(str::to_owned));
        }
    });
    out
}

/// The (title, value) rows: ColumnSets of two columns of one RichTextBlock each.
pub(super) fn facts(card: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk(card, &mut |o| {
        if o.get("type").and_then(Value::as_str) == Some("ColumnSet") {
            let cell = |i: usize| rich_text(&o["columns"][i]["items"][0]);
            out.push((cell(0), cell(1)));
        }
    });
    out
}

fn assert_supported(card: &Value) {
    for t in types(card) {
        assert!(SUPPORTED.contains(&t.as_str()), "unsupported element {t}");
    }
    let text = card.to_string();
    assert!(!text.contains("Action.Execute") && !text.contains("\"refresh\""));
    assert_eq!(card["version"], "1.3");
    assert_eq!(card["$schema"], CARD_SCHEMA);
}

#[test]
fn the_pending_card_asks_for_input() {
    let request = example();
    let r = render(&view(&request), &CardState::Pending).unwrap();
    assert_supported(&r.card);
    let submits: Vec<&Value> = r.card["actions"].as_array().unwrap().iter().collect();
    assert_eq!(submits.len(), 1);
    assert_eq!(submits[0]["type"], "Action.Submit");
    assert_eq!(submits[0]["title"], SUBMIT_TITLE);
    assert_eq!(submits[0]["data"], json!({"_escalation": "esc_01", "_sig": "c2lnbmF0dXJlLXNpZ24"}));
    assert_eq!(types(&r.card).iter().filter(|t| t.starts_with("Action.")).count(), 1);
    assert_eq!(
        facts(&r.card),
        [("Name", "Jane Doe"), ("Email", "jane@example.com"), ("Tags", "VIP, KYC pending"), ("Brand", "LuckySpin")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let body = r.card["body"].as_array().unwrap();
    assert_eq!(rich_text(&body[0]), "Specialist input needed — LuckySpin");
    let input = body.iter().find(|e| e["type"] == "Input.Text").unwrap();
    assert_eq!(input["id"], "response");
    assert_eq!(input["isMultiline"], true);
    assert_eq!(input["isRequired"], true);
    assert_eq!(input["label"], "Your input");
    assert_eq!(input["maxLength"], 4000);
    let texts = shown_texts(&r.card).join("\n");
    assert!(texts.contains("withdrawal #4411 is on hold"), "{texts}");
    assert!(texts.contains("Can we release the withdrawal?"));
    assert_eq!(
        r.fallback_text,
        "Specialist input needed — Player: Jane Doe (jane@example.com), VIP, KYC pending — LuckySpin\n\
         Summary: Player asks why withdrawal #4411 is on hold. Deposit cleared yesterday.\n\
         Question: Can we release the withdrawal?\n\
         Open this message in a Webex client that shows cards to answer."
    );
    assert_eq!(r.markdown, None);
}

#[test]
fn a_player_without_facts_gets_no_facts() {
    let request = valid(json!({"summary": "s"}));
    let r = render(&view(&request), &CardState::Pending).unwrap();
    assert_eq!(facts(&r.card), []);
    assert!(r.fallback_text.starts_with("Specialist input needed\nSummary: s\n"));
}

#[test]
fn choice_fields_render_as_choice_sets() {
    let request = valid(json!({"summary": "s", "fields": [
        {"id": "decision", "label": "Decision", "kind": "choice", "required": true,
         "options": ["approve", {"value": "deny", "title": "Deny it"}]},
        {"id": "tags", "label": "Tags", "kind": "choice", "multiple": true,
         "options": ["a", "b", "c", "d", "e", "f", "g"]},
        {"id": "why", "label": "Why", "placeholder": "Explain"}
    ]}));
    let r = render(&view(&request), &CardState::Pending).unwrap();
    assert_supported(&r.card);
    let body = r.card["body"].as_array().unwrap();
    let sets: Vec<&Value> = body.iter().filter(|e| e["type"] == "Input.ChoiceSet").collect();
    assert_eq!(sets.len(), 2);
    assert_eq!(sets[0]["id"], "decision");
    assert_eq!(
        sets[0]["choices"],
        json!([{"title": "approve", "value": "approve"}, {"title": "Deny it", "value": "deny"}])
    );
    assert_eq!(sets[0]["isMultiSelect"], false);
    assert_eq!(sets[0]["isRequired"], true);
    assert_eq!(sets[0]["style"], "expanded");
    assert_eq!(sets[1]["isMultiSelect"], true);
    let text = body.iter().find(|e| e["id"] == "why").unwrap();
    assert_eq!(text["placeholder"], "Explain");
    assert_eq!(text["isMultiline"], false);
}

fn final_states(inputs: &BTreeMap<String, String>) -> Vec<(CardState<'_>, &'static str)> {
    vec![
        (
            CardState::Answered {
                by_name: "Ana Specialist",
                by_email: Some("ana@example.com"),
                at: at(),
                inputs: Some(inputs),
            },
            "✅ Answered by Ana Specialist (ana@example.com) at 2026-11-25 13:05 UTC",
        ),
        (
            CardState::Answered { by_name: "Ana Specialist", by_email: None, at: at(), inputs: None },
            "✅ Answered by Ana Specialist at 2026-11-25 13:05 UTC",
        ),
        (CardState::Expired { at: at() }, "⌛ Expired at 2026-11-25 13:05 UTC"),
        (
            CardState::Cancelled { at: at(), reason: Some("Player left") },
            "🚫 Cancelled at 2026-11-25 13:05 UTC: Player left",
        ),
        (CardState::Cancelled { at: at(), reason: None }, "🚫 Cancelled at 2026-11-25 13:05 UTC"),
        (CardState::Failed { reason: "Webex refused the card" }, "⚠️ Failed: Webex refused the card"),
    ]
}

#[test]
fn final_states_drop_inputs_and_actions_and_say_what_happened() {
    let request = example();
    let inputs: BTreeMap<String, String> = [("response".to_owned(), "Release it.".to_owned())].into();
    for (state, line) in final_states(&inputs) {
        let r = render(&view(&request), &state).unwrap();
        assert_supported(&r.card);
        let kinds = types(&r.card);
        assert!(!kinds.iter().any(|t| t.starts_with("Input.") || t.starts_with("Action.")), "{kinds:?}");
        assert!(r.card.get("actions").is_none());
        let texts = shown_texts(&r.card);
        assert!(texts.iter().any(|t| t.starts_with(line)), "{line} not in {texts:?}");
        assert!(r.fallback_text.contains(line), "{}", r.fallback_text);
        assert!(!r.fallback_text.contains("Open this message"));
        assert_eq!(facts(&r.card)[0], ("Name".to_owned(), "Jane Doe".to_owned()), "player stays");
        assert!(texts.iter().any(|t| t.contains("withdrawal #4411")), "summary stays");
        let shows_answer = facts(&r.card).contains(&("Your input".to_owned(), "Release it.".to_owned()));
        let answered_with_inputs = matches!(state, CardState::Answered { inputs: Some(_), .. });
        assert_eq!(shows_answer, answered_with_inputs);
        assert_eq!(r.fallback_text.contains("Your input: Release it."), answered_with_inputs);
    }
}

#[test]
fn choice_answers_show_their_titles() {
    let request = valid(json!({"summary": "s", "fields": [
        {"id": "d", "label": "Decision", "kind": "choice", "multiple": true,
         "options": [{"value": "ok", "title": "Approve"}, {"value": "no", "title": "Deny"}]}
    ]}));
    let inputs: BTreeMap<String, String> = [("d".to_owned(), "ok,no".to_owned())].into();
    let state = CardState::Answered { by_name: "Ana", by_email: None, at: at(), inputs: Some(&inputs) };
    let r = render(&view(&request), &state).unwrap();
    assert!(facts(&r.card).contains(&("Decision".to_owned(), "Approve, Deny".to_owned())));
}

const EVIL: &str = "[click](http://evil) <@all> **bold** https://evil.example <@personEmail:boss@example.com>";

const SHORT_EVIL: &str = "<@all> **b** [x](http://e.io)";

/// No mention or autolink survives (markdown may: in a TextRun it is literal).
fn assert_neutral(s: &str) {
    for bad in ["://", "<@", "www."] {
        assert!(!s.contains(bad), "{bad:?} survives in {s:?}");
    }
}

fn assert_escaped(s: &str) {
    assert_neutral(s);
    for bad in ["**", "]("] {
        assert!(!s.contains(bad), "{bad:?} survives in {s:?}");
    }
    assert!(super::text::tests::all_escaped(s, "[]()*<>"), "unescaped markdown in {s:?}");
}

#[test]
fn injected_markdown_mentions_and_links_are_neutralised() {
    let request = valid(json!({
        "player": {"name": EVIL, "email": "evil_guy@example.com", "tags": [SHORT_EVIL, "- list"], "brand": EVIL},
        "summary": format!("{EVIL}\n# heading\n1. item"),
        "question": EVIL,
        "fields": [
            {"id": "a", "label": EVIL, "placeholder": EVIL},
            {"id": "b", "label": "Pick", "kind": "choice", "options": [{"value": "x", "title": EVIL}]}
        ],
    }));
    let pending = render(&view(&request), &CardState::Pending).unwrap();
    let choice_titles = pending.card["body"].to_string();
    assert!(!choice_titles.contains("<@all") && !choice_titles.contains("http://"), "{choice_titles}");
    let inputs: BTreeMap<String, String> = [("a".to_owned(), EVIL.to_owned()), ("b".to_owned(), "x".to_owned())].into();
    let states = [
        CardState::Pending,
        CardState::Answered { by_name: EVIL, by_email: Some("a_b@example.com"), at: at(), inputs: Some(&inputs) },
        CardState::Cancelled { at: at(), reason: Some(EVIL) },
        CardState::Failed { reason: EVIL },
    ];
    for state in states {
        let r = render(&view(&request), &state).unwrap();
        let texts = rich_texts(&r.card);
        assert!(texts.len() >= 5);
        texts.iter().for_each(|t| assert_neutral(t));
        for label in shown_texts(&r.card).iter().filter(|t| !texts.contains(t)) {
            assert_escaped(label);
        }
        assert!(!types(&r.card).iter().any(|t| t == "TextBlock" || t == "FactSet"), "no markdown element");
        // Plain text (no markdown is sent): only autolinks and mentions matter.
        assert!(!r.fallback_text.contains("<@") && !r.fallback_text.contains("://"));
    }
}

fn huge() -> ValidEscalation {
    let line = "Player says: *deposit* [#4411] (é) was late; ";
    let summary: String = line.repeat(100).chars().take(request::MAX_SUMMARY_CHARS).collect();
    let fields: Vec<Value> = (0..request::MAX_FIELDS)
        .map(|i| json!({"id": format!("f{i}"), "label": format!("{i} {}", "l".repeat(60)), "required": true}))
        .collect();
    valid(json!({
        "key": "k".repeat(request::MAX_KEY_CHARS),
        "player": {"name": "n".repeat(200), "email": "jane@example.com",
                   "tags": vec!["t".repeat(64); request::MAX_TAGS], "brand": "b".repeat(100)},
        "summary": summary,
        "question": "q".repeat(request::MAX_QUESTION_CHARS),
        "fields": fields,
    }))
}

#[test]
fn a_huge_valid_request_fits_in_every_state() {
    let request = huge();
    let answers: BTreeMap<String, String> = request.fields.iter().map(|f| (f.id.clone(), "😀*".repeat(2000))).collect();
    let long = "ü".repeat(5000);
    let mut states = vec![CardState::Pending];
    states.extend(final_states(&answers).into_iter().map(|(s, _)| s));
    states.push(CardState::Answered { by_name: &long, by_email: Some(&long), at: at(), inputs: Some(&answers) });
    states.push(CardState::Cancelled { at: at(), reason: Some(&long) });
    let pending = render(&view(&request), &CardState::Pending).unwrap();
    assert!(pending.size() > 12_000, "huge enough to matter: {}", pending.size());
    for state in states {
        let r = render(&view(&request), &state).unwrap_or_else(|e| panic!("{state:?}: {e}"));
        assert!(r.size() <= MAX_RENDERED_BYTES, "{state:?}: {}", r.size());
        assert!(r.fallback_text.len() <= FALLBACK_MAX_BYTES);
        assert_supported(&r.card);
    }
    let answered = CardState::Answered { by_name: "Ana", by_email: None, at: at(), inputs: Some(&answers) };
    let r = render(&view(&request), &answered).unwrap();
    assert!(facts(&r.card).iter().any(|(_, v)| v.ends_with('…')), "long answers are cut");
}

#[test]
fn answers_give_way_when_even_their_labels_do_not_fit() {
    let mut request = huge();
    for f in &mut request.fields {
        f.label = format!("{}{}", f.id, "😀".repeat(190));
    }
    let answers: BTreeMap<String, String> = request.fields.iter().map(|f| (f.id.clone(), "a".into())).collect();
    let answered = CardState::Answered { by_name: "Ana", by_email: None, at: at(), inputs: Some(&answers) };
    let r = render(&view(&request), &answered).unwrap();
    assert!(r.size() <= MAX_RENDERED_BYTES);
    assert!(shown_texts(&r.card).iter().any(|t| t.starts_with("✅ Answered by Ana")));
}

#[test]
fn fallback_is_cut_on_a_char_boundary() {
    let mut request = example();
    request.summary = "é".repeat(1500);
    request.question = Some("😀".repeat(490));
    request.player.tags = vec!["ü".repeat(64); 20];
    request.player.name = Some("ü".repeat(200));
    let r = render(&view(&request), &CardState::Expired { at: at() }).unwrap();
    assert!(r.fallback_text.len() <= FALLBACK_MAX_BYTES && r.fallback_text.len() > 7000);
    assert!(r.fallback_text.ends_with('…'), "{}: {:?}", r.fallback_text.len(), r.fallback_text);
}

#[test]
fn escaped_fallback_bytes_count_towards_the_limit() {
    let mut request = example();
    request.summary = "\"".repeat(1500);
    let r = render(&view(&request), &CardState::Pending).unwrap();
    assert!(r.size() > r.card.to_string().len() + r.fallback_text.len());
}

#[test]
fn an_oversize_card_is_refused() {
    let mut request = example();
    request.summary = "*".repeat(30_000);
    match render(&view(&request), &CardState::Pending) {
        Err(RenderError::TooLarge { bytes, limit }) => {
            assert_eq!(limit, MAX_RENDERED_BYTES);
            assert!(bytes > limit);
        }
        Ok(r) => panic!("rendered {} bytes", r.size()),
    }
    assert!(check_fits(&request).is_err());
    assert!(check_fits(&example()).is_ok());
}
