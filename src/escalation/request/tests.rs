use super::*;
use crate::webex::ids::{IdKind, RestId};
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn room_id() -> String {
    RestId::new(IdKind::Room, "us", "5e0f7a30-1b2c-11ef-8d9e-0123456789ab").encode()
}

fn person_id() -> String {
    RestId::new(IdKind::People, "us", "2b9d4e10-6c7a-4f1b-8e3d-5a0c1b2d3e4f").encode()
}

fn base() -> Value {
    json!({
        "key": "conv-8812/turn-14",
        "to": {"space_id": room_id()},
        "player": {"name": "Jane Doe", "email": "jane@example.com", "tags": ["VIP", "KYC pending"], "brand": "LuckySpin"},
        "summary": "Player asks why withdrawal #4411 is on hold. Deposit cleared yesterday.",
        "question": "Can we release the withdrawal?",
        "fields": [{"id": "response", "label": "Your input", "kind": "text", "multiline": true, "required": true}],
        "timeout_s": 1800,
        "context": {"conversation_id": "8812"}
    })
}

fn run(body: &Value) -> Result<ValidEscalation, InvalidRequest> {
    parse(body.to_string().as_bytes())?.validate()
}

/// The field named by the error for `base()` with `edit` applied.
fn error_field(edit: impl FnOnce(&mut Value)) -> String {
    let mut body = base();
    edit(&mut body);
    match run(&body) {
        Ok(_) => panic!("accepted: {body}"),
        Err(e) => {
            assert!(!e.message.is_empty());
            e.field
        }
    }
}

fn choice(options: Value) -> Value {
    json!({"id": "decision", "label": "Decision", "kind": "choice", "options": options})
}

#[test]
fn the_issue_example_is_valid() {
    let v = run(&base()).unwrap();
    assert_eq!(v.key.as_deref(), Some("conv-8812/turn-14"));
    assert_eq!(v.to, Destination::SpaceId(room_id()));
    assert_eq!(v.player.tags, vec!["VIP", "KYC pending"]);
    assert_eq!(v.timeout, Duration::from_secs(1800));
    assert_eq!(v.context, json!({"conversation_id": "8812"}));
    assert_eq!(v.fields[0].max_length, Some(MAX_ANSWER_CHARS));
}

#[test]
fn defaults_are_applied() {
    let body = json!({"to": {"person_email": "ana@example.com"}, "summary": "  Help  "});
    let v = run(&body).unwrap();
    assert_eq!(v.fields, vec![default_field()]);
    assert!(v.fields[0].multiline && v.fields[0].required);
    assert_eq!(v.fields[0].id, "response");
    assert_eq!(v.timeout, Duration::from_secs(DEFAULT_TIMEOUT_S));
    assert_eq!(v.summary, "Help");
    assert_eq!(v.player, Player::default());
    assert_eq!(v.context, Value::Null);
    assert_eq!(v.key, None);
    let blank_question = json!({"to": {"person_id": person_id()}, "summary": "x", "question": " "});
    assert_eq!(run(&blank_question).unwrap().question, None);
}

#[test]
fn destinations_are_checked() {
    assert_eq!(error_field(|b| b["to"] = json!({})), "to");
    assert_eq!(error_field(|b| b["to"] = json!({"room": "x"})), "to");
    let both = json!({"space_id": room_id(), "person_email": "a@b.co"});
    let mut body = base();
    body["to"] = both;
    let e = run(&body).unwrap_err();
    assert_eq!(e.field, "to");
    assert!(e.message.contains("exactly one"), "{e}");
    assert_eq!(
        error_field(|b| {
            b.as_object_mut().unwrap().remove("to");
        }),
        "to"
    );
    assert_eq!(error_field(|b| b["to"] = json!("room")), "to");
    assert_eq!(error_field(|b| b["to"] = json!({"space_id": person_id()})), "to.space_id");
    assert_eq!(error_field(|b| b["to"] = json!({"space_id": "nope"})), "to.space_id");
    assert_eq!(error_field(|b| b["to"] = json!({"person_id": room_id()})), "to.person_id");
    assert_eq!(error_field(|b| b["to"] = json!({"person_email": "no-at"})), "to.person_email");
    let dm = json!({"to": {"person_id": person_id()}, "summary": "x"});
    assert_eq!(run(&dm).unwrap().to, Destination::PersonId(person_id()));
}

