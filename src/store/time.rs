//! Timestamps as the store writes them: RFC 3339 text in UTC with exactly six fractional
//! digits, so that text order is time order (`WHERE at < ?` works on the index) and a
//! value read back equals the value written.

use super::db::{args, Db, Row};
use super::error::StoreError;
use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};

/// The current time at the precision the store keeps.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

pub(crate) fn to_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn opt_to_text(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(to_text)
}

/// Reads a timestamp column; a malformed value is a conversion error, not a panic.
pub(crate) fn column(row: &Row<'_>, idx: usize) -> Result<DateTime<Utc>, StoreError> {
    let text: String = row.get(idx)?;
    parse(&text, idx)
}

pub(crate) fn opt_column(row: &Row<'_>, idx: usize) -> Result<Option<DateTime<Utc>>, StoreError> {
    let text: Option<String> = row.get(idx)?;
    text.map(|t| parse(&t, idx)).transpose()
}

/// Parses a stored timestamp read outside a row (an aggregate like `MIN(at)`).
pub(crate) fn parse_text(text: &str) -> Result<DateTime<Utc>, StoreError> {
    parse(text, 0)
}

/// The one timestamp a `SELECT MIN(…)` statement answers (`None` when no row has one):
/// when the next timer of some kind is due.
pub(crate) fn earliest(conn: &Db<'_>, statement: &'static str) -> Result<Option<DateTime<Utc>>, StoreError> {
    let text: Option<String> = conn.query_one(statement, args![], |r| r.get(0))?;
    text.map(|t| parse_text(&t)).transpose()
}

fn parse(text: &str, idx: usize) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|e| StoreError::corrupt(idx, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn text_is_fixed_width_and_round_trips() {
        let whole = Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).single().expect("valid date");
        assert_eq!(to_text(whole), "2025-01-02T03:04:05.000000Z");
        let t = now();
        assert_eq!(to_text(t).len(), to_text(whole).len());
        assert_eq!(parse(&to_text(t), 0).expect("parses"), t);
    }

    #[test]
    fn malformed_text_is_an_error() {
        assert!(parse("yesterday", 3).is_err());
    }
}
