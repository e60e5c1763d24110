//! A campaign run that runs out of credits: it pauses instead of failing.
//!
//! - Each page reserves what the paying account can afford, in audience order; the rest of
//!   the page (and of the audience) is claimed as `held`: recorded, unpaid, not sent.
//! - Once the audience is planned, held messages are sent as far as the balance goes. When it
//!   does not go far enough the run and its campaign are `paused` (`insufficient_credits`), the
//!   practice is notified, and a wake-up schedule (every `CAMPAIGN_WAKE_MINUTES`, default 5)
//!   checks on it.
//! - A wake-up after a top-up resumes the run: only held messages are sent, each released
//!   from `held` by one conditional write, so nobody receives it twice. A wake-up
//!   [`PAUSE_LIMIT_HOURS`] after the pause, or after the campaign was cancelled, marks the held
//!   messages `not_sent` and ends the run.

use super::claims::return_unclaimed;
use super::end::{End, end, stop};
use super::plan::{Plan, prepare};
use super::reserve::reserve_prefix;
use super::run::Run;
use super::tally::tally;
use super::types::{
    FireEvent, FireOutcome, IgnoreReason, Limits, RunError, ignored, parse_time, wake_schedule_name,
};
use crate::scheduler::ScheduleSpec;
use crate::services::sent_batches::with_batches;
use crate::store::StatusChange;
use crate::{App, ids};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::sync::atomic::{AtomicBool, Ordering};
use tidings_domain::campaign::{
    Campaign, CampaignRun, CampaignStatus, PAUSE_LIMIT_HOURS, RunStatus, StopReason, run_id,
};
use tidings_domain::campaign_step::Found;
use tidings_domain::message::Status;
use tidings_domain::notification::{Notification, NotificationKind};
use tokio::time::Instant;

/// Held messages released (or ended) per page.
const HELD_PAGE: usize = 500;

