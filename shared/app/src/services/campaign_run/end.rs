//! How a run ends: its messages tallied, its end recorded once on the run and on its campaign
//! (settling its credits: [`super::settlement`]), and its schedules tidied away. See
//! [`super::runner`] for the run itself.

use super::plan::Plan;
use super::tally::{Tally, tally};
use super::types::{ABANDONED, FireEvent, FireOutcome, Limits, RunError, wake_schedule_name};
use crate::App;
use crate::scheduler::ScheduleSpec;
use crate::store::{RunTotals, StatusChange};
use tidings_domain::campaign::{
    Campaign, CampaignRun, CampaignStatus, Counts, RunStatus, StopReason,
};
use tidings_domain::clinic::Clinic;
use tokio::time::Instant;

/// Ends a run that went through its whole audience, and settles its credits.
pub(super) async fn finish(
    app: &App,
    plan: &Plan,
    run: CampaignRun,
    settled: Tally,
) -> Result<FireOutcome, RunError> {
    let (clinic_id, campaign) = (&plan.clinic.id, &plan.campaign);
    let next = if campaign.fields.repeat.is_some() {
        CampaignStatus::Scheduled
    } else {
        CampaignStatus::Sent
    };
    let run_id = run.id.clone();
    let end_as = End {
        status: RunStatus::Sent,
        reason: None,
        next,
        settle: Some(plan),
    };
    let counts = end(app, clinic_id, campaign, run, end_as, settled).await?;
    Ok(FireOutcome::Finished { run_id, counts })
}

/// Ends a run early.
pub(super) async fn stop(
    app: &App,
    clinic_id: &str,
    campaign: &Campaign,
    run: CampaignRun,
    status: RunStatus,
    reason: StopReason,
) -> Result<FireOutcome, RunError> {
    let next = match status {
        RunStatus::Cancelled => CampaignStatus::Cancelled,
        _ => CampaignStatus::Failed,
    };
    let run_id = run.id.clone();
    let settled = tally(app, clinic_id, &run.id).await?;
    let end_as = End {
        status,
        reason: Some(reason),
        next,
        settle: None,
    };
    end(app, clinic_id, campaign, run, end_as, settled).await?;
    tracing::warn!(campaign_id = campaign.id, run_id, %reason, "run stopped");
    Ok(FireOutcome::Stopped { run_id, reason })
}

/// How a run ends, and the status its campaign goes on in.
pub(super) struct End<'a> {
    pub(super) status: RunStatus,
    pub(super) reason: Option<StopReason>,
    pub(super) next: CampaignStatus,
    /// The plan of a run that went through its whole audience: no copy can still be between
    /// reserving and claiming, so it settles as it ends ([`super::settlement`]). Without
    /// one, the run is settled after it ends, once no copy is doing a page of it.
    pub(super) settle: Option<&'a Plan>,
}

