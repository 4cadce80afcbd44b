//! Webex keeps a device's unacked events for a limited time only (the replay
//! window, about 15 minutes) and gives a new device none: an answer given while
//! the daemon was away longer is lost without a trace. So the store keeps when
//! the link was last known up, and an outage found on reconnect is recorded
//! once: for every escalation whose card is live, a threaded reply under each
//! of its cards (through the outbox) and an `escalation.maybe_lost` event, in
//! the transaction that moves the mark, so that a crash either did all of it
//! or none (and the next start finds the outage again).

use super::db::{args, Db};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::StoreError;
use super::events::{self, EventKind, EventPayload};
use super::outbox::{insert_job, Reply, Task};
use super::{cards, escalation_row, sql, Store};
use crate::model::{Escalation, EscalationView};

const LINK_ALIVE: &str = "link_alive";

/// The last moment the Mercury link was known up, and on which device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkAlive {
    pub at: DateTime<Utc>,
    pub device_url: Option<String>,
}

/// A time when no event reached the daemon and Webex will not replay them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outage {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The payload of `escalation.maybe_lost`: the escalation as every event shows
/// it, with the outage it may have lost an answer in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaybeLost {
    #[serde(flatten)]
    pub escalation: EscalationView,
    pub outage: Outage,
}

impl Store {
    pub async fn link_alive(&self) -> Result<Option<LinkAlive>, StoreError> {
        self.read(alive_in).await
    }

    pub async fn mark_link_alive(&self, alive: LinkAlive) -> Result<(), StoreError> {
        self.write(move |tx| {
            tx.execute(sql::UPSERT_META, args![LINK_ALIVE, serde_json::to_vec(&alive)?])?;
            Ok(())
        })
        .await
    }

    /// Records `outage` if the mark still says it began at `outage.start` (a
    /// second call for the same outage does nothing), and moves the mark to
    /// `now`. `reply` is the text posted under each live card. Returns the
    /// escalations concerned.
    pub async fn record_outage(
        &self,
        outage: Outage,
        now: LinkAlive,
        reply: String,
    ) -> Result<Vec<Escalation>, StoreError> {
        let concerned = self
            .write(move |tx| {
                if alive_in(tx)?.map(|alive| alive.at) != Some(outage.start) {
                    return Ok(Vec::new());
                }
                let live = tx.query_all(sql::SELECT_PENDING_POSTED, args![], escalation_row::from_row)?;
                for escalation in &live {
                    for card in cards::cards_of_in(tx, &escalation.id)? {
                        let text = reply.clone();
                        let to =
                            Reply { room_id: card.space_id, parent_id: Some(card.message_id), text, markdown: None };
                        insert_job(tx, &Task::Reply(to))?;
                    }
                    let payload = MaybeLost { escalation: EscalationView::from(escalation), outage };
                    events::append(tx, EventKind::EscalationMaybeLost, EventPayload::MaybeLost(Box::new(payload)))?;
                }
                tx.execute(sql::UPSERT_META, args![LINK_ALIVE, serde_json::to_vec(&now)?])?;
                Ok(live)
            })
            .await?;
        self.jobs_added();
        Ok(concerned)
    }
}

fn alive_in(conn: &Db<'_>) -> Result<Option<LinkAlive>, StoreError> {
    let bytes: Option<Vec<u8>> = conn.query_opt(sql::SELECT_META, args![LINK_ALIVE], |r| r.get(0))?;
    // A mark this version cannot read is as good as none: no outage is claimed.
    Ok(bytes.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
}
