//! The campaign function's work when a schedule fires.
//!
//! A firing is a run, named by the campaign and the scheduled time, so every copy of the same
//! firing works on the same run. The run reads its audience a page at a time in a fixed order
//! and, for each page:
//! 1. claims the page ([`super::pages`]): a page another copy did is passed over, one
//!    whose copy died before it was done is taken over; the page's lease is renewed while this
//!    copy works on it;
//! 2. plans one message per person and channel (ids derived from the person, so a person
//!    listed twice, or claimed by another copy of the run, is one message);
//! 3. reserves the page's credits in one transaction (what the paying account cannot afford
//!    is claimed `held`; [`super::held`] sends it after a top-up);
//! 4. claims the messages (queued, with a lease from the claim, made just before the send):
//!    in batches when the page is this copy's and its audience lists each person once,
//!    otherwise each with a conditional put, giving back the credits of those another copy
//!    claimed first; a message is handed to its provider by the copy that claimed it and no
//!    other: one whose copy died under its lease becomes `unconfirmed`, never sent again;
//! 5. sends each claimed message, paced per channel, with bounded concurrency, while the next
//!    page is read;
//! 6. marks the page done and moves the run's checkpoint past it.
//!
//! Before its time runs out it schedules a continuation that resumes from the checkpoint. The
//! messages are planned in [`super::plan`]; how a run ends, in
//! [`super::end`].

use super::claims::{Claims, PageSent, claim_and_send};
use super::end::{continue_later, stop};
use super::pages::{self, Kept, Turn};
use super::plan::{Plan, audience_of, plan_member, prepare};
use super::types::{FireEvent, FireOutcome, Limits, PAGE, RunError, ignored, parse_time};
use crate::App;
use crate::services::pacing::Pacer;
use crate::services::sending::skip_blocked;
use crate::store::StatusChange;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use tidings_domain::campaign::{Campaign, CampaignRun, CampaignStatus, RunStatus, run_id};
use tokio::time::Instant;

/// Runs (or resumes) the firing `ev` until it is done or `limits.stop_at` (as the
/// `run-campaign` function does).
pub async fn fire(app: &App, ev: &FireEvent, limits: &Limits) -> Result<FireOutcome, RunError> {
    crate::aws_calls::as_function("run-campaign", Box::pin(fire_once(app, ev, limits))).await
}

async fn fire_once(app: &App, ev: &FireEvent, limits: &Limits) -> Result<FireOutcome, RunError> {
    let store = &app.store;
    let Some(scheduled) = parse_time(&ev.scheduled_time) else {
        return ignored("scheduled_time is not an RFC 3339 time");
    };
    if let Some(wake) = &ev.wake_time {
        return Box::pin(super::held::wake(app, ev, scheduled, wake, limits)).await;
    }
    let Some(campaign) = store.get_campaign(&ev.clinic_id, &ev.campaign_id).await? else {
        return ignored("no such campaign");
    };
    if campaign.status == CampaignStatus::Cancelled {
        return Box::pin(end_cancelled(app, ev, &campaign, scheduled, limits)).await;
    }
    if !campaign.status.is_live() {
        return ignored(&format!("campaign is {}", campaign.status.as_str()));
    }
    // A repeating campaign's firings while a run waits for credits are skipped.
    if campaign.status == CampaignStatus::Paused {
        return ignored("campaign is paused for credits");
    }
    let run_id = run_id(&campaign.id, scheduled);
    // A one-time campaign has one run: a firing at another time (a replayed or stray event)
    // sends nothing, even while the run it started is still sending.
    if campaign.fields.repeat.is_none()
        && !store
            .claim_only_run(&ev.clinic_id, &campaign.id, &run_id)
            .await?
    {
        return ignored("a one-time campaign runs once: another firing started its run");
    }
    let now = app.now();
    let fresh = CampaignRun::start(run_id.clone(), campaign.id.clone(), scheduled, now);
    let run = if store.start_run(&ev.clinic_id, &fresh).await? {
        tracing::info!(
            clinic_id = ev.clinic_id,
            campaign_id = campaign.id,
            run_id,
            "run started"
        );
        fresh
    } else {
        match store.get_run(&ev.clinic_id, &campaign.id, &run_id).await? {
            Some(r) if r.status == RunStatus::Sending => r,
            _ => return ignored("run already finished"),
        }
    };
    let sending = store
        .set_campaign_status(
            &ev.clinic_id,
            &campaign.id,
            StatusChange {
                to: CampaignStatus::Sending,
                from: &[CampaignStatus::Scheduled, CampaignStatus::Sending],
                reason: None,
            },
            Some(&run_id),
            now,
        )
        .await?;
    if !sending {
        return stop(
            app,
            &ev.clinic_id,
            &campaign,
            run,
            RunStatus::Cancelled,
            "cancelled",
        )
        .await;
    }
    let plan = match prepare(app, &ev.clinic_id, campaign.clone(), &run_id).await? {
        Ok(p) => p,
        Err(reason) => {
            return stop(
                app,
                &ev.clinic_id,
                &campaign,
                run,
                RunStatus::Failed,
                &reason,
            )
            .await;
        }
    };
    let pacer = Pacer::for_app(app);
    if !run.audience_done {
        if let Some(out) = Box::pin(walk(app, ev, &plan, &run, &pacer, limits)).await? {
            return Ok(out);
        }
        store
            .audience_done(&ev.clinic_id, &campaign.id, &run_id)
            .await?;
    }
    Box::pin(super::held::drain(app, &plan, ev, run, &pacer, limits)).await
}

