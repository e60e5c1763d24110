//! Settling a finished run's credits. A copy of a run reserves a page's credits before it
//! claims the page's messages; if it stops in between (the function crashed or timed out),
//! nothing else would ever give that reservation back. When the run has gone through its
//! whole audience every page is done, so what its copies reserved, less what they gave back
//! and what its messages used, was reserved for messages nobody claimed: the run gives it
//! back as it ends, in the same transaction.

use super::campaign_plan::{Plan, run_entry};
use crate::{App, ServiceError};
use chrono::Utc;
use tidings_domain::campaign::{CampaignRun, RunStatus};
use tidings_domain::credits::EntryKind;

/// How often the counts may move under a settlement before it gives up (each move is
/// another copy returning credits at that moment).
const ATTEMPTS: usize = 5;

/// Ends `run` (its status, counts and credits set) and settles it, given `paid`: the credits
/// of its messages that were paid for out of its reservations. `Ok(false)` if another copy
/// ended it first.
pub(super) async fn finish_settled(
    app: &App,
    plan: &Plan,
    run: &mut CampaignRun,
    paid: i64,
) -> Result<bool, ServiceError> {
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
        run.settled_at = Some(Utc::now());
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
        let refund = (unused > 0).then(|| {
            run_entry(
                plan,
                EntryKind::Refund,
                unused,
                "reserved for messages no copy of the run claimed".into(),
            )
        });
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
    Err(ServiceError::conflict(
        "run_busy",
        None,
        "the run's credits kept changing while it was settled",
    ))
}
