//! Small values the daemon must keep across restarts: the key that signs card
//! submissions (so a forged or foreign submission is refused), and the event
//! log's epoch (so a follower's cursor from another store is recognised).

use super::db::args;

use super::error::StoreError;
use super::{sql, Store};

const SIGNING_KEY: &str = "card_signing_key";
const WRITE_PROBE: &str = "write_probe";
const EPOCH: &str = "event_log_epoch";

impl Store {
    /// A small real write (it reaches the disk), to tell whether the store takes
    /// writes again after failing.
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        self.write(|tx| {
            let noise: [u8; 64] = rand::random();
            tx.execute(sql::UPSERT_META, args![WRITE_PROBE, noise.to_vec()])?;
            Ok(())
        })
        .await
    }

    /// The card signing key, created on first use and never changed after.
    pub async fn signing_key(&self) -> Result<[u8; 32], StoreError> {
        self.random_once(SIGNING_KEY).await
    }

    /// This store's event-log epoch: 32 hex digits, random, made with the store
    /// (a wiped store gets a new one; a backup restored keeps its own). Seqs
    /// are only comparable within one epoch.
    pub async fn epoch(&self) -> Result<String, StoreError> {
        let bytes: [u8; 16] = self.random_once(EPOCH).await?;
        Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The random value kept under `key`, made on first use and never changed after.
    async fn random_once<const N: usize>(&self, key: &'static str) -> Result<[u8; N], StoreError> {
        self.write(move |tx| {
            let fresh: [u8; N] = std::array::from_fn(|_| rand::random());
            tx.execute(sql::INSERT_META, args![key, fresh.to_vec()])?;
            let stored: Option<Vec<u8>> = tx.query_opt(sql::SELECT_META, args![key], |r| r.get(0))?;
            stored.and_then(|bytes| <[u8; N]>::try_from(bytes.as_slice()).ok()).ok_or(StoreError::NoRow)
        })
        .await
    }
}
