//! The other person of each direct space, and the direct space of a person.
//!
//! Webex's room list does not say who the other member of a 1:1 room is (its
//! title is only their name, which people share), so the spaces module learns
//! it from the room's memberships and records it here. Lookups go oldest-tried
//! first ([`Store::counterparts_due`]) and every try is stamped, so a room whose
//! lookup keeps failing does not starve the others. The person picker reads it
//! back by id or email ([`Store::direct_spaces_of`]), on an index, without Webex.

use super::db::{args, Db};

use super::error::StoreError;
use super::{sql, time, Store};

/// Who the other person of a direct space is, as its membership names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counterpart {
    pub id: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// A person as the picker found them: the keys a direct space is looked up by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonKey {
    pub id: String,
    pub email: Option<String>,
}

impl Store {
    /// Up to `limit` visible direct spaces whose other person is not known yet,
    /// never tried first, then the longest untried.
    pub async fn counterparts_due(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        self.read(move |conn| conn.query_all(sql::SELECT_COUNTERPARTS_DUE, args![limit as i64], |r| r.get(0))).await
    }

    /// Records a lookup of `space_id`'s other person: who, or `None` when it
    /// failed (the space stays due, behind the ones not tried as recently).
    pub async fn record_counterpart(&self, space_id: &str, found: Option<Counterpart>) -> Result<(), StoreError> {
        let space_id = space_id.to_owned();
        self.write(move |tx| {
            let found = found.as_ref();
            tx.execute(
                sql::RECORD_COUNTERPART,
                args![
                    space_id,
                    time::to_text(time::now()),
                    found.map(|c| &c.id),
                    found.and_then(|c| c.email.as_ref()),
                    found.and_then(|c| c.name.as_ref()),
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// For each person, the id of the visible direct space with them (by id,
    /// else by email, case-insensitively), in the same order.
    pub async fn direct_spaces_of(&self, people: Vec<PersonKey>) -> Result<Vec<Option<String>>, StoreError> {
        self.read(move |conn| people.iter().map(|person| direct_space_in(conn, person)).collect()).await
    }
}

fn direct_space_in(conn: &Db<'_>, person: &PersonKey) -> Result<Option<String>, StoreError> {
    if let Some(id) = conn.query_opt(sql::SELECT_DIRECT_SPACE_BY_PERSON_ID, args![person.id], |r| r.get(0))? {
        return Ok(Some(id));
    }
    match &person.email {
        Some(email) => {
            let by_email = conn.pick(&sql::SELECT_DIRECT_SPACE_BY_PERSON_EMAIL);
            conn.query_opt(by_email, args![email], |r| r.get(0))
        }
        None => Ok(None),
    }
}
