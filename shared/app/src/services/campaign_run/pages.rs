//! Whose turn a page of a campaign run is: this copy's when it claims the page; nobody's when
//! another copy did the page; this copy's again when the one that claimed it died before it
//! was done. A copy keeps its page while it works on it ([`keeping`]). See
//! [`crate::store::PageClaim`].

use super::types::Limits;
use crate::App;
use crate::store::{PageClaim, StoreError};
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// How long a copy waits between looks at a page another copy is doing.
const POLL: Duration = Duration::from_millis(200);

/// What a copy of the run does with a page.
pub(super) enum Turn {
    /// This copy claimed the page, under a lease until `lease`: it plans, claims and sends
    /// its messages.
    Ours { lease: DateTime<Utc> },
    /// The copy that claimed the page died before it was done, and this copy took it over,
    /// under a lease until `lease`. The page ends at `end`, where its first claimer ended it.
    TakenOver {
        end: Option<String>,
        lease: DateTime<Utc>,
    },
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
        lease_until: app.now() + limits.lease,
    };
    let Some(mut theirs) = store.claim_page(clinic_id, run_id, start, &claim).await? else {
        return Ok(Turn::Ours {
            lease: claim.lease_until,
        });
    };
    loop {
        if theirs.page_done {
            return Ok(Turn::Done { end: theirs.next });
        }
        let now = app.now();
        let lease = now + limits.lease;
        if theirs.lease_until < now
            && store
                .hold_page(clinic_id, run_id, start, &theirs.lease_until, &lease)
                .await?
        {
            tracing::info!(run_id, "took over an abandoned page");
            return Ok(Turn::TakenOver {
                end: theirs.next,
                lease,
            });
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

/// Whether this copy still holds the page it works on; see [`keeping`].
#[derive(Debug)]
pub(super) struct Hold {
    /// When the lease as last renewed runs out (milliseconds since the epoch).
    until_ms: AtomicI64,
    /// A renewal found that another copy took the page over.
    lost: AtomicBool,
    /// [`Hold::kept`] found the lease run out (the copy stalled): sticky, so the page is not
    /// marked done after messages went unclaimed.
    ran_out: AtomicBool,
    clock: crate::clock::Clock,
}

/// How a copy's hold on its page ended; see [`keeping`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kept {
    /// The page was this copy's throughout: it is done.
    Throughout,
    /// Another copy took the page over, and finishes it.
    TakenOver,
    /// The lease ran out while this copy stalled: the page is not done, and whoever comes
    /// next (a retry of the invocation) takes it over.
    RanOut,
}

impl Hold {
    fn new(until: DateTime<Utc>, clock: crate::clock::Clock) -> Self {
        Self {
            until_ms: AtomicI64::new(until.timestamp_millis()),
            lost: AtomicBool::new(false),
            ran_out: AtomicBool::new(false),
            clock,
        }
    }

    /// Whether this copy may claim more of the page's messages: no other copy took it over,
    /// and its lease has not run out. Once it answers no, it always will.
    pub(super) fn kept(&self) -> bool {
        if self.lost.load(Ordering::Acquire) || self.ran_out.load(Ordering::Acquire) {
            return false;
        }
        if self.clock.now().timestamp_millis() >= self.until_ms.load(Ordering::Acquire) {
            self.ran_out.store(true, Ordering::Release);
            return false;
        }
        true
    }

    fn ended(&self) -> Kept {
        if self.lost.load(Ordering::Acquire) {
            Kept::TakenOver
        } else if self.ran_out.load(Ordering::Acquire) {
            Kept::RanOut
        } else {
            Kept::Throughout
        }
    }
}

/// Runs `work` on the page of run `run_id` that starts after `start`, held until `lease`, and
/// renews the page's lease every third of [`Limits::lease`] while it runs: a page that takes
/// longer than a lease (a low send rate, a provider that throttles) stays with the live copy
/// doing it. The [`Hold`] given to `work` says whether it may claim more of the page: not once
/// a renewal found the page taken over, nor once the lease ran out (this copy stalled).
/// `work`'s output, how the hold ended, and the lease as last renewed: renewals stop between
/// writes, never during one, so that is the lease the page has (see [`release`]).
pub(super) async fn keeping<T>(
    app: &App,
    (clinic_id, run_id, start): (&str, &str, Option<&str>),
    lease: DateTime<Utc>,
    limits: &Limits,
    work: impl AsyncFnOnce(&Hold) -> T,
) -> (T, Kept, DateTime<Utc>) {
    let hold = Hold::new(lease, app.store.clock().clone());
    let every = (limits.lease / 3)
        .to_std()
        .unwrap_or(Duration::ZERO)
        .max(POLL);
    let done = tokio::sync::Notify::new();
    let keep = async {
        let mut until = lease;
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = done.notified() => return until,
            }
            let next = app.now() + limits.lease;
            match app
                .store
                .hold_page(clinic_id, run_id, start, &until, &next)
                .await
            {
                Ok(true) => {
                    hold.until_ms
                        .store(next.timestamp_millis(), Ordering::Release);
                    until = next;
                }
                Ok(false) => {
                    hold.lost.store(true, Ordering::Release);
                    tracing::warn!(run_id, "another copy took over this copy's page");
                    return until;
                }
                // Tried again at the next turn, well before the lease runs out.
                Err(e) => tracing::warn!(run_id, error = %e, "page lease not renewed"),
            }
        }
    };
    let work = async {
        let out = work(&hold).await;
        // Stored as a permit when the renewal is mid-write: it stops after that write.
        done.notify_one();
        out
    };
    let (out, until) = tokio::join!(work, keep);
    (out, hold.ended(), until)
}

/// Ends this copy's lease on a page it leaves undone (held until `until`), so the next copy
/// takes it over at once; a failure only means that copy waits for the lease to run out.
pub(super) async fn release(
    app: &App,
    (clinic_id, run_id, start): (&str, &str, Option<&str>),
    until: &DateTime<Utc>,
) {
    let now = app.now();
    match app
        .store
        .hold_page(clinic_id, run_id, start, until, &now)
        .await
    {
        Ok(true) => tracing::info!(run_id, "page left to the continuation"),
        Ok(false) => tracing::warn!(run_id, "page lease already changed; not released"),
        Err(e) => tracing::warn!(run_id, error = %e, "page lease not released"),
    }
}
