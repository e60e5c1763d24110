//! A sweep's reminders, sent as batches. The reminders a sweep finds due in one window are
//! planned first (collected); then each paying account's are paid for at once, and each
//! reminder is claimed by putting its messages one by one, each only if absent, instead of one
//! transaction a reminder (see `store::reminder_batches` for the items).
//!
//! A reminder's message ids follow from what it is for and when it fell due
//! ([`super::automatic::Automatic::due`]), so its first message is its claim whichever path
//! sends it: a batch, or a single send (a lone reminder, an at-creation reminder, or an account
//! that cannot pay for a whole batch), whose transaction puts the same ids only if absent.
//!
//! A batch reserves its credits before any claim and gives back, when it closes, those of the
//! messages it did not claim (sent by another sweep, or left for the next one by the rate). A
//! function that dies mid-batch leaves it open: the open-send sweep closes it
//! ([`close_abandoned`]), turning its claimed messages still queued `unconfirmed` and giving
//! back the credits of those it never claimed.

use super::automatic::{PlannedSend, Tally, deliver_all, send_planned, top_up_if};
use super::pacing::Pacer;
use super::sending::mark_unconfirmed;
use crate::store::{BatchReservation, Claimed, Planned, ReminderBatch, StoreError, TxError};
use crate::{App, ServiceError};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::Mutex;
use tidings_domain::clinic::Clinic;
use tidings_domain::credits::{EntryKind, LedgerEntry, Spend};
use tidings_domain::message::Status;

/// Reminders claimed and sent at once within one batch.
const CONCURRENCY: usize = 8;
/// Most reminders in one batch (its item names each message it plans). A sweep plans a window's
/// reminders this many at a time, so its first send does not wait for the whole window's
/// planning; the batch's own writes (10 to 13 units) are shared by as many.
pub(crate) const MAX_SENDS: usize = 50;

/// Where a sweep collects the reminders it plans.
#[derive(Default)]
pub(crate) struct Collector(Mutex<Vec<PlannedSend>>);

impl Collector {
    pub(crate) fn collect(&self, p: PlannedSend) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(p);
    }

    fn take(&self) -> Vec<PlannedSend> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Sends what `collector` holds, paced by `pacer`: per paying account, batches of up to
/// [`MAX_SENDS`] reminders. One tally a reminder.
pub(crate) async fn send_collected(
    app: &App,
    clinic: &Clinic,
    collector: &Collector,
    pacer: &Pacer,
) -> Result<Vec<Tally>, ServiceError> {
    let mut by_account: BTreeMap<String, Vec<PlannedSend>> = BTreeMap::new();
    for p in collector.take() {
        by_account.entry(p.account.clone()).or_default().push(p);
    }
    let mut tallies = Vec::new();
    for (account, sends) in by_account {
        let mut sends = sends.into_iter();
        loop {
            let part: Vec<PlannedSend> = sends.by_ref().take(MAX_SENDS).collect();
            if part.is_empty() {
                break;
            }
            tallies.extend(send_batch(app, clinic, &account, part, pacer).await?);
        }
    }
    Ok(tallies)
}

/// One batch: reserved, each reminder claimed and delivered, then closed.
async fn send_batch(
    app: &App,
    clinic: &Clinic,
    account: &str,
    sends: Vec<PlannedSend>,
    pacer: &Pacer,
) -> Result<Vec<Tally>, ServiceError> {
    let planned: Vec<Planned> = sends
        .iter()
        .flat_map(|p| &p.messages)
        .filter(|m| m.status == Status::Queued)
        .map(|m| Planned {
            id: m.id.clone(),
            credits: m.credits,
            patient_id: m.patient_id.clone(),
            contact_id: m.contact_id.clone(),
        })
        .collect();
    if planned.is_empty() {
        // Nothing for a provider (all skipped, say in quiet hours): each is recorded once.
        return each(sends, |p| async move {
            Ok(send_one(app, clinic, None, p, pacer).await?.0)
        })
        .await;
    }
    // A lone reminder costs less as a single send than a batch's reservation and close.
    let Some(first) = sends.first().filter(|_| sends.len() > 1) else {
        return one_by_one(app, clinic, sends, pacer).await;
    };
    let now = first.now;
    let batch = ReminderBatch {
        id: crate::ids::new_id(),
        account: account.to_owned(),
        planned,
        created_at: now,
    };
    let reserved = batch.reserved();
    let debit = (reserved > 0).then(|| LedgerEntry {
        id: crate::ids::new_id(),
        account: account.to_owned(),
        kind: EntryKind::Debit,
        credits: -reserved,
        reference: Some(batch.id.clone()),
        note: Some(format!(
            "{} {}",
            batch.planned.len(),
            first.category.as_str()
        )),
        created_at: now,
        spent_on: Some(Spend::Reminder),
    });
    let store = &app.store;
    match store
        .reserve_batch(&clinic.id, &batch, debit.as_ref())
        .await
    {
        Ok(()) => {}
        // Each reminder then claims what it costs on its own; those the account cannot pay
        // for are recorded skipped (`insufficient_credits`), once.
        Err(TxError::Condition(BatchReservation::Short)) => {
            return one_by_one(app, clinic, sends, pacer).await;
        }
        Err(TxError::Condition(BatchReservation::Duplicate)) => {
            return Err(StoreError::Collision.into());
        }
        Err(TxError::Store(e)) => return Err(e.into()),
    }
    let sending = futures::stream::iter(sends)
        .map(|p| send_one(app, clinic, Some(&batch.id), p, pacer))
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>();
    let (results, ()) = tokio::join!(sending, top_up_if(reserved > 0, app, clinic, account));
    let mut tallies = Vec::with_capacity(results.len());
    let mut used = 0i64;
    for r in results {
        // A claim that failed leaves the batch open: the open-send sweep settles it from what
        // is stored.
        let (t, credits) = r?;
        tallies.push(t);
        used = used.saturating_add(credits);
    }
    let refund = refund(&batch, reserved.saturating_sub(used));
    if let Err(e) = store
        .close_batch(&clinic.id, &batch.id, refund.as_ref())
        .await
    {
        tracing::warn!(clinic_id = clinic.id, batch_id = batch.id, error = %e, "reminder batch not closed: the open-send sweep will");
    }
    tracing::info!(
        clinic_id = clinic.id,
        batch_id = batch.id,
        reminders = tallies.len(),
        reserved,
        used,
        "reminder batch"
    );
    Ok(tallies)
}