/// Records the end of a run (once, whichever copy gets there first) on the run and on its
/// campaign, and deletes a one-time schedule (and the wake-ups of a run that paused).
pub(super) async fn end(
    app: &App,
    clinic_id: &str,
    campaign: &Campaign,
    mut run: CampaignRun,
    End {
        status,
        reason,
        next,
        settle,
    }: End<'_>,
    tally: Tally,
) -> Result<Counts, RunError> {
    let Tally {
        counts,
        credits,
        paid,
        by_channel,
        ..
    } = tally;
    run.status = status;
    run.reason = reason.map(|r| r.to_string());
    run.counts = counts;
    run.credits = credits;
    run.finished_at = Some(app.now());
    let ended = match settle {
        Some(plan) => super::settlement::finish_settled(app, plan, &mut run, paid).await?,
        None => {
            let ended = app.store.finish_run(clinic_id, &run).await?;
            // Whichever copy ended it: the last copy to stop is the one that can settle it.
            let key = (campaign.id.as_str(), run.id.as_str());
            if let Err(e) = super::settlement::settle_ended(app, clinic_id, key).await {
                tracing::error!(run_id = run.id, error = ?e, "ended run not settled");
            }
            ended
        }
    };
    if !ended {
        // Another copy ended it.
        return Ok(counts);
    }
    // Counted once, by the copy that ended the run.
    by_channel.emit(app);
    if let Some(finished) = run.finished_at {
        let seconds = (finished - run.started_at).num_milliseconds() as f64 / 1000.0;
        crate::metrics::run_duration(app, seconds);
    }
    let from: &[CampaignStatus] = if next == CampaignStatus::Cancelled {
        &[
            CampaignStatus::Cancelled,
            CampaignStatus::Sending,
            CampaignStatus::Paused,
            CampaignStatus::Scheduled,
        ]
    } else {
        &[CampaignStatus::Sending, CampaignStatus::Paused]
    };
    app.store
        .record_run_on_campaign(
            clinic_id,
            &campaign.id,
            RunTotals {
                run_id: &run.id,
                counts,
                credits,
            },
            StatusChange {
                to: next,
                from,
                reason: run.reason.as_deref(),
            },
            app.now(),
        )
        .await?;
    if campaign.fields.repeat.is_none()
        && let Err(e) = app.scheduler.delete(&campaign.schedule_name).await
    {
        tracing::warn!(campaign_id = campaign.id, error = %e, "schedule not deleted");
    }
    if run.pauses > 0
        && let Err(e) = app
            .scheduler
            .delete(&wake_schedule_name(&campaign.id, &run.id))
            .await
    {
        tracing::warn!(campaign_id = campaign.id, error = %e, "wake-up schedule not deleted");
    }
    tracing::info!(
        campaign_id = campaign.id,
        run_id = run.id,
        recipients = counts.recipients,
        sent = counts.sent,
        failed = counts.failed,
        skipped = counts.skipped,
        "run finished"
    );
    Ok(counts)
}

/// Waits until no message of the run is queued: messages other copies of the run are sending
/// resolve on their own; those whose lease ran out (their copy died, perhaps after handing them
/// over) become unconfirmed. The final tally, or `None` when time ran out first.
pub(super) async fn settle(
    app: &App,
    clinic: &Clinic,
    run_id: &str,
    limits: &Limits,
) -> Result<Option<Tally>, RunError> {
    let store = &app.store;
    loop {
        let t = tally(app, &clinic.id, run_id).await?;
        if t.queued.is_empty() {
            return Ok(Some(t));
        }
        let now = app.now();
        for m in t.queued {
            if let Some(prev) = m.lease_until.filter(|prev| *prev < now)
                && store
                    .mark_unconfirmed(
                        &clinic.id,
                        (&m.id, &m.patient_id),
                        Some(&prev),
                        ABANDONED,
                        now,
                    )
                    .await?
            {
                tracing::warn!(run_id, message_id = m.id, "abandoned message unconfirmed");
            }
        }
        if Instant::now() >= limits.stop_at {
            return Ok(None);
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// Schedules the continuation of a run that ran out of time.
pub(super) async fn continue_later(
    app: &App,
    ev: &FireEvent,
    run: &CampaignRun,
) -> Result<FireOutcome, RunError> {
    let campaign_id = &ev.campaign_id;
    let n = app
        .store
        .count_continuation(&ev.clinic_id, campaign_id, &run.id)
        .await?;
    let at = app.now() + chrono::Duration::seconds(1);
    let name = format!(
        "campaign-{}-{}-{n}",
        &campaign_id[..8.min(campaign_id.len())],
        &run.id[24..]
    );
    let spec = ScheduleSpec {
        name: &name,
        expression: &format!("at({})", at.format("%Y-%m-%dT%H:%M:%S")),
        time_zone: "UTC",
        start: None,
        input: crate::services::campaigns::fire_input(
            &ev.clinic_id,
            &ev.campaign_id,
            &ev.scheduled_time,
        ),
        one_off: true,
    };
    app.scheduler.create(spec).await?;
    tracing::info!(campaign_id, run_id = run.id, n, "run continues later");
    Ok(FireOutcome::Continued {
        run_id: run.id.clone(),
    })
}
