//! The escalation clock: deadlines and policy reminders, fired when due —
//! including those that came due while the daemon was down (the first pass
//! runs at start). Each step is a compare-and-set in the store with its event
//! and its Webex calls, so a step fired twice (a restart in the middle, a
//! slow pass) is taken once.

use super::policy::{self, AtDeadline};
use super::Context;
use crate::model::{Destination, Escalation};
use crate::store::{CloseOutcome, StoreError};
use chrono::{DateTime, Utc};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Re-checks at least this often, so a newly created escalation with a short
/// timeout or reminder is never late by more than this.
const MAX_SLEEP: Duration = Duration::from_secs(1);

pub async fn run(ctx: Context, shutdown: CancellationToken) {
    loop {
        let next = match next_due(&ctx).await {
            Ok(next) => next,
            Err(error) => {
                tracing::error!(%error, "cannot read when escalation timers are due");
                None
            }
        };
        if next.is_some_and(|at| at <= Utc::now()) {
            if let Err(error) = fire(&ctx, Utc::now()).await {
                tracing::error!(%error, "cannot fire escalation timers");
            } else {
                continue;
            }
        }
        let wait = next.map_or(MAX_SLEEP, |at| (at - Utc::now()).to_std().unwrap_or_default()).min(MAX_SLEEP);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

async fn next_due(ctx: &Context) -> Result<Option<DateTime<Utc>>, StoreError> {
    let store = &ctx.store;
    let (deadline, reminder) = (store.next_expiry().await?, store.next_reminder().await?);
    let (fallback, claim) = (store.next_fallback().await?, store.next_claim_expiry().await?);
    Ok([deadline, reminder, fallback, claim].into_iter().flatten().min())
}

/// Takes every step due at `now`: deadlines first (an escalation whose time is
/// up gets no reminder), then lapsed claims, fallbacks and reminders.
pub async fn fire(ctx: &Context, now: DateTime<Utc>) -> Result<(), StoreError> {
    for record in ctx.store.deadlines_due(now).await? {
        deadline(ctx, &record, now).await?;
    }
    for record in ctx.store.claims_due(now).await? {
        lapse(ctx, &record, now).await?;
    }
    for record in ctx.store.fallbacks_due(now).await? {
        escalate(ctx, &record, now).await?;
    }
    for record in ctx.store.reminders_due(now).await? {
        remind(ctx, &record, now).await?;
    }
    Ok(())
}

async fn deadline(ctx: &Context, record: &Escalation, now: DateTime<Utc>) -> Result<(), StoreError> {
    match policy::at_deadline(&record.request.policy, now) {
        AtDeadline::Close(closing) => {
            let defaulted = matches!(closing, crate::store::Closing::Defaulted(_));
            if let CloseOutcome::Closed(_) = ctx.store.close_escalation(&record.id, closing, None).await? {
                if defaulted {
                    ctx.metrics.policy_step("defaulted");
                    tracing::info!(escalation = %record.id, "nobody answered in time: answered by its policy's default");
                } else {
                    tracing::info!(escalation = %record.id, "expired");
                }
            }
        }
        AtDeadline::KeepPending => {
            if ctx.store.pass_deadline(&record.id).await? {
                ctx.metrics.policy_step("kept_pending");
                tracing::info!(escalation = %record.id, "deadline passed: kept pending, as its policy says");
            }
        }
    }
    Ok(())
}

async fn lapse(ctx: &Context, record: &Escalation, now: DateTime<Utc>) -> Result<(), StoreError> {
    let (reminder, fallback, note) = policy::after_lapse(record, now);
    if ctx.store.release_claim(&record.id, now, reminder, fallback, note).await?.is_some() {
        ctx.metrics.policy_step("unclaimed");
        tracing::info!(escalation = %record.id, "claim lapsed without an answer: reminders and fallbacks resume");
    }
    Ok(())
}

async fn escalate(ctx: &Context, record: &Escalation, now: DateTime<Utc>) -> Result<(), StoreError> {
    let Some(fallback) = &record.request.policy.fallback else {
        return Ok(());
    };
    let step = record.fallback.step + 1;
    let Some((to, next)) = policy::fallback_step(&record.request.policy, step, now) else {
        return Ok(());
    };
    let note = policy::fallback_note(&label(ctx, &to).await?, now);
    if ctx.store.record_fallback(&record.id, record.fallback.step, next, to, note).await?.is_some() {
        ctx.metrics.policy_step("escalated");
        tracing::info!(escalation = %record.id, step, of = fallback.to.len(), "escalated to a fallback destination");
    }
    Ok(())
}

/// How a destination reads in a note: the space's title when the cache knows it.
async fn label(ctx: &Context, to: &Destination) -> Result<String, StoreError> {
    Ok(match to {
        Destination::SpaceId(id) => {
            let uuid = crate::webex::ids::uuid_of(id).unwrap_or_default();
            match ctx.store.space(&uuid).await? {
                Some(space) => format!("the space \"{}\"", space.title),
                None => "another space".to_owned(),
            }
        }
        Destination::PersonEmail(email) => email.clone(),
        Destination::PersonId(_) => "a specialist, directly".to_owned(),
    })
}

async fn remind(ctx: &Context, record: &Escalation, now: DateTime<Utc>) -> Result<(), StoreError> {
    let Some(reminders) = &record.request.policy.reminders else {
        return Ok(());
    };
    let n = record.reminders.sent + 1;
    let next = policy::next_reminder_at(&record.request.policy, n, now);
    let words = policy::reminder_text(record, reminders, n, now);
    if ctx.store.record_reminder(&record.id, record.reminders.sent, next, words).await?.is_some() {
        ctx.metrics.policy_step("reminded");
        tracing::info!(escalation = %record.id, reminder = n, of = reminders.max, "reminded");
    }
    Ok(())
}
