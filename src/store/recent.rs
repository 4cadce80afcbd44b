//! The events this instance committed last, kept in memory for the followers.
//!
//! Why: a follower of the event stream that is caught up wakes on every
//! commit and asked a reader for the new events: one more hand-off between
//! threads, a read whose page cache SQLite had just dropped (a read connection
//! forgets its pages whenever another connection commits), and the payload's
//! JSON parsed back, for every follower. The writer already has the records
//! it appended: after each commit it keeps them here, before it wakes the
//! followers.
//!
//! Only a run of consecutive seqs is kept. Another instance's commit on a
//! shared PostgreSQL store leaves a gap in what this one saw: the run starts
//! again after it, and a follower it does not cover reads the store as before.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use super::events::EventRecord;
use super::Store;

/// Events kept: more than a group commit appends, few enough to stay small.
pub(super) const KEPT: usize = 128;
/// And their payloads' bytes at most (an escalation's event carries its whole
/// view, a few KiB, up to the 64 KiB of a request): whatever the requests,
/// the events kept stay under a megabyte.
pub(super) const KEPT_BYTES: usize = 512 * 1024;

thread_local! {
    /// What the current transaction of the writer thread appended so far.
    /// `events::append` is called deep inside each write's closure, with only
    /// the connection at hand; the writer thread runs one transaction at a time.
    static APPENDED: RefCell<Vec<Kept>> = const { RefCell::new(Vec::new()) };
}

/// An event and the bytes of its payload's JSON.
type Kept = (Arc<EventRecord>, usize);

/// Called by `events::append`, inside the writer's transaction, with the
/// length of the payload's JSON it stored.
pub(super) fn appended(record: &EventRecord, bytes: usize) {
    APPENDED.with(|appended| appended.borrow_mut().push((Arc::new(record.clone()), bytes)));
}

/// How many the transaction appended so far: a savepoint's mark.
pub(super) fn mark() -> usize {
    APPENDED.with(|appended| appended.borrow().len())
}

/// A savepoint rolled back: what it appended was never written.
pub(super) fn forget_since(mark: usize) {
    APPENDED.with(|appended| appended.borrow_mut().truncate(mark));
}

/// The committed transaction's appended events, taken (each transaction starts with `forget_since(0)`).
pub(super) fn take() -> Vec<Kept> {
    APPENDED.with(|appended| std::mem::take(&mut *appended.borrow_mut()))
}

/// The last [`KEPT`] events this instance committed, consecutive by seq.
#[derive(Debug, Default)]
pub(super) struct Recent {
    kept: Mutex<Events>,
}

#[derive(Debug, Default)]
struct Events {
    events: VecDeque<Kept>,
    bytes: usize,
}

impl Recent {
    /// After a commit, before followers are woken: its events, in seq order.
    pub(super) fn committed(&self, records: Vec<Kept>) {
        let Some((first, _)) = records.first() else { return };
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        // A gap (another instance's commits) starts the run again.
        if kept.events.back().is_some_and(|(last, _)| first.seq != last.seq + 1) {
            *kept = Events::default();
        }
        for (record, bytes) in records {
            kept.bytes += bytes;
            kept.events.push_back((record, bytes));
        }
        while kept.events.len() > KEPT || (kept.bytes > KEPT_BYTES && kept.events.len() > 1) {
            let Some((_, bytes)) = kept.events.pop_front() else { break };
            kept.bytes -= bytes;
        }
    }

    /// Up to `limit` events after `after`, if every one of them this instance
    /// committed is here: `Some(empty)` when `after` is the last kept. `None`
    /// when the run does not reach back to `after + 1` (the store must be read).
    pub(super) fn after(&self, after: i64, limit: usize) -> Option<Vec<Arc<EventRecord>>> {
        let kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let (first, last) = (kept.events.front()?.0.seq, kept.events.back()?.0.seq);
        if after + 1 < first || after > last {
            return None;
        }
        let skip = usize::try_from(after + 1 - first).ok()?;
        Some(kept.events.iter().skip(skip).take(limit).map(|(record, _)| Arc::clone(record)).collect())
    }

    /// The last seq kept.
    #[cfg(test)]
    fn last(&self) -> Option<i64> {
        self.kept.lock().unwrap_or_else(PoisonError::into_inner).events.back().map(|(event, _)| event.seq)
    }
}

impl Store {
    /// Up to `limit` events after `after` from what this instance committed
    /// last, when every one of them is there (see [`Recent::after`]); a
    /// follower that gets `None`, or an empty list while the watch of
    /// [`Store::subscribe`] is ahead of `after`, reads [`Store::events_after`].
    pub fn recent_events(&self, after: i64, limit: usize) -> Option<Vec<Arc<EventRecord>>> {
        self.inner.recent.after(after, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{ConnectionChange, EventKind, EventPayload};

    fn record(seq: i64) -> EventRecord {
        EventRecord {
            seq,
            kind: EventKind::ConnectionDown,
            at: chrono::Utc::now(),
            payload: EventPayload::Connection(ConnectionChange::down(None)),
        }
    }

    fn event(seq: i64) -> Kept {
        (Arc::new(record(seq)), 100)
    }

    fn seqs(events: Option<Vec<Arc<EventRecord>>>) -> Option<Vec<i64>> {
        events.map(|events| events.iter().map(|event| event.seq).collect())
    }

    #[test]
    fn a_follower_is_served_only_what_a_consecutive_run_covers() {
        let recent = Recent::default();
        assert_eq!(seqs(recent.after(0, 10)), None, "nothing kept yet");
        recent.committed(vec![event(5), event(6)]);
        recent.committed(vec![event(7)]);
        assert_eq!(seqs(recent.after(4, 10)), Some(vec![5, 6, 7]));
        assert_eq!(seqs(recent.after(5, 1)), Some(vec![6]));
        assert_eq!(seqs(recent.after(7, 10)), Some(vec![]), "caught up");
        assert_eq!(seqs(recent.after(3, 10)), None, "seq 4 was never kept");
        assert_eq!(seqs(recent.after(8, 10)), None, "beyond what was kept");
        // Another instance committed 8 and 9: the run starts again after the gap.
        recent.committed(vec![event(10)]);
        assert_eq!((seqs(recent.after(9, 10)), seqs(recent.after(7, 10))), (Some(vec![10]), None));
        assert_eq!(recent.last(), Some(10));
    }

    #[test]
    fn only_the_last_are_kept_and_their_bytes_are_bounded() {
        let recent = Recent::default();
        recent.committed((1..=KEPT as i64 + 10).map(event).collect());
        assert_eq!(seqs(recent.after(10, 1)), Some(vec![11]));
        assert_eq!(seqs(recent.after(9, 1)), None);
        // Big payloads: as many as fit in the bytes' bound.
        let big = |seq| (Arc::new(record(seq)), KEPT_BYTES / 4);
        recent.committed((KEPT as i64 + 11..KEPT as i64 + 21).map(big).collect());
        let last = KEPT as i64 + 20;
        assert_eq!(seqs(recent.after(last - 4, 10)), Some((last - 3..=last).collect()));
        assert_eq!(seqs(recent.after(last - 5, 1)), None, "dropped for their bytes");
    }

    #[test]
    fn what_a_rolled_back_savepoint_appended_is_forgotten() {
        forget_since(0);
        appended(&record(1), 10);
        let mark = mark();
        appended(&record(2), 10);
        forget_since(mark);
        // The next append takes the seq the rolled back one had.
        appended(&record(2), 10);
        assert_eq!(take().iter().map(|(event, _)| event.seq).collect::<Vec<_>>(), [1, 2]);
        assert!(take().is_empty());
    }
}
