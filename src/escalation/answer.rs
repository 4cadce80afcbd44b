//! A specialist pressed "Provide Input": check the submission, and let the first
//! valid answer win.
//!
//! Mercury's copy of the inputs is encrypted, so the plaintext comes from
//! `GET /attachment/actions/{id}`. A submission is refused (with a short
//! threaded reply saying why) when its signature is not ours, when the person
//! may not answer, when the inputs are invalid, or when someone was first.
//!
//! The calls are made concurrently where they are independent: the membership
//! check and the person lookup for the actor Mercury names start with the
//! attachment action (they are redone for its person should it differ), and
//! [`known`] remembers confirmed members and people (its doc has the freshness
//! rule that keeps a removed member from answering), so a warm answer costs one
//! REST call.

mod claim;
mod known;

use super::card::{DATA_ESCALATION, DATA_SIGNATURE};
use super::request::check_answer;
use super::Context;
use crate::model::{Answer, Answerer, Escalation, Status};
use crate::store::{
    Card, CardOrigin, CloseOutcome, Closing, Handled, Pressed, Reply, ReplyQueued, ReplyTo, StoreError,
};
use crate::webex::ids::{self, IdKind, RestId};
use crate::webex::mercury::link::LinkState;
use crate::webex::mercury::ActivityMeta;
use crate::webex::rest::{AttachmentAction, PersonFilter, RestError};
use known::{Epoch, Known};
use std::sync::Arc;
use tokio::sync::watch;

#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error(transparent)]
    Rest(#[from] RestError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct AnswerHandler {
    ctx: Context,
    /// Our own clicks (the bot's) are not answers.
    bot_uuid: String,
    known: Arc<Known>,
    /// Which Mercury connection is live (`None`: not told; the TTL alone then bounds trust).
    link: Option<watch::Receiver<LinkState>>,
}

/// Who clicked, and what Webex says of them: fetched beside the attachment action.
struct Lookups {
    person_id: String,
    /// A refusal, or `None` when the person may answer.
    refusal: Result<Option<String>, AnswerError>,
    by: Result<Answerer, AnswerError>,
}

/// A submission on one of our cards, with its plaintext.
struct Submission {
    escalation: Escalation,
    /// The card pressed: the one the escalation names, or another of its cards.
    card: Card,
    action: AttachmentAction,
}

enum Verdict {
    Accept(Answer),
    /// "I'm on it", by this person.
    Claim(Answerer),
    Refuse(String),
    Ignore,
}

impl AnswerHandler {
    pub fn new(ctx: Context, bot_uuid: String) -> Self {
        Self { ctx, bot_uuid, known: Arc::default(), link: None }
    }

    /// Trusts a remembered membership only on the Mercury connection it was
    /// confirmed on (events missed between connections cannot leave one stale).
    pub fn with_link(mut self, link: watch::Receiver<LinkState>) -> Self {
        self.link = Some(link);
        self
    }

    /// A member joined or left a room (the bot included): forget what was known.
    /// Called as the event arrives, before any event after it is handled.
    pub fn membership_changed(&self, room_uuid: &str, member_uuid: &str, is_bot: bool) {
        self.known.membership_changed(room_uuid, member_uuid, is_bot);
    }

    /// The live connection; `None` while down (nothing remembered is trusted then).
    fn epoch(&self) -> Option<Epoch> {
        let Some(link) = &self.link else { return Some(0) };
        let state = link.borrow();
        state.connected.then_some(state.reconnects)
    }

    /// Handles one `cardAction` activity. Ok means "done, ack it" (and says whether
    /// the activity was recorded); an error means Webex or the store failed and
    /// the activity should be tried again.
    pub async fn on_submission(
        &self,
        meta: &ActivityMeta,
        card_message_uuid: Option<&str>,
    ) -> Result<Handled, AnswerError> {
        let activity = meta.activity_id.as_str();
        let (Some(card_uuid), false) = (card_message_uuid, meta.by_bot) else {
            // Not on a card, or our own click: nothing to do.
            return Ok(Handled::NoEffect);
        };
        let (submission, early) = match self.submission(meta, card_uuid).await? {
            Ok(found) => found,
            // Processed before, or not a submission on a card of ours.
            Err(handled) => return Ok(handled),
        };
        let (record, action) = (&submission.escalation, &submission.action);
        match self.judge(record, &submission.card, action, early).await? {
            Verdict::Accept(answer) => self.accept(&submission, answer, activity).await,
            Verdict::Claim(by) => self.claim(&submission, by, activity).await,
            Verdict::Ignore => Ok(Handled::NoEffect),
            Verdict::Refuse(refusal) => {
                tracing::info!(escalation = %record.id, person = %action.person_id, %refusal, "submission refused");
                self.reply(&submission, refusal, activity).await
            }
        }
    }

