//! What Stripe's webhook events do, once their signature is verified: a PaymentIntent that
//! succeeds pays its pending purchase, one that fails fails it, and a refund or a dispute
//! takes the purchase's credits back. Each event is applied once (its id is written in the
//! same transaction as its effect), and only to the clinic whose purchase the PaymentIntent
//! paid for.
//!
//! A reversal never takes the balance below zero: credits already spent were spent (the
//! messages went out), so a refund of 500 credits when 200 remain takes 200 and the ledger
//! entry's note says how many were already spent.

use crate::store::{Reversal, TxError};
use crate::{App, ServiceError, ids};
use serde::Serialize;
use tidings_domain::credits::{EntryKind, LedgerEntry};
use tidings_domain::purchase::{PurchaseStatus, reversed_total};
use tidings_domain::stripe_event::{Effect, Event};

/// What the webhook did with an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Applied {
    /// A pending purchase was paid or failed, or credits were taken back.
    Applied,
    /// The event was applied before.
    Replay,
    /// Nothing to do: not about a purchase of this service, or nothing left to change.
    Ignored,
}

/// How often a reversal is tried again when the balance or the purchase moved meanwhile.
const ATTEMPTS: usize = 5;

pub async fn apply(app: &App, event: &Event, effect: Effect) -> Result<Applied, ServiceError> {
    let store = &app.store;
    let pi = match &effect {
        Effect::Paid { payment_intent }
        | Effect::Failed { payment_intent, .. }
        | Effect::Reversed { payment_intent, .. } => payment_intent.clone(),
        Effect::None => return Ok(Applied::Ignored),
    };
    // The PaymentIntent names its purchase: by the record made when it was charged, or (for a
    // PaymentIntent event, whose object carries them) by the metadata Tidings gave it.
    let found = match store.purchase_of_payment_intent(&pi).await? {
        Some(f) => Some(f),
        None => {
            let m = &event.data.object.metadata;
            match (&effect, m.get("clinic_id"), m.get("purchase_key")) {
                (Effect::Paid { .. } | Effect::Failed { .. }, Some(c), Some(k)) => {
                    Some((c.clone(), k.clone()))
                }
                _ => None,
            }
        }
    };
    let Some((clinic_id, key)) = found else {
        tracing::info!(
            event_id = event.id,
            kind = event.kind,
            "Stripe event about no purchase here"
        );
        return Ok(Applied::Ignored);
    };
    let Some(p) = store.get_purchase(&clinic_id, &key).await? else {
        return Ok(Applied::Ignored);
    };
    if p.payment_intent.as_deref().is_some_and(|known| known != pi) {
        tracing::warn!(
            clinic_id,
            event_id = event.id,
            "Stripe event names another PaymentIntent of the purchase"
        );
        return Ok(Applied::Ignored);
    }
    let now = app.now();
    let once = |res: Result<(), TxError<()>>| -> Result<Applied, ServiceError> {
        match res {
            Ok(()) => Ok(Applied::Applied),
            Err(TxError::Condition(())) => Ok(Applied::Replay),
            Err(TxError::Store(e)) => Err(e.into()),
        }
    };
    let outcome = match effect {
        Effect::Paid { payment_intent } if p.status == PurchaseStatus::Pending => {
            let entry = super::purchases::purchase_entry(&p, &payment_intent, now);
            once(
                store
                    .complete_purchase(
                        &clinic_id,
                        &key,
                        &payment_intent,
                        &entry,
                        now,
                        Some(&event.id),
                    )
                    .await,
            )?
        }
        Effect::Failed { reason, .. } if p.status == PurchaseStatus::Pending => once(
            store
                .fail_purchase(&clinic_id, &key, &reason, now, Some(&event.id))
                .await,
        )?,
        Effect::Reversed { amount, refund, .. } if p.status == PurchaseStatus::Succeeded => {
            reverse(app, &clinic_id, &key, &event.id, amount, refund).await?
        }
        _ => {
            if store.note_stripe_event(&clinic_id, &event.id).await? {
                Applied::Ignored
            } else {
                Applied::Replay
            }
        }
    };
    tracing::info!(clinic_id, purchase_id = p.id, event_id = event.id, kind = event.kind, outcome = ?outcome, "Stripe event");
    Ok(outcome)
}

/// Takes back what a refund or a dispute reverses, down to a balance of zero at most.
async fn reverse(
    app: &App,
    clinic_id: &str,
    key: &str,
    event_id: &str,
    amount: u64,
    refund: bool,
) -> Result<Applied, ServiceError> {
    let store = &app.store;
    for _ in 0..ATTEMPTS {
        let Some(p) = store.get_purchase(clinic_id, key).await? else {
            return Ok(Applied::Ignored);
        };
        let after = reversed_total(&p, amount, refund);
        let due = after.saturating_sub(p.reversed_credits);
        if due == 0 {
            // Reported before (a refund's total again), or nothing left to take.
            return Ok(if store.note_stripe_event(clinic_id, event_id).await? {
                Applied::Ignored
            } else {
                Applied::Replay
            });
        }
        let balance = store.credit_balance(clinic_id, &p.account).await?.max(0);
        let take = i64::try_from(due).unwrap_or(i64::MAX).min(balance);
        let spent = i64::try_from(due).unwrap_or(i64::MAX).saturating_sub(take);
        let what = if refund { "refund" } else { "dispute" };
        let entry = LedgerEntry {
            id: ids::new_id(),
            account: p.account.clone(),
            kind: EntryKind::Reversal,
            credits: take.saturating_neg(),
            reference: p.payment_intent.clone(),
            note: Some(if spent > 0 {
                format!(
                    "{what} of purchase {}: {due} credits reversed, {spent} of them already spent",
                    p.id
                )
            } else {
                format!("{what} of purchase {}: {due} credits reversed", p.id)
            }),
            created_at: app.now(),
            spent_on: None,
        };
        match store
            .reverse_purchase(
                clinic_id,
                key,
                (p.reversed_credits, after),
                &entry,
                event_id,
            )
            .await
        {
            Ok(()) => return Ok(Applied::Applied),
            Err(TxError::Condition(Reversal::Applied)) => return Ok(Applied::Replay),
            Err(TxError::Condition(Reversal::Moved)) => continue,
            Err(TxError::Store(e)) => return Err(e.into()),
        }
    }
    Err(ServiceError::conflict(
        "concurrent_update",
        None,
        "the balance kept changing; Stripe will send the event again",
    ))
}