#[test]
fn summary_question_key_timeout_and_context_are_checked() {
    assert_eq!(error_field(|b| b["summary"] = json!("   ")), "summary");
    assert_eq!(
        error_field(|b| {
            b.as_object_mut().unwrap().remove("summary");
        }),
        "summary"
    );
    assert_eq!(error_field(|b| b["summary"] = json!("x".repeat(MAX_SUMMARY_CHARS + 1))), "summary");
    assert_eq!(error_field(|b| b["summary"] = json!(5)), "summary");
    assert_eq!(error_field(|b| b["question"] = json!("q".repeat(MAX_QUESTION_CHARS + 1))), "question");
    assert_eq!(error_field(|b| b["key"] = json!("k".repeat(201))), "key");
    assert_eq!(error_field(|b| b["timeout_s"] = json!(29)), "timeout_s");
    assert_eq!(error_field(|b| b["timeout_s"] = json!(604_801)), "timeout_s");
    assert_eq!(error_field(|b| b["timeout_s"] = json!(-1)), "timeout_s");
    assert_eq!(error_field(|b| b["context"] = json!("c".repeat(MAX_CONTEXT_BYTES))), "context");
    assert_eq!(error_field(|b| b["extra"] = json!(1)), "extra");
    for ok in [crate::config::DEFAULT_MIN_TIMEOUT_S, MAX_TIMEOUT_S] {
        let mut body = base();
        body["timeout_s"] = json!(ok);
        assert_eq!(run(&body).unwrap().timeout, Duration::from_secs(ok));
    }
}

#[test]
fn player_is_checked() {
    assert_eq!(error_field(|b| b["player"]["email"] = json!("jane at example")), "player.email");
    assert_eq!(error_field(|b| b["player"]["tags"] = json!(vec!["t"; MAX_TAGS + 1])), "player.tags");
    assert_eq!(error_field(|b| b["player"]["tags"] = json!(["ok", 3])), "player.tags[1]");
    assert_eq!(error_field(|b| b["player"]["tags"] = json!(["ok", ""])), "player.tags[1]");
    assert_eq!(error_field(|b| b["player"]["name"] = json!("n".repeat(201))), "player.name");
    assert_eq!(error_field(|b| b["player"]["brand"] = json!("b".repeat(101))), "player.brand");
    assert_eq!(error_field(|b| b["player"]["phone"] = json!("1")), "player.phone");
    assert_eq!(error_field(|b| b["player"]["name"] = json!("a\u{0007}b")), "player.name");
}