    /// The escalation, card and plaintext of a submission on one of our cards;
    /// for a known card, with the lookups for the actor made meanwhile. Else
    /// what the submission came to: a duplicate, or nothing of ours.
    async fn submission(
        &self,
        meta: &ActivityMeta,
        card_uuid: &str,
    ) -> Result<Result<(Submission, Option<Lookups>), Handled>, AnswerError> {
        let (escalation, card) = match self.ctx.store.card_pressed(&meta.activity_id, card_uuid).await? {
            Pressed::Card(found) => *found,
            Pressed::Processed => return Ok(Err(Handled::Duplicate)),
            Pressed::UnknownCard => {
                return Ok(self
                    .on_unknown_card(meta, card_uuid)
                    .await?
                    .map(|submission| (submission, None))
                    .ok_or(Handled::NoEffect));
            }
        };
        let Some(action_id) = attachment_action_id(&card.message_id, &meta.activity_id) else {
            return Ok(Err(Handled::NoEffect));
        };
        let actor = meta.actor.as_ref().map(|actor| RestId::new(IdKind::People, ids::US_CLUSTER, &actor.uuid).encode());
        let early = async {
            match &actor {
                Some(person_id) => Some(self.lookups(&escalation, &card, person_id).await),
                None => None,
            }
        };
        let (action, early) = tokio::join!(self.ctx.rest.attachment_action(&action_id), early);
        Ok(Ok((Submission { escalation, card, action: action? }, early)))
    }

    /// Whether the person may answer on this card, and who they are: two independent calls at once.
    async fn lookups(&self, record: &Escalation, card: &Card, person_id: &str) -> Lookups {
        let (refusal, by) = tokio::join!(self.may_not_answer(record, card, person_id), self.answerer(person_id));
        Lookups { person_id: person_id.to_owned(), refusal, by }
    }

    /// A person's name and email, from what was learned before if it is fresh.
    async fn answerer(&self, person_id: &str) -> Result<Answerer, AnswerError> {
        let uuid = ids::uuid_of(person_id).unwrap_or_else(|| person_id.to_owned());
        if let Some(known) = self.known.person(&uuid) {
            return Ok(known);
        }
        let person = self.ctx.rest.person(person_id).await?;
        let by =
            Answerer { email: person.primary_email().map(str::to_owned), id: person.id, name: person.display_name };
        self.known.person_seen(&uuid, &by);
        Ok(by)
    }

