//! Buying credits by card: `POST /credits/payment-method` saves the Stripe payment method an
//! account is charged with, `POST /credits/purchases` charges it through Stripe's PaymentIntents
//! and adds the credits only when the payment succeeded.
//!
//! Each credit account has its own Stripe Customer: a card is saved only by attaching it to
//! that Customer (one attached to any other is refused), and every charge names the Customer,
//! so no clinic can save or charge a card that is not its own.
//!
//! A purchase is claimed under its `Idempotency-Key` before the card is charged, the key is
//! passed on to Stripe (scoped to the clinic and account, so two clinics' `buy-1` are two
//! purchases), and the credits are added in the same transaction that marks it succeeded: a
//! retried purchase charges once and adds its credits once.

use super::credits::named_account;
use super::load_clinic;
use crate::store::SavedPaymentMethod;
use crate::store::TxError;
use crate::stripe::{Attached, Charge, ChargeOutcome, Stripe};
use crate::{App, ServiceError, ids};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tidings_domain::FieldError;
use tidings_domain::credits::{EntryKind, LedgerEntry};
use tidings_domain::digest::sha256_hex;
use tidings_domain::purchase::{Purchase, PurchaseInput, PurchaseStatus};

/// `POST /credits/payment-method`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentMethodInput {
    pub account: Option<String>,
    /// A Stripe payment method id (`pm_…`), saved with Stripe by the client.
    pub payment_method_id: Option<String>,
}

fn stripe(app: &App) -> Result<&Stripe, ServiceError> {
    app.stripe
        .as_ref()
        .ok_or(ServiceError::PaymentUnavailable(None))
}

/// Saves the payment method an account is charged with, after Stripe confirms it exists.
pub async fn set_payment_method(
    app: &App,
    clinic_id: &str,
    input: PaymentMethodInput,
) -> Result<SavedPaymentMethod, ServiceError> {
    let id = input.payment_method_id.unwrap_or_default();
    let id = id.trim();
    if !id.starts_with("pm_")
        || id.len() > 255
        || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(FieldError::new(
            "payment_method_id",
            "invalid",
            "payment_method_id must be a Stripe payment method id (pm_…)",
        )
        .into());
    }
    load_clinic(&app.store, clinic_id).await?;
    let account = named_account(&app.store, clinic_id, input.account.as_deref()).await?;
    let stripe = stripe(app)?;
    let unavailable = |e| ServiceError::PaymentUnavailable(Some(e));
    let found = stripe
        .payment_method(id)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| {
            FieldError::new(
                "payment_method_id",
                "not_found",
                "Stripe has no such payment method",
            )
        })?;
    // Refused before anything is made or written: a card attached to any Customer but this
    // account's is another's.
    let ours = app.store.stripe_customer(clinic_id, &account).await?;
    match found.customer.as_deref() {
        Some(c) if Some(c) == ours.as_deref() => {}
        Some(_) => {
            tracing::warn!(
                clinic_id,
                account,
                "payment method of another customer refused"
            );
            return Err(FieldError::new(
                "payment_method_id",
                "attached_elsewhere",
                "this payment method belongs to another customer; save a new card for this account",
            )
            .into());
        }
        None => {
            let customer = customer_of(app, clinic_id, &account).await?;
            if let Attached::Refused { reason } =
                stripe.attach(id, &customer).await.map_err(unavailable)?
            {
                return Err(FieldError::new("payment_method_id", "refused", reason).into());
            }
        }
    }
    let pm = SavedPaymentMethod {
        account,
        payment_method_id: id.to_owned(),
        brand: found.card.brand,
        last4: found.card.last4,
        updated_at: app.now(),
    };
    app.store.put_payment_method(clinic_id, &pm).await?;
    Ok(pm)
}

/// The account's Stripe Customer, made the first time it is needed. Stripe's idempotency key
/// names the account, so concurrent first saves make one Customer; the first one recorded
/// stays the account's.
async fn customer_of(app: &App, clinic_id: &str, account: &str) -> Result<String, ServiceError> {
    let store = &app.store;
    if let Some(c) = store.stripe_customer(clinic_id, account).await? {
        return Ok(c);
    }
    let made = stripe(app)?
        .create_customer(
            &format!("tidings-customer-{clinic_id}-{account}"),
            &[("clinic_id", clinic_id), ("account", account)],
        )
        .await
        .map_err(|e| ServiceError::PaymentUnavailable(Some(e)))?;
    if store.put_stripe_customer(clinic_id, account, &made).await? {
        return Ok(made);
    }
    store
        .stripe_customer(clinic_id, account)
        .await?
        .ok_or(ServiceError::NotFound("customer"))
}

