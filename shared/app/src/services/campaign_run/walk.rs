//! The walk phase: a run's audience, page by page from its checkpoint, two pages at a time.
//!
//! A page is set up (read, its claim on the store, its messages planned) and then sent
//! ([`send_page`]). The next page is set up while this one is sent, and begins once every
//! message of this one is claimed (so pages reserve credits and claim in the audience's order):
//! its first sends go out while the last of this page's are still with the provider, instead of
//! after them and after the writes between two pages. The sends of both share the run's
//! concurrency ([`Run::slots`]).
//!
//! Each page marks itself done; its checkpoint is moved past it only after the page before it
//! moved it (a chain of [`oneshot`]s), so the checkpoint never passes a page that is not done.
//! The first page that does not end whole (taken over, out of time, failed) decides the walk's
//! outcome; a page already begun beside it is finished first, and no page after it begins.

use super::claims::{Claims, PageSent, claim_and_send};
use super::pages::{self, Kept, Turn};
use super::plan::{audience_of, plan_member};
use super::run::Run;
use super::types::{PAGE, RunError};
use crate::services::audience::{Audience, AudiencePage, Member};
use crate::services::sending::skip_blocked;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use tidings_domain::campaign::{CampaignRun, CampaignStatus};
use tidings_domain::campaign_step::Found;
use tidings_domain::message::Message;
use tidings_domain::practitioner::Practitioner;
use tokio::sync::oneshot;
use tokio::time::Instant;

/// Pages worked on at once: the one being sent and the next.
const PAGES_AT_ONCE: usize = 2;

/// Goes through the run's audience from its checkpoint, claiming and sending (or holding, when
/// credits run out) one message per person and channel, until the audience is done (recorded
/// on the run), the campaign is cancelled, or time runs out.
pub(super) async fn walk(r: &Run<'_>, run: &CampaignRun) -> Result<Found, RunError> {
    let audience = match audience_of(r.app, r.plan, run.started_at).await? {
        Ok(a) => a,
        Err(reason) => return Ok(Found::AudienceUnavailable(reason)),
    };
    // Set once the walk's outcome is known: no page is set up after that.
    let decided = AtomicBool::new(false);
    let ahead = Ahead {
        position: run.checkpoint.clone(),
        practitioners: HashMap::new(),
        before: None,
        last: false,
    };
    let set_ups =
        futures::stream::unfold(ahead, |ahead| set_up(r, run, &audience, &decided, ahead));
    let pages = set_ups
        .map(|s| async move {
            match s {
                SetUp::Page(page) => send_page(r, run, page).await,
                SetUp::Ends(end) => end,
            }
        })
        .buffered(PAGES_AT_ONCE);
    let mut pages = std::pin::pin!(pages);
    let mut outcome = None;
    while let Some(end) = pages.next().await {
        if outcome.is_some() {
            // A page begun beside the one that decided: finished, and its end is not the walk's.
            continue;
        }
        outcome = match end {
            Ends::NextPage => continue,
            Ends::Audience => Some(audience_done(r, run).await),
            Ends::With(found) => Some(Ok(found)),
            Ends::Failed(e) => Some(Err(e)),
        };
        decided.store(true, Ordering::Release);
    }
    // Every set-up stream ends with a page or set-up that decides; the checkpoint is safe to
    // resume from in any case.
    outcome.unwrap_or(Ok(Found::OutOfTime))
}

/// What a page (or a set-up that found no page to send) means for the walk.
enum Ends {
    /// The page is done and the walk goes on.
    NextPage,
    /// The page was the audience's last (or another copy did the last).
    Audience,
    /// The walk ends with this (cancelled, taken over, out of time).
    With(Found),
    Failed(RunError),
}

/// What the next set-up starts from.
struct Ahead {
    /// Where the next page starts (after this position).
    position: Option<String>,
    /// Practitioners named by patients, read once per invocation.
    practitioners: HashMap<String, Option<Practitioner>>,
    /// The page before: resolves once it has claimed all its messages (`claimed`), and once it
    /// moved the checkpoint past itself (`checkpointed`, true) or will not (false).
    before: Option<Before>,
    /// The page before was the audience's last.
    last: bool,
}

