//! A run's messages counted: what the run's end records and settles from. It reads what became
//! of each message, not its text.

use crate::{App, ServiceError};
use tidings_domain::campaign::Counts;
use tidings_domain::message::{Outcome, Status};

/// A run's messages counted (a page at a time), its credits net of refunds (see
/// [`Outcome::keeps_its_credits`]), and the ones still queued.
pub(super) struct Tally {
    pub(super) counts: Counts,
    pub(super) credits: i64,
    /// The credits of every message paid for out of the run's reservations (failed ones too,
    /// whose refunds are their own).
    pub(super) paid: i64,
    /// Those still queued: [`super::end::settle`] marks unconfirmed any whose lease
    /// ran out.
    pub(super) queued: Vec<Outcome>,
    /// What became of the messages, per channel, for the run's metrics.
    pub(super) by_channel: crate::metrics::MessageCounts,
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
        .each_request_outcome(clinic_id, run_id, |m| {
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
