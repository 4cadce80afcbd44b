//! Checking the input fields a card will show: ids, labels, kinds and options.

use super::{
    default_field, invalid, optional, text, ChoiceOption, FieldKind, FieldSpec, InvalidRequest, MAX_ANSWER_CHARS,
    MAX_FIELDS, MAX_FIELD_ID_CHARS, MAX_LABEL_CHARS, MAX_OPTIONS, MAX_OPTION_TITLE_CHARS, MAX_OPTION_VALUE_CHARS,
    MAX_PLACEHOLDER_CHARS, RESERVED_ID_PREFIX,
};

pub(super) fn check_fields(fields: Vec<FieldSpec>) -> Result<Vec<FieldSpec>, InvalidRequest> {
    if fields.is_empty() {
        return Ok(vec![default_field()]);
    }
    if fields.len() > MAX_FIELDS {
        return Err(invalid("fields", format!("too many fields: {}, at most {MAX_FIELDS}", fields.len())));
    }
    let mut checked: Vec<FieldSpec> = Vec::with_capacity(fields.len());
    for (i, field) in fields.into_iter().enumerate() {
        let field = check_field(&format!("fields[{i}]"), field)?;
        if let Some(j) = checked.iter().position(|f| f.id == field.id) {
            return Err(invalid(format!("fields[{i}].id"), format!("duplicate id {:?} (also fields[{j}])", field.id)));
        }
        checked.push(field);
    }
    Ok(checked)
}

fn check_field_id(path: &str, raw: &str) -> Result<String, InvalidRequest> {
    let field = format!("{path}.id");
    let id = text(&field, raw, MAX_FIELD_ID_CHARS, false)?;
    if id.starts_with(RESERVED_ID_PREFIX) {
        return Err(invalid(field, format!("{id:?} is reserved: ids starting with '_' carry the card's own data")));
    }
    if !id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
        return Err(invalid(field, "only letters, digits, '_', '-' and '.'"));
    }
    Ok(id)
}

fn check_field(path: &str, f: FieldSpec) -> Result<FieldSpec, InvalidRequest> {
    let id = check_field_id(path, &f.id)?;
    let label = text(&format!("{path}.label"), &f.label, MAX_LABEL_CHARS, false)?;
    let placeholder =
        optional(f.placeholder.as_deref(), |s| text(&format!("{path}.placeholder"), s, MAX_PLACEHOLDER_CHARS, false))?;
    let (max_length, options) = match f.kind {
        FieldKind::Text => check_text_kind(path, &f)?,
        FieldKind::Choice => check_choice_kind(path, &f)?,
    };
    Ok(FieldSpec { id, label, placeholder, max_length, options, ..f })
}

type KindParts = (Option<u32>, Vec<ChoiceOption>);

fn check_text_kind(path: &str, f: &FieldSpec) -> Result<KindParts, InvalidRequest> {
    if !f.options.is_empty() {
        return Err(invalid(format!("{path}.options"), "only for fields of kind \"choice\""));
    }
    if f.multiple {
        return Err(invalid(format!("{path}.multiple"), "only for fields of kind \"choice\""));
    }
    let max = f.max_length.unwrap_or(MAX_ANSWER_CHARS);
    if max == 0 || max > MAX_ANSWER_CHARS {
        return Err(invalid(format!("{path}.max_length"), format!("must be 1..={MAX_ANSWER_CHARS}")));
    }
    Ok((Some(max), Vec::new()))
}

fn check_choice_kind(path: &str, f: &FieldSpec) -> Result<KindParts, InvalidRequest> {
    if f.multiline {
        return Err(invalid(format!("{path}.multiline"), "only for fields of kind \"text\""));
    }
    if f.max_length.is_some() {
        return Err(invalid(format!("{path}.max_length"), "only for fields of kind \"text\""));
    }
    let n = f.options.len();
    if n == 0 || n > MAX_OPTIONS {
        return Err(invalid(
            format!("{path}.options"),
            format!("a choice field needs 1..={MAX_OPTIONS} options, got {n}"),
        ));
    }
    let mut options: Vec<ChoiceOption> = Vec::with_capacity(n);
    for (j, o) in f.options.iter().enumerate() {
        let at = format!("{path}.options[{j}]");
        let value = text(&format!("{at}.value"), &o.value, MAX_OPTION_VALUE_CHARS, false)?;
        if f.multiple && value.contains(',') {
            return Err(invalid(
                format!("{at}.value"),
                "must not contain ',' in a multiple choice (answers are comma-separated)",
            ));
        }
        if options.iter().any(|p| p.value == value) {
            return Err(invalid(format!("{at}.value"), format!("duplicate value {value:?}")));
        }
        let title = optional(Some(&o.title), |s| text(&format!("{at}.title"), s, MAX_OPTION_TITLE_CHARS, false))?
            .unwrap_or_else(|| value.clone());
        options.push(ChoiceOption { value, title });
    }
    Ok((None, options))
}
