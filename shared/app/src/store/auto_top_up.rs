//! Automatic top-up settings (`AUTO_TOPUP#<account>`) and the lease that lets one top-up of an
//! account run at a time.

use super::{Store, StoreError, from_item, keys, s, to_item, ts};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use tidings_domain::credits::AutoTopUp;
use tidings_domain::notification::Notification;

impl Store {
    pub async fn auto_top_up(
        &self,
        clinic_id: &str,
        account: &str,
    ) -> Result<Option<AutoTopUp>, StoreError> {
        self.get(keys::clinic_pk(clinic_id), keys::auto_top_up_sk(account))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Saves the settings (clearing a recorded failure and any lease).
    pub async fn put_auto_top_up(&self, clinic_id: &str, t: &AutoTopUp) -> Result<(), StoreError> {
        let mut item = to_item(t)?;
        item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
        item.insert("sk".into(), s(keys::auto_top_up_sk(&t.account)));
        self.put(item).await
    }

    /// Takes the account's top-up lease until `until`, if no top-up holds it and none has
    /// failed since the settings were saved: the number of the top-up to make (how many
    /// ended since the settings were saved), or `None` when the lease is not to be had. A
    /// top-up whose invocation died keeps its number, so the next one asks Stripe again with
    /// the same key instead of charging anew.
    pub async fn take_top_up_lease(
        &self,
        clinic_id: &str,
        account: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Option<u64>, StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::clinic_pk(clinic_id)))
            .key("sk", s(keys::auto_top_up_sk(account)))
            .update_expression(
                "SET topping_until = :until, top_up_seq = if_not_exists(top_up_seq, :zero)",
            )
            .condition_expression(
                "attribute_exists(pk) AND enabled = :yes AND attribute_type(failed_at, :null) \
                 AND (attribute_not_exists(topping_until) OR topping_until < :now)",
            )
            .expression_attribute_values(":until", ts(&until))
            .expression_attribute_values(":now", ts(&now))
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":null", s("NULL"))
            .expression_attribute_values(":zero", super::n(0))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await;
        match res {
            Ok(out) => Ok(Some(
                out.attributes
                    .as_ref()
                    .and_then(|a| a.get("top_up_seq"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            )),
            Err(e)
                if e.as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                Ok(None)
            }
            Err(e) => Err(StoreError::sdk("UpdateItem", e)),
        }
    }

    /// Ends the lease; with `failure`, records it (top-ups stay off until the next save).
    pub async fn end_top_up(
        &self,
        clinic_id: &str,
        account: &str,
        failure: Option<(&str, DateTime<Utc>)>,
    ) -> Result<(), StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::clinic_pk(clinic_id)))
            .key("sk", s(keys::auto_top_up_sk(account)));
        update = match failure {
            Some((why, at)) => update
                .update_expression(
                    "REMOVE topping_until SET failed_at = :at, failure = :why ADD top_up_seq :one",
                )
                .expression_attribute_values(":at", ts(&at))
                .expression_attribute_values(":why", s(why)),
            None => update.update_expression("REMOVE topping_until ADD top_up_seq :one"),
        };
        update = update.expression_attribute_values(":one", super::n(1));
        update
            .send()
            .await
            .map_err(|e| StoreError::sdk("UpdateItem", e))?;
        Ok(())
    }

    /// Raises a notification for the practice.
    pub async fn add_notification(
        &self,
        clinic_id: &str,
        n: &Notification,
    ) -> Result<(), StoreError> {
        self.put(super::replies::notification_item(clinic_id, n)?)
            .await
    }
}
