//! Numbered schema migrations.
//!
//! The schema version lives in our own `schema_version` table (one row, `id = 1`, with
//! `app = 'webex-hitl'`) rather than in `PRAGMA user_version`: the table both records the
//! version and marks the file as ours, so a foreign SQLite database (which would have
//! `user_version = 0` just like a fresh one) is told apart by "has tables but not ours".
//!
//! Migration N is `MIGRATIONS[N - 1]`; it runs in one transaction together with the
//! version bump, so a crash leaves the database at N - 1 or N, never in between. A new
//! migration is one more constant in `sql.rs` and one more entry here; a released
//! one is never edited. A migration may have a Rust step, run in the same
//! transaction after its SQL, for what SQLite cannot compute (v5 folds titles
//! with Rust's Unicode-aware lowercase).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::error::StoreError;
use super::open::inspect_error;
use super::{sql, time};

/// What SQLite cannot compute, done in Rust inside the migration's transaction.
type RustStep = fn(&Connection) -> Result<(), StoreError>;

/// One migration: its SQL, then its Rust step if it has one.
struct Migration {
    batch: &'static str,
    then: Option<RustStep>,
}

/// Migrations, in order; the index + 1 is the version they bring the schema to.
const MIGRATIONS: &[Migration] = &[
    Migration { batch: sql::MIGRATION_001_INITIAL, then: None },
    Migration { batch: sql::MIGRATION_002_ESCALATIONS, then: None },
    Migration { batch: sql::MIGRATION_003_AUDIT, then: None },
    Migration { batch: sql::MIGRATION_004_CARDS, then: None },
    Migration { batch: sql::MIGRATION_005_SCALE, then: Some(fold_titles) },
    Migration { batch: sql::MIGRATION_006_NOTIFICATIONS, then: None },
    Migration { batch: sql::MIGRATION_007_POLICIES, then: None },
    Migration { batch: sql::MIGRATION_008_COUNTERPARTS, then: None },
    Migration { batch: sql::MIGRATION_009_LEASES, then: None },
];

/// The newest schema version this build understands.
pub const SUPPORTED_VERSION: i64 = MIGRATIONS.len() as i64;

/// Value of `schema_version.app` that marks a database as ours.
pub(super) const APP: &str = "webex-hitl";

/// Reads the schema version of an opened database without writing anything:
/// 0 for an empty database, `NotOurs` for a foreign or damaged one, `TooNew` for one
/// written by a newer webex-hitl.
pub(super) fn current_version(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    let tables = user_tables(conn).map_err(|e| inspect_error(path, e))?;
    if tables.is_empty() {
        return Ok(0);
    }
    if !tables.iter().any(|t| t == sql::VERSION_TABLE) {
        return Err(StoreError::NotOurs {
            path: path.to_path_buf(),
            reason: format!("it has tables ({}) but no webex-hitl schema_version table", tables.join(", ")),
        });
    }
    let row: Option<(i64, String)> = conn
        .query_row(sql::SELECT_SCHEMA_VERSION, [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(|e| not_ours(path, format!("its schema_version table is not ours: {e}")))?;
    let version = match row {
        Some((version, app)) if app == APP => version,
        Some((_, app)) => return Err(not_ours(path, format!("it belongs to {app:?}"))),
        None => return Err(not_ours(path, "its schema_version table is empty".into())),
    };
    if version > SUPPORTED_VERSION {
        return Err(StoreError::TooNew { found: version, supported: SUPPORTED_VERSION });
    }
    Ok(version)
}

/// Applies every migration after `from`, each in its own transaction. Returns the new
/// version.
pub(super) fn migrate(conn: &mut Connection, from: i64) -> Result<i64, StoreError> {
    let mut version = from;
    for (index, migration) in MIGRATIONS.iter().enumerate() {
        let target = index as i64 + 1;
        if target <= version {
            continue;
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(migration.batch)?;
        if let Some(step) = migration.then {
            step(&tx)?;
        }
        tx.execute(sql::UPSERT_SCHEMA_VERSION, rusqlite::params![target, APP, time::to_text(time::now())])?;
        tx.commit()?;
        tracing::info!(version = target, "store schema migrated");
        version = target;
    }
    Ok(version)
}

/// v5: the listing order of the spaces already stored.
fn fold_titles(conn: &Connection) -> Result<(), StoreError> {
    let mut select = conn.prepare(sql::SELECT_SPACE_TITLES)?;
    let titles = select.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut update = conn.prepare(sql::SET_SPACE_TITLE_KEY)?;
    for row in titles {
        let (id, title) = row?;
        update.execute(rusqlite::params![id, super::spaces::title_key(&title)])?;
    }
    Ok(())
}

fn user_tables(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(sql::LIST_USER_TABLES)?;
    let names = stmt.query_map([], |r| r.get(0))?;
    names.collect()
}

fn not_ours(path: &Path, reason: String) -> StoreError {
    StoreError::NotOurs { path: path.to_path_buf(), reason }
}
