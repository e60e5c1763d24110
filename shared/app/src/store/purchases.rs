//! Saved payment methods (`PAYMENT_METHOD#<account>`) and purchases of credits
//! (`PURCHASE#<key>`): a purchase is claimed before the card is charged, and its credits are
//! added in the same transaction that marks it succeeded, so they are added once.

use super::{Item, Store, StoreError, TxError, attr, from_item, keys, s, status_name, to_item, ts};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tidings_domain::credits::LedgerEntry;
use tidings_domain::purchase::{Purchase, PurchaseStatus};

/// The card an account is charged with (only Stripe's ids and what it shows of the card).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// transaction (with the Stripe event that settled it, when one did); `Err(Condition)` when
    /// it was no longer pending (settled by another call) or the event was applied before.
    pub async fn complete_purchase(
        &self,
        clinic_id: &str,
        key: &str,
        payment_intent: &str,
        entry: &LedgerEntry,
        at: DateTime<Utc>,
        event: Option<&str>,
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
        let mut tx = vec![
            (update, ()),
            (
                self.tx_add_credits(clinic_id, &entry.account, entry.credits)?,
                (),
            ),
            (self.tx_ledger(clinic_id, entry)?, ()),
            (self.tx_payment_intent(clinic_id, key, payment_intent)?, ()),
        ];
        if let Some(e) = event {
            tx.push((self.tx_stripe_event(clinic_id, e)?, ()));
        }
        self.transact(tx).await
    }

    /// Notes the PaymentIntent created for a pending purchase, before it is confirmed, and which
    /// purchase it pays for: a later try (its function died after confirming) asks Stripe about
    /// this PaymentIntent instead of making another. `Ok(false)` when the purchase already has
    /// another PaymentIntent (a concurrent try noted its own first) or is no longer pending.
    pub async fn note_purchase_intent(
        &self,
        clinic_id: &str,
        key: &str,
        payment_intent: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let values = Item::from([
            (":pending".to_owned(), attr(&PurchaseStatus::Pending)?),
            (":pi".to_owned(), s(payment_intent)),
            (":at".to_owned(), ts(&at)),
        ]);
        let update = self.tx_update_named(
            keys::clinic_pk(clinic_id),
            keys::purchase_sk(key),
            "SET payment_intent = :pi, updated_at = :at",
            Some("#s = :pending AND (attribute_not_exists(payment_intent) OR attribute_type(payment_intent, :null) OR payment_intent = :pi)"),
            status_name(),
            {
                let mut v = values;
                v.insert(":null".to_owned(), s("NULL"));
                v
            },
        )?;
        match self
            .transact(vec![
                (update, ()),
                (self.tx_payment_intent(clinic_id, key, payment_intent)?, ()),
            ])
            .await
        {
            Ok(()) => Ok(true),
            Err(TxError::Condition(())) => Ok(false),
            Err(TxError::Store(e)) => Err(e),
        }
    }

    /// The clinic and purchase key a PaymentIntent paid for.
    pub async fn purchase_of_payment_intent(
        &self,
        payment_intent: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let item = self
            .get(
                keys::payment_intent_pk(payment_intent),
                keys::PAYMENT_INTENT_SK.into(),
            )
            .await?;
        Ok(item.and_then(|i| {
            let get = |n: &str| i.get(n).and_then(|v| v.as_s().ok()).cloned();
            Some((get("clinic_id")?, get("purchase_key")?))
        }))
    }

    fn tx_payment_intent(
        &self,
        clinic_id: &str,
        key: &str,
        payment_intent: &str,
    ) -> Result<super::TransactWriteItem, StoreError> {
        self.tx_put_any(Item::from([
            ("pk".to_owned(), s(keys::payment_intent_pk(payment_intent))),
            ("sk".to_owned(), s(keys::PAYMENT_INTENT_SK)),
            ("clinic_id".to_owned(), s(clinic_id)),
            ("purchase_key".to_owned(), s(key)),
        ]))
    }

    /// Marks a Stripe event applied to the clinic; fails (as a condition) if it was before.
    fn tx_stripe_event(
        &self,
        clinic_id: &str,
        event_id: &str,
    ) -> Result<super::TransactWriteItem, StoreError> {
        self.tx_put(
            Item::from([
                ("pk".to_owned(), s(keys::clinic_pk(clinic_id))),
                ("sk".to_owned(), s(keys::stripe_event_sk(event_id))),
            ]),
            "attribute_not_exists(pk)",
            None,
        )
    }

    /// Records a Stripe event that changes nothing, so a replay is known as one: `Ok(false)`
    /// if it was recorded before.
    pub async fn note_stripe_event(
        &self,
        clinic_id: &str,
        event_id: &str,
    ) -> Result<bool, StoreError> {
        self.put_if(
            Item::from([
                ("pk".to_owned(), s(keys::clinic_pk(clinic_id))),
                ("sk".to_owned(), s(keys::stripe_event_sk(event_id))),
            ]),
            "attribute_not_exists(pk)",
            None,
        )
        .await
    }

    /// Takes back `take` credits of a purchase whose payment was refunded or disputed, and
    /// records its reversed total, with the event, in one transaction. Fails (as a condition)
    /// when the event was applied before, the purchase's reversed total moved, or the balance
    /// fell below `take` meanwhile (the caller reads again and retries).
    pub async fn reverse_purchase(
        &self,
        clinic_id: &str,
        key: &str,
        reversed: (u64, u64),
        entry: &LedgerEntry,
        event: &str,
    ) -> Result<(), TxError<Reversal>> {
        let (before, after) = reversed;
        let take = entry.credits.saturating_neg();
        let update = self.tx_update_named(
            keys::clinic_pk(clinic_id),
            keys::purchase_sk(key),
            "SET reversed_credits = :after",
            Some("attribute_exists(pk) AND (reversed_credits = :before OR (attribute_not_exists(reversed_credits) AND :zero = :before))"),
            Default::default(),
            Item::from([
                (":after".to_owned(), super::n(after)),
                (":before".to_owned(), super::n(before)),
                (":zero".to_owned(), super::n(0)),
            ]),
        )?;
        let balance = self.tx_update_named(
            keys::clinic_pk(clinic_id),
            keys::credits_sk(&entry.account),
            "ADD balance :c",
            Some("attribute_not_exists(balance) AND :take = :zero OR balance >= :take"),
            Default::default(),
            Item::from([
                (":c".to_owned(), super::n(entry.credits)),
                (":take".to_owned(), super::n(take)),
                (":zero".to_owned(), super::n(0)),
            ]),
        )?;
        self.transact(vec![
            (self.tx_stripe_event(clinic_id, event)?, Reversal::Applied),
            (update, Reversal::Moved),
            (balance, Reversal::Moved),
            (self.tx_ledger(clinic_id, entry)?, Reversal::Moved),
        ])
        .await
    }

    /// Marks a pending purchase failed with the card's reason (with the Stripe event that
    /// reported it, when one did).
    pub async fn fail_purchase(
        &self,
        clinic_id: &str,
        key: &str,
        reason: &str,
        at: DateTime<Utc>,
        event: Option<&str>,
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
        let mut tx = vec![(update, ())];
        if let Some(e) = event {
            tx.push((self.tx_stripe_event(clinic_id, e)?, ()));
        }
        self.transact(tx).await
    }
}

/// Why a reversal did not commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reversal {
    /// The event was applied before.
    Applied,
    /// The purchase or the balance changed since they were read.
    Moved,
}
