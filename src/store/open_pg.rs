//! Opening a PostgreSQL store: connect, check that the schema is ours (or
//! empty), migrate under a lock that concurrent instances share.
//!
//! Several daemons may start at once against one database: the first to take
//! the migration lock migrates, the others then find the schema current. A
//! schema holding tables that are not ours is refused and left untouched, as
//! a foreign SQLite file is.

use super::db::{args, Conn, Db, PgConn, PgTarget};
use super::error::StoreError;
use super::{migrations, sql, time};

/// The PostgreSQL migrations; index + 1 is the version they bring the schema to.
const PG_MIGRATIONS: &[&str] = &[sql::PG_MIGRATION_001_INITIAL, sql::PG_MIGRATION_002_LEASES];

/// The newest PostgreSQL schema version this build understands.
pub const PG_SUPPORTED_VERSION: i64 = PG_MIGRATIONS.len() as i64;

/// Application names the server shows in `pg_stat_activity`.
const WRITER: &str = "webex-hitl writer";
const READER: &str = "webex-hitl reader";

pub(super) fn open_writer(target: &PgTarget) -> Result<Conn, StoreError> {
    let conn = PgConn::connect(target, WRITER)?;
    refuse_transaction_pooling(&conn, target)?;
    if let Some(schema) = &target.schema {
        create_schema(&Db::Postgres(&conn), schema)?;
    }
    migrate(&Db::Postgres(&conn))?;
    Ok(Conn::Postgres { conn: Box::new(conn), target: target.clone(), application: WRITER })
}

pub(super) fn open_reader(target: &PgTarget) -> Result<Conn, StoreError> {
    let conn = Box::new(PgConn::connect(target, READER)?);
    Ok(Conn::Postgres { conn, target: target.clone(), application: READER })
}

/// Creates the configured schema if it is missing. Only then: `CREATE SCHEMA
/// IF NOT EXISTS` needs the right to create schemas even when it exists, which
/// a role that was given its schema need not have.
fn create_schema(db: &Db<'_>, schema: &str) -> Result<(), StoreError> {
    if db.query_opt(sql::PG_SCHEMA_EXISTS, args![schema], |_| Ok(()))?.is_none() {
        db.batch(&format!("CREATE SCHEMA IF NOT EXISTS {}", super::db::quote_ident(schema)))?;
        tracing::info!(schema, "created the store's PostgreSQL schema");
    }
    Ok(())
}

/// Rounds of the pooling probe.
const SESSION_PROBES: usize = 4;

/// A transaction-pooling proxy (PgBouncer's `pool_mode = transaction`) is
/// refused: `LISTEN`, the session settings and the statement cache need a
/// session of their own. Through such a proxy, each transaction of a client
/// may run in any server session, and a session another client just gave back
/// is the one it hands out next (PgBouncer reuses the last released first).
/// So a second connection holds a transaction open, then ends it: on a
/// direct connection, the writer's server process never changes and is never
/// the other connection's; and a session setting stays.
///
/// The probe uses the simple query protocol only: a prepared statement,
/// through such a proxy, may be prepared in one server session and run in another.
fn refuse_transaction_pooling(conn: &PgConn, target: &PgTarget) -> Result<(), StoreError> {
    let other = PgConn::connect(target, "webex-hitl probe")?;
    let pid = |conn: &PgConn| conn.simple_value(sql::PG_BACKEND_PID);
    conn.simple_value(sql::PG_SET_SESSION_PROBE)?;
    let mine = pid(conn)?;
    for _ in 0..SESSION_PROBES {
        other.simple_value("BEGIN")?;
        let held = pid(&other)?;
        let during = pid(conn)?;
        other.simple_value(sql::COMMIT)?;
        let after = pid(conn)?;
        let setting = conn.simple_value(sql::PG_SESSION_PROBE)?;
        if mine.is_none() || held == mine || during != mine || after != mine || setting.as_deref() != Some("1") {
            let shown = |value: &Option<String>| value.clone().unwrap_or_else(|| "none".into());
            let evidence = format!(
                "this connection ran in server processes {}, {} and {}, another in {}; a session setting read back as {}",
                shown(&mine),
                shown(&during),
                shown(&after),
                shown(&held),
                shown(&setting)
            );
            return Err(StoreError::TransactionPooling { evidence });
        }
    }
    Ok(())
}

/// Checks and migrates in one transaction, holding the migration lock.
fn migrate(db: &Db<'_>) -> Result<(), StoreError> {
    db.batch("BEGIN")?;
    let result = locked_migrate(db);
    match &result {
        Ok(()) => db.batch(sql::COMMIT)?,
        Err(_) => {
            let _ = db.batch(sql::ROLLBACK);
        }
    }
    result
}

fn locked_migrate(db: &Db<'_>) -> Result<(), StoreError> {
    db.query_one(sql::PG_LOCK_MIGRATIONS, args![], |_| Ok(()))?;
    let mut version = current_version(db)?;
    for (index, batch) in PG_MIGRATIONS.iter().enumerate() {
        let target = index as i64 + 1;
        if target <= version {
            continue;
        }
        db.batch(batch)?;
        db.execute(sql::UPSERT_SCHEMA_VERSION, args![target, migrations::APP, time::to_text(time::now())])?;
        tracing::info!(version = target, "store schema migrated (PostgreSQL)");
        version = target;
    }
    Ok(())
}

/// 0 for an empty schema; refuses a foreign one, or one from a newer webex-hitl.
fn current_version(db: &Db<'_>) -> Result<i64, StoreError> {
    let tables: Vec<String> = db.query_all(sql::PG_LIST_USER_TABLES, args![], |r| r.get(0))?;
    if tables.is_empty() {
        return Ok(0);
    }
    if !tables.iter().any(|t| t == sql::VERSION_TABLE) {
        return Err(StoreError::ForeignSchema {
            reason: format!("it has tables ({}) but no webex-hitl schema_version table", tables.join(", ")),
        });
    }
    let row: Option<(i64, String)> =
        db.query_opt(sql::SELECT_SCHEMA_VERSION, args![], |r| Ok((r.get(0)?, r.get(1)?)))?;
    match row {
        Some((version, app)) if app == migrations::APP => {
            if version > PG_SUPPORTED_VERSION {
                return Err(StoreError::TooNew { found: version, supported: PG_SUPPORTED_VERSION });
            }
            Ok(version)
        }
        Some((_, app)) => Err(StoreError::ForeignSchema { reason: format!("it belongs to {app:?}") }),
        None => Err(StoreError::ForeignSchema { reason: "its schema_version table is empty".into() }),
    }
}
