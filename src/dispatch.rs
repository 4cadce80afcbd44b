//! Takes events off the Mercury link, drops duplicates, hands each to its
//! handler, and acks it only after the handler is done.
//!
//! Duplicates come from Mercury's redelivery of unacked frames and from leaked
//! devices (every device receives every event); the activity id identifies them.

use crate::api::health::EventCounts;
use crate::webex::mercury::link::Inbound;
use crate::webex::mercury::Event;
use std::collections::{HashSet, VecDeque};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Remembers the last `capacity` activity ids.
#[derive(Debug)]
pub struct RecentIds {
    capacity: usize,
    order: VecDeque<String>,
    seen: HashSet<String>,
}

impl RecentIds {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            order: VecDeque::with_capacity(capacity),
            seen: HashSet::with_capacity(capacity),
        }
    }

    /// True the first time an id is offered.
    pub fn first_time(&mut self, id: &str) -> bool {
        if self.seen.contains(id) {
            return false;
        }
        if self.order.len() == self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        self.order.push_back(id.to_owned());
        self.seen.insert(id.to_owned());
        true
    }
}

pub struct Dispatcher {
    pub events: mpsc::UnboundedReceiver<Inbound>,
    pub counts: watch::Sender<EventCounts>,
    pub recent: RecentIds,
}

impl Dispatcher {
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            let inbound = tokio::select! {
                _ = shutdown.cancelled() => return,
                inbound = self.events.recv() => match inbound {
                    Some(inbound) => inbound,
                    None => return,
                },
            };
            self.dispatch(inbound).await;
        }
    }

    async fn dispatch(&mut self, Inbound { event, ack }: Inbound) {
        if !self.recent.first_time(event.activity_id()) {
            tracing::debug!(activity = event.activity_id(), "duplicate activity dropped");
            self.counts.send_modify(|c| c.duplicates += 1);
            ack.send();
            return;
        }
        handle(&event).await;
        self.counts.send_modify(|c| c.handled += 1);
        ack.send();
    }
}

async fn handle(event: &Event) {
    tracing::info!(
        kind = event.kind(),
        activity = event.activity_id(),
        "Webex event"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_ids_forget_the_oldest() {
        let mut recent = RecentIds::new(2);
        assert!(recent.first_time("a"));
        assert!(!recent.first_time("a"));
        assert!(recent.first_time("b"));
        assert!(recent.first_time("c"));
        assert!(recent.first_time("a"), "a was pushed out by c");
        assert!(!recent.first_time("c"));
    }
}
