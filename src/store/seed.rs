//! Filling a store fast for `bench --scale`: many escalations already closed,
//! each with its card, written in large transactions with the same statements
//! the daemon uses, so the bench measures a store that looks lived in (its
//! rows and indexes) without posting 100k cards through Webex first.

use super::db::args;

use super::error::StoreError;
use super::{sql, time, Store};
use crate::model::ValidEscalation;

/// Escalations written per transaction.
const PER_TRANSACTION: usize = 5_000;

/// Where the seeded escalations were sent.
#[derive(Debug, Clone)]
pub struct SeedTarget {
    pub space_id: String,
    pub room_uuid: String,
    /// The cluster card ids are minted in.
    pub message_id_prefix: String,
}

impl Store {
    /// Stores `count` expired escalations of `request` (keys `{prefix}{n}`), each
    /// with a posted card; no outbox job, no event. Returns how many were stored.
    pub async fn seed_escalations(
        &self,
        request: ValidEscalation,
        target: SeedTarget,
        prefix: &str,
        count: usize,
    ) -> Result<usize, StoreError> {
        let json = serde_json::to_string(&request)?;
        let fingerprint = request.fingerprint();
        let mut stored = 0;
        while stored < count {
            let (from, to) = (stored, (stored + PER_TRANSACTION).min(count));
            let (json, fingerprint, target, prefix) =
                (json.clone(), fingerprint.clone(), target.clone(), prefix.to_owned());
            self.write(move |tx| {
                let now = time::to_text(time::now());
                for n in from..to {
                    let id = format!("esc_seed{n:012}");
                    let key = format!("{prefix}{n}");
                    let (space, room) = (&target.space_id, &target.room_uuid);
                    tx.execute(
                        sql::INSERT_ESCALATION,
                        args![id, key, fingerprint, json, now, now, space, room, None::<String>],
                    )?;
                    tx.execute(sql::CLOSE_ESCALATION, args![id, "expired", None::<String>, now, None::<String>])?;
                    let message_uuid = format!("seed-card-{n:012}");
                    let message_id = format!("{}{message_uuid}", target.message_id_prefix);
                    tx.execute(sql::INSERT_CARD, args![message_uuid, message_id, id, space, "posted", now])?;
                }
                Ok(())
            })
            .await?;
            stored = to;
        }
        Ok(stored)
    }
}