#[test]
fn fields_are_checked() {
    let f = |b: &mut Value, v: Value| b["fields"] = v;
    assert_eq!(error_field(|b| f(b, json!([{"id": "a", "label": "A", "kind": "date"}]))), "fields[0].kind");
    assert_eq!(
        error_field(|b| f(b, json!([{"id": "a", "label": "A"}, {"id": "b", "label": "B", "kind": 1}]))),
        "fields[1].kind"
    );
    assert_eq!(error_field(|b| f(b, json!([{"id": "a", "label": "A"}, {"id": "a", "label": "B"}]))), "fields[1].id");
    assert_eq!(error_field(|b| f(b, json!([{"id": "_escalation", "label": "A"}]))), "fields[0].id");
    assert_eq!(error_field(|b| f(b, json!([{"id": "_sig", "label": "A"}]))), "fields[0].id");
    assert_eq!(error_field(|b| f(b, json!([{"id": "a b", "label": "A"}]))), "fields[0].id");
    assert_eq!(error_field(|b| f(b, json!([{"id": "i".repeat(65), "label": "A"}]))), "fields[0].id");
    assert_eq!(error_field(|b| f(b, json!([{"id": "a", "label": "l".repeat(201)}]))), "fields[0].label");
    assert_eq!(error_field(|b| f(b, json!([{"id": "a"}]))), "fields[0].label");
    assert_eq!(error_field(|b| f(b, json!([{"id": "a", "label": "A", "colour": 1}]))), "fields[0].colour");
    assert_eq!(error_field(|b| f(b, json!([choice(json!([]))]))), "fields[0].options");
    assert_eq!(error_field(|b| f(b, json!([{"id": "a", "label": "A", "kind": "choice"}]))), "fields[0].options");
    assert_eq!(error_field(|b| f(b, json!([choice(json!(["x", 1]))]))), "fields[0].options[1]");
    assert_eq!(error_field(|b| f(b, json!([choice(json!(["x", "x"]))]))), "fields[0].options[1].value");
    assert_eq!(error_field(|b| f(b, json!([{"id": "a", "label": "A", "max_length": 0}]))), "fields[0].max_length");
    assert_eq!(error_field(|b| f(b, json!([{"id": "a", "label": "A", "options": ["x"]}]))), "fields[0].options");
    let many: Vec<Value> = (0..=MAX_FIELDS).map(|i| json!({"id": format!("f{i}"), "label": "L"})).collect();
    assert_eq!(error_field(|b| f(b, json!(many))), "fields");
    assert_eq!(error_field(|b| f(b, json!({"id": "a"}))), "fields");
}

#[test]
fn messages_say_what_is_wrong() {
    let message = |edit: fn(&mut Value)| {
        let mut body = base();
        edit(&mut body);
        run(&body).unwrap_err().to_string()
    };
    let kind = message(|b| b["fields"][0]["kind"] = json!("date"));
    assert!(kind.starts_with("fields[0].kind: ") && kind.contains("`choice`"), "{kind}");
    let missing = message(|b| {
        b.as_object_mut().unwrap().remove("to");
    });
    assert!(missing.contains("space_id, person_email, person_id"), "{missing}");
    let unknown = message(|b| b["colour"] = json!(1));
    assert!(unknown.starts_with("colour: unknown field; expected"), "{unknown}");
    let reserved = message(|b| b["fields"][0]["id"] = json!("_sig"));
    assert!(reserved.contains("reserved"), "{reserved}");
}

#[test]
fn choice_options_accept_strings_and_objects() {
    let mut body = base();
    body["fields"] = json!([
        choice(json!(["approve", {"value": "deny", "title": "Deny it"}, {"value": "wait"}])),
        {"id": "why", "label": "Why", "multiline": true}
    ]);
    let v = run(&body).unwrap();
    let titles: Vec<(&str, &str)> = v.fields[0].options.iter().map(|o| (o.value.as_str(), o.title.as_str())).collect();
    assert_eq!(titles, [("approve", "approve"), ("deny", "Deny it"), ("wait", "wait")]);
    assert_eq!(v.fields[0].kind, FieldKind::Choice);
    assert!(!v.fields[1].required);
}

#[test]
fn syntax_errors_name_the_body() {
    assert_eq!(parse(b"{not json").unwrap_err().field, "body");
    assert_eq!(parse(b"[1]").unwrap_err().field, "body");
    assert_eq!(parse(&vec![b' '; 70_000]).unwrap_err().field, "body");
}

