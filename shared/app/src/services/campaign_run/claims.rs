//! Claiming a page's messages and sending those claimed: in batches on a page that is this
//! copy's alone, otherwise each with a conditional write; a message abandoned by a copy of the
//! run that died is marked unconfirmed, never sent again. A message's lease starts when it is claimed, just before it is
//! sent. See [`super::runner`] for the whole run.

use super::pages::Hold;
use super::plan::{Plan, run_entry};
use super::reserve::reserve_prefix;
use super::run::Run;
use super::types::{ABANDONED, Cut};
use crate::services::sent_batches::{SentBatches, with_batches};
use crate::store::{BATCH_WRITE, StoreError};
use crate::{App, ServiceError};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tidings_domain::credits::EntryKind;
use tidings_domain::message::{Message, Status};
use tidings_domain::message_template::Channel;
use tokio::sync::oneshot;

/// How a page's messages are claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Claims {
    /// In batches, without a condition: the page is this copy's, and no other page of the
    /// audience plans a message with the same id.
    InBatches,
    /// Each with a write conditional on its absence: the page was taken over from a copy that
    /// died before it was done, or the audience may list a person on two pages.
    EachIfAbsent,
}

/// How much of a page a copy claimed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PageSent {
    /// Every message (unless the page stopped being this copy's: see [`Hold`]).
    Whole,
    /// The copy's time ran out (the page was begun before [`Limits::stop_at`] and was not
    /// claimed whole by then): it sent what it claimed, and the rest is for the copy that
    /// takes the page over.
    CutForTime,
}

/// Reserves the page's credits, claims its messages (taking over abandoned ones) and sends
/// what it claimed, while `hold` says the page is this copy's and until `cut` has passed.
/// What the account cannot pay for is claimed as held. `all_claimed` is dropped once every
/// message is claimed (or will not be): the next page may begin then. Each send takes one of
/// the run's [`Run::slots`].
pub(super) async fn claim_and_send(
    r: &Run<'_>,
    messages: Vec<Message>,
    (claims, hold, cut): (Claims, &Hold, Cut),
    all_claimed: oneshot::Sender<()>,
) -> Result<PageSent, ServiceError> {
    let (app, plan) = (r.app, r.plan);
    let lease = r.limits.lease;
    let concurrency = app.config.campaigns.concurrency;
    let mut seen = HashSet::new();
    let mut messages: Vec<Message> = messages
        .into_iter()
        .filter(|m| seen.insert(m.id.clone()))
        .collect();
    let costs: Vec<i64> = messages
        .iter()
        .filter(|m| m.status == Status::Queued)
        .map(|m| i64::from(m.credits))
        .collect();
    let paid = reserve_prefix(app, plan, &costs).await?;
    for m in messages
        .iter_mut()
        .filter(|m| m.status == Status::Queued)
        .skip(paid)
    {
        m.status = Status::Held;
    }
    if claims == Claims::InBatches {
        let how = (lease, hold, cut);
        return claim_in_batches_and_send(r, messages, how, all_claimed).await;
    }
    // Each message is claimed and, once claimed, sent at once: the store and the provider
    // work side by side instead of taking turns page by page.
    let outcomes: Vec<Claimed> = with_batches(app, &plan.clinic.id, concurrency, async |sent| {
        futures::stream::iter(messages)
            .map(|m| claim_then_send(r, m, (lease, cut), sent))
            .buffer_unordered(concurrency)
            .collect()
            .await
    })
    .await;
    drop(all_claimed);
    let mut unclaimed_cost = 0i64;
    let mut first_error = None;
    let mut page = PageSent::Whole;
    for o in outcomes {
        match o {
            Claimed::Sent => {}
            Claimed::ByAnother { credits } => unclaimed_cost += credits,
            Claimed::OutOfTime { credits } => {
                unclaimed_cost += credits;
                page = PageSent::CutForTime;
            }
            Claimed::Failed { credits, error } => {
                unclaimed_cost += credits;
                first_error.get_or_insert(error);
            }
        }
    }
    return_unclaimed(app, plan, unclaimed_cost).await;
    match first_error {
        Some(e) => Err(e.into()),
        None => Ok(page),
    }
}

