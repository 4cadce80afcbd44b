//! An upper bound on the size of a request's pending card, computed from the
//! lengths of its texts, so that validation renders only the requests that
//! might not fit. Rendering builds the whole JSON tree of the card; the bound
//! is a sum, and a typical request is far below the limit (profiling the
//! accept path at 100k rows put the validation's render at 12% of the
//! daemon's CPU).
//!
//! The bound must never be below the rendered size, whatever the text:
//! `tests` hold it against the renderer for the shapes that make a card
//! large (many fields, options and tags; text that escapes).

use crate::model::ValidEscalation;

/// A text shows at most three times (the brand: header, facts and the
/// fallback's headline). Per appearance a byte grows at most 2.5 times: a
/// zero-width space (3 bytes) breaks each 2-byte `<@` (and `://`, `www.`), a
/// `"`, `\\` or line break is escaped to 2 bytes in JSON; in a label (once) a
/// markdown character becomes 3 (`\*`, its backslash escaped) and `\\` 4.
const PER_TEXT_BYTE: usize = 8;
/// The card's structure and fixed strings (header, facts, claim and submit
/// buttons without their ids) and the fallback's headline and hint: 2,106
/// bytes measured with every part present and one-byte texts.
const FIXED: usize = 2_500;
/// An input element's structure and fixed strings (type, flags, error message).
const PER_FIELD: usize = 400;
/// An option's `{"title": …, "value": …}`: 27 bytes measured.
const PER_OPTION: usize = 40;
/// A tag's separator (", ") in the facts and in the fallback.
const PER_TAG: usize = 16;
/// The escalation id and the signature each show in the submit and the claim button.
const ID_APPEARANCES: usize = 2 * 2;

/// At least the bytes of the pending card of `request` (with its fallback),
/// for ids and signatures of up to `id_chars` ASCII characters.
pub fn pending_card_bytes_at_most(request: &ValidEscalation, id_chars: usize) -> usize {
    let player = &request.player;
    let texts = [&player.name, &player.email, &player.brand, &request.question]
        .into_iter()
        .flatten()
        .map(String::len)
        .chain(player.tags.iter().map(String::len))
        .chain([request.summary.len()])
        .chain(request.fields.iter().map(|field| {
            let options: usize = field.options.iter().map(|o| o.title.len() + o.value.len()).sum();
            field.id.len() + field.label.len() + field.placeholder.as_ref().map_or(0, String::len) + options
        }))
        .sum::<usize>();
    let structure = request.fields.iter().map(|f| PER_FIELD + PER_OPTION * f.options.len()).sum::<usize>()
        + PER_TAG * player.tags.len();
    FIXED + ID_APPEARANCES * id_chars + PER_TEXT_BYTE * texts + structure
}

#[cfg(test)]
mod tests {
    use super::super::{render, CardState, CardView, FINAL_RESERVE_BYTES, MAX_RENDERED_BYTES, PLANNED_ID_CHARS};
    use super::pending_card_bytes_at_most;
    use crate::escalation::request::{self, MAX_FIELDS, MAX_OPTIONS, MAX_TAGS};
    use crate::model::{ChoiceOption, Claim, FieldKind, FieldSpec, ValidEscalation};
    use crate::webex::ids::{IdKind, RestId};
    use serde_json::json;

    fn base(summary: &str) -> ValidEscalation {
        let room = RestId::new(IdKind::Room, "us", "5e0f7a30-1b2c-11ef-8d9e-0123456789ab").encode();
        let body = json!({"to": {"space_id": room}, "summary": summary});
        request::parse(body.to_string().as_bytes()).and_then(|r| r.validate()).expect("a valid request")
    }

    /// The rendered pending card, with the longest ids validation plans for and a claim button.
    fn rendered_bytes(request: &ValidEscalation) -> usize {
        let planned = "x".repeat(PLANNED_ID_CHARS);
        let view = CardView { escalation_id: &planned, signature: &planned, request, claim: None };
        render(&view, &CardState::Pending).map(|r| r.size()).unwrap_or_else(|e| match e {
            super::super::RenderError::TooLarge { bytes, .. } => bytes,
        })
    }

    /// Many small parts: structure outweighs text.
    fn crowded(text: &str) -> ValidEscalation {
        let mut request = base(text);
        request.policy.claim = Some(Claim { timeout_s: None, only_claimer: false });
        request.player.name = Some(text.to_owned());
        request.player.email = Some(text.to_owned());
        request.player.brand = Some(text.to_owned());
        request.player.tags = vec![text.to_owned(); MAX_TAGS];
        request.question = Some(text.to_owned());
        let options = (0..MAX_OPTIONS).map(|i| ChoiceOption { value: format!("{i}"), title: text.to_owned() });
        let choice = FieldSpec { kind: FieldKind::Choice, options: options.collect(), ..field(text) };
        request.fields = (0..MAX_FIELDS)
            .map(|i| if i % 2 == 0 { FieldSpec { id: format!("f{i}"), ..choice.clone() } } else { field(text) })
            .collect();
        request
    }

    fn field(text: &str) -> FieldSpec {
        let mut spec = base("x").fields.remove(0);
        spec.label = text.to_owned();
        spec.placeholder = Some(text.to_owned());
        spec.multiline = true;
        spec.max_length = Some(1000);
        spec
    }

    #[test]
    fn the_bound_is_never_below_the_rendered_card() {
        let escaping = "\"\\<@*_[]()#>`~|&!{}\n- 1. ://www.WWW.é🙋".repeat(3);
        let mut worst_brand = base("x");
        worst_brand.player.brand = Some("<@".repeat(2_000));
        let mut every_part = base("x");
        every_part.policy.claim = Some(Claim { timeout_s: None, only_claimer: false });
        for text in [&mut every_part.player.name, &mut every_part.player.email, &mut every_part.player.brand] {
            *text = Some("a".into());
        }
        every_part.question = Some("a".into());
        let cases = [
            every_part,
            worst_brand,
            base("x"),
            base(&escaping),
            crowded("a"),
            crowded("<@"),
            crowded(&escaping),
            crowded(&"\\".repeat(40)),
        ];
        for request in &cases {
            let (bound, actual) = (pending_card_bytes_at_most(request, PLANNED_ID_CHARS), rendered_bytes(request));
            assert!(bound >= actual, "bound {bound} < rendered {actual} for {request:?}");
        }
    }

    #[test]
    fn a_typical_request_is_not_rendered_to_be_checked() {
        let mut request = base("Player asks why withdrawal #4411 is on hold. Deposit cleared yesterday.");
        request.player.name = Some("Jane Doe".into());
        request.player.email = Some("jane@example.com".into());
        request.question = Some("Can we release the withdrawal?".into());
        let bound = pending_card_bytes_at_most(&request, PLANNED_ID_CHARS);
        assert!(bound <= MAX_RENDERED_BYTES - FINAL_RESERVE_BYTES, "bound {bound}");
    }
}