struct Before {
    claimed: oneshot::Receiver<()>,
    checkpointed: oneshot::Receiver<bool>,
}

/// A page set up to send, or why there is none.
enum SetUp {
    Page(Page),
    Ends(Ends),
}

/// A page this copy holds, with its messages planned.
struct Page {
    /// Where it starts (after this position) and ends (`None`: the audience's end).
    start: Option<String>,
    end: Option<String>,
    messages: Vec<Message>,
    claims: Claims,
    lease: chrono::DateTime<chrono::Utc>,
    cut: super::types::Cut,
    /// Told once the page's messages are all claimed.
    claimed: oneshot::Sender<()>,
    /// Whether the page before moved the checkpoint past itself (none before: true).
    before_checkpointed: Option<oneshot::Receiver<bool>>,
    /// Told whether this page moved the checkpoint past itself.
    checkpointed: oneshot::Sender<bool>,
}

/// Sets up the page after `ahead.position`: read while the page before is still claiming,
/// then, once it has claimed all, claimed on the store (or passed over, when another copy did
/// it) and planned. `None` once the walk's outcome is known or the audience's last page began.
async fn set_up(
    r: &Run<'_>,
    run: &CampaignRun,
    audience: &Audience,
    decided: &AtomicBool,
    mut ahead: Ahead,
) -> Option<(SetUp, Ahead)> {
    if ahead.last || decided.load(Ordering::Acquire) {
        return None;
    }
    let (app, ev, limits) = (r.app, r.ev, r.limits);
    let store = &app.store;
    let page = audience.page(store, ahead.position.as_deref(), PAGE).await;
    let before = ahead.before.take();
    let before_checkpointed = match before {
        Some(b) => {
            // Dropped (not sent) once its claims are written, or if it stopped before.
            let _ = b.claimed.await;
            if decided.load(Ordering::Acquire) {
                return None;
            }
            if Instant::now() >= limits.stop_at {
                return ahead.ends(Ends::With(Found::OutOfTime));
            }
            Some(b.checkpointed)
        }
        None => None,
    };
    let page = match page {
        Ok(p) => p,
        Err(e) => return ahead.ends(Ends::Failed(e.into())),
    };
    match claim(r, run, audience, &mut ahead, page).await {
        Ok(Claimed::Page {
            members,
            end,
            claims,
            lease,
        }) => {
            let mut messages = Vec::new();
            for (_, member) in &members {
                match plan_member(app, r.plan, member, &mut ahead.practitioners).await {
                    Ok(m) => messages.extend(m),
                    Err(e) => return ahead.ends(Ends::Failed(e.into())),
                }
            }
            // Read per page, so a STOP or a bounce during a long run takes effect.
            match store.blocked(&ev.clinic_id).await {
                Ok(blocked) => skip_blocked(&mut messages, &blocked),
                Err(e) => return ahead.ends(Ends::Failed(e.into())),
            }
            let (claimed, claimed_rx) = oneshot::channel();
            let (checkpointed, checkpointed_rx) = oneshot::channel();
            let start = ahead.position.take();
            let next = Ahead {
                position: end.clone(),
                practitioners: std::mem::take(&mut ahead.practitioners),
                before: Some(Before {
                    claimed: claimed_rx,
                    checkpointed: checkpointed_rx,
                }),
                last: end.is_none(),
            };
            let page = Page {
                start,
                end,
                messages,
                claims,
                lease,
                cut: limits.cut_for_page(),
                claimed,
                before_checkpointed,
                checkpointed,
            };
            Some((SetUp::Page(page), next))
        }
        Ok(Claimed::None(ends)) => ahead.ends(ends),
        Err(e) => ahead.ends(Ends::Failed(e)),
    }
}

impl Ahead {
    /// The walk ends with `ends`: nothing is set up after it.
    fn ends(mut self, ends: Ends) -> Option<(SetUp, Ahead)> {
        self.last = true;
        Some((SetUp::Ends(ends), self))
    }
}

/// What claiming a page found.
enum Claimed {
    Page {
        members: Vec<(String, Member)>,
        end: Option<String>,
        claims: Claims,
        lease: chrono::DateTime<chrono::Utc>,
    },
    /// No page to send: the walk ends with this.
    None(Ends),
}

