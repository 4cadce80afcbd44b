//! What the answer path remembers between submissions: who was confirmed a
//! member of which room, and who people are, so that a warm answer makes one
//! REST call (the attachment action) instead of three.
//!
//! The freshness rule, because a removed member must never answer:
//! - only confirmations are kept ("is a member"), never refusals, so an added
//!   member is asked about again at once;
//! - `MemberRemoved` and `MemberAdded` events drop the person's entry for that
//!   room as they arrive, before any later event is handled (the dispatcher
//!   calls [`Known::membership_changed`] in its router, ahead of both lanes); the
//!   bot's own removal drops the whole room;
//! - an entry is trusted only on the Mercury connection it was made on (events
//!   missed while the link was down cannot leave one behind) and for at most
//!   [`MEMBER_TTL`] — the bound on a missed event where no reconnect shows it;
//! - a confirmation whose REST call was under way while an event dropped
//!   entries is not stored (a generation counter tells).
//!
//! People's names and emails are only shown, so they are kept for [`PERSON_TTL`].
//! Both maps are bounded: at [`MAX_ENTRIES`] a map starts over.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::model::Answerer;

/// How long a confirmed membership is trusted without an event saying otherwise.
pub const MEMBER_TTL: Duration = Duration::from_secs(60);
/// How long a person's name and email are reused.
pub const PERSON_TTL: Duration = Duration::from_secs(600);
/// Entries per map at most.
pub const MAX_ENTRIES: usize = 10_000;

/// The connection a confirmation was made on: the link's reconnect count.
pub type Epoch = u64;

#[derive(Debug, Default)]
pub struct Known {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// (room uuid, person uuid), lowercase → when confirmed, on which connection.
    members: HashMap<(String, String), (Instant, Epoch)>,
    /// person uuid, lowercase → who, since when.
    people: HashMap<String, (Answerer, Instant)>,
    /// Bumped by every membership event.
    generation: u64,
}

/// Read before a membership is asked of REST, handed back to store its answer.
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    generation: u64,
    epoch: Epoch,
}

fn key(room_uuid: &str, person_uuid: &str) -> (String, String) {
    (room_uuid.to_ascii_lowercase(), person_uuid.to_ascii_lowercase())
}

impl Known {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `person` was confirmed a member of `room` on connection `epoch`, recently.
    pub fn is_member(&self, room_uuid: &str, person_uuid: &str, epoch: Epoch) -> bool {
        let state = self.state();
        state
            .members
            .get(&key(room_uuid, person_uuid))
            .is_some_and(|(at, made_on)| *made_on == epoch && at.elapsed() < MEMBER_TTL)
    }

    /// Taken before asking REST, so that an event meanwhile voids the answer.
    pub fn ticket(&self, epoch: Epoch) -> Ticket {
        Ticket { generation: self.state().generation, epoch }
    }

    /// REST confirmed the membership; kept unless an event came since the ticket.
    pub fn confirmed(&self, room_uuid: &str, person_uuid: &str, ticket: Ticket) {
        let mut state = self.state();
        if state.generation != ticket.generation {
            return;
        }
        if state.members.len() >= MAX_ENTRIES {
            state.members.clear();
        }
        state.members.insert(key(room_uuid, person_uuid), (Instant::now(), ticket.epoch));
    }

    /// A membership event: the person's entry for the room goes, or, when the bot
    /// itself left or joined, every entry of the room.
    pub fn membership_changed(&self, room_uuid: &str, person_uuid: &str, is_bot: bool) {
        let mut state = self.state();
        state.generation += 1;
        if is_bot {
            let room = room_uuid.to_ascii_lowercase();
            state.members.retain(|(r, _), _| *r != room);
        } else {
            state.members.remove(&key(room_uuid, person_uuid));
        }
    }

    pub fn person(&self, person_uuid: &str) -> Option<Answerer> {
        let state = self.state();
        let (who, at) = state.people.get(&person_uuid.to_ascii_lowercase())?;
        (at.elapsed() < PERSON_TTL).then(|| who.clone())
    }

    pub fn person_seen(&self, person_uuid: &str, who: &Answerer) {
        let mut state = self.state();
        if state.people.len() >= MAX_ENTRIES {
            state.people.clear();
        }
        state.people.insert(person_uuid.to_ascii_lowercase(), (who.clone(), Instant::now()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_membership_is_trusted_on_its_connection_until_an_event_or_the_ttl() {
        let known = Known::default();
        known.confirmed("ROOM", "ana", known.ticket(3));
        assert!(known.is_member("room", "ANA", 3));
        assert!(!known.is_member("room", "ana", 4), "another connection may have missed events");
        known.membership_changed("room", "ana", false);
        assert!(!known.is_member("room", "ana", 3), "removed");

        known.confirmed("room", "ana", known.ticket(3));
        tokio::time::advance(MEMBER_TTL).await;
        assert!(!known.is_member("room", "ana", 3), "stale");

        known.confirmed("room", "ben", known.ticket(3));
        known.membership_changed("room", "bot", true);
        assert!(!known.is_member("room", "ben", 3), "the bot left: the room is forgotten");
    }

    #[test]
    fn a_confirmation_under_way_when_an_event_came_is_not_kept() {
        let known = Known::default();
        let ticket = known.ticket(0);
        known.membership_changed("room", "ana", false);
        known.confirmed("room", "ana", ticket);
        assert!(!known.is_member("room", "ana", 0));
    }
}
