//! Counts for monitoring (`GET /metrics`): cheap aggregate reads.

use super::db::args;
use super::error::StoreError;
use super::{corrupt, sql, time, Store};
use crate::model::Status;
use chrono::{DateTime, Utc};

impl Store {
    /// When the oldest escalation still pending was created; `None` when none is.
    pub async fn oldest_pending_since(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.read(|conn| conn.query_opt(sql::SELECT_OLDEST_PENDING, args![], |row| time::column(row, 0))).await
    }

    /// `(status, number of escalations)` for every status present.
    pub async fn escalation_counts(&self) -> Result<Vec<(Status, i64)>, StoreError> {
        self.read(|conn| {
            conn.query_all(sql::COUNT_ESCALATIONS_BY_STATUS, args![], |row| {
                let status: String = row.get(0)?;
                Ok((status.parse().map_err(|e| corrupt(0, e))?, row.get(1)?))
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use crate::store::tests::store_test;

    store_test! {
        #[tokio::test]
        async fn an_empty_store_counts_nothing(store) {
            assert_eq!(store.escalation_counts().await.unwrap(), vec![]);
        }
    }
}
