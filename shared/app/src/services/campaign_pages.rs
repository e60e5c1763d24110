//! Whose turn a page of a campaign run is: this copy's when it claims the page; nobody's when
//! another copy did the page; this copy's again when the one that claimed it died before it
//! was done. See [`crate::store::PageClaim`].

use super::campaign_runner::Limits;
use crate::App;
use crate::store::{PageClaim, StoreError};
use chrono::Utc;
use std::time::Duration;
use tokio::time::Instant;

/// How long a copy waits between looks at a page another copy is doing.
const POLL: Duration = Duration::from_millis(200);

/// What a copy of the run does with a page.
pub(super) enum Turn {
    /// This copy claimed the page: it plans, claims and sends its messages.
    Ours,
    /// The copy that claimed the page died before it was done, and this copy took it over.
    /// The page ends at `end`, where its first claimer ended it.
    TakenOver { end: Option<String> },
    /// Another copy did the page: the run goes on after `end`.
    Done { end: Option<String> },
    /// Time ran out while another copy was still doing the page.
    OutOfTime,
}

/// Claims the page of run `run_id` that starts after `start` and ends at `end`, or finds out
/// what became of it: waits while another copy is doing it, and takes it over when that
/// copy's lease ran out.
pub(super) async fn turn(
    app: &App,
    (clinic_id, run_id): (&str, &str),
    (start, end): (Option<&str>, Option<&str>),
    limits: &Limits,
) -> Result<Turn, StoreError> {
    let store = &app.store;
    let claim = PageClaim {
        next: end.map(str::to_owned),
        page_done: false,
        lease_until: Utc::now() + limits.lease,
    };
    let Some(mut theirs) = store.claim_page(clinic_id, run_id, start, &claim).await? else {
        return Ok(Turn::Ours);
    };
    loop {
        if theirs.page_done {
            return Ok(Turn::Done { end: theirs.next });
        }
        let now = Utc::now();
        if theirs.lease_until < now
            && store
                .take_over_page(
                    clinic_id,
                    run_id,
                    start,
                    &theirs.lease_until,
                    &(now + limits.lease),
                )
                .await?
        {
            tracing::info!(run_id, "took over an abandoned page");
            return Ok(Turn::TakenOver { end: theirs.next });
        }
        if Instant::now() >= limits.stop_at {
            return Ok(Turn::OutOfTime);
        }
        tokio::time::sleep(POLL).await;
        // Claims are never deleted.
        theirs = store
            .get_page_claim(clinic_id, run_id, start)
            .await?
            .ok_or(StoreError::Missing("page claim"))?;
    }
}