/// What a purchase request came to.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct PurchaseOutcome {
    #[serde(flatten)]
    pub purchase: Purchase,
    /// True when this answers a retry of an earlier request with the same key.
    #[serde(skip)]
    pub replayed: bool,
}

/// `POST /credits/purchases`.
pub async fn purchase(
    app: &App,
    clinic_id: &str,
    input: PurchaseInput,
    body: &[u8],
    key: Option<&str>,
) -> Result<PurchaseOutcome, ServiceError> {
    let store = &app.store;
    let req = input.validate(&app.config.prices)?;
    load_clinic(store, clinic_id).await?;
    let account = named_account(store, clinic_id, Some(&req.account)).await?;
    let body_hash = sha256_hex(body);
    let claim_key = match key {
        Some(k) => sha256_hex(k.as_bytes()),
        None => ids::new_id(),
    };
    let pm = store
        .payment_method(clinic_id, &account)
        .await?
        .ok_or_else(|| {
            FieldError::new(
                "account",
                "no_payment_method",
                "this account has no payment method: POST /credits/payment-method first",
            )
        })?;
    let stripe = stripe(app)?;
    let customer = customer_of(app, clinic_id, &pm.account).await?;
    let now = app.now();
    let fresh = Purchase {
        id: ids::new_id(),
        account,
        credits: req.credits,
        amount: req.amount,
        currency: req.currency,
        status: PurchaseStatus::Pending,
        reason: None,
        payment_intent: None,
        reversed_credits: 0,
        body_hash: body_hash.clone(),
        created_at: now,
        updated_at: now,
    };
    let p = if store.claim_purchase(clinic_id, &claim_key, &fresh).await? {
        tracing::info!(
            clinic_id,
            purchase_id = fresh.id,
            credits = fresh.credits,
            "purchase claimed"
        );
        fresh
    } else {
        let earlier = store
            .get_purchase(clinic_id, &claim_key)
            .await?
            .ok_or(ServiceError::NotFound("purchase"))?;
        if earlier.body_hash != body_hash {
            return Err(ServiceError::conflict(
                "idempotency_key_reused",
                Some("Idempotency-Key"),
                "this Idempotency-Key was used for a different purchase",
            ));
        }
        match earlier.status {
            PurchaseStatus::Succeeded => {
                return Ok(PurchaseOutcome {
                    purchase: earlier,
                    replayed: true,
                });
            }
            PurchaseStatus::Failed => {
                return Err(ServiceError::PaymentDeclined {
                    reason: earlier.reason.unwrap_or_default(),
                });
            }
            // An earlier try stopped before it settled: its PaymentIntent, if it made one, is
            // asked about below instead of making another.
            PurchaseStatus::Pending => earlier,
        }
    };
    let charge = Charge {
        amount: p.amount,
        currency: &p.currency,
        customer: &customer,
        payment_method: &pm.payment_method_id,
        idempotency_key: &stripe_key(clinic_id, &p.account, &claim_key),
        metadata: &[
            ("clinic_id", clinic_id),
            ("purchase_id", &p.id),
            ("purchase_key", &claim_key),
            ("account", &p.account),
        ],
    };
    let unavailable = |e| ServiceError::PaymentUnavailable(Some(e));
    // Reconciled with Stripe before any new charge: a PaymentIntent an earlier try noted may
    // have been confirmed (the card charged) by a function that died before settling.
    if let Some(pi) = p.payment_intent.clone() {
        if let Some(outcome) = stripe.outcome_of(&pi).await.map_err(unavailable)? {
            tracing::info!(
                clinic_id,
                purchase_id = p.id,
                "purchase reconciled with Stripe"
            );
            return settle(app, clinic_id, &claim_key, p, outcome).await;
        }
        let outcome = stripe
            .confirm(&pi, &format!("{}-confirm", charge.idempotency_key))
            .await
            .map_err(unavailable)?;
        return settle(app, clinic_id, &claim_key, p, outcome).await;
    }
    let created = stripe.create_intent(&charge).await.map_err(unavailable)?;
    // Noted before the charge; a concurrent try that noted its own first is the one to confirm.
    let pi = if store
        .note_purchase_intent(clinic_id, &claim_key, &created, app.now())
        .await?
    {
        created
    } else {
        store
            .get_purchase(clinic_id, &claim_key)
            .await?
            .and_then(|p| p.payment_intent)
            .ok_or_else(|| {
                ServiceError::conflict(
                    "purchase_in_progress",
                    Some("Idempotency-Key"),
                    "another request with this Idempotency-Key is paying for it; retry shortly",
                )
            })?
    };
    let outcome = stripe
        .confirm(&pi, &format!("{}-confirm", charge.idempotency_key))
        .await
        .map_err(unavailable)?;
    settle(app, clinic_id, &claim_key, p, outcome).await
}

