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

/// The mark's key: one per instance sharing the store (each has its own
/// device, and Webex replays to each device on its own); a store of one
/// instance keeps the key it always had.
const LINK_ALIVE: &str = "link_alive";
const LINK_ALIVE_OF: &str = "link_alive/";

/// The last moment the Mercury link was known up, and on which device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkAlive {
    pub at: DateTime<Utc>,
    pub device_url: Option<String>,
    /// Since when the link has been up without a break (unknown in older marks).
    #[serde(default)]
    pub up_since: Option<DateTime<Utc>>,
}

impl LinkAlive {
    /// Whether this mark shows its instance up all through `outage`, as far as
    /// a mark beaten every `beat` can tell.
    fn covers(&self, outage: &Outage, beat: chrono::Duration) -> bool {
        self.up_since.is_some_and(|since| since <= outage.start) && self.at + beat >= outage.end
    }
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
        let key = self.link_alive_key();
        self.read(move |conn| alive_in(conn, &key)).await
    }

    pub async fn mark_link_alive(&self, alive: LinkAlive) -> Result<(), StoreError> {
        let key = self.link_alive_key();
        self.write(move |tx| {
            tx.execute(sql::UPSERT_META, args![key, serde_json::to_vec(&alive)?])?;
            Ok(())
        })
        .await
    }

    fn link_alive_key(&self) -> String {
        match self.instance() {
            super::LOCAL_INSTANCE => LINK_ALIVE.to_owned(),
            instance => format!("{LINK_ALIVE_OF}{instance}"),
        }
    }

    /// Records `outage` if the mark still says it began at `outage.start` (a
    /// second call for the same outage does nothing), and moves the mark to
    /// `now`. `reply` is the text posted under each live card. Returns the
    /// escalations concerned. Nothing is recorded if another instance sharing
    /// the store was up all through it (its mark, beaten every `beat`, says so):
    /// Webex gave that instance's device the events meanwhile.
    pub async fn record_outage(
        &self,
        outage: Outage,
        now: LinkAlive,
        reply: String,
        beat: std::time::Duration,
    ) -> Result<Vec<Escalation>, StoreError> {
        let key = self.link_alive_key();
        let beat = chrono::Duration::from_std(beat).unwrap_or(chrono::Duration::MAX);
        let concerned = self
            .write(move |tx| {
                if alive_in(tx, &key)?.map(|alive| alive.at) != Some(outage.start) {
                    return Ok(Vec::new());
                }
                if peers_in(tx, &key)?.iter().any(|peer| peer.covers(&outage, beat)) {
                    tx.execute(sql::UPSERT_META, args![key, serde_json::to_vec(&now)?])?;
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
                tx.execute(sql::UPSERT_META, args![key, serde_json::to_vec(&now)?])?;
                Ok(live)
            })
            .await?;
        self.jobs_added();
        Ok(concerned)
    }
}

fn alive_in(conn: &Db<'_>, key: &str) -> Result<Option<LinkAlive>, StoreError> {
    let bytes: Option<Vec<u8>> = conn.query_opt(sql::SELECT_META, args![key], |r| r.get(0))?;
    // A mark this version cannot read is as good as none: no outage is claimed.
    Ok(bytes.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
}

/// The marks of the other instances sharing the store.
fn peers_in(conn: &Db<'_>, own: &str) -> Result<Vec<LinkAlive>, StoreError> {
    let marks: Vec<(String, Vec<u8>)> =
        conn.query_all(sql::SELECT_META_BY_PREFIX, args![LINK_ALIVE_OF], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(marks
        .into_iter()
        .filter(|(key, _)| key != own)
        .filter_map(|(_, bytes)| serde_json::from_slice(&bytes).ok())
        .collect())
}
