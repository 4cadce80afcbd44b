//! Opening the database file safely.
//!
//! The daemon's `store.path` may, by mistake, point at something that is not ours: a
//! text file, another program's SQLite database, a truncated copy. Such a file must never
//! be modified, so everything that writes (WAL mode flips a header byte, migrations
//! create tables) happens only after the file was checked: SQLite magic header, readable
//! schema, and either no tables at all or our `schema_version` table at a version we know.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::error::StoreError;
use super::{migrations, sql};

/// How long a statement waits for a lock held by another process (e.g. `sqlite3` CLI).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The first 16 bytes of every SQLite 3 database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Opens (creating if needed) the store file, checks it is ours, configures it and
/// applies pending migrations.
pub(super) fn open_file(path: &Path) -> Result<Connection, StoreError> {
    check_header(path)?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty() && !p.exists()) {
        private_dir(parent).map_err(|e| open_error(path, &e))?;
        tracing::info!(directory = %parent.display(), "created the directory of store.path (0700)");
    }
    create_private(path).map_err(|e| open_error(path, &e))?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(path, flags).map_err(|e| open_error(path, &e))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| open_error(path, &e))?;
    let version = migrations::current_version(&conn, path)?;
    // Ours: only now may its files be touched.
    make_private(path).map_err(|e| open_error(path, &e))?;
    configure(&conn, path, true)?;
    conn.pragma_update(None, sql::PRAGMA_JOURNAL_SIZE_LIMIT, super::checkpoint::WAL_LIMIT_BYTES)?;
    super::checkpoint::count_wal_pages(&conn);
    migrations::migrate(&mut conn, version)?;
    // No sync runs yet: what an interrupted one staged is dropped.
    conn.execute(sql::DELETE_ALL_SYNC_ROOMS, [])?;
    Ok(conn)
}

/// A read connection to a store `open_file` has opened (so checked, migrated and
/// in WAL mode): it may not write (`query_only`), and keeps a smaller page cache
/// than the writer, since several of them exist.
pub(super) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| open_error(path, &e))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| open_error(path, &e))?;
    conn.pragma_update(None, sql::PRAGMA_FOREIGN_KEYS, true)?;
    conn.pragma_update(None, sql::PRAGMA_CACHE_SIZE, sql::READER_CACHE_KIB)?;
    conn.pragma_update(None, sql::PRAGMA_TEMP_STORE, sql::PRAGMA_TEMP_STORE_MEMORY)?;
    conn.pragma_update(None, sql::PRAGMA_QUERY_ONLY, true)?;
    stable_plans(&conn)?;
    Ok(conn)
}

/// The store holds the card-signing key and player data: its directory, when
/// we create it, is 0700, whatever the umask.
#[cfg(unix)]
pub(super) fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
pub(super) fn private_dir(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)
}

/// A new database file is created 0600 before SQLite opens it (SQLite gives its
/// `-wal` and `-shm` files the database's mode).
#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn create_private(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// A store file of ours found readable by others (left so by an older run, or
/// copied in) is made private, and the operator told.
#[cfg(unix)]
fn make_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut companions = [path.to_path_buf(), suffixed(path, "-wal"), suffixed(path, "-shm")].into_iter();
    companions.try_for_each(|file| {
        let Ok(meta) = fs::metadata(&file) else { return Ok(()) };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            fs::set_permissions(&file, fs::Permissions::from_mode(0o600))?;
            tracing::warn!(file = %file.display(), mode = format!("{mode:04o}"),
                "the store file was readable by others (it holds the card-signing key and player data): now 0600");
        }
        Ok(())
    })
}

#[cfg(not(unix))]
fn make_private(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

fn suffixed(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// A private in-memory store for tests: same schema, no file.
pub(super) fn open_memory() -> Result<Connection, StoreError> {
    let path = Path::new(":memory:");
    let mut conn = Connection::open_in_memory().map_err(|e| open_error(path, &e))?;
    configure(&conn, path, false)?;
    migrations::migrate(&mut conn, 0)?;
    Ok(conn)
}

/// Rejects an existing non-empty file that does not start with the SQLite magic, before
/// SQLite ever sees it. An empty file is fine: SQLite treats it as a new database.
fn check_header(path: &Path) -> Result<(), StoreError> {
    let mut file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(open_error(path, &e)),
    };
    if file.metadata().map_err(|e| open_error(path, &e))?.is_dir() {
        return Err(open_error(path, &"it is a directory"));
    }
    let mut head = Vec::with_capacity(SQLITE_MAGIC.len());
    file.by_ref().take(SQLITE_MAGIC.len() as u64).read_to_end(&mut head).map_err(|e| open_error(path, &e))?;
    if head.is_empty() || head.as_slice() == SQLITE_MAGIC {
        return Ok(());
    }
    Err(StoreError::NotOurs { path: path.to_path_buf(), reason: "not an SQLite database file".into() })
}

/// Sets the per-connection pragmas. Only called once the file is known to be ours.
fn configure(conn: &Connection, path: &Path, is_file: bool) -> Result<(), StoreError> {
    let mode: String =
        conn.pragma_update_and_check(None, sql::PRAGMA_JOURNAL_MODE, sql::PRAGMA_JOURNAL_MODE_WAL, |row| row.get(0))?;
    if is_file && !mode.eq_ignore_ascii_case("wal") {
        // Some filesystems (network mounts) cannot do WAL; the store still works.
        tracing::warn!(path = %path.display(), %mode, "store could not switch to WAL journal mode");
    }
    conn.pragma_update(None, sql::PRAGMA_SYNCHRONOUS, sql::PRAGMA_SYNCHRONOUS_NORMAL)?;
    conn.pragma_update(None, sql::PRAGMA_FOREIGN_KEYS, true)?;
    conn.pragma_update(None, sql::PRAGMA_TEMP_STORE, sql::PRAGMA_TEMP_STORE_MEMORY)?;
    stable_plans(conn)
}

/// One query plan per statement, whatever its bound values (SQLite's query
/// planner stability guarantee). Without it, the bundled SQLite (built with
/// STAT4) marks a cached statement expired whenever it is bound again, and
/// re-parses and re-plans it on every use: a follower's read of new events
/// spent half its time there. No statement of the store depends on a bound
/// value for its plan (`tests/plans.rs` reads the plans without values).
fn stable_plans(conn: &Connection) -> Result<(), StoreError> {
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

fn open_error(path: &Path, e: &dyn std::fmt::Display) -> StoreError {
    StoreError::Open { path: path.to_path_buf(), message: e.to_string() }
}

/// Maps an error met while reading a file's schema: damage means "not ours", anything
/// else (a lock held too long, I/O) is an open failure.
pub(super) fn inspect_error(path: &Path, e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            StoreError::NotOurs { path: path.to_path_buf(), reason: format!("the file is corrupt: {e}") }
        }
        _ => open_error(path, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::{open_file, open_reader, sql};
    use rusqlite::StatementStatus;

    /// A cached statement bound again is run as planned, not parsed anew (see `stable_plans`).
    #[test]
    fn cached_statements_are_not_prepared_again_when_rebound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let writer = open_file(&path).unwrap();
        for conn in [&writer, &open_reader(&path).unwrap()] {
            for after in 0..3_i64 {
                let mut statement = conn.prepare_cached(sql::SELECT_EVENTS_AFTER).unwrap();
                let rows = statement.query_map(rusqlite::params![after, 10_i64], |_| Ok(())).unwrap().count();
                assert_eq!(rows, 0);
                assert_eq!(statement.get_status(StatementStatus::RePrepare), 0, "re-prepared on use {after}");
            }
        }
    }
}
