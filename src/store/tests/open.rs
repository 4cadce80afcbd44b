use std::path::Path;

use rusqlite::Connection;

use crate::store::{sql, time, Store, StoreError, SUPPORTED_VERSION};

fn stored_version(path: &Path) -> (i64, String) {
    let conn = Connection::open(path).expect("raw open");
    conn.query_row(sql::SELECT_SCHEMA_VERSION, [], |r| Ok((r.get(0)?, r.get(1)?))).expect("version row")
}

fn version_row_stamp(path: &Path) -> String {
    let conn = Connection::open(path).expect("raw open");
    conn.query_row(sql::TEST_SELECT_VERSION_STAMP, [], |r| r.get(0)).expect("version stamp")
}

#[tokio::test]
async fn migrations_apply_once_and_reopen_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested/deeper/store.db");
    let store = Store::open(&path).await.expect("first open creates dirs and schema");
    store.record_connection(crate::store::ConnectionChange::up(None, None, 1)).await.expect("append");
    drop(store);
    assert_eq!(stored_version(&path), (SUPPORTED_VERSION, "webex-hitl".into()));
    let stamp = version_row_stamp(&path);

    let store = Store::open(&path).await.expect("reopen");
    assert_eq!(store.latest_seq().await.expect("seq"), 1);
    assert_eq!(store.events_after(0, 10).await.expect("events").len(), 1);
    drop(store);
    // No migration ran again: the version row was not rewritten.
    assert_eq!(version_row_stamp(&path), stamp);
}

#[tokio::test]
async fn file_store_uses_wal_and_foreign_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("s.db")).await.expect("open");
    let (mode, fk): (String, bool) = store
        .read(|c| {
            let crate::store::db::Db::Sqlite(c) = c else { unreachable!("a file store is SQLite") };
            let mode = c.pragma_query_value(None, sql::PRAGMA_JOURNAL_MODE, |r| r.get(0))?;
            let fk = c.pragma_query_value(None, sql::PRAGMA_FOREIGN_KEYS, |r| r.get(0))?;
            Ok((mode, fk))
        })
        .await
        .expect("pragmas");
    assert_eq!(mode, "wal");
    assert!(fk);
}

#[tokio::test]
async fn newer_schema_is_refused_and_file_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("store.db");
    drop(Store::open(&path).await.expect("create"));
    {
        let conn = Connection::open(&path).expect("raw open");
        conn.execute(
            sql::UPSERT_SCHEMA_VERSION,
            rusqlite::params![SUPPORTED_VERSION + 1, "webex-hitl", time::to_text(time::now())],
        )
        .expect("bump version");
    }
    let before = std::fs::read(&path).expect("read");
    let err = Store::open(&path).await.expect_err("too new");
    let newer = SUPPORTED_VERSION + 1;
    assert!(
        matches!(err, StoreError::TooNew { found, supported } if found == newer && supported == SUPPORTED_VERSION),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "database schema version {newer} is newer than this webex-hitl supports ({SUPPORTED_VERSION}); \
             upgrade webex-hitl or point store.path elsewhere"
        )
    );
    assert_eq!(std::fs::read(&path).expect("read"), before);
}

#[tokio::test]
async fn text_file_is_refused_and_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.db");
    std::fs::write(&path, "hello, this is not a database\n").expect("write");
    let err = Store::open(&path).await.expect_err("not sqlite");
    assert!(matches!(err, StoreError::NotOurs { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    assert_eq!(std::fs::read(&path).expect("read"), b"hello, this is not a database\n");
}

#[tokio::test]
async fn corrupt_sqlite_file_is_refused_and_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("corrupt.db");
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend(std::iter::repeat_n(0xAB_u8, 4080));
    std::fs::write(&path, &bytes).expect("write");
    let err = Store::open(&path).await.expect_err("corrupt");
    assert!(matches!(err, StoreError::NotOurs { .. }), "{err:?}");
    assert!(err.to_string().contains("corrupt.db"), "{err}");
    assert_eq!(std::fs::read(&path).expect("read"), bytes);
}

#[tokio::test]
async fn foreign_sqlite_database_is_refused_and_untouched() {
    for (name, batch) in
        [("users.db", sql::TEST_CREATE_FOREIGN_TABLES), ("other-version.db", sql::TEST_CREATE_FOREIGN_VERSION_TABLE)]
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(name);
        Connection::open(&path).expect("raw open").execute_batch(batch).expect("foreign schema");
        let before = std::fs::read(&path).expect("read");
        let err = Store::open(&path).await.expect_err("foreign");
        assert!(matches!(err, StoreError::NotOurs { .. }), "{name}: {err:?}");
        assert!(err.to_string().contains(name), "{err}");
        assert_eq!(std::fs::read(&path).expect("read"), before, "{name}");
    }
}

#[tokio::test]
async fn empty_file_becomes_a_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").expect("write");
    let store = Store::open(&path).await.expect("empty file is a new database");
    assert_eq!(store.latest_seq().await.expect("seq"), 0);
}

#[tokio::test]
async fn directory_path_is_an_open_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = Store::open(dir.path()).await.expect_err("directory");
    assert!(matches!(err, StoreError::Open { .. }), "{err:?}");
}