/// A firing of a cancelled campaign sends nothing. Its run, if a copy left it sending or
/// paused (that copy died before it saw the cancellation) and no copy is doing a page of it,
/// is ended as cancelled; one that ended is settled if it was not (its last copy died before
/// it could be).
async fn end_cancelled(
    app: &App,
    ev: &FireEvent,
    campaign: &Campaign,
    scheduled: DateTime<Utc>,
    limits: &Limits,
) -> Result<FireOutcome, RunError> {
    let run_id = run_id(&campaign.id, scheduled);
    let clinic_id = &ev.clinic_id;
    let Some(run) = app.store.get_run(clinic_id, &campaign.id, &run_id).await? else {
        return ignored("campaign is cancelled");
    };
    if matches!(run.status, RunStatus::Sending | RunStatus::Paused) {
        if app
            .store
            .page_in_progress(clinic_id, &run_id, &app.now())
            .await?
        {
            // That copy sees the cancellation once its page is done, and ends the run.
            return ignored("campaign is cancelled; a copy of the run is finishing a page");
        }
        super::held::end_held(app, clinic_id, &run_id, "cancelled", limits).await?;
        return stop(
            app,
            clinic_id,
            campaign,
            run,
            RunStatus::Cancelled,
            "cancelled",
        )
        .await;
    }
    let key = (campaign.id.as_str(), run_id.as_str());
    super::settlement::settle_ended(app, clinic_id, key).await?;
    ignored("campaign is cancelled")
}

/// Goes through the run's audience from its checkpoint, page by page, claiming and sending
/// (or holding, when credits run out) one message per person and channel. `Some` when the
/// run stopped or must continue later; `None` once the whole audience is planned.
async fn walk(
    app: &App,
    ev: &FireEvent,
    plan: &Plan,
    run: &CampaignRun,
    pacer: &Pacer,
    limits: &Limits,
) -> Result<Option<FireOutcome>, RunError> {
    let store = &app.store;
    let campaign = &plan.campaign;
    let run_id = &run.id;
    // Messages held for credits on earlier pages are not sent either.
    let stopped = |status, reason: &'static str| {
        Box::pin(async move {
            super::held::end_held(app, &ev.clinic_id, &run.id, reason, limits).await?;
            stop(app, &ev.clinic_id, campaign, run.clone(), status, reason).await
        })
    };
    let audience = match audience_of(app, plan, run.started_at).await? {
        Ok(a) => a,
        Err(reason) => return stopped(RunStatus::Failed, reason).await.map(Some),
    };
    let mut position = run.checkpoint.clone();
    // Practitioners named by patients, read once per invocation.
    let mut practitioners = HashMap::new();
    let mut prefetched = None;
    loop {
        if store
            .get_campaign(&ev.clinic_id, &campaign.id)
            .await?
            .is_none_or(|c| c.status == CampaignStatus::Cancelled)
        {
            return stopped(RunStatus::Cancelled, "cancelled").await.map(Some);
        }
        let page = match prefetched.take() {
            Some(p) => p,
            None => audience.page(store, position.as_deref(), PAGE).await?,
        };
        let start = position.as_deref();
        let turn = pages::turn(
            app,
            (&ev.clinic_id, run_id),
            (start, page.next.as_deref()),
            limits,
        )
        .await?;
        let (members, end, claims, lease) = match turn {
            Turn::Ours { lease } if audience.lists_each_once() => {
                (page.members, page.next, Claims::InBatches, lease)
            }
            Turn::Ours { lease } => (page.members, page.next, Claims::EachIfAbsent, lease),
            Turn::TakenOver { end, lease } => {
                let members = audience.through(store, page, end.as_deref()).await?;
                (members, end, Claims::EachIfAbsent, lease)
            }
            Turn::Done { end: Some(end) } => {
                position = Some(end);
                continue;
            }
            Turn::Done { end: None } => return Ok(None),
            Turn::OutOfTime => return continue_later(app, ev, run).await.map(Some),
        };
        let mut messages = Vec::new();
        for (_, member) in &members {
            messages.extend(plan_member(app, plan, member, &mut practitioners).await?);
        }
        // Read per page, so a STOP or a bounce during a long run takes effect.
        skip_blocked(&mut messages, &store.blocked(&ev.clinic_id).await?);
        // The next page is read while this one is sent.
        let read_next = async {
            match &end {
                Some(next) => audience.page(store, Some(next), PAGE).await.map(Some),
                None => Ok(None),
            }
        };
        let cut = limits.cut_for_page();
        let send = pages::keeping(
            app,
            (&ev.clinic_id, run_id, start),
            lease,
            limits,
            async |hold| {
                let how = (claims, hold, cut);
                claim_and_send(app, plan, messages, pacer, limits, how).await
            },
        );
        let ((sent, kept, held_until), next_page) = tokio::join!(send, read_next);
        prefetched = next_page?;
        let sent = sent?;
        match kept {
            Kept::Throughout => {}
            // The copy that took the page over finishes it, and the run.
            Kept::TakenOver => {
                return ignored("another copy of the run took over its page").map(Some);
            }
            // Failed, the invocation is retried: the retry takes the page over.
            Kept::RanOut => {
                return Err(RunError::PageLeaseRanOut);
            }
        }
        if sent == PageSent::CutForTime {
            // The continuation takes the rest of the page over at once, not a lease later.
            pages::release(app, (&ev.clinic_id, run_id, start), &held_until).await;
            return continue_later(app, ev, run).await.map(Some);
        }
        store.page_done(&ev.clinic_id, run_id, start).await?;
        let Some(next) = end else {
            return Ok(None);
        };
        let out_of_time = Instant::now() >= limits.stop_at;
        store
            .checkpoint_run(&ev.clinic_id, &campaign.id, run_id, &next)
            .await?;
        position = Some(next);
        if out_of_time {
            return continue_later(app, ev, run).await.map(Some);
        }
    }
}
