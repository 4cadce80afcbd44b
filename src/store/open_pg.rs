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
    refuse_transaction_pooling(&Db::Postgres(&conn))?;
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

/// How many statements, each its own transaction, must all run in one server
/// session: a transaction pooler spreads them over its sessions.
const SESSION_PROBES: usize = 8;

/// A transaction-pooling proxy (PgBouncer's `pool_mode = transaction`) is
/// refused: `LISTEN`, the session settings and the statement cache need one
/// session. A session setting made in one statement must still be there in the
/// next, and the server process must stay the same.
fn refuse_transaction_pooling(db: &Db<'_>) -> Result<(), StoreError> {
    db.batch(sql::PG_SET_SESSION_PROBE)?;
    let first: i64 = db.query_one(sql::PG_BACKEND_PID, args![], |r| r.get(0))?;
    for _ in 0..SESSION_PROBES {
        let pid: i64 = db.query_one(sql::PG_BACKEND_PID, args![], |r| r.get(0))?;
        let probe: Option<String> = db.query_one(sql::PG_SESSION_PROBE, args![], |r| r.get(0))?;
        if pid != first || probe.as_deref() != Some("1") {
            let evidence = format!("server process {first} then {pid}, session setting {probe:?}");
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