#[test]
fn too_many_big_options_are_refused_as_a_whole() {
    let options: Vec<Value> = (0..MAX_OPTIONS)
        .map(|j| json!({"value": format!("{j}{}", "v".repeat(90)), "title": "t".repeat(140)}))
        .collect();
    let fields: Vec<Value> = (0..MAX_FIELDS)
        .map(|i| json!({"id": format!("f{i}"), "label": "L", "kind": "choice", "options": options}))
        .collect();
    let mut body = base();
    body["fields"] = json!(fields);
    assert_eq!(run(&body).unwrap_err().field, "body");
}

#[test]
fn fingerprints_follow_meaningful_content() {
    let a = run(&base()).unwrap();
    assert_eq!(a.fingerprint(), run(&base()).unwrap().fingerprint());
    assert_eq!(a.fingerprint().len(), 64);
    let mut other_key = base();
    other_key["key"] = json!("another");
    assert_eq!(a.fingerprint(), run(&other_key).unwrap().fingerprint(), "key excluded");
    // Key order in the body does not matter; the default field equals the explicit one.
    let mut implicit = base();
    implicit.as_object_mut().unwrap().remove("fields");
    assert_eq!(a.fingerprint(), run(&implicit).unwrap().fingerprint());
    let reordered = format!(
        r#"{{"context": {{"conversation_id": "8812"}}, "timeout_s": 1800, "question": "Can we release the withdrawal?",
            "summary": "Player asks why withdrawal #4411 is on hold. Deposit cleared yesterday.",
            "player": {{"brand": "LuckySpin", "tags": ["VIP", "KYC pending"], "email": "jane@example.com", "name": "Jane Doe"}},
            "to": {{"space_id": "{}"}}}}"#,
        room_id()
    );
    let reordered = parse(reordered.as_bytes()).unwrap().validate().unwrap();
    assert_eq!(a.fingerprint(), reordered.fingerprint());
    let edits: [fn(&mut Value); 7] = [
        |b| b["summary"] = json!("different"),
        |b| b["question"] = json!("different?"),
        |b| b["player"]["tags"] = json!(["VIP"]),
        |b| b["timeout_s"] = json!(60),
        |b| b["context"] = json!({"conversation_id": "8813"}),
        |b| b["to"] = json!({"person_email": "x@example.com"}),
        |b| b["fields"][0]["required"] = json!(false),
    ];
    for edit in edits {
        let mut body = base();
        edit(&mut body);
        assert_ne!(a.fingerprint(), run(&body).unwrap().fingerprint(), "{body}");
    }
}

fn inputs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn answers_are_checked_and_cleaned() {
    let mut body = base();
    body["fields"] = json!([
        {"id": "response", "label": "Your input", "required": true, "max_length": 10},
        {"id": "note", "label": "Note"},
        choice(json!(["approve", "deny"])),
        {"id": "tags", "label": "Tags", "kind": "choice", "multiple": true, "options": ["a", "b", "c"]}
    ]);
    let fields = run(&body).unwrap().fields;
    let ok = inputs(&[
        ("response", "yes"),
        ("decision", "deny"),
        ("tags", "a,c"),
        ("_escalation", "e"),
        ("_sig", "s"),
        ("note", " "),
    ]);
    let cleaned = check_answer(&fields, &ok).unwrap();
    assert_eq!(cleaned, inputs(&[("response", "yes"), ("decision", "deny"), ("tags", "a,c")]));
    let bad = |pairs: &[(&str, &str)]| check_answer(&fields, &inputs(pairs)).unwrap_err().field;
    assert_eq!(bad(&[("decision", "deny")]), "response");
    assert_eq!(bad(&[("response", "  "), ("decision", "deny")]), "response");
    assert_eq!(bad(&[("response", "12345678901")]), "response");
    assert_eq!(bad(&[("response", "ok"), ("decision", "maybe")]), "decision");
    assert_eq!(bad(&[("response", "ok"), ("decision", "approve,deny")]), "decision");
    assert_eq!(bad(&[("response", "ok"), ("tags", "a,z")]), "tags");
    assert!(check_answer(&fields, &inputs(&[("response", "1234567890")])).is_ok());
}
