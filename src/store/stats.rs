//! Counts for monitoring (`GET /metrics`): cheap aggregate reads.

use super::error::StoreError;
use super::{sql, Store};

impl Store {
    /// `(status, number of escalations)` for every status present.
    pub async fn escalation_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(sql::COUNT_ESCALATIONS_BY_STATUS)?;
            let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
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
