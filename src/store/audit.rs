//! The audit trail of the socket API: who (peer uid/gid/pid from `SO_PEERCRED`)
//! made which mutating request (method, path) when, and how it ended (status).
//!
//! Why a table and not only log lines: logs rotate and are shared with everything
//! else the daemon says; an operator asking "who cancelled this escalation?" wants
//! one query (`webex-hitl audit`). Request bodies are never stored: they can hold
//! player data, and method + path + peer answer the question.

use super::db::{args, Row};
use chrono::{DateTime, Utc};

use super::error::StoreError;
use super::{sql, time, Store};

/// A request to record; the store stamps the time.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// `None` when the kernel could not name the peer.
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub pid: Option<i32>,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// A short note (why a request was refused); never a request body.
    pub detail: Option<String>,
}

/// A recorded request.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditRecord {
    /// Monotonic; also the paging cursor.
    pub id: i64,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub entry: AuditEntry,
}

impl Store {
    /// Appends one entry, stamped now.
    pub async fn record_audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        let at = time::to_text(time::now());
        self.write(move |tx| {
            let AuditEntry { uid, gid, pid, method, path, status, detail } = entry;
            tx.execute(sql::INSERT_AUDIT, args![at, uid, gid, pid, method, path, status, detail])?;
            Ok(())
        })
        .await
    }

    /// Up to `limit` entries, newest first, with `id < before` when given.
    pub async fn audit_log(&self, limit: usize, before: Option<i64>) -> Result<Vec<AuditRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            conn.query_all(sql::SELECT_AUDIT, args![before.unwrap_or(i64::MAX), limit], record_from_row)
        })
        .await
    }

    /// Retention: deletes entries recorded strictly before `older_than`. Returns how many.
    pub async fn prune_audit(&self, older_than: DateTime<Utc>) -> Result<usize, StoreError> {
        let cutoff = time::to_text(older_than);
        self.write(move |tx| tx.execute(sql::DELETE_AUDIT_BEFORE, args![cutoff])).await
    }
}

fn record_from_row(row: &Row<'_>) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        id: row.get(0)?,
        at: time::column(row, 1)?,
        entry: AuditEntry {
            uid: row.get(2)?,
            gid: row.get(3)?,
            pid: row.get(4)?,
            method: row.get(5)?,
            path: row.get(6)?,
            status: row.get(7)?,
            detail: row.get(8)?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::store_test;

    fn entry(method: &str, path: &str, status: u16, uid: Option<u32>) -> AuditEntry {
        AuditEntry {
            uid,
            gid: uid,
            pid: Some(42),
            method: method.into(),
            path: path.into(),
            status,
            detail: (status == 403).then(|| "refused".into()),
        }
    }

    store_test! {
        #[tokio::test]
        async fn entries_come_back_newest_first_and_page_by_id(store) {
            store.record_audit(entry("POST", "/v1/escalations", 201, Some(1000))).await.unwrap();
            store.record_audit(entry("POST", "/v1/spaces/refresh", 403, Some(65534))).await.unwrap();
            store.record_audit(entry("DELETE", "/v1/x", 404, None)).await.unwrap();

            let all = store.audit_log(10, None).await.unwrap();
            let paths: Vec<&str> = all.iter().map(|r| r.entry.path.as_str()).collect();
            assert_eq!(paths, ["/v1/x", "/v1/spaces/refresh", "/v1/escalations"]);
            assert_eq!(all[0].entry.uid, None, "an unknown peer is stored as NULL");
            assert_eq!(
                (all[1].entry.uid, all[1].entry.gid, all[1].entry.pid, all[1].entry.status),
                (Some(65534), Some(65534), Some(42), 403)
            );
            assert_eq!(all[1].entry.detail.as_deref(), Some("refused"));
            assert!(all[0].id > all[1].id && all[0].at >= all[2].at);

            let first = store.audit_log(2, None).await.unwrap();
            assert_eq!(first.len(), 2);
            let rest = store.audit_log(2, Some(first[1].id)).await.unwrap();
            assert_eq!(rest.len(), 1);
            assert_eq!(rest[0].entry.path, "/v1/escalations");
        }
    }

    store_test! {
        #[tokio::test]
        async fn pruning_drops_only_older_entries(store) {
            store.record_audit(entry("POST", "/v1/a", 200, Some(0))).await.unwrap();
            assert_eq!(store.prune_audit(Utc::now() - chrono::Duration::hours(1)).await.unwrap(), 0);
            assert_eq!(store.prune_audit(Utc::now() + chrono::Duration::seconds(1)).await.unwrap(), 1);
            assert!(store.audit_log(10, None).await.unwrap().is_empty());
        }
    }
}
