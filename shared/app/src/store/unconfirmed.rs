//! Messages whose outcome is unknown: a queued message whose sender stopped (or lost the
//! provider's answer) after it may have handed it over becomes `unconfirmed`, keeps its credits
//! and is never handed over again, except once when the practice asks (`resent_at`).
//!
//! Sends (`SEND#<key>`) are on the open-send index (`gsi3`, `OPEN_SENDS#<shard>`, by claim
//! time) until their function has recorded every message; the sweep finds those a dead function
//! left there.

use super::{Item, Query, Store, StoreError, attr, keys, s, ts};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use tidings_domain::message::{Status, StatusEvent};

/// A send (or a batch of them) a function claimed and has not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenSend {
    pub clinic_id: String,
    pub kind: OpenSendKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenSendKind {
    /// `SEND#<key>`: one send request.
    Send(String),
    /// `REMINDER_BATCH#<id>`: a sweep's batch (see `store::reminder_batches`).
    Batch(String),
}

impl Store {
    /// Marks a queued message `unconfirmed` with `reason`, adds that to its history and puts it
    /// in its patient's history; only while it is queued and, when `lease` is given, still under
    /// that lease (the dead copy's): `Ok(false)` if it was sent, failed or taken meanwhile.
    pub async fn mark_unconfirmed(
        &self,
        clinic_id: &str,
        (id, patient_id): (&str, &str),
        lease: Option<&DateTime<Utc>>,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = (keys::clinic_pk(clinic_id), keys::message_sk(id));
        let event = StatusEvent {
            at,
            status: Status::Unconfirmed,
            reason: Some(reason.to_owned()),
        };
        let mut values = Item::from([
            (":queued".to_owned(), attr(&Status::Queued)?),
            (":to".to_owned(), attr(&Status::Unconfirmed)?),
            (":reason".to_owned(), s(reason)),
            (":at".to_owned(), ts(&at)),
            (
                ":g".to_owned(),
                s(keys::patient_messages_gsi(clinic_id, patient_id)),
            ),
            (":id".to_owned(), s(id)),
            (":none".to_owned(), AttributeValue::L(vec![])),
            (":ev".to_owned(), AttributeValue::L(vec![attr(&event)?])),
        ]);
        let mut condition = "#s = :queued".to_owned();
        if let Some(prev) = lease {
            values.insert(":prev".to_owned(), ts(prev));
            condition.push_str(" AND lease_until = :prev");
        }
        self.update_if(
            key,
            "SET #s = :to, reason = :reason, updated_at = :at, gsi1pk = :g, gsi1sk = :id, \
             events = list_append(if_not_exists(events, :none), :ev)",
            &condition,
            values,
        )
        .await
    }

    /// Claims an unconfirmed message for the one resend the practice may ask for: queued again
    /// under a lease until `until`, with `resent_at`; `Ok(false)` if it is no longer
    /// unconfirmed or was resent before.
    pub async fn claim_resend(
        &self,
        clinic_id: &str,
        id: &str,
        at: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = (keys::clinic_pk(clinic_id), keys::message_sk(id));
        let values = Item::from([
            (":queued".to_owned(), attr(&Status::Queued)?),
            (":unconfirmed".to_owned(), attr(&Status::Unconfirmed)?),
            (":at".to_owned(), ts(&at)),
            (":until".to_owned(), ts(&until)),
        ]);
        self.update_if(
            key,
            "SET #s = :queued, resent_at = :at, lease_until = :until, updated_at = :at",
            "#s = :unconfirmed AND attribute_not_exists(resent_at)",
            values,
        )
        .await
    }

    /// Up to `limit` sends and batches on the open-send partition `shard` claimed before
    /// `before`.
    pub async fn open_sends_before(
        &self,
        shard: u8,
        before: &DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<OpenSend>, StoreError> {
        let mut q = Query::under(Some(super::GSI3), keys::open_sends_gsi(shard), "");
        q.sk_between = Some(("0".to_owned(), open_send_sk(before)));
        q.limit = limit;
        let page = self.query(&q, None).await?;
        Ok(page
            .items
            .iter()
            .filter_map(|item| {
                let pk = item.get("pk")?.as_s().ok()?;
                let sk = item.get("sk")?.as_s().ok()?;
                let kind = match sk.strip_prefix("SEND#") {
                    Some(key) => OpenSendKind::Send(key.to_owned()),
                    None => OpenSendKind::Batch(
                        sk.strip_prefix(keys::REMINDER_BATCH_PREFIX)?.to_owned(),
                    ),
                };
                Some(OpenSend {
                    clinic_id: pk.strip_prefix("CLINIC#")?.to_owned(),
                    kind,
                })
            })
            .collect())
    }

    /// Takes a send off the open-send index: every message of it is recorded.
    pub async fn close_send(&self, clinic_id: &str, send_key: &str) -> Result<(), StoreError> {
        let res = self
            .client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(keys::clinic_pk(clinic_id)))
            .key("sk", s(keys::send_sk(send_key)))
            .update_expression("REMOVE gsi3pk, gsi3sk")
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        // A send record that is gone has nothing to close.
        super::conditional(
            "UpdateItem",
            res,
            UpdateItemError::is_conditional_check_failed_exception,
        )
        .map(|_| ())
    }
}

/// The `gsi3sk` of a send claimed at `at` (fixed width, so it sorts by time).
pub(crate) fn open_send_sk(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}
