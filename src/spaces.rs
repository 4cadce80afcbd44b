//! Spaces: the truth about where the bot can post, without asking Webex.
//!
//! A Webex bot sees only the spaces it was added to. Mercury tells us when it is
//! added or removed and when a room changes; a full `GET /rooms` resync (at
//! start, after every reconnect, and periodically) repairs whatever was missed
//! while disconnected, including rooms migrated to a new id; [`keep_in_sync`] is
//! the loop that schedules it. The list is staged in the store page by page as
//! REST returns it, so its memory is one page's, not the whole list's. After
//! it, `counterparts` learns who the direct spaces not known yet are with.

mod counterparts;

use crate::backoff::Backoff;
use crate::store::{
    ActivityOutcome, Detail, EventPayload, EventRecord, Handled, RoomSnapshot, StagedSync, Store, StoreError,
    SyncReport, SyncTally,
};
use crate::webex::ids::{IdKind, RestId, US_CLUSTER};
use crate::webex::mercury::link::LinkState;
use crate::webex::rest::{RestClient, RestError, Room, RoomQuery};
use rand::SeedableRng;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum SpacesError {
    #[error(transparent)]
    Rest(#[from] RestError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct Spaces {
    rest: RestClient,
    store: Store,
    resync_wanted: Arc<Notify>,
    /// The bot's uuid, once its token is validated: how the other member of a
    /// direct room is told from the bot.
    bot: Arc<OnceLock<String>>,
}

impl Spaces {
    pub fn new(rest: RestClient, store: Store) -> Self {
        Self { rest, store, resync_wanted: Arc::new(Notify::new()), bot: Arc::new(OnceLock::new()) }
    }

    /// The bot is the person with this REST id (its token was validated).
    pub fn know_bot(&self, person_id: &str) {
        let _ = self.bot.set(crate::webex::ids::uuid_of(person_id).unwrap_or_else(|| person_id.to_owned()));
    }

    /// Full resync from `GET /rooms` (all pages), reporting every space it changed.
    pub async fn resync(&self) -> Result<SyncReport, SpacesError> {
        Ok(self.sync(Detail::Lists).await?.1)
    }

    /// The same, counting what changed rather than listing it.
    pub async fn resync_counts(&self) -> Result<SyncTally, SpacesError> {
        Ok(self.sync(Detail::Counts).await?.0)
    }

    async fn sync(&self, detail: Detail) -> Result<(SyncTally, SyncReport), SpacesError> {
        let mut staged = self.store.begin_sync();
        if let Err(error) = self.stage_every_page(&mut staged).await {
            if let Err(cleanup) = self.store.abandon_sync(staged).await {
                tracing::warn!(error = %cleanup, "cannot drop a failed resync's rooms (dropped at the next start)");
            }
            return Err(error);
        }
        let (tally, report) = self.store.finish_sync(staged, detail).await?;
        if tally.added + tally.removed + tally.updated > 0 {
            tracing::info!(added = tally.added, removed = tally.removed, updated = tally.updated, "spaces resynced");
        }
        if self.learn_counterparts().await > 0 && detail == Detail::Lists {
            return Ok((tally, self.with_counterparts(report).await));
        }
        Ok((tally, report))
    }

    async fn stage_every_page(&self, staged: &mut StagedSync) -> Result<(), SpacesError> {
        let mut pages = self.rest.room_pages(&RoomQuery::default());
        while let Some(rooms) = pages.next_page().await? {
            self.store.stage_rooms(staged, rooms.iter().filter_map(snapshot).collect()).await?;
        }
        Ok(())
    }

    /// Asks the resync loop for a resync soon (an event could not be handled).
    pub fn request_resync(&self) {
        self.resync_wanted.notify_one();
    }

    pub async fn resync_requested(&self) {
        self.resync_wanted.notified().await;
    }

    /// The bot was added to, or something changed in, the room with this uuid:
    /// fetch it over REST and record it.
    pub async fn room_seen(&self, room_uuid: &str, activity_id: &str) -> Result<Handled, SpacesError> {
        match self.lookup(room_uuid).await?.as_ref().and_then(snapshot) {
            Some(snapshot) => {
                let (id, direct) = (snapshot.id.clone(), snapshot.space_type == "direct");
                log_outcome(self.store.space_seen(snapshot, Some(activity_id)).await?);
                if direct {
                    self.learn_counterpart_of(&id).await;
                }
                Ok(Handled::Committed)
            }
            None => {
                // Not under the id we could build (Mercury gives no cluster): the full
                // list names every room the bot is in, in its own cluster, and also
                // marks the room removed if the bot is not in it after all.
                self.resync_counts().await?;
                Ok(Handled::NoEffect)
            }
        }
    }

    /// A room Webex just showed us (outside any Mercury activity).
    pub async fn record_room(&self, room: &Room) -> Result<(), SpacesError> {
        if let Some(snapshot) = snapshot(room) {
            log_outcome(self.store.space_seen(snapshot, None).await?);
        }
        Ok(())
    }

    pub async fn room_gone(&self, room_uuid: &str, activity_id: &str) -> Result<Handled, SpacesError> {
        log_outcome(self.store.space_removed(room_uuid, Some(activity_id)).await?);
        Ok(Handled::Committed)
    }

    /// A room by uuid, under the id we already know or else in the US cluster
    /// (a wrong cluster is a 404); `None` when Webex does not find it there.
    async fn lookup(&self, room_uuid: &str) -> Result<Option<Room>, SpacesError> {
        let candidate = match self.store.space(room_uuid).await? {
            Some(space) => space.id,
            None => RestId::new(IdKind::Room, US_CLUSTER, room_uuid).encode(),
        };
        match self.rest.room(&candidate).await {
            Ok(room) => Ok(Some(room)),
            Err(RestError::NotFound { .. }) => Ok(None),
            Err(other) => Err(other.into()),
        }
    }
}

/// Resyncs spaces at start, after every reconnect (events during an outage are
/// lost), when an event could not be handled, and every `interval`.
pub async fn keep_in_sync(
    spaces: Spaces,
    interval: Duration,
    mut link: watch::Receiver<LinkState>,
    leader: crate::store::Leadership,
    shutdown: CancellationToken,
) {
    let mut backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(60));
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let mut next = Instant::now();
    let mut was_connected = link.borrow().connected;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            // The periodic and at-reconnect syncs are the leader's (one
            // resync for all the instances sharing the store).
            // A follower looks again each heartbeat: elected, it syncs at once.
            _ = sleep_until(next), if !leader.is_leader() => next = Instant::now() + crate::store::LEADER_HEARTBEAT,
            _ = sleep_until(next) => {
                next = match spaces.resync_counts().await {
                    Ok(_) => {
                        backoff.reset();
                        Instant::now() + interval
                    }
                    Err(error) => {
                        let delay = backoff.next_delay(&mut rng);
                        tracing::warn!(%error, ?delay, "spaces resync failed; retrying");
                        Instant::now() + delay
                    }
                };
            }
            _ = spaces.resync_requested() => next = Instant::now(),
            changed = link.changed() => {
                if changed.is_err() {
                    return;
                }
                let connected = link.borrow_and_update().connected;
                if connected && !was_connected {
                    next = Instant::now();
                }
                was_connected = connected;
            }
        }
    }
}

/// One short line per change (the event log holds the whole record).
fn log_outcome(outcome: ActivityOutcome<Option<EventRecord>>) {
    match outcome {
        ActivityOutcome::Applied(Some(event)) => {
            let space = match &event.payload {
                EventPayload::Space(space) => space.id.as_str(),
                _ => "",
            };
            tracing::info!(seq = event.seq, kind = event.kind.as_str(), space, "space changed");
        }
        ActivityOutcome::Applied(None) => {}
        ActivityOutcome::AlreadyProcessed => tracing::debug!("activity already processed"),
    }
}

/// What the store keeps of a REST room; `None` if its id does not decode.
pub fn snapshot(room: &Room) -> Option<RoomSnapshot> {
    let id = RestId::decode(&room.id).ok()?;
    Some(RoomSnapshot {
        id: room.id.clone(),
        uuid: id.uuid,
        cluster: id.cluster,
        title: room.title.clone(),
        space_type: room.room_type.as_str().to_owned(),
        is_locked: room.is_locked,
        last_activity: room.last_activity,
    })
}