/// Claims and delivers one reminder of a batch (`None`: one with nothing to pay for or hand
/// over), once its messages' turns in the account's rate have come: what became of it, and the
/// credits of the messages it claimed.
async fn send_one(
    app: &App,
    clinic: &Clinic,
    batch_id: Option<&str>,
    p: PlannedSend,
    pacer: &Pacer,
) -> Result<(Tally, i64), ServiceError> {
    for m in p.messages.iter().filter(|m| m.status == Status::Queued) {
        if !pacer.turn(m.channel).await {
            return Ok((Tally::DEFERRED, 0));
        }
    }
    let mut claimed = Vec::with_capacity(p.messages.len());
    let mut credits = 0i64;
    for (i, m) in p.messages.into_iter().enumerate() {
        match app
            .store
            .claim_batch_message(&clinic.id, batch_id, &m)
            .await?
        {
            Claimed::Now => {
                if m.status == Status::Queued {
                    credits = credits.saturating_add(i64::from(m.credits));
                }
                claimed.push(m);
            }
            // The first message is the reminder's claim: another sweep has it.
            Claimed::Before if i == 0 => {
                let already = Tally {
                    already: 1,
                    ..Tally::default()
                };
                return Ok((already, 0));
            }
            Claimed::Before => {}
        }
    }
    let t = deliver_all(app, clinic, claimed).await;
    tracing::info!(
        clinic_id = clinic.id,
        batch_id,
        request_id = p.request_id,
        sent = t.sent,
        skipped = t.skipped,
        "reminder"
    );
    Ok((t, credits))
}

/// Each reminder as a single send (its own claim transaction and debit).
async fn one_by_one(
    app: &App,
    clinic: &Clinic,
    sends: Vec<PlannedSend>,
    pacer: &Pacer,
) -> Result<Vec<Tally>, ServiceError> {
    each(sends, |p| send_planned(app, clinic, p, Some(pacer))).await
}

/// `send` for each reminder, [`CONCURRENCY`] at once: a tally each (the first error stops).
async fn each<F, Fut>(sends: Vec<PlannedSend>, send: F) -> Result<Vec<Tally>, ServiceError>
where
    F: FnMut(PlannedSend) -> Fut,
    Fut: std::future::Future<Output = Result<Tally, ServiceError>>,
{
    futures::stream::iter(sends)
        .map(send)
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// The ledger entry giving back `credits` of `batch` (none for 0): spent on reminders, as its
/// debit was, and dated as the debit is, so that the day's reminder spending nets out.
fn refund(batch: &ReminderBatch, credits: i64) -> Option<LedgerEntry> {
    (credits > 0).then(|| LedgerEntry {
        id: crate::ids::new_id(),
        account: batch.account.clone(),
        kind: EntryKind::Refund,
        credits,
        reference: Some(batch.id.clone()),
        note: Some("reminders the batch did not send".into()),
        created_at: batch.created_at,
        spent_on: Some(Spend::Reminder),
    })
}

/// Closes a batch whose function stopped before closing it: each message it claimed that is
/// still queued becomes `unconfirmed` with `reason` (it may have reached the provider), and the
/// credits of those it never claimed are given back. How many became unconfirmed (`None`: the
/// batch is closed already).
pub(crate) async fn close_abandoned(
    app: &App,
    clinic_id: &str,
    batch_id: &str,
    reason: &str,
) -> Result<Option<u64>, ServiceError> {
    let store = &app.store;
    let Some(batch) = store.get_batch(clinic_id, batch_id).await? else {
        return Ok(None);
    };
    let (mut unclaimed, mut unconfirmed) = (0i64, 0u64);
    for p in &batch.planned {
        match store.batch_message(clinic_id, &p.id).await? {
            Some((m, Some(by))) if by == batch.id => {
                if m.status == Status::Queued {
                    let m = mark_unconfirmed(app, clinic_id, m, None, reason).await;
                    unconfirmed += u64::from(m.status == Status::Unconfirmed);
                }
            }
            // Never claimed, or claimed (and paid for) by another send.
            _ => unclaimed = unclaimed.saturating_add(i64::from(p.credits)),
        }
    }
    let refund = refund(&batch, unclaimed);
    store
        .close_batch(clinic_id, batch_id, refund.as_ref())
        .await?;
    tracing::warn!(
        clinic_id,
        batch_id,
        unconfirmed,
        credits_given_back = unclaimed,
        "reminder batch left open by a function that stopped"
    );
    Ok(Some(unconfirmed))
}
