//! Who is on the other side of each direct space.
//!
//! `GET /rooms` gives a direct room's title (the other person's name, which
//! people share) but not who they are. `GET /memberships?roomId=` lists the two
//! members, which a bot may ask of any room it is in; the one that is not the
//! bot is the counterpart. A direct room Mercury tells of is learnt at once; a
//! resync learns it for direct spaces not known yet only (never again for a
//! known one), at most [`LOOKUPS_PER_SYNC`] a time, a
//! few at once. A failed lookup leaves the fields `null` and is tried again on a
//! later resync; it never fails the resync. A rate limit or a Webex outage ends
//! the round early: the rest waits for the next resync.

use super::Spaces;
use crate::store::{Counterpart, SyncReport};
use crate::webex::ids;
use crate::webex::rest::{Membership, RetryKind};
use futures_util::StreamExt;
use std::sync::atomic::{AtomicBool, Ordering};

/// Membership lookups a resync makes at most (a first resync of a bot with
/// thousands of DMs learns them over several resyncs, not in one burst).
pub const LOOKUPS_PER_SYNC: usize = 100;

/// Lookups under way at once.
const AT_ONCE: usize = 4;

impl Spaces {
    /// Learns the other person of up to [`LOOKUPS_PER_SYNC`] direct spaces;
    /// returns how many were learnt. Never fails: what it cannot learn stays due.
    pub(super) async fn learn_counterparts(&self) -> usize {
        let Some(bot) = self.bot.get() else {
            return 0; // before the token is validated: the next resync learns them
        };
        let due = match self.store.counterparts_due(LOOKUPS_PER_SYNC).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "cannot read the direct spaces to learn; left for the next resync");
                return 0;
            }
        };
        let stop = AtomicBool::new(false);
        let learnt = futures_util::stream::iter(due)
            .map(|space_id| self.learn_one(space_id, bot, &stop))
            .buffer_unordered(AT_ONCE)
            .filter(|learnt| std::future::ready(*learnt))
            .count()
            .await;
        if learnt > 0 {
            tracing::info!(learnt, "learnt who direct spaces are with");
        }
        learnt
    }

    /// A direct space Mercury just told of: its person now rather than at the
    /// next resync, if not known yet (a failure leaves it to the resync).
    pub(super) async fn learn_counterpart_of(&self, space_id: &str) {
        let Some(bot) = self.bot.get() else { return };
        match self.store.space(space_id).await {
            Ok(Some(space)) if space.counterpart_id.is_none() => {
                self.learn_one(space.id, bot, &AtomicBool::new(false)).await;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, space = %space_id, "cannot read a direct space; left for the resync"),
        }
    }

    /// One lookup, recorded whatever its outcome (unless the round was stopped).
    async fn learn_one(&self, space_id: String, bot: &str, stop: &AtomicBool) -> bool {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let found = match self.rest.memberships(&space_id, None).await {
            Ok(members) => counterpart(members, bot),
            Err(error) => {
                if matches!(error.retry_kind(), RetryKind::Transient { .. }) {
                    stop.store(true, Ordering::Relaxed);
                }
                tracing::warn!(%error, space = %space_id, "cannot learn who a direct space is with; tried again later");
                None
            }
        };
        let learnt = found.is_some();
        if let Err(error) = self.store.record_counterpart(&space_id, found).await {
            tracing::warn!(%error, space = %space_id, "cannot record who a direct space is with");
            return false;
        }
        learnt
    }

    /// Re-reads the direct spaces of a report, so that it names who they are with.
    pub(super) async fn with_counterparts(&self, mut report: SyncReport) -> SyncReport {
        for space in report.added.iter_mut().chain(report.updated.iter_mut()) {
            if space.space_type == "direct" && space.counterpart_id.is_none() {
                if let Ok(Some(known)) = self.store.space(&space.id).await {
                    *space = known;
                }
            }
        }
        report
    }
}

/// The member that is not the bot (compared by uuid: ids may differ in form).
fn counterpart(members: Vec<Membership>, bot_uuid: &str) -> Option<Counterpart> {
    let other =
        members.into_iter().find(|m| ids::uuid_of(&m.person_id).as_deref().unwrap_or(&m.person_id) != bot_uuid)?;
    Some(Counterpart { id: other.person_id, email: other.person_email, name: other.person_display_name })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webex::ids::{IdKind, RestId};

    fn member(uuid: &str, email: &str) -> Membership {
        Membership {
            id: format!("m-{uuid}"),
            room_id: "room".into(),
            person_id: RestId::new(IdKind::People, "us", uuid).encode(),
            person_email: Some(email.into()),
            person_display_name: Some("Ana Lopez".into()),
            person_org_id: None,
            is_moderator: false,
            room_type: None,
            created: None,
        }
    }

    #[test]
    fn the_counterpart_is_the_member_that_is_not_the_bot() {
        let members = vec![member("bot-uuid", "bot@webex.bot"), member("ana-uuid", "ana@example.com")];
        let found = counterpart(members, "bot-uuid").expect("the other member");
        assert_eq!(found.email.as_deref(), Some("ana@example.com"));
        assert_eq!(ids::uuid_of(&found.id).as_deref(), Some("ana-uuid"));
        assert_eq!(counterpart(vec![member("bot-uuid", "bot@webex.bot")], "bot-uuid"), None, "alone in the room");
    }
}
