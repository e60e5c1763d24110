//! What every part of a campaign run shares: the firing, its outcome, its limits, and the
//! run's control signals. The bottom of the run module: it imports nothing above it.

use crate::ServiceError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tidings_domain::campaign::{CampaignStatus, Counts, StopReason};
use tokio::time::Instant;

pub use crate::services::audience::PAGE;

/// What the schedule sends to the campaign function.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FireEvent {
    pub clinic_id: String,
    pub campaign_id: String,
    /// The firing's scheduled time (Scheduler's `<aws.scheduler.scheduled-time>`).
    pub scheduled_time: String,
    /// Set on the wake-ups of a run paused for credits: the wake-up's own scheduled time,
    /// the clock the 24-hour limit is measured on ([`super::held::wake`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wake_time: Option<String>,
}

/// What one invocation did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum FireOutcome {
    /// Nothing to do: unknown, cancelled or finished campaign, or a finished run.
    Ignored {
        reason: IgnoreReason,
    },
    Finished {
        run_id: String,
        counts: Counts,
    },
    /// Time ran out; a continuation was scheduled.
    Continued {
        run_id: String,
    },
    /// The run ended early (cancelled, template gone).
    Stopped {
        run_id: String,
        reason: StopReason,
    },
    /// Out of credits: `held` messages wait for a top-up.
    Paused {
        run_id: String,
        held: u64,
    },
}

/// How long an invocation may work, and how long a claimed message is its own.
pub struct Limits {
    /// Stop taking new pages at this instant and hand over to a continuation.
    pub stop_at: Instant,
    /// How long a claimed page or queued message belongs to the copy that claimed it (a
    /// page's lease is renewed while its copy works on it).
    pub lease: chrono::Duration,
}

impl Limits {
    /// Where a page of work begun now stops: at `stop_at` while it is still ahead, so that a
    /// page slower than the time left does not outlive the invocation; nowhere once it has
    /// passed (an invocation that began with less time than that), so every invocation gets
    /// through at least one page.
    pub(super) fn cut_for_page(&self) -> Cut {
        Cut((Instant::now() < self.stop_at).then_some(self.stop_at))
    }
}

/// Where a page of work stops; see [`Limits::cut_for_page`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Cut(Option<Instant>);

impl Cut {
    /// Whether the page must go no further.
    pub(super) fn passed(self) -> bool {
        self.0.is_some_and(|t| Instant::now() >= t)
    }
}

pub(super) fn parse_time(v: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Why a firing (or a copy of a run) did nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoreReason {
    BadScheduledTime,
    BadWakeTime,
    NoSuchCampaign,
    NoSuchRun,
    /// A draft, sent or failed campaign.
    CampaignNotLive(CampaignStatus),
    /// A repeating campaign's firing while a run waits for credits.
    CampaignPaused,
    CampaignCancelled,
    /// Cancelled while a copy of the run is doing a page: that copy ends the run.
    CancelledWhilePageInProgress,
    /// A one-time campaign's firing at another time (replayed or stray).
    OneTimeCampaignRan,
    RunFinished,
    /// A wake-up of a run that is sending (resumed already).
    RunSending,
    /// A wake-up of a run that ended.
    RunEnded,
    /// Another copy took this copy's page over and finishes the run.
    PageTakenOver,
    /// Another copy paused or ended the run while this one was sending its held messages.
    RunPausedOrEndedElsewhere,
    StillOutOfCredits,
    RunResumedElsewhere,
    /// A wake-up's time ran out while it ended the held messages; the next wake-up goes on.
    WakeUpOutOfTime,
}

impl std::fmt::Display for IgnoreReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use IgnoreReason as R;
        f.write_str(match self {
            R::BadScheduledTime => "scheduled_time is not an RFC 3339 time",
            R::BadWakeTime => "wake_time is not an RFC 3339 time",
            R::NoSuchCampaign => "no such campaign",
            R::NoSuchRun => "no such run",
            R::CampaignNotLive(status) => return write!(f, "campaign is {}", status.as_str()),
            R::CampaignPaused => "campaign is paused for credits",
            R::CampaignCancelled => "campaign is cancelled",
            R::CancelledWhilePageInProgress => {
                "campaign is cancelled; a copy of the run is finishing a page"
            }
            R::OneTimeCampaignRan => {
                "a one-time campaign runs once: another firing started its run"
            }
            R::RunFinished => "run already finished",
            R::RunSending => "run is sending",
            R::RunEnded => "run ended",
            R::PageTakenOver => "another copy of the run took over its page",
            R::RunPausedOrEndedElsewhere => "another copy of the run paused or ended it",
            R::StillOutOfCredits => "still out of credits",
            R::RunResumedElsewhere => "another copy resumed the run",
            R::WakeUpOutOfTime => "time ran out; the next wake-up goes on",
        })
    }
}

impl Serialize for IgnoreReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `Ok` with what the firing comes to.
pub(super) fn ignored(reason: IgnoreReason) -> Result<FireOutcome, RunError> {
    Ok(FireOutcome::Ignored { reason })
}

/// What an abandoned message becomes: its copy died, perhaps after handing it over.
pub(super) const ABANDONED: &str =
    "its sender stopped after claiming it: it may have reached the provider";

/// The name of a paused run's wake-up schedule.
pub fn wake_schedule_name(campaign_id: &str, run_id: &str) -> String {
    format!(
        "campaign-{}-{}-wake",
        &campaign_id[..8.min(campaign_id.len())],
        &run_id[24.min(run_id.len())..]
    )
}

/// Why a copy of a run stops with an error so that Lambda retries its invocation: signals
/// between copies of one run, not answers to anyone.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// This copy's lease on its page ran out before the page was done (it stalled); the retry
    /// takes the page over.
    #[error("this copy's lease on its page ran out before the page was done")]
    PageLeaseRanOut,
    /// The run's credits kept changing while this copy settled them (other copies were
    /// still at work); the retry settles them once they are still.
    #[error("the run's credits kept changing while it was settled")]
    RunBusy,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<crate::store::StoreError> for RunError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Service(e.into())
    }
}

impl From<crate::scheduler::SchedulerError> for RunError {
    fn from(e: crate::scheduler::SchedulerError) -> Self {
        Self::Service(e.into())
    }
}
