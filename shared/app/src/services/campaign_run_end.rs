//! How a run ends: its messages tallied, its end recorded once on the run and on its campaign
//! (settling its credits: [`super::run_settlement`]), and its schedules tidied away. See
//! [`super::campaign_runner`] for the run itself.

use super::campaign_plan::Plan;
use super::campaign_runner::FireOutcome;
use crate::store::{RunTotals, StatusChange};
use crate::{App, ServiceError};
use tidings_domain::campaign::{Campaign, CampaignRun, CampaignStatus, Counts, RunStatus};
use tidings_domain::message::{Message, Status};

/// A run's messages counted (a page at a time), its credits net of refunds (see
/// [`Message::keeps_its_credits`]), and the ones still queued.
pub(super) struct Tally {
    pub(super) counts: Counts,
    credits: i64,
    /// The credits of every message paid for out of the run's reservations (failed ones too,
    /// whose refunds are their own).
    pub(super) paid: i64,
    /// Those still queued: [`super::campaign_runner::settle`] marks unconfirmed any whose lease
    /// ran out.
    pub(super) queued: Vec<Message>,
    /// What became of the messages, per channel, for the run's metrics.
    by_channel: crate::metrics::MessageCounts,
}

pub(super) async fn tally(app: &App, clinic_id: &str, run_id: &str) -> Result<Tally, ServiceError> {
    let mut t = Tally {
        counts: Counts::default(),
        credits: 0,
        paid: 0,
        queued: Vec::new(),
        by_channel: crate::metrics::MessageCounts::default(),
    };
    app.store
        .each_request_message(clinic_id, run_id, |m| {
            t.by_channel.add(m);
            let c = &mut t.counts;
            c.recipients += 1;
            match m.status {
                Status::Queued => {
                    c.queued += 1;
                    t.queued.push(m.clone());
                }
                Status::Sent => c.sent += 1,
                Status::Delivered => c.delivered += 1,
                Status::Failed => c.failed += 1,
                Status::Skipped => c.skipped += 1,
                Status::Held => c.held += 1,
                Status::NotSent => c.not_sent += 1,
                Status::Unconfirmed => c.unconfirmed += 1,
                Status::Received => {}
            }
            if m.keeps_its_credits() {
                t.credits += i64::from(m.credits);
            }
            if m.was_paid() {
                t.paid += i64::from(m.credits);
            }
        })
        .await?;
    Ok(t)
}

/// Ends a run that went through its whole audience, and settles its credits.
pub(super) async fn finish(
    app: &App,
    plan: &Plan,
    run: CampaignRun,
    settled: Tally,
) -> Result<FireOutcome, ServiceError> {
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
    reason: &str,
) -> Result<FireOutcome, ServiceError> {
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
    tracing::warn!(campaign_id = campaign.id, run_id, reason, "run stopped");
    Ok(FireOutcome::Stopped {
        run_id,
        reason: reason.to_owned(),
    })
}

/// How a run ends, and the status its campaign goes on in.
pub(super) struct End<'a> {
    pub(super) status: RunStatus,
    pub(super) reason: Option<&'a str>,
    pub(super) next: CampaignStatus,
    /// The plan of a run that went through its whole audience: no copy can still be between
    /// reserving and claiming, so it settles as it ends ([`super::run_settlement`]). Without
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
) -> Result<Counts, ServiceError> {
    let Tally {
        counts,
        credits,
        paid,
        by_channel,
        ..
    } = tally;
    run.status = status;
    run.reason = reason.map(str::to_owned);
    run.counts = counts;
    run.credits = credits;
    run.finished_at = Some(app.now());
    let ended = match settle {
        Some(plan) => super::run_settlement::finish_settled(app, plan, &mut run, paid).await?,
        None => {
            let ended = app.store.finish_run(clinic_id, &run).await?;
            // Whichever copy ended it: the last copy to stop is the one that can settle it.
            let key = (campaign.id.as_str(), run.id.as_str());
            if let Err(e) = super::run_settlement::settle_ended(app, clinic_id, key).await {
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
                reason,
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
            .delete(&super::campaign_pause::wake_schedule_name(
                &campaign.id,
                &run.id,
            ))
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