/// Claims a page's messages in batches of up to 25, each under a lease of `lease` from its
/// write, and sends the queued ones of each batch once it is written, while the next batches
/// are written ([`claims_ahead`]). A message whose claim cannot be written at all is not sent,
/// and its credits go back; so do those of the batches not claimed once `hold` says another
/// copy took the page, or once `cut` has passed.
async fn claim_in_batches_and_send(
    r: &Run<'_>,
    messages: Vec<Message>,
    (lease, hold, cut): (chrono::Duration, &Hold, Cut),
    all_claimed: oneshot::Sender<()>,
) -> Result<PageSent, ServiceError> {
    let (app, plan, pacer, slots) = (r.app, r.plan, &r.pacer, &r.slots);
    let clinic_id = &plan.clinic.id;
    let concurrency = app.config.campaigns.concurrency;
    let ahead = claims_ahead(app, &messages);
    let batches: Vec<Vec<Message>> = messages.chunks(BATCH_WRITE).map(<[_]>::to_vec).collect();
    // Dropped once the last batch's claims are written: the next page may begin.
    let claims_left = AtomicUsize::new(batches.len());
    let all_claimed = std::sync::Mutex::new((!batches.is_empty()).then_some(all_claimed));
    let claimed_one = || {
        if claims_left.fetch_sub(1, Ordering::AcqRel) == 1
            && let Ok(mut next_page) = all_claimed.lock()
        {
            next_page.take();
        }
    };
    let claimed_one = &claimed_one;
    let mut unclaimed_cost = 0i64;
    let mut first_error = None;
    let was_cut = AtomicBool::new(false);
    let was_cut = &was_cut;
    with_batches(app, clinic_id, concurrency, async |sent| {
        futures::stream::iter(batches)
            .map(|batch| async move {
                let claimed = if !hold.kept() {
                    ClaimedBatch::not_claimed(&batch)
                } else if cut.passed() {
                    was_cut.store(true, Ordering::Relaxed);
                    ClaimedBatch::not_claimed(&batch)
                } else {
                    claim_batch(app, clinic_id, batch, lease).await
                };
                claimed_one();
                claimed
            })
            // Batches are written ahead of the one being sent.
            .buffered(ahead)
            .flat_map(|claimed| {
                unclaimed_cost += claimed.unclaimed_cost;
                if let Some(e) = claimed.error {
                    first_error.get_or_insert(e);
                }
                futures::stream::iter(claimed.queued)
            })
            .for_each_concurrent(concurrency, |m| async move {
                let _slot = slots.acquire().await;
                pacer.wait(m.channel).await;
                sent.deliver(app, &plan.clinic, m).await;
            })
            .await;
    })
    .await;
    return_unclaimed(app, plan, unclaimed_cost).await;
    match first_error {
        Some(e) => Err(e.into()),
        None if was_cut.load(Ordering::Relaxed) => Ok(PageSent::CutForTime),
        None => Ok(PageSent::Whole),
    }
}

/// Batches of claims written ahead of the one being sent: about a second of sending at the
/// rates of the channels `messages` go by, at least two (one written while one is sent), at
/// most four. Claims ahead keep the provider busy while a write is slow; but a copy that dies
/// leaves those it claimed and did not send `unconfirmed`, a copy whose lease runs out gives
/// back the credits of the rest only once it has sent them, and a page is cut for time only
/// at a claim: so no more than about a second's worth.
fn claims_ahead(app: &App, messages: &[Message]) -> usize {
    let rates = &app.config.campaigns;
    let per_second = [
        (Channel::Sms, rates.sms_per_second),
        (Channel::Email, rates.email_per_second),
    ]
    .into_iter()
    .filter(|(channel, _)| messages.iter().any(|m| m.channel == *channel))
    .fold(0u32, |sum, (_, rate)| sum.saturating_add(rate));
    usize::try_from(per_second)
        .unwrap_or(usize::MAX)
        .div_ceil(BATCH_WRITE)
        .clamp(2, 4)
}

/// What became of a batch of claims.
struct ClaimedBatch {
    /// The queued messages claimed, to send.
    queued: Vec<Message>,
    /// The credits of queued messages whose claim could not be written.
    unclaimed_cost: i64,
    error: Option<StoreError>,
}

impl ClaimedBatch {
    /// A batch left for the copy that took the page over: its reserved credits go back.
    fn not_claimed(batch: &[Message]) -> Self {
        Self {
            queued: Vec::new(),
            unclaimed_cost: batch
                .iter()
                .filter(|m| m.status == Status::Queued)
                .map(|m| i64::from(m.credits))
                .sum(),
            error: None,
        }
    }
}

