//! Counts for monitoring (`GET /metrics`): cheap aggregate reads.

use super::error::StoreError;
use super::{corrupt, sql, Store};
use crate::model::Status;

impl Store {
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
