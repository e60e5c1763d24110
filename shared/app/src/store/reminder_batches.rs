//! Reminder batches (`REMINDER_BATCH#<id>`): the reminders one sweep sends from one account,
//! paid for at once.
//!
//! A batch is reserved in one transaction: the credits of every message it plans, their ledger
//! entry, and the batch item naming each planned message (its id, credits and who it is for).
//! Each message is then claimed on its own by putting it, `queued`, under its id, only if
//! absent (a reminder's ids follow from what it is for, so a second sweep's claim fails). The
//! batch is on the open-send index (`gsi3`) and on its clinic's open batches (`gsi2`) until it
//! closes: closing gives back the credits of the planned messages it did not claim and deletes
//! the item, in one transaction. A batch whose function died is closed by the open-send sweep,
//! which reads its planned messages to tell which were claimed.

use super::{Store, StoreError, TxError, from_item, keys, s, to_item};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tidings_domain::credits::LedgerEntry;
use tidings_domain::message::Message;

/// The attribute of a message that names the batch that claimed it.
const BATCH_ATTR: &str = "reminder_batch_id";

/// One message a batch plans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    pub id: String,
    pub credits: u32,
    pub patient_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
}

/// A reserved batch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReminderBatch {
    pub id: String,
    /// The account its credits came from.
    pub account: String,
    pub planned: Vec<Planned>,
    pub created_at: DateTime<Utc>,
}

impl ReminderBatch {
    /// The credits it reserved.
    pub fn reserved(&self) -> i64 {
        self.planned.iter().map(|p| i64::from(p.credits)).sum()
    }
}

/// Why a batch's reservation was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchReservation {
    /// The account has less than the batch's credits.
    Short,
    /// The batch or its ledger entry was written before.
    Duplicate,
}

/// Why a message's claim did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimed {
    Now,
    /// The message was claimed before (another sweep, or before a crash).
    Before,
}

impl Store {
    /// Takes the batch's credits (`debit`, when it costs anything), writes the ledger entry and
    /// the batch, open, in one transaction.
    pub async fn reserve_batch(
        &self,
        clinic_id: &str,
        batch: &ReminderBatch,
        debit: Option<&LedgerEntry>,
    ) -> Result<(), TxError<BatchReservation>> {
        let mut item = to_item(batch)?;
        item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
        item.insert("sk".into(), s(keys::reminder_batch_sk(&batch.id)));
        // Open on the wall clock, as every lease is (see `Store::claim_send`).
        let shard = keys::open_send_shard(&batch.id);
        item.insert("gsi3pk".into(), s(keys::open_sends_gsi(shard)));
        item.insert(
            "gsi3sk".into(),
            s(super::unconfirmed::open_send_sk(&self.now())),
        );
        item.insert(
            "gsi2pk".into(),
            s(keys::open_reminder_batches_gsi(clinic_id)),
        );
        item.insert("gsi2sk".into(), s(&batch.id));
        let mut tx = vec![(
            self.tx_put(item, "attribute_not_exists(pk)", None)?,
            BatchReservation::Duplicate,
        )];
        if let Some(entry) = debit {
            tx.push((
                self.tx_take_credits(clinic_id, &entry.account, -entry.credits)?,
                BatchReservation::Short,
            ));
            tx.push((
                self.tx_ledger(clinic_id, entry)?,
                BatchReservation::Duplicate,
            ));
        }
        self.transact(tx).await
    }

    /// Claims one planned message for batch `batch_id` (`None`: a reminder recorded skipped,
    /// which needs none): puts it if absent, naming the batch. A queued message joins its
    /// patient's history when it is sent or fails (as a campaign's does); one recorded skipped
    /// joins it now.
    pub async fn claim_batch_message(
        &self,
        clinic_id: &str,
        batch_id: Option<&str>,
        m: &Message,
    ) -> Result<Claimed, StoreError> {
        let mut item = super::messages::claim_item(clinic_id, m)?;
        if let Some(id) = batch_id {
            item.insert(BATCH_ATTR.into(), s(id));
        }
        Ok(
            if self.put_if(item, "attribute_not_exists(pk)", None).await? {
                Claimed::Now
            } else {
                Claimed::Before
            },
        )
    }

    /// Closes the batch: gives back `refund` (the credits of the planned messages it did not
    /// claim) and deletes it, in one transaction (a delete alone when there is nothing to give
    /// back); `Ok(false)` if it was closed before.
    pub async fn close_batch(
        &self,
        clinic_id: &str,
        batch_id: &str,
        refund: Option<&LedgerEntry>,
    ) -> Result<bool, StoreError> {
        let (pk, sk) = (
            keys::clinic_pk(clinic_id),
            keys::reminder_batch_sk(batch_id),
        );
        let Some(entry) = refund else {
            return self.delete_if(pk, sk, "attribute_exists(pk)").await;
        };
        let tx = vec![
            (self.tx_delete(pk, sk, "attribute_exists(pk)", None)?, ()),
            (
                self.tx_add_credits(clinic_id, &entry.account, entry.credits)?,
                (),
            ),
            (self.tx_ledger(clinic_id, entry)?, ()),
        ];
        match self.transact(tx).await {
            Ok(()) => Ok(true),
            Err(TxError::Condition(())) => Ok(false),
            Err(TxError::Store(e)) => Err(e),
        }
    }

    pub async fn get_batch(
        &self,
        clinic_id: &str,
        batch_id: &str,
    ) -> Result<Option<ReminderBatch>, StoreError> {
        self.get(
            keys::clinic_pk(clinic_id),
            keys::reminder_batch_sk(batch_id),
        )
        .await?
        .map(from_item)
        .transpose()
    }

    /// A planned message as stored, with the batch that claimed it (`None`: a single send's
    /// transaction did, or it was never claimed by a batch).
    pub async fn batch_message(
        &self,
        clinic_id: &str,
        id: &str,
    ) -> Result<Option<(Message, Option<String>)>, StoreError> {
        let Some(item) = self
            .get(keys::clinic_pk(clinic_id), keys::message_sk(id))
            .await?
        else {
            return Ok(None);
        };
        let batch = item.get(BATCH_ATTR).and_then(|v| v.as_s().ok()).cloned();
        Ok(Some((from_item(item)?, batch)))
    }

    /// The ids of the clinic's open batches (sending now, or left by a function that died).
    pub async fn open_batch_ids(&self, clinic_id: &str) -> Result<Vec<String>, StoreError> {
        self.gsi2_sort_keys(keys::open_reminder_batches_gsi(clinic_id))
            .await
    }
}
