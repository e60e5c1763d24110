//! What a campaign run does next: the one decision its driving loop
//! (`services/campaign_run/runner.rs`) asks after each phase. Pure: no I/O, no clock.

use crate::campaign::StopReason;

/// A phase of a run: it does work and reports what it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Claim and send the audience a page at a time, from the run's checkpoint.
    Walk,
    /// Wait until no message of the run is queued: other copies finish theirs, and those a
    /// dead copy left become unconfirmed.
    Settle,
    /// Send the messages held for credits, as far as the balance goes.
    SendHeld,
}

/// Where a copy of a run starts: a run whose audience is all planned has only its held and
/// queued messages left.
pub fn first_phase(audience_done: bool) -> Phase {
    if audience_done {
        Phase::Settle
    } else {
        Phase::Walk
    }
}

/// What a phase found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// Walk: every page of the audience is done.
    AudienceDone,
    /// Walk: the campaign was cancelled (or deleted) while the run was sending.
    Cancelled,
    /// Walk: the audience can no longer be read (its report is gone); why.
    AudienceUnavailable(StopReason),
    /// Walk: another copy took this copy's page over; that copy finishes the run.
    TakenOver,
    /// Any phase: the invocation's time is up before the phase was done.
    OutOfTime,
    /// Settle: nothing of the run is queued; `held` messages still wait for credits.
    Settled { held: u64 },
    /// SendHeld: every held message was sent (or another copy took it).
    HeldSent,
    /// SendHeld: the balance ran out with messages still held.
    OutOfCredits,
}

/// What the run does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Another phase.
    Do(Phase),
    /// End the run as sent.
    Finish,
    /// Pause the run and its campaign for credits (a wake-up schedule looks after it).
    Pause,
    /// Schedule a continuation that resumes the run from its checkpoint.
    ContinueLater,
    /// End the run as cancelled; its held messages are not sent.
    Cancel,
    /// End the run as failed, for this reason; its held messages are not sent.
    Fail(StopReason),
    /// Nothing more for this copy: another copy of the run finishes it.
    LeaveToOtherCopy,
}

/// The next step after a phase found `found`.
pub fn next(found: Found) -> Next {
    match found {
        Found::AudienceDone | Found::HeldSent => Next::Do(Phase::Settle),
        Found::Settled { held: 0 } => Next::Finish,
        Found::Settled { .. } => Next::Do(Phase::SendHeld),
        Found::OutOfCredits => Next::Pause,
        Found::OutOfTime => Next::ContinueLater,
        Found::Cancelled => Next::Cancel,
        Found::AudienceUnavailable(reason) => Next::Fail(reason),
        Found::TakenOver => Next::LeaveToOtherCopy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_walks_its_audience_then_settles_then_finishes() {
        assert_eq!(first_phase(false), Phase::Walk);
        assert_eq!(next(Found::AudienceDone), Next::Do(Phase::Settle));
        assert_eq!(next(Found::Settled { held: 0 }), Next::Finish);
    }

    #[test]
    fn held_messages_are_sent_and_settled_again_until_credits_run_out() {
        assert_eq!(first_phase(true), Phase::Settle);
        assert_eq!(next(Found::Settled { held: 3 }), Next::Do(Phase::SendHeld));
        assert_eq!(next(Found::HeldSent), Next::Do(Phase::Settle));
        assert_eq!(next(Found::OutOfCredits), Next::Pause);
    }

    #[test]
    fn time_running_out_in_any_phase_hands_over_to_a_continuation() {
        assert_eq!(next(Found::OutOfTime), Next::ContinueLater);
    }

    #[test]
    fn a_run_stops_when_cancelled_or_its_audience_is_gone_and_leaves_a_taken_page() {
        assert_eq!(next(Found::Cancelled), Next::Cancel);
        assert_eq!(
            next(Found::AudienceUnavailable(StopReason::ReportDeleted)),
            Next::Fail(StopReason::ReportDeleted)
        );
        assert_eq!(next(Found::TakenOver), Next::LeaveToOtherCopy);
    }
}
