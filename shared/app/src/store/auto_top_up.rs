//! Automatic top-up settings (`AUTO_TOPUP#<account>`) and the lease that lets one top-up of an
//! account run at a time.

use super::{Item, Store, StoreError, from_item, keys, s, to_item, ts};
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
    /// failed since the settings were saved; `Ok(false)` otherwise.
    pub async fn take_top_up_lease(
        &self,
        clinic_id: &str,
        account: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = (keys::clinic_pk(clinic_id), keys::auto_top_up_sk(account));
        let values = Item::from([
            (":until".to_owned(), ts(&until)),
            (":now".to_owned(), ts(&now)),
            (
                ":yes".to_owned(),
                aws_sdk_dynamodb::types::AttributeValue::Bool(true),
            ),
            (":null".to_owned(), s("NULL")),
        ]);
        self.update_if(
            key,
            "SET topping_until = :until",
            "attribute_exists(pk) AND enabled = :yes AND attribute_type(failed_at, :null) \
             AND (attribute_not_exists(topping_until) OR topping_until < :now)",
            values,
        )
        .await
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
                .update_expression("REMOVE topping_until SET failed_at = :at, failure = :why")
                .expression_attribute_values(":at", ts(&at))
                .expression_attribute_values(":why", s(why)),
            None => update.update_expression("REMOVE topping_until"),
        };
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
