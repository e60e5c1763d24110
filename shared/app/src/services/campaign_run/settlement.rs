//! Settling a run's credits. A copy of a run reserves a page's credits before it claims the
//! page's messages; if it stops in between (the function crashed or timed out), nothing else
//! would ever give that reservation back. When the run has gone through its whole audience
//! every page is done, so what its copies reserved, less what they gave back and what its
//! messages used, was reserved for messages nobody claimed: the run gives it back as it ends,
//! in the same transaction. A run that ends early is settled the same way, but only once no
//! copy is doing a page of it ([`settle_ended`]).

use super::plan::{Plan, account_entry, run_entry};
use super::tally::tally;
use super::types::RunError;
use crate::App;
use tidings_domain::campaign::{CampaignRun, RunStatus};
use tidings_domain::credits::EntryKind;

/// How often the counts may move under a settlement before it gives up (each move is
/// another copy returning credits at that moment).
const ATTEMPTS: usize = 5;

/// The note of a settlement's refund.
const NOTE: &str = "reserved for messages no copy of the run claimed";

/// What a run reserved and its messages did not use (`paid`): the settlement's refund when it
/// is above 0 (below 0 is logged).
fn unused(run: &CampaignRun, paid: i64) -> i64 {
    let unused = run.reserved - run.returned - paid;
    if unused < 0 {
        // Runs started before runs counted their reservations land here too.
        tracing::warn!(
            run_id = run.id,
            reserved = run.reserved,
            returned = run.returned,
            paid,
            "run's messages used more credits than it counted as reserved"
        );
    }
    unused
}

/// Settles run `run_id` of campaign `campaign_id`, which ended without going through its whole
/// audience (cancelled, failed, or paused until it expired). A copy still doing a page may yet
/// claim messages it reserved for, so while one is, nothing happens: that copy settles the
/// run when it stops at the end of its page. A page whose copy died (its lease ran out) is not
/// waited for. Messages left `queued` keep their credits: they may have reached the provider.
pub(super) async fn settle_ended(
    app: &App,
    clinic_id: &str,
    (campaign_id, run_id): (&str, &str),
) -> Result<(), RunError> {
    let store = &app.store;
    if store
        .page_in_progress(clinic_id, run_id, &app.now())
        .await?
    {
        tracing::info!(
            run_id,
            "a page of the run is in progress: its copy settles the run"
        );
        return Ok(());
    }
    for _ in 0..ATTEMPTS {
        let Some(mut run) = store.get_run(clinic_id, campaign_id, run_id).await? else {
            return Ok(());
        };
        if run.finished_at.is_none() || run.settled_at.is_some() {
            return Ok(());
        }
        // No account: nothing was ever reserved.
        let Some(account) = run.account.clone() else {
            return Ok(());
        };
        let paid = tally(app, clinic_id, run_id).await?.paid;
        let unused = unused(&run, paid);
        let refund = (unused > 0).then(|| {
            account_entry(
                (&account, run_id),
                (EntryKind::Refund, unused),
                NOTE.into(),
                app.now(),
            )
        });
        run.settled_at = Some(app.now());
        if store
            .settle_ended_run(clinic_id, &run, refund.as_ref())
            .await?
        {
            tracing::info!(run_id, credits = unused.max(0), "ended run settled");
            return Ok(());
        }
    }
    Err(RunError::RunBusy)
}

/// Ends `run` (its status, counts and credits set) and settles it, given `paid`: the credits
/// of its messages that were paid for out of its reservations. `Ok(false)` if another copy
/// ended it first.
pub(super) async fn finish_settled(
    app: &App,
    plan: &Plan,
    run: &mut CampaignRun,
    paid: i64,
) -> Result<bool, RunError> {
    let store = &app.store;
    let clinic_id = &plan.clinic.id;
    for _ in 0..ATTEMPTS {
        let Some(now) = store.get_run(clinic_id, &run.campaign_id, &run.id).await? else {
            return Ok(false);
        };
        if !matches!(now.status, RunStatus::Sending | RunStatus::Paused) {
            return Ok(false);
        }
        run.reserved = now.reserved;
        run.returned = now.returned;
        run.settled_at = Some(app.now());
        let unused = unused(run, paid);
        let refund = (unused > 0)
            .then(|| run_entry(plan, (EntryKind::Refund, unused), NOTE.into(), app.now()));
        if store
            .finish_settled_run(clinic_id, run, refund.as_ref())
            .await?
        {
            if unused > 0 {
                tracing::warn!(
                    run_id = run.id,
                    credits = unused,
                    "unused reservation returned"
                );
            }
            return Ok(true);
        }
    }
    Err(RunError::RunBusy)
}
