//! Automatic top-up: `GET|PUT /credits/auto-top-up`, and the check after every debit. When an
//! account falls below its threshold, one top-up of the configured credits is bought with its
//! saved payment method: a lease on the settings lets one run at a time, and the balance is read
//! again under the lease, so concurrent debits buy once. A failed top-up is recorded and
//! notified, and top-ups stay off until the settings are saved again (no retry loop).

use super::purchases;
use crate::{App, ServiceError, ids};
use chrono::Duration;
use tidings_domain::FieldError;
use tidings_domain::credits::{AutoTopUp, AutoTopUpInput, GROUP_ACCOUNT, parse_account};
use tidings_domain::digest::sha256_hex;
use tidings_domain::notification::{Notification, NotificationKind};
use tidings_domain::purchase::PurchaseInput;

/// How long one top-up may hold the account's lease (longer than a Stripe call).
const LEASE_SECS: i64 = 120;

/// `GET /credits/auto-top-up?account=`.
pub async fn get(
    app: &App,
    clinic_id: &str,
    account: Option<&str>,
) -> Result<AutoTopUp, ServiceError> {
    let account = match account {
        Some(a) => parse_account("account", a)?,
        None => GROUP_ACCOUNT.to_owned(),
    };
    app.store
        .auto_top_up(clinic_id, &account)
        .await?
        .ok_or(ServiceError::NotFound("auto top-up"))
}

/// `PUT /credits/auto-top-up`: saving also clears a recorded failure.
pub async fn put(
    app: &App,
    clinic_id: &str,
    input: AutoTopUpInput,
) -> Result<AutoTopUp, ServiceError> {
    let t = input.validate(app.now())?;
    super::load_clinic(&app.store, clinic_id).await?;
    super::credits::named_account(&app.store, clinic_id, Some(&t.account)).await?;
    if app
        .store
        .payment_method(clinic_id, &t.account)
        .await?
        .is_none()
    {
        return Err(FieldError::new(
            "account",
            "no_payment_method",
            "this account has no payment method: POST /credits/payment-method first",
        )
        .into());
    }
    app.store.put_auto_top_up(clinic_id, &t).await?;
    Ok(t)
}

/// After a debit of `account`: tops it up when it fell below its threshold. Never fails the
/// caller; what goes wrong is logged (and a failed charge recorded and notified).
pub async fn after_debit(app: &App, clinic_id: &str, account: &str) {
    if let Err(e) = check(app, clinic_id, account).await {
        tracing::error!(clinic_id, account, error = %e, "auto top-up check failed");
    }
}

async fn check(app: &App, clinic_id: &str, account: &str) -> Result<(), ServiceError> {
    let store = &app.store;
    let Some(t) = store.auto_top_up(clinic_id, account).await? else {
        return Ok(());
    };
    if !t.enabled
        || t.failed_at.is_some()
        || store.credit_balance(clinic_id, account).await? >= t.threshold
    {
        return Ok(());
    }
    let now = app.now();
    let Some(seq) = store
        .take_top_up_lease(clinic_id, account, now, now + Duration::seconds(LEASE_SECS))
        .await?
    else {
        return Ok(());
    };
    // The key names this top-up (the settings saved, and how many top-ups ended since), not
    // this try: when an invocation died after Stripe charged and before the credits were
    // recorded, the next one finds the same pending purchase and asks Stripe again under the
    // same idempotency key, which answers with that charge instead of making a second.
    let key = format!(
        "auto-top-up-{account}-{}-{seq}",
        t.updated_at.timestamp_micros()
    );
    // Under the lease: a top-up that finished meanwhile has raised the balance already.
    if store.credit_balance(clinic_id, account).await? >= t.threshold
        && store
            .get_purchase(clinic_id, &sha256_hex(key.as_bytes()))
            .await?
            .is_none()
    {
        store.end_top_up(clinic_id, account, None).await?;
        return Ok(());
    }
    let input = PurchaseInput {
        account: Some(account.to_owned()),
        credits: Some(t.credits),
        amount: None,
        currency: None,
    };
    let result = purchases::purchase(app, clinic_id, input, key.as_bytes(), Some(&key)).await;
    match result {
        Ok(p) => {
            tracing::info!(
                clinic_id,
                account,
                purchase_id = p.purchase.id,
                "auto top-up"
            );
            store.end_top_up(clinic_id, account, None).await?;
        }
        Err(e) => {
            let why = match &e {
                ServiceError::PaymentDeclined { reason } => {
                    format!("the card was declined: {reason}")
                }
                ServiceError::PaymentUnavailable(_) => "card payments were unavailable".to_owned(),
                ServiceError::Invalid(f) => f.message.clone(),
                _ => "the top-up could not be made".to_owned(),
            };
            tracing::warn!(clinic_id, account, "auto top-up failed");
            store
                .end_top_up(clinic_id, account, Some((&why, now)))
                .await?;
            store
                .add_notification(
                    clinic_id,
                    &Notification::about_account(
                        ids::new_id(),
                        NotificationKind::TopUpFailed,
                        account,
                        format!(
                            "Automatic top-up of {} credits failed: {why}. Top-ups are off until the settings are saved again.",
                            t.credits
                        ),
                        now,
                    ),
                )
                .await?;
        }
    }
    Ok(())
}
