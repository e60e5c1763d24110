//! What replies need: the reply numbers that route SMS to clinics, who a number belongs to,
//! received messages (stored once per provider id), notifications, and the
//! receipts that settle sent messages.

use super::ConsentChange;
use super::{
    GSI1, GSI2, Item, Query, SortKey, Store, StoreError, TxError, attr, from_item, keys, s,
    status_name, to_item, ts,
};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use tidings_domain::message::{Message, Status, StatusEvent};
use tidings_domain::notification::Notification;

/// What became of a received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inbound {
    Stored,
    /// The same provider message was stored before: nothing was written.
    Replay,
    /// A later consent change was already applied to the number: nothing was written, and
    /// the message is to be stored without its consent change.
    ConsentOutdated,
    /// A new id was taken (never in practice).
    Collision,
}

/// Who a number belongs to: a patient, or a contact of a patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub patient_id: String,
    pub contact_id: Option<String>,
}

pub(super) fn notification_item(clinic_id: &str, n: &Notification) -> Result<Item, StoreError> {
    let mut item = to_item(n)?;
    item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
    item.insert("sk".into(), s(keys::notification_sk(&n.id)));
    item.insert("gsi1pk".into(), s(keys::notifications_gsi(clinic_id)));
    item.insert("gsi1sk".into(), s(keys::notification_order(n.read, &n.id)));
    if let Some(patient_id) = &n.patient_id {
        let gsi2pk = keys::patient_notifications_gsi(clinic_id, patient_id);
        item.insert("gsi2pk".into(), s(gsi2pk));
        item.insert("gsi2sk".into(), s(keys::notification_sk(&n.id)));
    }
    Ok(item)
}

fn string_attr(item: &Item, name: &str) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

