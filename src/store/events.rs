//! The append-only event log the AI engine reads (`GET /v1/events?after=SEQ`).
//!
//! `seq` comes from an `AUTOINCREMENT` key, so it is monotonic and never reused, even
//! after retention pruned the newest rows or the daemon restarted. Every event is
//! written from a typed payload by the store itself, inside the transaction of the
//! change it reports, and read back into the same types.

use super::db::{args, Db, Row};
use chrono::{DateTime, Utc};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::error::StoreError;
use super::outage::MaybeLost;
use super::spaces::Space;
use super::{sql, time, Store};
use crate::model::EscalationView;

/// What an event is about; its `type` on the wire is `<subject>.<what>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "space.added")]
    SpaceAdded,
    #[serde(rename = "space.removed")]
    SpaceRemoved,
    #[serde(rename = "space.updated")]
    SpaceUpdated,
    #[serde(rename = "escalation.created")]
    EscalationCreated,
    #[serde(rename = "escalation.delivered")]
    EscalationDelivered,
    #[serde(rename = "escalation.answered")]
    EscalationAnswered,
    #[serde(rename = "escalation.expired")]
    EscalationExpired,
    #[serde(rename = "escalation.cancelled")]
    EscalationCancelled,
    #[serde(rename = "escalation.failed")]
    EscalationFailed,
    #[serde(rename = "escalation.reminded")]
    EscalationReminded,
    /// Answered automatically by its policy's `on_deadline` default (status `answered`).
    #[serde(rename = "escalation.defaulted")]
    EscalationDefaulted,
    /// Sent to its policy's next fallback destination.
    #[serde(rename = "escalation.escalated")]
    EscalationEscalated,
    /// A fallback destination could not be reached (`fallback.error` says why).
    #[serde(rename = "escalation.fallback_failed")]
    EscalationFallbackFailed,
    #[serde(rename = "escalation.claimed")]
    EscalationClaimed,
    /// A claim lapsed unanswered (`claim_timeout_s`): the ladder resumes.
    #[serde(rename = "escalation.unclaimed")]
    EscalationUnclaimed,
    /// Its card was live during an outage longer than Webex's replay window:
    /// an answer given then may be lost (the specialist is asked to press again).
    #[serde(rename = "escalation.maybe_lost")]
    EscalationMaybeLost,
    #[serde(rename = "connection.up")]
    ConnectionUp,
    #[serde(rename = "connection.down")]
    ConnectionDown,
}

/// The three things an event can be about, each its own key in an event line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Space,
    Escalation,
    Connection,
}

impl Subject {
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Space => "space",
            Subject::Escalation => "escalation",
            Subject::Connection => "connection",
        }
    }
}

impl EventKind {
    pub const ALL: [EventKind; 18] = [
        EventKind::SpaceAdded,
        EventKind::SpaceRemoved,
        EventKind::SpaceUpdated,
        EventKind::EscalationCreated,
        EventKind::EscalationDelivered,
        EventKind::EscalationAnswered,
        EventKind::EscalationExpired,
        EventKind::EscalationCancelled,
        EventKind::EscalationFailed,
        EventKind::EscalationReminded,
        EventKind::EscalationDefaulted,
        EventKind::EscalationEscalated,
        EventKind::EscalationFallbackFailed,
        EventKind::EscalationClaimed,
        EventKind::EscalationUnclaimed,
        EventKind::EscalationMaybeLost,
        EventKind::ConnectionUp,
        EventKind::ConnectionDown,
    ];

