//! Takes events off the Mercury link, drops those already handled, hands each
//! to its handler, and acks it only after what it changed is committed.
//!
//! Duplicates come from Mercury's redelivery of unacked frames (also across
//! restarts) and from leaked devices (every device receives every event). The
//! store remembers processed activity ids durably; each handler marks its
//! activity processed in the same transaction as its change.

use crate::api::health::EventCounts;
use crate::spaces::{Spaces, SpacesError};
use crate::store::Store;
use crate::webex::mercury::link::Inbound;
use crate::webex::mercury::Event;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

pub struct Dispatcher {
    pub events: mpsc::UnboundedReceiver<Inbound>,
    pub counts: watch::Sender<EventCounts>,
    pub store: Store,
    pub spaces: Spaces,
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
        let activity = event.activity_id().to_owned();
        match self.store.is_processed(&activity).await {
            Ok(true) => {
                tracing::debug!(%activity, "duplicate activity dropped");
                self.counts.send_modify(|c| c.duplicates += 1);
                ack.send();
                return;
            }
            Ok(false) => {}
            Err(error) => {
                // Without the store nothing can be committed: leave the frame unacked
                // so Mercury redelivers it once the store works again.
                tracing::error!(%error, %activity, "cannot read the store; event left for redelivery");
                return;
            }
        }
        match self.handle(&event).await {
            Ok(()) => self.counts.send_modify(|c| c.handled += 1),
            Err(error) => {
                // The resync repairs what this event would have changed.
                tracing::warn!(%error, kind = event.kind(), %activity, "event not handled; resyncing spaces");
                self.spaces.request_resync();
            }
        }
        ack.send();
    }

    async fn handle(&self, event: &Event) -> Result<(), SpacesError> {
        let activity = event.activity_id();
        let room = event.meta().room.as_ref().map(|room| room.uuid.as_str());
        tracing::debug!(kind = event.kind(), activity, room, "Webex event");
        match (event, room) {
            (Event::MemberAdded { is_bot: true, .. }, Some(room)) => self.spaces.room_seen(room, activity).await,
            (Event::MemberRemoved { is_bot: true, .. }, Some(room)) => self.spaces.room_gone(room, activity).await,
            (Event::RoomUpdated { .. } | Event::RoomCreated { .. }, Some(room)) => {
                self.spaces.room_seen(room, activity).await
            }
            _ => {
                self.store.mark_processed(activity).await?;
                Ok(())
            }
        }
    }
}
