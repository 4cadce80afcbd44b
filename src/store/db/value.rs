//! The values that cross between the store and either SQL engine: one small
//! enum, [`Cell`], with conversions to and from Rust types, SQLite's and
//! PostgreSQL's own representations.
//!
//! Why our own: the store's columns are few kinds (integers, text, bytes), and
//! SQLite is loosely typed where PostgreSQL is strict (an `i64` bound to an
//! `INTEGER` column is refused there). Sending a [`Cell`] lets the PostgreSQL
//! side pick the wire type from the parameter's declared type, so the same
//! statement and the same arguments work on both engines.

use std::error::Error as StdError;

use postgres::types::{to_sql_checked, FromSql, IsNull, ToSql, Type};
use rusqlite::types::{ToSqlOutput, ValueRef};

/// One value of a row or a parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// A Rust value that can be a parameter.
pub(crate) trait ToValue {
    fn to_cell(&self) -> Cell<'_>;
}

/// A Rust value a column can be read as; the error says what was found instead.
pub(crate) trait FromValue: Sized {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String>;
}

macro_rules! integers {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_cell(&self) -> Cell<'_> {
                // Every integer the store binds fits (counts, ids, uids, sizes).
                Cell::Int(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
        impl FromValue for $t {
            fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
                match cell {
                    Cell::Int(i) => <$t>::try_from(i).map_err(|_| format!("{i} is out of range")),
                    other => Err(format!("expected an integer, found {}", other.kind())),
                }
            }
        }
    )*};
}
integers!(i64, i32, u32, u16, u64, usize);

impl ToValue for bool {
    fn to_cell(&self) -> Cell<'_> {
        Cell::Int(i64::from(*self))
    }
}

impl FromValue for bool {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        i64::from_cell(cell).map(|i| i != 0)
    }
}

impl ToValue for f64 {
    fn to_cell(&self) -> Cell<'_> {
        Cell::Real(*self)
    }
}

impl FromValue for f64 {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        match cell {
            Cell::Real(r) => Ok(r),
            Cell::Int(i) => Ok(i as f64),
            other => Err(format!("expected a number, found {}", other.kind())),
        }
    }
}

impl ToValue for str {
    fn to_cell(&self) -> Cell<'_> {
        Cell::Text(self)
    }
}

impl ToValue for String {
    fn to_cell(&self) -> Cell<'_> {
        Cell::Text(self)
    }
}

impl FromValue for String {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        match cell {
            Cell::Text(t) => Ok(t.to_owned()),
            other => Err(format!("expected text, found {}", other.kind())),
        }
    }
}

impl ToValue for [u8] {
    fn to_cell(&self) -> Cell<'_> {
        Cell::Blob(self)
    }
}

impl ToValue for Vec<u8> {
    fn to_cell(&self) -> Cell<'_> {
        Cell::Blob(self)
    }
}

impl FromValue for Vec<u8> {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        match cell {
            Cell::Blob(b) => Ok(b.to_vec()),
            Cell::Text(t) => Ok(t.as_bytes().to_vec()),
            other => Err(format!("expected bytes, found {}", other.kind())),
        }
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_cell(&self) -> Cell<'_> {
        (**self).to_cell()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_cell(&self) -> Cell<'_> {
        self.as_ref().map_or(Cell::Null, ToValue::to_cell)
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_cell(cell: Cell<'_>) -> Result<Self, String> {
        match cell {
            Cell::Null => Ok(None),
            other => T::from_cell(other).map(Some),
        }
    }
}

impl Cell<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Cell::Null => "NULL",
            Cell::Int(_) => "an integer",
            Cell::Real(_) => "a real",
            Cell::Text(_) => "text",
            Cell::Blob(_) => "bytes",
        }
    }
}

// --- SQLite -----------------------------------------------------------------

impl rusqlite::ToSql for Cell<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match *self {
            Cell::Null => ValueRef::Null,
            Cell::Int(i) => ValueRef::Integer(i),
            Cell::Real(r) => ValueRef::Real(r),
            Cell::Text(t) => ValueRef::Text(t.as_bytes()),
            Cell::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// SQLite's view of a column as a [`Cell`]; text that is not UTF-8 is an error.
pub(super) fn from_sqlite(value: ValueRef<'_>) -> Result<Cell<'_>, String> {
    Ok(match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(r) => Cell::Real(r),
        ValueRef::Text(t) => Cell::Text(std::str::from_utf8(t).map_err(|e| e.to_string())?),
        ValueRef::Blob(b) => Cell::Blob(b),
    })
}

// --- PostgreSQL -------------------------------------------------------------

type BoxError = Box<dyn StdError + Sync + Send>;

impl ToSql for Cell<'_> {
    /// The parameter's declared type decides the wire format: the store's
    /// integers go to `BIGINT`, `INTEGER` or `BOOLEAN` columns alike.
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        match (*self, ty) {
            (Cell::Null, _) => Ok(IsNull::Yes),
            (Cell::Int(i), &Type::INT8) => i.to_sql(ty, out),
            (Cell::Int(i), &Type::INT4) => i32::try_from(i)?.to_sql(ty, out),
            (Cell::Int(i), &Type::INT2) => i16::try_from(i)?.to_sql(ty, out),
            (Cell::Int(i), &Type::BOOL) => (i != 0).to_sql(ty, out),
            (Cell::Int(i), &Type::FLOAT8) => (i as f64).to_sql(ty, out),
            (Cell::Real(r), &Type::FLOAT8) => r.to_sql(ty, out),
            (Cell::Real(r), &Type::FLOAT4) => (r as f32).to_sql(ty, out),
            (Cell::Text(t), &Type::BYTEA) => t.as_bytes().to_sql(ty, out),
            (Cell::Text(t), _) if is_text(ty) => t.to_sql(ty, out),
            (Cell::Blob(b), &Type::BYTEA) => b.to_sql(ty, out),
            (cell, ty) => Err(format!("cannot send {} as a PostgreSQL {ty}", cell.kind()).into()),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Cell<'a> {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(match *ty {
            Type::INT8 => Cell::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Cell::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Cell::Int(i16::from_sql(ty, raw)?.into()),
            Type::BOOL => Cell::Int(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Cell::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Cell::Real(f32::from_sql(ty, raw)?.into()),
            Type::BYTEA => Cell::Blob(<&[u8]>::from_sql(ty, raw)?),
            _ if is_text(ty) => Cell::Text(<&str>::from_sql(ty, raw)?),
            _ => return Err(format!("unexpected PostgreSQL column type {ty}").into()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Cell::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn is_text(ty: &Type) -> bool {
    matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip_and_say_when_they_do_not_fit() {
        assert_eq!(u32::from_cell(Cell::Int(7)), Ok(7));
        assert!(u32::from_cell(Cell::Int(-1)).unwrap_err().contains("out of range"));
        assert!(i64::from_cell(Cell::Text("7")).unwrap_err().contains("found text"));
        assert_eq!(true.to_cell(), Cell::Int(1));
    }

    #[test]
    fn options_map_null_both_ways() {
        assert_eq!(None::<String>.to_cell(), Cell::Null);
        assert_eq!(Option::<String>::from_cell(Cell::Null), Ok(None));
        assert_eq!(Option::<String>::from_cell(Cell::Text("a")), Ok(Some("a".into())));
        assert!(String::from_cell(Cell::Null).is_err());
    }
}