impl Store {
    /// The clinic whose reply number `e164` is.
    pub async fn clinic_for_number(&self, e164: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .get(keys::sms_number_pk(e164), keys::SMS_NUMBER_SK.into())
            .await?
            .and_then(|i| string_attr(&i, "clinic_id")))
    }

    /// Routes `e164` to the clinic, unless another clinic has it.
    pub(crate) fn tx_claim_number(
        &self,
        e164: &str,
        clinic_id: &str,
    ) -> Result<super::TransactWriteItem, StoreError> {
        let item = Item::from([
            ("pk".to_owned(), s(keys::sms_number_pk(e164))),
            ("sk".to_owned(), s(keys::SMS_NUMBER_SK)),
            ("clinic_id".to_owned(), s(clinic_id)),
        ]);
        self.tx_put(
            item,
            "attribute_not_exists(pk) OR clinic_id = :c",
            Some(Item::from([(":c".to_owned(), s(clinic_id))])),
        )
    }

    /// Stops routing `e164` to the clinic.
    pub(crate) fn tx_release_number(
        &self,
        e164: &str,
        clinic_id: &str,
    ) -> Result<super::TransactWriteItem, StoreError> {
        self.tx_delete(
            keys::sms_number_pk(e164),
            keys::SMS_NUMBER_SK.into(),
            "attribute_not_exists(pk) OR clinic_id = :c",
            Some(Item::from([(":c".to_owned(), s(clinic_id))])),
        )
    }

    /// The patients and contacts of the clinic with the mobile `e164` (deleted ones too: the
    /// caller checks).
    pub async fn holders_of(&self, clinic_id: &str, e164: &str) -> Result<Vec<Holder>, StoreError> {
        let q = Query::under(Some(GSI2), keys::mobile_gsi(clinic_id, e164), "");
        let keys = self.query_all::<SortKey>(q).await?;
        Ok(keys
            .into_iter()
            .filter_map(|SortKey { sk }| {
                if let Some(p) = sk.strip_prefix(keys::PATIENT_PREFIX) {
                    return Some(Holder {
                        patient_id: p.to_owned(),
                        contact_id: None,
                    });
                }
                let (p, c) = sk.strip_prefix("CONTACT#")?.split_once('#')?;
                Some(Holder {
                    patient_id: p.to_owned(),
                    contact_id: Some(c.to_owned()),
                })
            })
            .collect())
    }

    /// Stores a received message, its notifications and the consent change it asks for, all
    /// at once and once per provider message id. The duplicate check is the transaction's
    /// first condition, so a replay changes nothing, consent included.
    pub async fn record_inbound(
        &self,
        clinic_id: &str,
        provider: &str,
        provider_message_id: &str,
        m: &Message,
        notifications: &[Notification],
        consent: Option<&ConsentChange>,
    ) -> Result<Inbound, StoreError> {
        let seen = Item::from([
            ("pk".to_owned(), s(keys::clinic_pk(clinic_id))),
            (
                "sk".to_owned(),
                s(keys::inbound_sk(provider, provider_message_id)),
            ),
            ("message_id".to_owned(), s(&m.id)),
        ]);
        let mut message = to_item(m)?;
        message.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
        message.insert("sk".into(), s(keys::message_sk(&m.id)));
        if !m.patient_id.is_empty() {
            message.insert(
                "gsi1pk".into(),
                s(keys::patient_messages_gsi(clinic_id, &m.patient_id)),
            );
            message.insert("gsi1sk".into(), s(&m.id));
        }
        let mut tx = vec![
            (
                self.tx_put(seen, "attribute_not_exists(pk)", None)?,
                Inbound::Replay,
            ),
            (
                self.tx_put(message, "attribute_not_exists(pk)", None)?,
                Inbound::Collision,
            ),
        ];
        for n in notifications {
            tx.push((
                self.tx_put(
                    notification_item(clinic_id, n)?,
                    "attribute_not_exists(pk)",
                    None,
                )?,
                Inbound::Collision,
            ));
        }
        if let Some(c) = consent {
            for w in self.tx_consent(clinic_id, c)? {
                tx.push((w, Inbound::ConsentOutdated));
            }
        }
        match self.transact(tx).await {
            Ok(()) => Ok(Inbound::Stored),
            Err(TxError::Condition(Inbound::Collision)) => Err(StoreError::Collision),
            Err(TxError::Condition(outcome)) => Ok(outcome),
            Err(TxError::Store(e)) => Err(e),
        }
    }

    /// A page of notifications, unread first, newest first within each; the cursor is the
    /// last one's order key.
    pub async fn list_notifications(
        &self,
        clinic_id: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Notification>, Option<String>), StoreError> {
        let gsi = keys::notifications_gsi(clinic_id);
        let mut q = Query::under(Some(GSI1), gsi.clone(), "");
        q.forward = false;
        let start = after.and_then(|a| {
            let (_, id) = a.split_once('#')?;
            Some(Item::from([
                ("pk".to_owned(), s(keys::clinic_pk(clinic_id))),
                ("sk".to_owned(), s(keys::notification_sk(id))),
                ("gsi1pk".to_owned(), s(&gsi)),
                ("gsi1sk".to_owned(), s(a)),
            ]))
        });
        let page = self.page_from(&q, start, limit).await?;
        let next = if page.next_after.is_some() {
            page.items.last().and_then(|i| string_attr(i, "gsi1sk"))
        } else {
            None
        };
        let list = page
            .items
            .into_iter()
            .map(from_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((list, next))
    }

    pub async fn get_notification(
        &self,
        clinic_id: &str,
        id: &str,
    ) -> Result<Option<Notification>, StoreError> {
        self.get(keys::clinic_pk(clinic_id), keys::notification_sk(id))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Marks a notification read; `None` if the clinic has no such notification.
    pub async fn mark_notification_read(
        &self,
        clinic_id: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Notification>, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::clinic_pk(clinic_id)))
            .key("sk", s(keys::notification_sk(id)))
            .update_expression("SET #r = :t, read_at = if_not_exists(read_at, :at), gsi1sk = :o")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#r", "read")
            .expression_attribute_values(":t", aws_sdk_dynamodb::types::AttributeValue::Bool(true))
            .expression_attribute_values(":at", ts(&at))
            .expression_attribute_values(":o", s(keys::notification_order(true, id)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match res {
            Ok(out) => out.attributes.map(from_item).transpose(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Ok(None)
            }
            Err(e) => Err(StoreError::sdk("UpdateItem", e)),
        }
    }

    /// The clinic and id of the message the provider knows as `provider_message_id`; with
    /// `clinic`, only a message of that clinic.
    pub async fn message_by_provider_id(
        &self,
        provider_message_id: &str,
        clinic: Option<&str>,
    ) -> Result<Option<(String, String)>, StoreError> {
        let q = Query::under(
            Some(GSI2),
            keys::provider_message_gsi(provider_message_id),
            "",
        );
        let page = self.query(&q, None).await?;
        Ok(page.items.iter().find_map(|i| {
            let owner = string_attr(i, "pk")?.strip_prefix("CLINIC#")?.to_owned();
            let id = string_attr(i, "sk")?
                .strip_prefix(keys::MESSAGE_PREFIX)?
                .to_owned();
            clinic.is_none_or(|c| c == owner).then_some((owner, id))
        }))
    }

    /// Settles a sent message as its provider reported (delivered, or failed with the reason)
    /// and adds the report to its history: `Ok(false)` if it was not `sent` or `unconfirmed` (a
    /// receipt replayed, or one for a message already settled). An unconfirmed message a
    /// report names was handed over after all: it counts as sent from the report's time.
    pub async fn record_receipt(
        &self,
        clinic_id: &str,
        id: &str,
        delivered: bool,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let status = if delivered {
            Status::Delivered
        } else {
            Status::Failed
        };
        let reason = (!delivered).then(|| reason.unwrap_or("failed: no reason given").to_owned());
        let event = StatusEvent {
            at,
            status,
            reason: reason.clone(),
        };
        let mut update =
            "SET #s = :to, updated_at = :at, events = list_append(if_not_exists(events, :none), :ev)"
                .to_owned();
        if reason.is_some() {
            update.push_str(", reason = :reason");
        }
        // A sent message; else an unconfirmed one, which was sent as of the report.
        for (from, extra) in [(Status::Sent, ""), (Status::Unconfirmed, ", sent_at = :at")] {
            let mut req = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(keys::clinic_pk(clinic_id)))
                .key("sk", s(keys::message_sk(id)))
                .update_expression(format!("{update}{extra}"))
                .condition_expression("#s = :from")
                .set_expression_attribute_names(Some(status_name()))
                .expression_attribute_values(":to", attr(&status)?)
                .expression_attribute_values(":from", attr(&from)?)
                .expression_attribute_values(":at", ts(&at))
                .expression_attribute_values(":none", AttributeValue::L(vec![]))
                .expression_attribute_values(":ev", AttributeValue::L(vec![attr(&event)?]));
            if let Some(r) = &reason {
                req = req.expression_attribute_values(":reason", s(r));
            }
            if super::conditional(
                "UpdateItem",
                req.send().await,
                UpdateItemError::is_conditional_check_failed_exception,
            )? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Adds a report that changes nothing yet (a delivery delay) to a sent message's history.
    pub async fn note_event(
        &self,
        clinic_id: &str,
        id: &str,
        event: &StatusEvent,
    ) -> Result<bool, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::clinic_pk(clinic_id)))
            .key("sk", s(keys::message_sk(id)))
            .update_expression("SET events = list_append(if_not_exists(events, :none), :ev)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":none", AttributeValue::L(vec![]))
            .expression_attribute_values(":ev", AttributeValue::L(vec![attr(event)?]))
            .send()
            .await;
        super::conditional(
            "UpdateItem",
            res,
            UpdateItemError::is_conditional_check_failed_exception,
        )
    }
}
