//! Small values the daemon must keep across restarts: the key that signs card
//! submissions (so a forged or foreign submission is refused).

use rusqlite::{params, OptionalExtension};

use super::error::StoreError;
use super::{sql, Store};

const SIGNING_KEY: &str = "card_signing_key";
const WRITE_PROBE: &str = "write_probe";

impl Store {
    /// A small real write (it reaches the disk), to tell whether the store takes
    /// writes again after failing.
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        self.write(|tx| {
            let noise: [u8; 64] = rand::random();
            tx.prepare_cached(sql::UPSERT_META)?.execute(params![WRITE_PROBE, noise.to_vec()])?;
            Ok(())
        })
        .await
    }

    /// The card signing key, created on first use and never changed after.
    pub async fn signing_key(&self) -> Result<[u8; 32], StoreError> {
        self.write(|tx| {
            let fresh: [u8; 32] = rand::random();
            tx.prepare_cached(sql::INSERT_META)?.execute(params![SIGNING_KEY, fresh.to_vec()])?;
            let stored: Option<Vec<u8>> =
                tx.prepare_cached(sql::SELECT_META)?.query_row(params![SIGNING_KEY], |r| r.get(0)).optional()?;
            stored
                .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok())
                .ok_or(StoreError::Sqlite(rusqlite::Error::QueryReturnedNoRows))
        })
        .await
    }
}
