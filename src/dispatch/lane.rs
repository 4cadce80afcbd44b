//! One lane of the dispatcher: handles its events several at a time, so that
//! a burst (a flood of messages, many specialists pressing at once) is not a
//! queue of store round trips one after another, while events that must stay
//! in order still do.
//!
//! Why several at a time: most of an event's time is waiting — for the store's
//! writer (whose group commit only groups what is queued together) or for a
//! REST call. Up to [`IN_FLIGHT`] events of a lane are in hand at once, polled
//! by the lane's own task (nothing is spawned). Events with the same
//! [`order_key`] are still handled one after another, in arrival order: the
//! submissions on one card (the first press wins), the events of one space,
//! and the copies of one activity (so a redelivered copy finds the first
//! recorded and counts as a duplicate).
//!
//! An event that failed for a passing reason is retried with backoff while the
//! lane moves on; it does not hold its key meanwhile, so later events may
//! overtake it (handlers do not depend on order: see the parent module).

use super::{Handler, Retry};
use crate::webex::mercury::link::Inbound;
use crate::webex::mercury::Event;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Events of one lane in hand at once (being handled, or waiting for their key).
pub(super) const IN_FLIGHT: usize = 64;

/// What must be handled after what: events with equal keys, in arrival order.
pub(super) fn order_key(event: &Event) -> String {
    match event {
        Event::CardSubmitted { card_message_uuid: Some(card), .. } => format!("card:{card}"),
        Event::MemberAdded { meta, .. }
        | Event::MemberRemoved { meta, .. }
        | Event::RoomCreated { meta }
        | Event::RoomUpdated { meta, .. } => match &meta.room {
            Some(room) => format!("room:{}", room.uuid),
            None => format!("activity:{}", meta.activity_id),
        },
        other => format!("activity:{}", other.activity_id()),
    }
}

/// The lane's bookkeeping: which keys are taken, and what waits for one.
struct InHand<T> {
    keys: HashSet<String>,
    /// Received, but an event with the same key is being handled.
    held: VecDeque<(String, T)>,
}

impl<T> Default for InHand<T> {
    fn default() -> Self {
        Self { keys: HashSet::new(), held: VecDeque::new() }
    }
}

impl<T> InHand<T> {
    /// `item` to start now (it takes `key`), or `None` if it waits behind its key.
    fn admit(&mut self, key: String, item: T) -> Option<(String, T)> {
        if self.keys.insert(key.clone()) {
            Some((key, item))
        } else {
            self.held.push_back((key, item));
            None
        }
    }

    /// The item holding `key` is done: the next held one with it, which takes it.
    fn release(&mut self, key: &str) -> Option<(String, T)> {
        match self.held.iter().position(|(held, _)| held == key) {
            Some(index) => self.held.remove(index),
            None => {
                self.keys.remove(key);
                None
            }
        }
    }
}

/// An event to handle, and how many times it was tried.
type Work = (Inbound, u32);

fn admit(in_hand: &mut InHand<Work>, inbound: Inbound, attempt: u32) -> Option<(String, Work)> {
    in_hand.admit(order_key(&inbound.event), (inbound, attempt))
}

/// Handles one lane's events until its channel closes (then finishes what it
/// holds) or shutdown (then drops it unacked: Mercury redelivers).
pub(super) async fn run(mut events: mpsc::UnboundedReceiver<Inbound>, handler: &Handler, shutdown: &CancellationToken) {
    let mut in_hand = InHand::default();
    let mut retries: VecDeque<Retry> = VecDeque::new();
    let mut running: FuturesUnordered<Handling<'_>> = FuturesUnordered::new();
    let mut open = true;
    loop {
        let room = running.len() + in_hand.held.len() < IN_FLIGHT;
        let next_retry = retries.iter().map(|retry| retry.due).min();
        let start = tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = sleep_until_some(next_retry) => {
                let index = retries.iter().position(|retry| Some(retry.due) == next_retry);
                index.and_then(|index| retries.remove(index)).and_then(|r| admit(&mut in_hand, r.inbound, r.attempt))
            }
            inbound = events.recv(), if open && room => match inbound {
                Some(inbound) => admit(&mut in_hand, inbound, 0),
                None => {
                    open = false;
                    None
                }
            },
            Some((key, retry)) = running.next() => {
                retries.extend(retry);
                in_hand.release(&key)
            }
        };
        if let Some(start) = start {
            running.push(one(handler, start));
        }
        if !open && running.is_empty() && in_hand.held.is_empty() {
            return;
        }
    }
}

/// One event being handled; it gives its key back with the retry it may need.
type Handling<'a> = Pin<Box<dyn Future<Output = (String, Option<Retry>)> + Send + 'a>>;

fn one(handler: &Handler, (key, (inbound, attempt)): (String, Work)) -> Handling<'_> {
    Box::pin(async move { (key, handler.dispatch(inbound, attempt).await) })
}

async fn sleep_until_some(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_waits_behind_its_key_and_items_of_a_key_start_in_arrival_order() {
        let mut in_hand = InHand::default();
        assert_eq!(in_hand.admit("a".into(), 1), Some(("a".into(), 1)));
        assert_eq!(in_hand.admit("a".into(), 2), None);
        assert_eq!(in_hand.admit("b".into(), 3), Some(("b".into(), 3)), "another key is not held up");
        assert_eq!(in_hand.admit("a".into(), 4), None);
        assert_eq!(in_hand.release("a"), Some(("a".into(), 2)));
        assert_eq!(in_hand.admit("a".into(), 5), None, "the key passed to the held item");
        assert_eq!(in_hand.release("a"), Some(("a".into(), 4)));
        assert_eq!(in_hand.release("a"), Some(("a".into(), 5)));
        assert_eq!(in_hand.release("a"), None);
        assert_eq!(in_hand.admit("a".into(), 6), Some(("a".into(), 6)), "the key is free again");
        assert_eq!(in_hand.release("b"), None);
        assert!(in_hand.held.is_empty());
    }
    use crate::webex::mercury::{ActivityMeta, RoomRef};

    fn meta(activity: &str, room: Option<&str>) -> ActivityMeta {
        ActivityMeta {
            activity_id: activity.into(),
            published: None,
            actor: None,
            room: room.map(|uuid| RoomRef { uuid: uuid.into(), ..RoomRef::default() }),
            by_bot: false,
        }
    }

    #[test]
    fn submissions_on_one_card_share_a_key_whatever_their_activity() {
        let press = |activity: &str, card: &str| Event::CardSubmitted {
            meta: meta(activity, Some("room-1")),
            card_message_uuid: Some(card.into()),
        };
        assert_eq!(order_key(&press("a1", "card-1")), order_key(&press("a2", "card-1")));
        assert_ne!(order_key(&press("a1", "card-1")), order_key(&press("a1", "card-2")));
    }

    #[test]
    fn space_events_are_ordered_by_room_and_messages_only_by_activity() {
        let created = Event::RoomCreated { meta: meta("a1", Some("room-1")) };
        let updated = Event::RoomUpdated { meta: meta("a2", Some("room-1")), verb: "update".into() };
        assert_eq!(order_key(&created), order_key(&updated));
        let first = Event::MessagePosted { meta: meta("m1", Some("room-1")) };
        let second = Event::MessagePosted { meta: meta("m2", Some("room-1")) };
        assert_ne!(order_key(&first), order_key(&second));
        assert_eq!(order_key(&first), order_key(&Event::MessagePosted { meta: meta("m1", None) }));
    }
}