    /// The stored and wire form, e.g. `escalation.answered`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::SpaceAdded => "space.added",
            EventKind::SpaceRemoved => "space.removed",
            EventKind::SpaceUpdated => "space.updated",
            EventKind::EscalationCreated => "escalation.created",
            EventKind::EscalationDelivered => "escalation.delivered",
            EventKind::EscalationAnswered => "escalation.answered",
            EventKind::EscalationExpired => "escalation.expired",
            EventKind::EscalationCancelled => "escalation.cancelled",
            EventKind::EscalationFailed => "escalation.failed",
            EventKind::EscalationReminded => "escalation.reminded",
            EventKind::EscalationDefaulted => "escalation.defaulted",
            EventKind::EscalationEscalated => "escalation.escalated",
            EventKind::EscalationFallbackFailed => "escalation.fallback_failed",
            EventKind::EscalationClaimed => "escalation.claimed",
            EventKind::EscalationUnclaimed => "escalation.unclaimed",
            EventKind::EscalationMaybeLost => "escalation.maybe_lost",
            EventKind::ConnectionUp => "connection.up",
            EventKind::ConnectionDown => "connection.down",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn subject(self) -> Subject {
        match self {
            EventKind::SpaceAdded | EventKind::SpaceRemoved | EventKind::SpaceUpdated => Subject::Space,
            EventKind::EscalationCreated
            | EventKind::EscalationDelivered
            | EventKind::EscalationAnswered
            | EventKind::EscalationExpired
            | EventKind::EscalationCancelled
            | EventKind::EscalationFailed
            | EventKind::EscalationReminded
            | EventKind::EscalationDefaulted
            | EventKind::EscalationEscalated
            | EventKind::EscalationFallbackFailed
            | EventKind::EscalationClaimed
            | EventKind::EscalationUnclaimed => Subject::Escalation,
            EventKind::EscalationMaybeLost => Subject::Escalation,
            EventKind::ConnectionUp | EventKind::ConnectionDown => Subject::Connection,
        }
    }
}

/// The Mercury link came up or went down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConnectionChange {
    Up { connected: bool, since: Option<DateTime<Utc>>, device_url: Option<String>, reconnects: u64 },
    Down { connected: bool, reason: Option<String> },
}

impl ConnectionChange {
    pub fn up(since: Option<DateTime<Utc>>, device_url: Option<String>, reconnects: u64) -> Self {
        ConnectionChange::Up { connected: true, since, device_url, reconnects }
    }

    pub fn down(reason: Option<String>) -> Self {
        ConnectionChange::Down { connected: false, reason }
    }

    fn kind(&self) -> EventKind {
        match self {
            ConnectionChange::Up { .. } => EventKind::ConnectionUp,
            ConnectionChange::Down { .. } => EventKind::ConnectionDown,
        }
    }
}

/// The object an event is about, in full.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum EventPayload {
    Space(Space),
    Escalation(Box<EscalationView>),
    /// `escalation.maybe_lost`: the escalation, with the outage's window.
    MaybeLost(Box<MaybeLost>),
    Connection(ConnectionChange),
}

impl EventPayload {
    fn parse(kind: EventKind, text: &str) -> Result<Self, serde_json::Error> {
        Ok(match kind.subject() {
            Subject::Space => EventPayload::Space(serde_json::from_str(text)?),
            Subject::Escalation if kind == EventKind::EscalationMaybeLost => {
                EventPayload::MaybeLost(serde_json::from_str(text)?)
            }
            Subject::Escalation => EventPayload::Escalation(serde_json::from_str(text)?),
            Subject::Connection => EventPayload::Connection(serde_json::from_str(text)?),
        })
    }
}

/// One entry of the event log. It serializes as the engine's event line:
/// `{"seq", "type", "at", "<subject>": {...}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub seq: i64,
    pub kind: EventKind,
    pub at: DateTime<Utc>,
    pub payload: EventPayload,
}

impl Serialize for EventRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("seq", &self.seq)?;
        map.serialize_entry("type", &self.kind)?;
        map.serialize_entry("at", &self.at)?;
        map.serialize_entry(self.kind.subject().as_str(), &self.payload)?;
        map.end()
    }
}

/// Reads an event line back (clients of the stream: the CLI, the bench, tests).
impl<'de> Deserialize<'de> for EventRecord {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        #[derive(Deserialize)]
        struct Line {
            seq: i64,
            #[serde(rename = "type")]
            kind: EventKind,
            at: DateTime<Utc>,
            #[serde(flatten)]
            subjects: std::collections::BTreeMap<String, serde_json::Value>,
        }
        let mut line = Line::deserialize(deserializer)?;
        let subject = line.kind.subject();
        let payload = line
            .subjects
            .remove(subject.as_str())
            .ok_or_else(|| D::Error::missing_field(subject.as_str()))?
            .to_string();
        let payload = EventPayload::parse(line.kind, &payload).map_err(D::Error::custom)?;
        Ok(EventRecord { seq: line.seq, kind: line.kind, at: line.at, payload })
    }
}

