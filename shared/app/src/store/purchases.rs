//! Saved payment methods (`PAYMENT_METHOD#<account>`) and purchases of credits
//! (`PURCHASE#<key>`): a purchase is claimed before the card is charged, and its credits are
//! added in the same transaction that marks it succeeded, so they are added once.

use super::{Item, Store, StoreError, TxError, attr, from_item, keys, s, status_name, to_item, ts};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tidings_domain::credits::LedgerEntry;
use tidings_domain::purchase::{Purchase, PurchaseStatus};

/// The card an account is charged with (only Stripe's ids and what it shows of the card).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPaymentMethod {
    pub account: String,
    pub payment_method_id: String,
    pub brand: Option<String>,
    pub last4: Option<String>,
    pub updated_at: DateTime<Utc>,
}

impl Store {
    pub async fn put_payment_method(
        &self,
        clinic_id: &str,
        pm: &SavedPaymentMethod,
    ) -> Result<(), StoreError> {
        let mut item = to_item(pm)?;
        item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
        item.insert("sk".into(), s(keys::payment_method_sk(&pm.account)));
        self.put(item).await
    }

    pub async fn payment_method(
        &self,
        clinic_id: &str,
        account: &str,
    ) -> Result<Option<SavedPaymentMethod>, StoreError> {
        self.get(keys::clinic_pk(clinic_id), keys::payment_method_sk(account))
            .await?
            .map(from_item)
            .transpose()
    }

    /// The Stripe Customer of the account, if it has one.
    pub async fn stripe_customer(
        &self,
        clinic_id: &str,
        account: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .get(
                keys::clinic_pk(clinic_id),
                keys::stripe_customer_sk(account),
            )
            .await?
            .and_then(|i| i.get("customer_id").and_then(|v| v.as_s().ok()).cloned()))
    }

    /// Records the account's Customer unless it has one; `Ok(false)` if it had.
    pub async fn put_stripe_customer(
        &self,
        clinic_id: &str,
        account: &str,
        customer_id: &str,
    ) -> Result<bool, StoreError> {
        let item = Item::from([
            ("pk".to_owned(), s(keys::clinic_pk(clinic_id))),
            ("sk".to_owned(), s(keys::stripe_customer_sk(account))),
            ("customer_id".to_owned(), s(customer_id)),
        ]);
        self.put_if(item, "attribute_not_exists(pk)", None).await
    }

    /// Stores a new purchase as `pending`; `Ok(false)` if one with this key exists.
    pub async fn claim_purchase(
        &self,
        clinic_id: &str,
        key: &str,
        p: &Purchase,
    ) -> Result<bool, StoreError> {
        let mut item = to_item(p)?;
        item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
        item.insert("sk".into(), s(keys::purchase_sk(key)));
        self.put_if(item, "attribute_not_exists(pk)", None).await
    }

    pub async fn get_purchase(
        &self,
        clinic_id: &str,
        key: &str,
    ) -> Result<Option<Purchase>, StoreError> {
        self.get(keys::clinic_pk(clinic_id), keys::purchase_sk(key))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Marks a pending purchase succeeded and adds its credits with their ledger entry, in one
    /// transaction; `Err(Condition)` when it was no longer pending (settled by another call).
    pub async fn complete_purchase(
        &self,
        clinic_id: &str,
        key: &str,
        payment_intent: &str,
        entry: &LedgerEntry,
        at: DateTime<Utc>,
    ) -> Result<(), TxError<()>> {
        let values = Item::from([
            (":done".to_owned(), attr(&PurchaseStatus::Succeeded)?),
            (":pending".to_owned(), attr(&PurchaseStatus::Pending)?),
            (":pi".to_owned(), s(payment_intent)),
            (":at".to_owned(), ts(&at)),
        ]);
        let update = self.tx_update_named(
            keys::clinic_pk(clinic_id),
            keys::purchase_sk(key),
            "SET #s = :done, payment_intent = :pi, updated_at = :at",
            Some("#s = :pending"),
            status_name(),
            values,
        )?;
        self.transact(vec![
            (update, ()),
            (
                self.tx_add_credits(clinic_id, &entry.account, entry.credits)?,
                (),
            ),
            (self.tx_ledger(clinic_id, entry)?, ()),
        ])
        .await
    }

    /// Marks a pending purchase failed with the card's reason.
    pub async fn fail_purchase(
        &self,
        clinic_id: &str,
        key: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<(), TxError<()>> {
        let values = Item::from([
            (":failed".to_owned(), attr(&PurchaseStatus::Failed)?),
            (":pending".to_owned(), attr(&PurchaseStatus::Pending)?),
            (":reason".to_owned(), s(reason)),
            (":at".to_owned(), ts(&at)),
        ]);
        let update = self.tx_update_named(
            keys::clinic_pk(clinic_id),
            keys::purchase_sk(key),
            "SET #s = :failed, reason = :reason, updated_at = :at",
            Some("#s = :pending"),
            status_name(),
            values,
        )?;
        self.transact(vec![(update, ())]).await
    }
}
