//! Counts for monitoring (`GET /metrics`): cheap aggregate reads.

use super::error::StoreError;
use super::{corrupt, sql, time, Store};
use crate::model::Status;
use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;

impl Store {
    /// When the oldest escalation still pending was created; `None` when none is.
    pub async fn oldest_pending_since(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(sql::SELECT_OLDEST_PENDING)?;
            Ok(statement.query_row([], |row| time::column(row, 0)).optional()?)
        })
        .await
    }

    /// `(status, number of escalations)` for every status present.
    pub async fn escalation_counts(&self) -> Result<Vec<(Status, i64)>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(sql::COUNT_ESCALATIONS_BY_STATUS)?;
            let rows = statement.query_map([], |row| {
                let status: String = row.get(0)?;
                Ok((status.parse().map_err(|e| corrupt(0, e))?, row.get(1)?))
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    #[tokio::test]
    async fn an_empty_store_counts_nothing() {
        let store = Store::open_in_memory().await.unwrap();
        assert_eq!(store.escalation_counts().await.unwrap(), vec![]);
    }
}