impl Store {
    /// Records a change of the Mercury link and wakes followers.
    pub async fn record_connection(&self, change: ConnectionChange) -> Result<EventRecord, StoreError> {
        self.write(move |tx| {
            let kind = change.kind();
            append(tx, kind, EventPayload::Connection(change))
        })
        .await
    }

    /// Up to `limit` events with `seq > after_seq`, ascending.
    pub async fn events_after(&self, after_seq: i64, limit: usize) -> Result<Vec<EventRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| conn.query_all(sql::SELECT_EVENTS_AFTER, args![after_seq, limit], event_from_row)).await
    }

    /// The last seq ever assigned (it survives pruning); 0 when no event was ever appended.
    pub async fn latest_seq(&self) -> Result<i64, StoreError> {
        self.read(latest_seq_on).await
    }

    /// The smallest seq still in the log; `None` when the log is empty. A follower whose
    /// `after` is below `oldest - 1` has missed pruned events.
    pub async fn oldest_seq(&self) -> Result<Option<i64>, StoreError> {
        self.read(|conn| conn.query_one(sql::SELECT_OLDEST_SEQ, args![], |r| r.get(0))).await
    }

    /// Retention: deletes events appended strictly before `older_than`. Returns how many.
    pub async fn prune_events(&self, older_than: DateTime<Utc>) -> Result<usize, StoreError> {
        let cutoff = time::to_text(older_than);
        self.write(move |tx| tx.execute(sql::DELETE_EVENTS_BEFORE, args![cutoff])).await
    }
}

/// Appends one event inside the caller's transaction. For use by store modules within
/// [`Store::write`]; the commit wakes followers.
pub(crate) fn append(conn: &Db<'_>, kind: EventKind, payload: EventPayload) -> Result<EventRecord, StoreError> {
    let at = time::now();
    let text = serde_json::to_string(&payload)?;
    let bytes = text.len();
    let insert = conn.pick(&sql::INSERT_EVENT);
    let seq = conn.query_one(insert, args![kind.as_str(), time::to_text(at), text], |r| r.get(0))?;
    let record = EventRecord { seq, kind, at, payload };
    super::recent::appended(&record, bytes);
    Ok(record)
}

/// Last seq ever assigned: SQLite's AUTOINCREMENT bookkeeping, PostgreSQL's counter row.
pub(super) fn latest_seq_on(conn: &Db<'_>) -> Result<i64, StoreError> {
    let seq = conn.query_opt(conn.pick(&sql::SELECT_LATEST_SEQ), args![], |r| r.get(0))?;
    Ok(seq.unwrap_or(0))
}

fn event_from_row(row: &Row<'_>) -> Result<EventRecord, StoreError> {
    let kind_text: String = row.get(1)?;
    let kind =
        EventKind::parse(&kind_text).ok_or_else(|| super::corrupt(1, format!("unknown event type {kind_text:?}")))?;
    let text: String = row.get(3)?;
    let payload = EventPayload::parse(kind, &text).map_err(|e| super::corrupt(3, e))?;
    Ok(EventRecord { seq: row.get(0)?, kind, at: time::column(row, 2)?, payload })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_name_their_subject() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
            assert!(kind.as_str().starts_with(kind.subject().as_str()), "{kind:?}");
        }
    }

    #[test]
    fn an_event_line_reads_back_as_its_record() {
        let record = EventRecord {
            seq: 7,
            kind: EventKind::ConnectionDown,
            at: time::now(),
            payload: EventPayload::Connection(ConnectionChange::down(Some("gone".into()))),
        };
        let line = serde_json::to_value(&record).unwrap();
        assert_eq!(line["connection"]["reason"], "gone");
        assert_eq!(line["type"], "connection.down");
        assert_eq!(serde_json::from_value::<EventRecord>(line).unwrap(), record);
    }

    #[test]
    fn connection_changes_keep_their_shape() {
        let up = serde_json::to_value(ConnectionChange::up(None, Some("d".into()), 2)).unwrap();
        assert_eq!(up, serde_json::json!({"connected": true, "since": null, "device_url": "d", "reconnects": 2}));
        let down = serde_json::to_value(ConnectionChange::down(Some("gone".into()))).unwrap();
        assert_eq!(down, serde_json::json!({"connected": false, "reason": "gone"}));
        let back: ConnectionChange = serde_json::from_value(down).unwrap();
        assert_eq!(back, ConnectionChange::down(Some("gone".into())));
    }
}