/// The idempotency key a purchase is charged under at Stripe: scoped to the clinic and account
/// (Stripe's keys are per platform account, so two clinics' `buy-1` must not meet there).
fn stripe_key(clinic_id: &str, account: &str, claim_key: &str) -> String {
    format!("tidings-purchase-{clinic_id}-{account}-{claim_key}")
}

/// The ledger entry of a paid purchase.
pub(crate) fn purchase_entry(
    p: &Purchase,
    payment_intent: &str,
    now: DateTime<Utc>,
) -> LedgerEntry {
    LedgerEntry {
        id: ids::new_id(),
        account: p.account.clone(),
        kind: EntryKind::Purchase,
        credits: i64::try_from(p.credits).unwrap_or(i64::MAX),
        reference: Some(payment_intent.to_owned()),
        note: Some(format!("{} {:.2}", p.currency, p.amount as f64 / 100.0)),
        created_at: now,
        spent_on: None,
    }
}

async fn settle(
    app: &App,
    clinic_id: &str,
    claim_key: &str,
    mut p: Purchase,
    outcome: ChargeOutcome,
) -> Result<PurchaseOutcome, ServiceError> {
    let store = &app.store;
    let now = app.now();
    match outcome {
        ChargeOutcome::Processing { payment_intent } => {
            // Not paid yet: Stripe's payment_intent.succeeded event adds the credits. The
            // PaymentIntent was noted before it was confirmed; noting it again is harmless.
            tracing::info!(clinic_id, purchase_id = p.id, "purchase processing");
            store
                .note_purchase_intent(clinic_id, claim_key, &payment_intent, now)
                .await?;
            p.payment_intent = Some(payment_intent);
            p.updated_at = now;
            Ok(PurchaseOutcome {
                purchase: p,
                replayed: false,
            })
        }
        ChargeOutcome::Succeeded { payment_intent } => {
            let entry = purchase_entry(&p, &payment_intent, now);
            match store
                .complete_purchase(clinic_id, claim_key, &payment_intent, &entry, now, None)
                .await
            {
                Ok(()) => {
                    tracing::info!(clinic_id, purchase_id = p.id, "purchase succeeded");
                    p.status = PurchaseStatus::Succeeded;
                    p.payment_intent = Some(payment_intent);
                    p.updated_at = now;
                    Ok(PurchaseOutcome {
                        purchase: p,
                        replayed: false,
                    })
                }
                // Settled meanwhile by a concurrent retry: answer with what it stored.
                Err(TxError::Condition(())) => Ok(PurchaseOutcome {
                    purchase: store
                        .get_purchase(clinic_id, claim_key)
                        .await?
                        .ok_or(ServiceError::NotFound("purchase"))?,
                    replayed: true,
                }),
                Err(TxError::Store(e)) => Err(e.into()),
            }
        }
        ChargeOutcome::Declined { reason } => {
            tracing::warn!(clinic_id, purchase_id = p.id, "purchase declined");
            match store
                .fail_purchase(clinic_id, claim_key, &reason, now, None)
                .await
            {
                Ok(()) | Err(TxError::Condition(())) => {}
                Err(TxError::Store(e)) => return Err(e.into()),
            }
            Err(ServiceError::PaymentDeclined { reason })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripe_keys_differ_by_clinic_and_account() {
        let claim = sha256_hex(b"buy-1");
        let a = stripe_key("clinic-a", "group", &claim);
        assert_ne!(a, stripe_key("clinic-b", "group", &claim));
        assert_ne!(a, stripe_key("clinic-a", "practitioner:p1", &claim));
        assert_eq!(a, stripe_key("clinic-a", "group", &claim));
        assert!(a.len() <= 255, "Stripe's limit on idempotency keys");
    }
}