    /// A submission on a card we have no record of. It may be a duplicate of one
    /// of ours: Webex stored a card whose answer never reached us, and the outbox
    /// posted it again. Its signed data names the escalation; then the card is
    /// recorded, and the answer honoured like one on any other card.
    async fn on_unknown_card(&self, meta: &ActivityMeta, card_uuid: &str) -> Result<Option<Submission>, AnswerError> {
        let cluster = self.cluster_of_room(meta).await?;
        let action_id = RestId::new(IdKind::AttachmentAction, cluster.clone(), &meta.activity_id).encode();
        let action = match self.ctx.rest.attachment_action(&action_id).await {
            Ok(action) => action,
            // Not ours (another bot's card in a shared space), or gone.
            Err(RestError::NotFound { .. } | RestError::Forbidden { .. }) => return Ok(None),
            Err(other) => return Err(other.into()),
        };
        let Some(escalation_id) = action.inputs.get(DATA_ESCALATION) else { return Ok(None) };
        let signature = action.inputs.get(DATA_SIGNATURE).map(String::as_str).unwrap_or_default();
        if !self.ctx.signer.verify(escalation_id, signature) {
            return Ok(None);
        }
        let Some(escalation) = self.ctx.store.escalation(escalation_id).await? else { return Ok(None) };
        // Webex names the card and its room; where it does not, the ids are built
        // in the cluster the action was found in.
        let in_cluster = |kind, uuid: &str| RestId::new(kind, cluster.clone(), uuid).encode();
        let room_uuid = meta.room.as_ref().map(|room| room.uuid.as_str()).unwrap_or_default();
        let card = Card {
            message_uuid: card_uuid.to_owned(),
            message_id: Some(action.message_id.clone())
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| in_cluster(IdKind::Message, card_uuid)),
            escalation_id: escalation.id.clone(),
            space_id: action.room_id.clone().unwrap_or_else(|| in_cluster(IdKind::Room, room_uuid)),
            origin: CardOrigin::Found,
            at: chrono::Utc::now(),
        };
        if self.ctx.store.record_found_card(card.clone()).await? {
            tracing::warn!(escalation = %escalation.id, message = %card.message_id,
                "a second card of this escalation was pressed (a post whose answer was lost); it is tracked from now on");
        }
        Ok(Some(Submission { escalation, card, action }))
    }

    /// The cluster the activity's room lives in (a wrong cluster is a 404): from
    /// the spaces cache, else the original US cluster.
    async fn cluster_of_room(&self, meta: &ActivityMeta) -> Result<String, AnswerError> {
        let Some(room) = &meta.room else { return Ok(ids::US_CLUSTER.to_owned()) };
        let space = self.ctx.store.space(&room.uuid).await?;
        Ok(space.map_or_else(|| ids::US_CLUSTER.to_owned(), |space| space.cluster))
    }

    async fn judge(
        &self,
        record: &Escalation,
        card: &Card,
        action: &AttachmentAction,
        early: Option<Lookups>,
    ) -> Result<Verdict, AnswerError> {
        if ids::uuid_of(&action.person_id).is_some_and(|uuid| uuid.eq_ignore_ascii_case(&self.bot_uuid)) {
            return Ok(Verdict::Ignore);
        }
        // A late click on a closed card (a client showing a stale copy) is told why.
        if let Some(closed) = already_closed(record) {
            return Ok(Verdict::Refuse(closed));
        }
        let signed_for = action.inputs.get(DATA_ESCALATION).map(String::as_str);
        let signature = action.inputs.get(DATA_SIGNATURE).map(String::as_str).unwrap_or_default();
        if signed_for != Some(record.id.as_str()) || !self.ctx.signer.verify(&record.id, signature) {
            tracing::warn!(escalation = %record.id, action = %action.id, "submission with a missing or forged signature");
            return Ok(Verdict::Refuse("This card was not issued by this service; the submission was ignored.".into()));
        }
        // The lookups made for Mercury's actor hold if the action names the same person id.
        let lookups = match early {
            Some(early) if early.person_id == action.person_id => early,
            _ => self.lookups(record, card, &action.person_id).await,
        };
        if let Some(refusal) = lookups.refusal? {
            return Ok(Verdict::Refuse(refusal));
        }
        if claim::is_claim(action) {
            return Ok(claim::judge(record, lookups.by?));
        }
        if let Some(refusal) = claim::held_by_another(record, &action.person_id) {
            return Ok(Verdict::Refuse(refusal));
        }
        let inputs = match check_answer(&record.request.fields, &action.inputs) {
            Ok(inputs) => inputs,
            Err(invalid) => {
                return Ok(Verdict::Refuse(format!(
                    "Your input was not accepted ({invalid}). Please correct it and press Provide Input again."
                )))
            }
        };
        Ok(Verdict::Accept(Answer {
            inputs,
            by: lookups.by?,
            at: action.created.unwrap_or_else(chrono::Utc::now),
            automatic: false,
        }))
    }

    /// On the card in the escalation's own DM, only its recipient; on any other
    /// card (a space, or a policy's fallback destination), a current member of
    /// the card's space (known as one on this connection, or confirmed by Webex now).
    async fn may_not_answer(
        &self,
        record: &Escalation,
        card: &Card,
        person_id: &str,
    ) -> Result<Option<String>, AnswerError> {
        let in_own_space = record.delivery.space_id.as_deref().is_none_or(|space| space == card.space_id);
        if let (Some(recipient), true) = (&record.delivery.recipient_id, in_own_space) {
            return Ok(dm_refusal(recipient, person_id));
        }
        let room_id = &card.space_id;
        let room_uuid = ids::uuid_of(room_id).unwrap_or_default();
        let person_uuid = ids::uuid_of(person_id).unwrap_or_else(|| person_id.to_owned());
        let epoch = self.epoch();
        if epoch.is_some_and(|epoch| self.known.is_member(&room_uuid, &person_uuid, epoch)) {
            return Ok(None);
        }
        let ticket = epoch.map(|epoch| self.known.ticket(epoch));
        match self.ctx.rest.memberships(room_id, Some(PersonFilter::Id(person_id.to_owned()))).await {
            Ok(members) if !members.is_empty() => {
                if let Some(ticket) = ticket {
                    self.known.confirmed(&room_uuid, &person_uuid, ticket);
                }
                Ok(None)
            }
            Ok(_) | Err(RestError::NotFound { .. }) => {
                Ok(Some("Only members of this space can answer this request.".into()))
            }
            Err(other) => Err(other.into()),
        }
    }

    async fn accept(&self, submission: &Submission, answer: Answer, activity: &str) -> Result<Handled, AnswerError> {
        let record = &submission.escalation;
        let by = answer.by.name.clone();
        match self.ctx.store.close_escalation(&record.id, Closing::Answered(answer), Some(activity)).await? {
            CloseOutcome::Closed(closed) => {
                tracing::info!(escalation = %record.id, %by, "answered");
                // From the posting of the card pressed (a found duplicate's
                // posting is unknown; reminders touch the row, so not `updated_at`).
                if submission.card.origin == CardOrigin::Posted {
                    self.ctx.metrics.answered(submission.card.at, closed.closed_or_updated_at());
                }
                Ok(Handled::Committed)
            }
            CloseOutcome::NotPending(now) => {
                let why = already_closed(&now).unwrap_or_else(|| "This request is closed.".into());
                self.reply(submission, why, activity).await
            }
            CloseOutcome::Unknown => Ok(Handled::NoEffect),
        }
    }

    /// A threaded reply under the card pressed, recorded with the activity that
    /// caused it; the same words go to the same person once.
    async fn reply(&self, submission: &Submission, text: String, activity: &str) -> Result<Handled, AnswerError> {
        let card = &submission.card;
        let reply =
            Reply { room_id: card.space_id.clone(), parent_id: Some(card.message_id.clone()), text, markdown: None };
        let to = ReplyTo { escalation_id: card.escalation_id.clone(), person_id: submission.action.person_id.clone() };
        match self.ctx.store.enqueue_reply(reply, to, Some(activity)).await? {
            ReplyQueued::Queued => {}
            ReplyQueued::AlreadyOwed => tracing::debug!(escalation = %card.escalation_id, "same reply already owed"),
            ReplyQueued::Capped => {
                tracing::info!(escalation = %card.escalation_id, "reply not sent: the escalation had its share of replies")
            }
        }
        Ok(Handled::Committed)
    }
}

