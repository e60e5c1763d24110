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
//! 5. sends each claimed message, paced per channel, with bounded concurrency (shared with the
//!    next page, which is read while this one is sent and begins once this one has claimed
//!    all its messages: [`super::walk`]);
//! 6. marks the page done and moves the run's checkpoint past it, after the page before did.
//!
//! Before its time runs out it schedules a continuation that resumes from the checkpoint. The
//! messages are planned in [`super::plan`]; how a run ends, in
//! [`super::end`].

use super::end::{continue_later, finish, settle, stop};
use super::held::{Woken, end_held, pause, send_held};
use super::plan::prepare;
use super::run::Run;
use super::tally::tally;
use super::types::{FireEvent, FireOutcome, IgnoreReason, Limits, RunError, ignored, parse_time};
use crate::App;
use crate::store::StatusChange;
use chrono::{DateTime, Utc};
use tidings_domain::campaign::{
    Campaign, CampaignRun, CampaignStatus, RunStatus, StopReason, run_id,
};
use tidings_domain::campaign_step::{Found, Next, Phase, first_phase, next};

/// Runs (or resumes) the firing `ev` until it is done or `limits.stop_at` (as the
/// `run-campaign` function does).
pub async fn fire(app: &App, ev: &FireEvent, limits: &Limits) -> Result<FireOutcome, RunError> {
    // Boxed for its size, not for recursion: a run's whole state machine is large, and a
    // caller on a small stack (a test thread) would overflow holding it inline.
    crate::aws_calls::as_function("run-campaign", Box::pin(fire_once(app, ev, limits))).await
}

async fn fire_once(app: &App, ev: &FireEvent, limits: &Limits) -> Result<FireOutcome, RunError> {
    let store = &app.store;
    let Some(scheduled) = parse_time(&ev.scheduled_time) else {
        return ignored(IgnoreReason::BadScheduledTime);
    };
    if let Some(wake) = &ev.wake_time {
        return match super::held::wake(app, ev, scheduled, wake, limits).await? {
            Woken::Done(outcome) => Ok(outcome),
            Woken::Resumed { plan, run } => {
                drive(&Run::new(app, ev, &plan, limits), run, Phase::Settle).await
            }
        };
    }
    let Some(campaign) = store.get_campaign(&ev.clinic_id, &ev.campaign_id).await? else {
        return ignored(IgnoreReason::NoSuchCampaign);
    };
    if campaign.status == CampaignStatus::Cancelled {
        return end_cancelled(app, ev, &campaign, scheduled, limits).await;
    }
    if !campaign.status.is_live() {
        return ignored(IgnoreReason::CampaignNotLive(campaign.status));
    }
    // A repeating campaign's firings while a run waits for credits are skipped.
    if campaign.status == CampaignStatus::Paused {
        return ignored(IgnoreReason::CampaignPaused);
    }
    let run_id = run_id(&campaign.id, scheduled);
    // A one-time campaign has one run: a firing at another time (a replayed or stray event)
    // sends nothing, even while the run it started is still sending.
    if campaign.fields.repeat.is_none()
        && !store
            .claim_only_run(&ev.clinic_id, &campaign.id, &run_id)
            .await?
    {
        return ignored(IgnoreReason::OneTimeCampaignRan);
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
            _ => return ignored(IgnoreReason::RunFinished),
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
            StopReason::Cancelled,
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
                reason,
            )
            .await;
        }
    };
    let first = first_phase(run.audience_done);
    drive(&Run::new(app, ev, &plan, limits), run, first).await
}

/// The driving loop: runs a phase, asks the domain what comes next
/// ([`tidings_domain::campaign_step::next`]), and either runs that phase or ends this copy's
/// work with the outcome.
pub(super) async fn drive(
    r: &Run<'_>,
    run: CampaignRun,
    first: Phase,
) -> Result<FireOutcome, RunError> {
    let (app, plan, limits) = (r.app, r.plan, r.limits);
    let clinic_id = plan.clinic.id.as_str();
    let mut phase = first;
    // The tally the last settling found: what the run's end records.
    let mut settled = None;
    loop {
        let found = match phase {
            Phase::Walk => super::walk::walk(r, &run).await?,
            Phase::Settle => match settle(app, &plan.clinic, &run.id, limits).await? {
                Some(t) => {
                    let held = t.counts.held;
                    settled = Some(t);
                    Found::Settled { held }
                }
                None => Found::OutOfTime,
            },
            Phase::SendHeld => send_held(r).await?,
        };
        let step = next(found);
        tracing::debug!(run_id = run.id, ?found, ?step, "campaign run step");
        let (status, reason) = match step {
            Next::Do(p) => {
                phase = p;
                continue;
            }
            Next::Finish => {
                let t = match settled.take() {
                    Some(t) => t,
                    None => tally(app, clinic_id, &run.id).await?,
                };
                return finish(app, plan, run, t).await;
            }
            Next::Pause => return pause(app, plan, run).await,
            Next::ContinueLater => return continue_later(app, r.ev, &run).await,
            Next::LeaveToOtherCopy => {
                return ignored(IgnoreReason::PageTakenOver);
            }
            Next::Cancel => (RunStatus::Cancelled, StopReason::Cancelled),
            Next::Fail(reason) => (RunStatus::Failed, reason),
        };
        // Messages held for credits on earlier pages are not sent either.
        end_held(app, clinic_id, &run.id, reason, limits).await?;
        return stop(app, clinic_id, &plan.campaign, run, status, reason).await;
    }
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
        return ignored(IgnoreReason::CampaignCancelled);
    };
    if matches!(run.status, RunStatus::Sending | RunStatus::Paused) {
        if app
            .store
            .page_in_progress(clinic_id, &run_id, &app.now())
            .await?
        {
            // That copy sees the cancellation once its page is done, and ends the run.
            return ignored(IgnoreReason::CancelledWhilePageInProgress);
        }
        super::held::end_held(app, clinic_id, &run_id, StopReason::Cancelled, limits).await?;
        return stop(
            app,
            clinic_id,
            campaign,
            run,
            RunStatus::Cancelled,
            StopReason::Cancelled,
        )
        .await;
    }
    let key = (campaign.id.as_str(), run_id.as_str());
    super::settlement::settle_ended(app, clinic_id, key).await?;
    ignored(IgnoreReason::CampaignCancelled)
}
