//! What an escalation's policy does at each step: when a reminder is due,
//! what it says, and what the deadline turns into. Pure, so the timing and
//! the words are tested without a store or a clock.

use crate::model::{Answer, Answerer, Destination, Escalation, OnDeadline, Policy, Reminders};
use crate::store::{Closing, ReminderText};
use chrono::{DateTime, Duration, Utc};

/// `answer.by.id` of an automatic answer: no Webex person has it.
pub const AUTOMATIC_ID: &str = "policy";

/// The first reminder, counted from the card's posting.
/// Every time here is moved into the policy's business hours, if it has any.
pub fn first_reminder_at(policy: &Policy, posted_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    policy.reminders.as_ref().map(|r| policy.open_at(posted_at + seconds(r.first_after_s)))
}

/// After reminder number `sent` (1-based) went: when the next is due, if any.
pub fn next_reminder_at(policy: &Policy, sent: u32, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let reminders = policy.reminders.as_ref()?;
    (sent < reminders.max).then(|| policy.open_at(now + seconds(reminders.every_s)))
}

/// The words of reminder number `n`: in a space it mentions the policy's
/// people (a DM notifies its one recipient anyway).
pub fn reminder_text(record: &Escalation, reminders: &Reminders, n: u32, now: DateTime<Utc>) -> ReminderText {
    let waited = waited(now - record.created_at);
    let text = format!(
        "Reminder {n} of {}: this request has been waiting for input for {waited}. \
         Press Provide Input on the card above to answer it.",
        reminders.max
    );
    let in_space = matches!(record.request.to, Destination::SpaceId(_));
    let markdown = (in_space && !reminders.mention.is_empty()).then(|| {
        let mentions: Vec<String> = reminders.mention.iter().map(|email| format!("<@personEmail:{email}>")).collect();
        format!("{} {text}", mentions.join(" "))
    });
    ReminderText { text, markdown }
}

/// The first fallback destination's turn, counted from the card's posting.
pub fn first_fallback_at(policy: &Policy, posted_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    policy.fallback.as_ref().map(|f| policy.open_at(posted_at + seconds(f.after_s)))
}

/// The destination of fallback step `step` (1-based), and when the one after
/// it is due (`None`: it is the last).
pub fn fallback_step(policy: &Policy, step: u32, now: DateTime<Utc>) -> Option<(Destination, Option<DateTime<Utc>>)> {
    let fallback = policy.fallback.as_ref()?;
    let index = usize::try_from(step).ok()?.checked_sub(1)?;
    let to = fallback.to.get(index)?.clone();
    let next = (index + 1 < fallback.to.len()).then(|| policy.open_at(now + seconds(fallback.after_s)));
    Some((to, next))
}

/// The note threaded under the cards the escalation already has, when it goes
/// to `label` too: whoever sees it there knows they may still answer.
pub fn fallback_note(label: &str, now: DateTime<Utc>) -> ReminderText {
    let text = format!(
        "No answer yet: at {} UTC this request was also sent to {label}. The first answer on any of its cards counts.",
        now.format("%H:%M")
    );
    ReminderText { text, markdown: None }
}

/// A claim lapsed unanswered at `now`: when reminders and fallbacks resume
/// (where any are left), and the note that says so under every card,
/// mentioning the policy's people as a reminder does.
pub fn after_lapse(
    record: &Escalation,
    now: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>, ReminderText) {
    let policy = &record.request.policy;
    let reminder = next_reminder_at(policy, record.reminders.sent, now);
    let fallback = policy
        .fallback
        .as_ref()
        .filter(|f| usize::try_from(record.fallback.step).is_ok_and(|step| step < f.to.len()))
        .map(|f| policy.open_at(now + seconds(f.after_s)));
    let who = record.claim.as_ref().map_or_else(|| "The claim".to_owned(), |c| format!("{}'s claim", c.by.name));
    let text = format!("{who} ran out without an answer: this request is waiting for input again.");
    let in_space = matches!(record.request.to, Destination::SpaceId(_));
    let mention = policy.reminders.as_ref().map(|r| r.mention.as_slice()).unwrap_or_default();
    let markdown = (in_space && !mention.is_empty()).then(|| {
        let mentions: Vec<String> = mention.iter().map(|email| format!("<@personEmail:{email}>")).collect();
        format!("{} {text}", mentions.join(" "))
    });
    (reminder, fallback, ReminderText { text, markdown })
}

/// What the deadline does to a pending escalation.
#[derive(Debug, Clone, PartialEq)]
pub enum AtDeadline {
    Close(Closing),
    KeepPending,
}

pub fn at_deadline(policy: &Policy, now: DateTime<Utc>) -> AtDeadline {
    match &policy.on_deadline {
        OnDeadline::Expire => AtDeadline::Close(Closing::Expired),
        OnDeadline::KeepPending => AtDeadline::KeepPending,
        OnDeadline::Default(inputs) => AtDeadline::Close(Closing::Defaulted(Answer {
            inputs: inputs.clone(),
            by: Answerer {
                id: AUTOMATIC_ID.into(),
                email: None,
                name: "the escalation's policy (automatic, nobody answered in time)".into(),
            },
            at: now,
            automatic: true,
        })),
    }
}

fn seconds(s: u64) -> Duration {
    Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX))
}