/// Claims `page` (read after `ahead.position`) for this copy, passing over the pages another
/// copy did; stops at a cancelled campaign.
async fn claim(
    r: &Run<'_>,
    run: &CampaignRun,
    audience: &Audience,
    ahead: &mut Ahead,
    mut page: AudiencePage,
) -> Result<Claimed, RunError> {
    let (app, ev, limits) = (r.app, r.ev, r.limits);
    let store = &app.store;
    loop {
        if store
            .get_campaign(&ev.clinic_id, &r.plan.campaign.id)
            .await?
            .is_none_or(|c| c.status == CampaignStatus::Cancelled)
        {
            return Ok(Claimed::None(Ends::With(Found::Cancelled)));
        }
        let start = ahead.position.as_deref();
        let turn = pages::turn(
            app,
            (&ev.clinic_id, &run.id),
            (start, page.next.as_deref()),
            limits,
        )
        .await?;
        return Ok(match turn {
            Turn::Ours { lease } => Claimed::Page {
                claims: if audience.lists_each_once() {
                    Claims::InBatches
                } else {
                    Claims::EachIfAbsent
                },
                members: page.members,
                end: page.next,
                lease,
            },
            Turn::TakenOver { end, lease } => Claimed::Page {
                members: audience.through(store, page, end.as_deref()).await?,
                end,
                claims: Claims::EachIfAbsent,
                lease,
            },
            Turn::Done { end: Some(end) } => {
                page = audience.page(store, Some(&end), PAGE).await?;
                ahead.position = Some(end);
                continue;
            }
            Turn::Done { end: None } => Claimed::None(Ends::Audience),
            Turn::OutOfTime => Claimed::None(Ends::With(Found::OutOfTime)),
        });
    }
}

/// Sends a page this copy holds, keeping its lease while it does; marks it done and, after the
/// page before did, moves the checkpoint past it.
async fn send_page(r: &Run<'_>, run: &CampaignRun, page: Page) -> Ends {
    let (app, ev, limits) = (r.app, r.ev, r.limits);
    let store = &app.store;
    let Page {
        start,
        end,
        messages,
        claims,
        lease,
        cut,
        claimed,
        before_checkpointed,
        checkpointed,
    } = page;
    let at = (ev.clinic_id.as_str(), run.id.as_str(), start.as_deref());
    let (sent, kept, held_until) = pages::keeping(app, at, lease, limits, async |hold| {
        claim_and_send(r, messages, (claims, hold, cut), claimed).await
    })
    .await;
    // The page's end, and whether it moved the checkpoint past itself.
    let ends = async {
        let sent = sent?;
        match kept {
            Kept::Throughout => {}
            // The copy that took the page over finishes it, and the run.
            Kept::TakenOver => return Ok((Ends::With(Found::TakenOver), false)),
            // Failed, the invocation is retried: the retry takes the page over.
            Kept::RanOut => return Err(RunError::PageLeaseRanOut),
        }
        if sent == PageSent::CutForTime {
            // The continuation takes the rest of the page over at once, not a lease later.
            pages::release(app, at, &held_until).await;
            return Ok((Ends::With(Found::OutOfTime), false));
        }
        store.page_done(at.0, at.1, at.2).await?;
        let Some(next) = &end else {
            return Ok((Ends::Audience, false));
        };
        let before_moved = match before_checkpointed {
            Some(rx) => rx.await.unwrap_or(false),
            None => true,
        };
        // A page before that did not end whole decides the walk: the checkpoint stays there.
        if before_moved {
            store
                .checkpoint_run(at.0, &r.plan.campaign.id, at.1, next)
                .await?;
        }
        Ok::<_, RunError>((Ends::NextPage, before_moved))
    };
    let (ends, moved) = match ends.await {
        Ok(done) => done,
        Err(e) => (Ends::Failed(e), false),
    };
    // The next page may be waiting for this answer; it is gone if it was never set up.
    let _ = checkpointed.send(moved);
    ends
}

/// Records that every page of the run's audience is done.
async fn audience_done(r: &Run<'_>, run: &CampaignRun) -> Result<Found, RunError> {
    r.app
        .store
        .audience_done(&r.plan.clinic.id, &r.plan.campaign.id, &run.id)
        .await?;
    Ok(Found::AudienceDone)
}