/// Claims a batch of messages of a page that is this copy's: in one write or, when DynamoDB
/// refuses it, one message at a time. A message the refused write stored after all is there
/// already, and still this copy's to send: nobody else writes the page's messages.
async fn claim_batch(
    app: &App,
    clinic_id: &str,
    mut batch: Vec<Message>,
    lease: chrono::Duration,
) -> ClaimedBatch {
    let queued = |m: &Message| m.status == Status::Queued;
    let until = app.now() + lease;
    for m in batch.iter_mut().filter(|m| queued(m)) {
        m.lease_until = Some(until);
    }
    let Err(e) = app.store.claim_messages(clinic_id, &batch).await else {
        return ClaimedBatch {
            queued: batch.into_iter().filter(queued).collect(),
            unclaimed_cost: 0,
            error: None,
        };
    };
    tracing::warn!(messages = batch.len(), error = %e, "batch of claims refused; claiming each");
    let mut out = ClaimedBatch {
        queued: Vec::new(),
        unclaimed_cost: 0,
        error: None,
    };
    for m in batch {
        match app.store.claim_message(clinic_id, &m).await {
            Ok(_) if queued(&m) => out.queued.push(m),
            Ok(_) => {}
            Err(e) => {
                if queued(&m) {
                    out.unclaimed_cost += i64::from(m.credits);
                }
                out.error.get_or_insert(e);
            }
        }
    }
    out
}

/// Gives back what was reserved for messages this copy did not claim: another copy of the run
/// claimed them first, or their claim could not be written.
pub(super) async fn return_unclaimed(app: &App, plan: &Plan, credits: i64) {
    if credits <= 0 {
        return;
    }
    let entry = run_entry(
        plan,
        (EntryKind::Refund, credits),
        "reserved for messages this copy of the run did not claim".into(),
        app.now(),
    );
    let run = (plan.campaign.id.as_str(), plan.run_id.as_str());
    match app
        .store
        .return_run_credits(&plan.clinic.id, run, &entry)
        .await
    {
        Ok(true) => {}
        Ok(false) => tracing::info!(
            run_id = plan.run_id,
            "run settled: its settlement returned these credits"
        ),
        Err(e) => {
            tracing::error!(run_id = plan.run_id, error = ?e, "reserved credits not returned")
        }
    }
}

/// What became of one planned message of a page.
enum Claimed {
    /// Claimed by this copy and handed to the provider (or recorded as skipped).
    Sent,
    /// Claimed before, by another copy of the run: its reserved credits go back.
    ByAnother { credits: i64 },
    /// Not claimed: this copy's time ran out. Its reserved credits go back.
    OutOfTime { credits: i64 },
    /// The claim could not be written: its reserved credits go back.
    Failed { credits: i64, error: StoreError },
}

/// Claims `m` under a lease of `lease` from now and sends it if the claim is this copy's,
/// unless `cut` has passed. A message another copy claimed is never sent by this one: when that
/// copy's lease on it ran out (it died, perhaps after handing it over) it becomes unconfirmed.
async fn claim_then_send(
    r: &Run<'_>,
    mut m: Message,
    (lease, cut): (chrono::Duration, Cut),
    sent: &SentBatches,
) -> Claimed {
    let (app, plan) = (r.app, r.plan);
    let store = &app.store;
    let clinic_id = &plan.clinic.id;
    let now = app.now();
    let lease = now + lease;
    let credits = if m.status == Status::Queued {
        m.lease_until = Some(lease);
        i64::from(m.credits)
    } else {
        0
    };
    if cut.passed() {
        return Claimed::OutOfTime { credits };
    }
    match store.claim_message(clinic_id, &m).await {
        Ok(true) => {
            let _slot = r.slots.acquire().await;
            if m.status == Status::Queued {
                r.pacer.wait(m.channel).await;
            }
            sent.deliver(app, &plan.clinic, m).await;
            Claimed::Sent
        }
        Ok(false) => {
            if let Err(error) = unconfirm_abandoned(app, clinic_id, &m.id, now).await {
                return Claimed::Failed { credits, error };
            }
            Claimed::ByAnother { credits }
        }
        Err(error) => Claimed::Failed { credits, error },
    }
}

/// Marks the message `id` unconfirmed if it is queued under a lease that ran out (the copy that
/// claimed it died, perhaps after handing it over): it is never sent again by a copy.
async fn unconfirm_abandoned(
    app: &App,
    clinic_id: &str,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let store = &app.store;
    let Some(existing) = store.get_message(clinic_id, id).await? else {
        return Ok(());
    };
    let Some(prev) = existing.lease_until else {
        return Ok(());
    };
    if existing.status != Status::Queued || prev >= now {
        return Ok(());
    }
    if store
        .mark_unconfirmed(
            clinic_id,
            (&existing.id, &existing.patient_id),
            Some(&prev),
            ABANDONED,
            now,
        )
        .await?
    {
        tracing::warn!(clinic_id, message_id = id, "abandoned message unconfirmed");
    }
    Ok(())
}