/// "12 minutes", "2 hours", "45 seconds": how a person says it.
fn waited(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    let (n, unit) = match s {
        0..=119 => (s, "second"),
        120..=7199 => (s / 60, "minute"),
        _ => (s / 3600, "hour"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escalation::testkit;
    use crate::model::Fallback;

    fn reminders(max: u32, mention: &[&str]) -> Reminders {
        Reminders { first_after_s: 600, every_s: 300, max, mention: mention.iter().map(|m| m.to_string()).collect() }
    }

    #[test]
    fn reminders_come_at_the_first_interval_then_every_until_the_last() {
        let t0 = testkit::at();
        let policy = Policy { reminders: Some(reminders(2, &[])), ..Policy::default() };
        assert_eq!(first_reminder_at(&policy, t0), Some(t0 + Duration::seconds(600)));
        assert_eq!(next_reminder_at(&policy, 1, t0), Some(t0 + Duration::seconds(300)));
        assert_eq!(next_reminder_at(&policy, 2, t0), None, "the second of two is the last");
        assert_eq!(first_reminder_at(&Policy::default(), t0), None);
    }

    #[test]
    fn a_reminder_in_a_space_mentions_its_people_and_a_dm_does_not() {
        let now = testkit::at();
        let mut record = testkit::escalation();
        record.created_at = now - Duration::minutes(12);
        record.request.to = Destination::SpaceId("R".into());
        let words = reminder_text(&record, &reminders(2, &["ana@example.com", "bo@example.com"]), 1, now);
        assert!(words.text.starts_with("Reminder 1 of 2: this request has been waiting for input for 12 minutes."));
        let markdown = words.markdown.unwrap();
        assert!(markdown.starts_with("<@personEmail:ana@example.com> <@personEmail:bo@example.com> Reminder 1"));
        record.request.to = Destination::PersonEmail("ana@example.com".into());
        assert_eq!(reminder_text(&record, &reminders(2, &["ana@example.com"]), 2, now).markdown, None);
    }

    #[test]
    fn the_deadline_expires_keeps_or_answers_automatically() {
        let now = testkit::at();
        assert_eq!(at_deadline(&Policy::default(), now), AtDeadline::Close(Closing::Expired));
        let keep = Policy { on_deadline: OnDeadline::KeepPending, ..Policy::default() };
        assert_eq!(at_deadline(&keep, now), AtDeadline::KeepPending);
        let inputs = [("decision".to_owned(), "hold".to_owned())].into();
        let default = Policy { on_deadline: OnDeadline::Default(inputs), ..Policy::default() };
        let AtDeadline::Close(Closing::Defaulted(answer)) = at_deadline(&default, now) else { panic!("defaulted") };
        assert!(answer.automatic);
        assert_eq!(answer.by.id, AUTOMATIC_ID);
        assert_eq!(answer.inputs["decision"], "hold");
    }

    #[test]
    fn fallbacks_go_down_the_list_one_interval_apart() {
        let t0 = testkit::at();
        let to = vec![Destination::SpaceId("A".into()), Destination::PersonEmail("lead@example.com".into())];
        let fallback = Fallback { after_s: 1800, to: to.clone() };
        let policy = Policy { fallback: Some(fallback.clone()), ..Policy::default() };
        assert_eq!(first_fallback_at(&policy, t0), Some(t0 + Duration::seconds(1800)));
        assert_eq!(fallback_step(&policy, 1, t0), Some((to[0].clone(), Some(t0 + Duration::seconds(1800)))));
        assert_eq!(fallback_step(&policy, 2, t0), Some((to[1].clone(), None)), "the last has no next");
        assert_eq!(fallback_step(&policy, 3, t0), None);
        assert_eq!(fallback_step(&policy, 0, t0), None);
        let note = fallback_note("lead@example.com", t0);
        assert_eq!(
            note.text,
            "No answer yet: at 13:05 UTC this request was also sent to lead@example.com. \
             The first answer on any of its cards counts."
        );
    }

    #[test]
    fn steps_outside_business_hours_wait_for_the_next_window() {
        // testkit::at() is Wednesday 2026-11-25 13:05 UTC; the window opens at 14:00 UTC.
        let t0 = testkit::at();
        let hours = crate::model::BusinessHours {
            tz: "UTC".into(),
            days: "mon-fri".into(),
            from: "14:00".into(),
            to: "18:00".into(),
        };
        let fallback = Fallback { after_s: 60, to: vec![Destination::SpaceId("A".into())] };
        let policy = Policy {
            reminders: Some(reminders(2, &[])),
            fallback: Some(fallback),
            business_hours: Some(hours),
            ..Policy::default()
        };
        let opens = t0 + Duration::minutes(55);
        assert_eq!(first_reminder_at(&policy, t0), Some(opens), "10 minutes after 13:05 is before 14:00");
        assert_eq!(first_fallback_at(&policy, t0), Some(opens));
        let inside = opens + Duration::minutes(5);
        assert_eq!(next_reminder_at(&policy, 1, inside), Some(inside + Duration::seconds(300)), "inside: no wait");
    }

    #[test]
    fn waits_read_as_people_say_them() {
        assert_eq!(waited(Duration::seconds(1)), "1 second");
        assert_eq!(waited(Duration::seconds(90)), "90 seconds");
        assert_eq!(waited(Duration::minutes(12)), "12 minutes");
        assert_eq!(waited(Duration::hours(3)), "3 hours");
    }
}