/// The REST id of an attachment action, in the cluster of the card it was made on
/// (Mercury gives only its uuid, and a wrong cluster is a 404).
fn attachment_action_id(card_message_id: &str, action_uuid: &str) -> Option<String> {
    let card = RestId::decode(card_message_id).ok()?;
    Some(RestId::new(IdKind::AttachmentAction, card.cluster, action_uuid).encode())
}

/// Why a closed escalation takes no more answers, in a specialist's words.
fn already_closed(record: &Escalation) -> Option<String> {
    let at =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.format("%H:%M UTC").to_string()).unwrap_or_default();
    match record.status {
        Status::Pending => None,
        Status::Answered => {
            let (who, when) = match &record.answer {
                Some(answer) => (answer.by.name.as_str(), Some(answer.at)),
                None => ("someone", record.closed_at),
            };
            Some(format!("Already answered by {who} at {}.", at(when)))
        }
        Status::Expired => Some(format!("This request expired at {}.", at(record.closed_at))),
        Status::Cancelled => Some(format!("This request was cancelled at {}.", at(record.closed_at))),
        Status::Failed => Some("This request is closed.".into()),
    }
}

/// In a DM only the person it was sent to may answer. Ids are compared by uuid:
/// the same person can come back with a differently encoded id.
fn dm_refusal(recipient_id: &str, person_id: &str) -> Option<String> {
    let uuid = |id: &str| ids::uuid_of(id).unwrap_or_else(|| id.to_owned()).to_ascii_lowercase();
    (uuid(recipient_id) != uuid(person_id))
        .then(|| "Only the person this request was sent to can answer it.".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escalation::testkit;

    #[test]
    fn only_the_dm_recipient_may_answer() {
        let ana = RestId::new(IdKind::People, "us", "2b9d4e10-6c7a-4f1b-8e3d-5a0c1b2d3e4f").encode();
        let ana_upper = RestId::new(IdKind::People, "us", "2B9D4E10-6C7A-4F1B-8E3D-5A0C1B2D3E4F").encode();
        let ben = RestId::new(IdKind::People, "us", "44445555-6666-4777-8888-999900001111").encode();
        assert_eq!(dm_refusal(&ana, &ana_upper), None);
        assert!(dm_refusal(&ana, &ben).unwrap().contains("Only the person"));
    }

    #[test]
    fn attachment_action_ids_take_the_card_cluster() {
        let card = RestId::new(IdKind::Message, "urn:TEAM:eu-central-1_k", "m-uuid").encode();
        let action = RestId::decode(&attachment_action_id(&card, "a-uuid").unwrap()).unwrap();
        assert_eq!(action, RestId::new(IdKind::AttachmentAction, "urn:TEAM:eu-central-1_k", "a-uuid"));
        assert_eq!(attachment_action_id("garbage", "a"), None);
    }

    #[test]
    fn late_submissions_are_told_who_was_first() {
        let closed = |status, answer| Escalation { status, answer, ..testkit::escalation() };
        let at = testkit::at();
        let answer = Answer {
            inputs: Default::default(),
            by: Answerer { id: "p".into(), email: None, name: "Ana".into() },
            at,
            automatic: false,
        };
        assert_eq!(
            already_closed(&closed(Status::Answered, Some(answer))).unwrap(),
            "Already answered by Ana at 13:05 UTC."
        );
        assert_eq!(already_closed(&closed(Status::Expired, None)).unwrap(), "This request expired at 13:05 UTC.");
        assert_eq!(already_closed(&closed(Status::Pending, None)), None);
    }
}