/// The send-held phase: sends the run's held messages, a page at a time, as far as the
/// balance goes.
pub(super) async fn send_held(r: &Run<'_>) -> Result<Found, RunError> {
    let (app, plan, pacer, limits) = (r.app, r.plan, &r.pacer, r.limits);
    let store = &app.store;
    let clinic_id = &plan.clinic.id;
    let concurrency = app.config.campaigns.concurrency;
    let mut after: Option<String> = None;
    loop {
        // As with a page of the audience, see `Limits::cut_for_page`.
        let cut = limits.cut_for_page();
        let was_cut = AtomicBool::new(false);
        let was_cut = &was_cut;
        let (held, next) = store
            .messages_in_status(
                clinic_id,
                (&plan.run_id, Status::Held),
                after.as_deref(),
                HELD_PAGE,
            )
            .await?;
        let costs: Vec<i64> = held.iter().map(|m| i64::from(m.credits)).collect();
        let paid = reserve_prefix(app, plan, &costs).await?;
        let outcomes: Vec<Result<i64, RunError>> =
            with_batches(app, clinic_id, concurrency, async |sent| {
                futures::stream::iter(&held[..paid])
                    .map(|m| async move {
                        if cut.passed() {
                            was_cut.store(true, Ordering::Relaxed);
                            return Ok(i64::from(m.credits));
                        }
                        // The lease runs from the claim, just before the send.
                        let lease = app.now() + limits.lease;
                        if !store.release_held(clinic_id, &m.id, &lease).await? {
                            return Ok(i64::from(m.credits));
                        }
                        let mut m = m.clone();
                        m.status = Status::Queued;
                        m.lease_until = Some(lease);
                        pacer.wait(m.channel).await;
                        sent.deliver(app, &plan.clinic, m).await;
                        Ok(0)
                    })
                    .buffer_unordered(concurrency)
                    .collect()
                    .await
            })
            .await;
        let mut unclaimed = 0;
        let mut first_error = None;
        for o in outcomes {
            match o {
                Ok(c) => unclaimed += c,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        return_unclaimed(app, plan, unclaimed).await;
        if let Some(e) = first_error {
            return Err(e);
        }
        if was_cut.load(Ordering::Relaxed) {
            return Ok(Found::OutOfTime);
        }
        if paid < held.len() {
            return Ok(Found::OutOfCredits);
        }
        match next {
            // Each invocation gets through at least one page, however little time it has.
            Some(_) if Instant::now() >= limits.stop_at => return Ok(Found::OutOfTime),
            Some(k) => after = Some(k),
            None => return Ok(Found::HeldSent),
        }
    }
}

/// Makes sure the run's wake-up schedule exists, pauses the run and its campaign for credits,
/// and tells the practice.
pub(super) async fn pause(
    app: &App,
    plan: &Plan,
    run: CampaignRun,
) -> Result<FireOutcome, RunError> {
    let store = &app.store;
    let clinic_id = &plan.clinic.id;
    let campaign = &plan.campaign;
    let now = app.now();
    // The wake-up first: a failure after it leaves a run that its wake-ups still look after.
    let input = serde_json::json!({
        "clinic_id": clinic_id,
        "campaign_id": campaign.id,
        "scheduled_time": run.scheduled_time.to_rfc3339(),
        "wake_time": crate::services::campaigns::SCHEDULED_TIME,
    })
    .to_string();
    app.scheduler
        .create_unless_exists(ScheduleSpec {
            name: &wake_schedule_name(&campaign.id, &run.id),
            expression: &match app.config.campaigns.wake_minutes {
                1 => "rate(1 minute)".to_owned(),
                n => format!("rate({n} minutes)"),
            },
            time_zone: "UTC",
            start: None,
            input,
            one_off: false,
        })
        .await?;
    if !store
        .set_run_paused(clinic_id, &campaign.id, &run.id, true, now)
        .await?
    {
        return ignored(IgnoreReason::RunPausedOrEndedElsewhere);
    }
    let counts = tally(app, clinic_id, &run.id).await?.counts;
    store
        .pause_campaign(clinic_id, &campaign.id, &run.id, counts, now)
        .await?;
    store
        .add_notification(
            clinic_id,
            &Notification::about_account(
                ids::new_id(),
                NotificationKind::CampaignPaused,
                &plan.account,
                format!(
                    "Campaign \"{}\" paused: credits ran out with {} messages still to send. Top up within {PAUSE_LIMIT_HOURS} hours and they will be sent; after that they will not be.",
                    campaign.fields.name, counts.held
                ),
                now,
            ),
        )
        .await?;
    tracing::warn!(
        clinic_id,
        campaign_id = campaign.id,
        run_id = run.id,
        held = counts.held,
        "run paused for credits"
    );
    Ok(FireOutcome::Paused {
        run_id: run.id,
        held: counts.held,
    })
}

/// What a wake-up of a paused run came to.
pub(super) enum Woken {
    /// The run goes on sending: its account has credits again.
    Resumed { plan: Box<Plan>, run: CampaignRun },
    /// Nothing to send: the run ended, or waits on.
    Done(FireOutcome),
}

/// A wake-up of a paused run at `wake` (its schedule's time): ends it when its campaign was
/// cancelled or its time is up, resumes it when its account has credits again.
pub(super) async fn wake(
    app: &App,
    ev: &FireEvent,
    scheduled: DateTime<Utc>,
    wake: &str,
    limits: &Limits,
) -> Result<Woken, RunError> {
    let done = |outcome: Result<FireOutcome, RunError>| outcome.map(Woken::Done);
    let store = &app.store;
    let clinic_id = &ev.clinic_id;
    let Some(now) = parse_time(wake) else {
        return done(ignored(IgnoreReason::BadWakeTime));
    };
    let run_id = run_id(&ev.campaign_id, scheduled);
    let schedule = wake_schedule_name(&ev.campaign_id, &run_id);
    let campaign = store.get_campaign(clinic_id, &ev.campaign_id).await?;
    let run = store.get_run(clinic_id, &ev.campaign_id, &run_id).await?;
    let (Some(campaign), Some(mut run)) = (campaign, run) else {
        app.scheduler.delete(&schedule).await?;
        return done(ignored(IgnoreReason::NoSuchRun));
    };
    match run.status {
        RunStatus::Paused => {}
        RunStatus::Sending => return done(ignored(IgnoreReason::RunSending)),
        _ => {
            app.scheduler.delete(&schedule).await?;
            return done(ignored(IgnoreReason::RunEnded));
        }
    }
    let ended = |status, reason: StopReason| Expiry {
        campaign: &campaign,
        status,
        reason,
    };
    if campaign.status == CampaignStatus::Cancelled {
        let why = ended(RunStatus::Cancelled, StopReason::Cancelled);
        return done(expire(app, clinic_id, run, why, limits).await);
    }
    if run.pause_expired(now) {
        let why = ended(RunStatus::Sent, StopReason::InsufficientCredits);
        return done(expire(app, clinic_id, run, why, limits).await);
    }
    let plan = match prepare(app, clinic_id, campaign.clone(), &run_id).await? {
        Ok(p) => p,
        Err(reason) => {
            return done(
                expire(
                    app,
                    clinic_id,
                    run,
                    ended(RunStatus::Failed, reason),
                    limits,
                )
                .await,
            );
        }
    };
    if store.credit_balance(clinic_id, &plan.account).await? <= 0 {
        return done(ignored(IgnoreReason::StillOutOfCredits));
    }
    if !store
        .set_run_paused(clinic_id, &campaign.id, &run_id, false, now)
        .await?
    {
        return done(ignored(IgnoreReason::RunResumedElsewhere));
    }
    store
        .set_campaign_status(
            clinic_id,
            &campaign.id,
            StatusChange {
                to: CampaignStatus::Sending,
                from: &[CampaignStatus::Paused],
                reason: None,
            },
            Some(&run_id),
            app.now(),
        )
        .await?;
    run.status = RunStatus::Sending;
    tracing::info!(clinic_id, campaign_id = campaign.id, run_id, "run resumed");
    Ok(Woken::Resumed {
        plan: Box::new(plan),
        run,
    })
}

/// How a paused run ends without being resumed.
struct Expiry<'a> {
    campaign: &'a Campaign,
    status: RunStatus,
    reason: StopReason,
}

/// Marks the held messages of a paused run `not_sent` and ends it; the next wake-up goes on
/// with it if time runs out first.
async fn expire(
    app: &App,
    clinic_id: &str,
    run: CampaignRun,
    Expiry {
        campaign,
        status,
        reason,
    }: Expiry<'_>,
    limits: &Limits,
) -> Result<FireOutcome, RunError> {
    if !end_held(app, clinic_id, &run.id, reason, limits).await? {
        return ignored(IgnoreReason::WakeUpOutOfTime);
    }
    if status != RunStatus::Sent {
        return stop(app, clinic_id, campaign, run, status, reason).await;
    }
    let next = if campaign.fields.repeat.is_some() {
        CampaignStatus::Scheduled
    } else {
        CampaignStatus::Sent
    };
    let settled = tally(app, clinic_id, &run.id).await?;
    let run_id = run.id.clone();
    let counts = end(
        app,
        clinic_id,
        campaign,
        run,
        End {
            status,
            reason: Some(reason),
            next,
            settle: None,
        },
        settled,
    )
    .await?;
    tracing::warn!(
        campaign_id = campaign.id,
        run_id,
        not_sent = counts.not_sent,
        "paused run ended without credits"
    );
    Ok(FireOutcome::Finished { run_id, counts })
}

/// Marks every held message of a run `not_sent` with `reason`; `false` if time ran out first.
pub(super) async fn end_held(
    app: &App,
    clinic_id: &str,
    run_id: &str,
    reason: StopReason,
    limits: &Limits,
) -> Result<bool, RunError> {
    let store = &app.store;
    let reason = reason.to_string();
    let concurrency = app.config.campaigns.concurrency;
    let mut after: Option<String> = None;
    loop {
        let (held, next) = store
            .messages_in_status(
                clinic_id,
                (run_id, Status::Held),
                after.as_deref(),
                HELD_PAGE,
            )
            .await?;
        let now = app.now();
        let results: Vec<_> = futures::stream::iter(&held)
            .map(|m| store.mark_not_sent(clinic_id, (&m.id, &m.patient_id), &reason, now))
            .buffer_unordered(concurrency)
            .collect()
            .await;
        for r in results {
            r?;
        }
        match next {
            Some(_) if Instant::now() >= limits.stop_at => return Ok(false),
            Some(k) => after = Some(k),
            None => return Ok(true),
        }
    }
}
